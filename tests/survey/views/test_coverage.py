"""The coverage view: responses against population, small numbers never shown."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from survey.models import Answer, Link, QuestionnaireVersion, Response, random_response_id
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
    # Perturbed (the ONS 10-5 table rounds to 5); shares are of the published counts.
    assert borough["Tower Hamlets"][:2] == ["300", "75.9%"]
    assert borough["Camden"][:2] == ["95", "24.1%"]
    assert borough["Barnet"][:2] == ["fewer than 10", "—"]
    # Barnet's 3 would be the total less the rest: the smallest other group is hidden too.
    assert borough["Bexley"][:2] == ["not shown", "—"]
    assert borough["Brent"][:2] == ["fewer than 10", "—"]  # nobody: no different
    sex = rows(soup, "Sex")
    assert sex["Female"][0] == "300" and sex["Male"][0] == "140"
    for secret in (" 3 ", ">3<"):
        assert secret not in str(soup.select_one("main"))


def test_a_lone_small_group_forces_another_to_be_hidden(officer, db_session):
    add_responses(db_session, "E09000030", 50, sex="female")
    add_responses(db_session, "E09000030", 30, sex="male")
    add_responses(db_session, "E09000030", 4, sex="prefer_not_to_say")
    sex = rows(page(officer.get("/staff/coverage")), "Sex")
    assert sex["Prefer not to say"][0] == "fewer than 10"
    assert sex["Male"][0] == "not shown" and sex["Male"][1] == "—"
    assert sex["Female"][0] == "50"


def test_the_most_under_represented_groups_are_listed(officer, db_session):
    add_responses(db_session, "E09000030", 300)
    add_responses(db_session, "E09000007", 100)
    soup = page(officer.get("/staff/coverage"))
    gaps = [li.get_text(" ", strip=True) for li in soup.select("main ol li")]
    # Nobody answered "male": the largest group with fewer than 10 responses comes first.
    assert gaps[0].startswith("Sex: Male – fewer than 10 responses")
    assert len(gaps) == 5
    assert "demo figures" in soup.select_one(".govuk-warning-text").get_text()


def test_the_period_filter_counts_only_that_period(officer, db_session):
    add_responses(db_session, "E09000030", 20, on=dt.date.today() - dt.timedelta(days=100))
    add_responses(db_session, "E09000007", 15)
    this_month = f"{dt.date.today():%Y-%m}"
    soup = page(officer.get(f"/staff/coverage?period={this_month}"))
    offered = [o["value"] for o in soup.select("#period option")]
    assert "30-days" not in offered and offered[:2] == ["all", str(dt.date.today().year)]
    recent = rows(soup, "Borough")
    assert recent["Tower Hamlets"][0] == "fewer than 10"
    assert recent["Camden"][0] == "15"
    everything = rows(page(officer.get("/staff/coverage?period=all")), "Borough")
    assert everything["Tower Hamlets"][0] == "20"
    assert officer.get("/staff/coverage?period=' OR 1=1--").status_code == 200


def test_coverage_follows_a_completed_survey(app, officer, db_session):
    from tests.resident import Resident

    for _ in range(10):
        resident = Resident(app.test_client(), "demo")
        resident.complete()
        resident.submit()
    borough = rows(page(officer.get("/staff/coverage")), "Borough")
    assert borough["Tower Hamlets"][0] == "10"
