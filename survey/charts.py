"""Charts drawn on the server as SVG: geometry here, drawing in templates/analyst/.

Both charts come with a title, a description and the table on the same page as their text
alternative, and need no JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Dot:
    label: str
    y: float
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
    plot_width: int
    london_x: float | None
    ticks: list[tuple[float, str]]
    overall_label: str = "London"


def dot_plots(rows: list[Row], title: str) -> list[DotPlot]:
    """One chart for one breakdown; for two, small multiples: a panel for each group of the
    second breakdown, the first breakdown's groups down each, with that group's total."""
    if not rows or len(rows[0].labels) == 1:
        chart = dot_plot(rows, title)
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
) -> DotPlot | None:
    """Groups sorted by estimate, each with its interval, and the line for everyone."""
    shown = [r for r in rows if r is not overall and not r.is_overall and r.estimate is not None]
    if not shown:
        return None
    shown.sort(key=lambda r: r.estimate)
    left, plot_width, step = 230, 380, 26
    width, height = left + plot_width + 30, 40 + step * len(shown) + 30

    def x(percent: float) -> float:
        return left + plot_width * percent / 100

    if overall is None:
        overall = next((r for r in rows if r.is_overall), None)
    if overall is not None and overall.estimate is None:
        overall = None
    dots = [
        Dot(
            label(r),
            30 + step * i,
            x(r.estimate),
            x(r.ci_low),
            x(r.ci_high),
            f"{label(r)}: {r.estimate:.1f}% ({r.ci_low:.1f}% to {r.ci_high:.1f}%)",
        )
        for i, r in enumerate(shown)
    ]
    description = (
        f"{len(shown)} groups from {shown[0].estimate:.0f}% ({label(shown[0])}) to "
        f"{shown[-1].estimate:.0f}% ({label(shown[-1])})"
    )
    if overall is not None:
        description += f"; {overall_label} {overall.estimate:.1f}%"
    return DotPlot(
        title,
        description + ". The table below gives every figure.",
        dots,
        width,
        height,
        left,
        plot_width,
        x(overall.estimate) if overall else None,
        [(x(p), f"{p}%") for p in range(0, 101, 20)],
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
    dots: list[tuple[float, float, str]]  # x, y and what the point says


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
    low = min(e.ci_lower for e in shown if e.ci_lower == e.ci_lower)
    high = max(e.ci_upper for e in shown if e.ci_upper == e.ci_upper)
    low, high = max(0.0, _floor_tenth(low)), min(1.0, _ceil_tenth(high))
    if high <= low:
        high = min(1.0, low + 0.1)
    charts = []
    small = len(groups) > 1
    for group in groups:
        chart = _line_chart(
            trend, group, names, words, (low, high), f"{title}: {labels[group]}", small
        )
        if chart is not None:
            charts.append(chart)
    return charts


def _floor_tenth(value: float) -> float:
    return int(value * 10) / 10


def _ceil_tenth(value: float) -> float:
    return -int(-value * 10) / 10


def _line_chart(trend, group, names, words, scale, title, small) -> LineChart | None:
    width, height = (320, 220) if small else (640, 300)
    left, right, top, bottom = 44, width - 28, 14, height - 44  # room for the last label
    low, high = scale
    step = (right - left) / max(len(names) - 1, 1)

    def x(name: str) -> float:
        return round(left + step * names.index(name), 1)

    def y(value: float) -> float:
        return round(bottom - (bottom - top) * (value - low) / (high - low), 1)

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
                lines.append(_line(run, x, y))
                run = []
    if not described:
        return None
    first, last = described[0], described[-1]
    description = (
        f"{len(described)} of {len(names)} periods shown, from "
        f"{first.estimate.estimate:.0%} in {first.label} to {last.estimate.estimate:.0%} in "
        f"{last.label}. The shaded band is the confidence interval. The table below gives "
        "every figure."
    )
    every = max(1, round(len(names) / (5 if small else 9)))
    x_ticks = [
        (x(name), *_two_lines(words[name])) for i, name in enumerate(names) if i % every == 0
    ]
    y_ticks = [(y(v / 100), f"{v}%") for v in range(round(low * 100), round(high * 100) + 1, 10)]
    return LineChart(
        title, description, width, height, left, top, bottom, right, lines, x_ticks, y_ticks,
        breaks,
    )  # fmt: skip


def _line(run, x, y) -> Line:
    forward = " ".join(f"{x(p.window)},{y(p.estimate.ci_upper)}" for p in run)
    back = " ".join(f"{x(p.window)},{y(p.estimate.ci_lower)}" for p in reversed(run))
    return Line(
        " ".join(f"{x(p.window)},{y(p.estimate.estimate)}" for p in run),
        f"{forward} {back}",
        [
            (
                x(p.window),
                y(p.estimate.estimate),
                f"{p.label}: {p.estimate.estimate:.1%} ({p.estimate.ci_lower:.1%} to "
                f"{p.estimate.ci_upper:.1%})",
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
    left, plot_width, step = 270, 380, 26  # room for the longest ethnic group's name
    width, height = left + plot_width + 30, 40 + step * len(shown) + 30

    def x(share: float) -> float:
        return left + plot_width * share

    dots = [
        Dot(
            g.label,
            30 + step * i,
            x(g.share),
            x(g.low),
            x(g.high),
            f"{g.label}: {g.share:.1%} ({g.low:.1%} to {g.high:.1%})",
        )
        for i, g in enumerate(shown)
    ]
    description = (
        f"{len(shown)} groups, adjusted, from {shown[0].share:.0%} ({shown[0].label}) to "
        f"{shown[-1].share:.0%} ({shown[-1].label}); London {adjusted.london:.1%}. The table "
        "below gives every figure."
    )
    return DotPlot(
        f"{adjusted.indicator.label.get()}: adjusted share by group",
        description,
        dots,
        width,
        height,
        left,
        plot_width,
        x(adjusted.london),
        [(x(p / 100), f"{p}%") for p in range(0, 101, 20)],
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
        if area is None or london is None:
            found[code] = replace(row, estimate=None)
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
    label: str
    y: float
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
    ticks: list[tuple[float, str]]
    london_x: float | None


def modelled_chart(rows: list[Row], modelled, title: str) -> PairedPlot | None:
    """Each borough's direct estimate and its modelled one, each with its interval, so the
    shrinkage shows: a small borough's modelled interval is shorter and nearer London."""
    by_code = {r.codes[0]: r for r in rows if not r.is_overall and r.estimate is not None}
    shown = [(by_code[c], a) for c, a in modelled.areas.items() if c in by_code]
    if not shown:
        return None
    shown.sort(key=lambda pair: pair[0].estimate)
    left, plot_width, step = 230, 380, 30
    width, height = left + plot_width + 30, 40 + step * len(shown) + 30

    def x(percent: float) -> float:
        return round(left + plot_width * percent / 100, 1)

    pairs = [
        Pair(
            row.labels[0],
            30 + step * i,
            (x(row.estimate), x(row.ci_low), x(row.ci_high)),
            (x(area.estimate * 100), x(area.low * 100), x(area.high * 100)),
            f"{row.labels[0]}: direct {row.estimate:.1f}% ({row.ci_low:.1f}% to "
            f"{row.ci_high:.1f}%), modelled {area.estimate:.1%} ({area.low:.1%} to "
            f"{area.high:.1%})",
        )
        for i, (row, area) in enumerate(shown)
    ]
    overall = next((r for r in rows if r.is_overall and r.estimate is not None), None)
    moved = max(shown, key=lambda pair: pair[1].shrinkage)
    description = (
        f"{len(shown)} boroughs, each with its direct estimate (circle) and its modelled "
        f"estimate (square) and their intervals. {moved[0].labels[0]} moves most towards the "
        f"model ({moved[1].shrinkage:.0%} of the way). The table below gives every figure."
    )
    return PairedPlot(
        f"{title}: direct and modelled",
        description,
        pairs,
        width,
        height,
        left,
        [(x(p), f"{p}%") for p in range(0, 101, 20)],
        x(overall.estimate) if overall else None,
    )
