"""Benchmark: the statistics pipeline on 1,000,000 synthetic responses.

Generates responses in 33 boroughs, 6 age bands, 2 sexes, 19 ethnic groups, 9 religions
and 3 disability answers, with 3 indicators. Rakes to borough, age band x sex and ethnic
group, then produces every one-way summary (borough, age band, sex, ethnic group,
religion, disability) for the 3 indicators with Korn-Graubard intervals and
raking-adjusted linearised variance.

Prints the time, the peak memory, and the ratio to a floor measured in the same run: one
numpy.bincount pass per breakdown and indicator over the same arrays.
The pipeline is timed on its own, then run once more with tracemalloc for its peak memory
(tracing every allocation would slow the timed runs). Target: within 5x the floor; peak
memory under 1 GB.

    .venv/bin/python bench/analysis_bench.py [--responses 1000000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import Coded, Proportion, combine, rake, summarise  # noqa: E402

BREAKDOWNS = ("borough", "age_band", "sex", "ethnicity", "religion", "disability")
INDICATORS = ("aware", "confident", "knows_help")
SIZES = {"borough": 33, "age_band": 6, "sex": 2, "ethnicity": 19, "religion": 9, "disability": 3}


def generate(size: int, seed: int = 2026) -> dict[str, Coded]:
    """Synthetic responses as coded columns, with answers that depend on who answered."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Coded] = {}
    for name, count in SIZES.items():
        shares = rng.dirichlet(np.full(count, 3.0))
        codes = rng.choice(count, size=size, p=shares)
        columns[name] = Coded(codes, tuple(f"{name}-{i}" for i in range(count)))
    for position, name in enumerate(INDICATORS):
        chance = (
            0.35
            + 0.02 * (columns["borough"].codes % 10)
            + 0.05 * columns["sex"].codes
            + 0.03 * columns["age_band"].codes
            - 0.01 * position * (columns["ethnicity"].codes % 4)
        )
        answer = (rng.random(size) < chance).astype(np.intp)  # 1 = yes, 0 = no
        answer[rng.random(size) < 0.04] = 2  # don't know
        columns[name] = Coded(answer, ("no", "yes", "dont_know"))
    return columns


def margins_for(columns: dict[str, Coded], rng: np.random.Generator) -> dict:
    """Population margins that differ from the sample (as a real survey's do, by up to about
    half either way), so raking has work to do."""
    population = 9_000_000
    age_sex = combine([columns["age_band"], columns["sex"]])
    margins = {}
    for variable, coded in (
        ("borough", columns["borough"]),
        ("age_band*sex", age_sex),
        ("ethnicity", columns["ethnicity"]),
    ):
        sample = np.bincount(coded.codes, minlength=len(coded.labels)).astype(float)
        shares = sample * rng.lognormal(0.0, 0.25, size=sample.size)
        shares /= shares.sum()
        margins[variable] = dict(zip(coded.labels, (shares * population).tolist(), strict=True))
    return margins, age_sex


def floor(columns: dict[str, Coded], repeats: int = 3) -> float:
    """One bincount pass per breakdown and indicator, best of `repeats`."""
    values = {name: (columns[name].codes == 1).astype(float) for name in INDICATORS}
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for by in BREAKDOWNS:
            for name in INDICATORS:
                np.bincount(columns[by].codes, weights=values[name], minlength=SIZES[by])
        best = min(best, time.perf_counter() - start)
    return best


def pipeline(columns: dict[str, Coded], margins: dict, age_sex: Coded) -> tuple[float, list]:
    start = time.perf_counter()
    raking = rake(
        {"borough": columns["borough"], "age_band*sex": age_sex, "ethnicity": columns["ethnicity"]},
        margins,
    )
    tables = []
    for by in BREAKDOWNS:
        for name in INDICATORS:
            tables.append(
                summarise(
                    columns,
                    indicator=Proportion(name, ["yes"], ["dont_know"]),
                    by=by,
                    raking=raking,
                    method="korn_graubard",
                )
            )
    return time.perf_counter() - start, tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    print(f"generating {args.responses:,} synthetic responses ...", flush=True)
    columns = generate(args.responses)
    margins, age_sex = margins_for(columns, np.random.default_rng(7))

    floor_seconds = floor(columns, args.repeats)
    best = np.inf
    for attempt in range(1, args.repeats + 1):
        seconds, tables = pipeline(columns, margins, age_sex)
        best = min(best, seconds)
        print(f"  pipeline run {attempt}: {seconds:.3f} s", flush=True)
    # Memory in a run of its own: tracing every allocation slows the pipeline by a third.
    tracemalloc.start()
    pipeline(columns, margins, age_sex)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    raking = tables[0].raking
    print(
        f"raking: {raking.iterations} iterations, largest margin error "
        f"{raking.max_margin_error:.1e}, weights {raking.weight_min:.3g}-"
        f"{raking.weight_max:.3g}, Kish deff {raking.kish_deff:.3f}"
    )
    print(
        f"summaries: {len(tables)} ({len(BREAKDOWNS)} breakdowns x {len(INDICATORS)} "
        f"indicators), {sum(len(t.rows) for t in tables)} rows"
    )
    print(f"floor (18 bincount passes): {floor_seconds * 1000:.1f} ms")
    print(f"pipeline (rake + 18 summaries): {best * 1000:.1f} ms")
    print(f"ratio to floor: {best / floor_seconds:.1f}x (target <= 5x)")
    print(
        f"peak memory: {traced_peak / 2**20:.0f} MiB traced during the pipeline, "
        f"{rss_peak / 2**20:.0f} MiB process maximum (target < 1024 MiB)"
    )


if __name__ == "__main__":
    main()
