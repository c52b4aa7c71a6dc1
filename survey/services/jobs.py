"""Staff work too heavy for a web request, done by a worker: one register of job kinds,
and how a job is queued, run, watched and retried.

A job's row in the database is the truth about it, whoever runs it. Where it runs is the
`JOB_QUEUE` setting:
- `redis://...`: RQ on Redis, run by `flask jobs worker` processes (production, `make serve`);
- `thread`: a thread in the web process (`make run`: nothing more to start);
- `inline`: in the request that asked, before it answers (the test suite).

A running job writes a heartbeat every few seconds. One whose heartbeat stops (its worker
was killed or restarted) reads as stopped, never as running for ever, and can be retried.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from survey import clock
from survey.models import Job, StaffUser

log = logging.getLogger(__name__)

HEARTBEAT = 5  # seconds between a running job's heartbeats
STOPPED_AFTER = dt.timedelta(seconds=60)  # silence after which a running job has stopped
QUEUE_NAME = "staff"


class JobRefused(Exception):
    """The job cannot be done as asked; the message says why, in the user's words."""


Runner = Callable[[Session, Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    name: str
    title: str  # what the status page calls it: "Preparing a release"
    run: Runner  # (session, params, config) -> result, e.g. {"release_id": 3}


KINDS: dict[str, JobKind] = {}


def job_kind(name: str, title: str) -> Callable[[Runner], Runner]:
    """Register a function as the runner of a kind of job."""

    def register(run: Runner) -> Runner:
        KINDS[name] = JobKind(name, title, run)
        return run

    return register


def create(session: Session, kind: str, params: dict[str, Any], *, by: StaffUser) -> Job:
    """Record a job to do; the caller commits, then hands it to `dispatch`."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}; register it with job_kind")
    job = Job(
        kind=kind,
        params=params,
        status="queued",
        progress="",
        error="",
        created_by=by.id,
        created_at=clock.now(),
    )
    session.add(job)
    session.flush()
    return job


def state(job: Job, now: dt.datetime | None = None) -> str:
    """queued, running, done, failed, or stopped (running, but its heartbeat has gone)."""
    if job.status == "running":
        beat = job.heartbeat_at or job.started_at
        if beat is not None and (now or clock.now()) - clock.stored(beat) > STOPPED_AFTER:
            return "stopped"
    return job.status


def minutes_waiting(job: Job) -> int:
    """Whole minutes since the job was asked for."""
    return int((clock.now() - clock.stored(job.created_at)).total_seconds() // 60)


def visible_job(session: Session, job_id: int, user: StaffUser) -> Job | None:
    """A job its creator, or any administrator, may see."""
    job = session.get(Job, job_id)
    if job is None or (job.created_by != user.id and user.role != "admin"):
        return None
    return job


def retry(session: Session, job: Job, *, by: StaffUser) -> Job:
    """A new job asking the same again (a failed or stopped one)."""
    if state(job) not in ("failed", "stopped"):
        raise JobRefused("Only a job that failed or stopped can be tried again")
    return create(session, job.kind, dict(job.params), by=by)


# --- Running -------------------------------------------------------------------------------


def run(app, job_id: int) -> None:
    """Run one queued job to its end in an app context of its own, recording its result or
    why it failed. A job already taken by another worker is left alone."""
    from survey.extensions import db

    with app.app_context():
        taken = db.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued")
            .values(status="running", started_at=clock.now(), heartbeat_at=clock.now())
        )
        db.session.commit()
        if taken.rowcount != 1:
            return
        job = db.session.get(Job, job_id)
        kind, params = KINDS[job.kind], dict(job.params)
        db.session.commit()
        heart = _Heartbeat(app, job_id)
        heart.start()
        try:
            result = kind.run(db.session, params, app.config)
            db.session.flush()
        except JobRefused as refusal:
            db.session.rollback()
            _finish(db.session, job_id, "failed", error=str(refusal))
        except Exception as error:  # noqa: BLE001 - any failure is the job's, shown to staff
            db.session.rollback()
            log.exception("Job %s (%s) failed", job_id, kind.name)
            _finish(db.session, job_id, "failed", error=_reason(error))
        else:
            _finish(db.session, job_id, "done", result=result)
        finally:
            heart.stop()


def _reason(error: Exception) -> str:
    if type(error).__name__ == "JobTimeoutException":
        return "It took longer than the time limit for staff work, so it was stopped"
    return "Something went wrong on the server. Try again; if it fails again, tell the team"


def _finish(session: Session, job_id: int, status: str, **values: Any) -> None:
    """Record how the job ended, in the job's own transaction when it succeeded (so the
    result and the work commit together)."""
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(status=status, finished_at=clock.now(), **values)
        .execution_options(synchronize_session=False)
    )
    session.commit()


class _Heartbeat:
    """Writes the job's heartbeat every HEARTBEAT seconds on a connection of its own."""

    def __init__(self, app, job_id: int) -> None:
        self.app, self.job_id = app, job_id
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name=f"job-{job_id}")

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=HEARTBEAT * 2)

    def _beat(self) -> None:
        from survey.extensions import db

        with self.app.app_context():
            engine = db.engine
        while not self.stopping.wait(HEARTBEAT):
            try:
                with engine.begin() as connection:
                    connection.execute(
                        update(Job)
                        .where(Job.id == self.job_id, Job.status == "running")
                        .values(heartbeat_at=clock.now())
                    )
            except SQLAlchemyError:  # busy for now (SQLite's one writer): beat again later
                continue


def dispatch(app, job_id: int) -> None:
    """Hand a committed job to whatever runs jobs here (the JOB_QUEUE setting)."""
    queue = app.config["JOB_QUEUE"]
    if queue == "inline":
        run(app, job_id)
    elif queue == "thread":
        threading.Thread(target=run, args=(app, job_id), daemon=True).start()
    else:
        rq_queue(queue).enqueue(
            "survey.worker.run_job",
            job_id,
            job_timeout=app.config["JOB_TIME_LIMIT"],
            result_ttl=0,
            failure_ttl=24 * 60 * 60,
        )


def rq_queue(url: str):
    from redis import Redis
    from rq import Queue

    return Queue(QUEUE_NAME, connection=Redis.from_url(url))
