"""Coverage: which boroughs and groups the survey is reaching, against the population.

Counts below the suppression threshold are never shown, and shares are only given where
they cannot reveal a hidden count.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey.demographics import DEMOGRAPHICS, Demographic
from survey.models import Answer, QuestionnaireVersion, Response
from survey.privacy import display_count, suppress_counts
from survey.questionnaire import Questionnaire
from survey.services.population import NOT_POPULATION, Figures

UNDER_REPRESENTED = 0.8  # share of responses below 80% of the share of population


@dataclass(frozen=True)
class CoverageRow:
    category: str
    label: str
    count: str  # what staff see: a number, or "fewer than 10"
    hidden: bool
    response_share: float | None
    population_share: float | None
    ratio: float | None  # response share / population share
    under_represented: bool
    ratio_bound: float | None = None  # for a hidden count: the most its ratio can be


@dataclass(frozen=True)
class CoverageTable:
    dimension: str
    title: str
    rows: list[CoverageRow]
    total: str
    # Responses not counted in this table, shown as staff see counts: the borough table
    # leaves out responses whose link recorded its own borough instead of asking.
    left_out: str | None = None


@dataclass(frozen=True)
class Period:
    start: dt.date | None
    end: dt.date | None
    label: str


def period_choices(today: dt.date) -> list[tuple[str, str]]:
    """The periods an officer can choose: all time, the last 30 days, recent months."""
    choices = [("all", "All responses"), ("30-days", "Last 30 days")]
    month = today.replace(day=1)
    for _ in range(12):
        choices.append((month.strftime("%Y-%m"), month.strftime("%B %Y")))
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return choices


def parse_period(value: str | None, today: dt.date) -> tuple[str, Period]:
    """Turn a period choice into dates; anything unrecognised means all time."""
    choices = dict(period_choices(today))
    if value not in choices or value == "all":
        return "all", Period(None, None, choices["all"])
    if value == "30-days":
        return value, Period(today - dt.timedelta(days=29), today, choices[value])
    year, month = (int(part) for part in value.split("-"))
    start = dt.date(year, month, 1)
    end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return value, Period(start, end, choices[value])


def coverage(
    session: Session,
    questionnaire: Questionnaire,
    period: Period,
    figures: Figures | None,
    threshold: int,
) -> list[CoverageTable]:
    """Build a coverage table for each demographic dimension the questionnaire asks."""
    tables = []
    version_ids = select(QuestionnaireVersion.id).where(
        QuestionnaireVersion.questionnaire_id == questionnaire.id
    )
    for variable in DEMOGRAPHICS:
        if not variable.coverage:
            continue
        dimension, title = variable.source, variable.label
        question = questionnaire.dimension_question(dimension)
        if question is None:
            continue
        query = (
            select(Answer.value, func.count())
            .join(Response, Response.id == Answer.response_id)
            .where(
                Answer.question_id == question.id,
                Response.questionnaire_version_id.in_(version_ids),
            )
            .group_by(Answer.value)
        )
        if period.start is not None:
            query = query.where(Response.submitted_on >= period.start)
        if period.end is not None:
            query = query.where(Response.submitted_on <= period.end)
        left_out = None
        if dimension == "borough":
            # Where the link was used, not where the resident lives: not counted.
            from_link = (
                query.with_only_columns(func.count())
                .where(Response.borough_from_link.is_(True))
                .group_by(None)
            )
            left_out = session.scalar(from_link) or 0
            query = query.where(Response.borough_from_link.is_(False))
        counts = dict(session.execute(query).all())
        population = (figures.values.get(dimension) if figures else None) or {}
        categories = [(o.value, o.label.get(), o.group) for o in question.options]
        if variable.grouped:
            categories, counts, population = _grouped(variable, categories, counts, population)
        table = _table(dimension, title, categories, counts, population, threshold)
        if left_out:
            table = replace(table, left_out=display_count(left_out, threshold))
        tables.append(table)
    return tables


def _grouped(variable: Demographic, categories, counts, population):
    """Add the detailed categories up into their groups (the five 2021 Census ethnic
    groups)."""
    grouped_counts: dict[str, int] = {}
    grouped_population: dict[str, int] = {}
    grouped = []
    for value, label, group in categories:
        key = group or value
        if key not in grouped_counts:
            grouped.append((key, variable.group_labels.get(key, label), None))
            grouped_counts[key] = 0
        grouped_counts[key] += counts.get(value, 0)
        if value in population:
            grouped_population[key] = grouped_population.get(key, 0) + population[value]
    return grouped, grouped_counts, grouped_population


def _table(dimension, title, categories, counts, population, threshold) -> CoverageTable:
    values = [counts.get(value, 0) for value, _, _ in categories]
    hidden = suppress_counts(values, threshold)
    in_population = [value not in NOT_POPULATION for value, _, _ in categories]
    answered = sum(v for v, inside in zip(values, in_population, strict=True) if inside)
    population_total = sum(population.values())
    rows = []
    for (value, label, _), count, secret, inside in zip(
        categories, values, hidden, in_population, strict=True
    ):
        pop_share = (
            population.get(value, 0) / population_total
            if (inside and population_total and value in population)
            else None
        )
        response_share = None if secret or not answered or not inside else count / answered
        ratio = bound = None
        under = False
        if pop_share:
            if response_share is not None:
                ratio = response_share / pop_share
                under = ratio < UNDER_REPRESENTED
            elif answered and count < threshold:
                # Fewer than the threshold: the shown bound alone says it is under-represented.
                bound = (threshold - 1) / answered / pop_share
                under = bound < UNDER_REPRESENTED
        shown = _hidden_label(count, threshold) if secret else display_count(count, threshold)
        rows.append(
            CoverageRow(value, label, shown, secret, response_share, pop_share, ratio, under, bound)
        )
    total = sum(values)
    return CoverageTable(dimension, title, rows, display_count(total, threshold))


def _hidden_label(count: int, threshold: int) -> str:
    """Small counts say so; counts hidden only to protect another say "not shown"."""
    return display_count(count, threshold) if count < threshold else "not shown"


def most_under_represented(
    tables: list[CoverageTable], limit: int = 5
) -> list[tuple[str, CoverageRow]]:
    """Return the groups furthest below their share of the population, worst first.

    A hidden count is ranked by the most its ratio could be, so ranking reveals no count.
    """
    candidates = [(t.title, r) for t in tables for r in t.rows if r.under_represented]

    def worst(item: tuple[str, CoverageRow]) -> float:
        row = item[1]
        return row.ratio if row.ratio is not None else row.ratio_bound or 0.0

    return sorted(candidates, key=worst)[:limit]
