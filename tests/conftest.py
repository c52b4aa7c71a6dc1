"""Shared fixtures: the app on a database built by the real migrations.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from survey import create_app
from survey.config import normalise_database_url
from survey.extensions import db
from survey.models import Base
from tests.resident import Resident

TESTS = Path(__file__).parent
PROJECT = TESTS.parent


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Build an empty schema with the migrations, once per test run."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = normalise_database_url(url)
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "survey.db")
    app = create_app({"SURVEY_ENV": "test", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def app(database_url: str):
    app = create_app({"SURVEY_ENV": "test", "SQLALCHEMY_DATABASE_URI": database_url})
    yield app
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
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


@pytest.fixture
def demo(app, runner):
    """Load the real questionnaire and the demo link, as `make run` does."""
    result = runner.invoke(args=["demo", "--synthetic-responses", "0"])
    assert result.exit_code == 0, result.output
    return "demo"


@pytest.fixture
def resident(client, demo) -> Resident:
    return Resident(client, demo)


@pytest.fixture(scope="session")
def bad_inputs() -> dict:
    """The hostile-input corpus from shared/bad-inputs.json, copied into tests/data."""
    return json.loads((TESTS / "data" / "bad-inputs.json").read_text(encoding="utf-8"))
