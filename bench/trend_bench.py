"""Benchmark: change over time on 1,000,000 synthetic responses over 12 quarters.

Each quarter is raked on its own (borough; age band by sex; ethnic group), then the
pipeline estimates every quarter and every rolling year (four quarters) for London and
each of the 33 boroughs, and every year-on-year change (each quarter and each rolling
year against the one four quarters before), London and each borough, with linearised
standard errors that count the respondents overlapping windows share.

Prints the time, the peak memory, and the ratio to a floor measured in the same run: one
weighted numpy.bincount over every response for each table of estimates (12 quarters and
9 rolling years, by borough: 21 passes). Target: within 10x the floor.

    .venv/bin/python bench/trend_bench.py [--responses 1000000]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import Coded, Proportion, combine  # noqa: E402
from analysis.trends import ALL, TrendDesign, Window, rolling_windows  # noqa: E402

QUARTERS = [f"{2024 + q // 4}-Q{q % 4 + 1}" for q in range(12)]
SIZES = {"borough": 33, "age_band": 6, "sex": 2, "ethnicity": 5}


def generate(size: int, seed: int = 2026) -> dict[str, Coded]:
    """Responses as coded columns: awareness rises over the quarters and differs by
    borough, sex and age."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Coded] = {}
    for name, count in SIZES.items():
        shares = rng.dirichlet(np.full(count, 4.0))
        columns[name] = Coded(
            rng.choice(count, size, p=shares), tuple(f"{name}-{i}" for i in range(count))
        )
    quarter = rng.integers(0, len(QUARTERS), size)
    columns["quarter"] = Coded(quarter, tuple(QUARTERS))
    chance = (
        0.33
        + 0.01 * quarter
        + 0.02 * (columns["borough"].codes % 8)
        + 0.04 * columns["sex"].codes
        - 0.02 * columns["age_band"].codes
    )
    answer = (rng.random(size) < chance).astype(np.intp)
    answer[rng.random(size) < 0.05] = 2
    columns["aware"] = Coded(answer, ("no", "yes", "dont_know"))
    columns["age_band*sex"] = combine([columns["age_band"], columns["sex"]])
    return columns


def margins_for(columns: dict[str, Coded]) -> dict:
    rng = np.random.default_rng(7)
    margins = {}
    for variable in ("borough", "age_band*sex", "ethnicity"):
        coded = columns[variable]
        sample = np.bincount(coded.codes, minlength=len(coded.labels)).astype(float)
        shares = sample * rng.lognormal(0.0, 0.25, size=sample.size)
        shares /= shares.sum()
        margins[variable] = dict(zip(coded.labels, (shares * 9_000_000).tolist(), strict=True))
    return margins


def floor(columns: dict[str, Coded], repeats: int) -> float:
    """One weighted bincount over every response for each of the 21 tables."""
    codes = columns["quarter"].codes * 33 + columns["borough"].codes
    value = (columns["aware"].codes == 1).astype(float)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for _table in range(len(QUARTERS) + len(QUARTERS) - 3):
            np.bincount(codes, weights=value, minlength=len(QUARTERS) * 33)
        best = min(best, time.perf_counter() - start)
    return best


def pipeline(columns, margins) -> tuple[float, int, int]:
    start = time.perf_counter()
    design = TrendDesign(
        {**columns, "age_band_sex": columns["age_band*sex"]},
        indicator=Proportion("aware", ["yes"], ["dont_know"]),
        period="quarter",
        margins={"borough": margins["borough"], "age_band*sex": margins["age_band*sex"],
                 "ethnicity": margins["ethnicity"]},
        by="borough",
    )  # fmt: skip
    quarters = [Window(q, (q,)) for q in QUARTERS]
    rolling = rolling_windows(QUARTERS)
    groups = [ALL, *design.groups]
    estimates = changes = 0
    for windows in (quarters, rolling):
        for window in windows:
            estimates += len(design.estimates(window, groups))
        for later in range(4, len(windows)):
            found = design.changes(windows[later - 4], windows[later], groups[1:])
            design.change(windows[later - 4], windows[later])
            changes += len(found) + 1
    return time.perf_counter() - start, estimates, changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"generating {args.responses:,} synthetic responses over 12 quarters ...", flush=True)
    columns = generate(args.responses)
    margins = margins_for(columns)
    floor_seconds = floor(columns, args.repeats)
    best = np.inf
    for attempt in range(1, args.repeats + 1):
        seconds, estimates, changes = pipeline(columns, margins)
        best = min(best, seconds)
        print(f"  pipeline run {attempt}: {seconds:.3f} s", flush=True)
    tracemalloc.start()
    pipeline(columns, margins)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"estimates: {estimates} (21 periods x 34 groups); changes: {changes}")
    print(f"floor (21 bincount passes): {floor_seconds * 1000:.1f} ms")
    print(f"pipeline (rake 12 quarters, every estimate and change): {best * 1000:.1f} ms")
    print(f"ratio to floor: {best / floor_seconds:.1f}x (target <= 10x)")
    print(f"peak memory traced during the pipeline: {traced_peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
