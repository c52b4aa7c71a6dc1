"""The job queue for real: RQ on the Redis these machines run, and `flask jobs worker`
processes beside the app. A worker does a release preparation it did not start; a worker
killed in the middle of one leaves it stopped (never running for ever, nothing half
written), and trying again with a new worker finishes it."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from survey import clock
from survey.demographics import breakdowns
from survey.models import Job, Release
from tests.environment import clean_environ
from tests.releases import last_quarter, responses_as_real
from tests.resident import page
from tests.staff import csrf_from, signed_in_client

PROJECT = Path(__file__).resolve().parents[2]
# A Redis database of the suite's own, emptied before each test.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def queued(make_app, demo, database_url):
    from redis import Redis

    Redis.from_url(REDIS_URL).flushdb()
    app = make_app(JOB_QUEUE=REDIS_URL)
    return app


def worker(database_url: str, log: Path, *extra: str) -> subprocess.Popen:
    """A `flask jobs worker` process on the test's own database, writing to `log`."""
    env = clean_environ(
        SURVEY_ENV="test",
        SURVEY_DATABASE_URL=database_url,
        SURVEY_JOB_QUEUE=REDIS_URL,
        FLASK_APP="survey",
    )
    with log.open("a") as out:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "jobs", "worker", *extra],
            env=env,
            cwd=PROJECT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def ask_to_prepare(client, breakdowns=("sex",), indicators=("aware",)):
    asked = client.post(
        "/staff/releases/new",
        data={
            "csrf_token": csrf_from(client, "/staff/releases/new"),
            "period": last_quarter(),
            "indicators": list(indicators),
            "breakdowns": list(breakdowns),
        },
    )
    assert asked.status_code == 303 and asked.headers["Location"].startswith("/staff/jobs/")
    return asked.headers["Location"]


def wait_for(check, limit: float, what: str):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {limit} s")


def test_a_worker_process_does_a_queued_preparation(queued, database_url, tmp_path):
    responses_as_real(queued, size=1500)
    analyst = signed_in_client(queued, "analyst")
    location = ask_to_prepare(analyst)
    waiting = analyst.get(location)
    assert "Waiting to start" in page(waiting).get_text(" ")  # no worker yet
    process = worker(database_url, tmp_path / "worker.log")
    try:
        done = wait_for(
            lambda: (r := analyst.get(location)).status_code == 303 and r, 60, "the job"
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert done.headers["Location"].startswith("/staff/releases/")


def test_a_worker_killed_mid_job_leaves_it_stopped_and_a_retry_finishes_it(
    queued, database_url, db_session, monkeypatch, tmp_path
):
    responses_as_real(queued, size=12_000)
    analyst = signed_in_client(queued, "analyst")
    # Every indicator by every breakdown: several seconds of work at this many responses.
    location = ask_to_prepare(
        analyst,
        breakdowns=tuple(breakdowns()),
        indicators=("aware", "confident_helps", "trusts_fair", "knows_help"),
    )
    job_id = int(location.rsplit("/", 1)[1])
    process = worker(database_url, tmp_path / "first.log")

    def status():
        db_session.expire_all()
        return db_session.get(Job, job_id).status

    try:
        wait_for(lambda: status() == "running", 60, "the worker taking the job")
        time.sleep(0.3)
        assert status() == "running", "the job finished before the worker could be killed"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert db_session.scalar(select(func.count(Release.id))) == 0  # nothing half written
    assert "Working" in page(analyst.get(location)).get_text(" ")
    later = clock.now() + dt.timedelta(minutes=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    stopped = analyst.get(location)
    assert "Stopped before finishing" in page(stopped).get_text(" ")
    again = analyst.post(location + "/retry", data={"csrf_token": csrf_from(analyst, location)})
    monkeypatch.undo()
    retried = again.headers["Location"]
    assert retried != location
    process = worker(database_url, tmp_path / "second.log", "--burst")
    try:
        process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    done = analyst.get(retried)
    assert done.status_code == 303, page(done).get_text(" ")[:500]
    assert db_session.scalar(select(func.count(Release.id))) == 1
