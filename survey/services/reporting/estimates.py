"""Estimates by group for one period: aggregate, weight, summarise and publish through
the gate (the analysis page and its downloads, and releases)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from sqlalchemy.orm import Session

from analysis import Proportion, RakingError, Summary, group_counts, summarise
from analysis.small_area import arcsine, back_transform, benchmark, choose_covariates
from survey import clock
from survey.demographics import AREA_COVARIATES
from survey.geography import BOROUGH_NAMES, PREFER_NOT_TO_SAY
from survey.publication import Count, Gate
from survey.questionnaire import Indicator, Questionnaire
from survey.services.periods import ALL, PeriodError, enclosing, parse_period
from survey.services.population import Figures, borough_population
from survey.services.report_columns import (
    BREAKDOWNS,
    ColumnsError,
    cells_to_columns,
    raking_margins,
    value_labels,
)
from survey.services.reporting.common import (
    NoResponses,
    ReportError,
    Selection,
    _questions,
    _synthetic,
    aggregate_cells,
    available_versions,
)


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
    for wider in _wider(selection, all_versions) if gate.needs_complements else ():
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
    counts = {row.labels: _published_count(row, gate) for row in summary.rows}
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
        modelled=_modelled(summary, margins, figures, questionnaire)
        if request.by == ("borough",) and margins
        else None,
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
    narrows: bool = True  # its interval is shorter than the direct one's: shown


@dataclass(frozen=True)
class Modelled:
    """Borough estimates from the Fay-Herriot model, beside the direct ones: fitted on the
    arcsine scale to the boroughs whose direct estimate is published, by REML, with the
    area covariates (`survey.demographics.AREA_COVARIATES`, from the figures uploaded within
    boroughs) that a stated rule chose; benchmarked so that, weighted by population, they
    give London's direct estimate. An area's modelled estimate is shown only where its
    interval is shorter than the direct one's."""

    areas: dict[str, ModelledArea]
    variance: float  # of the borough effects, on the arcsine scale
    benchmark_factor: float
    confidence_level: float
    covariates: tuple[str, ...] = ()  # the chosen covariates' labels; empty: a common mean
    candidates: tuple[str, ...] = ()  # the covariates the figures allowed, chosen or not
    explained: float = 0.0  # share of the between-borough variance the covariates explain

    @property
    def not_narrower(self) -> list[str]:
        """Areas whose modelled interval is no shorter than the direct one: not shown."""
        return [code for code, area in self.areas.items() if not area.narrows]


MIN_AREAS = 5  # fewer published boroughs than this leave the model nothing to borrow from


def area_covariates(
    figures: Figures | None, questionnaire: Questionnaire, codes: list[str]
) -> dict[str, np.ndarray]:
    """Each area covariate of the register, one share per borough (in `codes` order), from
    the population figures uploaded within boroughs; a covariate whose figures are missing
    for a borough, or whose shares hardly differ between boroughs, is left out."""
    found = {}
    for covariate in AREA_COVARIATES:
        counted = set(covariate.answers)
        if covariate.group is not None:
            question = questionnaire.dimension_question(covariate.dimension)
            options = question.options if question is not None else ()
            counted = {o.value for o in options if o.group == covariate.group}
        shares = []
        for code in codes:
            people = borough_population(figures, code, covariate.dimension)
            total = sum(people.values())
            if not total or not counted:
                break
            shares.append(sum(n for answer, n in people.items() if answer in counted) / total)
        else:
            if np.ptp(shares) >= LEAST_SPREAD:
                found[covariate.label] = np.array(shares)
    return found


# Shares that differ by less than this between the most and least of the boroughs tell them
# apart no better than the rounding of the figures (demo figures give every borough
# London's mix, give or take a person).
LEAST_SPREAD = 0.005


def _modelled(
    summary: Summary, margins: dict, figures: Figures | None, questionnaire: Questionnaire
) -> Modelled | None:
    rows = [
        r
        for r in summary.rows
        if not r.is_overall
        and r.estimate is not None
        and r.n_eff
        and r.labels[0] in margins["borough"]
        and r.labels[0] in BOROUGH_NAMES  # an area: not those who preferred not to say
    ]
    overall = next((r for r in summary.rows if r.is_overall), None)
    if len(rows) < MIN_AREAS or overall is None or overall.estimate is None:
        return None
    theta, variance = arcsine([r.estimate for r in rows], [r.n_eff for r in rows])
    candidates = area_covariates(figures, questionnaire, [r.labels[0] for r in rows])
    chosen = choose_covariates(theta, variance, candidates)
    fit = chosen.fit
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
            min(hi * factor, 1.0) - lo * factor < r.ci_high - r.ci_low,
        )
        for r, b, lo, hi, k in zip(rows, benchmarked, low, high, fit.shrinkage, strict=True)
    }
    return Modelled(
        areas,
        fit.variance,
        float(factor),
        level,
        chosen.covariates,
        tuple(candidates),
        chosen.explained,
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


def _published_count(row, gate: Gate) -> Count:
    """A row's respondents as pages show them. A hidden group's count says "not shown",
    whatever hid it: "fewer than 10" would be untrue of a group hidden because all or none
    gave one answer, or to protect another, and saying which would tell the reason apart.
    Its flag's words give both reasons."""
    if row.published:
        return gate.count(row.n, row.key_sum)
    return Count(None, gate.threshold, small=False)


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


def _not_stated(data: dict, by: tuple[str, ...], gate: Gate) -> Count:
    """Responses with no stated answer to one of the breakdowns, through the gate."""
    count = keys = 0
    for index, number in enumerate(data["count"]):
        if any(data[name][index] in (None, PREFER_NOT_TO_SAY) for name in by):
            count += number
            keys += data["keys"][index]
    return gate.count(count, keys)
