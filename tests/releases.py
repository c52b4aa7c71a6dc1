"""Releases for tests: responses treated as real, prepared by one person, approved by
another, as the staff pages do it."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import update

from survey import clock
from survey.demo import SYNTHETIC_CODE, load_synthetic_responses
from survey.extensions import db
from survey.models import Link, PopulationSet, Release, StaffUser
from survey.publication import public_gate_for
from survey.services import releases as release_service
from survey.services import staff as staff_service
from survey.services.population import current_figures
from survey.services.questionnaires import latest_version, questionnaire_for
from tests.staff import PASSWORD

INDICATORS = ("aware", "confident_helps")
BREAKDOWNS = ("borough", "age_band", "sex")


def last_quarter(today: dt.date | None = None) -> str:
    today = today or clock.today()
    year, quarter = today.year, (today.month - 1) // 3 + 1
    year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return f"{year}-Q{quarter}"


def quarter_before(period: str) -> str:
    year, quarter = int(period[:4]), int(period[-1])
    year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return f"{year}-Q{quarter}"


def responses_as_real(app, size: int = 0, days: int = 365, seed: int = 7) -> None:
    """Load responses (or take those loaded) and treat them as real: their links are not
    marked synthetic and the population figures are not the demo's. Tests only."""
    with app.app_context():
        _set_aside_synthetic_link()  # the demo loader adds responses only while it has none
        if size:
            version = latest_version(db.session, "prevent-awareness")
            load_synthetic_responses(
                db.session, questionnaire_for(version), version.id, size, seed=seed, days=days
            )
            _set_aside_synthetic_link()
        db.session.execute(update(Link).values(synthetic=False))
        db.session.execute(update(PopulationSet).values(is_demo=False))
        db.session.commit()


def _set_aside_synthetic_link() -> None:
    db.session.execute(
        update(Link)
        .where(Link.code == SYNTHETIC_CODE)
        .values(code=f"as-real-{secrets.token_hex(6)}")
    )


def _user(email: str, role: str) -> StaffUser:
    user = db.session.query(StaffUser).filter_by(email=email).one_or_none()
    return user or staff_service.create_user(db.session, email, role, PASSWORD)


def prepare(
    app,
    period: str | None = None,
    *,
    indicators=INDICATORS,
    breakdowns=BREAKDOWNS,
    commentary: str = "More people have heard of Prevent than last year.",
    corrects: int | None = None,
    correction_note: str = "",
) -> int:
    """Prepare a release (an analyst) without approving it; return its id."""
    with app.app_context():
        questionnaire = questionnaire_for(latest_version(db.session, "prevent-awareness"))
        release = release_service.prepare(
            db.session,
            questionnaire,
            release_service.ReleaseChoice(
                period or last_quarter(),
                tuple(indicators),
                tuple(breakdowns),
                commentary,
                corrects,
                correction_note,
            ),
            by=_user("release-analyst@example.org", "analyst"),
            figures=current_figures(db.session),
            gate=public_gate_for(app.config),
        )
        db.session.commit()
        return release.id


def publish(app, period: str | None = None, *, publish_at: dt.datetime | None = None, **choice):
    """Prepare (an analyst) and approve (an admin) a release; return its id."""
    release_id = prepare(app, period, **choice)
    with app.app_context():
        release = db.session.get(Release, release_id)
        assert not release.problems, release.problems
        release_service.approve(
            db.session,
            release,
            questionnaire_for(latest_version(db.session, "prevent-awareness")),
            by=_user("release-admin@example.org", "admin"),
            publish_at=publish_at or clock.now(),
            figures=current_figures(db.session),
            gate=public_gate_for(app.config),
            seen=release_service.digest(release),
        )
        db.session.commit()
        return release_id


def queued_preparation(app, email: str = "analyst@example.org", arrange=None) -> int:
    """A release preparation (the last quarter, one indicator by sex) asked for by the
    member of staff with this email and not yet run; `arrange(job, user)` may change either
    before it is stored. Returns the job's id."""
    from survey.services import jobs, release_jobs

    with app.app_context():
        user = db.session.query(StaffUser).filter_by(email=email).one()
        choice = release_service.ReleaseChoice(last_quarter(), ("aware",), ("sex",))
        job = jobs.create(
            db.session,
            release_jobs.PREPARE,
            release_jobs.prepare_params(choice, release_id=None, by=user),
            by=user,
        )
        if arrange is not None:
            arrange(job, user)
        db.session.commit()
        return job.id
