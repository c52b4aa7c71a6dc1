"""Change over time: each period weighted on its own, estimates by quarter, year or
rolling year, the change between two, and responses by borough and quarter."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from analysis import Proportion
from analysis.trends import (
    Change,
    PeriodEstimate,
    TrendDesign,
    Window,
    quarters_between,
    rolling_windows,
)
from survey import clock
from survey.geography import BOROUGH_NAMES, OUTSIDE_LONDON, PREFER_NOT_TO_SAY
from survey.publication import Count, Gate
from survey.questionnaire import Indicator, Questionnaire
from survey.services.periods import parse_period, provisional_reason
from survey.services.population import Figures
from survey.services.questionnaires import questionnaire_for
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
from survey.services.responses import first_response_date

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
    # Windows whose figures are provisional ([p]): name -> the days covered and why.
    provisional: dict[str, str]


def window_dates(name: str) -> tuple[dt.date, dt.date]:
    """The first and last day of a window: a quarter, a year, or the year to a quarter."""
    if name.startswith("year to "):
        last = parse_period(name.removeprefix("year to "))
        year, quarter = int(name[-7:-3]), int(name[-1])
        first = dt.date(year, 1, 1) if quarter == 4 else dt.date(year - 1, 3 * quarter + 1, 1)
        return first, last.end
    period = parse_period(name)
    return period.start, period.end


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
    first, today = first_response_date(session), clock.today()
    provisional = {
        name: why
        for segment in segments
        for name, _ in segment.windows
        if (why := provisional_reason(*window_dates(name), first, today))
    }
    names = [name for name, _ in last.windows]
    start, end = _default_change(request, names, provisional)
    changes = _changes(last, design, start, end, request, gate) if start and end else []
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
        provisional=provisional,
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
    reasons = {}
    for window in windows:
        counted = [design.counts(window, group) for group in groups]
        small = gate.small(
            [count for count, _ in counted],
            [positive for _, positive in counted],
            [design.key_sum(window, group) for group in groups],
            [design.key_sum(window, group, positive=True) for group in groups],
        )
        sizes = [respondents.get((window.name, g), (0, 0))[0] for g in groups[1:]]
        total = respondents.get((window.name, ALL_GROUPS), (0, 0))[0]
        extra = gate.protecting(np.append(small[1:], small[0]), [*sizes, total])
        for index, group in enumerate(groups):
            at = len(groups) - 1 if index == 0 else index - 1
            if small[index]:
                reasons[window.name, group] = "too few responses to publish"
            elif extra[at]:
                reasons[window.name, group] = "withheld so a smaller group cannot be worked out"
    return reasons


def _default_change(
    request: TrendRequest, names: list[str], provisional: dict[str, str]
) -> tuple[str | None, str | None]:
    """The change shown: as asked; or year on year between complete windows (the latest
    window not provisional against the one a year before it, which shares no responses
    with it), or the first and last complete windows; none with fewer than two complete
    windows (the analyst may still choose two)."""
    if request.start in names and request.end in names and request.start != request.end:
        return request.start, request.end
    complete = [name for name in names if name not in provisional]
    if len(complete) < 2:
        return None, None
    end = complete[-1]
    steps = 1 if request.kind == "year" else 4
    at = names.index(end)
    year_before = names[at - steps] if at >= steps else None
    return (year_before if year_before in complete else complete[0]), end


def _changes(
    segment: Segment, made, start: str, end: str, request, gate: Gate
) -> list[TrendChange]:
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
        for c in design.changes(
            by_name[start], by_name[end], shown, confidence_level=level, ptable=gate.ptable
        )
    }
    if ends[0][1].estimate is not None and ends[0][2].estimate is not None:
        computed[ALL_GROUPS] = design.change(
            by_name[start], by_name[end], ALL_GROUPS, confidence_level=level, ptable=gate.ptable
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
