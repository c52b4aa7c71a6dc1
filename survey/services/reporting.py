"""The one bridge between the database and `analysis`.

Responses are aggregated in SQL (GROUP BY the analysis variables into counts of identical
respondents), so a report costs one query and work proportional to the number of distinct
cells, not the number of responses. The cells go to `analysis.summarise`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from analysis import Proportion, RakingError, Summary, summarise
from survey import clock
from survey.demographics import (
    DEMOGRAPHICS,
    RAKING_MARGINS,
    breakdowns,
    demographic,
    margin_name,
    population_variable,
)
from survey.geography import BOROUGH_NAMES, OUTSIDE_LONDON, PREFER_NOT_TO_SAY
from survey.i18n import english_name
from survey.models import Answer, Link, QuestionnaireVersion, Response
from survey.questionnaire import Indicator, Questionnaire
from survey.questionnaire.schema import DEFAULT_LANGUAGE
from survey.services.population import Figures

BREAKDOWNS = breakdowns()
PERIOD = re.compile(r"^(all|\d{4}-(0[1-9]|1[0-2])|\d{4}-Q[1-4])$")


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
    request: ReportRequest
    summary: Summary
    questionnaire: Questionnaire
    indicator: Indicator
    versions: list[tuple[int, int]]  # (id, version number)
    period_label: str
    labels: dict[str, dict[str, str]]
    figures: Figures | None
    margins: dict[str, dict[str, float]] | None
    respondents: int
    outside_london: int
    borough_from_link: int  # responses left out because the link set their borough
    synthetic: int
    threshold: int
    generated_at: dt.datetime
    diagnostics: dict = field(default_factory=dict)


def period_bounds(period: str) -> tuple[dt.date | None, dt.date | None, str]:
    """Turn "all", "2026-11" or "2026-Q4" into dates and words."""
    if not PERIOD.match(period or ""):
        raise ReportError("Choose a period: all responses, a month or a quarter")
    if period == "all":
        return None, None, "all responses"
    year = int(period[:4])
    if "Q" in period:
        quarter = int(period[-1])
        start = dt.date(year, 3 * quarter - 2, 1)
        months = 3
    else:
        start = dt.date(year, int(period[5:]), 1)
        months = 1
    month_after = start.month - 1 + months
    end = dt.date(year + month_after // 12, month_after % 12 + 1, 1) - dt.timedelta(days=1)
    label = f"{start:%B %Y}" if months == 1 else f"Q{quarter} {year} ({start:%B} to {end:%B})"
    return start, end, label


def period_choices(today: dt.date, months: int = 12) -> list[tuple[str, str]]:
    """All responses, the recent quarters and the recent months."""
    choices = [("all", "All responses")]
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    for _ in range(4):
        key = f"{quarter_start.year}-Q{(quarter_start.month - 1) // 3 + 1}"
        choices.append((key, period_bounds(key)[2]))
        quarter_start = (quarter_start - dt.timedelta(days=1)).replace(day=1)
        quarter_start = quarter_start.replace(month=3 * ((quarter_start.month - 1) // 3) + 1)
    month = today.replace(day=1)
    for _ in range(months):
        choices.append((f"{month:%Y-%m}", f"{month:%B %Y}"))
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return choices


def available_versions(session: Session, questionnaire_id: str) -> list[QuestionnaireVersion]:
    return list(
        session.scalars(
            select(QuestionnaireVersion)
            .where(QuestionnaireVersion.questionnaire_id == questionnaire_id)
            .order_by(QuestionnaireVersion.version)
        )
    )


def aggregate_cells(
    session: Session,
    version_ids: list[int],
    start: dt.date | None,
    end: dt.date | None,
    columns: dict[str, str],
    *,
    language: bool = False,
) -> list[tuple]:
    """Count respondents by the answers to the given questions, in one GROUP BY.

    `columns` maps an output name to a question id. Returns rows of whether the link set
    the borough, the answers (None where a response has no answer) and the count; with
    `language`, the language the response was given in comes second.
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
    query = select(*joined, func.count().label("respondents")).select_from(from_clause)
    query = query.where(Response.questionnaire_version_id.in_(version_ids))
    if start is not None:
        query = query.where(Response.submitted_on >= start)
    if end is not None:
        query = query.where(Response.submitted_on <= end)
    query = query.group_by(*joined)
    return [tuple(row) for row in session.execute(query)]


def build_report(
    session: Session,
    questionnaire: Questionnaire,
    request: ReportRequest,
    *,
    figures: Figures | None,
    threshold: int,
) -> Report:
    """Aggregate, weight and summarise: everything an analyst page or download shows."""
    indicator = questionnaire.indicator(request.indicator)
    if indicator is None:
        raise ReportError("Choose an indicator")
    if (
        not 1 <= len(request.by) <= 2
        or any(b not in BREAKDOWNS for b in request.by)
        or (len(set(request.by)) != len(request.by))
    ):
        raise ReportError("Choose one breakdown, or two different ones")
    start, end, period_label = period_bounds(request.period)
    versions = available_versions(session, questionnaire.id)
    chosen = [v for v in versions if not request.versions or v.id in request.versions]
    if not chosen:
        raise ReportError("Choose at least one questionnaire version")
    version_ids = [v.id for v in chosen]

    questions = {"indicator": indicator.question}
    for variable in DEMOGRAPHICS:
        question = (
            questionnaire.dimension_question(variable.dimension) if variable.dimension else None
        )
        if question is not None:
            questions[variable.name] = question.id
    by_language = "language" in request.by
    rows = aggregate_cells(session, version_ids, start, end, questions, language=by_language)
    names = ["borough_from_link"] + (["language"] if by_language else []) + list(questions)
    leave_out_link_boroughs = not request.link_boroughs and (
        request.weighted or "borough" in request.by
    )
    data, outside, from_link = _cells_to_columns(
        rows, names, questionnaire, leave_out_link_boroughs=leave_out_link_boroughs
    )
    respondents = sum(data["count"])
    if respondents == 0:
        raise NoResponses("There are no responses for this choice of versions and period yet")

    margins, empty = None, {}
    if request.weighted:
        if figures is None:
            raise ReportError(
                "Weighted estimates need population figures; an admin can "
                "upload them. Choose unweighted for now"
            )
        margins, empty = raking_margins(figures, questionnaire, data)
    try:
        summary = summarise(
            data,
            indicator=Proportion("indicator", tuple(indicator.positive), tuple(indicator.exclude)),
            by=request.by,
            frequency="count",
            margins=margins,
            method=request.method,
            confidence_level=request.confidence_level,
            min_cell=threshold,
        )
    except RakingError as error:
        raise ReportError(
            f"The responses cannot be weighted yet: {error}. Choose unweighted, or a longer period"
        ) from None
    except ValueError as error:
        raise ReportError(str(error)) from None
    synthetic = (
        session.scalar(
            select(func.count())
            .select_from(Response)
            .join(Link, Link.id == Response.link_id)
            .where(
                Link.synthetic.is_(True),
                Response.questionnaire_version_id.in_(version_ids),
                *([Response.submitted_on >= start] if start else []),
                *([Response.submitted_on <= end] if end else []),
            )
        )
        or 0
    )
    return Report(
        request=request,
        summary=summary,
        questionnaire=questionnaire,
        indicator=indicator,
        versions=[(v.id, v.version) for v in chosen],
        period_label=period_label,
        labels=value_labels(questionnaire),
        figures=figures if request.weighted else None,
        margins=margins,
        respondents=respondents,
        outside_london=outside,
        borough_from_link=from_link,
        synthetic=synthetic,
        threshold=threshold,
        generated_at=clock.now(),
        diagnostics={**_diagnostics(summary), "empty_categories": empty},
    )


def _cells_to_columns(rows, names, questionnaire: Questionnaire, *, leave_out_link_boroughs):
    """Turn aggregated rows into the columns `summarise` reads, handling the special answers.

    Residents outside London are left out (the survey estimates London), and so, when
    asked, are responses whose borough their link set. Grouped demographics (ethnic group)
    are reported by their options' groups. A missing or "prefer not to say" answer to a
    weighting variable becomes its own category. Returns the columns and how many
    responses each rule left out.
    """
    groups = _option_groups(questionnaire)
    in_margins = {name for margin in RAKING_MARGINS for name in margin}
    # A margin of one demographic is that demographic's own column.
    crossed = [margin for margin in RAKING_MARGINS if len(margin) > 1]
    columns: dict[str, list] = {
        name: []
        for name in [
            *(d.name for d in DEMOGRAPHICS),
            *(margin_name(m) for m in crossed),
            "indicator",
            "count",
        ]
    }
    outside = from_link = 0
    for row in rows:
        values = dict(zip(names, row[:-1], strict=True))
        count = row[-1]
        if values["borough_from_link"] and leave_out_link_boroughs:
            from_link += count
            continue
        if values.get("borough") == OUTSIDE_LONDON:
            outside += count
            continue
        shown = {}
        for variable in DEMOGRAPHICS:
            value = values.get(variable.name)
            if variable.dimension is None:  # read from the response itself: always known
                value = value or DEFAULT_LANGUAGE
            elif variable.grouped:
                value = groups[variable.name].get(value, PREFER_NOT_TO_SAY)
            if value is None and variable.name in in_margins:
                value = PREFER_NOT_TO_SAY
            shown[variable.name] = value
            columns[variable.name].append(value)
        for margin in crossed:
            parts = [shown[name] for name in margin]
            unknown = any(part in (None, PREFER_NOT_TO_SAY) for part in parts)
            columns[margin_name(margin)].append(PREFER_NOT_TO_SAY if unknown else "*".join(parts))
        columns["indicator"].append(values.get("indicator"))
        columns["count"].append(count)
    return columns, outside, from_link


def _option_groups(questionnaire: Questionnaire) -> dict[str, dict[str, str]]:
    """For each grouped demographic, its options' values mapped to their groups."""
    groups = {}
    for variable in DEMOGRAPHICS:
        if variable.grouped:
            question = questionnaire.dimension_question(variable.dimension)
            options = question.options if question is not None else ()
            groups[variable.name] = {o.value: (o.group or o.value) for o in options}
    return groups


def raking_margins(
    figures: Figures, questionnaire: Questionnaire, data: dict[str, list]
) -> dict[str, dict[str, float]]:
    """Population margins for the register's raking margins (borough, age band by sex and
    ethnic group).

    Respondents who preferred not to say form their own category on that margin, with a
    target equal to their share of the responses: they keep the weight the other margins
    give them, and the known categories share the rest of the population in proportion.
    Returns the margins and, for each, the categories left out for having no responses.
    """
    needed = {margin_name(m): (m, population_variable(m)) for m in RAKING_MARGINS}
    missing = [source for _, source in needed.values() if source not in figures.values]
    if missing:
        raise ReportError(
            f"The population figures have no {', '.join(missing)}: an admin "
            "must upload them before weighted estimates can be made"
        )
    groups = _option_groups(questionnaire)
    total_respondents = sum(data["count"])
    margins, empty = {}, {}
    for margin, (names, source) in needed.items():
        population: dict[str, float] = {}
        for category, value in figures.values[source].items():
            parts = category.split("*")
            key = "*".join(
                groups[name].get(part, part) if name in groups else part
                for name, part in zip(names, parts, strict=True)
            )
            population[key] = population.get(key, 0.0) + value
        total = sum(population.values())
        answered: dict[str, int] = {}
        for value, count in zip(data[margin], data["count"], strict=True):
            answered[value] = answered.get(value, 0) + count
        # A category nobody in the sample belongs to cannot be weighted up from nothing:
        # its population is shared among the others, and the methods note says so.
        empty[margin] = sorted(k for k in population if not answered.get(k))
        known = {k: v for k, v in population.items() if answered.get(k)}
        known_total = sum(known.values())
        share = answered.get(PREFER_NOT_TO_SAY, 0) / total_respondents
        targets = {k: total * (1 - share) * v / known_total for k, v in known.items()}
        if share:
            targets[PREFER_NOT_TO_SAY] = total * share
        margins[margin] = targets
    return margins, empty


def value_labels(questionnaire: Questionnaire) -> dict[str, dict[str, str]]:
    """Words for every category a report can show."""
    labels: dict[str, dict[str, str]] = {}
    for name in BREAKDOWNS:
        variable = demographic(name)
        question = (
            questionnaire.dimension_question(variable.dimension) if variable.dimension else None
        )
        options = {o.value: o.label.get() for o in question.options} if question else {}
        if variable.grouped:
            options = dict(variable.group_labels)
        if name == "borough":
            options.update(BOROUGH_NAMES)
        if name == "language":
            options = {lang.code: english_name(lang.code) for lang in questionnaire.languages}
        options[PREFER_NOT_TO_SAY] = "Prefer not to say"
        options["All"] = "All of London"
        labels[name] = options
    return labels


def _diagnostics(summary: Summary) -> dict:
    raking = summary.raking
    if raking is None:
        return {}
    deff = raking.kish_deff_by("borough") if "borough" in raking.categories else {}
    return {
        "iterations": raking.iterations,
        "max_margin_error": raking.max_margin_error,
        "weight_min": raking.weight_min,
        "weight_max": raking.weight_max,
        "kish_deff": raking.kish_deff,
        "deff_by_borough": deff,
        "rescaled": raking.rescaled,
    }
