"""Arbitrary posts to every resident endpoint, with a valid CSRF token, never give a 5xx."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from tests.properties import examples
from tests.resident import Resident

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
FIELD_NAMES = st.one_of(st.sampled_from(["answer", "submit_token", "csrf_token"]), TEXT)
QUESTION_IDS = st.one_of(
    st.sampled_from(
        [
            "heard_of_prevent",
            "prevent_purpose",
            "borough",
            "about_prevent",
            "information_seen_count",
            "anything_else",
            "religion",
        ]
    ),
    TEXT.filter(lambda s: "/" not in s and s not in (".", "..")),
)
ENDPOINTS = st.sampled_from(["start", "question", "check-answers"])


@settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    endpoint=ENDPOINTS,
    question_id=QUESTION_IDS,
    fields=st.lists(st.tuples(FIELD_NAMES, TEXT), max_size=8),
    keep_token=st.booleans(),
)
def test_arbitrary_posts_never_cause_a_server_error(
    app, demo, endpoint, question_id, fields, keep_token
):
    resident = Resident(app.test_client(), "demo")
    resident.start()
    resident.answer("heard_of_prevent", "yes")
    token = resident.csrf("/s/demo")
    data = MultiDict(fields)
    if keep_token:
        data.setlist("csrf_token", [token])
    path = {
        "start": "/s/demo/start",
        "question": f"/s/demo/q/{question_id}",
        "check-answers": "/s/demo/check-answers",
    }[endpoint]
    response = resident.client.post(path, data=data)
    assert response.status_code < 500, (path, dict(data), response.status_code)
    assert resident.client.get(path.replace("/start", "")).status_code < 500
