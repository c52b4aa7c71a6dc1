"""CSRF protection on every unsafe route, and a timed-out page that keeps the answers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from survey.models import Base
from tests.resident import page
from tests.staff import create_staff, sign_in

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def table_counts(session) -> dict[str, int]:
    return {
        table.name: session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


def unsafe_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.methods & UNSAFE]


def build_path(app, rule, values: dict[str, str]) -> str:
    adapter = app.url_map.bind("localhost")
    return adapter.build(rule.endpoint, {name: values[name] for name in rule.arguments})


def test_there_are_unsafe_routes_to_check(app):
    assert len(unsafe_rules(app)) >= 3


@pytest.mark.parametrize("token", [None, "forged-token", "foreign"])
def test_every_unsafe_route_refuses_a_missing_or_foreign_token_and_stores_nothing(
    app, resident, db_session, token
):
    resident.complete()
    admin_id = create_staff(app, "admin@example.org", "admin")
    sign_in(resident.client, "admin@example.org")
    state = {
        "code": "demo",
        "question_id": "heard_of_prevent",
        "link_id": "1",
        "user_id": str(admin_id),
        "release_id": "1",
        "job_id": "1",
    }
    if token == "foreign":
        other = app.test_client()
        token = page(other.get("/s/demo")).select_one("input[name=csrf_token]")["value"]
    before = table_counts(db_session)
    for rule in unsafe_rules(app):
        path = build_path(app, rule, state)
        data = {"answer": "no", "submit_token": "x"}
        if token is not None:
            data["csrf_token"] = token
        response = resident.client.post(path, data=data)
        assert response.status_code == 400, (path, response.status_code)
        # A page in plain words, never a bare 400.
        assert page(response).select_one("main h1") is not None, path
    db_session.expire_all()
    assert table_counts(db_session) == before


def test_an_expired_token_re_renders_the_question_with_the_answer_kept(app, resident):
    resident.start()
    path = "/s/demo/q/heard_of_prevent"
    response = resident.client.post(path, data={"csrf_token": "expired", "answer": "not_sure"})
    assert response.status_code == 400
    soup = page(response)
    assert soup.select_one("title").get_text().startswith("Error: ")
    assert "timed out" in soup.select_one(".govuk-error-summary").get_text()
    assert soup.select_one("input[name=answer][checked]")["value"] == "not_sure"
    fresh = soup.select_one("input[name=csrf_token]")["value"]
    again = resident.client.post(path, data={"csrf_token": fresh, "answer": "not_sure"})
    assert again.status_code == 303


def test_an_expired_token_on_submit_keeps_every_answer_and_can_be_sent_again(resident, db_session):
    resident.complete()
    form = resident.submit_form()
    response = resident.client.post("/s/demo/check-answers", data={**form, "csrf_token": "expired"})
    assert response.status_code == 400
    soup = page(response)
    assert "Your answers are saved" in soup.select_one(".govuk-error-summary").get_text()
    assert len(soup.select(".govuk-summary-list__row")) > 10
    retry = {
        "csrf_token": soup.select_one("input[name=csrf_token]")["value"],
        "submit_token": soup.select_one("input[name=submit_token]")["value"],
    }
    assert resident.submit(retry).headers["Location"].endswith("/s/demo/done")
