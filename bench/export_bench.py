"""Benchmark: stream 1,000,000 stored responses to CSV as the microdata extract.

Runs the admin's microdata download (`plan` then `stream_csv`, the code behind
/staff/admin/microdata.csv) in a child process, writing the CSV to a file, and compares
its time with the database's own CSV export of the rows the extract reads (every response
joined with its answers), measured in the same run:

- SQLite: `sqlite3 -csv`
- PostgreSQL: `psql -c "COPY (...) TO STDOUT WITH CSV"`

Prints the ratio (target within 3x) and the child's peak resident memory (target under
150 MB). With --format sav or dta it writes the SPSS or Stata file instead (built in
memory, as pyreadstat writes from a table: no target; the figures say what an admin's
download costs).

    .venv/bin/python bench/export_bench.py                       # SQLite, 1,000,000 responses
    .venv/bin/python bench/export_bench.py --postgres postgresql://postgres@127.0.0.1/postgres
    .venv/bin/python bench/export_bench.py --responses 100000 --keep /tmp/bench-export

Generating a million responses takes several minutes (half an hour on PostgreSQL); with
--keep FOLDER the SQLite database is kept there, the PostgreSQL database is not dropped,
and the next run reuses both.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stored import fresh_postgres, prepare

from survey import create_app
from survey.extensions import db
from survey.services import microdata
from survey.services.labelled import EXTRACT_FORMATS
from survey.services.questionnaires import latest_version, questionnaire_for

BASELINE_QUERY = (
    "SELECT r.id, r.questionnaire_version_id, r.submitted_on, a.question_id, a.value "
    "FROM responses r JOIN answers a ON a.response_id = r.id"
)


def export(url: str, path: str, kind: str) -> None:
    """Child process: write the extract to `path`; print time, rows and peak memory."""
    app = create_app({"SURVEY_ENV": "test", "SQLALCHEMY_DATABASE_URI": url})
    started = time.perf_counter()
    with app.app_context(), open(path, "wb") as out:
        version = latest_version(db.session, "prevent-awareness")
        questionnaire = questionnaire_for(version)
        plan = microdata.plan(db.session, questionnaire, k=5)
        planned = time.perf_counter() - started
        for chunk in EXTRACT_FORMATS[kind].build(db.session, questionnaire, plan, "en"):
            out.write(chunk)
        db.session.rollback()
    seconds = time.perf_counter() - started
    peak_mib = peak_memory_mib()
    print(
        json.dumps(
            {"seconds": seconds, "plan_seconds": planned, "rows": plan.rows, "peak_mib": peak_mib}
        )
    )


def peak_memory_mib() -> float:
    """This process's own peak resident memory.

    Linux's ru_maxrss is no good here: exec carries the parent's high-water mark into the
    child, so a child of a large parent reports the parent's size. VmHWM belongs to the
    process's own memory map, which exec replaced."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_export(url: str, folder: str, kind: str) -> dict:
    path = os.path.join(folder, f"extract.{kind}")
    child = subprocess.run(
        [sys.executable, __file__, "--child", url, path, kind],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    with open(path, "rb") as written:
        result["lines"] = sum(1 for _ in written)
    result["mib_written"] = os.path.getsize(path) / 2**20
    return result


def baseline(url: str, folder: str) -> float:
    """Seconds for the database's own CSV export of the same rows, to a file."""
    path = os.path.join(folder, "baseline.csv")
    if url.startswith("sqlite"):
        command = ["sqlite3", "-csv", url.removeprefix("sqlite:///"), BASELINE_QUERY]
    else:
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        command = ["psql", "-q", plain, "-c", f"COPY ({BASELINE_QUERY}) TO STDOUT WITH CSV"]
    with open(path, "wb") as out:
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=out)
        return time.perf_counter() - started


def bench(name: str, url: str, folder: str, repeats: int, kind: str) -> None:
    exports = [run_export(url, folder, kind) for _ in range(repeats)]
    database = min(baseline(url, folder) for _ in range(repeats))
    best = min(exports, key=lambda r: r["seconds"])
    peak = max(r["peak_mib"] for r in exports)
    if kind != "csv":
        print(
            f"{name}: {best['rows']:,} rows as {kind} ({best['mib_written']:.0f} MiB) in "
            f"{best['seconds']:.1f} s (plan {best['plan_seconds']:.1f} s); the database's own "
            f"CSV export {database:.1f} s; ratio {best['seconds'] / database:.2f}x; "
            f"peak memory {peak:.0f} MiB"
        )
        return
    print(
        f"{name}: {best['rows']:,} rows ({best['mib_written']:.0f} MiB) streamed in "
        f"{best['seconds']:.1f} s (plan {best['plan_seconds']:.1f} s); the database's own "
        f"export {database:.1f} s; ratio {best['seconds'] / database:.2f}x (target <= 3x); "
        f"peak memory {peak:.0f} MiB = {peak * 2**20 / 1e6:.0f} MB (target < 150 MB)"
    )
    assert best["lines"] == best["rows"] + 1, "every row written, with one header"


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        export(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--postgres", help="an admin URL; runs on PostgreSQL as well")
    parser.add_argument("--postgres-only", action="store_true", help="skip SQLite")
    parser.add_argument("--format", choices=("csv", "sav", "dta"), default="csv")
    parser.add_argument(
        "--keep", help="a folder to keep the SQLite database in; keeps PostgreSQL's too"
    )
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or scratch
        Path(folder).mkdir(parents=True, exist_ok=True)
        targets = [] if args.postgres_only else [("SQLite", f"sqlite:///{folder}/export-bench.db")]
        if args.postgres:
            postgres_url = fresh_postgres(
                args.postgres, "prevent_export_bench", keep=bool(args.keep)
            )
            targets.append(("PostgreSQL", postgres_url))
        for name, url in targets:
            print(f"{name}: preparing {args.responses:,} responses")
            app = prepare(url, args.responses)
            with app.app_context():
                db.engine.dispose()
            bench(name, url, scratch, args.repeats, args.format)


if __name__ == "__main__":
    main()
