"""The one bridge between the database and `analysis`.

Responses are aggregated in SQL (GROUP BY the analysis variables into counts of identical
respondents, with the sum of their record keys), so a report costs one query and work
proportional to the number of distinct cells, not the number of responses. The cells go
to `analysis.summarise`; every count a report shows goes through the publication gate.

A table of some of the responses (a period, some versions) can be subtracted from a wider
one on offer, so the same groups are counted outside it too (its complements), and a
group with a small count there is withheld.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import and_, func, not_, select
from sqlalchemy.orm import Session, aliased

from analysis import Proportion, RakingError, Summary, group_counts, summarise
from survey import clock
from survey.demographics import DEMOGRAPHICS
from survey.geography import PREFER_NOT_TO_SAY
from survey.models import Answer, Link, QuestionnaireVersion, Response
from survey.publication import Count, Gate
from survey.questionnaire import Indicator, Questionnaire
from survey.services.periods import ALL, Period, PeriodError, enclosing, parse_period
from survey.services.population import Figures
from survey.services.report_columns import (
    BREAKDOWNS,
    ColumnsError,
    cells_to_columns,
    raking_margins,
    value_labels,
)

__all__ = ["BREAKDOWNS", "NoResponses", "Report", "ReportError", "ReportRequest", "build_report"]


class ReportError(ValueError):
    """The report cannot be produced as asked; the message says why, in plain words."""


class NoResponses(ReportError):
    """Nothing to report yet: not the analyst's mistake."""


@dataclass(frozen=True)
class ReportRequest:
    indicator: str
    by: tuple[str, ...]
    versions: tuple[int, ...] = ()  # questionnaire_versions ids; empty means all
    period: str = "all"
    weighted: bool = True
    method: str | None = None
    confidence_level: float = 0.95
    # Include responses whose borough was taken from their link (stored before residents
    # on such links were asked) in borough breakdowns and weighting.
    link_boroughs: bool = False


@dataclass(frozen=True)
class Report:
    """A report as it may be published: estimates from `summary`, counts from `counts`.

    Every count here is a published `Count`; the summary's own row counts are true counts
    and never leave except through `counts`."""

    request: ReportRequest
    summary: Summary
    counts: dict[tuple[str, ...], Count]  # each row's published number of responses
    questionnaire: Questionnaire
    indicator: Indicator
    versions: list[tuple[int, int]]  # (id, version number)
    period_label: str
    labels: dict[str, dict[str, str]]
    figures: Figures | None
    margins: dict[str, dict[str, float]] | None
    respondents: Count
    outside_london: Count
    borough_from_link: Count  # responses left out because the link set their borough
    synthetic: Count
    has_synthetic: bool  # made-up demo responses are in it (they are nobody's)
    threshold: int
    complements: int  # wider tables this one was checked against
    generated_at: dt.datetime
    diagnostics: dict = field(default_factory=dict)


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
    session: Session, selection: Selection, columns: dict[str, str], *, language: bool = False
) -> list[tuple]:
    """Count respondents by the answers to the given questions, in one GROUP BY.

    `columns` maps an output name to a question id. Returns rows of whether the link set
    the borough, (the language, with `language`,) the answers (None where a response has
    no answer), the count, and the sum of the respondents' record keys.
    """
    joined = [Response.borough_from_link.label("borough_from_link")]
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


def _check(questionnaire: Questionnaire, request: ReportRequest, versions) -> tuple:
    indicator = questionnaire.indicator(request.indicator)
    if indicator is None:
        raise ReportError("Choose an indicator")
    if (
        not 1 <= len(request.by) <= 2
        or any(b not in BREAKDOWNS for b in request.by)
        or (len(set(request.by)) != len(request.by))
    ):
        raise ReportError("Choose one breakdown, or two different ones")
    try:
        period = parse_period(request.period)
    except PeriodError as error:
        raise ReportError(str(error)) from None
    chosen = [v for v in versions if not request.versions or v.id in request.versions]
    if not chosen:
        raise ReportError("Choose at least one questionnaire version")
    if not request.weighted and (period is not ALL or len(chosen) < len(versions)):
        raise ReportError(
            "Unweighted figures are published for all responses to all versions only: "
            "their exact percentages would let tables of overlapping periods or versions "
            "be subtracted. Choose weighted, or all responses"
        )
    return indicator, period, chosen


def build_report(
    session: Session,
    questionnaire: Questionnaire,
    request: ReportRequest,
    *,
    figures: Figures | None,
    gate: Gate,
) -> Report:
    """Aggregate, weight and summarise: everything an analyst page or download shows."""
    versions = available_versions(session, questionnaire.id)
    indicator, period, chosen = _check(questionnaire, request, versions)
    selection = Selection(tuple(v.id for v in chosen), period)
    all_versions = tuple(v.id for v in versions)
    proportion = Proportion("indicator", tuple(indicator.positive), tuple(indicator.exclude))

    def columns_for(wanted: Selection):
        rows = aggregate_cells(session, wanted, questions, language=by_language)
        return cells_to_columns(rows, names, questionnaire, leave_out_link_boroughs=leave_out)

    questions = {"indicator": indicator.question}
    for variable in DEMOGRAPHICS:
        question = (
            questionnaire.dimension_question(variable.dimension) if variable.dimension else None
        )
        if question is not None:
            questions[variable.name] = question.id
    by_language = "language" in request.by
    names = ["borough_from_link"] + (["language"] if by_language else []) + list(questions)
    leave_out = not request.link_boroughs and (request.weighted or "borough" in request.by)
    data, left_out = columns_for(selection)
    respondents = sum(data["count"])
    if respondents == 0:
        raise NoResponses("There are no responses for this choice of versions and period yet")

    complements = []
    for wider in _wider(selection, all_versions):
        outside, _ = columns_for(Selection(wider.version_ids, wider.period, selection))
        if sum(outside["count"]):
            complements.append(
                group_counts(outside, indicator=proportion, by=request.by, frequency="count")
            )

    margins, empty = None, {}
    if request.weighted:
        if figures is None:
            raise ReportError(
                "Weighted estimates need population figures; an admin can "
                "upload them. Choose unweighted for now"
            )
        try:
            margins, empty = raking_margins(figures, questionnaire, data)
        except ColumnsError as error:
            raise ReportError(str(error)) from None
    try:
        summary = summarise(
            data,
            indicator=proportion,
            by=request.by,
            frequency="count",
            keys="keys",
            margins=margins,
            method=request.method,
            confidence_level=request.confidence_level,
            min_cell=gate.threshold,
            complements=complements,
            hide_first=(PREFER_NOT_TO_SAY,),
        )
    except RakingError as error:
        raise ReportError(
            f"The responses cannot be weighted yet: {error}. Choose unweighted, or a longer period"
        ) from None
    except ValueError as error:
        raise ReportError(str(error)) from None
    synthetic, synthetic_keys = session.execute(
        select(func.count(), func.coalesce(func.sum(Response.record_key), 0))
        .select_from(Response)
        .join(Link, Link.id == Response.link_id)
        .where(Link.synthetic.is_(True), *selection.conditions())
    ).one()
    counts = {
        row.labels: gate.count(row.n, row.key_sum) if row.published else Count(None, gate.threshold)
        for row in summary.rows
    }
    return Report(
        request=request,
        summary=summary,
        counts=counts,
        questionnaire=questionnaire,
        indicator=indicator,
        versions=[(v.id, v.version) for v in chosen],
        period_label=period.label,
        labels=value_labels(questionnaire),
        figures=figures if request.weighted else None,
        margins=margins,
        respondents=gate.count(respondents, sum(data["keys"])),
        outside_london=gate.count(*_pair(left_out["outside_london"])),
        borough_from_link=gate.count(*_pair(left_out["borough_from_link"])),
        synthetic=gate.count(synthetic, synthetic_keys),
        has_synthetic=synthetic > 0,
        threshold=gate.threshold,
        complements=len(complements),
        generated_at=clock.now(),
        diagnostics={
            **_diagnostics(summary, data, gate),
            "empty_categories": empty,
            "margin_shares": _margin_shares(margins, data, gate) if margins else [],
        },
    )


@dataclass(frozen=True)
class MarginShare:
    """One category of a raking margin: its share of the population (the target) and of
    the responses before weighting, from counts published through the gate."""

    variable: str
    category: str
    target: float
    sample: float | None  # None: the category's count is hidden

    @property
    def factor(self) -> float | None:
        """How much weighting scales this category up (over 1) or down."""
        return None if not self.sample else self.target / self.sample


def _margin_shares(margins: dict, data: dict, gate: Gate) -> list[MarginShare]:
    shares = []
    for variable, targets in margins.items():
        counts: dict[str, int] = {}
        keys: dict[str, int] = {}
        for index, count in enumerate(data["count"]):
            category = str(data[variable][index])
            counts[category] = counts.get(category, 0) + int(count)
            keys[category] = keys.get(category, 0) + int(data["keys"][index])
        categories = list(targets)
        published, total = gate.table(
            categories,
            [counts.get(c, 0) for c in categories],
            [keys.get(c, 0) for c in categories],
        )
        population = sum(targets.values())
        for category, count in zip(categories, published, strict=True):
            sample = (
                count.value / total.value if count.shown and total.shown and total.value else None
            )
            shares.append(MarginShare(variable, category, targets[category] / population, sample))
    return shares


def _pair(left_out) -> tuple[int, int]:
    return left_out.respondents, left_out.key_sum


def _wider(selection: Selection, all_versions: tuple[int, ...]) -> list[Selection]:
    """The wider tables on offer that contain this one: all versions in the same period,
    and the same (or all) versions in each enclosing period."""
    version_sets = [selection.version_ids]
    if set(selection.version_ids) != set(all_versions):
        version_sets.append(all_versions)
    wider = [Selection(all_versions, selection.period)] if len(version_sets) > 1 else []
    for period in enclosing(selection.period):
        wider += [Selection(ids, period) for ids in version_sets]
    return wider


def _diagnostics(summary: Summary, data: dict, gate: Gate) -> dict:
    """What the weighting page shows, through the gate: the spread of the weights as
    percentiles over respondents (a largest weight would show a small cell's size), and
    design effects only for boroughs of at least the threshold."""
    raking = summary.raking
    if raking is None:
        return {}
    per_respondent = raking.cell_factor[raking.cell_of]
    counts = np.asarray(data["count"], dtype=float)
    order = np.argsort(per_respondent)
    cumulative = np.cumsum(counts[order]) / counts.sum()
    low = float(per_respondent[order][np.searchsorted(cumulative, 0.05)])
    high = float(per_respondent[order][np.searchsorted(cumulative, 0.95)])
    deff = {}
    if "borough" in raking.categories:
        sizes: dict[str, float] = {}
        for borough, count in zip(data["borough"], data["count"], strict=True):
            sizes[borough] = sizes.get(borough, 0) + count
        deff = {
            code: value
            for code, value in raking.kish_deff_by("borough").items()
            if sizes.get(code, 0) >= gate.threshold
        }
    return {
        "iterations": raking.iterations,
        "max_margin_error": raking.max_margin_error,
        "weight_p5": low,
        "weight_p95": high,
        "kish_deff": raking.kish_deff,
        "deff_by_borough": deff,
        "rescaled": raking.rescaled,
    }
