"""Benchmark: `python -m analysis summarise --margins ... --by borough` on 1,000,000 rows,
end to end (a fresh process reading the CSV, raking, estimating, writing), against a floor
measured in the same run: a fresh process that reads the same columns with the same reader
(Apache Arrow's CSV reader, its codes read from the buffers as the command line reads them,
so neither imports pandas) and makes one numpy.bincount.

Targets (issue 17): at most 3x the floor, and peak memory under 300 MB.

    .venv/bin/python bench/cli_bench.py [--rows 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BOROUGHS = [f"E090000{i:02d}" for i in range(1, 34)]
AGES = ["16-24", "25-34", "35-44", "45-54", "55-64", "65+"]
SEXES = ["female", "male"]
ETHNIC = ["asian", "black", "mixed", "white", "other"]
ANSWERS = ["yes", "no", "not_sure"]

FLOOR = """
import sys
import numpy as np
import pyarrow as pa
from pyarrow import csv
names = ["heard", "borough", "age_band", "sex", "ethnicity"]
kind = pa.dictionary(pa.int32(), pa.string())
table = csv.read_csv(sys.argv[1], read_options=csv.ReadOptions(use_threads=False,
    block_size=1 << 20), convert_options=csv.ConvertOptions(
    include_columns=names, column_types={n: kind for n in names})).unify_dictionaries()
codes = np.concatenate([np.frombuffer(c.indices.buffers()[1], dtype=np.int32, count=len(c),
    offset=c.offset * 4) for c in table.column("borough").chunks])
print(np.bincount(codes).sum())
"""


def write_data(folder: Path, rows: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(2026)
    columns = {
        "borough": np.array(BOROUGHS)[rng.integers(0, 33, rows)],
        "age_band": np.array(AGES)[rng.integers(0, 6, rows)],
        "sex": np.array(SEXES)[rng.integers(0, 2, rows)],
        "ethnicity": np.array(ETHNIC)[rng.choice(5, rows, p=[0.2, 0.13, 0.06, 0.54, 0.07])],
        "heard": np.array(ANSWERS)[rng.choice(3, rows, p=[0.45, 0.5, 0.05])],
        "religion": np.array(["none", "christian", "muslim"])[rng.integers(0, 3, rows)],
        "language": np.array(["en", "pl"])[rng.integers(0, 2, rows)],
    }
    data = folder / "responses.csv"
    with open(data, "w", encoding="utf-8") as handle:
        handle.write(",".join(columns) + "\n")
        step = 100_000
        for start in range(0, rows, step):
            block = np.stack([c[start : start + step] for c in columns.values()], axis=1)
            handle.write("\n".join(",".join(row) for row in block) + "\n")
    margins = folder / "margins.csv"
    total = 8_800_000  # every margin sums to London's population
    borough = np.linspace(1.0, 2.0, 33)
    age_sex = np.linspace(1.0, 1.5, 12)
    ethnic = np.array([0.2, 0.13, 0.06, 0.54, 0.07])
    lines = ["variable,category,population"]
    lines += [
        f"borough,{b},{total * w / borough.sum():.1f}"
        for b, w in zip(BOROUGHS, borough, strict=True)
    ]
    cells = [(a, s) for a in AGES for s in SEXES]
    lines += [
        f"age_band*sex,{a}*{s},{total * w / age_sex.sum():.1f}"
        for (a, s), w in zip(cells, age_sex, strict=True)
    ]
    lines += [f"ethnicity,{e},{total * w:.1f}" for e, w in zip(ETHNIC, ethnic, strict=True)]
    margins.write_text("\n".join(lines) + "\n")
    return data, margins


def timed(command: list[str]) -> tuple[float, int]:
    """Seconds, and the peak resident memory in MB, of one fresh process."""
    started = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.DEVNULL) as process:
        _pid, status, usage = _wait(process)
    seconds = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"{command} exited {status}")
    return seconds, usage.ru_maxrss // 1024


def _wait(process):
    import os

    pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return pid, process.returncode, usage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(f"Writing {args.rows:,} rows...", flush=True)
        data, margins = write_data(Path(folder), args.rows)
        command = [
            sys.executable, "-m", "analysis", "summarise", str(data), "--indicator", "heard",
            "--positive", "yes", "--exclude", "not_sure", "--by", "borough",
            "--margins", str(margins),
        ]  # fmt: skip
        floor_command = [sys.executable, "-c", FLOOR, str(data)]
        ratios, peaks, times, floors = [], [], [], []
        for round_number in range(1, args.rounds + 1):
            floor, _ = timed(floor_command)
            seconds, peak = timed(command)
            ratios.append(seconds / floor)
            peaks.append(peak)
            times.append(seconds)
            floors.append(floor)
            print(
                f"round {round_number}: summarise {seconds:.2f} s, floor {floor:.2f} s, "
                f"ratio {seconds / floor:.2f}, peak {peak} MB",
                flush=True,
            )
    ratio, peak = statistics.median(ratios), max(peaks)
    print(
        f"\nsummarise --margins --by borough on {args.rows:,} rows: median "
        f"{statistics.median(times):.2f} s, {ratio:.2f} x the floor "
        f"({statistics.median(floors):.2f} s; target at most 3), peak memory {peak} MB "
        "(target under 300)"
    )
    return 0 if ratio <= 3 and peak < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
