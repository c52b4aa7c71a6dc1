"""Make boroughs.csv: 33 areas like London's boroughs, each with a direct estimate on the
arcsine scale, its sampling variance (1 / (4 n_eff)) and two covariates from population
figures (the share aged 16 to 34 and the share White), for the covariate Fay-Herriot tests.
The true values depend on both covariates, so a model with them should explain most of the
variance between areas. Run from this folder: python make_boroughs.py (fixed seed)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def main() -> None:
    rng = np.random.default_rng(20261208)
    areas = 33
    young = rng.uniform(0.22, 0.45, areas).round(4)
    white = rng.uniform(0.30, 0.80, areas).round(4)
    female = rng.uniform(0.49, 0.52, areas).round(4)  # nearly alike: explains nothing
    truth = 0.55 + 0.9 * young - 0.35 * white + rng.normal(0, 0.05, areas)
    n_eff = rng.uniform(15, 250, areas).round(1)
    variance = 1 / (4 * n_eff)
    direct = truth + rng.normal(0, np.sqrt(variance))
    with (HERE / "boroughs.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["area", "direct", "variance", "young", "white", "female"])
        for i in range(areas):
            writer.writerow(
                [f"A{i + 1:02d}", f"{direct[i]:.6f}", f"{variance[i]:.8f}", young[i], white[i],
                 female[i]]
            )  # fmt: skip


if __name__ == "__main__":
    main()
