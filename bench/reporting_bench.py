"""Benchmark: a weighted borough report on 100,000 stored responses, end to end.

Measures `build_report` (SQL aggregation, raking, estimates, disclosure control) against
the bare SQL aggregate query it runs, on the same database in the same run, and prints the
ratio. Target: within 3x, on SQLite and on PostgreSQL.

    .venv/bin/python bench/reporting_bench.py                      # SQLite
    .venv/bin/python bench/reporting_bench.py --postgres postgresql://postgres@127.0.0.1/postgres

With --postgres, the benchmark creates (and rebuilds) a database named prevent_bench there.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from survey import create_app  # noqa: E402
from survey.demo import ensure_demo_population, load_synthetic_responses  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.services import reporting  # noqa: E402
from survey.services.population import current_figures  # noqa: E402
from survey.services.questionnaires import (  # noqa: E402
    latest_version,
    load_questionnaire,
    questionnaire_for,
)

QUESTIONNAIRE = Path(__file__).resolve().parents[1] / "questionnaires" / "prevent-awareness.yaml"


def prepare(url: str, responses: int) -> object:
    app = create_app({"SURVEY_ENV": "test", "SQLALCHEMY_DATABASE_URI": url})
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        load_questionnaire(db.session, QUESTIONNAIRE.read_text(), filename=QUESTIONNAIRE.name)
        version = latest_version(db.session, "prevent-awareness")
        questionnaire = questionnaire_for(version)
        ensure_demo_population(db.session, questionnaire)
        started = time.perf_counter()
        load_synthetic_responses(
            db.session,
            questionnaire,
            version.id,
            responses,
            progress=lambda done: (
                print(f"  generating responses: {done:,} of {responses:,}", end="\r", flush=True)
                if done % 10_000 == 0
                else None
            ),
        )
        db.session.commit()
        print(f"\n  stored {responses:,} responses in {time.perf_counter() - started:.1f} s")
    return app


def best_of(repeats: int, work) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def measure(app, repeats: int) -> tuple[float, float, int]:
    with app.app_context():
        version = latest_version(db.session, "prevent-awareness")
        questionnaire = questionnaire_for(version)
        figures = current_figures(db.session)
        columns = {"indicator": "heard_of_prevent"}
        for name in ("borough", "age_band", "sex", "ethnicity", "religion", "disability"):
            columns[name] = questionnaire.dimension_question(name).id
        request = reporting.ReportRequest(indicator="aware", by=("borough",), weighted=True)

        def bare():
            reporting.aggregate_cells(db.session, [version.id], None, None, columns)
            db.session.rollback()

        def report():
            result = reporting.build_report(
                db.session, questionnaire, request, figures=figures, threshold=10
            )
            db.session.rollback()
            return result

        bare()
        rows = len(report().summary.rows)
        return best_of(repeats, bare), best_of(repeats, report), rows


def postgres_url(admin_url: str) -> str:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS prevent_bench"))
        connection.execute(text("CREATE DATABASE prevent_bench"))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/prevent_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--postgres", help="an admin URL; runs on PostgreSQL as well")
    args = parser.parse_args()

    targets = [("SQLite", None)]
    if args.postgres:
        targets.append(("PostgreSQL", args.postgres))
    with tempfile.TemporaryDirectory() as folder:
        for name, admin_url in targets:
            url = (
                f"sqlite:///{folder}/bench.db"
                if admin_url is None
                else postgres_url(admin_url).replace("postgresql://", "postgresql+psycopg://")
            )
            print(f"{name}: preparing {args.responses:,} responses")
            app = prepare(url, args.responses)
            bare, full, rows = measure(app, args.repeats)
            print(
                f"{name}: bare aggregate query {bare * 1000:.0f} ms; weighted borough "
                f"report ({rows} rows) {full * 1000:.0f} ms; ratio {full / bare:.2f}x "
                "(target <= 3x)"
            )
            with app.app_context():
                db.engine.dispose()


if __name__ == "__main__":
    main()
