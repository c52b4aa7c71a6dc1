"""Shared fixtures: the app on a database built by the real migrations.

The suite runs on a temporary SQLite file by default and, when TEST_DATABASE_URL is set,
on a PostgreSQL database of its own made beside it (one per pytest-xdist worker); no
other database is ever opened. The run writes a random mark
into the database it builds, and emptying tables between tests refuses any database
without that mark.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, exists, literal, make_url, or_, select, text
from sqlalchemy.orm import Session

from survey import clock, create_app
from survey.config import normalise_database_url
from survey.extensions import db
from survey.models import Base
from tests.databases import new_postgres_database
from tests.properties import PROFILE  # noqa: F401  (loads the Hypothesis profile)
from tests.resident import Resident

TESTS = Path(__file__).parent
PROJECT = TESTS.parent


# This run's mark: written into the database it builds, checked before any table is emptied.
RUN_MARK = secrets.randbelow(2**31 - 2) + 1
MARK_COMMENT = "prevent-survey test run {}"


class NotOurDatabase(RuntimeError):
    """The tests were about to empty a database this run did not create."""


def write_mark(connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.execute(text(f"PRAGMA user_version = {RUN_MARK}"))
    else:
        connection.execute(text(f"COMMENT ON SCHEMA public IS '{MARK_COMMENT.format(RUN_MARK)}'"))


def has_mark(connection) -> bool:
    if connection.dialect.name == "sqlite":
        return connection.execute(text("PRAGMA user_version")).scalar() == RUN_MARK
    comment = connection.execute(
        text("SELECT obj_description('public'::regnamespace, 'pg_namespace')")
    ).scalar()
    return comment == MARK_COMMENT.format(RUN_MARK)


def empty_tables(engine) -> None:
    """Delete every row, only from the database this run built; refuse any other."""
    with engine.begin() as connection:
        if not has_mark(connection):
            raise NotOurDatabase(
                f"refusing to empty {engine.url.render_as_string(hide_password=True)}: "
                "this test run did not create it"
            )
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def _same_database(a: str, b: str) -> bool:
    first, second = make_url(normalise_database_url(a)), make_url(normalise_database_url(b))
    return (first.host, first.port or 5432, first.database) == (
        second.host,
        second.port or 5432,
        second.database,
    )


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Build an empty schema with the migrations, once per worker, and mark it.

    On PostgreSQL the database is this worker's own, made beside the one TEST_DATABASE_URL
    names and dropped at the end; on SQLite a file in this worker's temporary folder."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        for name in ("SURVEY_DATABASE_URL", "DATABASE_URL"):
            if os.environ.get(name) and _same_database(url, os.environ[name]):
                pytest.exit(f"TEST_DATABASE_URL names the same database as {name}", 2)
        with new_postgres_database(url, "suite") as own:
            yield _migrated(own)
    else:
        yield _migrated("sqlite:///" + str(tmp_path_factory.mktemp("db") / "survey.db"))


def _migrated(url: str) -> str:
    app = create_app({"SURVEY_ENV": "test", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        with db.engine.begin() as connection:
            write_mark(connection)
        db.engine.dispose()
    return url


@pytest.fixture
def app(database_url: str):
    app = create_app({"SURVEY_ENV": "test", "SQLALCHEMY_DATABASE_URI": database_url})
    yield app
    with app.app_context():
        db.session.remove()
        empty_tables(db.engine)
        db.engine.dispose()


@pytest.fixture
def make_app(database_url: str):
    """Build extra apps on the test database (other settings, or a second host); their
    connections are closed afterwards."""
    made = []

    def build(**settings):
        app = create_app(
            {"SURVEY_ENV": "test", "SQLALCHEMY_DATABASE_URI": database_url, **settings}
        )
        made.append(app)
        return app

    yield build
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db_session(app, database_url: str):
    """A session of the test's own, on its own engine, for arranging and checking data.

    It does not push an app context, so every request the test makes gets its own
    session, as in production. Reads see what requests have committed.
    """
    engine = create_engine(database_url, connect_args=_connect_args(database_url))
    with Session(engine) as session:
        yield session
    engine.dispose()


def _connect_args(url: str) -> dict:
    return {"timeout": 10} if url.startswith("sqlite") else {}


_REAL_CLOCK = (clock.now, clock.today)


class DemoRows:
    """The rows `flask demo --synthetic-responses 0` wrote into an empty database, kept (in
    memory) the first time a test of this worker asks for the demo, and written back with
    one executemany a table for later ones."""

    def __init__(self) -> None:
        self.kept: dict[str, list[dict]] | None = None

    def keep(self, connection) -> None:
        self.kept = {
            table.name: [dict(row) for row in connection.execute(table.select()).mappings()]
            for table in Base.metadata.sorted_tables
        }

    def copy_back(self, connection) -> None:
        for table in Base.metadata.sorted_tables:
            if self.kept[table.name]:
                connection.execute(table.insert(), self.kept[table.name])


_demo_rows = DemoRows()


@pytest.fixture
def demo(app, runner):
    """Load the real questionnaire and the demo link, as `make run` does.

    The first test runs `flask demo`; later ones, on an empty database with the real
    clock, get the same rows copied back in, which is the same state in a tenth of the
    time. A test that froze the clock or wrote rows first runs the command itself."""
    with app.app_context():
        fresh = (clock.now, clock.today) == _REAL_CLOCK and _is_empty(db.engine)
        if fresh and _demo_rows.kept is not None:
            with db.engine.begin() as connection:
                _demo_rows.copy_back(connection)
            return "demo"
    result = runner.invoke(args=["demo", "--synthetic-responses", "0"])
    assert result.exit_code == 0, result.output
    if fresh:
        with app.app_context(), db.engine.begin() as connection:
            _demo_rows.keep(connection)
    return "demo"


def _is_empty(engine) -> bool:
    """Whether every table is empty, asked in one query."""
    tables = Base.metadata.sorted_tables
    with engine.connect() as connection:
        return not connection.scalar(
            select(or_(*(exists(select(literal(1)).select_from(t)) for t in tables)))
        )


@pytest.fixture
def resident(client, demo) -> Resident:
    return Resident(client, demo)


@pytest.fixture(scope="session")
def bad_inputs() -> dict:
    """The hostile-input corpus from shared/bad-inputs.json, copied into tests/data."""
    return json.loads((TESTS / "data" / "bad-inputs.json").read_text(encoding="utf-8"))
