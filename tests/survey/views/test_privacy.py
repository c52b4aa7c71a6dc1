"""The privacy notice says exactly what each role sees, who runs the survey, and leads
back to the survey the resident came from."""

from __future__ import annotations

import pytest

from tests.resident import page


def notice(client, query: str = ""):
    return page(client.get(f"/privacy{query}"))


def test_it_says_what_each_role_sees_with_the_settings_in_force(app, make_app):
    client = make_app(
        SUPPRESSION_THRESHOLD=15,
        MICRODATA_K=8,
        ORGANISATION_NAME="Camden Community Safety",
        CONTACT_EMAIL="privacy@camden.example.org",
    ).test_client()
    soup = notice(client)
    words = soup.select_one("main").get_text(" ", strip=True)
    roles = {
        li.strong.get_text(): li.get_text(" ", strip=True)
        for li in soup.select("main li")
        if li.strong
    }
    assert set(roles) == {"Community officers", "Analysts", "Administrators"}
    assert 'shown only as "fewer than 15"' in roles["Community officers"]
    assert "fewer than 15 people is not shown" in roles["Analysts"]
    assert "one row for each person who answered" in roles["Administrators"]
    assert "fewer than 8 people share" in roles["Administrators"]
    assert "Staff see totals only" not in words
    assert "Camden Community Safety runs this survey" in words
    assert "the same group of people always shows as the same number" in words
    assert "under 15 they are not shown at all" in words
    assert soup.select_one('main a[href="mailto:privacy@camden.example.org"]')


def test_a_resident_can_go_back_to_the_survey_they_came_from(resident):
    start = page(resident.get("/s/demo"))
    privacy = start.select_one('main a[href^="/privacy"]')["href"]
    assert privacy == "/privacy?survey=demo"
    back = page(resident.get(privacy)).select_one(".govuk-back-link")
    assert back["href"] == "/s/demo" and back.get_text(strip=True) == "Back to the survey"
    footer = page(resident.get("/s/demo")).select_one('footer a[href^="/privacy"]')
    assert footer["href"] == "/privacy?survey=demo"


@pytest.mark.parametrize(
    "code", ["javascript:alert(1)", "//evil.example.org", "../staff", "%0d%0aSet-Cookie:x=1", ""]
)
def test_anything_but_a_link_code_leads_nowhere(client, code):
    assert notice(client, f"?survey={code}").select_one(".govuk-back-link") is None
