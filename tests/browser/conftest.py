"""A real browser (Debian's chromium driven by Playwright) against gunicorn on loopback.

Skipped, saying why, when chromium or Playwright is missing; `.ci/run` installs both.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.environment import clean_environ

PROJECT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark the browser tests, skip them (saying why) without a browser, and keep the
    tests of each server together on one pytest-xdist worker, so each server is built once
    (the groups themselves may run on different workers)."""
    reason = None
    if not os.path.exists(CHROMIUM):
        reason = "browser tests need Debian's chromium (apt-get install chromium)"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            reason = "browser tests need Playwright for Python (pip install playwright)"
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            server = next((f for f in SERVERS if f in item.fixturenames), "live_server")
            item.add_marker(pytest.mark.xdist_group(f"browser-{server}"))
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_collection_finish(session):
    """Fail at once if pytest-xdist did not put a browser test in its server's group: each
    worker would then build every server (a minute more), as a pytest too new for
    pytest-xdist once did silently."""
    if not session.config.getoption("loadgroup", False):
        return
    loose = [i.nodeid for i in session.items if "tests/browser" in str(i.fspath)]
    loose = [nodeid for nodeid in loose if "@browser-" not in nodeid]
    if loose:
        raise pytest.UsageError(
            f"--dist loadgroup did not group {loose[0]} with its server: check that the "
            "installed pytest-xdist supports the installed pytest"
        )


# The servers the browser tests use, each built at most once per worker.
SERVERS = ("published_server", "hostile_server", "accounts_server", "live_server")


class LiveServer(str):
    """The server's base URL, carrying the demo staff credentials `make run` prints."""

    def __new__(cls, base: str, credentials: dict[str, tuple[str, str]]):
        server = super().__new__(cls, base)
        server.credentials = credentials
        return server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SERVER_SETTINGS = {
    "SURVEY_ENV": "development",
    "SURVEY_SECRET_KEY": "browser-tests-secret-key-0123456789abcdef",
    "FLASK_APP": "survey",
    "SURVEY_WEB_WORKERS": "2",
    # The walks sign the demo admin in many times a minute, more often than authenticator
    # codes allow (each works once); `accounts_server` keeps the default, admin and analyst.
    "SURVEY_TWO_FACTOR_ROLES": "",
}


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory) -> tuple[Path, str]:
    """A SQLite database as `make run` leaves it (`flask db upgrade`, then `flask demo`
    with its synthetic responses and preview release), built once per worker; each server
    starts from a copy. Returns the file and what `flask demo` printed."""
    folder = tmp_path_factory.mktemp("demo")
    env = clean_environ(**SERVER_SETTINGS, SURVEY_DATABASE_URL=f"sqlite:///{folder / 'survey.db'}")
    flask = [sys.executable, "-m", "flask"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=PROJECT, check=True, capture_output=True)
    demo = subprocess.run(
        [*flask, "demo", "--base-url", "http://127.0.0.1"],
        env=env,
        cwd=PROJECT,
        check=True,
        capture_output=True,
        text=True,
    )
    return folder / "survey.db", demo.stdout


def _copy_database(source: Path, target: Path) -> None:
    """Copy a SQLite database with SQLite's backup, so pages still in its write-ahead log
    come too."""
    with (
        contextlib.closing(sqlite3.connect(source)) as old,
        contextlib.closing(sqlite3.connect(target)) as new,
    ):
        old.backup(new)


@contextlib.contextmanager
def serve(
    folder: Path,
    demo_database: tuple[Path, str],
    prepare: list[list[str]] = (),
    setup=None,
    settings: dict[str, str] | None = None,
):
    """Copy the demo database, run any further `flask` commands and `setup(database_url)`
    on the copy, and serve it with gunicorn (with any further `settings`); yield the base
    URL with the demo staff credentials."""
    port = _free_port()
    env = clean_environ(
        **{**SERVER_SETTINGS, **(settings or {})},
        SURVEY_DATABASE_URL=f"sqlite:///{folder / 'survey.db'}",
        SURVEY_BIND=f"127.0.0.1:{port}",
        # "Exit this page" leaves for a neutral site: here another origin on this machine.
        SURVEY_EXIT_URL=f"http://localhost:{port}/",
    )
    flask = [sys.executable, "-m", "flask"]
    source, printed = demo_database
    _copy_database(source, folder / "survey.db")
    (folder / "demo.txt").write_text(printed)
    for command in prepare:
        subprocess.run([*flask, *command], env=env, cwd=PROJECT, check=True, capture_output=True)
    if setup is not None:
        setup(env["SURVEY_DATABASE_URL"])
    log = open(folder / "gunicorn.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "survey.wsgi:app"],
        env=env,
        cwd=PROJECT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    credentials = {
        line.split()[0]: (line.split()[1], line.split()[2])
        for line in printed.splitlines()
        if "@demo.example.org" in line
    }
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1):  # noqa: S310
                break
        except OSError:
            time.sleep(0.1)
    else:
        server.terminate()
        raise RuntimeError((folder / "gunicorn.log").read_text())
    try:
        yield LiveServer(base, credentials)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, demo_database):
    """The platform as `make run` sets it up, served by gunicorn."""
    with serve(tmp_path_factory.mktemp("live"), demo_database) as server:
        yield server


def _publish_two_releases(database_url: str) -> None:
    """The demo's responses treated as real (tests only), and releases for the last two
    quarters published, so the public pages have figures and a change to show."""
    from survey import create_app
    from tests.releases import last_quarter, publish, quarter_before, responses_as_real

    app = create_app({"SURVEY_ENV": "test", "SQLALCHEMY_DATABASE_URI": database_url})
    responses_as_real(app, size=4000)
    breakdowns = ("borough", "age_band", "sex", "ethnic_group")
    publish(app, quarter_before(last_quarter()), breakdowns=breakdowns)
    publish(app, breakdowns=breakdowns)


@pytest.fixture(scope="session")
def published_server(tmp_path_factory, demo_database):
    """The platform with two published releases (ids 2 and 3: the demo's preview is 1) and
    one approved for tomorrow (id 4)."""
    folder = tmp_path_factory.mktemp("published")
    with serve(folder, demo_database, setup=_publish_three_releases) as server:
        yield server


def _publish_three_releases(database_url: str) -> None:
    """Two releases published (ids 2 and 3), and one approved for tomorrow (id 4)."""
    import datetime as dt

    from survey import clock, create_app
    from tests.releases import last_quarter, publish, quarter_before

    _publish_two_releases(database_url)
    app = create_app({"SURVEY_ENV": "test", "SQLALCHEMY_DATABASE_URI": database_url})
    publish(
        app,
        quarter_before(quarter_before(last_quarter())),
        publish_at=clock.now() + dt.timedelta(days=1),
        breakdowns=("sex",),
    )


@pytest.fixture(scope="session")
def accounts_server(tmp_path_factory, demo_database):
    """The platform with mail (a real SMTP server on loopback, `tests/mail.py`) and the
    default second-factor rule: administrators and analysts need an authenticator app.
    Yields the server, whose `mailbox` holds every message sent."""
    from tests.mail import MailServer

    with MailServer() as mail:
        settings = {f"SURVEY_{name}": str(value) for name, value in mail.settings.items()}
        settings["SURVEY_TWO_FACTOR_ROLES"] = "admin,analyst"
        folder = tmp_path_factory.mktemp("accounts")
        with serve(folder, demo_database, settings=settings) as server:
            server.mailbox = mail.mailbox
            yield server


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
