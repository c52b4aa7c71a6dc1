"""Change over time matches R's survey package at 1e-6: estimates by quarter, year and
rolling four-quarter window, each period raked on its own, and the changes between them,
overlapping windows included (the data, the R script and its output are in
tests/data/trends; R's `svyratio(covmat = TRUE)` and `svycontrast` on a design with the
period as strata). Degrees of freedom are each group's own over the periods used, as R's
`degf` of the subset gives, for intervals, p-values and the smallest detectable change."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from analysis import Proportion
from analysis.trends import ALL, TrendDesign, Window, quarters_between, rolling_windows

DATA = Path(__file__).parents[1] / "data" / "trends"
TOLERANCE = 1e-6
INDICATOR = Proportion("answer", ["yes"], ["dont_know"])


def _read(name: str) -> list[dict]:
    with (DATA / name).open(newline="") as file:
        return list(csv.DictReader(file))


ROWS = _read("trend-data.csv")
EXPECTED = {(r["design"], r["name"], r["figure"]): float(r["value"]) for r in _read("expected.csv")}
MARGINS: dict[str, dict[str, float]] = {}
for row in _read("population.csv"):
    MARGINS.setdefault(row["margin"], {})[row["category"]] = float(row["population"])
QUARTERS = sorted({r["quarter"] for r in ROWS})
WINDOWS = {f"W{i}": w for i, w in enumerate(rolling_windows(QUARTERS), start=1)}
GROUPS = {"all": ALL, "Hackney": "Hackney", "Camden": "Camden"}


def design(period: str, weights: str | None = None) -> TrendDesign:
    columns = {name: [r[name] for r in ROWS] for name in ROWS[0]}
    return TrendDesign(
        columns, indicator=INDICATOR, period=period, margins=MARGINS, by="borough", weights=weights
    )


@pytest.fixture(scope="module")
def by_quarter() -> TrendDesign:
    return design("quarter")


@pytest.fixture(scope="module")
def by_year() -> TrendDesign:
    return design("year")


def window(stem: str) -> Window:
    if stem.startswith("W"):
        return WINDOWS[stem]
    if stem.startswith("Q"):
        quarter = QUARTERS[int(stem[1:]) - 1]
        return Window(quarter, (quarter,))
    return Window(stem[1:], (stem[1:],))


def test_the_windows_are_every_run_of_four_quarters():
    assert quarters_between("2024-Q3", "2026-Q2") == QUARTERS
    assert [w.name for w in WINDOWS.values()] == [
        "year to 2025-Q2", "year to 2025-Q3", "year to 2025-Q4", "year to 2026-Q1",
        "year to 2026-Q2",
    ]  # fmt: skip
    assert WINDOWS["W2"].periods == ("2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3")


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("stem", [*WINDOWS, *(f"Q{i}" for i in range(1, 9))])
def test_quarter_and_window_estimates_match_r(by_quarter, stem, group):
    found = by_quarter.estimate(window(stem), GROUPS[group])
    assert found.estimate == pytest.approx(
        EXPECTED["quarter", f"{stem} {group}", "estimate"], abs=TOLERANCE
    )
    assert found.standard_error == pytest.approx(
        EXPECTED["quarter", f"{stem} {group}", "se"], abs=TOLERANCE
    )
    _check_interval(by_quarter, "quarter", stem, group)


def _check_interval(design: TrendDesign, kind: str, stem: str, group: str) -> None:
    """The group's own degrees of freedom (R's degf of the subset, not the whole design's),
    and the Korn-Graubard interval they give, worked in R from R's variance and degf."""
    name = f"{stem} {group}"
    assert design.group_df([window(stem)], GROUPS[group]) == EXPECTED[kind, name, "df"]
    found = design.estimate(window(stem), GROUPS[group])
    assert found.ci_lower == pytest.approx(EXPECTED[kind, name, "ci_low"], abs=TOLERANCE)
    assert found.ci_upper == pytest.approx(EXPECTED[kind, name, "ci_high"], abs=TOLERANCE)


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("stem", ["Y2024", "Y2025", "Y2026"])
def test_year_estimates_raked_within_each_year_match_r(by_year, stem, group):
    found = by_year.estimate(window(stem), GROUPS[group])
    assert found.estimate == pytest.approx(
        EXPECTED["year", f"{stem} {group}", "estimate"], abs=TOLERANCE
    )
    assert found.standard_error == pytest.approx(
        EXPECTED["year", f"{stem} {group}", "se"], abs=TOLERANCE
    )
    _check_interval(by_year, "year", stem, group)


CHANGES = [
    ("quarter", "W1", "W2"),  # three quarters shared
    ("quarter", "W2", "W5"),  # one shared
    ("quarter", "W1", "W5"),  # none shared
    ("quarter", "Q7", "Q8"),  # quarter on quarter
    ("year", "Y2024", "Y2025"),
    ("year", "Y2025", "Y2026"),  # year on year
]


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize(("kind", "start", "end"), CHANGES)
def test_changes_match_r_overlapping_windows_included(by_quarter, by_year, kind, start, end, group):
    chosen = by_quarter if kind == "quarter" else by_year
    found = chosen.change(window(start), window(end), GROUPS[group])
    name = f"{end} minus {start} {group}"
    assert found.change == pytest.approx(EXPECTED[kind, name, "change"], abs=TOLERANCE)
    assert found.standard_error == pytest.approx(EXPECTED[kind, name, "se"], abs=TOLERANCE)
    assert found.p_value == pytest.approx(EXPECTED[kind, name, "p_value"], abs=TOLERANCE)
    assert found.df == EXPECTED[kind, name, "df"]  # the group's, over both windows
    assert found.ci_lower == pytest.approx(EXPECTED[kind, name, "ci_low"], abs=TOLERANCE)
    assert found.ci_upper == pytest.approx(EXPECTED[kind, name, "ci_high"], abs=TOLERANCE)
    assert found.minimum_detectable_change == pytest.approx(
        EXPECTED[kind, name, "mdc"], abs=TOLERANCE
    )


def test_overlapping_windows_are_not_treated_as_independent(by_quarter):
    """Windows sharing three of four quarters: treating them as independent would nearly
    double the standard error of the change (1.8 times here)."""
    found = by_quarter.change(WINDOWS["W1"], WINDOWS["W2"])
    independent = EXPECTED["quarter", "W2 minus W1 all", "se_if_independent"]
    assert found.overlapping
    assert independent > 1.7 * found.standard_error
    apart = by_quarter.change(WINDOWS["W1"], WINDOWS["W5"])
    assert not apart.overlapping
    assert apart.standard_error == pytest.approx(
        EXPECTED["quarter", "W5 minus W1 all", "se_if_independent"], rel=1e-9
    )


def test_the_minimum_detectable_change_is_shown_beside_every_change(by_year):
    found = by_year.change(window("Y2025"), window("Y2026"))
    # 80% power, 5% two-sided: about 2.8 standard errors on these degrees of freedom.
    assert found.minimum_detectable_change == pytest.approx(2.80 * found.standard_error, rel=0.01)
    assert found.ci_lower < found.change < found.ci_upper


def test_many_groups_at_once_are_adjusted_across_the_family(by_quarter):
    start, end = WINDOWS["W1"], WINDOWS["W5"]
    found = by_quarter.changes(start, end, ["Barnet", "Camden", "Ealing", "Hackney"], adjust="holm")
    raw = sorted(c.p_value for c in found)
    adjusted = sorted(c.p_value_adjusted for c in found)
    assert adjusted[0] == pytest.approx(min(1.0, 4 * raw[0]))
    assert all(a >= r for a, r in zip(adjusted, raw, strict=True))


def test_each_period_is_raked_to_the_population_on_its_own(by_quarter):
    stratum = np.array([QUARTERS.index(r["quarter"]) for r in ROWS])
    boroughs = np.array([r["borough"] for r in ROWS])
    for h in range(len(QUARTERS)):
        inside = stratum == h
        assert by_quarter.w[inside].sum() == pytest.approx(sum(MARGINS["borough"].values()))
        hackney = by_quarter.w[inside & (boroughs == "Hackney")].sum()
        assert hackney == pytest.approx(MARGINS["borough"]["Hackney"])
    assert by_quarter.w[0] == pytest.approx(EXPECTED["quarter", "weights", "first"], rel=1e-7)


def test_a_period_that_cannot_be_raked_is_left_out_with_the_reason():
    rows = [r for r in ROWS if not (r["quarter"] == "2024-Q3" and r["borough"] == "Hackney")]
    columns = {name: [r[name] for r in rows] for name in rows[0]}
    found = TrendDesign(columns, indicator=INDICATOR, period="quarter", margins=MARGINS)
    assert "2024-Q3" not in found.periods and len(found.periods) == 7
    assert "Hackney" in found.unweighted["2024-Q3"]
    assert 0 < found.estimate(WINDOWS["W5"]).standard_error < 0.05  # the rest still estimate
    # Margins for that period without Hackney (its population shared by the others) rake.
    shared = {**MARGINS, "borough": {k: v for k, v in MARGINS["borough"].items() if k != "Hackney"}}
    total = sum(MARGINS["borough"].values())
    shared["borough"] = {
        k: v * total / sum(shared["borough"].values()) for k, v in shared["borough"].items()
    }
    again = TrendDesign(
        columns, indicator=INDICATOR, period="quarter", margins=MARGINS,
        period_margins={"2024-Q3": shared},
    )  # fmt: skip
    assert again.periods == tuple(QUARTERS) and not again.unweighted
    assert again.estimate(Window("2024-Q3", ("2024-Q3",))).n > 80


FROM_WEIGHTS = "quarter from design weights"


@pytest.fixture(scope="module")
def from_weights() -> TrendDesign:
    return design("quarter", weights="design_weight")


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("stem", [*WINDOWS, *(f"Q{i}" for i in range(1, 9))])
def test_raking_from_design_weights_matches_r(from_weights, by_quarter, stem, group):
    """Each period raked from the respondents' design weights, as R rakes a design made
    with `weights = ~design_weight`: other weights, other estimates and errors, each R's."""
    found = from_weights.estimate(window(stem), GROUPS[group])
    name = f"{stem} {group}"
    assert found.estimate == pytest.approx(EXPECTED[FROM_WEIGHTS, name, "estimate"], abs=TOLERANCE)
    assert found.standard_error == pytest.approx(EXPECTED[FROM_WEIGHTS, name, "se"], abs=TOLERANCE)
    assert found.ci_lower == pytest.approx(EXPECTED[FROM_WEIGHTS, name, "ci_low"], abs=TOLERANCE)
    plain = by_quarter.estimate(window(stem), GROUPS[group])
    moved = abs(found.estimate - plain.estimate) + abs(found.standard_error - plain.standard_error)
    assert moved > 1e-4  # the design weights counted


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize(("start", "end"), [("W1", "W5"), ("Q7", "Q8")])
def test_changes_raked_from_design_weights_match_r(from_weights, start, end, group):
    found = from_weights.change(window(start), window(end), GROUPS[group])
    name = f"{end} minus {start} {group}"
    assert found.change == pytest.approx(EXPECTED[FROM_WEIGHTS, name, "change"], abs=TOLERANCE)
    assert found.standard_error == pytest.approx(EXPECTED[FROM_WEIGHTS, name, "se"], abs=TOLERANCE)
    assert found.p_value == pytest.approx(EXPECTED[FROM_WEIGHTS, name, "p_value"], abs=TOLERANCE)


def test_raked_weights_start_from_the_design_weights(from_weights):
    first = EXPECTED[FROM_WEIGHTS, "weights", "first"]
    assert from_weights.w[0] == pytest.approx(first, rel=1e-7)  # as for 1 per respondent
