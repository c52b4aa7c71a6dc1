"""The coverage view: responses against population, small numbers never shown."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from survey.models import Answer, Link, QuestionnaireVersion, Response, random_response_id
from tests.counts import could_show, number
from tests.resident import page
from tests.staff import create_staff, sign_in


def add_responses(
    db_session,
    borough: str,
    count: int,
    *,
    sex="female",
    age="25-34",
    ethnicity="white_british",
    on=None,
) -> None:
    version = db_session.scalar(select(QuestionnaireVersion))
    link = db_session.scalar(select(Link).where(Link.code == "demo"))
    for _ in range(count):
        response = Response(
            id=random_response_id(),
            questionnaire_version_id=version.id,
            link_id=link.id,
            language="en",
            submitted_on=on or dt.date.today(),
        )
        response.answers = [
            Answer(question_id=q, value=v)
            for q, v in (
                ("borough", borough),
                ("sex", sex),
                ("age_band", age),
                ("ethnicity", ethnicity),
            )
        ]
        db_session.add(response)
    db_session.commit()


@pytest.fixture
def officer(app, demo):
    create_staff(app, "officer@example.org", "officer")
    client = app.test_client()
    sign_in(client, "officer@example.org")
    return client


def rows(soup, caption_start: str) -> dict[str, list[str]]:
    table = next(
        t for t in soup.select("table") if t.caption.get_text(strip=True).startswith(caption_start)
    )
    return {
        tr.th.get_text(strip=True): [td.get_text(strip=True) for td in tr.select("td")]
        for tr in table.select("tbody tr")
    }


def test_counts_under_10_show_as_fewer_than_10_and_no_share(officer, db_session):
    add_responses(db_session, "E09000030", 300)
    add_responses(db_session, "E09000007", 97, sex="male")
    add_responses(db_session, "E09000003", 3, sex="male")
    add_responses(db_session, "E09000004", 40, sex="male")
    soup = page(officer.get("/staff/coverage"))
    borough = rows(soup, "Borough")
    # Perturbed; shares are of the published number of all 440, never of the parts shown.
    tower, camden = borough["Tower Hamlets"][0], borough["Camden"][0]
    assert tower in could_show(300) and camden in could_show(97)
    share = float(borough["Tower Hamlets"][1].rstrip("%"))
    assert abs(share - 100 * number(tower) / 440) < 1.5
    assert borough["Barnet"][:2] == ["[c] fewer than 10", "—"]
    # Barnet's 3 is not the total less the rest: every count carries its own noise, so
    # the difference is a range, and no other group is hidden to protect it.
    assert borough["Bexley"][0] in could_show(40)
    assert borough["Brent"][:2] == ["[c] fewer than 10", "—"]  # nobody: no different
    sex = rows(soup, "Sex")
    assert sex["Female"][0] in could_show(300) and sex["Male"][0] in could_show(140)
    for secret in (" 3 ", ">3<"):
        assert secret not in str(soup.select_one("main"))


def test_a_lone_small_group_hides_nothing_else(officer, db_session):
    add_responses(db_session, "E09000030", 50, sex="female")
    add_responses(db_session, "E09000030", 30, sex="male")
    add_responses(db_session, "E09000030", 4, sex="prefer_not_to_say")
    sex = rows(page(officer.get("/staff/coverage")), "Sex")
    assert sex["Prefer not to say"][0] == "[c] fewer than 10"
    assert sex["Male"][0] in could_show(30) and sex["Female"][0] in could_show(50)
    # Shares of everyone (84, perturbed), not of the groups shown: Male is about 30 in 84,
    # not 100% of the groups shown beside a hidden one.
    assert abs(float(sex["Male"][1].rstrip("%")) - 100 * 30 / 84) < 12


def test_what_to_do_next_ranks_the_gaps_and_says_how_many_more_would_close_them(
    officer, db_session
):
    add_responses(db_session, "E09000030", 300)  # Tower Hamlets: women aged 25 to 34
    add_responses(db_session, "E09000007", 100, sex="male", age="65-plus")  # Camden
    soup = page(officer.get("/staff/coverage"))
    steps = [li.get_text(" ", strip=True) for li in soup.select(".app-next-steps li")]
    assert 3 <= len(steps) <= 10
    # Nobody answered from Barnet: shown as "fewer than 10", so the advice is "at least".
    barnet = next(s for s in steps if s.startswith("Barnet:"))
    assert "at least" in barnet and "more responses would close the gap" in barnet
    # London's groups nobody in them answered; never the women aged 25 to 34, who did.
    london = [s for s in steps if s.startswith("All of London, ")]
    assert london and all("at least" in s and "at most" in s for s in london)
    assert not any("women aged 25 to 34" in s for s in london)
    # Each says what the gap costs the weighting.
    assert all("design effect" in s for s in steps if "Weighting by" in s)
    assert "demo figures" in soup.select_one(".govuk-warning-text").get_text()


def test_the_advice_is_worked_out_from_published_counts():
    from survey.publication import Count
    from survey.services.gaps import _deff, _level_gaps, _needed

    # 40 of 1,000 responses against 10% of the people: (40 + x) / (1000 + x) = 0.08.
    assert _needed(40, 1000, 0.10, 0.2) == pytest.approx(40 / 0.92)
    assert _needed(90, 1000, 0.10, 0.2) == 0
    # Equal shares of responses and people: no weighting cost.
    assert _deff({"a": 50, "b": 50}, {"a": 10, "b": 10}) == pytest.approx(1.0)
    assert _deff({"a": 20, "b": 80}, {"a": 10, "b": 10}) > 1.0

    class Gate:
        threshold = 10

    published = {"a": Count(40, 10), "b": Count(None, 10), "c": Count(955, 10)}
    people = {"a": 100, "b": 100, "c": 800}
    gaps = {g.place: g for g in _level_gaps(
        "borough", published, people, 1000, 1000, Gate(), 0.2,
        lambda cell: (cell, cell, ""),
    )}  # fmt: skip
    assert set(gaps) == {"a", "b"}
    assert gaps["a"].needed == 45 and not gaps["a"].at_least  # 43.5, rounded up to 5
    assert gaps["b"].at_least  # hidden: taken at 9, the most it could be
    assert gaps["a"].deff_after < gaps["a"].deff_now


def test_a_boroughs_page_compares_its_residents_with_its_own_people(officer, db_session):
    add_responses(db_session, "E09000030", 60, age="16-24")
    add_responses(db_session, "E09000030", 40, age="65-plus", sex="male")
    add_responses(db_session, "E09000007", 50, age="35-44")
    soup = page(officer.get("/staff/coverage/borough/E09000030"))
    assert soup.select_one("h1").get_text(strip=True) == "Tower Hamlets"
    ages = rows(soup, "Age band in Tower Hamlets")
    young, old = ages["16 to 24"][0], ages["65 or over"][0]
    assert young in could_show(60) and old in could_show(40)
    assert ages["35 to 44"][0] == "[c] fewer than 10"  # Camden's residents are not counted
    # Of the borough's published 100 (perturbed too), not of the groups shown.
    assert abs(float(ages["16 to 24"][1].rstrip("%")) - number(young)) < 5
    assert ages["16 to 24"][2] == "14.0%"  # the demo gives each borough London's mix
    assert "Share of the borough's people" in soup.get_text()
    assert officer.get("/staff/coverage/borough/E09999999").status_code == 404
    listing = page(officer.get("/staff/coverage"))
    assert listing.select_one("a[href='/staff/coverage/borough/E09000030?period=all']")


def test_without_figures_within_boroughs_the_borough_page_says_so(app, officer, db_session):
    from survey.models import PopulationFigure

    add_responses(db_session, "E09000030", 30)
    for figure in db_session.scalars(
        select(PopulationFigure).where(PopulationFigure.variable.startswith("borough*"))
    ):
        db_session.delete(figure)
    db_session.commit()
    soup = page(officer.get("/staff/coverage/borough/E09000030"))
    assert "none within boroughs" in soup.get_text()
    assert rows(soup, "Age band in Tower Hamlets")["25 to 34"][2] == "—"


def test_a_link_shows_its_responses_by_month_and_its_mix_against_its_borough(
    app, officer, db_session
):
    token = page(officer.get("/staff/links/new")).select_one("input[name=csrf_token]")["value"]
    created = officer.post(
        "/staff/links/new",
        data={"csrf_token": token, "label": "Market stall", "channel": "event",
              "borough": "E09000030"},
    )  # fmt: skip
    link_id = int(created.headers["Location"].rsplit("/", 1)[1])
    demo_link = db_session.scalar(select(Link).where(Link.code == "demo"))
    add_responses(db_session, "E09000030", 40, age="16-24")
    add_responses(db_session, "E09000030", 30, age="45-54")
    for response in db_session.scalars(select(Response)):
        response.link_id = link_id
    db_session.commit()
    add_responses(db_session, "E09000030", 30, age="16-24")  # through the demo link
    assert demo_link is not None
    soup = page(officer.get(f"/staff/links/{link_id}"))
    months = rows(soup, "Completed responses by month")
    assert months[f"{dt.date.today():%B %Y}"][0] in could_show(70)
    ages = rows(soup, "Age band")
    assert ages["16 to 24"][0] in could_show(40) and ages["45 to 54"][0] in could_show(30)
    assert "Share of Tower Hamlets's people" in soup.get_text()
    assert "synthetic" not in soup.get_text()


def test_synthetic_responses_are_marked_on_every_coverage_view(app, demo, db_session):
    from tests.routes import staff_clients

    clients, ids = staff_clients(app, synthetic_responses=200)
    synthetic = db_session.scalar(select(Link).where(Link.synthetic.is_(True)))
    for path in ("/staff/coverage", "/staff/coverage/borough/E09000030"):
        text = page(clients["admin"].get(path)).get_text()
        assert "synthetic demo responses" in text, path
    text = page(clients["admin"].get(f"/staff/links/{synthetic.id}")).get_text()
    assert "These are synthetic demo responses" in text


def test_the_period_filter_counts_only_that_period(officer, db_session):
    add_responses(db_session, "E09000030", 20, on=dt.date.today() - dt.timedelta(days=100))
    add_responses(db_session, "E09000007", 15)
    this_month = f"{dt.date.today():%Y-%m}"
    soup = page(officer.get(f"/staff/coverage?period={this_month}"))
    offered = [o["value"] for o in soup.select("#period option")]
    assert "30-days" not in offered and offered[:2] == ["all", str(dt.date.today().year)]
    recent = rows(soup, "Borough")
    assert recent["Tower Hamlets"][0] == "[c] fewer than 10"
    assert recent["Camden"][0] in could_show(15)
    everything = rows(page(officer.get("/staff/coverage?period=all")), "Borough")
    assert everything["Tower Hamlets"][0] in could_show(20)
    assert officer.get("/staff/coverage?period=' OR 1=1--").status_code == 200


def test_coverage_follows_a_completed_survey(app, officer, db_session):
    from tests.resident import Resident

    for _ in range(10):
        resident = Resident(app.test_client(), "demo")
        resident.complete()
        resident.submit()
    borough = rows(page(officer.get("/staff/coverage")), "Borough")
    assert borough["Tower Hamlets"][0] in could_show(10)
