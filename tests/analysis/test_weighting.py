"""Raking against Kalton and Flores-Cervantes (2003) table B, as reproduced by R's survey
package (tests/kalton.R), and raking's refusals. Values in tests/data/reference-weighting.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import RakingError, rake
from tests.properties import examples

CASES = {
    c["label"]: c
    for c in json.loads(
        (Path(__file__).parents[1] / "data" / "reference-weighting.json").read_text()
    )["cases"]
}
KALTON = CASES["raking to two margins (Kalton and Flores-Cervantes 2003, table B)"]


def kalton_respondents():
    sample = np.array(KALTON["inputs"]["sample_counts"])
    a, b = np.nonzero(sample >= 0)
    counts = sample[a, b]
    return np.repeat(a, counts).astype(str), np.repeat(b, counts).astype(str), sample


def test_raking_reproduces_kalton_table_b_adjustment_factors():
    a, b, sample = kalton_respondents()
    population = np.array(KALTON["inputs"]["population_counts"])
    margins = {
        "a": {str(i): float(v) for i, v in enumerate(population.sum(axis=1))},
        "b": {str(j): float(v) for j, v in enumerate(population.sum(axis=0))},
    }
    result = rake({"a": a, "b": b}, margins)
    expected = np.array(KALTON["expected"]["adjustment_factors_2dp"])
    for i in range(4):
        for j in range(3):
            cell = result.weights[(a == str(i)) & (b == str(j))]
            assert np.allclose(cell, cell[0])
            assert cell[0] == pytest.approx(expected[i, j], abs=KALTON["abs_tol"])
    assert result.max_margin_error <= 1e-6
    assert result.kish_deff > 1


def test_a_category_with_population_but_no_respondents_is_refused_naming_it():
    with pytest.raises(RakingError, match=r"'sex': category 'm' has population 50"):
        rake({"sex": ["f", "f"]}, {"sex": {"f": 50, "m": 50}})


def test_respondents_in_a_category_without_population_are_refused():
    with pytest.raises(RakingError, match="category 'x' have no population figure"):
        rake({"sex": ["f", "x"]}, {"sex": {"f": 50}})


def test_margins_that_disagree_on_the_total_are_refused():
    with pytest.raises(RakingError, match="disagree on the population total"):
        rake({"a": ["1", "2"], "b": ["x", "y"]}, {"a": {"1": 50, "2": 50}, "b": {"x": 80, "y": 80}})


def test_small_rounding_differences_in_totals_are_rescaled_and_reported():
    result = rake(
        {"a": ["1", "1", "2", "2"], "b": ["x", "y", "x", "y"]},
        {"a": {"1": 500, "2": 500}, "b": {"x": 501, "y": 500}},
    )
    assert result.rescaled == {"b": pytest.approx(1000 / 1001)}
    assert result.weights.sum() == pytest.approx(1000)


def test_raking_that_cannot_converge_says_so():
    # Respondents' cells confound the two margins, which ask for different splits.
    with pytest.raises(RakingError, match="did not converge"):
        rake(
            {"a": ["1", "1", "2"], "b": ["x", "x", "y"]},
            {"a": {"1": 10, "2": 90}, "b": {"x": 90, "y": 10}},
            max_iterations=50,
        )


def test_bounds_keep_weights_within_limits_and_still_meet_margins():
    rng = np.random.default_rng(3)
    n = 600
    age = rng.choice(["young", "old"], size=n, p=[0.3, 0.7])
    sex = np.where(
        age == "young",
        rng.choice(["f", "m"], size=n, p=[0.93, 0.07]),
        rng.choice(["f", "m"], size=n, p=[0.4, 0.6]),
    )
    margins = {"age": {"young": 500, "old": 500}, "sex": {"f": 500, "m": 500}}
    mean = 1000 / n
    free = rake({"age": age, "sex": sex}, margins)
    bounded = rake({"age": age, "sex": sex}, margins, bounds=(0.1, 3.5), max_iterations=1000)
    assert free.weight_max > 3.5 * mean
    assert bounded.weight_max <= 3.5 * mean * (1 + 1e-9)
    assert bounded.weight_min >= 0.1 * mean * (1 - 1e-9)
    assert bounded.max_margin_error <= 1e-6
    for column, margin in (("age", age), ("sex", sex)):
        for category, target in margins[column].items():
            assert bounded.weights[margin == category].sum() == pytest.approx(target, rel=1e-6)


def test_kish_design_effect_is_reported_by_category():
    result = rake({"sex": ["f", "f", "m", "m", "m"]}, {"sex": {"f": 60, "m": 40}})
    by_sex = result.kish_deff_by("sex")
    assert by_sex == {"f": pytest.approx(1.0), "m": pytest.approx(1.0)}


@settings(max_examples=examples(60), deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    size=st.integers(min_value=200, max_value=600),
)
def test_raked_weights_reproduce_every_margin(seed, size):
    rng = np.random.default_rng(seed)
    a = rng.choice(["a1", "a2", "a3"], size=size)
    b = rng.choice(["b1", "b2"], size=size)
    c = rng.choice(["c1", "c2", "c3", "c4"], size=size)
    targets = {
        "a": dict(zip(["a1", "a2", "a3"], rng.uniform(100, 900, 3), strict=True)),
        "b": dict(zip(["b1", "b2"], rng.uniform(100, 900, 2), strict=True)),
        "c": dict(zip(["c1", "c2", "c3", "c4"], rng.uniform(100, 900, 4), strict=True)),
    }
    total = sum(targets["a"].values())
    for name in ("b", "c"):
        scale = total / sum(targets[name].values())
        targets[name] = {k: v * scale for k, v in targets[name].items()}
    present = {name: set(values) for name, values in (("a", a), ("b", b), ("c", c))}
    if any(len(present[n]) < len(targets[n]) for n in targets):
        return
    result = rake({"a": a, "b": b, "c": c}, targets, max_iterations=1000)
    for name, column in (("a", a), ("b", b), ("c", c)):
        for category, target in targets[name].items():
            weighted = result.weights[column == category].sum()
            assert weighted == pytest.approx(target, rel=1e-5)
