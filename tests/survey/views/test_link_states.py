"""Every resident route answers 404 or 410 for a link that cannot take responses, with or
without a form token, and every spelling of a code reaches one link and one allowance."""

from __future__ import annotations

import datetime as dt

import pytest

from survey.models import Link
from tests.resident import Resident, page

TODAY = dt.date.today()
LINKS = {
    "closed": {"closed": True},
    "expired": {"closes_on": TODAY - dt.timedelta(days=1)},
    "not-yet-open": {"opens_on": TODAY + dt.timedelta(days=1)},
    "full": {"cap": 1, "completed_count": 1},
}
EXPECTED = {"no-such-link": 404, **dict.fromkeys(LINKS, 410)}


def resident_routes(app) -> list[tuple[str, str]]:
    """(method, rule) for every route under /s/, read from the app itself."""
    return sorted(
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/s/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


def test_the_resident_routes_are_the_ones_this_file_walks(app):
    # start, begin, question x2, check, submit, clear, done
    assert len(resident_routes(app)) == 8


@pytest.fixture
def unusable_links(demo, db_session):
    for code, settings in LINKS.items():
        db_session.add(
            Link(code=code, label=code, questionnaire_id="prevent-awareness", **settings)
        )
    db_session.commit()


@pytest.mark.parametrize("token", ["none", "valid", "foreign"])
@pytest.mark.parametrize("code", list(EXPECTED))
def test_every_resident_route_refuses_a_link_that_cannot_take_responses(
    app, unusable_links, code, token
):
    client = app.test_client()
    valid = page(client.get("/s/demo")).select_one("input[name=csrf_token]")["value"]
    form = {"none": {}, "valid": {"csrf_token": valid}, "foreign": {"csrf_token": "x" * 40}}
    for method, rule in resident_routes(app):
        path = rule.replace("<code>", code).replace("<question_id>", "heard_of_prevent")
        response = client.open(path, method=method, data=form[token])
        assert response.status_code == EXPECTED[code], (method, path, token)


@pytest.mark.parametrize("spelling", ["DEMO", "Demo", "dEmO"])
def test_any_other_spelling_of_a_code_is_sent_to_the_code_itself(resident, spelling):
    assert resident.get(f"/s/{spelling}?lang=pl").headers["Location"] == "/s/demo?lang=pl"
    token = resident.csrf()
    response = resident.client.post(f"/s/{spelling}/start", data={"csrf_token": token})
    assert response.status_code == 308
    assert response.headers["Location"] == "/s/demo/start"


def test_every_spelling_of_a_code_shares_one_rate_limit_allowance(make_app, app, demo):
    limited = make_app(RATELIMIT_ENABLED=True, LINK_START_LIMIT="3 per hour")
    resident = Resident(limited.test_client(), "demo")
    token = resident.csrf()
    statuses = [
        resident.client.post(f"/s/{code}/start", data={"csrf_token": token}).status_code
        for code in ("DEMO", "Demo", "dEMO", "demo")
    ]
    assert statuses == [308, 308, 308, 429]
