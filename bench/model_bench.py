"""Benchmark: design-based logistic regression on 1,000,000 raked responses.

Fits an indicator on five demographics at once (borough, age band, sex, ethnic group,
disability: 45 coefficients), raked to borough, age band by sex and ethnic group, with
linearised (sandwich) standard errors that allow for the raking, as `survey_logistic` does
for the "who is least reached" comparisons.

Prints the time and its ratio to a floor measured in the same run: one weighted
least-squares solve on the same design matrix (one row per respondent: forming X'WX and
X'Wz and solving, which is one iteration of fitting done respondent by respondent). The
fit works on cells of respondents who share every predictor, raking cell and answer, so it
can beat the floor. Target: within 20x the floor.

    .venv/bin/python bench/model_bench.py [--responses 1000000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import Coded, Proportion, combine, rake  # noqa: E402
from analysis.regression import survey_logistic  # noqa: E402

SIZES = {"borough": 33, "age_band": 6, "sex": 2, "ethnicity": 5, "disability": 3}


def generate(size: int, seed: int = 2026) -> dict[str, Coded]:
    rng = np.random.default_rng(seed)
    columns = {}
    for name, count in SIZES.items():
        shares = rng.dirichlet(np.full(count, 4.0))
        columns[name] = Coded(
            rng.choice(count, size, p=shares), tuple(f"{name}-{i}" for i in range(count))
        )
    chance = (
        0.30
        + 0.02 * (columns["borough"].codes % 8)
        + 0.05 * columns["sex"].codes
        - 0.03 * columns["age_band"].codes
        + 0.04 * (columns["ethnicity"].codes == 2)
        - 0.05 * (columns["disability"].codes == 0)
    )
    answer = (rng.random(size) < chance).astype(np.intp)
    answer[rng.random(size) < 0.05] = 2
    columns["aware"] = Coded(answer, ("no", "yes", "dont_know"))
    columns["age_band*sex"] = combine([columns["age_band"], columns["sex"]])
    return columns


def margins_for(columns) -> dict:
    rng = np.random.default_rng(7)
    margins = {}
    for variable in ("borough", "age_band*sex", "ethnicity"):
        coded = columns[variable]
        sample = np.bincount(coded.codes, minlength=len(coded.labels)).astype(float)
        shares = sample * rng.lognormal(0.0, 0.25, size=sample.size)
        margins[variable] = dict(
            zip(coded.labels, (shares / shares.sum() * 9e6).tolist(), strict=True)
        )
    return margins


def floor(columns, weights: np.ndarray, repeats: int) -> float:
    """One weighted least-squares solve on the respondent-level design matrix."""
    blocks = [np.ones((len(weights), 1))]
    for name, count in SIZES.items():
        codes = columns[name].codes
        blocks += [(codes == c).astype(float)[:, None] for c in range(1, count)]
    x = np.hstack(blocks)
    z = (columns["aware"].codes == 1).astype(float)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.linalg.solve(x.T @ (x * weights[:, None]), x.T @ (weights * z))
        best = min(best, time.perf_counter() - start)
    return best


def pipeline(columns, margins) -> tuple[float, object]:
    start = time.perf_counter()
    fit = survey_logistic(
        columns,
        indicator=Proportion("aware", ["yes"], ["dont_know"]),
        predictors=list(SIZES),
        margins=margins,
    )
    fit.standard_errors  # noqa: B018 - the sandwich is part of the fit
    return time.perf_counter() - start, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"generating {args.responses:,} synthetic responses ...", flush=True)
    columns = generate(args.responses)
    margins = margins_for(columns)
    raked = rake({v: columns[v] for v in margins}, margins).weights
    floor_seconds = floor(columns, raked, args.repeats)
    best, fit = np.inf, None
    for attempt in range(1, args.repeats + 1):
        seconds, fit = pipeline(columns, margins)
        best = min(best, seconds)
        print(f"  fit run {attempt}: {seconds:.3f} s", flush=True)
    print(f"coefficients: {len(fit.coefficients)}, {fit.iterations} iterations, df {fit.df:,.0f}")
    rows = f"{args.responses:,} rows"
    print(f"floor (one weighted least-squares solve, {rows}): {floor_seconds * 1000:.0f} ms")
    print(f"fit (raking, IRLS, sandwich with the raking projection): {best * 1000:.0f} ms")
    print(f"ratio to floor: {best / floor_seconds:.2f}x (target <= 20x)")


if __name__ == "__main__":
    main()
