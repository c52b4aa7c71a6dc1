"""Preparing and approving a release, as jobs (survey/services/jobs.py): each works its
figures out again from every response, which takes seconds to minutes at scale.

Each job locks the release's row for its whole transaction (`locked_release`), so an edit,
an approval or a withdrawal arriving meanwhile waits, then finds what this one left.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from survey.models import StaffUser
from survey.publication import public_gate_for
from survey.services import releases as release_service
from survey.services.jobs import JobRefused, job_kind
from survey.services.population import current_figures
from survey.services.questionnaires import newest_questionnaire

PREPARE = "prepare_release"
APPROVE = "approve_release"


def prepare_params(
    choice: release_service.ReleaseChoice, *, release_id: int | None, by: StaffUser
) -> dict[str, Any]:
    return {"choice": dataclasses.asdict(choice), "release_id": release_id, "by": by.id}


def approve_params(
    release_id: int, *, publish_at: dt.datetime, seen: str | None, by: StaffUser
) -> dict[str, Any]:
    return {
        "release_id": release_id,
        "publish_at": publish_at.isoformat(),
        "seen": seen,
        "by": by.id,
    }


def _context(session: Session, config: Mapping[str, Any]):
    questionnaire = newest_questionnaire(session, config["QUESTIONNAIRE_ID"])
    if questionnaire is None:
        raise JobRefused("No questionnaire is loaded")
    return questionnaire, current_figures(session), public_gate_for(config)


def _person(session: Session, user_id: int) -> StaffUser:
    """Who asked, if they may still act: an account disabled since it asked may not."""
    user = session.get(StaffUser, user_id)
    if user is None or not user.active:
        raise JobRefused("The account that asked for this has been disabled")
    return user


def _release(session: Session, release_id: int):
    release = release_service.locked_release(session, release_id)
    if release is None:
        raise JobRefused("That release no longer exists")
    return release


@job_kind(PREPARE, "Preparing a release")
def prepare(session: Session, params: Mapping[str, Any], config: Mapping[str, Any]) -> dict:
    questionnaire, figures, gate = _context(session, config)
    asked = params["choice"]
    choice = release_service.ReleaseChoice(
        **{
            **asked,
            "indicators": tuple(asked["indicators"]),
            "breakdowns": tuple(asked["breakdowns"]),
        }
    )
    release = _release(session, params["release_id"]) if params["release_id"] else None
    try:
        made = release_service.prepare(
            session,
            questionnaire,
            choice,
            by=_person(session, params["by"]),
            figures=figures,
            gate=gate,
            release=release,
        )
    except release_service.ReleaseError as error:
        raise JobRefused(str(error)) from None
    return {"release_id": made.id}


@job_kind(APPROVE, "Approving a release")
def approve(session: Session, params: Mapping[str, Any], config: Mapping[str, Any]) -> dict:
    questionnaire, figures, gate = _context(session, config)
    release = _release(session, params["release_id"])
    try:
        release_service.approve(
            session,
            release,
            questionnaire,
            by=_person(session, params["by"]),
            publish_at=dt.datetime.fromisoformat(params["publish_at"]),
            figures=figures,
            gate=gate,
            seen=params["seen"],
        )
    except release_service.ReleaseError as error:
        session.commit()  # a refusal is in the audit log
        raise JobRefused(str(error)) from None
    return {"release_id": release.id, "status": release_service.status(release)}
