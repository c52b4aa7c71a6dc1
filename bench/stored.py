"""Helpers shared by the benchmarks that need stored responses in a real database."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from survey import create_app  # noqa: E402
from survey.demo import ensure_demo_population, load_synthetic_responses  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.models import Response  # noqa: E402
from survey.services.questionnaires import (  # noqa: E402
    latest_version,
    load_questionnaire,
    questionnaire_for,
)

QUESTIONNAIRE = Path(__file__).resolve().parents[1] / "questionnaires" / "prevent-awareness.yaml"


def prepare(url: str, responses: int):
    """Return an app on `url` holding `responses` synthetic responses (kept if already there)."""
    app = create_app({"SURVEY_ENV": "test", "SQLALCHEMY_DATABASE_URI": url})
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        stored = db.session.scalar(select(func.count()).select_from(Response))
    if stored == responses:
        print(f"  reusing the {stored:,} responses already stored")
    elif stored:
        raise SystemExit(
            f"{url} holds {stored:,} responses, not {responses:,}: remove it and run again"
        )
    else:
        _generate(app, responses)
    settle(app)
    return app


def _generate(app, responses: int) -> None:
    with app.app_context():
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


def settle(app) -> None:
    """Vacuum and analyse, as autovacuum would have done to a live database by now: the
    planner then knows the tables' sizes, and PostgreSQL can read the answers' index alone."""
    with app.app_context():
        engine = db.engine.execution_options(isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("VACUUM ANALYZE" if engine.name == "postgresql" else "ANALYZE"))


def fresh_postgres(admin_url: str, name: str = "prevent_bench", *, keep: bool = False) -> str:
    """Create (or rebuild) a database for the benchmark; return its SQLAlchemy URL.

    With `keep`, a database already there is left as it is, for `prepare` to reuse."""
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if exists and not keep:
            connection.execute(text(f"DROP DATABASE {name}"))
        if not exists or not keep:
            connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    return url.replace("postgresql://", "postgresql+psycopg://")


def best_of(repeats: int, work) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best
