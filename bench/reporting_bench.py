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
import tempfile

from stored import best_of, fresh_postgres, prepare

from survey.extensions import db
from survey.publication import gate_for
from survey.services import reporting
from survey.services.population import current_figures
from survey.services.questionnaires import latest_version, questionnaire_for


def measure(app, repeats: int) -> tuple[float, float, int]:
    with app.app_context():
        version = latest_version(db.session, "prevent-awareness")
        questionnaire = questionnaire_for(version)
        figures = current_figures(db.session)
        columns = {"indicator": "heard_of_prevent"}
        for name in ("borough", "age_band", "sex", "ethnicity", "religion", "disability"):
            columns[name] = questionnaire.dimension_question(name).id
        request = reporting.ReportRequest(indicator="aware", by=("borough",), weighted=True)
        gate = gate_for(app.config)

        def bare():
            reporting.aggregate_cells(db.session, reporting.Selection((version.id,)), columns)
            db.session.rollback()

        def report():
            result = reporting.build_report(
                db.session, questionnaire, request, figures=figures, gate=gate
            )
            db.session.rollback()
            return result

        bare()
        rows = len(report().summary.rows)
        return best_of(repeats, bare), best_of(repeats, report), rows


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
            url = f"sqlite:///{folder}/bench.db" if admin_url is None else fresh_postgres(admin_url)
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
