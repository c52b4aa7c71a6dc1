"""gunicorn on loopback for load, crash and restart runs, on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.databases import new_postgres_database
from tests.environment import clean_environ

PROJECT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
RESIDENTS = int(os.environ.get("LOAD_RESIDENTS", "200"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark the load runs slow, and keep them on one pytest-xdist worker: one at a time,
    so two servers under load never share the machine."""
    for item in items:
        if "tests/load" in str(item.fspath):
            item.add_marker(pytest.mark.load)
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.xdist_group("load"))


class Server:
    """A gunicorn master with its workers, and the database it writes to."""

    def __init__(self, folder: Path, database_url: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.log_path = folder / "gunicorn.log"
        self.env = clean_environ(
            SURVEY_ENV="development",
            SURVEY_DATABASE_URL=database_url,
            SURVEY_SECRET_KEY="load-tests-secret-key-0123456789abcdefghij",
            FLASK_APP="survey",
            SURVEY_BIND=f"127.0.0.1:{self.port}",
            SURVEY_LINK_START_LIMIT="1000000 per hour",
            SURVEY_LINK_SUBMIT_LIMIT="1000000 per hour",
        )
        self.process: subprocess.Popen | None = None
        self.log = None

    def prepare(self) -> None:
        flask = [sys.executable, "-m", "flask"]
        subprocess.run(
            [*flask, "db", "upgrade"], env=self.env, cwd=PROJECT, check=True, capture_output=True
        )
        subprocess.run(
            [*flask, "demo", "--synthetic-responses", "0"],
            env=self.env,
            cwd=PROJECT,
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        if getattr(self, "log", None) is not None:
            self.log.close()
        self.log = open(self.log_path, "a")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "survey.wsgi:app"],
            env=self.env,
            cwd=PROJECT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.wait_healthy()

    def wait_healthy(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(self.log_path.read_text()[-3000:])

    def workers(self) -> list[int]:
        result = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in result.stdout.split()]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        self.log.close()

    def count(self, sql: str) -> int:
        engine = create_engine(self.database_url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as connection:
            value = connection.execute(text(sql)).scalar()
        engine.dispose()
        return int(value)


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'load.db'}"
    else:
        server_url = os.environ.get("TEST_DATABASE_URL")
        if not server_url:
            pytest.skip("PostgreSQL load runs need TEST_DATABASE_URL (.ci/run sets it)")
        url = request.getfixturevalue("load_database")
    server = Server(tmp_path, url)
    server.prepare()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def load_database():
    """A PostgreSQL database of the load run's own, dropped afterwards."""
    with new_postgres_database(os.environ["TEST_DATABASE_URL"], "load") as url:
        yield url.replace("postgresql+psycopg://", "postgresql://", 1)
