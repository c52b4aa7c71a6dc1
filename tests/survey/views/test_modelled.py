"""Modelled borough estimates (Fay-Herriot) beside the direct ones: shorter intervals for
small boroughs, benchmarked to London, on the page, the map and in the methods note."""

from __future__ import annotations

import numpy as np
import pytest
from bs4 import BeautifulSoup

from tests.resident import PARSER
from tests.routes import staff_clients

QUERY = "/staff/analysis?indicator=aware&by=borough"


@pytest.fixture
def analyst(app, demo):
    clients, _ids = staff_clients(app, synthetic_responses=3000)
    return clients["analyst"]


def page(response) -> BeautifulSoup:
    assert response.status_code == 200, response.get_data(as_text=True)[-2000:]
    return BeautifulSoup(response.get_data(as_text=True), PARSER)


def limits(cell) -> tuple[float, float, float]:
    text = cell.get_text(" ", strip=True).replace("%", "")
    estimate, low, _to, high = text.split()
    return float(estimate), float(low), float(high)


def test_every_published_borough_has_a_modelled_estimate_with_a_shorter_interval(analyst):
    soup = page(analyst.get(QUERY))
    rows = soup.select("#modelled-table tbody tr")
    assert len(rows) >= 25
    for row in rows:
        direct, modelled = (limits(td) for td in row.select("td")[:2])
        assert modelled[2] - modelled[1] < direct[2] - direct[1]  # the model's interval is shorter
    moved = [float(r.select("td")[2].get_text(strip=True).rstrip("%")) for r in rows]
    assert all(0 < m < 100 for m in moved)
    assert (
        soup.select_one("#modelled ~ figure svg title").get_text().endswith("direct and modelled")
    )
    note = soup.get_text(" ")
    assert "Modelled borough estimates (Fay-Herriot)" in note and "benchmarked" in note


def test_the_map_can_show_the_modelled_estimates(analyst):
    direct = page(analyst.get(QUERY))
    modelled = page(analyst.get(QUERY + "&map=modelled"))
    assert "Modelled estimates:" in modelled.select_one("figure desc#map-desc").get_text()
    assert direct.select_one("#map-desc").get_text() != modelled.select_one("#map-desc").get_text()
    assert modelled.select_one("#map-choice a").get_text() == "direct estimates"


def test_other_breakdowns_and_unweighted_tables_have_no_model(analyst):
    assert not page(analyst.get("/staff/analysis?indicator=aware&by=sex")).select("#modelled")
    assert not page(analyst.get(QUERY + "&weighted=no")).select("#modelled")


def test_the_download_carries_both_estimates_for_each_borough(analyst):
    import csv
    import io

    body = analyst.get("/staff/analysis/download.csv?indicator=aware&by=borough").data
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    modelled = [r for r in rows if r["modelled_estimate"]]
    assert len(modelled) >= 25
    for row in modelled:
        assert (
            float(row["modelled_ci_low"])
            < float(row["modelled_estimate"])
            < float(row["modelled_ci_high"])
        )
        assert 0 < float(row["shrinkage"]) < 1
    assert not any(r["modelled_estimate"] for r in rows if not r["estimate"])  # hidden stays hidden


def test_with_every_borough_in_londons_mix_the_model_says_no_covariate_could_be_used(analyst):
    """The demo's figures give each borough London's mix: nothing to tell boroughs apart."""
    said = page(analyst.get(QUERY)).select_one("#modelled-covariates").get_text(" ", strip=True)
    assert "give every borough the same mix, so no borough covariate could be used" in said
    assert "lowest AIC" in said


def _varied_figures(app) -> None:
    """Figures in which boroughs differ: from London's mix, a share of each borough's people
    aged 16 to 24 moved to 65 or over, and of its White British to Asian Indian, varying
    borough by borough (totals unchanged)."""
    from survey.demo import demo_population
    from survey.extensions import db
    from survey.services.population import store_figures
    from survey.services.questionnaires import latest_version, questionnaire_for

    with app.app_context():
        questionnaire = questionnaire_for(latest_version(db.session, "prevent-awareness"))
        values = demo_population(questionnaire)
        boroughs = sorted(values["borough"])
        for variable, moves in (
            ("borough*age_band*sex", (("16-24", "65-plus"),)),
            ("borough*ethnicity", (("white_british", "asian_indian"),)),
        ):
            given = values[variable]
            for category in list(given):
                parts = category.split("*")
                for source, target in moves:
                    if parts[1] != source:
                        continue
                    tilt = (boroughs.index(parts[0]) % 7 - 3) / 10  # -0.3 to 0.3
                    moved = round(given[category] * tilt)
                    other = "*".join([parts[0], target, *parts[2:]])
                    given[category] -= moved
                    given[other] += moved
        store_figures(db.session, values, label="Borough mixes for a test", uploaded_by=None)
        db.session.commit()


def test_covariates_come_from_each_boroughs_figures_and_the_rule_is_stated(app, analyst):
    from survey.demographics import AREA_COVARIATES
    from survey.extensions import db
    from survey.services.population import current_figures
    from survey.services.questionnaires import latest_version, questionnaire_for
    from survey.services.reporting.estimates import area_covariates

    _varied_figures(app)
    with app.app_context():
        questionnaire = questionnaire_for(latest_version(db.session, "prevent-awareness"))
        figures = current_figures(db.session)
        shares = area_covariates(figures, questionnaire, sorted(figures.values["borough"]))
    tilted = {"share aged 16 to 34", "share aged 65 or over", "share White"}
    tilted.add("share Asian or Asian British")
    assert set(shares) == tilted  # sex and Black kept London's mix: no candidates
    assert all(np.ptp(values) > 0.01 for values in shares.values())
    assert np.all((shares["share White"] > 0) & (shares["share White"] < 1))
    assert {c.label for c in AREA_COVARIATES} > tilted
    soup = page(analyst.get(QUERY))
    said = soup.select_one("#modelled-covariates").get_text(" ", strip=True)
    # The demo's answers lean by borough in the pattern the test tilted the mixes by, so
    # the covariates explain much of the variation between boroughs.
    named, explained = said.removeprefix("The prediction uses ").split(", which explain ")
    assert set(named.replace(" and ", ", ").split(", ")) <= tilted
    assert int(explained.split("%")[0]) > 20
    for row in soup.select("#modelled-table tbody tr"):
        cells = row.select("td")
        if "not shown" in cells[1].get_text():
            continue
        direct, modelled = limits(cells[0]), limits(cells[1])
        assert modelled[2] - modelled[1] < direct[2] - direct[1]
