"""Preparing and approving releases run as jobs: the request answers at once with a
status page that refreshes itself (no JavaScript), which goes to the release when the job
is done, shows the reason when it is refused, and offers to try again. A job whose worker
stopped reads as stopped, never as running for ever."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select

from survey import clock
from survey.models import Job, Release
from survey.services import jobs
from survey.services import releases as release_service
from tests.releases import last_quarter, queued_preparation, responses_as_real
from tests.resident import page
from tests.staff import approval_form, csrf_from, signed_in_client


def words(response) -> str:
    return " ".join(page(response).get_text(" ").split())


@pytest.fixture
def threaded(make_app, demo, monkeypatch):
    """The app as `make run` has it: jobs in a thread of the web process, each taking at
    least half a second (as at many responses), so the request always answers first."""
    app = make_app(JOB_QUEUE="thread")
    responses_as_real(app, size=1500)
    original = release_service.build_snapshot

    def slow(*args, **kwargs):
        time.sleep(0.5)
        return original(*args, **kwargs)

    monkeypatch.setattr(release_service, "build_snapshot", slow)
    return app


def ask_to_prepare(client):
    return client.post(
        "/staff/releases/new",
        data={
            "csrf_token": csrf_from(client, "/staff/releases/new"),
            "period": last_quarter(),
            "indicators": ["aware"],
            "breakdowns": ["sex"],
            "commentary": "More people have heard of Prevent.",
        },
    )


def follow_job(client, location: str, limit: float = 60):
    """Reload a job's status page as the browser would, until it stops refreshing."""
    assert location.startswith("/staff/jobs/"), location
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        response = client.get(location)
        if "Refresh" not in response.headers:
            return response
        assert response.status_code == 200
        assert response.headers["Refresh"] == "2"
        assert "This page checks again every 2 seconds" in words(response)
        time.sleep(0.2)
    raise AssertionError(f"{location} was still working after {limit} s")


def test_preparing_answers_at_once_and_the_status_page_leads_to_the_release(threaded):
    analyst = signed_in_client(threaded, "analyst")
    asked = ask_to_prepare(analyst)
    assert asked.status_code == 303
    done = follow_job(analyst, asked.headers["Location"])
    assert done.status_code == 303 and done.headers["Location"].startswith("/staff/releases/")
    release_page = analyst.get(done.headers["Location"])
    assert "Release prepared: its figures are worked out" in words(release_page)


def test_an_approval_refused_in_its_job_says_why_and_can_be_tried_again(threaded, db_session):
    analyst = signed_in_client(threaded, "analyst")
    prepared = follow_job(analyst, ask_to_prepare(analyst).headers["Location"])
    release_id = int(prepared.headers["Location"].rsplit("/", 1)[1])
    admin = signed_in_client(threaded, "admin")
    form = approval_form(admin, release_id)
    # Someone changes the release after the admin opened it: the approval is refused.
    analyst.post(
        f"/staff/releases/{release_id}/edit",
        data={
            "csrf_token": csrf_from(analyst, f"/staff/releases/{release_id}/edit"),
            "period": last_quarter(),
            "indicators": ["aware"],
            "breakdowns": ["sex"],
            "commentary": "Changed after the admin looked.",
        },
    )
    time.sleep(0.5)
    asked = admin.post(f"/staff/releases/{release_id}/approve", data={**form, "when": "now"})
    failed = follow_job(admin, asked.headers["Location"])
    assert failed.status_code == 200
    assert "It could not be done" in words(failed)
    assert "This release has changed since you opened it" in words(failed)
    assert db_session.get(Release, release_id).approved_at is None
    again = admin.post(
        asked.headers["Location"] + "/retry",
        data={"csrf_token": csrf_from(admin, asked.headers["Location"])},
    )
    assert again.status_code == 303 and again.headers["Location"] != asked.headers["Location"]
    assert db_session.scalar(select(Job).order_by(Job.id.desc())).params["release_id"] == release_id


def test_a_job_whose_worker_died_reads_as_stopped_and_can_be_tried_again(app, demo, monkeypatch):
    responses_as_real(app, size=1500)
    analyst = signed_in_client(app, "analyst")

    def killed(job, _user) -> None:
        # A worker took it and was killed: its last heartbeat was two minutes ago.
        job.status = "running"
        job.started_at = job.heartbeat_at = clock.now() - dt.timedelta(minutes=2)

    job_id = queued_preparation(app, arrange=killed)
    stopped = analyst.get(f"/staff/jobs/{job_id}")
    assert stopped.status_code == 200 and "Refresh" not in stopped.headers
    assert "Stopped before finishing" in words(stopped)
    assert "The worker doing it stopped" in words(stopped)
    again = analyst.post(
        f"/staff/jobs/{job_id}/retry",
        data={"csrf_token": csrf_from(analyst, f"/staff/jobs/{job_id}")},
    )
    done = analyst.get(again.headers["Location"])  # jobs run in the request in the tests
    assert done.status_code == 303 and done.headers["Location"].startswith("/staff/releases/")
    # A running job that still beats is running.
    from survey.extensions import db

    with app.app_context():
        beating = db.session.get(Job, job_id)
        beating.heartbeat_at = clock.now() - dt.timedelta(seconds=20)
        assert jobs.state(beating) == "running"
        db.session.rollback()


def test_nobody_but_its_maker_and_administrators_sees_a_job(threaded):
    analyst = signed_in_client(threaded, "analyst")
    location = ask_to_prepare(analyst).headers["Location"]
    follow_job(analyst, location)
    colleague = signed_in_client(threaded, "analyst", "colleague@example.org")
    assert colleague.get(location).status_code == 404
    admin = signed_in_client(threaded, "admin")
    assert admin.get(location).status_code == 303  # done: on to the release


def test_a_job_asked_for_by_an_account_disabled_since_is_refused(app, demo, db_session):
    responses_as_real(app, size=1500)
    signed_in_client(app, "analyst")

    def disabled(_job, user) -> None:
        user.active = False  # disabled while the job waited in the queue

    job_id = queued_preparation(app, arrange=disabled)
    jobs.run(app, job_id)
    job = db_session.get(Job, job_id)
    assert (job.status, job.error) == (
        "failed",
        "The account that asked for this has been disabled",
    )
    assert db_session.scalars(select(Release)).all() == []
