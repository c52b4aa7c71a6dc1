"""The audit log of staff actions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey import clock
from survey.models import AuditEvent, StaffUser

MAX_DETAIL = 500  # characters kept of an event's detail


def record_event(
    session: Session,
    action: str,
    *,
    actor: StaffUser | None = None,
    actor_email: str | None = None,
    detail: str = "",
) -> None:
    """Add one staff action to the audit log."""
    session.add(
        AuditEvent(
            occurred_at=clock.now(),
            actor_id=actor.id if actor else None,
            actor_email=(actor.email if actor else actor_email or "")[:254],
            action=action,
            detail=detail[:MAX_DETAIL],
        )
    )


def recent_events(session: Session, limit: int = 200) -> list[AuditEvent]:
    """Return the newest audit events first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )
