"""summarise: design-based estimates, comparisons and what may be published."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import Mean, Proportion, proportion_ci, summarise
from tests.properties import examples

REFERENCE = {
    c["label"]: c
    for c in json.loads(
        (Path(__file__).parents[1] / "data" / "reference-weighting.json").read_text()
    )["cases"]
}
TSUCHIYA_UNEQUAL = REFERENCE["linearised weighted mean, unequal weights (Tsuchiya data)"]
TSUCHIYA_EQUAL = REFERENCE["linearised weighted mean, equal weights (Tsuchiya data)"]


def synthetic(size=3000, seed=7):
    rng = np.random.default_rng(seed)
    borough = rng.choice(
        [f"b{i}" for i in range(6)], size=size, p=[0.3, 0.25, 0.2, 0.15, 0.07, 0.03]
    )
    sex = rng.choice(["f", "m"], size=size, p=[0.6, 0.4])
    age = rng.choice(["young", "mid", "old"], size=size, p=[0.2, 0.5, 0.3])
    chance = 0.3 + 0.3 * (sex == "f") + 0.1 * (age == "old")
    heard = np.where(rng.random(size) < chance, "yes", "no")
    heard[rng.random(size) < 0.05] = "dont_know"
    return {"borough": borough, "sex": sex, "age": age, "heard": heard}


MARGINS = {
    "borough": {f"b{i}": v for i, v in enumerate([1000, 1000, 900, 800, 700, 600])},
    "sex": {"f": 2500, "m": 2500},
    "age": {"young": 1500, "mid": 2000, "old": 1500},
}
HEARD = Proportion("heard", ["yes"], exclude=["dont_know"])


def brute_force_raked_variance(data, result_weights, group_mask, y, margins_columns):
    """R's procedure at respondent level: z = w(y-p)/W in the group, projected on each
    raking margin by iterating z <- z - w * mean(z/w | category) until it stops changing."""
    w = result_weights
    d = group_mask.astype(float)
    p = np.sum(d * w * y) / np.sum(d * w)
    z = d * w * (y - p) / np.sum(d * w)
    for _ in range(5000):
        before = z.copy()
        for column in margins_columns:
            labels, codes = np.unique(data[column], return_inverse=True)
            means = np.bincount(codes, weights=z / w) / np.bincount(codes)
            z = z - w * means[codes]
        if np.max(np.abs(z - before)) < 1e-18:
            break
    n = len(z)
    return p, n / (n - 1) * np.sum((z - z.mean()) ** 2)


def test_weighted_mean_and_se_match_r_survey_on_the_tsuchiya_data():
    for case in (TSUCHIYA_UNEQUAL, TSUCHIYA_EQUAL):
        data = {
            "y": [str(v) for v in case["inputs"]["y"]],
            "w": case["inputs"]["w"],
            "all": ["x"] * 10,
        }
        table = summarise(
            data,
            indicator=Mean("y"),
            by="all",
            weights="w",
            min_cell=1,
            compare=False,
            withhold_unreliable=False,
        )
        row = table.row("All")
        assert row.n == 10
        assert table.row("x").estimate == pytest.approx(
            case["expected"]["mean"], abs=case["abs_tol"]["mean"]
        )
        assert row.estimate == pytest.approx(case["expected"]["mean"], abs=case["abs_tol"]["mean"])
        assert row.se == pytest.approx(case["expected"]["se"], abs=case["abs_tol"]["se"])
    row = summarise(
        {
            "y": [str(v) for v in TSUCHIYA_UNEQUAL["inputs"]["y"]],
            "w": TSUCHIYA_UNEQUAL["inputs"]["w"],
            "all": ["x"] * 10,
        },
        indicator=Mean("y"),
        by="all",
        weights="w",
        min_cell=1,
        withhold_unreliable=False,
    ).row("All")
    assert row.deff == pytest.approx(
        TSUCHIYA_UNEQUAL["expected"]["deff_with_replacement"],
        abs=TSUCHIYA_UNEQUAL["abs_tol"]["deff_with_replacement"],
    )
    assert row.deff_weighting == pytest.approx(2.6848, abs=1e-4)


def test_raked_variance_equals_r_iterative_projection_at_respondent_level():
    data = synthetic()
    table = summarise(
        data, indicator=HEARD, by="borough", margins=MARGINS, min_cell=1, compare=False
    )
    weights = table.raking.weights
    in_denominator = data["heard"] != "dont_know"
    y = (data["heard"] == "yes").astype(float)
    for label in ("b0", "b3", "b5"):
        p, variance = brute_force_raked_variance(
            data, weights, in_denominator & (data["borough"] == label), y, MARGINS
        )
        row = table.row(label)
        assert row.estimate == pytest.approx(p, abs=1e-12)
        assert row.se == pytest.approx(math.sqrt(variance), rel=1e-9)


def test_raking_on_top_of_design_weights_matches_the_respondent_level_projection():
    data = synthetic()
    rng = np.random.default_rng(5)
    data["w"] = rng.uniform(0.5, 2.0, size=3000)
    table = summarise(
        data, indicator=HEARD, by="age", weights="w", margins=MARGINS, min_cell=1, compare=False
    )
    weights = table.raking.weights
    assert not np.allclose(weights / data["w"], (weights / data["w"])[0])
    y = (data["heard"] == "yes").astype(float)
    in_denominator = data["heard"] != "dont_know"
    for label in ("young", "old"):
        p, variance = brute_force_raked_variance(
            data, weights, in_denominator & (data["age"] == label), y, MARGINS
        )
        assert table.row(label).estimate == pytest.approx(p, abs=1e-12)
        assert table.row(label).se == pytest.approx(math.sqrt(variance), rel=1e-9)


def test_a_share_fixed_by_raking_has_no_variance_unlike_fixed_weights():
    data = {**synthetic(), "everyone": np.full(3000, "london")}
    women = Proportion("sex", ["f"])
    raked = summarise(data, indicator=women, by="everyone", margins=MARGINS)
    fixed = summarise(
        {**data, "w": raked.raking.weights},
        indicator=women,
        by="everyone",
        weights="w",
        method="logit",
    )
    assert raked.row("All").estimate == pytest.approx(0.5)
    assert raked.row("All").se == pytest.approx(0.0, abs=1e-6)  # margins met to 1e-6
    assert fixed.row("All").se > 0.005


def test_unweighted_rows_use_the_chosen_interval_on_the_counts():
    data = synthetic()
    table = summarise(data, indicator=HEARD, by="sex", method="jeffreys")
    row = table.row("f")
    in_f = (data["sex"] == "f") & (data["heard"] != "dont_know")
    x, n = np.sum(in_f & (data["heard"] == "yes")), np.sum(in_f)
    expected = proportion_ci(x, n, method="jeffreys")
    assert (row.n, row.numerator) == (n, x)
    assert (row.ci_low, row.ci_high) == (expected.ci.low, expected.ci.high)
    assert row.deff == 1.0 and row.method == "jeffreys"


def test_cell_counts_give_the_same_table_as_respondents():
    data = synthetic()
    respondents = summarise(data, indicator=HEARD, by="borough", margins=MARGINS)
    keys = list(zip(data["borough"], data["sex"], data["age"], data["heard"], strict=True))
    cells: dict = {}
    for key in keys:
        cells[key] = cells.get(key, 0) + 1
    columns = list(zip(*cells, strict=True))
    grouped = {
        "borough": columns[0],
        "sex": columns[1],
        "age": columns[2],
        "heard": columns[3],
        "count": list(cells.values()),
    }
    collapsed = summarise(
        grouped, indicator=HEARD, by="borough", margins=MARGINS, frequency="count"
    )
    for a, b in zip(respondents.rows, collapsed.rows, strict=True):
        assert a.labels == b.labels and a.n == b.n
        assert a.estimate == pytest.approx(b.estimate, rel=1e-9)
        assert a.se == pytest.approx(b.se, rel=1e-9)
        assert (a.p_value is None and b.p_value is None) or a.p_value == pytest.approx(
            b.p_value, rel=1e-6
        )


def test_comparison_with_the_rest_uses_the_linearised_difference():
    data = synthetic()
    table = summarise(data, indicator=HEARD, by="borough", margins=MARGINS, adjust="holm")
    weights = table.raking.weights
    y = (data["heard"] == "yes").astype(float)
    in_denominator = data["heard"] != "dont_know"
    group = in_denominator & (data["borough"] == "b1")
    rest = in_denominator & (data["borough"] != "b1")
    w = weights
    p_g = np.sum(group * w * y) / np.sum(group * w)
    p_r = np.sum(rest * w * y) / np.sum(rest * w)
    z = (group * w * (y - p_g) / np.sum(group * w)) - (rest * w * (y - p_r) / np.sum(rest * w))
    for _ in range(5000):
        before = z.copy()
        for column in MARGINS:
            _, codes = np.unique(data[column], return_inverse=True)
            z = z - w * (np.bincount(codes, weights=z / w) / np.bincount(codes))[codes]
        if np.max(np.abs(z - before)) < 1e-18:
            break
    n = len(z)
    se = math.sqrt(n / (n - 1) * np.sum((z - z.mean()) ** 2))
    row = table.row("b1")
    assert row.diff == pytest.approx(p_g - p_r, abs=1e-12)
    assert (row.diff_ci_high - row.diff) == pytest.approx(
        se * __import__("scipy").stats.t.ppf(0.975, row_total(table) - 1), rel=1e-8
    )
    assert "borough: 6 groups" in table.family
    published = [r for r in table.rows if r.p_adjusted is not None]
    assert all(r.p_adjusted >= r.p_value for r in published)


def row_total(table) -> int:
    return table.row("All").n


def test_two_way_tables_have_cells_margins_and_a_total():
    table = summarise(synthetic(), indicator=HEARD, by=("sex", "age"))
    labels = [r.labels for r in table.rows]
    assert ("f", "old") in labels and ("f", "All") in labels and ("All", "mid") in labels
    assert labels[-1] == ("All", "All")
    assert table.row("All", "All").n == sum(table.row(s, "All").n for s in ("f", "m"))


def test_suppressed_rows_carry_no_figures_anywhere():
    data = synthetic(size=400)
    table = summarise(data, indicator=HEARD, by="borough", min_cell=10)
    small = [r for r in table.rows if not r.published]
    assert small, "the smallest borough should be suppressed"
    for row in small:
        for name in (
            "n",
            "numerator",
            "estimate",
            "se",
            "ci_low",
            "ci_high",
            "n_eff",
            "diff",
            "p_value",
            "p_adjusted",
        ):
            assert getattr(row, name) is None
    for record in table.to_records():
        if record["disclosure"] != "published":
            assert all(record[k] is None for k in ("n", "numerator", "estimate", "ci_low"))


def test_every_output_column_is_defined_once_in_the_vocabulary():
    from analysis.columns import COLUMNS

    table = summarise(synthetic(), indicator=HEARD, by="sex")
    assert set(table.columns) - {"sex"} <= set(COLUMNS)


def test_a_flag_or_blank_interval_carries_its_reasons():
    # Everyone in the group answered yes: the interval is fine, the flag says why "review".
    data = {"heard": ["yes"] * 40 + ["no"] * 60, "sex": ["f"] * 40 + ["m"] * 60}
    table = summarise(data, indicator=Proportion("heard", ("yes",)), by="sex")
    women = next(r for r in table.to_records() if r["sex"] == "f")
    assert women["reliability"] == "review"
    assert women["reliability_reasons"] == "estimate_is_0_or_100_percent"


def test_csv_columns_come_in_the_documented_order():
    table = summarise(synthetic(), indicator=HEARD, by="sex")
    assert table.columns == (
        "sex",
        "n",
        "numerator",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "df",
        "n_eff",
        "deff_weighting",
        "deff",
        "method",
        "confidence_level",
        "reliability",
        "reliability_reasons",
        "interval_note",
        "disclosure",
        "diff",
        "diff_ci_low",
        "diff_ci_high",
        "p_value",
        "p_adjusted",
    )


def test_missing_group_values_are_left_out_of_groups_and_counted():
    data = synthetic(size=500)
    data["sex"] = data["sex"].astype(object)
    data["sex"][:7] = ""
    table = summarise(data, indicator=HEARD, by="sex")
    assert table.rows_without_group == 7
    assert table.n_total == 500


def test_a_typo_in_the_positive_value_is_an_error_not_zero_percent():
    with pytest.raises(ValueError, match="none of the positive values"):
        summarise(synthetic(), indicator=Proportion("heard", ["Yes"]), by="sex")


def test_an_unknown_method_is_refused_naming_the_allowed_ones():
    with pytest.raises(ValueError, match="korn_graubard"):
        summarise(synthetic(), indicator=HEARD, by="sex", margins=MARGINS, method="exact")


GROUPS = ["g1", "g2", "g3", "g4", "g5"]


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=100_000),
    size=st.integers(min_value=5, max_value=300),
    two_way=st.booleans(),
    weighted=st.booleans(),
    k=st.sampled_from([5, 10]),
)
def test_no_published_count_is_small_and_no_suppressed_cell_is_recoverable(
    seed, size, two_way, weighted, k
):
    rng = np.random.default_rng(seed)
    skew = rng.dirichlet(np.ones(len(GROUPS)) * 0.5)
    data = {
        "g": rng.choice(GROUPS, size=size, p=skew),
        "h": rng.choice(["a", "b", "c"], size=size),
        "y": np.where(rng.random(size) < rng.uniform(0.02, 0.98), "yes", "no"),
        "w": rng.uniform(0.5, 3.0, size=size),
    }
    if not np.any(data["y"] == "yes"):
        data["y"][0] = "yes"
    by = ("g", "h") if two_way else ("g",)
    table = summarise(
        data,
        indicator=Proportion("y", ["yes"]),
        by=by,
        min_cell=k,
        weights="w" if weighted else None,
    )
    for row in table.rows:
        if row.published:
            assert row.n >= k
            for part in (row.numerator, row.n - row.numerator):
                assert part == 0 and row.n >= 3 * k or part >= k
    truth = _true_counts(data, by)
    for constraint in _constraints(table, by):
        *parts, total = constraint
        if not total.published:
            assert any(not r.published for r in parts), [r.labels for r in constraint]
            continue
        hidden = [truth.get(r.labels, (0, 0)) for r in parts if not r.published]
        n, x = sum(h[0] for h in hidden), sum(h[1] for h in hidden)
        assert not 1 <= n <= k - 1, [r.labels for r in constraint]
        if not weighted:  # exact percentages: a lone cell and small numerators are at risk
            assert not (len(hidden) == 1 and n > 0), [r.labels for r in constraint]
            assert not 1 <= x <= k - 1 and not 1 <= n - x <= k - 1


def _true_counts(data, by) -> dict[tuple, tuple[int, int]]:
    """(respondents, positives) for every row label of the table, counted directly."""
    counts: dict[tuple, list[int]] = {}
    for i in range(len(data["y"])):
        key = tuple(data[b][i] for b in by)
        cells = (
            [key, ("All",)]
            if len(by) == 1
            else [key, (key[0], "All"), ("All", key[1]), ("All", "All")]
        )
        for cell in cells:
            totals = counts.setdefault(cell, [0, 0])
            totals[0] += 1
            totals[1] += data["y"][i] == "yes"
    return {cell: (n, x) for cell, (n, x) in counts.items()}


def _constraints(table, by):
    rows = {r.labels: r for r in table.rows}
    if len(by) == 1:
        return [list(table.rows)]
    first = sorted({r.labels[0] for r in table.rows} - {"All"})
    second = sorted({r.labels[1] for r in table.rows} - {"All"})
    lines = [[rows[(a, b)] for b in [*second, "All"]] for a in [*first, "All"]]
    lines += [[rows[(a, b)] for a in [*first, "All"]] for b in [*second, "All"]]
    return lines
