"""Distribution links: create them, find them, and say whether residents may use them."""

from __future__ import annotations

import datetime as dt
import enum
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from survey import clock
from survey.models import Link, Response, StaffUser

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$")
# No 0/o, 1/l/i: codes are read off posters and typed on phones.
CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
CODE_LENGTH = 7
RESERVED_SLUGS = frozenset({"demo", "admin", "staff", "static", "new", "start"})

CHANNELS = {
    "event": "Event",
    "poster": "Poster or leaflet",
    "social": "Social media",
    "partner": "Partner organisation",
    "other": "Other",
}
MAX_CAP = 1_000_000


class LinkState(enum.Enum):
    OPEN = "open"
    NOT_YET_OPEN = "not_yet_open"
    CLOSED = "closed"
    FULL = "full"  # it reached its most responses


STATE_WORDS = {
    "open": "Open",
    "not_yet_open": "Not open yet",
    "closed": "Closed",
    "full": "Full",
}


class LinkError(ValueError):
    """The link cannot be created as asked; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NewLink:
    label: str
    channel: str
    distribution_borough: str | None
    opens_on: dt.date | None
    closes_on: dt.date | None
    cap: int | None
    slug: str | None
    one_per_browser: bool


def find_link(session: Session, code: str) -> Link | None:
    """Return the link with this code (any case), or None; malformed codes never query."""
    query = link_by_code(code)
    return None if query is None else session.scalar(query)


def find_link_id(session: Session, code: str) -> int | None:
    """Return the id of the link with this code (any case), or None."""
    query = link_by_code(code)
    return None if query is None else session.scalar(query.with_only_columns(Link.id))


def link_by_code(code: str) -> Select | None:
    """The query for the link with this code (any case); None for a malformed code."""
    code = code.lower()
    if not CODE_PATTERN.match(code):
        return None
    return select(Link).where(Link.code == code)


def link_state(link: Link, today: dt.date) -> LinkState:
    """Say whether the link accepts responses on this date."""
    if link.closed or (link.closes_on is not None and today > link.closes_on):
        return LinkState.CLOSED
    if link.cap is not None and link.completed_count >= link.cap:
        return LinkState.FULL
    if link.opens_on is not None and today < link.opens_on:
        return LinkState.NOT_YET_OPEN
    return LinkState.OPEN


def count_completion(session: Session, link_id: int) -> bool:
    """Count one completed response against the link's cap, atomically.

    Returns False, counting nothing, when the cap is already reached: concurrent
    submissions cannot overshoot it because the check and the increment are one statement.
    """
    result = session.execute(
        update(Link)
        .where(Link.id == link_id, (Link.cap.is_(None)) | (Link.completed_count < Link.cap))
        .values(completed_count=Link.completed_count + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def create_link(session: Session, owner: StaffUser, questionnaire_id: str, new: NewLink) -> Link:
    """Create a link with a random readable code, or the officer's own slug if free."""
    if new.closes_on and new.opens_on and new.closes_on < new.opens_on:
        raise LinkError("closes_on", "The close date must be on or after the open date")
    if new.slug:
        slug = new.slug.lower()
        if not SLUG_PATTERN.match(slug):
            raise LinkError(
                "slug",
                "A custom address must be 3 to 40 lower-case letters, "
                "digits or hyphens, starting and ending with a letter "
                "or digit",
            )
        if slug in RESERVED_SLUGS or find_link(session, slug) is not None:
            raise LinkError("slug", "That custom address is already taken. Choose another")
        code = slug
    else:
        code = _unused_code(session)
    link = Link(
        code=code,
        label=new.label,
        questionnaire_id=questionnaire_id,
        channel=new.channel,
        distribution_borough=new.distribution_borough,
        opens_on=new.opens_on,
        closes_on=new.closes_on,
        cap=new.cap,
        one_per_browser=new.one_per_browser,
        created_by=owner.id,
        created_on=clock.today(),
        closed=False,
        completed_count=0,
    )
    session.add(link)
    session.flush()
    return link


def _unused_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if find_link(session, code) is None:
            return code


def links_for(session: Session, user: StaffUser) -> list[Link]:
    """Officers see their own links; admins see every link."""
    query = select(Link).order_by(Link.id.desc())
    if user.role != "admin":
        query = query.where(Link.created_by == user.id)
    return list(session.scalars(query))


def link_for(session: Session, user: StaffUser, link_id: int) -> Link | None:
    """Return the link if this member of staff may see it, else None."""
    link = session.get(Link, link_id)
    if link is None or (user.role != "admin" and link.created_by != user.id):
        return None
    return link


def close_link(link: Link) -> None:
    link.closed = True


def reopen_link(link: Link) -> None:
    """Undo closing: the link takes responses again unless its dates or cap say not."""
    link.closed = False


def completed_responses(session: Session, link_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Return completed responses per link and the sum of their record keys (counts only,
    never answers), for the publication gate."""
    if not link_ids:
        return {}
    rows = session.execute(
        select(Response.link_id, func.count(), func.coalesce(func.sum(Response.record_key), 0))
        .where(Response.link_id.in_(link_ids))
        .group_by(Response.link_id)
    )
    counts = dict.fromkeys(link_ids, (0, 0))
    counts.update({link_id: (count, keys) for link_id, count, keys in rows})
    return counts


def create_demo_link(session: Session, questionnaire_id: str) -> Link:
    """Return the demo link for local use, creating it the first time."""
    link = find_link(session, "demo")
    if link is None:
        link = Link(
            code="demo",
            label="Demo link for trying the survey locally",
            questionnaire_id=questionnaire_id,
            channel="other",
            closed=False,
            completed_count=0,
            one_per_browser=False,
            created_on=clock.today(),
        )
        session.add(link)
        session.flush()
    return link
