"""What every report shares: the requests' errors, the versions and periods chosen, and
the one query that aggregates responses into cells of identical respondents."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, not_, select
from sqlalchemy.orm import Session, aliased

from survey.demographics import DEMOGRAPHICS
from survey.models import Answer, Link, QuestionnaireVersion, Response
from survey.questionnaire import Indicator, Questionnaire
from survey.services.periods import ALL, Period


class ReportError(ValueError):
    """The report cannot be produced as asked; the message says why, in plain words."""


class NoResponses(ReportError):
    """Nothing to report yet: not the analyst's mistake."""


def available_versions(session: Session, questionnaire_id: str) -> list[QuestionnaireVersion]:
    return list(
        session.scalars(
            select(QuestionnaireVersion)
            .where(QuestionnaireVersion.questionnaire_id == questionnaire_id)
            .order_by(QuestionnaireVersion.version)
        )
    )


@dataclass(frozen=True)
class Selection:
    """Which responses a table counts: some versions, in a period, leaving out another
    selection (for a complement)."""

    version_ids: tuple[int, ...]
    period: Period = ALL
    leaving_out: Selection | None = None

    def conditions(self) -> list:
        where = [Response.questionnaire_version_id.in_(self.version_ids)]
        if self.period.start is not None:
            where.append(Response.submitted_on >= self.period.start)
        if self.period.end is not None:
            where.append(Response.submitted_on <= self.period.end)
        if self.leaving_out is not None:
            where.append(not_(and_(*self.leaving_out.conditions())))
        return where


def aggregate_cells(
    session: Session,
    selection: Selection,
    columns: dict[str, str],
    *,
    language: bool = False,
    months: bool = False,
) -> list[tuple]:
    """Count respondents by the answers to the given questions, in one GROUP BY.

    `columns` maps an output name to a question id. Returns rows of (with `months`, the
    year and month sent,) whether the link set the borough, (the language, with
    `language`,) the answers (None where a response has no answer), the count, and the
    sum of the respondents' record keys.
    """
    joined = []
    if months:
        joined += [
            func.extract("year", Response.submitted_on).label("year"),
            func.extract("month", Response.submitted_on).label("month"),
        ]
    joined.append(Response.borough_from_link.label("borough_from_link"))
    if language:
        joined.append(Response.language.label("language"))
    from_clause = Response.__table__
    for name, question_id in columns.items():
        answer = aliased(Answer, name=f"answer_{name}")
        from_clause = from_clause.outerjoin(
            answer, and_(answer.response_id == Response.id, answer.question_id == question_id)
        )
        joined.append(answer.value.label(name))
    query = select(
        *joined, func.count().label("respondents"), func.sum(Response.record_key).label("keys")
    ).select_from(from_clause)
    query = query.where(*selection.conditions()).group_by(*joined)
    return [tuple(row) for row in session.execute(query)]


def _questions(questionnaire: Questionnaire, indicator: Indicator) -> dict[str, str]:
    """The questions a table counts by: the indicator's, and each demographic's asked."""
    questions = {"indicator": indicator.question}
    for variable in DEMOGRAPHICS:
        question = (
            questionnaire.dimension_question(variable.dimension) if variable.dimension else None
        )
        if question is not None:
            questions[variable.name] = question.id
    return questions


def _synthetic(session: Session, selection: Selection) -> tuple[int, int]:
    """Made-up demo responses among those selected, and their record keys' sum."""
    return tuple(
        session.execute(
            select(func.count(), func.coalesce(func.sum(Response.record_key), 0))
            .select_from(Response)
            .join(Link, Link.id == Response.link_id)
            .where(Link.synthetic.is_(True), *selection.conditions())
        ).one()
    )
