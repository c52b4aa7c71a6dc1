"""Distribution links: find one and say whether residents may use it today."""

from __future__ import annotations

import datetime as dt
import enum
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.models import Link

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class LinkState(enum.Enum):
    OPEN = "open"
    NOT_YET_OPEN = "not_yet_open"
    CLOSED = "closed"


def find_link(session: Session, code: str) -> Link | None:
    """Return the link with this code, or None; malformed codes never reach the query."""
    if not CODE_PATTERN.match(code):
        return None
    return session.scalar(select(Link).where(Link.code == code))


def link_state(link: Link, today: dt.date) -> LinkState:
    """Say whether the link accepts responses on this date."""
    if link.closed or (link.closes_on is not None and today > link.closes_on):
        return LinkState.CLOSED
    if link.opens_on is not None and today < link.opens_on:
        return LinkState.NOT_YET_OPEN
    return LinkState.OPEN


def create_demo_link(session: Session, questionnaire_id: str) -> Link:
    """Return the demo link for local use, creating it the first time."""
    link = find_link(session, "demo")
    if link is None:
        link = Link(
            code="demo",
            label="Demo link for trying the survey locally",
            questionnaire_id=questionnaire_id,
        )
        session.add(link)
        session.flush()
    return link
