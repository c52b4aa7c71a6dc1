"""Chart geometry: every axis holds every estimate and interval drawn on it, ordered groups
keep their order, and labels wrap rather than lose their ends."""

from __future__ import annotations

import math
from types import SimpleNamespace

from hypothesis import assume, given
from hypothesis import strategies as st

from analysis.trends import PeriodEstimate
from survey import charts
from survey.services.exports import Row
from survey.services.reporting.trends import Segment, TrendPoint, TrendSeries

QUARTERS = [f"{year}-Q{q}" for year in (2024, 2025, 2026) for q in (1, 2, 3, 4)]


def _interval(draw_estimate: float, below: float, above: float) -> tuple[float, float, float]:
    return max(0.0, draw_estimate - below), draw_estimate, min(1.0, draw_estimate + above)


intervals = st.builds(
    _interval,
    st.floats(0, 1),
    st.floats(0, 0.4),
    st.floats(0, 0.4),
)


def _trend(series: dict[str, list[tuple[float, float, float] | None]]):
    """What the trends page hands its charts: one segment, a series per group, a point per
    quarter (None: withheld)."""
    windows = [(q, f"Q{q[-1]} {q[:4]}") for q in QUARTERS[: len(next(iter(series.values())))]]
    made = []
    for group, points in series.items():
        made.append(
            TrendSeries(
                group,
                group,
                [
                    TrendPoint(
                        name,
                        label,
                        None
                        if point is None
                        else PeriodEstimate(name, group, point[1], 0.02, *point[::2], 50, 20),
                        "too few responses" if point is None else None,
                        None,
                    )
                    for (name, label), point in zip(windows, points, strict=True)
                ],
            )
        )
    segment = Segment((1,), windows, made, {}, {}, None)
    return SimpleNamespace(segments=[segment], provisional={})


def _numbers(points: str) -> list[tuple[float, float]]:
    return [tuple(float(v) for v in pair.split(",")) for pair in points.split()]


def _inside_line_chart(chart: charts.LineChart) -> list[tuple[float, float]]:
    """Every drawn coordinate outside the chart's plot area."""
    drawn = []
    for line in chart.lines:
        drawn += _numbers(line.points) + _numbers(line.band)
        drawn += [(x, y) for x, y, *_ in line.dots]
    drawn += [(chart.left, y) for y, _ in chart.y_ticks]
    return [
        (x, y)
        for x, y in drawn
        if not (chart.left <= x <= chart.right and chart.top <= y <= chart.bottom)
    ]


@given(
    st.integers(2, 12).flatmap(
        lambda length: st.lists(
            st.lists(st.one_of(st.none(), intervals), min_size=length, max_size=length),
            min_size=1,
            max_size=4,
        )
    )
)
def test_every_point_and_band_of_a_trend_lies_inside_its_chart(groups):
    assume(any(point is not None for points in groups for point in points))
    trend = _trend({f"group {i}": points for i, points in enumerate(groups)})
    drawn = charts.trend_charts(trend, "Has heard of Prevent")
    assert drawn
    for chart in drawn:
        assert _inside_line_chart(chart) == []
        assert chart.y_ticks[0][1] != chart.y_ticks[-1][1]  # at least two ticks
        if chart.broken:
            assert "The axis starts at" in chart.description


def test_estimates_of_41_to_45_percent_are_drawn_on_an_axis_that_holds_them():
    """The rolling-year chart the demo showed: estimates 41-45%, intervals 38-48%, once drawn
    on a 30-40% axis with the line off the chart."""
    points = [(0.38, 0.41, 0.44), (0.40, 0.43, 0.46), (0.42, 0.45, 0.48), (0.39, 0.42, 0.45)]
    (chart,) = charts.trend_charts(_trend({"All": points}), "Has heard of Prevent")
    assert _inside_line_chart(chart) == []
    labels = [label for _, label in chart.y_ticks]
    assert labels[0] <= "38%" and labels[-1] >= "48%"
    assert chart.broken and "not 0" in chart.description
    # Quarters whose intervals reach 53%: the band is not cut flat at 50%.
    points = [(0.41, 0.47, 0.53), (0.40, 0.46, 0.52)]
    (chart,) = charts.trend_charts(_trend({"All": points}), "Has heard of Prevent")
    assert _inside_line_chart(chart) == []
    assert float(chart.y_ticks[-1][1].rstrip("%")) >= 53


def _row(label: str, code: str, estimate: float, low: float, high: float, overall=False) -> Row:
    return Row(
        (label,), (code,), overall, 100, estimate, low, high, 90.0,
        None, None, None, None, "", "", "", "",
    )  # fmt: skip


rows = st.lists(
    st.tuples(st.floats(0, 100), st.floats(0, 40), st.floats(0, 40)),
    min_size=1,
    max_size=12,
)


@given(rows, st.floats(0, 100), st.booleans())
def test_every_dot_and_interval_lies_inside_its_chart(groups, london, by_estimate):
    made = [
        _row(f"Group {i}", f"g{i}", e, max(0.0, e - below), min(100.0, e + above))
        for i, (e, below, above) in enumerate(groups)
    ]
    made.append(_row("London", "All", london, london - 1, london + 1, overall=True))
    (chart,) = charts.dot_plots(made, "Has heard of Prevent", by_estimate=by_estimate)
    for dot in chart.dots:
        for x in (dot.x, dot.low, dot.high):
            assert chart.left <= x <= chart.right
        assert dot.y < chart.bottom
    assert chart.left <= chart.london_x <= chart.right
    assert all(chart.left <= x <= chart.right for x, _ in chart.ticks)
    assert chart.dots[0].top > 16  # below the overall line's label


def test_age_bands_keep_their_order_and_sort_by_estimate_only_when_asked():
    bands = [("16-24", 52), ("25-34", 41), ("35-44", 47), ("45-54", 38), ("55-64", 44)]
    made = [_row(band, band, e, e - 5, e + 5) for band, e in bands]
    (chart,) = charts.dot_plots(made, "Has heard of Prevent by age band")
    assert [dot.label[0] for dot in chart.dots] == [band for band, _ in bands]
    (chart,) = charts.dot_plots(made, "Has heard of Prevent by age band", by_estimate=True)
    assert [dot.label[0] for dot in chart.dots] == ["45-54", "25-34", "55-64", "35-44", "16-24"]


def test_the_axis_fits_the_estimates_instead_of_running_from_0_to_100():
    made = [_row(f"Group {i}", str(i), e, e - 4, e + 4) for i, e in enumerate((38, 45, 51))]
    (chart,) = charts.dot_plots(made, "Has heard of Prevent")
    labels = [label for _, label in chart.ticks]
    assert labels[0] != "0%" and labels[-1] != "100%"
    assert chart.broken and "The axis starts at" in chart.description
    near_zero = [_row(f"Group {i}", str(i), e, max(0, e - 4), e + 4) for i, e in enumerate((3, 9))]
    (chart,) = charts.dot_plots(near_zero, "Has been referred")
    assert chart.ticks[0][1] == "0%" and not chart.broken


def test_a_long_group_name_wraps_and_keeps_every_word():
    name = "Black, Black British, Caribbean or African"
    (chart,) = charts.dot_plots([_row(name, "black", 44, 40, 48)], "Has heard of Prevent")
    lines = chart.dots[0].label
    assert len(lines) > 1 and " ".join(lines) == name
    assert all(len(line) <= charts.WRAP for line in lines)


@given(st.floats(0, 100), st.floats(0, 100))
def test_a_fitted_axis_holds_its_values_with_round_ticks(a, b):
    axis = charts.fitted_axis([a, b])
    assert axis.low <= min(a, b) and axis.high >= max(a, b)
    assert 0 <= axis.low < axis.high <= 100
    ticks = axis.ticks()
    assert 2 <= len(ticks) <= 7
    assert all(math.isclose(t / axis.step, round(t / axis.step)) for t in ticks)
