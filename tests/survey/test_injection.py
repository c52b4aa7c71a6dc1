"""SQL injection and open-redirect corpora on every parameter of every route.

Each SQL payload goes into every query parameter the app reads and every string path
segment, for every role: no 5xx, no change in any table of survey data, and no request
takes as long as the sleep the payload asks the database for (5 seconds): that bound is
the payload's own, not a speed target. Each redirect payload goes into `next`: the
redirect stays on this site.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from survey import models
from tests.routes import ROLES, get_endpoints, path_for, staff_clients
from tests.staff import PASSWORD, create_staff, csrf_from

QUERY_PARAMETERS = (
    "period",
    "next",
    "change",
    "indicator",
    "by",
    "by2",
    "weighted",
    "method",
    "version",
    "confidence",
    "page",
    "periods",
    "from",
    "to",
    "language",
    "allow",
    "lang",
    "corrects",
)
STRING_SEGMENTS = {"code": "demo", "question_id": "heard_of_prevent", "fmt": "csv"}
CHOICE_SEGMENTS = {"table": "trend", "kind": "csv", "release_id": 1}  # no payload fits
PAYLOAD_SLEEP = 5  # seconds the corpus's sleep payloads ask for
SURVEY_DATA = (  # every table of responses, links, accounts and population figures
    models.Answer,
    models.Link,
    models.PopulationFigure,
    models.PopulationSet,
    models.QuestionnaireVersion,
    models.Release,
    models.Response,
    models.StaffUser,
    models.TextAnswer,
)


def row_counts(session) -> dict[str, int]:
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model))
        for model in SURVEY_DATA
    }


@pytest.fixture
def walk(app, demo):
    return staff_clients(app, synthetic_responses=30)


def test_the_sql_corpus_in_every_parameter_changes_nothing(app, walk, db_session, bad_inputs):
    clients, ids = walk
    before = row_counts(db_session)
    rules = {r.endpoint: r for r in app.url_map.iter_rules()}
    for payload in bad_inputs["sql_injection"]:
        query = dict.fromkeys(QUERY_PARAMETERS, payload)
        for endpoint in get_endpoints(app):
            if endpoint == "static":
                continue
            paths = [path_for(app, endpoint, ids)]
            for segment in rules[endpoint].arguments & set(STRING_SEGMENTS):
                values = {**ids, segment: payload}
                paths.append(
                    app.url_map.bind("localhost").build(
                        endpoint,
                        {
                            a: values.get(a, {**CHOICE_SEGMENTS, **STRING_SEGMENTS}.get(a))
                            for a in rules[endpoint].arguments
                        },
                    )
                )
            for path in paths:
                for role in ROLES:
                    started = time.monotonic()
                    response = clients[role].get(path, query_string=query)
                    elapsed = time.monotonic() - started
                    assert response.status_code < 500, (role, path, payload)
                    assert elapsed < PAYLOAD_SLEEP, (role, path, payload, elapsed)
                    response.close()
        db_session.expire_all()
        assert row_counts(db_session) == before, payload


def test_the_sql_corpus_in_sign_in_fields_changes_nothing(app, demo, db_session, bad_inputs):
    create_staff(app, "admin@example.org", "admin")
    before = row_counts(db_session)
    for payload in bad_inputs["sql_injection"]:
        client = app.test_client()
        token = csrf_from(client, "/staff/sign-in")
        for email, password in ((payload, PASSWORD), ("admin@example.org", payload)):
            response = client.post(
                "/staff/sign-in", data={"csrf_token": token, "email": email, "password": password}
            )
            assert response.status_code in (200, 400), payload  # the form, with an error
    assert row_counts(db_session) == before


def is_same_origin(location: str) -> bool:
    parts = urlsplit(location)
    return not parts.scheme and not parts.netloc and location.startswith("/")


def test_the_open_redirect_corpus_in_next_stays_on_this_site(app, demo, bad_inputs):
    create_staff(app, "admin@example.org", "admin")
    for payload in [*bad_inputs["open_redirect_and_log_injection"], "///evil.example"]:
        client = app.test_client()
        token = csrf_from(client, "/staff/sign-in?" + "next=" + payload)
        response = client.post(
            "/staff/sign-in",
            query_string={"next": payload},
            data={"csrf_token": token, "email": "admin@example.org", "password": PASSWORD},
        )
        assert response.status_code == 303, payload
        location = response.headers["Location"]
        assert is_same_origin(location), (payload, location)
        assert "evil" not in location and "\n" not in location, (payload, location)
        # Once signed in, the sign-in page redirects at once: also only to this site.
        again = client.get("/staff/sign-in", query_string={"next": payload})
        assert is_same_origin(again.headers["Location"]), payload


def test_a_staff_page_asked_for_while_signed_out_comes_back_after_sign_in(app, demo):
    create_staff(app, "admin@example.org", "admin")
    client = app.test_client()
    asked = client.get("/staff/admin/audit")
    assert asked.headers["Location"] == "/staff/sign-in?next=/staff/admin/audit"
    token = csrf_from(client, asked.headers["Location"])
    response = client.post(
        asked.headers["Location"],
        data={"csrf_token": token, "email": "admin@example.org", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/staff/admin/audit"
