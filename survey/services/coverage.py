"""Coverage: which boroughs and groups the survey is reaching, against the population.

Every count goes through the publication gate: small counts are hidden, the rest are
perturbed, and shares are worked out from the published counts. Periods are calendar
months, quarters and years; a period's table is checked against the wider periods on
offer, so subtracting one from another shows nobody.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import and_, func, not_, select
from sqlalchemy.orm import Session

from survey.demographics import DEMOGRAPHICS, Demographic
from survey.geography import PREFER_NOT_TO_SAY
from survey.models import Answer, QuestionnaireVersion, Response
from survey.publication import Count, Gate
from survey.questionnaire import Questionnaire
from survey.services.periods import Period, enclosing
from survey.services.population import NOT_POPULATION, Figures, borough_population

UNDER_REPRESENTED = 0.8  # share of responses below 80% of the share of population


@dataclass(frozen=True)
class CoverageRow:
    category: str
    label: str
    count: Count  # what staff see: a perturbed number, or hidden
    response_share: float | None
    population_share: float | None
    ratio: float | None  # response share / population share
    under_represented: bool
    ratio_bound: float | None = None  # for a small hidden count: the most its ratio can be

    @property
    def hidden(self) -> bool:
        return not self.count.shown


@dataclass(frozen=True)
class CoverageTable:
    dimension: str
    title: str
    rows: list[CoverageRow]
    total: Count
    # Responses not counted in this table: the borough table leaves out responses whose
    # link recorded its own borough instead of asking.
    left_out: Count | None = None


def in_period(period: Period) -> list:
    """Conditions for responses sent in the period."""
    where = []
    if period.start is not None:
        where.append(Response.submitted_on >= period.start)
    if period.end is not None:
        where.append(Response.submitted_on <= period.end)
    return where


def _counts(session, question_id, version_ids, where, *, from_link: bool | None = False):
    """Respondents and their record-key sum for each answer to one question."""
    query = (
        select(Answer.value, func.count(), func.coalesce(func.sum(Response.record_key), 0))
        .join(Response, Response.id == Answer.response_id)
        .where(
            Answer.question_id == question_id,
            Response.questionnaire_version_id.in_(version_ids),
            *where,
        )
        .group_by(Answer.value)
    )
    if from_link is not None:
        query = query.where(Response.borough_from_link.is_(from_link))
    return {value: (count, keys) for value, count, keys in session.execute(query)}


def coverage(
    session: Session,
    questionnaire: Questionnaire,
    period: Period,
    figures: Figures | None,
    gate: Gate,
) -> list[CoverageTable]:
    """Build a coverage table for each coverage variable of the demographic register."""
    tables = []
    version_ids = select(QuestionnaireVersion.id).where(
        QuestionnaireVersion.questionnaire_id == questionnaire.id
    )
    for variable in DEMOGRAPHICS:
        if not variable.coverage:
            continue
        question = questionnaire.dimension_question(variable.source)
        if question is None:
            continue
        # Where a link recorded the borough it was used in, it is not the resident's.
        from_link = False if variable.name == "borough" else None
        counts = _counts(session, question.id, version_ids, in_period(period), from_link=from_link)
        complements = [
            _counts(
                session,
                question.id,
                version_ids,
                [*in_period(wider), not_(and_(*in_period(period)))],
                from_link=from_link,
            )
            for wider in (enclosing(period) if gate.needs_complements else ())
        ]
        population = (figures.values.get(variable.source) if figures else None) or {}
        categories = [(o.value, o.label.get(), o.group) for o in question.options]
        if variable.grouped:
            categories, counts, population, complements = _grouped(
                variable, categories, counts, population, complements
            )
        left_out = None
        if variable.name == "borough":
            linked = _counts(session, question.id, version_ids, in_period(period), from_link=True)
            respondents = sum(c for c, _ in linked.values())
            if respondents:
                left_out = gate.count(respondents, sum(k for _, k in linked.values()))
        table = _table(variable, categories, counts, population, complements, gate)
        tables.append(replace(table, left_out=left_out))
    return tables


def _grouped(variable: Demographic, categories, counts, population, complements):
    """Add the detailed categories up into their groups (the five 2021 Census ethnic
    groups), counts and record keys alike."""

    def add_up(detailed: dict) -> dict:
        grouped: dict[str, tuple[int, int]] = {}
        for value, _, group in categories:
            count, keys = detailed.get(value, (0, 0))
            total = grouped.get(group or value, (0, 0))
            grouped[group or value] = (total[0] + count, total[1] + keys)
        return grouped

    grouped_population: dict[str, int] = {}
    grouped = []
    for value, label, group in categories:
        key = group or value
        if key not in (g[0] for g in grouped):
            grouped.append((key, variable.group_labels.get(key, label), None))
        if value in population:
            grouped_population[key] = grouped_population.get(key, 0) + population[value]
    return grouped, add_up(counts), grouped_population, [add_up(c) for c in complements]


def outside_counts(labels, complements: list[dict]) -> list[dict[tuple, int]]:
    """For `Gate.table`: each group's respondents outside this table (another period,
    everyone else) and their total, from {label: (respondents, key sum)} per selection."""
    return [
        {(str(label),): outside.get(label, (0, 0))[0] for label in labels}
        | {("All",): sum(count for count, _ in outside.values())}
        for outside in complements
    ]


def _table(variable, categories, counts, population, complements, gate: Gate) -> CoverageTable:
    values = [counts.get(value, (0, 0)) for value, _, _ in categories]
    parts, total = gate.table(
        [value for value, _, _ in categories],
        [count for count, _ in values],
        [keys for _, keys in values],
        hide_first=(PREFER_NOT_TO_SAY,),
        complements=outside_counts([value for value, _, _ in categories], complements),
    )
    in_population = [value not in NOT_POPULATION for value, _, _ in categories]
    # Shares of the published number of responses that count towards the population (a
    # perturbed count of its own), never of the parts shown: a hidden group neither makes
    # the others' shares add up to 100% nor shows through them.
    counted = [v for v, inside in zip(values, in_population, strict=True) if inside]
    answered = gate.count(sum(c for c, _ in counted), sum(k for _, k in counted)).value
    population_total = sum(population.values())
    rows = []
    for (value, label, _), part, inside in zip(categories, parts, in_population, strict=True):
        pop_share = (
            population.get(value, 0) / population_total
            if (inside and population_total and value in population)
            else None
        )
        response_share = part.value / answered if part.shown and answered and inside else None
        ratio = bound = None
        under = False
        if pop_share:
            if response_share is not None:
                ratio = response_share / pop_share
                under = ratio < UNDER_REPRESENTED
            elif answered and part.small:
                # Fewer than the threshold: the shown bound alone says it is under-represented.
                bound = (gate.threshold - 1) / answered / pop_share
                under = bound < UNDER_REPRESENTED
        rows.append(CoverageRow(value, label, part, response_share, pop_share, ratio, under, bound))
    return CoverageTable(variable.name, variable.label, rows, total)


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


# --- within a borough, and through one link -------------------------------------------------


class Where:
    """Conditions for `reporting.aggregate_cells`: responses to these versions, in a period,
    and any more conditions (one link, outside a period)."""

    def __init__(self, *conditions) -> None:
        self._conditions = list(conditions)

    def conditions(self) -> list:
        return self._conditions


def of_questionnaire(questionnaire: Questionnaire):
    """Responses to any version of the questionnaire."""
    return Response.questionnaire_version_id.in_(
        select(QuestionnaireVersion.id).where(
            QuestionnaireVersion.questionnaire_id == questionnaire.id
        )
    )


BOROUGH_COVERAGE = ("age_band", "sex", "ethnic_group")  # the groups compared within a borough


def _by_answer(rows, position: int, keep) -> dict[str, tuple[int, int]]:
    """Respondents and record-key sums by the answer in `position`, for rows `keep` takes."""
    counts: dict[str, tuple[int, int]] = {}
    for row in rows:
        if not keep(row):
            continue
        value = row[position]
        count, keys = counts.get(value, (0, 0))
        counts[value] = (count + int(row[-2]), keys + int(row[-1] or 0))
    return counts


def _group_tables(
    session,
    questionnaire: Questionnaire,
    where: list,
    outside: list[list],
    keep,
    population_for,
    gate: Gate,
) -> list[CoverageTable]:
    """A coverage table for each of BOROUGH_COVERAGE among the responses `where` selects
    and `keep` keeps (by their borough answer), checked against the same groups in each
    `outside` selection."""
    from survey.services.reporting import aggregate_cells

    borough_question = questionnaire.dimension_question("borough")
    tables = []
    for name in BOROUGH_COVERAGE:
        variable = next(d for d in DEMOGRAPHICS if d.name == name)
        question = questionnaire.dimension_question(variable.source)
        if question is None or borough_question is None:
            continue
        columns = {"borough": borough_question.id, "value": question.id}
        rows = aggregate_cells(session, Where(*where), columns)
        counts = _by_answer(rows, 2, keep)
        complements = [
            _by_answer(aggregate_cells(session, Where(*other), columns), 2, keep)
            for other in (outside if gate.needs_complements else ())
        ]
        population = population_for(variable.source)
        categories = [(o.value, o.label.get(), o.group) for o in question.options]
        if variable.grouped:
            categories, counts, population, complements = _grouped(
                variable, categories, counts, population, complements
            )
        tables.append(_table(variable, categories, counts, population, complements, gate))
    return tables


def borough_coverage(
    session: Session,
    questionnaire: Questionnaire,
    borough: str,
    period: Period,
    figures: Figures | None,
    gate: Gate,
) -> list[CoverageTable]:
    """Residents of one borough by age band, sex and ethnic group, against its people."""
    base = [of_questionnaire(questionnaire), Response.borough_from_link.is_(False)]
    outside = [
        [*base, *in_period(wider), not_(and_(*in_period(period)))] for wider in enclosing(period)
    ]
    return _group_tables(
        session,
        questionnaire,
        [*base, *in_period(period)],
        outside,
        lambda row: row[1] == borough,
        lambda source: borough_population(figures, borough, source),
        gate,
    )


@dataclass(frozen=True)
class LinkCoverage:
    months: list[tuple[str, Count]]  # ("2026-11", completed responses that month)
    total: Count
    mix: list[CoverageTable]  # its respondents by age band, sex, ethnic group
    against: str  # whose population the mix is compared with, in words
    synthetic: bool


def link_coverage(
    session: Session,
    questionnaire: Questionnaire,
    link,
    figures: Figures | None,
    gate: Gate,
    borough_name: str | None,
) -> LinkCoverage:
    """A link's completed responses by month, and who answered through it against the
    people of the borough it is used in (London's, when it is not tied to one). Each
    table is checked against the same groups among everyone else's responses."""
    from survey.services.reporting import aggregate_cells

    mine = Response.link_id == link.id
    others = [of_questionnaire(questionnaire), Response.link_id != link.id]
    by_month = _by_month(
        aggregate_cells(session, Where(of_questionnaire(questionnaire), mine), {}, months=True)
    )
    rest = _by_month(aggregate_cells(session, Where(*others), {}, months=True))
    months = _months_between(min(by_month), max(by_month)) if by_month else []
    parts, total = gate.table(
        months,
        [by_month.get(m, (0, 0))[0] for m in months],
        [by_month.get(m, (0, 0))[1] for m in months],
        complements=outside_counts(months, [rest]),
    )
    borough = link.distribution_borough

    def population_for(source: str) -> dict[str, int]:
        if borough:
            return borough_population(figures, borough, source)
        return (figures.values.get(source) if figures else None) or {}

    mix = _group_tables(
        session,
        questionnaire,
        [of_questionnaire(questionnaire), mine],
        [others],
        lambda row: True,
        population_for,
        gate,
    )
    return LinkCoverage(
        months=list(zip(months, parts, strict=True)),
        total=total,
        mix=mix,
        against=f"{borough_name}'s people" if borough else "London's people",
        synthetic=bool(link.synthetic),
    )


def _by_month(rows) -> dict[str, tuple[int, int]]:
    """Respondents and record-key sums by month ("2026-11") from `aggregate_cells` rows."""
    found: dict[str, tuple[int, int]] = {}
    for year, month, *_rest, count, keys in rows:
        key = f"{int(year)}-{int(month):02d}"
        before = found.get(key, (0, 0))
        found[key] = (before[0] + int(count), before[1] + int(keys or 0))
    return found


def _months_between(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:])
    months = []
    while f"{year}-{month:02d}" <= last:
        months.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def synthetic_responses(session: Session, questionnaire: Questionnaire, period: Period, gate):
    """Made-up demo responses in the period, through the gate (None when there are none)."""
    from survey.models import Link

    count, keys = session.execute(
        select(func.count(), func.coalesce(func.sum(Response.record_key), 0))
        .join(Link, Link.id == Response.link_id)
        .where(Link.synthetic.is_(True), of_questionnaire(questionnaire), *in_period(period))
    ).one()
    return gate.count(count, keys) if count else None
