"""Who is least reached: adjusted shares by group, ranked, through the publication rules,
with downloads in every format."""

from __future__ import annotations

import csv
import io

import pytest
from bs4 import BeautifulSoup

from survey.services.exports import FORMATS
from tests.resident import PARSER
from tests.routes import staff_clients

WITH_BOROUGH = "allow=borough&allow=age_band&allow=sex&allow=ethnic_group"


@pytest.fixture
def analyst(app, demo):
    clients, _ids = staff_clients(app, synthetic_responses=3000)
    return clients["analyst"]


def page(response) -> BeautifulSoup:
    assert response.status_code == 200, response.get_data(as_text=True)[-2000:]
    return BeautifulSoup(response.get_data(as_text=True), PARSER)


def shares(soup) -> list[float]:
    found = []
    for row in soup.select("#adjusted tbody tr"):
        words = row.select("td")[1].get_text(" ", strip=True)
        if words.startswith("After allowing for"):
            found.append(float(words.split(": ", 1)[1].split("%")[0]))
    return found


def test_groups_are_ranked_least_reached_first_in_plain_words(analyst):
    soup = page(analyst.get(f"/staff/analysis/least-reached?indicator=aware&{WITH_BOROUGH}"))
    found = shares(soup)
    assert len(found) >= 20 and found == sorted(found)
    headline = soup.select_one("#headline").get_text(" ", strip=True)
    assert headline.startswith("Least reached:") and "below London as a whole" in headline
    first = soup.select_one("#adjusted tbody tr td:nth-of-type(2)").get_text(" ", strip=True)
    assert first.startswith("After allowing for")
    assert soup.select_one("figure svg title").get_text().endswith("adjusted share by group")
    assert "synthetic" in soup.get_text()


def test_not_stated_answers_are_counted_but_never_ranked(analyst):
    """ "Prefer not to say" is no group anyone can reach: out of the ranking, the table and the
    chart, with how many there were; every chart row names its characteristic."""
    soup = page(analyst.get(f"/staff/analysis/least-reached?indicator=aware&{WITH_BOROUGH}"))
    assert "Prefer not to say" not in soup.select_one("#headline").get_text()
    assert "Prefer not to say" not in soup.select_one("#adjusted").get_text()
    said = soup.select_one("#not-stated").get_text(" ", strip=True)
    assert said.startswith("Not ranked: residents who preferred not to say their")
    assert "sex (" in said and "age band (" in said
    labels = [text.get_text(" ", strip=True) for text in soup.select("figure svg g > text")]
    assert labels and all(
        label.split(": ", 1)[0] in {"Borough", "Age band", "Sex", "Ethnic group"}
        for label in labels
    )
    assert not any("Prefer not to say" in label for label in labels)


def test_the_analyst_chooses_what_to_allow_for(analyst):
    soup = page(
        analyst.get("/staff/analysis/least-reached?indicator=aware&allow=age_band&allow=sex")
    )
    variables = {
        row.select("td")[0].get_text(strip=True) for row in soup.select("#adjusted tbody tr")
    }
    assert variables == {"Age band", "Sex"}
    words = soup.select_one("#adjusted tbody tr td:nth-of-type(2)").get_text(" ", strip=True)
    assert "After allowing for sex" in words or "After allowing for age band" in words
    one = analyst.get("/staff/analysis/least-reached?indicator=aware&allow=sex")
    assert one.status_code == 400 and "at least two" in one.get_data(as_text=True)


def test_small_groups_are_withheld_and_counts_pass_the_gate(analyst):
    soup = page(analyst.get(f"/staff/analysis/least-reached?indicator=aware&{WITH_BOROUGH}"))
    rows = soup.select("#adjusted tbody tr")
    withheld = [r for r in rows if "Not shown" in r.get_text()]
    assert withheld  # City of London has a handful of demo responses
    for row in rows:
        count = row.select("td")[2].get_text(strip=True)
        assert count in ("[c] fewer than 10", "[c] not shown") or int(count.replace(",", "")) >= 10
        if "Not shown" in row.get_text():
            assert not row.select("td")[3].get_text(strip=True)  # no odds ratio either


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_downloads_come_in_every_format(analyst, fmt):
    response = analyst.get(f"/staff/analysis/least-reached.{fmt}?indicator=aware&{WITH_BOROUGH}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith(f'{FORMATS[fmt].suffix}"')
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
        shown = [r for r in rows if r["adjusted_share"]]
        assert shown and all(r["disclosure"] == "published" for r in shown)
        hidden = [r for r in rows if not r["adjusted_share"]]
        assert all(not r["odds_ratio"] for r in hidden)
        for row in shown:  # plain numbers (or empty), as pandas, R and Excel read them
            for name in ("adjusted_share", "ci_low", "ci_high", "odds_ratio"):
                assert row[name] == "" or float(row[name]) == float(row[name]), row
            assert row["ci_low"] and row["ci_high"], row


def test_a_group_where_everyone_answered_alike_is_named_not_fitted(app, demo):
    clients, _ids = staff_clients(app, synthetic_responses=300)
    soup = BeautifulSoup(
        clients["analyst"]
        .get(f"/staff/analysis/least-reached?indicator=aware&{WITH_BOROUGH}")
        .data,
        PARSER,
    )
    assert "Everyone in the group" in soup.get_text() and "answered" in soup.get_text()
    assert not soup.select("#adjusted")
