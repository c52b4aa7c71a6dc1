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
from scipy import stats
from sqlalchemy import and_, func, not_, select
from sqlalchemy.orm import Session, aliased

from analysis import Proportion, RakingError, Summary, group_counts, summarise
from analysis.disclosure import complementary_suppression, primary_suppression
from analysis.regression import SeparationError, survey_logistic
from analysis.small_area import arcsine, back_transform, benchmark, fay_herriot
from analysis.trends import (
    Change,
    PeriodEstimate,
    TrendDesign,
    Window,
    quarters_between,
    rolling_windows,
)
from survey import clock
from survey.demographics import DEMOGRAPHICS
from survey.geography import BOROUGH_NAMES, OUTSIDE_LONDON, PREFER_NOT_TO_SAY
from survey.models import Answer, Link, QuestionnaireVersion, Response
from survey.publication import Count, Gate
from survey.questionnaire import Indicator, Questionnaire
from survey.services.periods import ALL, Period, PeriodError, enclosing, parse_period
from survey.services.population import Figures
from survey.services.questionnaires import questionnaire_for
from survey.services.report_columns import (
    BREAKDOWNS,
    ColumnsError,
    cells_to_columns,
    raking_margins,
    value_labels,
)

__all__ = [
    "BREAKDOWNS",
    "NoResponses",
    "Report",
    "ReportError",
    "ReportRequest",
    "Trend",
    "TrendRequest",
    "build_report",
    "build_trend",
]


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
    # Two-way tables: responses that did not state one of the breakdowns (one line, not a
    # row and a column of the table); None for a one-way table, where it is a row.
    not_stated: Count | None
    keyed: bool  # the gate's table draws its noise by the cell key (no subtraction rules)
    synthetic: Count
    has_synthetic: bool  # made-up demo responses are in it (they are nobody's)
    threshold: int
    complements: int  # wider tables this one was checked against
    generated_at: dt.datetime
    diagnostics: dict = field(default_factory=dict)
    modelled: Modelled | None = None  # borough breakdowns, weighted: Fay-Herriot estimates


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

    questions = _questions(questionnaire, indicator)
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
            margins, empty = raking_margins(figures, questionnaire, data, gate)
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
            ptable=gate.ptable,
            leave_out=(PREFER_NOT_TO_SAY,) if len(request.by) == 2 else (),
            # Staff see a low-reliability estimate with its interval, flagged [u]; public
            # releases hide it and say why.
            withhold_unreliable=False,
        )
    except RakingError as error:
        raise ReportError(
            f"The responses cannot be weighted yet: {error}. Choose unweighted, or a longer period"
        ) from None
    except ValueError as error:
        raise ReportError(str(error)) from None
    synthetic, synthetic_keys = _synthetic(session, selection)
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
        not_stated=_not_stated(data, request.by, gate) if len(request.by) == 2 else None,
        keyed=gate.ptable.draws_by_key,
        synthetic=gate.count(synthetic, synthetic_keys),
        has_synthetic=synthetic > 0,
        threshold=gate.threshold,
        complements=len(complements),
        generated_at=clock.now(),
        modelled=_modelled(summary, margins) if request.by == ("borough",) and margins else None,
        diagnostics={
            **_diagnostics(summary, data, gate),
            "empty_categories": empty,
            "margin_shares": _margin_shares(margins, data, gate) if margins else [],
        },
    )


@dataclass(frozen=True)
class ModelledArea:
    code: str
    estimate: float  # the benchmarked EBLUP, a proportion
    low: float
    high: float
    shrinkage: float  # how far towards the model's prediction, from 0 (direct) to 1


@dataclass(frozen=True)
class Modelled:
    """Borough estimates from the Fay-Herriot model, beside the direct ones: fitted on the
    arcsine scale to the boroughs whose direct estimate is published, intercept only, by
    REML; benchmarked so that, weighted by population, they give London's direct estimate."""

    areas: dict[str, ModelledArea]
    variance: float  # of the borough effects, on the arcsine scale
    benchmark_factor: float
    confidence_level: float


MIN_AREAS = 5  # fewer published boroughs than this leave the model nothing to borrow from


def _modelled(summary: Summary, margins: dict) -> Modelled | None:
    rows = [
        r
        for r in summary.rows
        if not r.is_overall
        and r.estimate is not None
        and r.n_eff
        and r.labels[0] in margins["borough"]
    ]
    overall = next((r for r in summary.rows if r.is_overall), None)
    if len(rows) < MIN_AREAS or overall is None or overall.estimate is None:
        return None
    theta, variance = arcsine([r.estimate for r in rows], [r.n_eff for r in rows])
    fit = fay_herriot(theta, variance, method="reml")
    level = summary.confidence_level
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    spread = np.sqrt(fit.mse)
    estimate = back_transform(fit.eblup, fit.mse)
    low = np.sin(np.clip(fit.eblup - z * spread, 0, np.pi / 2)) ** 2
    high = np.sin(np.clip(fit.eblup + z * spread, 0, np.pi / 2)) ** 2
    population = [margins["borough"][r.labels[0]] for r in rows]
    benchmarked, factor = benchmark(estimate, population, overall.estimate)
    areas = {
        r.labels[0]: ModelledArea(
            r.labels[0],
            float(b),
            float(lo * factor),
            float(min(hi * factor, 1.0)),
            float(k),
        )
        for r, b, lo, hi, k in zip(rows, benchmarked, low, high, fit.shrinkage, strict=True)
    }
    return Modelled(areas, fit.variance, float(factor), level)


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
    design effects only for boroughs whose count is published."""
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
        sizes: dict[str, list[int]] = {}
        for borough, count, keys in zip(data["borough"], data["count"], data["keys"], strict=True):
            found = sizes.setdefault(borough, [0, 0])
            found[0] += int(count)
            found[1] += int(keys)
        # Shown where the borough's count is published: the gate's rule, noise and all, so
        # the design effect does not appear at a fixed true count a planter could watch for.
        deff = {
            code: value
            for code, value in raking.kish_deff_by("borough").items()
            if gate.count(*sizes.get(code, (0, 0))).shown
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


# --- change over time -------------------------------------------------------------------

TREND_KINDS = {
    "quarter": "Quarters",
    "year": "Calendar years",
    "rolling": "Rolling years (four quarters)",
}


@dataclass(frozen=True)
class TrendRequest:
    indicator: str
    by: str | None = None  # one breakdown, or London as a whole
    kind: str = "quarter"  # a key of TREND_KINDS
    start: str | None = None  # the change shown: from this window ...
    end: str | None = None  # ... to this one; by default year on year
    confidence_level: float = 0.95
    link_boroughs: bool = False


@dataclass(frozen=True)
class TrendPoint:
    window: str  # "2026-Q2", "2026" or "year to 2026-Q2"
    label: str  # in words
    estimate: PeriodEstimate | None  # None: withheld
    withheld: str | None  # why, in words
    respondents: Count  # who answered in it, as published


@dataclass(frozen=True)
class TrendSeries:
    group: str  # the category's code ("All" for London)
    label: str
    points: list[TrendPoint]


@dataclass(frozen=True)
class TrendChange:
    """A change between two windows for one group, as published (None: withheld)."""

    group: str
    label: str
    start: TrendPoint
    end: TrendPoint
    change: Change | None
    withheld: str | None = None


@dataclass(frozen=True)
class Segment:
    """Versions whose indicator question and answers are the same: one unbroken line."""

    versions: tuple[int, ...]  # version numbers
    windows: list[tuple[str, str]]  # (name, label), in time order
    series: list[TrendSeries]  # London first, then each group
    unweighted: dict[str, str]  # period -> why it could not be weighted (left out)
    empty: dict[str, list[str]]  # period -> categories nobody in it belonged to
    breaks_because: str | None  # why the line breaks before this segment


@dataclass(frozen=True)
class Trend:
    request: TrendRequest
    questionnaire: Questionnaire
    indicator: Indicator
    kind: str
    segments: list[Segment]  # oldest first; changes are within the last
    start: str | None
    end: str | None
    changes: list[TrendChange]  # London first, then each group (adjusted together)
    adjust: str
    labels: dict[str, dict[str, str]]
    quarters: list[str]  # the response-count table's columns
    counts_by_borough: list[tuple[str, list[Count]]]  # (borough code, a Count per quarter)
    count_totals: list[Count]
    has_synthetic: bool
    threshold: int
    figures: Figures | None
    generated_at: dt.datetime


def window_label(name: str) -> str:
    """A window's name in words: "Q2 2026", "2026", "the year to Q2 2026"."""
    if name.startswith("year to "):
        return "year to " + window_label(name.removeprefix("year to "))
    if "-Q" in name:
        return f"Q{name[-1]} {name[:4]}"
    return name


def _quarter_of(year, month) -> str:
    return f"{int(year)}-Q{(int(month) - 1) // 3 + 1}"


def _signature(questionnaire: Questionnaire, indicator: Indicator) -> tuple | None:
    """What must stay the same for an indicator to mean the same in two versions."""
    mine = questionnaire.indicator(indicator.id)
    question = questionnaire.question(mine.question) if mine else None
    if mine is None or question is None:
        return None
    return (
        question.type,
        question.text.get(),
        tuple((o.value, o.label.get()) for o in question.all_options),
        tuple(sorted(mine.positive)),
        tuple(sorted(mine.exclude)),
    )


def _segments(indicator: Indicator, versions):
    """Runs of consecutive versions asking the indicator's question the same way, each
    with why it differs from the run before."""
    runs: list[tuple[list, str | None]] = []
    previous = None
    for version in versions:
        signature = _signature(questionnaire_for(version), indicator)
        if signature is None:
            previous = None
            continue
        if runs and signature == previous:
            runs[-1][0].append(version)
        else:
            why = None
            if runs:
                earlier = runs[-1][0][-1].version
                why = _what_changed(previous, signature, earlier, version.version)
            runs.append(([version], why))
        previous = signature
    return runs


def _what_changed(before: tuple, after: tuple, earlier: int, later: int) -> str:
    parts = ["type", "wording", "answer options", "answers counted as yes", "answers left out"]
    changed = [p for p, a, b in zip(parts, before, after, strict=True) if a != b]
    return (
        f"Version {later} changed the question's {' and '.join(changed)} from version "
        f"{earlier}, so the line breaks: figures either side are not comparable"
    )


def build_trend(
    session: Session,
    questionnaire: Questionnaire,
    request: TrendRequest,
    *,
    figures: Figures | None,
    gate: Gate,
) -> Trend:
    """Every period's estimate, overall and by group, each period raked on its own, and
    the change between two windows, all through the publication rules."""
    indicator = questionnaire.indicator(request.indicator)
    if indicator is None:
        raise ReportError("Choose an indicator")
    if request.kind not in TREND_KINDS:
        raise ReportError("Choose quarters, calendar years or rolling years")
    if request.by is not None and request.by not in BREAKDOWNS:
        raise ReportError("Choose a breakdown, or London as a whole")
    if figures is None:
        raise ReportError(
            "Trends are weighted, period by period: an admin must upload population figures"
        )
    versions = available_versions(session, questionnaire.id)
    runs = _segments(indicator, versions)
    if not runs:
        raise NoResponses("No version of the questionnaire asks this indicator's question")
    labels = value_labels(questionnaire)
    segments, designs = [], []
    for run, why in runs:
        made = _segment(session, questionnaire, indicator, request, run, why, figures, gate)
        if made is not None:
            segments.append(made[0])
            designs.append(made[1])
    if not segments:
        raise NoResponses("There are no responses to chart yet")
    last, design = segments[-1], designs[-1]
    names = [name for name, _ in last.windows]
    start, end = _default_change(request, names)
    changes = _changes(last, design, start, end, request) if start and end else []
    quarters, by_borough, totals = _count_trend(session, questionnaire, versions, gate, request)
    synthetic, _keys = _synthetic(session, Selection(tuple(v.id for v in versions)))
    return Trend(
        request=request,
        questionnaire=questionnaire,
        indicator=indicator,
        kind=request.kind,
        segments=segments,
        start=start,
        end=end,
        changes=changes,
        adjust="holm",
        labels=labels,
        quarters=quarters,
        counts_by_borough=by_borough,
        count_totals=totals,
        has_synthetic=bool(synthetic),
        threshold=gate.threshold,
        figures=figures,
        generated_at=clock.now(),
    )


def _segment(session, questionnaire, indicator, request, run, why, figures, gate):
    """One unbroken line: its design, estimates and their publication."""
    question_ids = _questions(questionnaire, indicator)
    by_language = request.by == "language"
    names = ["borough_from_link"] + (["language"] if by_language else []) + list(question_ids)
    rows = aggregate_cells(
        session,
        Selection(tuple(v.id for v in run)),
        question_ids,
        language=by_language,
        months=True,
    )
    by_period: dict[str, list] = {}
    for row in rows:
        year, month = row[0], row[1]
        period = str(int(year)) if request.kind == "year" else _quarter_of(year, month)
        by_period.setdefault(period, []).append(row[2:])
    leave_out = not request.link_boroughs
    data: dict[str, list] = {}
    margins_by_period, empty = {}, {}
    for period in sorted(by_period):
        columns, _left_out = cells_to_columns(
            by_period[period], names, questionnaire, leave_out_link_boroughs=leave_out
        )
        if not sum(columns["count"]):
            continue
        try:
            margins_by_period[period], missing = raking_margins(
                figures, questionnaire, columns, gate
            )
        except ColumnsError as error:
            raise ReportError(str(error)) from None
        empty[period] = sorted(
            labels for margin, categories in missing.items() for labels in categories if categories
        )
        for name, values in columns.items():
            data.setdefault(name, []).extend(values)
        data.setdefault("period", []).extend([period] * len(columns["count"]))
    if not data:
        return None
    first = next(iter(margins_by_period.values()))
    design = TrendDesign(
        data,
        indicator=Proportion("indicator", tuple(indicator.positive), tuple(indicator.exclude)),
        period="period",
        margins=first,
        period_margins=margins_by_period,
        by=request.by,
        frequency="count",
        keys="keys",
    )
    windows = _windows(request.kind, design.periods)
    respondents = _respondents(data, request.by, windows)
    labels = value_labels(questionnaire)
    # Residents who preferred not to say count in London's line, not in a line of their
    # own: a few a quarter tell readers nothing and used to cost the main groups' lines.
    stated = [g for g in design.groups if g != PREFER_NOT_TO_SAY] if request.by else []
    groups = [ALL_GROUPS, *stated]
    series = []
    withheld = _withheld_cells(design, windows, groups, respondents, gate)
    if not gate.ptable.draws_by_key:
        for key, reason in _outside_small(windows, groups, respondents, gate.threshold).items():
            withheld.setdefault(key, reason)
    found: dict[tuple[str, str], PeriodEstimate] = {}
    for window in windows:
        shown = [group for group in groups if (window.name, group) not in withheld]
        estimates = design.estimates(
            window, shown, confidence_level=request.confidence_level, ptable=gate.ptable
        )
        found.update({(window.name, e.group): e for e in estimates})
    for group in groups:
        name = "All" if group == ALL_GROUPS else group
        words = labels.get(request.by or "borough", {}).get(name, name)
        points = []
        for window in windows:
            true, keys = respondents.get((window.name, group), (0, 0))
            points.append(
                TrendPoint(
                    window.name,
                    window_label(window.name),
                    found.get((window.name, group)),
                    withheld.get((window.name, group)),
                    gate.count(true, keys),
                )
            )
        series.append(TrendSeries(name, "All of London" if name == "All" else words, points))
    segment = Segment(
        versions=tuple(v.version for v in run),
        windows=[(w.name, window_label(w.name)) for w in windows],
        series=series,
        unweighted=design.unweighted,
        empty={p: e for p, e in empty.items() if e},
        breaks_because=why,
    )
    return segment, (design, windows)


ALL_GROUPS = "All"


def _windows(kind: str, periods: tuple[str, ...]) -> list[Window]:
    if kind != "rolling":
        return [Window(p, (p,)) for p in periods]
    if not periods:
        return []
    every = quarters_between(periods[0], periods[-1])
    present = set(periods)
    return [w for w in rolling_windows(every) if set(w.periods) <= present]


def _respondents(data, by, windows) -> dict[tuple[str, str], tuple[int, int]]:
    """True respondents and record-key sums per (window, group), and per window for All;
    and per (period, group) for each period alone, keyed by a one-period window's name."""
    per_period: dict[tuple[str, str], list[int]] = {}
    for index, period in enumerate(data["period"]):
        count, keys = int(data["count"][index]), int(data["keys"][index])
        for group in (ALL_GROUPS, str(data[by][index]) if by else None):
            if group is None:
                continue
            found = per_period.setdefault((period, group), [0, 0])
            found[0] += count
            found[1] += keys
    totals: dict[tuple[str, str], tuple[int, int]] = {
        key: (count, keys) for key, (count, keys) in per_period.items()
    }
    for window in windows:
        if window.periods == (window.name,):
            continue
        for (period, group), (count, keys) in per_period.items():
            if period in window.periods:
                before = totals.get((window.name, group), (0, 0))
                totals[window.name, group] = (before[0] + count, before[1] + keys)
    return totals


def _outside_small(windows, groups, respondents, threshold) -> dict[tuple[str, str], str]:
    """A window's group is withheld where the same group outside it, within a wider table
    on offer (the quarter's year; all the responses), is small: subtracting one from the
    other would show those few, as the report pages check."""
    periods = sorted({name for name, _group in respondents if "year to" not in name})
    reasons = {}
    for window in windows:
        wider = [periods]
        if "-Q" in window.name and not window.name.startswith("year to"):
            wider.insert(0, [p for p in periods if p[:4] == window.name[:4]])
        for group in groups:
            inside = sum(respondents.get((p, group), (0, 0))[0] for p in window.periods)
            for table in wider:
                outside = sum(respondents.get((p, group), (0, 0))[0] for p in table) - inside
                if 1 <= outside < threshold:
                    reasons[window.name, group] = (
                        "withheld: the same group in the rest of a wider period is too small"
                    )
    return reasons


def _withheld_cells(design, windows, groups, respondents, gate: Gate):
    """Which (window, group) estimates may not be published, and why: the disclosure
    rules applied to each window's table (its groups and London), as to any report. With
    a table that draws its noise by the cell key, the rules read the published counts,
    and no group is hidden to protect another."""
    threshold, table = gate.threshold, gate.ptable
    keyed = table.draws_by_key
    reasons = {}
    for window in windows:
        n, x, shown_n, shown_x = [], [], [], []
        for group in groups:
            count, positive = design.counts(window, group)
            n.append(count)
            x.append(positive)
            if keyed:
                shown_n.append(table.perturb(int(count), design.key_sum(window, group)))
                shown_x.append(
                    table.perturb(int(positive), design.key_sum(window, group, positive=True))
                )
        n = np.array(n)
        if keyed:
            small = primary_suppression(
                np.array(shown_n),
                np.minimum(shown_x, shown_n),
                min_cell=threshold,
                small_parts=False,
            )
            small |= (n >= 1) & (n < threshold)
        else:
            small = primary_suppression(n, np.array(x), min_cell=threshold)
        sizes = np.array([respondents.get((window.name, g), (0, 0))[0] for g in groups[1:]])
        total = respondents.get((window.name, ALL_GROUPS), (0, 0))[0]
        hidden = np.append(small[1:], small[0])
        extra = complementary_suppression(
            hidden,
            np.append(sizes, total).astype(float),
            [] if keyed else [list(range(len(groups)))],
            min_cell=threshold,
        )
        for index, group in enumerate(groups):
            at = len(groups) - 1 if index == 0 else index - 1
            if small[index]:
                reasons[window.name, group] = "too few responses to publish"
            elif extra[at]:
                reasons[window.name, group] = "withheld so a smaller group cannot be worked out"
    return reasons


def _default_change(request: TrendRequest, names: list[str]) -> tuple[str | None, str | None]:
    """The change shown: as asked, or year on year (the latest window against the one a
    year before, which shares no responses with it), or the two ends of the line."""
    if request.start in names and request.end in names and request.start != request.end:
        return request.start, request.end
    if len(names) < 2:
        return None, None
    end = names[-1]
    steps = 1 if request.kind == "year" else 4
    start = names[-1 - steps] if len(names) > steps else names[0]
    return start, end


def _changes(segment: Segment, made, start: str, end: str, request) -> list[TrendChange]:
    """London's change, then each group's, the groups' p-values adjusted together."""
    design, windows = made
    by_name = {w.name: w for w in windows}
    ends = []
    for series in segment.series:
        points = {p.window: p for p in series.points}
        ends.append((series, points[start], points[end]))
    shown = [
        series.group
        for series, first, last in ends[1:]
        if first.estimate is not None and last.estimate is not None
    ]
    level = request.confidence_level
    computed = {
        c.group: c
        for c in design.changes(by_name[start], by_name[end], shown, confidence_level=level)
    }
    if ends[0][1].estimate is not None and ends[0][2].estimate is not None:
        computed[ALL_GROUPS] = design.change(
            by_name[start], by_name[end], ALL_GROUPS, confidence_level=level
        )
    return [
        TrendChange(
            series.group,
            series.label,
            first,
            last,
            computed.get(series.group),
            None if series.group in computed else "one of the two is withheld",
        )
        for series, first, last in ends
    ]


def _count_trend(session, questionnaire, versions, gate: Gate, request: TrendRequest):
    """Responses by borough and quarter, all versions, through the gate quarter by
    quarter, so officers see where collection fell off."""
    question = questionnaire.dimension_question("borough")
    if question is None:
        return [], [], []
    rows = aggregate_cells(
        session, Selection(tuple(v.id for v in versions)), {"borough": question.id}, months=True
    )
    cells: dict[str, dict[str, list[int]]] = {}
    for year, month, _from_link, borough, count, keys in rows:
        if borough is None or borough in (OUTSIDE_LONDON, PREFER_NOT_TO_SAY):
            continue
        found = cells.setdefault(_quarter_of(year, month), {}).setdefault(borough, [0, 0])
        found[0] += int(count)
        found[1] += int(keys or 0)
    if not cells:
        return [], [], []
    quarters = quarters_between(min(cells), max(cells))
    boroughs = sorted(BOROUGH_NAMES, key=BOROUGH_NAMES.get)
    table: dict[str, list[Count]] = {b: [] for b in boroughs}
    totals = []
    for quarter in quarters:
        here = cells.get(quarter, {})
        published, total = gate.table(
            boroughs,
            [here.get(b, [0, 0])[0] for b in boroughs],
            [here.get(b, [0, 0])[1] for b in boroughs],
        )
        for borough, count in zip(boroughs, published, strict=True):
            table[borough].append(count)
        totals.append(total)
    return quarters, [(b, table[b]) for b in boroughs], totals


# --- who is least reached: adjusted comparisons -------------------------------------------

# What an adjusted comparison may allow for: the register's breakdowns but the language.
ADJUSTABLE = {name: label for name, label in BREAKDOWNS.items() if name != "language"}
# Borough is offered but not chosen at first: 33 groups need many responses, or a borough
# where everyone answered alike stops the model.
DEFAULT_ADJUSTMENT = ("age_band", "sex", "ethnic_group")


@dataclass(frozen=True)
class AdjustedRequest:
    indicator: str
    variables: tuple[str, ...] = DEFAULT_ADJUSTMENT
    period: str = "all"
    confidence_level: float = 0.95


@dataclass(frozen=True)
class AdjustedGroup:
    """One group's predicted share with everything else as it is in London."""

    variable: str
    code: str
    label: str
    share: float | None  # None: withheld
    low: float | None
    high: float | None
    difference: float | None  # share minus London's, as a proportion
    respondents: Count
    odds_ratio: tuple[float, float, float] | None  # against the variable's reference
    withheld: str | None


@dataclass(frozen=True)
class Adjusted:
    request: AdjustedRequest
    questionnaire: Questionnaire
    indicator: Indicator
    period_label: str
    london: float  # the weighted share among respondents in the model
    groups: list[AdjustedGroup]  # least reached first
    references: dict[str, str]
    labels: dict[str, dict[str, str]]
    respondents: Count
    df: float
    has_synthetic: bool
    threshold: int
    figures: Figures | None
    generated_at: dt.datetime


def build_adjusted(
    session: Session,
    questionnaire: Questionnaire,
    request: AdjustedRequest,
    *,
    figures: Figures | None,
    gate: Gate,
) -> Adjusted:
    """Fit the indicator on the chosen demographics together (weighted and raked), and
    give each group's predicted share with the rest of London's mix, through the
    publication rules."""
    indicator = questionnaire.indicator(request.indicator)
    if indicator is None:
        raise ReportError("Choose an indicator")
    variables = tuple(v for v in request.variables if v in ADJUSTABLE)
    if len(variables) < 2:
        raise ReportError("Choose at least two things to allow for together")
    if figures is None:
        raise ReportError(
            "Adjusted comparisons are weighted: an admin must upload population figures"
        )
    try:
        period = parse_period(request.period)
    except PeriodError as error:
        raise ReportError(str(error)) from None
    versions = available_versions(session, questionnaire.id)
    questions = _questions(questionnaire, indicator)
    names = ["borough_from_link", *questions]
    rows = aggregate_cells(session, Selection(tuple(v.id for v in versions), period), questions)
    data, _left_out = cells_to_columns(rows, names, questionnaire, leave_out_link_boroughs=True)
    if not sum(data["count"]):
        raise NoResponses("There are no responses for this period yet")
    try:
        margins, _empty = raking_margins(figures, questionnaire, data, gate)
    except ColumnsError as error:
        raise ReportError(str(error)) from None
    proportion = Proportion("indicator", tuple(indicator.positive), tuple(indicator.exclude))
    try:
        fit = survey_logistic(
            data, indicator=proportion, predictors=list(variables), margins=margins,
            frequency="count", reference="largest",
        )  # fmt: skip
    except (SeparationError, RakingError) as error:
        # What the responses cannot support yet: not the analyst's mistake.
        raise NoResponses(str(error)) from None
    except ValueError as error:
        raise ReportError(f"The model cannot be fitted: {error}") from None
    london = fit.london_share()
    labels = value_labels(questionnaire)
    ratios = {
        name: (r, low, high) for name, r, low, high in fit.odds_ratios(request.confidence_level)
    }
    groups = []
    for variable in variables:
        predictions = fit.marginal_predictions(variable, request.confidence_level)
        counts = fit.counts(variable)
        categories = [p[0] for p in predictions]
        n = np.array([counts[c][0] for c in categories], dtype=float)
        x = np.array([counts[c][1] for c in categories], dtype=float)
        keys = _key_sums_by(data, variable, categories)
        if gate.ptable.draws_by_key:  # the rules read the published counts; nothing more
            positive = _key_sums_by(data, variable, categories, answers=indicator.positive)
            shown_n = gate.ptable.perturb(n.astype(int), [keys[c] for c in categories])
            shown_x = gate.ptable.perturb(x.astype(int), [positive[c] for c in categories])
            small = primary_suppression(
                shown_n, np.minimum(shown_x, shown_n), min_cell=gate.threshold, small_parts=False
            )
            small |= (n >= 1) & (n < gate.threshold)
            hidden = np.zeros(len(n) + 1, dtype=bool)
        else:
            small = primary_suppression(n, x, min_cell=gate.threshold)
            hidden = complementary_suppression(
                np.append(small, False),
                np.append(n, n.sum()),
                [list(range(len(n) + 1))],
                min_cell=gate.threshold,
            )
        for at, (category, share, _se, low, high) in enumerate(predictions):
            if category == PREFER_NOT_TO_SAY:
                continue  # not a group anyone can reach: left out of the ranking
            withheld = None
            if small[at]:
                withheld = "too few responses to publish"
            elif hidden[at]:
                withheld = "withheld so a smaller group cannot be worked out"
            shown = withheld is None
            groups.append(
                AdjustedGroup(
                    variable,
                    category,
                    labels.get(variable, {}).get(category, category),
                    share if shown else None,
                    low if shown else None,
                    high if shown else None,
                    share - london if shown else None,
                    gate.count(int(n[at]), keys.get(category, 0)),
                    ratios.get(f"{variable}={category}") if shown else None,
                    withheld,
                )
            )
    groups.sort(key=lambda g: (g.share is None, g.share if g.share is not None else 0))
    synthetic, _keys = _synthetic(session, Selection(tuple(v.id for v in versions), period))
    return Adjusted(
        request=request,
        questionnaire=questionnaire,
        indicator=indicator,
        period_label=period.label,
        london=london,
        groups=groups,
        references=fit.references,
        labels=labels,
        respondents=gate.count(fit.n, sum(data["keys"])),
        df=fit.df,
        has_synthetic=bool(synthetic),
        threshold=gate.threshold,
        figures=figures,
        generated_at=clock.now(),
    )


def _not_stated(data: dict, by: tuple[str, ...], gate: Gate) -> Count:
    """Responses with no stated answer to one of the breakdowns, through the gate."""
    count = keys = 0
    for index, number in enumerate(data["count"]):
        if any(data[name][index] in (None, PREFER_NOT_TO_SAY) for name in by):
            count += number
            keys += data["keys"][index]
    return gate.count(count, keys)


def _key_sums_by(data, variable: str, categories, *, answers=None) -> dict[str, int]:
    """Record-key sums per category, for publishing each group's count through the gate
    (with `answers`, over the responses giving one of them)."""
    found: dict[str, int] = {}
    for value, said, keys in zip(data[variable], data["indicator"], data["keys"], strict=True):
        if answers is None or said in answers:
            found[str(value)] = found.get(str(value), 0) + int(keys)
    return {c: found.get(c, 0) for c in categories}
