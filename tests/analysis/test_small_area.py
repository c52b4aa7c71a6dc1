"""The Fay-Herriot model matches the published fits of the milk data (R's `sae` and
`emdi` for REML, samplics for ML): tests/data/small-area/README.md cites each value."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from analysis.small_area import (
    arcsine,
    back_transform,
    benchmark,
    choose_covariates,
    fay_herriot,
)

DATA = Path(__file__).parents[1] / "data" / "small-area"
ROWS = list(csv.DictReader((DATA / "milk.csv").read_text(encoding="utf-8").splitlines()))
DIRECT = np.array([float(r["direct_est"]) for r in ROWS])
VARIANCE = np.array([float(r["std_error"]) ** 2 for r in ROWS])
MAJOR = np.array([int(r["major_area"]) for r in ROWS])
COVARIATES = np.column_stack([np.equal(MAJOR, k).astype(float) for k in (2, 3, 4)])
# The published figures are reached to about 1e-7 on the variance (README): sae stops its
# Fisher scoring at a precision of 1e-4, this fit solves the score equation exactly.
TOLERANCE = 1e-6


def test_reml_matches_sae():
    fit = fay_herriot(DIRECT, VARIANCE, COVARIATES, method="reml")
    assert fit.variance == pytest.approx(0.0185502223227232, abs=TOLERANCE)
    assert fit.coefficients == pytest.approx(
        [0.9681890, 0.1327801, 0.2269462, -0.2413011], abs=TOLERANCE
    )
    assert fit.eblup[0] == pytest.approx(1.02197034245261, abs=TOLERANCE)
    assert fit.mse[0] == pytest.approx(0.0134602201642976, abs=TOLERANCE)


def test_ml_matches_samplics_with_the_datta_lahiri_mse():
    fit = fay_herriot(DIRECT, VARIANCE, COVARIATES, method="ml")
    assert fit.coefficients == pytest.approx(
        [0.9677986, 0.1278756, 0.2266909, -0.2425804], abs=TOLERANCE
    )
    assert fit.eblup[0] == pytest.approx(1.0161733, abs=TOLERANCE)
    assert fit.mse[0] == pytest.approx(0.013579953, abs=TOLERANCE)


def test_shrinkage_moves_uncertain_areas_furthest():
    fit = fay_herriot(DIRECT, VARIANCE, COVARIATES)
    assert np.all((fit.shrinkage > 0) & (fit.shrinkage < 1))
    # the least precise direct estimate moves furthest towards the regression
    assert np.argmax(fit.shrinkage) == np.argmax(VARIANCE)
    assert np.all(fit.mse < VARIANCE)  # the model never does worse than the direct estimate
    low, high = fit.intervals(0.95)
    assert np.all(low < fit.eblup) and np.all(fit.eblup < high)


def test_no_area_variation_left_shrinks_every_area_to_the_regression():
    flat = np.full(10, 0.4) + np.linspace(-0.001, 0.001, 10)
    fit = fay_herriot(flat, np.full(10, 0.01))
    assert fit.variance == 0.0 and fit.eblup == pytest.approx(np.full(10, flat.mean()))


def test_arcsine_scale_and_its_bias_corrected_way_back():
    theta, variance = arcsine([0.02, 0.5, 0.97], [100, 100, 400])
    assert variance == pytest.approx([1 / 400, 1 / 400, 1 / 1600])
    # With no uncertainty the way back is sin^2; with some, the mean of sin^2 is pulled
    # towards one half (the median, sin^2 itself, would be biased for the mean).
    assert back_transform(theta, 0.0) == pytest.approx([0.02, 0.5, 0.97])
    draws = np.random.default_rng(1).normal(theta[0], 0.1, 400_000)
    assert back_transform(theta[0], 0.01) == pytest.approx(np.mean(np.sin(draws) ** 2), abs=2e-3)


def test_benchmarking_makes_the_areas_add_up_to_the_direct_total():
    fit = fay_herriot(DIRECT, VARIANCE, COVARIATES)
    population = np.array([float(r["samp_size"]) for r in ROWS])
    target = float(population @ DIRECT / population.sum())
    benchmarked, factor = benchmark(fit.eblup, population, target)
    assert float(population @ benchmarked / population.sum()) == pytest.approx(target)
    assert factor == pytest.approx(target / float(population @ fit.eblup / population.sum()))


BOROUGHS = list(csv.DictReader((DATA / "boroughs.csv").read_text(encoding="utf-8").splitlines()))
R_FIGURES = {
    (r["model"], r["figure"]): float(r["value"])
    for r in csv.DictReader(
        (DATA / "boroughs-expected.csv").read_text(encoding="utf-8").splitlines()
    )
}
CANDIDATES = {
    name: np.array([float(r[name]) for r in BOROUGHS]) for name in ("young", "white", "female")
}
B_DIRECT = np.array([float(r["direct"]) for r in BOROUGHS])
B_VARIANCE = np.array([float(r["variance"]) for r in BOROUGHS])


@pytest.mark.parametrize(
    "model", ["none", "young", "white", "female", "young+white", "young+female", "white+female"]
)
def test_covariate_models_match_r(model):
    """Every model the rule tries, against R's metafor (a Fay-Herriot model is a
    random-effects meta-regression with known variances): the ML AIC that ranks them,
    the REML variance, coefficients and every area's EBLUP."""
    names = [] if model == "none" else model.split("+")
    x = np.column_stack([CANDIDATES[n] for n in names]) if names else None
    ml = fay_herriot(B_DIRECT, B_VARIANCE, x, method="ml")
    aic = -2 * ml.log_likelihood + 2 * (len(names) + 2)
    assert aic == pytest.approx(R_FIGURES[model, "aic_ml"], abs=1e-5)
    reml = fay_herriot(B_DIRECT, B_VARIANCE, x, method="reml")
    assert reml.variance == pytest.approx(R_FIGURES[model, "variance_reml"], abs=1e-8)
    for i, b in enumerate(reml.coefficients, start=1):
        assert b == pytest.approx(R_FIGURES[model, f"coefficient_{i}"], abs=TOLERANCE)
    for row, eblup in zip(BOROUGHS, reml.eblup, strict=True):
        assert eblup == pytest.approx(R_FIGURES[model, f"eblup_{row['area']}"], abs=TOLERANCE)


def test_the_rule_chooses_the_covariates_with_the_best_aic_and_says_what_they_explain():
    chosen = choose_covariates(B_DIRECT, B_VARIANCE, CANDIDATES)
    best = min(
        ("none", "young", "white", "female", "young+white", "young+female", "white+female"),
        key=lambda model: R_FIGURES[model, "aic_ml"],
    )
    assert chosen.covariates == tuple(best.split("+")) == ("young", "white")
    assert len(chosen.tried) == 7
    assert chosen.explained == pytest.approx(
        1 - R_FIGURES[best, "variance_reml"] / R_FIGURES["none", "variance_reml"], abs=1e-6
    )
    # The covariates narrow every area's interval against the common-mean model here.
    plain = fay_herriot(B_DIRECT, B_VARIANCE, method="reml")
    assert np.all(chosen.fit.mse < plain.mse)


def test_a_candidate_alike_in_every_area_is_never_tried():
    alike = {"same": np.full(B_DIRECT.size, 0.5), "young": CANDIDATES["young"]}
    chosen = choose_covariates(B_DIRECT, B_VARIANCE, alike)
    assert all("same" not in names for names, _aic in chosen.tried)
