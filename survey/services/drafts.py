"""Server-side drafts: a resident's answers in progress, keyed by a random cookie token."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from survey import clock
from survey.models import Draft, Link, SpentSubmissionToken
from survey.privacy import scrub_free_text
from survey.questionnaire.flow import prune_hidden
from survey.questionnaire.schema import TEXT_TYPES, Question, Questionnaire
from survey.services.links import link_by_code


def token_hash(token: str) -> str:
    """Hash a token so the database never holds one a browser could present."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_draft(
    session: Session,
    *,
    link: Link,
    version_id: int,
    language: str,
    ttl_seconds: int,
) -> str:
    """Create a draft for a resident and return the token for their cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        Draft(
            token_hash=token_hash(token),
            questionnaire_version_id=version_id,
            link_id=link.id,
            language=language,
            answers={},
            submit_token=secrets.token_urlsafe(24),
            expires_at=clock.now() + dt.timedelta(seconds=ttl_seconds),
        )
    )
    session.flush()
    return token


def find_link_and_draft(
    session: Session, code: str, token: str | None
) -> tuple[Link | None, Draft | None]:
    """Return the link with this code and the resident's unexpired draft for it.

    One query for both, since every question page needs both: (None, None) when there is
    no such link, (link, None) when the resident has no draft for it."""
    query = link_by_code(code)
    if query is None:
        return None, None
    if not token:
        return session.scalar(query), None
    draft_for_link = (Draft.token_hash == token_hash(token)) & (Draft.link_id == Link.id)
    row = session.execute(query.add_columns(Draft).outerjoin(Draft, draft_for_link)).first()
    if row is None:
        return None, None
    link, draft = row
    return link, None if draft is None or _expired(draft) else draft


def _expired(draft: Draft) -> bool:
    expires_at = draft.expires_at
    if expires_at.tzinfo is None:  # SQLite returns naive datetimes; they are stored as UTC
        expires_at = expires_at.replace(tzinfo=dt.UTC)
    return expires_at <= clock.now()


def record_answer(
    session: Session,
    draft: Draft,
    questionnaire: Questionnaire,
    question: Question,
    value: Any,
    *,
    ttl_seconds: int,
) -> None:
    """Record one answer in the draft, dropping answers the change hides."""
    if question.type in TEXT_TYPES and value is not None:
        value = scrub_free_text(value)
    answers = dict(draft.answers)
    answers[question.id] = value
    draft.answers = prune_hidden(questionnaire, answers)
    draft.expires_at = clock.now() + dt.timedelta(seconds=ttl_seconds)
    session.flush()


def discard_draft(session: Session, token: str | None) -> bool:
    """Delete the resident's draft now (they chose to leave or to clear their answers).

    Returns whether there was one."""
    if not token:
        return False
    result = session.execute(delete(Draft).where(Draft.token_hash == token_hash(token)))
    return bool(result.rowcount)


def purge_expired(session: Session, *, spent_token_days: int) -> tuple[int, int]:
    """Delete expired drafts and old spent submission tokens; return how many of each."""
    drafts = session.execute(delete(Draft).where(Draft.expires_at <= clock.now()))
    cutoff = clock.today() - dt.timedelta(days=spent_token_days)
    tokens = session.execute(
        delete(SpentSubmissionToken).where(SpentSubmissionToken.spent_on < cutoff)
    )
    return drafts.rowcount, tokens.rowcount
