"""Intervals against published values (tests/data/reference-intervals.json, each case citing
its source: R's binom.test and prop.test via scipy's and statsmodels' test suites, R survey's
svyciprop via the samplics test suite, Stata's kg_nchs)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.intervals import (
    DESIGN_METHODS,
    SRS_METHODS,
    design_proportion_ci,
    proportion_ci,
)

CASES = json.loads((Path(__file__).parents[1] / "data" / "reference-intervals.json").read_text())[
    "cases"
]
BINOMIAL = [c for c in CASES if c["kind"] == "binomial"]
DESIGN = [c for c in CASES if c["kind"] == "design"]


def tolerance(case) -> float:
    # Stata's kg_nchs values are published to 4 decimal places.
    return (
        max(case["abs_tol"], 5e-5)
        if "4 dp" in case["label"] or "kg_nchs" in case["label"]
        else case["abs_tol"]
    )


@pytest.mark.parametrize("case", BINOMIAL, ids=lambda c: c["label"])
def test_unweighted_intervals_match_published_values(case):
    inputs = case["inputs"]
    result = proportion_ci(
        inputs["successes"],
        inputs["trials"],
        confidence_level=inputs["confidence_level"],
        method=case["method"],
    )
    assert result.ci.low == pytest.approx(case["expected"][0], abs=case["abs_tol"])
    assert result.ci.high == pytest.approx(case["expected"][1], abs=case["abs_tol"])


@pytest.mark.parametrize("case", DESIGN, ids=lambda c: c["label"])
def test_design_intervals_match_published_values(case):
    inputs = dict(case["inputs"])
    estimate, se = inputs.pop("estimate"), inputs.pop("se")
    inputs.setdefault("n", 922)
    result = design_proportion_ci(estimate, se, method=case["method"], **inputs)
    assert result.ci.low == pytest.approx(case["expected"][0], abs=tolerance(case))
    assert result.ci.high == pytest.approx(case["expected"][1], abs=tolerance(case))


def test_an_empty_group_has_nan_bounds_and_a_reason():
    result = proportion_ci(0, 0)
    assert math.isnan(result.estimate) and math.isnan(result.ci.low)
    assert result.reason == "empty_group"


def test_no_degrees_of_freedom_gives_nan_bounds_never_a_normal_interval():
    result = design_proportion_ci(0.4, 0.05, n=1, df=0)
    assert math.isnan(result.ci.low) and result.reason == "no_degrees_of_freedom"


def test_r_korn_graubard_is_undefined_at_zero_variance_but_nchs_is_not():
    assert (
        design_proportion_ci(0.3, 0.0, n=50, df=49, method="korn_graubard_r").reason
        == "zero_variance"
    )
    nchs = design_proportion_ci(0.0, 0.0, n=50, df=49)
    assert nchs.ci.low == 0.0 and 0 < nchs.ci.high < 0.1


def test_logit_at_the_boundary_falls_back_to_korn_graubard_and_says_so():
    result = design_proportion_ci(1.0, 0.0, n=100, df=5, method="logit")
    assert result.method == "korn_graubard"
    assert result.reason == "logit_undefined_at_boundary_used_korn_graubard"
    assert result.ci.low == pytest.approx(0.94, abs=5e-3)


def test_non_integer_counts_work():
    result = proportion_ci(12.5, 40.25, method="clopper_pearson")
    assert 0 < result.ci.low < 12.5 / 40.25 < result.ci.high < 1


@pytest.mark.parametrize(
    "bad",
    [
        {"method": "exact"},
        {"confidence_level": 95},
        {"confidence_level": 0},
    ],
)
def test_bad_options_name_the_value_and_the_allowed_set(bad):
    with pytest.raises(ValueError) as caught:
        proportion_ci(3, 10, **bad)
    assert repr(next(iter(bad.values()))) in str(caught.value)


def test_successes_above_trials_are_refused():
    with pytest.raises(ValueError, match="cannot exceed"):
        proportion_ci(11, 10)


COUNTS = st.integers(min_value=1, max_value=400).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)
LEVELS = st.floats(min_value=0.5, max_value=0.995)


@given(counts=COUNTS, level=LEVELS, method=st.sampled_from(SRS_METHODS))
def test_bounds_lie_in_0_1_and_around_the_estimate(counts, level, method):
    x, n = counts
    result = proportion_ci(x, n, confidence_level=level, method=method)
    if result.reason:
        assert method == "logit" and x in (0, n)
        return
    assert 0.0 <= result.ci.low <= result.estimate <= result.ci.high <= 1.0


@given(counts=COUNTS, method=st.sampled_from(SRS_METHODS))
def test_intervals_widen_as_the_confidence_level_rises(counts, method):
    x, n = counts
    narrow = proportion_ci(x, n, confidence_level=0.8, method=method)
    wide = proportion_ci(x, n, confidence_level=0.99, method=method)
    if narrow.reason:
        return
    assert wide.ci.low <= narrow.ci.low + 1e-12 and wide.ci.high >= narrow.ci.high - 1e-12


@given(counts=COUNTS, level=LEVELS, method=st.sampled_from(SRS_METHODS))
def test_swapping_successes_and_failures_mirrors_the_interval(counts, level, method):
    x, n = counts
    result = proportion_ci(x, n, confidence_level=level, method=method)
    mirror = proportion_ci(n - x, n, confidence_level=level, method=method)
    if result.reason:
        return
    assert mirror.ci.low == pytest.approx(1 - result.ci.high, abs=1e-9)
    assert mirror.ci.high == pytest.approx(1 - result.ci.low, abs=1e-9)


@given(
    p=st.floats(min_value=0.0, max_value=1.0),
    se=st.floats(min_value=0.0, max_value=0.3),
    n=st.integers(min_value=2, max_value=5000),
    method=st.sampled_from(DESIGN_METHODS),
)
def test_design_bounds_lie_in_0_1_and_around_the_estimate(p, se, n, method):
    result = design_proportion_ci(p, se, n=n, df=n - 1, method=method)
    if result.reason in ("zero_variance",):
        return
    assert 0.0 <= result.ci.low <= p + 1e-9 and p - 1e-9 <= result.ci.high <= 1.0
