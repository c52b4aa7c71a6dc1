"""The tests never touch a database they did not create, whatever the shell holds."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select

from survey import create_app
from survey.extensions import db
from survey.models import Response
from tests.conftest import PROJECT, NotOurDatabase, empty_tables
from tests.environment import clean_environ


@pytest.fixture(scope="module")
def populated(tmp_path_factory) -> str:
    """Someone's real data: a migrated database with the demo and 40 responses."""
    url = "sqlite:///" + str(tmp_path_factory.mktemp("real") / "real.db")
    app = create_app({"SURVEY_ENV": "test", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    result = app.test_cli_runner().invoke(args=["demo", "--synthetic-responses", "40"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()
    return url


def _digest(url: str) -> str:
    return hashlib.sha256(Path(url.removeprefix("sqlite:///")).read_bytes()).hexdigest()


def test_emptying_tables_refuses_a_database_this_run_did_not_create(populated):
    engine = create_engine(populated)
    with pytest.raises(NotOurDatabase, match="did not create"):
        empty_tables(engine)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Response)) == 40
    engine.dispose()


def test_a_test_run_leaves_the_database_in_the_environment_byte_for_byte_unchanged(populated):
    before = _digest(populated)
    env = clean_environ(SURVEY_DATABASE_URL=populated, DATABASE_URL=populated)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_smoke_journey.py",
            "tests/survey/views/test_links.py",
        ],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert " passed" in run.stdout
    assert _digest(populated) == before
