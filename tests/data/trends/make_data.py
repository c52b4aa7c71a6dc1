"""Fixed data for the change-over-time tests: 8 quarters of responses in 4 boroughs.

Run once (the CSV files are committed; CI never runs this or R):

    .venv/bin/python tests/data/trends/make_data.py
    Rscript tests/data/trends/trends.R      # writes expected.csv, R's survey package

Awareness rises over the quarters and differs by borough, age and sex, so changes are
real and the raking (borough; age band by sex; ethnic group, each crossed with the
period) moves the weights.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
QUARTERS = ["2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
BOROUGHS = ["Barnet", "Camden", "Ealing", "Hackney"]
AGE_SEX = ["16-34*female", "16-34*male", "35-plus*female", "35-plus*male"]
ETHNIC = ["asian", "black", "white"]
POPULATION = {
    "borough": {"Barnet": 390000, "Camden": 210000, "Ealing": 370000, "Hackney": 260000},
    "age_sex": {
        "16-34*female": 290000,
        "16-34*male": 280000,
        "35-plus*female": 340000,
        "35-plus*male": 320000,
    },
    "ethnic": {"asian": 330000, "black": 220000, "white": 680000},
}


def main() -> None:
    rng = np.random.default_rng(20261202)
    rows = []
    for position, quarter in enumerate(QUARTERS):
        size = int(rng.integers(130, 190))
        borough = rng.choice(4, size, p=[0.2, 0.3, 0.25, 0.25])
        age_sex = rng.choice(4, size, p=[0.15, 0.15, 0.35, 0.35])
        ethnic = rng.choice(3, size, p=[0.2, 0.15, 0.65])
        chance = 0.30 + 0.025 * position + 0.06 * borough - 0.05 * (age_sex < 2)
        chance = chance + (0.04 * position) * (borough == 3)  # Hackney rises faster
        yes = rng.random(size) < chance
        dont_know = rng.random(size) < 0.06
        for i in range(size):
            answer = "dont_know" if dont_know[i] else ("yes" if yes[i] else "no")
            rows.append(
                [
                    quarter,
                    quarter[:4],
                    BOROUGHS[borough[i]],
                    AGE_SEX[age_sex[i]],
                    ETHNIC[ethnic[i]],
                    answer,
                ]
            )
    # Design weights, from a generator of their own so the other columns stay as they were:
    # the trends tests rake from them as well as from 1 per respondent.
    design = np.random.default_rng(20261208).uniform(0.5, 2.0, len(rows)).round(4)
    with (HERE / "trend-data.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["quarter", "year", "borough", "age_sex", "ethnic", "answer", "design_weight"]
        )
        writer.writerows([*row, f"{weight:.4f}"] for row, weight in zip(rows, design, strict=True))
    with (HERE / "population.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["margin", "category", "population"])
        for margin, categories in POPULATION.items():
            for category, population in categories.items():
                writer.writerow([margin, category, population])


if __name__ == "__main__":
    main()
