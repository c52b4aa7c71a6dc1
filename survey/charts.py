"""Charts drawn on the server as SVG: geometry here, drawing in templates/analyst/.

Both charts come with a title, a description and the table on the same page as their text
alternative, and need no JavaScript.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

from survey.demographics import BY_NAME
from survey.services.exports import Row

# A rough geographic grid of London's 33 local authority areas: (column, row).
TILES = {
    "E09000010": (4, 0, "Enf"),
    "E09000015": (2, 1, "Hrw"),
    "E09000003": (3, 1, "Bar"),
    "E09000014": (4, 1, "Hgy"),
    "E09000031": (5, 1, "WF"),
    "E09000026": (6, 1, "Red"),
    "E09000016": (7, 1, "Hav"),
    "E09000017": (1, 2, "Hil"),
    "E09000005": (2, 2, "Brt"),
    "E09000007": (3, 2, "Cam"),
    "E09000019": (4, 2, "Isl"),
    "E09000012": (5, 2, "Hck"),
    "E09000025": (6, 2, "New"),
    "E09000002": (7, 2, "B&D"),
    "E09000009": (1, 3, "Eal"),
    "E09000013": (2, 3, "H&F"),
    "E09000020": (3, 3, "K&C"),
    "E09000033": (4, 3, "Wes"),
    "E09000001": (5, 3, "City"),
    "E09000030": (6, 3, "TH"),
    "E09000018": (0, 4, "Hns"),
    "E09000027": (1, 4, "Ric"),
    "E09000032": (2, 4, "Wan"),
    "E09000022": (3, 4, "Lam"),
    "E09000028": (4, 4, "Sou"),
    "E09000023": (5, 4, "Lew"),
    "E09000011": (6, 4, "Gre"),
    "E09000004": (7, 4, "Bex"),
    "E09000021": (1, 5, "K&T"),
    "E09000024": (2, 5, "Mer"),
    "E09000008": (4, 5, "Cro"),
    "E09000006": (5, 5, "Bro"),
    "E09000029": (2, 6, "Sut"),
}
TILE = 56  # pixels per tile
GAP = 4
# Colour says only what the comparison with the rest of London says: a difference the
# survey can detect, or none. Shades of the estimate would suggest differences that are
# not there (a 23-point spread where no borough differs significantly).
COMPARISON_FILL = {
    "higher": ("#1d70b8", True),  # (fill, white text)
    "lower": ("#f47738", False),
    "no clear difference": ("#f3f2f1", False),
    "": ("#f3f2f1", False),  # not compared (no comparison asked for)
}
LEGEND = (
    ("#1d70b8", "Higher than the rest of London"),
    ("#f47738", "Lower than the rest of London"),
    ("#f3f2f1", "No clear difference"),
)


# Every chart is drawn 300 units wide, so at 320 px (a 290 px column) 13-unit text still
# shows at 12 px or more; wider screens scale it up to the stylesheet's maximum width.
WIDTH = 300
LINE = 16  # units per line of label text
WRAP = 36  # characters per line of a label: labels wrap, never truncated
STEPS = (1, 2, 2.5, 5, 10, 20, 25)  # percentage points between an axis's ticks


@dataclass(frozen=True)
class Axis:
    """A percentage axis holding every value a chart draws, with round ticks. It starts at
    0 when the values come near it; otherwise it starts higher and `broken` says so (the
    chart draws a break and its description names the start)."""

    low: float
    high: float
    step: float

    @property
    def broken(self) -> bool:
        return self.low > 0

    def ticks(self) -> list[float]:
        count = round((self.high - self.low) / self.step)
        return [round(self.low + self.step * i, 6) for i in range(count + 1)]

    def scale(self, start: float, length: float):
        """A function from a percentage to a coordinate, `start` at the axis's low end."""
        span = self.high - self.low
        return lambda percent: round(start + length * (percent - self.low) / span, 1)

    def words(self) -> str:
        return f" The axis starts at {self.low:g}%, not 0." if self.broken else ""


def fitted_axis(values, ticks: int = 6) -> Axis:
    """The shortest axis with at most `ticks` steps that holds every value (in percent)."""
    low = max(0.0, min(values))
    high = min(100.0, max(values))
    for step in STEPS:
        start = math.floor(low / step) * step
        if start <= step:  # so near 0 that the axis may as well begin there
            start = 0
        end = max(math.ceil(high / step) * step, start + step)
        if (end - start) / step <= ticks:
            break
    if end > 100:  # keep the ticks, ending at 100%
        start, end = max(0, start - (end - 100)), 100
    return Axis(float(start), float(end), float(step))


def _wrapped(label: str) -> tuple[str, ...]:
    return tuple(textwrap.wrap(label, WRAP)) or ("",)


@dataclass(frozen=True)
class Dot:
    label: tuple[str, ...]  # the group's name, one item per line
    top: float  # y of the label's first line
    y: float  # y of the interval
    x: float
    low: float
    high: float
    text: str


@dataclass(frozen=True)
class DotPlot:
    title: str
    description: str
    dots: list[Dot]
    width: int
    height: int
    left: int
    right: int
    bottom: int  # y of the axis
    london_x: float | None
    ticks: list[tuple[float, str]]
    broken: bool  # the axis does not start at 0
    overall_label: str = "London"


def dot_plots(rows: list[Row], title: str, *, by_estimate: bool = False) -> list[DotPlot]:
    """One chart for one breakdown; for two, small multiples: a panel for each group of the
    second breakdown, the first breakdown's groups down each, with that group's total.
    Groups keep the table's order (the questionnaire's, which for ordered answers such as
    age bands is their order) unless `by_estimate`."""
    if not rows or len(rows[0].labels) == 1:
        chart = dot_plot(rows, title, by_estimate=by_estimate)
        return [chart] if chart else []
    panels = []
    for across in dict.fromkeys(r.labels[1] for r in rows if r.codes[1] != "All"):
        members = [r for r in rows if r.labels[1] == across]
        within = [r for r in members if r.codes[0] != "All"]
        total = next((r for r in members if r.codes[0] == "All"), None)
        chart = dot_plot(
            [*within, *([total] if total else [])],
            f"{title}: {across}",
            label=lambda r: r.labels[0],
            overall=total,
            overall_label=f"All {across}",
            by_estimate=by_estimate,
        )
        if chart:
            panels.append(chart)
    return panels


def dot_plot(
    rows: list[Row],
    title: str,
    *,
    label=lambda r: " / ".join(r.labels),
    overall: Row | None = None,
    overall_label: str = "London",
    by_estimate: bool = False,
) -> DotPlot | None:
    """Each group's estimate with its interval, and the line for everyone."""
    shown = [r for r in rows if r is not overall and not r.is_overall and r.estimate is not None]
    if not shown:
        return None
    if by_estimate:
        shown.sort(key=lambda r: r.estimate)
    if overall is None:
        overall = next((r for r in rows if r.is_overall), None)
    if overall is not None and overall.estimate is None:
        overall = None
    values = [v for r in shown for v in (r.estimate, r.ci_low, r.ci_high)]
    axis = fitted_axis([*values, *([overall.estimate] if overall else [])])
    groups = [(label(r), r.estimate, r.ci_low, r.ci_high) for r in shown]
    lowest = min(shown, key=lambda r: r.estimate)
    highest = max(shown, key=lambda r: r.estimate)
    description = (
        f"{len(shown)} groups from {lowest.estimate:.0f}% ({label(lowest)}) to "
        f"{highest.estimate:.0f}% ({label(highest)})"
    )
    if overall is not None:
        description += f"; {overall_label} {overall.estimate:.1f}%"
    return _dots(
        title,
        description + "." + axis.words() + " The table below gives every figure.",
        groups,
        axis,
        overall.estimate if overall else None,
        overall_label,
    )


def _dots(title, description, groups, axis: Axis, overall, overall_label) -> DotPlot:
    """Lay out groups (label, estimate, low, high in percent): each label on its own lines
    with its interval below it."""
    left, right, top = 16, WIDTH - 16, 30
    x = axis.scale(left, right - left)
    dots = []
    for name, estimate, low, high in groups:
        lines = _wrapped(name)
        y = top + LINE * len(lines) + 2
        dots.append(
            Dot(
                lines, top + 12, y, x(estimate), x(low), x(high),
                f"{name}: {estimate:.1f}% ({low:.1f}% to {high:.1f}%)",
            )
        )  # fmt: skip
        top = y + 12
    bottom = top + 6
    return DotPlot(
        title,
        description,
        dots,
        WIDTH,
        bottom + 24,
        left,
        right,
        bottom,
        x(overall) if overall is not None else None,
        [(x(t), f"{t:g}%") for t in axis.ticks()],
        axis.broken,
        overall_label,
    )


@dataclass(frozen=True)
class Tile:
    x: int
    y: int
    short: str
    name: str
    fill: str | None  # None: hatched (suppressed or too uncertain)
    dark: bool
    text: str
    value: str = ""  # the estimate, written on the tile


@dataclass(frozen=True)
class TileMap:
    title: str
    description: str
    tiles: list[Tile]
    legend: list[tuple[str, str]]
    width: int
    height: int
    confidence: str = "95%"


def tile_map(rows: list[Row], title: str, level: float, modelled=None) -> TileMap | None:
    """One equal square per local authority, coloured by its comparison with the rest of
    London (higher, lower, no clear difference), its estimate written on it; hatched if not
    shown. With `modelled` (Fay-Herriot estimates), each tile shows its modelled estimate,
    coloured by whether its interval lies wholly above or below London's estimate."""
    by_code = {r.codes[0]: r for r in rows if not r.is_overall and len(r.codes) == 1}
    if modelled is not None:
        by_code = _modelled_rows(by_code, rows, modelled)
    if not any(code in TILES for code in by_code):
        return None
    tiles = []
    counts = {"higher": 0, "lower": 0}
    for code, (column, row_number, short) in TILES.items():
        row = by_code.get(code)
        name = row.labels[0] if row else code
        if row is None or row.estimate is None:
            fill, dark, value = None, False, ""
            text = f"{name}: not shown ({row.note.lower() if row and row.note else 'no responses'})"
        else:
            fill, dark = COMPARISON_FILL.get(row.comparison, COMPARISON_FILL[""])
            value = f"{row.estimate:.0f}%"
            compared = f", {row.comparison}" if row.comparison else ""
            text = f"{name}: {row.estimate:.1f}%{compared}"
            if row.comparison in counts:
                counts[row.comparison] += 1
        tiles.append(
            Tile(
                column * (TILE + GAP), row_number * (TILE + GAP), short, name, fill, dark, text,
                value,
            )
        )  # fmt: skip
    shown = sum(1 for t in tiles if t.fill)
    confidence = f"{level * 100:g}%"
    description = (
        f"{shown} of 33 areas shown. At {confidence} confidence, after adjusting for the "
        f"number of areas compared, {counts['higher']} are higher and {counts['lower']} "
        "lower than the rest of London; the others show no clear difference. Hatched areas "
        "are not shown to protect small groups or because the estimate is too uncertain. "
        "The table below gives every figure."
    )
    if modelled is not None:
        description = (
            f"Modelled estimates: {shown} of 33 areas shown. {counts['higher']} have a "
            f"{confidence} interval wholly above London's estimate and {counts['lower']} "
            "wholly below; the others' intervals include it. Hatched areas are not shown. "
            "The table below gives every figure."
        )
    legend = [(colour, label) for colour, label in LEGEND]
    return TileMap(
        title, description, tiles, legend, 8 * (TILE + GAP), 7 * (TILE + GAP), confidence
    )


@dataclass(frozen=True)
class Line:
    points: str  # an SVG polyline: "x,y x,y ..."
    band: str  # the interval as an SVG polygon: upper limits forward, lower back
    dots: list[tuple[float, float, str, bool]]  # x, y, what the point says, provisional


@dataclass(frozen=True)
class LineChart:
    title: str
    description: str
    width: int
    height: int
    left: int
    top: int
    bottom: int  # y of the axis
    right: int
    lines: list[Line]
    x_ticks: list[tuple[float, str, str]]  # x, then the label's two lines
    y_ticks: list[tuple[float, str]]
    breaks: list[tuple[float, str]]  # a questionnaire change between windows: x, why
    broken: bool = False  # the axis does not start at 0
    provisional: bool = False  # a point drawn is provisional ([p])


def trend_charts(trend, title: str) -> list[LineChart]:
    """London's line with its interval band; with a breakdown, one small panel per group
    (small multiples, the same scales), each a line broken where a figure is withheld or
    the question changed."""
    groups = list(dict.fromkeys(s.group for seg in trend.segments for s in seg.series))
    labels = {s.group: s.label for seg in trend.segments for s in seg.series}
    windows = [w for seg in trend.segments for w in seg.windows]
    names = list(dict.fromkeys(name for name, _ in windows))
    words = dict(windows)
    shown = [
        p.estimate
        for seg in trend.segments
        for s in seg.series
        for p in s.points
        if p.estimate is not None
    ]
    if not shown or len(names) < 2:
        return []
    values = [
        v * 100
        for e in shown
        for v in (e.estimate, e.ci_lower, e.ci_upper)
        if v == v  # an interval that could not be worked out (NaN) is not drawn
    ]
    axis = fitted_axis(values, ticks=5)
    charts = []
    small = len(groups) > 1
    for group in groups:
        chart = _line_chart(trend, group, names, words, axis, f"{title}: {labels[group]}", small)
        if chart is not None:
            charts.append(chart)
    return charts


def _line_chart(trend, group, names, words, axis: Axis, title, small) -> LineChart | None:
    width, height = WIDTH, 220
    left, right, top, bottom = 52, width - 22, 14, height - 44  # room for "47.5%" and 2026
    step = (right - left) / max(len(names) - 1, 1)
    percent = axis.scale(bottom, top - bottom)

    def x(name: str) -> float:
        return round(left + step * names.index(name), 1)

    def y(value: float) -> float:
        return percent(value * 100)

    lines, described, breaks = [], [], []
    for at, segment in enumerate(trend.segments):
        series = next((s for s in segment.series if s.group == group), None)
        if series is None:
            continue
        if at and segment.breaks_because and segment.windows:
            breaks.append((x(segment.windows[0][0]) - step / 2, segment.breaks_because))
        run: list = []
        for point in [*series.points, None]:
            if point is not None and point.estimate is not None:
                run.append(point)
                described.append(point)
                continue
            if run:
                lines.append(_line(run, x, y, trend.provisional))
                run = []
    if not described:
        return None
    first, last = described[0], described[-1]
    description = (
        f"{len(described)} of {len(names)} periods shown, from "
        f"{first.estimate.estimate:.0%} in {first.label} to {last.estimate.estimate:.0%} in "
        f"{last.label}. The shaded band is the confidence interval.{axis.words()}"
    )
    provisional = [words[n] for n in names if n in trend.provisional]
    if provisional:
        description += f" Provisional ([p], open circles): {', '.join(provisional)}."
    description += " The table below gives every figure."
    every = max(1, math.ceil(56 / step))  # tick labels at least 56 units apart
    x_ticks = [
        (x(name), *_two_lines(words[name])) for i, name in enumerate(names) if i % every == 0
    ]
    y_ticks = [(percent(t), f"{t:g}%") for t in axis.ticks()]
    return LineChart(
        title, description, width, height, left, top, bottom, right, lines, x_ticks, y_ticks,
        breaks, axis.broken, bool(provisional),
    )  # fmt: skip


def _line(run, x, y, provisional: dict[str, str]) -> Line:
    forward = " ".join(f"{x(p.window)},{y(p.estimate.ci_upper)}" for p in run)
    back = " ".join(f"{x(p.window)},{y(p.estimate.ci_lower)}" for p in reversed(run))
    return Line(
        " ".join(f"{x(p.window)},{y(p.estimate.estimate)}" for p in run),
        f"{forward} {back}",
        [
            (
                x(p.window),
                y(p.estimate.estimate),
                f"{p.label}{' [p]' if p.window in provisional else ''}: "
                f"{p.estimate.estimate:.1%} ({p.estimate.ci_lower:.1%} to "
                f"{p.estimate.ci_upper:.1%})",
                p.window in provisional,
            )
            for p in run
        ],
    )


def _two_lines(label: str) -> tuple[str, str]:
    """ "Q2 2026" as "Q2" over "2026"; "year to Q2 2026" as "to Q2" over "2026"."""
    words = label.removeprefix("year ").split()
    if len(words) == 1:
        return words[0], ""
    return " ".join(words[:-1]), words[-1]


def adjusted_chart(adjusted) -> DotPlot | None:
    """Each shown group's adjusted share with its interval, least reached at the top, and
    the line for London as a whole."""
    shown = [g for g in adjusted.groups if g.share is not None]
    if not shown:
        return None
    axis = fitted_axis([v * 100 for g in shown for v in (g.share, g.low, g.high, adjusted.london)])
    description = (
        f"{len(shown)} groups, adjusted, from {shown[0].share:.0%} ({shown[0].label}) to "
        f"{shown[-1].share:.0%} ({shown[-1].label}); London {adjusted.london:.1%}."
        f"{axis.words()} The table below gives every figure."
    )
    return _dots(
        f"{adjusted.indicator.label.get()}: adjusted share by group",
        description,
        [
            (f"{BY_NAME[g.variable].label}: {g.label}", g.share * 100, g.low * 100, g.high * 100)
            for g in shown
        ],
        axis,
        adjusted.london * 100,
        "London",
    )


def _modelled_rows(by_code: dict, rows: list[Row], modelled) -> dict:
    """The borough rows with their modelled estimates in place of the direct ones, and the
    comparison of the modelled interval with London's estimate."""
    from dataclasses import replace

    overall = next((r for r in rows if r.is_overall), None)
    london = overall.estimate if overall is not None else None
    found = {}
    for code, row in by_code.items():
        area = modelled.areas.get(code)
        if area is None or london is None or not area.narrows:
            note = "the model does not shorten its interval" if area is not None else row.note
            found[code] = replace(row, estimate=None, note=note)
            continue
        low, high = area.low * 100, area.high * 100
        comparison = (
            "higher" if low > london else "lower" if high < london else "no clear difference"
        )
        found[code] = replace(
            row, estimate=area.estimate * 100, ci_low=low, ci_high=high, comparison=comparison
        )
    return found


@dataclass(frozen=True)
class Pair:
    label: tuple[str, ...]  # one item per line
    top: float  # y of the label's first line
    y: float  # y of the direct estimate; the modelled one is 10 units below
    direct: tuple[float, float, float]  # x of the estimate, its lower and upper limit
    modelled: tuple[float, float, float]
    text: str


@dataclass(frozen=True)
class PairedPlot:
    title: str
    description: str
    pairs: list[Pair]
    width: int
    height: int
    left: int
    right: int
    bottom: int  # y of the axis
    ticks: list[tuple[float, str]]
    london_x: float | None
    broken: bool  # the axis does not start at 0


def modelled_chart(
    rows: list[Row], modelled, title: str, *, by_estimate: bool = False
) -> PairedPlot | None:
    """Each borough's direct estimate and its modelled one, each with its interval, so the
    shrinkage shows: a small borough's modelled interval is shorter and nearer London.
    Boroughs in the table's order, or by direct estimate."""
    by_code = {r.codes[0]: r for r in rows if not r.is_overall and r.estimate is not None}
    shown = [(row, modelled.areas.get(row.codes[0])) for row in by_code.values()]
    shown = [(row, area) for row, area in shown if area is not None and area.narrows]
    if not shown:
        return None
    if by_estimate:
        shown.sort(key=lambda pair: pair[0].estimate)
    overall = next((r for r in rows if r.is_overall and r.estimate is not None), None)
    axis = fitted_axis(
        [
            *(v for row, _ in shown for v in (row.estimate, row.ci_low, row.ci_high)),
            *(v * 100 for _, area in shown for v in (area.estimate, area.low, area.high)),
            *([overall.estimate] if overall else []),
        ]
    )
    left, right, top = 16, WIDTH - 16, 30
    x = axis.scale(left, right - left)
    pairs = []
    for row, area in shown:
        lines = _wrapped(row.labels[0])
        y = top + LINE * len(lines) + 2
        pairs.append(
            Pair(
                lines,
                top + 12,
                y,
                (x(row.estimate), x(row.ci_low), x(row.ci_high)),
                (x(area.estimate * 100), x(area.low * 100), x(area.high * 100)),
                f"{row.labels[0]}: direct {row.estimate:.1f}% ({row.ci_low:.1f}% to "
                f"{row.ci_high:.1f}%), modelled {area.estimate:.1%} ({area.low:.1%} to "
                f"{area.high:.1%})",
            )
        )
        top = y + 22
    moved = max(shown, key=lambda pair: pair[1].shrinkage)
    description = (
        f"{len(shown)} boroughs, each with its direct estimate (circle) and its modelled "
        f"estimate (square) and their intervals. {moved[0].labels[0]} moves most towards the "
        f"model ({moved[1].shrinkage:.0%} of the way).{axis.words()} The table below gives "
        "every figure."
    )
    bottom = top + 6
    return PairedPlot(
        f"{title}: direct and modelled",
        description,
        pairs,
        WIDTH,
        bottom + 24,
        left,
        right,
        bottom,
        [(x(t), f"{t:g}%") for t in axis.ticks()],
        x(overall.estimate) if overall else None,
        axis.broken,
    )
