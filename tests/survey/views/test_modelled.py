"""Modelled borough estimates (Fay-Herriot) beside the direct ones: shorter intervals for
small boroughs, benchmarked to London, on the page, the map and in the methods note."""

from __future__ import annotations

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
