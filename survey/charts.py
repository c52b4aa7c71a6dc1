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
PALETTE = ("#d2e2f1", "#9fc3e6", "#5694ca", "#1d70b8", "#003078")  # light to dark
DARK_TEXT = 2  # bins from this one on get white text


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


def dot_plot(rows: list[Row], title: str) -> DotPlot | None:
    """Groups sorted by estimate, each with its interval, and the London line."""
    shown = [r for r in rows if not r.is_overall and r.estimate is not None]
    if not shown:
        return None
    shown.sort(key=lambda r: r.estimate)
    left, plot_width, step = 230, 380, 26
    width, height = left + plot_width + 30, 40 + step * len(shown) + 30

    def x(percent: float) -> float:
        return left + plot_width * percent / 100

    overall = next((r for r in rows if r.is_overall and r.estimate is not None), None)
    dots = [
        Dot(
            " / ".join(r.labels),
            30 + step * i,
            x(r.estimate),
            x(r.ci_low),
            x(r.ci_high),
            f"{' / '.join(r.labels)}: {r.estimate:.1f}% ({r.ci_low:.1f}% to {r.ci_high:.1f}%)",
        )
        for i, r in enumerate(shown)
    ]
    description = (
        f"{len(shown)} groups from {shown[0].estimate:.0f}% "
        f"({' / '.join(shown[0].labels)}) to {shown[-1].estimate:.0f}% "
        f"({' / '.join(shown[-1].labels)})"
    )
    if overall is not None:
        description += f"; London overall {overall.estimate:.1f}%"
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


@dataclass(frozen=True)
class TileMap:
    title: str
    description: str
    tiles: list[Tile]
    legend: list[tuple[str, str]]
    width: int
    height: int


def tile_map(rows: list[Row], title: str) -> TileMap | None:
    """One equal square per local authority, coloured by estimate, hatched if not shown."""
    by_code = {r.codes[0]: r for r in rows if not r.is_overall and len(r.codes) == 1}
    if not any(code in TILES for code in by_code):
        return None
    values = [r.estimate for c, r in by_code.items() if c in TILES and r.estimate is not None]
    low, high = (min(values), max(values)) if values else (0.0, 100.0)
    span = max(high - low, 1e-9)
    edges = [low + span * i / len(PALETTE) for i in range(len(PALETTE) + 1)]
    tiles = []
    for code, (column, row_number, short) in TILES.items():
        row = by_code.get(code)
        name = row.labels[0] if row else code
        if row is None or row.estimate is None:
            fill, dark = None, False
            text = f"{name}: not shown ({row.note.lower() if row and row.note else 'no responses'})"
        else:
            band = min(int((row.estimate - low) / span * len(PALETTE)), len(PALETTE) - 1)
            fill, dark = PALETTE[band], band >= DARK_TEXT
            text = f"{name}: {row.estimate:.1f}%"
        tiles.append(
            Tile(column * (TILE + GAP), row_number * (TILE + GAP), short, name, fill, dark, text)
        )
    legend = [(PALETTE[i], f"{edges[i]:.0f}% to {edges[i + 1]:.0f}%") for i in range(len(PALETTE))]
    shown = sum(1 for t in tiles if t.fill)
    description = (
        f"{shown} of 33 areas shown, from {low:.0f}% to {high:.0f}%; hatched areas "
        "are not shown to protect small groups or because the estimate is too "
        "uncertain. The table below gives every figure."
    )
    return TileMap(title, description, tiles, legend, 8 * (TILE + GAP), 7 * (TILE + GAP))
