"""The hostile-input corpus through every resident field and URL: no 5xx, nothing invalid kept."""

from __future__ import annotations

import itertools
import unicodedata
import urllib.parse

import pytest
from sqlalchemy import func, select

from survey.models import Answer, Draft, Response, TextAnswer
from survey.questionnaire import load_file
from tests.conftest import PROJECT
from tests.resident import COMPLETE_ANSWERS

QUESTIONNAIRE = load_file(PROJECT / "questionnaires" / "prevent-awareness.yaml")
ANSWERABLE = [q for q in QUESTIONNAIRE.questions if q.answerable]


def corpus_strings(bad_inputs) -> list[str]:
    lists = [
        value
        for key, value in bad_inputs.items()
        if isinstance(value, list) and not key.startswith("_")
    ]
    return list(dict.fromkeys(itertools.chain.from_iterable(lists)))


def reach(resident, question_id: str) -> None:
    """Answer the questions before question_id so its page is open."""
    resident.start()
    while (current := resident.current_question()) not in (question_id, None):
        resident.answer(current, COMPLETE_ANSWERS[current])
    assert resident.current_question() == question_id


@pytest.mark.parametrize("question", ANSWERABLE, ids=lambda q: q.id)
def test_every_corpus_string_in_every_field_is_refused_or_kept_exactly(
    resident, db_session, bad_inputs, question
):
    reach(resident, question.id)
    # One page's token serves every post: the session, and so its token, stays the same.
    token = resident.csrf(f"/s/{resident.code}/q/{question.id}")
    for value in corpus_strings(bad_inputs):
        response = resident.answer(question.id, value, token=token)
        assert response.status_code < 500, (question.id, value)
        db_session.expire_all()
        stored = db_session.scalar(select(Draft)).answers.get(question.id)
        if response.status_code == 303:
            if question.type in ("short_text", "long_text"):
                # Browsers send CRLF in text areas; answers are kept NFC with LF line ends.
                expected = unicodedata.normalize(
                    "NFC", value.replace("\r\n", "\n").replace("\r", "\n")
                ).strip()
                assert stored == (expected or None) or "removed]" in stored, value
            elif question.type == "multiple_choice":
                assert stored == [value] and value in question.allowed_values
            else:
                assert stored in question.allowed_values or question.type == "number"
        else:
            assert response.status_code == 400
            body = response.get_data(as_text=True)
            assert "There is a problem" in body


def test_a_cyrillic_look_alike_borough_is_refused(resident, db_session):
    reach(resident, "borough")
    response = resident.answer("borough", "E09000007".replace("E", "\u0415"))
    assert response.status_code == 400
    response = resident.answer("borough", "Camden")
    assert response.status_code == 400


def test_round_trip_strings_are_stored_unchanged_in_the_response(resident, db_session, bad_inputs):
    for text in bad_inputs["must_round_trip_unchanged"]:
        resident.complete({"anything_else": text})
        resident.submit()
        db_session.expire_all()
        stored = db_session.scalars(select(TextAnswer.text)).all()
        assert text in stored


@pytest.mark.parametrize(
    "segment",
    [
        "../../../../etc/passwd",
        "..%2f..%2fetc%2fpasswd",
        "%2e%2e%2fetc",
        "CON",
        "NUL",
        "' OR '1'='1",
        "<script>alert(1)</script>",
        "%00",
        "a" * 500,
        "\u0421\u0430mden",
        "demo%0d%0aX: 1",
    ],
)
def test_hostile_url_segments_get_a_not_found_page(client, demo, segment):
    quoted = urllib.parse.quote(segment, safe="%")
    for path in (f"/s/{quoted}", f"/s/demo/q/{quoted}", f"/s/{quoted}/check-answers"):
        response = client.get(path)
        assert response.status_code in (303, 404), (path, response.status_code)


def test_sql_injection_in_the_link_code_changes_no_rows(client, demo, db_session, bad_inputs):
    before = db_session.scalar(select(func.count()).select_from(Response))
    for value in bad_inputs["sql_injection"]:
        response = client.get("/s/" + urllib.parse.quote(value, safe=""))
        assert response.status_code == 404
    assert db_session.scalar(select(func.count()).select_from(Response)) == before


def test_a_huge_body_is_refused_with_413_and_a_plain_page(resident):
    reach(resident, "heard_of_prevent")
    token = resident.csrf("/s/demo/q/heard_of_prevent")
    response = resident.client.post(
        "/s/demo/q/heard_of_prevent", data={"csrf_token": token, "answer": "x" * 2_000_000}
    )
    assert response.status_code == 413
    assert "too long" in response.get_data(as_text=True)


def test_five_thousand_fields_are_refused(resident, db_session):
    reach(resident, "heard_of_prevent")
    token = resident.csrf("/s/demo/q/heard_of_prevent")
    data = {f"f{i}": "1" for i in range(5000)}
    data["csrf_token"] = token
    response = resident.client.post("/s/demo/q/heard_of_prevent", data=data)
    assert response.status_code in (400, 413)
    assert "heard_of_prevent" not in db_session.scalar(select(Draft)).answers


@pytest.mark.parametrize(
    "extra",
    [
        {"answer[]": "yes"},
        {"answer[a]": "yes"},
        {"respondent_ip": "1.2.3.4"},
    ],
)
def test_unknown_fields_are_refused_and_nothing_is_recorded(resident, db_session, extra):
    reach(resident, "heard_of_prevent")
    response = resident.answer("heard_of_prevent", "yes", extra=extra)
    assert response.status_code == 400
    assert "heard_of_prevent" not in db_session.scalar(select(Draft)).answers


def test_a_repeated_single_answer_field_is_refused(resident, db_session):
    reach(resident, "heard_of_prevent")
    response = resident.answer("heard_of_prevent", ["yes", "no"])
    assert response.status_code == 400
    assert "heard_of_prevent" not in db_session.scalar(select(Draft)).answers


def test_a_hundred_kilobyte_value_in_a_short_field_is_refused_without_storing(resident, db_session):
    reach(resident, "information_seen_count")
    response = resident.answer("information_seen_count", "9" * 60_000)
    assert response.status_code in (400, 413)
    assert "information_seen_count" not in db_session.scalar(select(Draft)).answers


def test_no_answer_row_is_invalid_after_the_corpus(resident, db_session, bad_inputs):
    resident.complete()
    resident.submit()
    for answer in db_session.scalars(select(Answer)):
        question = QUESTIONNAIRE.question(answer.question_id)
        if question.type == "number":
            assert answer.value.isdigit()
        else:
            assert answer.value in question.allowed_values
