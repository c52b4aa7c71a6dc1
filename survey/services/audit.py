"""The audit log of staff actions: recording them, and reading them a page at a time.

Failed sign-ins are read grouped by the hour, with a count: however many an attacker
makes, they take one line an hour and never push an admin's download out of view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from survey import clock
from survey.database import writing
from survey.models import AuditEvent, StaffUser

MAX_DETAIL = 500  # characters kept of an event's detail
PAGE_SIZE = 50  # lines of the log on one page
GROUPED = "sign_in_failed"

# Every action the log records, and how staff read it.
ACTIONS = {
    "sign_in": "Signed in",
    "sign_in_failed": "Failed sign-in",
    "sign_out": "Signed out",
    "account_created": "Account created",
    "account_disabled": "Account disabled",
    "account_enabled": "Account enabled",
    "password_reset": "Password reset",
    "password_link_sent": "Set-password link sent",
    "password_set": "Password chosen through a link",
    "password_changed": "Password changed",
    "second_factor_added": "Authenticator app set up",
    "second_factor_reset": "Authenticator app removed by an administrator",
    "recovery_codes_replaced": "Recovery codes replaced",
    "signed_out_everywhere": "Signed out everywhere",
    "link_created": "Link created",
    "link_closed": "Link closed",
    "link_reopened": "Link reopened",
    "population_uploaded": "Population figures uploaded",
    "download": "Download",
    "release_prepared": "Release prepared",
    "release_revised": "Release revised",
    "release_refused": "Release refused approval",
    "release_approved": "Release approved",
    "release_withdrawn": "Release approval withdrawn",
    "release_published": "Release published",
}


def record_event(
    session: Session,
    action: str,
    *,
    actor: StaffUser | None = None,
    actor_email: str | None = None,
    detail: str = "",
) -> None:
    """Add one staff action to the audit log."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; add it to ACTIONS")
    session.add(
        AuditEvent(
            occurred_at=clock.now(),
            actor_id=actor.id if actor else None,
            actor_email=(actor.email if actor else actor_email or "")[:254],
            action=action,
            detail=detail[:MAX_DETAIL],
        )
    )


def record_after_reading(session: Session, action: str, *, actor: StaffUser, detail: str) -> None:
    """Record one staff action at the end of a request that only read (a download), in a
    short transaction of its own: the read is ended first, and the write takes the lock
    as it begins, so analysts downloading at once wait their turn for a moment instead of
    failing because another's line was written while they read."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; add it to ACTIONS")
    actor_id, email = actor.id, actor.email
    session.rollback()
    with writing():
        session.add(
            AuditEvent(
                occurred_at=clock.now(),
                actor_id=actor_id,
                actor_email=email[:254],
                action=action,
                detail=detail[:MAX_DETAIL],
            )
        )
        session.commit()


@dataclass(frozen=True)
class AuditFilter:
    """What the admin asked to see; every part optional."""

    action: str | None = None
    person: str | None = None  # part of an email address, any case
    since: dt.date | None = None
    until: dt.date | None = None  # inclusive


@dataclass(frozen=True)
class AuditLine:
    """One line of the log: an event, or an hour of failed sign-ins."""

    occurred_at: dt.datetime  # for a group, the start of its hour
    action: str
    who: str
    detail: str
    count: int = 1

    @property
    def action_words(self) -> str:
        return ACTIONS.get(self.action, self.action)

    @property
    def grouped(self) -> bool:
        return self.action == GROUPED


@dataclass(frozen=True)
class AuditPage:
    lines: list[AuditLine]
    number: int
    pages: int
    total: int  # lines, counting each hour of failed sign-ins once


def _hour(session: Session, column) -> ColumnElement:
    if session.get_bind().dialect.name == "postgresql":
        # In UTC whatever the session's time zone, as the page says.
        utc = func.timezone("UTC", column)
        return func.to_char(func.date_trunc("hour", utc), "YYYY-MM-DD HH24:00:00")
    return func.strftime("%Y-%m-%d %H:00:00", column)


def _conditions(chosen: AuditFilter) -> list:
    conditions = []
    if chosen.action:
        conditions.append(AuditEvent.action == chosen.action)
    if chosen.person:
        conditions.append(func.lower(AuditEvent.actor_email).contains(chosen.person.lower()))
    if chosen.since:
        start = dt.datetime.combine(chosen.since, dt.time(), tzinfo=dt.UTC)
        conditions.append(AuditEvent.occurred_at >= start)
    if chosen.until:
        end = dt.datetime.combine(chosen.until + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        conditions.append(AuditEvent.occurred_at < end)
    return conditions


def audit_page(session: Session, chosen: AuditFilter, number: int = 1) -> AuditPage:
    """Return one page of the log, newest first, failed sign-ins grouped by the hour."""
    conditions = _conditions(chosen)
    hour = _hour(session, AuditEvent.occurred_at)
    single = select(
        AuditEvent.id.label("id"),
        AuditEvent.occurred_at.label("at"),
        cast(null(), String).label("hour"),
        AuditEvent.action.label("action"),
        AuditEvent.actor_email.label("who"),
        AuditEvent.detail.label("detail"),
        literal_column("1", Integer).label("count"),
        literal_column("1", Integer).label("people"),
    ).where(AuditEvent.action != GROUPED, *conditions)
    grouped = (
        select(
            func.max(AuditEvent.id).label("id"),
            func.max(AuditEvent.occurred_at).label("at"),
            hour.label("hour"),
            literal_column(f"'{GROUPED}'", String).label("action"),
            func.min(AuditEvent.actor_email).label("who"),
            literal_column("''", String).label("detail"),
            func.count().label("count"),
            func.count(func.distinct(AuditEvent.actor_email)).label("people"),
        )
        .where(AuditEvent.action == GROUPED, *conditions)
        .group_by(hour)
    )
    lines = union_all(single, grouped).subquery()
    total = session.scalar(select(func.count()).select_from(lines)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(max(1, number), pages)
    rows = session.execute(
        select(lines)
        .order_by(lines.c.at.desc(), lines.c.id.desc())
        .limit(PAGE_SIZE)
        .offset((number - 1) * PAGE_SIZE)
    ).all()
    return AuditPage([_line(row) for row in rows], number, pages, total)


def _line(row) -> AuditLine:
    if row.action != GROUPED:
        return AuditLine(_utc(row.at), row.action, row.who or "", row.detail or "")
    start = dt.datetime.fromisoformat(row.hour).replace(tzinfo=dt.UTC)
    if row.count == 1:
        return AuditLine(_utc(row.at), row.action, row.who or "", "", 1)
    who = row.who if row.people == 1 else f"{row.people:,} email addresses"
    detail = f"{row.count:,} failed sign-ins between {start:%H:%M} and {start:%H}:59"
    return AuditLine(start, row.action, who or "", detail, row.count)


def _utc(value) -> dt.datetime:
    if isinstance(value, str):  # SQLite hands back text from a union
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
