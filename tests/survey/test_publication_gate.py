"""Every count that leaves for a person goes through the publication gate, and the same
respondents are the same count wherever they appear.

The gate test runs the app with a canary perturbation table that adds 1,000 to every
count: any count of responses on any page or in any download below 1,000 did not go
through the gate."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from openpyxl import load_workbook

from analysis.perturbation import KEYED, TEN_FIVE, load_ptable
from survey.publication import Gate
from tests.resident import page
from tests.routes import get_endpoints, path_for, staff_clients

CANARY = 1000
# Not pages a person reads, or the admin-only extract whose rows are the records.
NOT_COUNTED = {
    "static",
    "health.healthz",
    "links.qr_png",
    "links.qr_svg",
    "admin.microdata_file",
    "admin.codebook_csv",
    "admin.microdata_page",
    "admin.audit",  # records staff downloads, with what they downloaded
}
QUERIES = [
    "indicator=aware&by=borough&weighted=yes",
    "indicator=aware&by=language&weighted=no",
    "indicator=confident_helps&by=sex&by2=age_band&weighted=yes",
    "indicator=trusts_fair&by=religion&weighted=yes&period={year}",
    "indicator=knows_help&by=ethnic_group&weighted=no",
]


@pytest.fixture
def canary_app(make_app, app, demo, tmp_path):
    path = tmp_path / "canary.csv"
    lines = ["pcv,ckey,pvalue"] + [f"{p},{k},{CANARY}" for p in range(1, 751) for k in range(256)]
    path.write_text("\n".join(lines))
    canary = make_app(PERTURBATION_TABLE=str(path))
    # Enough responses that weighting still works when the canary adds 1,000 to the count
    # of residents who preferred not to say (their raking target is a published share).
    clients, ids = staff_clients(canary, synthetic_responses=12_000)
    return canary, clients, ids


def counted(value) -> bool:
    """A count that went through the canary gate, or one hidden in words."""
    if value in (None, ""):
        return True
    if isinstance(value, str):
        if not value[:1].isdigit():
            return True  # "fewer than 10", "not shown"
        value = int(value.replace(",", ""))
    return value >= CANARY


def response_columns(soup) -> list[str]:
    """Every cell under a heading about responses, in every table of the page."""
    cells = []
    for table in soup.select("table"):
        headings = [th.get_text(" ", strip=True).lower() for th in table.select("thead th")]
        columns = [i for i, h in enumerate(headings) if h in ("responses", "completed responses")]
        for row in table.select("tbody tr"):
            values = row.select("th, td")
            cells += [values[i].get_text(strip=True) for i in columns if i < len(values)]
    return cells


def counts_in_words(text: str, threshold: int) -> list[str]:
    """Numbers written as counts of responses, other than the threshold itself."""
    found = re.findall(r"(?<![\d.,])(\d[\d,]*)\)? (?:responses|of these responses)", text)
    return [n for n in found if int(n.replace(",", "")) != threshold]


def test_every_count_on_every_page_went_through_the_gate(canary_app):
    app, clients, ids = canary_app
    seen = 0
    for endpoint in get_endpoints(app):
        if endpoint in NOT_COUNTED:
            continue
        path = path_for(app, endpoint, ids)
        for role in ("admin", "analyst", "officer"):
            response = clients[role].get(path)
            if response.status_code != 200 or "html" not in response.content_type:
                continue
            soup = page(response)
            for value in response_columns(soup) + counts_in_words(soup.get_text(" "), 10):
                seen += 1
                assert counted(value), (endpoint, role, value)
    assert seen > 50


def _year(app) -> str:
    """This year: the demo's responses spread over two years and more, so a year holds
    enough of them to weight."""
    from survey import clock

    return str(clock.today().year)


def test_every_count_in_every_download_went_through_the_gate(canary_app):
    app, clients, _ = canary_app
    analyst = clients["analyst"]
    seen = 0
    for query in QUERIES:
        query = query.format(year=_year(app))
        for path in ("/staff/analysis", "/staff/analysis/weighting"):
            soup = page(analyst.get(f"{path}?{query}"))
            for value in response_columns(soup) + counts_in_words(soup.get_text(" "), 10):
                seen += 1
                assert counted(value), (path, query, value)
        document = json.loads(analyst.get(f"/staff/analysis/download.json?{query}").data)
        meta = document["metadata"]
        for key in (
            "respondents",
            "outside_london_left_out",
            "borough_from_link_left_out",
            "synthetic_demo_responses",
        ):
            seen += 1
            assert counted(meta[key]), (query, key, meta[key])
        for value in counts_in_words(document["methods_note"], 10):
            seen += 1
            assert counted(value), (query, value)
        rows = document["rows"]
        for row in rows:
            seen += 1
            assert counted(row["n"]), (query, row)
            if "weighted=no" in query:
                assert counted(row["n_eff"]), (query, row)
                assert counted(row["numerator"]), (query, row)  # a count of people
            else:  # weighted: the share comes from weights; no count of people
                assert row["numerator"] is None, (query, row)
            assert row["df"] is None, (query, row)  # responses less one: a count too
        body = analyst.get(f"/staff/analysis/download.csv?{query}").data.decode("utf-8-sig")
        table = list(csv.reader(io.StringIO(body)))
        n_at = table[0].index("n")
        assert all(counted(line[n_at]) for line in table[1:])
        book = load_workbook(io.BytesIO(analyst.get(f"/staff/analysis/download.xlsx?{query}").data))
        sheet = list(book["Data"].iter_rows(values_only=True))
        assert all(counted(values[n_at]) for values in sheet[1:])
    assert seen > 100


def test_the_same_respondents_are_the_same_count_on_every_page_and_file(app, demo):
    clients, ids = staff_clients(app, synthetic_responses=900)
    analyst, officer = clients["analyst"], clients["officer"]
    # Unweighted, "has heard of Prevent" counts everyone who answered it: all of them.
    document = json.loads(
        analyst.get("/staff/analysis/download.json?indicator=aware&by=sex&weighted=no").data
    )
    by_sex = {row["sex"]: row["n"] for row in document["rows"]}
    coverage = {
        row.th.get_text(strip=True): row.select("td")[0].get_text(strip=True)
        for table in page(officer.get("/staff/coverage")).select("table")
        if table.caption.get_text().startswith("Sex")
        for row in table.select("tbody tr")
    }
    assert f"{by_sex['female']:,}" == coverage["Female"]
    assert f"{by_sex['male']:,}" == coverage["Male"]
    page_rows = {
        tr.th.get_text(strip=True): tr.select("td")[0].get_text(strip=True)
        for tr in page(analyst.get("/staff/analysis?indicator=aware&by=sex&weighted=no")).select(
            "#estimates tbody tr"
        )
    }
    assert page_rows["Female"] == coverage["Female"]
    two_way = json.loads(
        analyst.get(
            "/staff/analysis/download.json?indicator=aware&by=sex&by2=age_band&weighted=no"
        ).data
    )
    margins = {row["sex"]: row["n"] for row in two_way["rows"] if row["age_band"] == "All"}
    # The same people whichever table counts them: women who gave their age band are a
    # row margin of sex by age and a column margin of age by sex. (A two-way table leaves
    # out those who did not state either; one line says how many.)
    turned = json.loads(
        analyst.get(
            "/staff/analysis/download.json?indicator=aware&by=age_band&by2=sex&weighted=no"
        ).data
    )
    columns = {row["sex"]: row["n"] for row in turned["rows"] if row["age_band"] == "All"}
    assert margins["female"] == columns["female"] and margins["male"] == columns["male"]
    assert two_way["metadata"]["not_stated"] == turned["metadata"]["not_stated"]


def test_what_a_breakdown_hides_follows_the_gates_table():
    """The one place trends and the least-reached ranking ask what a breakdown hides."""
    keyed, ten_five = Gate(10, load_ptable(KEYED)), Gate(10, load_ptable(TEN_FIVE))
    n, x, keys, positive_keys = [5, 40, 60, 25], [2, 20, 30, 0], [3, 100, 200, 9], [1, 50, 60, 0]
    # A group under 10 is hidden by either table; so is a group under 30 in which nobody
    # (as published) said yes. The keyed table reads the published counts.
    for gate in (keyed, ten_five):
        assert gate.small(n, x, keys, positive_keys).tolist() == [True, False, False, True]
    hidden = [True, False, False, True, False]  # the parts, then their total
    sizes = [*n, sum(n)]
    assert not keyed.protecting(hidden, sizes).any()  # noise by key: nothing more
    # With the same noise for every key, subtraction works: two hidden parts of 5 and 25
    # make 30 together, which is safe, but a lone hidden part takes the smallest other.
    assert not ten_five.protecting(hidden, sizes).any()
    lone = ten_five.protecting([True, False, False, False, False], sizes)
    assert lone.tolist() == [False, False, False, True, False]
