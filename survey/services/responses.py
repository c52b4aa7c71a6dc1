"""Turn a finished draft into a stored response, exactly once."""

from __future__ import annotations

import datetime as dt
import enum
import hmac
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from survey import clock
from survey.models import (
    Answer,
    Draft,
    Response,
    SpentSubmissionToken,
    TextAnswer,
    random_response_id,
)
from survey.privacy import scrub_free_text
from survey.questionnaire.answers import AnswerError, clean_answer
from survey.questionnaire.flow import first_unanswered, prune_hidden, visible_questions
from survey.questionnaire.schema import TEXT_TYPES, Questionnaire
from survey.services.drafts import token_hash
from survey.services.links import count_completion


class Outcome(enum.Enum):
    STORED = "stored"
    ALREADY_STORED = "already_stored"
    STALE_FORM = "stale_form"
    INCOMPLETE = "incomplete"
    NO_DRAFT = "no_draft"
    LINK_FULL = "link_full"


@dataclass(frozen=True)
class SubmitResult:
    outcome: Outcome
    question_id: str | None = None  # the question to send the resident back to


def submission_already_stored(session: Session, submit_token: str) -> bool:
    """Say whether this one-time token has already stored a response."""
    return session.get(SpentSubmissionToken, token_hash(submit_token)) is not None


def submit_response(
    session: Session,
    draft: Draft | None,
    questionnaire: Questionnaire,
    *,
    submit_token: str,
) -> SubmitResult:
    """Store the draft as a response and delete the draft, or say why not.

    The spent token is inserted first: a concurrent duplicate fails on its primary key
    and the caller treats that as already stored.
    """
    if submit_token and submission_already_stored(session, submit_token):
        return SubmitResult(Outcome.ALREADY_STORED)
    if draft is None:
        return SubmitResult(Outcome.NO_DRAFT)
    if not hmac.compare_digest(submit_token.encode(), draft.submit_token.encode()):
        return SubmitResult(Outcome.STALE_FORM)
    answers = prune_hidden(questionnaire, draft.answers)
    missing = first_unanswered(questionnaire, answers)
    if missing is not None:
        return SubmitResult(Outcome.INCOMPLETE, missing.id)
    rows = _answer_rows(questionnaire, answers, draft.language)
    if isinstance(rows, SubmitResult):
        return rows

    link_id = draft.link_id
    # Core statements, not the ORM's unit of work: one INSERT per table, the answers as
    # one executemany, for the busiest write in the service.
    session.execute(
        insert(SpentSubmissionToken),
        {"token_hash": token_hash(submit_token), "spent_on": clock.today()},
    )
    response_id = random_response_id()
    session.execute(
        insert(Response),
        {
            "id": response_id,
            "questionnaire_version_id": draft.questionnaire_version_id,
            "link_id": link_id,
            "language": draft.language,
            "submitted_on": clock.today(),
        },
    )
    for table, values in rows.items():
        if values:
            session.execute(insert(table), [{"response_id": response_id, **v} for v in values])
    session.execute(delete(Draft).where(Draft.token_hash == draft.token_hash))
    session.expunge(draft)
    # Last, so the link's row (one row shared by every resident on that link) stays locked
    # only from here to the commit. The caller rolls back everything when the link is full.
    if not count_completion(session, link_id):
        return SubmitResult(Outcome.LINK_FULL)
    return SubmitResult(Outcome.STORED)


def _answer_rows(
    questionnaire: Questionnaire, answers: dict, language: str
) -> dict[type, list[dict]] | SubmitResult:
    """Check every stored answer again and build its rows, by table."""
    rows: dict[type, list[dict]] = {Answer: [], TextAnswer: []}
    for question in visible_questions(questionnaire, answers):
        if not question.answerable:
            continue
        value = answers.get(question.id)
        raw = value if isinstance(value, list) else ([] if value is None else [value])
        try:
            cleaned = clean_answer(question, raw, language)
        except AnswerError:
            return SubmitResult(Outcome.INCOMPLETE, question.id)
        if cleaned is None:
            continue
        if question.type in TEXT_TYPES:
            text = scrub_free_text(cleaned)
            rows[TextAnswer].append({"question_id": question.id, "text": text})
        else:
            values = cleaned if isinstance(cleaned, list) else [cleaned]
            rows[Answer].extend({"question_id": question.id, "value": v} for v in values)
    return rows


def first_response_date(session: Session) -> dt.date | None:
    """The day the first response was sent (None before any), so reports and coverage
    offer every calendar period that has responses."""
    return session.scalar(select(func.min(Response.submitted_on)))
