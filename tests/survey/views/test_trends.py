"""The trends page: is an indicator rising, where and for whom, through the publication
rules, with downloads in every format."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from survey import clock
from survey.demo import DEMO_DAYS
from survey.extensions import db
from survey.models import QuestionnaireVersion, Response
from survey.services.exports import FORMATS
from survey.services.periods import day_words
from survey.services.questionnaires import load_questionnaire
from tests.conftest import PROJECT
from tests.resident import PARSER
from tests.routes import staff_clients


@pytest.fixture
def analyst(app, demo):
    clients, _ids = staff_clients(app, synthetic_responses=3000)
    return clients["analyst"]


def page(response) -> BeautifulSoup:
    assert response.status_code == 200, response.get_data(as_text=True)[-2000:]
    return BeautifulSoup(response.get_data(as_text=True), PARSER)


def test_the_demo_spans_eight_quarters_and_the_page_draws_the_line(analyst):
    soup = page(analyst.get("/staff/analysis/trends?indicator=aware"))
    periods = [th.get_text(strip=True) for th in soup.select("#trend-1 tbody th")]
    assert len(periods) >= 8, periods
    chart = soup.select_one("figure svg[role=img]")
    assert chart.select_one("title").get_text() and chart.select_one("desc").get_text()
    assert chart.select("polyline.app-chart__line") and chart.select("polygon.app-chart__band")
    assert "synthetic" in soup.get_text()  # the demo is marked as made up
    headline = soup.select_one("#headline").get_text(" ", strip=True)
    assert "All of London" in headline and "would happen by chance" in headline
    assert "the survey would detect a change of" in soup.get_text()


def test_the_default_change_is_year_on_year_and_any_two_periods_can_be_compared(analyst):
    soup = page(analyst.get("/staff/analysis/trends?indicator=aware&periods=quarter"))
    names = [o["value"] for o in soup.select("#to option")]
    complete = [o["value"] for o in soup.select("#to option") if "[p]" not in o.get_text()]
    assert complete[-1] == names[-2]  # this quarter is not over
    assert soup.select_one("#to option[selected]")["value"] == complete[-1]
    assert soup.select_one("#from option[selected]")["value"] == names[-6]  # a year before
    chosen = page(
        analyst.get(
            f"/staff/analysis/trends?indicator=aware&periods=quarter&from={names[0]}&to={names[2]}"
        )
    )
    caption = chosen.select_one("#changes caption").get_text()
    assert names[0][-1] in caption and names[2][:4] in caption


def test_rolling_years_overlap_and_say_so(analyst):
    soup = page(analyst.get("/staff/analysis/trends?indicator=aware&periods=rolling"))
    periods = [th.get_text(strip=True) for th in soup.select("#trend-1 tbody th")]
    assert periods and all(p.startswith("year to Q") for p in periods)
    assert "rolling years that overlap share respondents" in soup.get_text()


def test_partial_periods_are_provisional_and_never_the_default_comparison(analyst):
    """The demo began part-way through a quarter over two years ago, and this quarter and
    year are not over: each is marked [p] with the days it covers, in the table, the chart
    and the downloads, and the change shown by default is between complete periods."""
    today = clock.today()
    first = today - dt.timedelta(days=DEMO_DAYS - 1)
    soup = page(analyst.get("/staff/analysis/trends?indicator=aware&periods=quarter"))
    periods = [th.get_text(" ", strip=True) for th in soup.select("#trend-1 tbody th")]
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    assert periods[-1].endswith(
        f"[p] covers {day_words(quarter_start)} to {day_words(today)} only (the period is not over)"
    )
    # The first quarter shown began before the first response only if it is that quarter
    # (on some days it has too few responses to weight and is left out).
    first_quarter = f"Q{(first.month - 1) // 3 + 1} {first.year}"
    if periods[0].startswith(first_quarter):
        assert "[p]" in periods[0] and "(responses began after it started)" in periods[0]
    assert not any("[p]" in p for p in periods[1:-1])
    provisional = sum("[p]" in p for p in periods)
    assert "[p] provisional" in soup.select_one("#provisional-key").get_text()
    headline = soup.select_one("#headline").get_text(" ", strip=True)
    assert f"Q{(today.month - 1) // 3 + 1} {today.year}" not in headline
    chart = soup.select_one("figure svg[role=img]")
    assert len(chart.select("circle.app-chart__dot--provisional")) == provisional
    assert "Provisional ([p], open circles)" in chart.select_one("desc").get_text()
    download = analyst.get("/staff/analysis/trends/trend.csv?indicator=aware&periods=quarter")
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    flagged = {row["period"] for row in rows if row["flag"] == "[p]"}
    assert len(flagged) == provisional and all(
        "covers" in r["flag_reason"] for r in rows if r["flag"] == "[p]"
    )
    # Years: the first began part-way through (the demo spans two years and a quarter)
    # and this one is not over; with fewer than two complete years (as in December 2026)
    # no change is chosen for you.
    soup = page(analyst.get("/staff/analysis/trends?indicator=aware&periods=year"))
    periods = [th.get_text(" ", strip=True) for th in soup.select("#trend-1 tbody th")]
    if periods[0].startswith(str(first.year)):
        assert periods[0].startswith(f"{first.year} [p] covers")
        assert "(responses began after it started)" in periods[0]
    assert "(the period is not over)" in periods[-1]
    complete = [p for p in periods if "[p]" not in p]
    assert len(complete) == today.year - first.year - 1
    if len(complete) < 2:
        assert soup.select_one("#changes") is None and soup.select_one("#headline") is None
        assert "not yet two complete years" in soup.select_one("#no-default-change").get_text()
    else:
        assert complete[-1] in soup.select_one("#headline").get_text()


def test_a_breakdown_gets_small_multiples_and_adjusted_changes(analyst):
    years = f"from={clock.today().year - 2}&to={clock.today().year - 1}"
    soup = page(
        analyst.get(f"/staff/analysis/trends?indicator=aware&by=age_band&periods=year&{years}")
    )
    panels = soup.select(".app-small-multiples figure")
    assert len(panels) >= 3
    rows = soup.select("#changes tbody tr")
    assert rows[0].th.get_text(strip=True) == "All of London"
    assert any("after adjusting for" in r.get_text() for r in rows[1:])


def test_small_groups_are_withheld_in_every_period(analyst):
    soup = page(analyst.get("/staff/analysis/trends?indicator=aware&by=borough&periods=quarter"))
    cells = [td.get_text(" ", strip=True) for td in soup.select("#trend-1 tbody td")]
    assert any(c.startswith("not shown: too few responses") for c in cells)
    for td in soup.select("#trend-1 tbody td"):
        text = td.get_text(" ", strip=True)
        if "%" in text:
            count = text.split("%")[-1].split("responses")[0].split()[-1]
            assert int(count.replace(",", "")) >= 10


def test_response_counts_by_borough_and_quarter_pass_the_gate(analyst):
    soup = page(analyst.get("/staff/analysis/trends?indicator=aware"))
    cells = [td.get_text(strip=True) for td in soup.select("#responses-by-borough tbody td")]
    assert cells
    for text in cells:
        assert text in ("[c] fewer than 10", "[c] not shown") or int(text.replace(",", "")) >= 10


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("table", ["trend", "change"])
def test_trend_downloads_come_in_every_format(analyst, fmt, table):
    response = analyst.get(f"/staff/analysis/trends/{table}.{fmt}?indicator=aware&by=sex")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith(f'{FORMATS[fmt].suffix}"')
    if fmt == "json":
        document = json.loads(response.data)
        assert (
            document["rows"] and "each period raked on its own" in document["metadata"]["weighting"]
        )
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
        assert rows and {"sex", "sex_label"} <= set(rows[0])
        column = "estimate" if table == "trend" else "change"
        assert any(r[column] for r in rows)
        if table == "change":
            assert all(r["minimum_detectable_change"] for r in rows if r["change"])


def test_the_line_breaks_where_the_question_changed(app, analyst):
    source = (PROJECT / "questionnaires" / "prevent-awareness.yaml").read_text(encoding="utf-8")
    changed = source.replace("version: 4\n", "version: 5\n", 1).replace(
        "Before today, had you heard of Prevent?", "Have you ever heard of Prevent?"
    )
    with app.app_context():
        load_questionnaire(db.session, changed, filename="changed.yaml")
        version_id = db.session.scalar(
            select(QuestionnaireVersion.id).where(QuestionnaireVersion.version == 5)
        )
        # The newest 300 responses answered the new version.
        newest = select(Response.id).order_by(Response.submitted_on.desc()).limit(300)
        for response in db.session.scalars(
            select(Response).where(Response.id.in_(newest.scalar_subquery()))
        ):
            response.questionnaire_version_id = version_id
        db.session.commit()
    soup = page(analyst.get("/staff/analysis/trends?indicator=aware&periods=quarter"))
    text = soup.get_text(" ", strip=True)
    assert "Version 5 changed the question's wording from version 4" in text
    assert soup.select("#trend-2")  # a second, separate run of figures


def test_a_group_small_in_the_rest_of_its_year_is_withheld():
    """A quarter's table can be subtracted from its year's (on offer on the estimates
    page): where the same group in the year's other quarters is 1 to k - 1, it is withheld."""
    from analysis.trends import Window
    from survey.services.reporting import _outside_small

    quarters = ["2026-Q1", "2026-Q2", "2026-Q3"]
    respondents = {
        **{(q, "All"): (300, 0) for q in quarters},
        ("2026-Q1", "Camden"): (40, 0),
        ("2026-Q2", "Camden"): (3, 0),  # the rest of 2026 for Camden, seen from Q1 and Q3
        ("2026-Q3", "Camden"): (0, 0),
        ("2026-Q1", "Barnet"): (40, 0),
        ("2026-Q2", "Barnet"): (40, 0),
        ("2026-Q3", "Barnet"): (40, 0),
    }
    windows = [Window(q, (q,)) for q in quarters]
    found = _outside_small(windows, ["All", "Camden", "Barnet"], respondents, 10)
    assert ("2026-Q1", "Camden") in found  # 2026 without Q1 holds 3 from Camden
    assert ("2026-Q2", "Camden") not in found  # without Q2: 40
    assert not any(group == "Barnet" for _window, group in found)


def test_trends_by_sex_show_women_and_men_in_every_complete_quarter(analyst):
    """Residents who preferred not to say their sex count in London's line, not in one of
    their own, and never cost the main groups' lines their estimates."""
    from survey import clock

    current = f"{clock.today().year}-Q{(clock.today().month - 1) // 3 + 1}"
    document = json.loads(
        analyst.get("/staff/analysis/trends/trend.json?indicator=aware&by=sex&periods=quarter").data
    )
    groups = {row["sex"] for row in document["rows"]}
    assert "prefer_not_to_say" not in groups and {"female", "male"} <= groups
    complete = {row["period"] for row in document["rows"] if row["period"] != current}
    assert len(complete) >= 7
    for row in document["rows"]:
        if row["sex"] in ("female", "male") and row["period"] in complete:
            assert row["estimate"] is not None, row
        if row["estimate"] is None:  # whatever is missing says why
            assert row["flag"] in ("[c]", "[x]") and row["flag_reason"], row
