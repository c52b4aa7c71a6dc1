"""The resident's journey through the real questionnaire, read as HTML."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from survey.models import (
    Answer,
    Draft,
    Link,
    QuestionnaireVersion,
    Response,
    SpentSubmissionToken,
    TextAnswer,
)
from tests.resident import COMPLETE_ANSWERS, page


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_start_page_states_the_anonymity_promise(resident):
    soup = page(resident.get("/s/demo"))
    assert soup.select_one("h1").get_text(strip=True).startswith("Prevent in your community")
    promise = soup.select_one("main").get_text(" ", strip=True)
    assert "Your answers are anonymous" in promise
    assert "IP address" in promise
    assert soup.select_one("html")["lang"] == "en"


def test_unknown_link_gets_a_clear_not_found_page(client, demo):
    response = client.get("/s/no-such-link")
    assert response.status_code == 404
    assert page(response).select_one("h1").get_text(strip=True) == "Page not found"


def test_closed_and_expired_links_say_the_survey_has_closed(client, demo, db_session):
    db_session.add_all(
        [
            Link(code="closed", label="Closed", questionnaire_id="prevent-awareness", closed=True),
            Link(
                code="ended",
                label="Ended",
                questionnaire_id="prevent-awareness",
                closes_on=dt.date(2020, 1, 1),
            ),
            Link(
                code="future",
                label="Future",
                questionnaire_id="prevent-awareness",
                opens_on=dt.date(2999, 1, 1),
            ),
        ]
    )
    db_session.commit()
    for code in ("closed", "ended"):
        response = client.get(f"/s/{code}")
        assert response.status_code == 410
        assert page(response).select_one("h1").get_text(strip=True) == "This survey has closed"
    response = client.get("/s/future")
    assert response.status_code == 410
    assert "not opened yet" in page(response).select_one("h1").get_text()


def test_question_pages_show_one_question_with_a_back_link(resident):
    resident.start()
    assert resident.current_question() == "heard_of_prevent"
    soup = page(resident.get("/s/demo/q/heard_of_prevent"))
    assert (
        soup.select_one("legend h1").get_text(strip=True)
        == "Before today, had you heard of Prevent?"
    )
    assert soup.select_one("a.govuk-back-link")["href"] == "/s/demo"
    assert len(soup.select("input[type=radio][name=answer]")) == 3
    resident.answer("heard_of_prevent", "yes")
    soup = page(resident.get("/s/demo/q/prevent_purpose"))
    assert soup.select_one("a.govuk-back-link")["href"] == "/s/demo/q/heard_of_prevent"


def test_a_missing_answer_shows_the_govuk_error_pattern(resident):
    resident.start()
    response = resident.answer("heard_of_prevent", None)
    assert response.status_code == 400
    soup = page(response)
    assert soup.select_one("title").get_text().startswith("Error: ")
    summary = soup.select_one(".govuk-error-summary")
    link = summary.select_one("a")
    assert link.get_text(strip=True) == "Select whether you had heard of Prevent"
    assert soup.select_one(link["href"]) is not None
    assert (
        "Select whether you had heard of Prevent"
        in soup.select_one(".govuk-error-message").get_text()
    )


def test_an_invalid_answer_keeps_the_residents_other_answers(resident, db_session):
    resident.start()
    resident.answer("heard_of_prevent", "yes")
    response = resident.answer("prevent_purpose", ["training", "dont_know"])
    assert response.status_code == 400
    soup = page(response)
    assert "on its own" in soup.select_one(".govuk-error-summary").get_text()
    checked = {i["value"] for i in soup.select("input[name=answer][checked]")}
    assert checked == {"training", "dont_know"}
    draft = db_session.scalar(select(Draft))
    assert draft.answers["heard_of_prevent"] == "yes"


def test_skip_logic_hides_follow_up_questions(resident):
    resident.start()
    resident.answer("heard_of_prevent", "no")
    assert resident.current_question() == "about_prevent"


def test_changing_an_earlier_answer_drops_answers_it_now_hides(resident, db_session):
    resident.complete()
    response = resident.answer("heard_of_prevent", "no", change=True)
    assert response.headers["Location"].endswith("/s/demo/check-answers")
    draft = db_session.scalar(select(Draft))
    db_session.refresh(draft)
    assert "prevent_purpose" not in draft.answers
    assert "heard_where" not in draft.answers
    resident.submit()
    stored = {a.question_id for a in db_session.scalars(select(Answer))}
    assert "prevent_purpose" not in stored and "heard_of_prevent" in stored


def test_changing_to_an_answer_that_reveals_questions_asks_them_before_check_answers(resident):
    resident.complete({"heard_of_prevent": "no"})
    response = resident.answer("heard_of_prevent", "yes", change=True)
    assert response.headers["Location"].endswith("/s/demo/q/prevent_purpose")


def test_check_answers_lists_every_answer_with_a_change_link(resident):
    resident.complete()
    soup = page(resident.get("/s/demo/check-answers"))
    rows = soup.select(".govuk-summary-list__row")
    keys = [r.select_one(".govuk-summary-list__key").get_text(strip=True) for r in rows]
    assert "What is your sex?" in keys
    borough_row = rows[keys.index("Which London borough do you live in?")]
    assert (
        borough_row.select_one(".govuk-summary-list__value").get_text(strip=True) == "Tower Hamlets"
    )
    change = borough_row.select_one(".govuk-summary-list__actions a")
    assert change["href"] == "/s/demo/q/borough?change=1"
    assert "information" not in " ".join(keys).lower() or "About Prevent" not in keys


def test_check_answers_before_finishing_goes_to_the_next_unanswered_question(resident):
    resident.start()
    resident.answer("heard_of_prevent", "yes")
    response = resident.get("/s/demo/check-answers")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/s/demo/q/prevent_purpose")


def test_a_resident_cannot_skip_ahead_by_editing_the_address(resident):
    resident.start()
    response = resident.get("/s/demo/q/religion")
    assert response.headers["Location"].endswith("/s/demo/q/heard_of_prevent")


def test_submitting_shows_a_confirmation_and_deletes_the_draft(resident, db_session):
    resident.complete()
    resident.submit()
    soup = page(resident.get("/s/demo/done"))
    assert (
        soup.select_one(".govuk-panel__title").get_text(strip=True) == "Your answers have been sent"
    )
    assert count(db_session, Draft) == 0
    response = db_session.scalar(select(Response))
    assert response.language == "en"
    assert response.questionnaire_version_id is not None


def test_a_submission_that_loses_the_last_place_stores_nothing(resident, db_session, monkeypatch):
    # The resident has read every page first: on PostgreSQL those reads ran outside a
    # transaction, and the submission must still be one transaction on the same connection.
    from survey.services import responses

    resident.complete()
    resident.get("/s/demo/check-answers")
    monkeypatch.setattr(responses, "count_completion", lambda session, link_id: False)
    assert resident.submit().status_code == 410
    assert count(db_session, Response) == count(db_session, Answer) == 0
    assert count(db_session, SpentSubmissionToken) == 0
    assert count(db_session, Draft) == 1


def test_optional_questions_can_be_left_blank(resident, db_session):
    resident.complete({"information_seen_count": "", "anything_else": ""})
    resident.submit()
    stored = {a.question_id for a in db_session.scalars(select(Answer))}
    assert "information_seen_count" not in stored
    assert count(db_session, TextAnswer) == 0


def test_a_resident_can_come_back_to_their_draft(resident):
    resident.start()
    resident.answer("heard_of_prevent", "yes")
    soup = page(resident.get("/s/demo"))
    assert "Continue where you left off" in soup.select_one("#start-button").get_text()
    resident.start()
    assert resident.current_question() == "prevent_purpose"


def test_a_resident_on_a_link_used_in_one_borough_is_still_asked_where_they_live(
    client, demo, db_session
):
    db_session.add(
        Link(
            code="whitechapel",
            label="Whitechapel open day",
            questionnaire_id="prevent-awareness",
            distribution_borough="E09000030",  # Tower Hamlets
        )
    )
    db_session.commit()
    from tests.resident import Resident

    resident = Resident(client, "whitechapel")
    answers = {**COMPLETE_ANSWERS, "borough": "E09000012"}  # lives in Hackney
    resident.start()
    seen = []
    while (question_id := resident.current_question()) is not None:
        seen.append(question_id)
        resident.answer(question_id, answers.get(question_id))
    assert "borough" in seen
    resident.submit()
    stored = {(a.question_id, a.value) for a in db_session.scalars(select(Answer))}
    assert ("borough", "E09000012") in stored and ("borough", "E09000030") not in stored
    assert db_session.scalar(select(Response.borough_from_link)) is False


def test_every_response_records_the_questionnaire_version_it_answered(resident, db_session):
    resident.complete()
    resident.submit()
    response = db_session.scalar(select(Response))
    stored = db_session.get(QuestionnaireVersion, response.questionnaire_version_id)
    assert (stored.questionnaire_id, stored.version) == ("prevent-awareness", 4)


def test_a_database_failure_on_an_answer_keeps_it_in_the_form_and_says_so(resident, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from survey.services import drafts

    resident.start()
    token = resident.csrf("/s/demo/q/heard_of_prevent")

    def database_gone(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(drafts, "find_link_and_draft", database_gone)
    response = resident.client.post(
        "/s/demo/q/heard_of_prevent", data={"csrf_token": token, "answer": "not_sure"}
    )
    assert response.status_code == 503
    soup = page(response)
    assert "your answer was not saved" in soup.select_one(".govuk-error-summary").get_text()
    assert soup.select_one("input[name=answer][checked]")["value"] == "not_sure"
