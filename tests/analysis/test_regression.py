"""Design-based logistic regression matches R's `svyglm(family = quasibinomial())` at 1e-6:
coefficients, standard errors, p-values and degrees of freedom, unweighted, weighted, raked,
and with each quarter a stratum raked on its own (data, R script and output in
tests/data/regression)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from analysis import Proportion
from analysis.regression import SeparationError, survey_logistic

DATA = Path(__file__).parents[1] / "data"
TOLERANCE = 1e-6


def _read(path: Path) -> list[dict]:
    return list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))


ROWS = _read(DATA / "trends" / "trend-data.csv")
EXPECTED = {
    (r["design"], r["term"], r["figure"]): float(r["value"])
    for r in _read(DATA / "regression" / "expected.csv")
}
MARGINS: dict[str, dict[str, float]] = {}
for row in _read(DATA / "trends" / "population.csv"):
    MARGINS.setdefault(row["margin"], {})[row["category"]] = float(row["population"])
COLUMNS = {name: [r[name] for r in ROWS] for name in ROWS[0]}
COLUMNS["w"] = [1 + ((i + 1) % 5) / 2 for i in range(len(ROWS))]  # as svyglm.R sets them
INDICATOR = Proportion("answer", ["yes"], ["dont_know"])
PREDICTORS = ["borough", "age_sex", "ethnic"]


def r_name(term: str) -> str:
    """R's name for a term: "borough=Camden" is "boroughCamden"."""
    return term.replace("=", "")


def fitted(design: str):
    """The model on one of svyglm.R's designs: unweighted, design weights, raked, or each
    quarter a stratum raked on its own ("stratified")."""
    raked = design in {"raked", "stratified"}
    return survey_logistic(
        COLUMNS,
        indicator=INDICATOR,
        predictors=PREDICTORS,
        weights="w" if design == "weighted" else None,
        margins={name: MARGINS[name] for name in ("borough", "age_sex", "ethnic")}
        if raked
        else None,
        strata="quarter" if design == "stratified" else None,
    )


@pytest.mark.parametrize("design", ["unweighted", "weighted", "raked", "stratified"])
def test_coefficients_standard_errors_and_p_values_match_r(design):
    fit = fitted(design)
    assert fit.df == EXPECTED[design, "(model)", "df"]
    for term, b, se, p in zip(
        fit.terms, fit.coefficients, fit.standard_errors, fit.p_values, strict=True
    ):
        name = r_name(term.name)
        assert b == pytest.approx(EXPECTED[design, name, "estimate"], abs=TOLERANCE), name
        assert se == pytest.approx(EXPECTED[design, name, "se"], abs=TOLERANCE), name
        assert p == pytest.approx(EXPECTED[design, name, "p_value"], abs=TOLERANCE), name


@pytest.mark.parametrize("design", ["unweighted", "weighted", "raked", "stratified"])
def test_average_marginal_predictions_match_r_svypredmeans(design):
    """Each borough's predicted share with everything else as it is, and its standard error
    with both parts R's svypredmeans adds: the fitted values' and the coefficients'. The
    coefficients' part alone understated it."""
    fit = fitted(design)
    for borough, share, se, _low, _high in fit.marginal_predictions("borough"):
        name = f"predicted {borough}"
        assert share == pytest.approx(EXPECTED[design, name, "estimate"], abs=TOLERANCE)
        assert se == pytest.approx(EXPECTED[design, name, "se"], abs=TOLERANCE)


def test_odds_ratios_and_predictions_read_as_a_person_would():
    fit = survey_logistic(COLUMNS, indicator=INDICATOR, predictors=PREDICTORS)
    ratios = dict((name, (ratio, low, high)) for name, ratio, low, high in fit.odds_ratios())
    ratio, low, high = ratios["borough=Hackney"]
    assert low < ratio < high and ratio == pytest.approx(np.exp(fit.coefficients[3]))
    predictions = fit.marginal_predictions("borough")
    assert [p[0] for p in predictions] == ["Barnet", "Camden", "Ealing", "Hackney"]
    shares = [p[1] for p in predictions]
    assert shares == sorted(shares)  # the data make Hackney the most aware, Barnet least
    assert all(low < share < high for _c, share, _se, low, high in predictions)


def test_a_group_where_everyone_answered_alike_is_named():
    columns = dict(COLUMNS)
    columns["answer"] = [
        "yes" if b == "Camden" else a
        for a, b in zip(COLUMNS["answer"], COLUMNS["borough"], strict=True)
    ]
    with pytest.raises(
        SeparationError, match="Everyone in the group 'Camden' .borough. answered 'yes'"
    ):
        survey_logistic(columns, indicator=INDICATOR, predictors=PREDICTORS)


def test_cells_of_identical_respondents_fit_as_the_respondents_do():
    """The platform hands over counted cells (a GROUP BY); the fit must not change."""
    keys = list(zip(*(COLUMNS[c] for c in ("answer", *PREDICTORS)), strict=True))
    counted: dict[tuple, int] = {}
    for key in keys:
        counted[key] = counted.get(key, 0) + 1
    cells = {name: [k[i] for k in counted] for i, name in enumerate(("answer", *PREDICTORS))}
    cells["count"] = list(counted.values())
    margins = {
        "borough": MARGINS["borough"],
        "age_sex": MARGINS["age_sex"],
        "ethnic": MARGINS["ethnic"],
    }
    whole = survey_logistic(COLUMNS, indicator=INDICATOR, predictors=PREDICTORS, margins=margins)
    grouped = survey_logistic(
        cells, indicator=INDICATOR, predictors=PREDICTORS, margins=margins, frequency="count"
    )
    assert len(cells["count"]) < len(ROWS) / 2
    assert grouped.coefficients == pytest.approx(whole.coefficients, abs=1e-9)
    assert grouped.standard_errors == pytest.approx(whole.standard_errors, abs=1e-9)
    assert grouped.df == whole.df
