"""Staff work running on the job queue: where a job stands (the page refreshes itself,
without JavaScript), its result, or why it failed with a way to try again."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    url_for,
)

from survey.extensions import db
from survey.models import Job
from survey.services import jobs as job_service
from survey.staff_forms import ConfirmForm

bp = Blueprint("jobs", __name__, url_prefix="/staff/jobs")

REFRESH = 2  # seconds between the status page's own reloads while a job runs
STATE_WORDS = {
    "queued": "Waiting to start",
    "running": "Working",
    "done": "Done",
    "failed": "Failed",
    "stopped": "Stopped before finishing",
}
# What each kind says when it is done, from its result.
DONE_WORDS: dict[str, Callable[[dict], str]] = {
    "prepare_release": lambda result: "Release prepared: its figures are worked out",
    "approve_release": lambda result: (
        "Release approved"
        if result.get("status") == "scheduled"
        else "Release approved and published"
    ),
}


def result_page(job: Job) -> str:
    """Where a finished job's result is: every kind so far makes or changes a release."""
    return url_for("releases.detail", release_id=job.result["release_id"])


def start(kind: str, params: dict, on_refusal: Callable[[str], object]):
    """Queue a job and answer the request: at its result if it is already done (jobs run
    in the request when JOB_QUEUE is `inline`), with `on_refusal(reason)` if it was
    refused, or at its status page while it works."""
    job = job_service.create(db.session, kind, params, by=g.current_staff)
    db.session.commit()
    app = current_app._get_current_object()
    job_service.dispatch(app, job.id)
    if app.config["JOB_QUEUE"] == "inline":
        # Done already. (Elsewhere the job is not read again here: on SQLite this write
        # request would wait for the job's write lock, that is for the whole job.)
        db.session.expire_all()
        job = db.session.get(Job, job.id)
        if job.status == "done":
            return _finished(job)
        if job.status == "failed":
            return on_refusal(job.error)
    return redirect(url_for("jobs.status", job_id=job.id), 303)


def _finished(job: Job):
    flash(DONE_WORDS[job.kind](job.result))
    return redirect(result_page(job), 303)


def _visible(job_id: int) -> Job:
    job = job_service.visible_job(db.session, job_id, g.current_staff)
    if job is None:
        abort(404)  # another person's job is as good as missing
    return job


@bp.get("/<int:job_id>")
def status(job_id: int):
    """Where a job stands. While it works, the page reloads itself every 2 seconds (a
    Refresh header, so no JavaScript is needed); when it is done, it goes to the result."""
    job = _visible(job_id)
    state = job_service.state(job)
    if state == "done":
        return _finished(job)
    headers = {"Refresh": str(REFRESH)} if state in ("queued", "running") else {}
    return (
        render_template(
            "jobs/status.html",
            job=job,
            state=state,
            words=STATE_WORDS,
            title=job_service.KINDS[job.kind].title,
            waited_minutes=job_service.minutes_waiting(job),
            refresh=REFRESH,
            form=ConfirmForm(),
        ),
        200,
        headers,
    )


@bp.post("/<int:job_id>/retry")
def retry(job_id: int):
    """Ask for the same work again, as a new job."""
    job = _visible(job_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("jobs.status", job_id=job.id), 303)
    try:
        again = job_service.retry(db.session, job, by=g.current_staff)
    except job_service.JobRefused:
        return redirect(url_for("jobs.status", job_id=job.id), 303)
    db.session.commit()
    job_service.dispatch(current_app._get_current_object(), again.id)
    return redirect(url_for("jobs.status", job_id=again.id), 303)
