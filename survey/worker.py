"""What an RQ worker (`flask jobs worker`) runs: one app per worker process, then each
job by its id (survey/services/jobs.py)."""

from __future__ import annotations

import functools


@functools.cache
def _app():
    from survey import create_app

    return create_app()


def run_job(job_id: int) -> None:
    from survey.services import jobs

    jobs.run(_app(), job_id)
