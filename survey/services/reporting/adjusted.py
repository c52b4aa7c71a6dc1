"""Who is least reached: shares adjusted for the other characteristics by a survey-
weighted logistic model, ranked, through the gate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from analysis import Proportion, RakingError
from analysis.regression import SeparationError, survey_logistic
from survey import clock
from survey.geography import PREFER_NOT_TO_SAY
from survey.publication import Count, Gate
from survey.questionnaire import Indicator, Questionnaire
from survey.services.periods import PeriodError, parse_period
from survey.services.population import Figures
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
    # Respondents who preferred not to say, per characteristic: in the model, not ranked.
    not_stated: list[tuple[str, Count]]
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
    groups, not_stated = [], []
    for variable in variables:
        predictions = fit.marginal_predictions(variable, request.confidence_level)
        counts = fit.counts(variable)
        categories = [p[0] for p in predictions]
        n = np.array([counts[c][0] for c in categories], dtype=float)
        x = np.array([counts[c][1] for c in categories], dtype=float)
        keys = _key_sums_by(data, variable, categories)
        positive = _key_sums_by(data, variable, categories, answers=indicator.positive)
        small = gate.small(n, x, [keys[c] for c in categories], [positive[c] for c in categories])
        hidden = gate.protecting(np.append(small, False), np.append(n, n.sum()))
        for at, (category, share, _se, low, high) in enumerate(predictions):
            if category == PREFER_NOT_TO_SAY:  # not a group anyone can reach: not ranked
                not_stated.append((variable, gate.count(int(n[at]), keys.get(category, 0))))
                continue
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
        not_stated=not_stated,
        references=fit.references,
        labels=labels,
        respondents=gate.count(fit.n, sum(data["keys"])),
        df=fit.df,
        has_synthetic=bool(synthetic),
        threshold=gate.threshold,
        figures=figures,
        generated_at=clock.now(),
    )


def _key_sums_by(data, variable: str, categories, *, answers=None) -> dict[str, int]:
    """Record-key sums per category, for publishing each group's count through the gate
    (with `answers`, over the responses giving one of them)."""
    found: dict[str, int] = {}
    for value, said, keys in zip(data[variable], data["indicator"], data["keys"], strict=True):
        if answers is None or said in answers:
            found[str(value)] = found.get(str(value), 0) + int(keys)
    return {c: found.get(c, 0) for c in categories}
