"""Ethnic group in two steps, as GOV.UK asks it: the five groups first, then the chosen
group's own options. The stored answer is the detailed option, exactly as before."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from survey.models import Answer
from tests.resident import COMPLETE_ANSWERS, page

QUESTION = "/s/demo/q/ethnicity"


@pytest.fixture
def at_ethnicity(resident):
    """A resident who has answered everything before the ethnic group question."""
    resident.start()
    for _ in range(30):
        question_id = resident.current_question()
        if question_id == "ethnicity":
            return resident
        resident.answer(question_id, COMPLETE_ANSWERS.get(question_id))
    raise AssertionError("never reached the ethnic group question")


def radios(response) -> list[tuple[str, str]]:
    soup = page(response)
    return [
        (item.select_one("input")["value"], item.select_one("label").get_text(strip=True))
        for item in soup.select(".govuk-radios__item")
    ]


def heading(response) -> str:
    return page(response).select_one("h1").get_text(strip=True)


def post(resident, path: str, value: str | None):
    token = resident.csrf(path)
    data = {"csrf_token": token, **({"answer": value} if value else {})}
    resident.last = resident.client.post(path, data=data)
    return resident.last


def stored_ethnicity(db_session) -> list[str]:
    return db_session.scalars(select(Answer.value).where(Answer.question_id == "ethnicity")).all()


def test_the_first_page_offers_the_five_groups(at_ethnicity):
    response = at_ethnicity.get(QUESTION)
    assert heading(response) == "What is your ethnic group?"
    assert radios(response) == [
        ("asian", "Asian or Asian British"),
        ("black", "Black, Black British, Caribbean or African"),
        ("mixed", "Mixed or multiple ethnic groups"),
        ("white", "White"),
        ("other", "Other ethnic group"),
        ("prefer_not_to_say", "Prefer not to say"),
    ]


def test_the_second_page_asks_about_the_chosen_group(at_ethnicity, db_session):
    response = post(at_ethnicity, QUESTION, "asian")
    assert response.status_code == 303
    assert response.headers["Location"] == f"{QUESTION}?group=asian"
    second = at_ethnicity.get(response.headers["Location"])
    assert heading(second) == (
        "Which of the following best describes your Asian or Asian British background?"
    )
    assert radios(second) == [
        ("asian_bangladeshi", "Bangladeshi"),
        ("asian_chinese", "Chinese"),
        ("asian_indian", "Indian"),
        ("asian_pakistani", "Pakistani"),
        ("asian_other", "Any other Asian background"),
    ]
    assert page(second).select_one(".govuk-back-link")["href"] == QUESTION
    done = post(at_ethnicity, f"{QUESTION}?group=asian", "asian_indian")
    assert done.headers["Location"] == "/s/demo/q/religion"
    at_ethnicity.complete()
    at_ethnicity.submit()
    assert stored_ethnicity(db_session) == ["asian_indian"]


def test_the_stored_value_is_the_detailed_option(at_ethnicity, client, db_session):
    post(at_ethnicity, QUESTION, "white")
    post(at_ethnicity, f"{QUESTION}?group=white", "white_irish")
    for _ in range(10):
        question_id = at_ethnicity.current_question()
        if question_id is None:
            break
        at_ethnicity.answer(question_id, COMPLETE_ANSWERS.get(question_id))
    check = page(at_ethnicity.get("/s/demo/check-answers"))
    rows = {
        row.select_one("dt").get_text(strip=True): row.select_one("dd").get_text(strip=True)
        for row in check.select(".govuk-summary-list__row")
    }
    assert rows["What is your ethnic group?"] == "White: Irish"
    at_ethnicity.submit()
    assert stored_ethnicity(db_session) == ["white_irish"]


def test_prefer_not_to_say_answers_on_the_first_page(at_ethnicity):
    response = post(at_ethnicity, QUESTION, "prefer_not_to_say")
    assert response.headers["Location"] == "/s/demo/q/religion"


def test_an_option_of_another_group_is_refused(at_ethnicity):
    post(at_ethnicity, QUESTION, "black")
    response = post(at_ethnicity, f"{QUESTION}?group=black", "white_irish")
    assert response.status_code == 400
    assert page(response).select_one(".govuk-error-summary")


def test_no_choice_on_either_page_says_what_to_do(at_ethnicity):
    first = post(at_ethnicity, QUESTION, None)
    assert first.status_code == 400
    assert "Select your ethnic group, or 'Prefer not to say'" in page(first).get_text()
    second = post(at_ethnicity, f"{QUESTION}?group=mixed", None)
    assert second.status_code == 400
    assert (
        page(second)
        .select_one(".govuk-error-message")
        .get_text(strip=True)
        .endswith("Select an answer")
    )


def test_an_unknown_group_goes_back_to_the_first_page(at_ethnicity):
    response = at_ethnicity.get(f"{QUESTION}?group=martian")
    assert response.status_code == 303
    assert response.headers["Location"] == QUESTION


def test_a_one_page_answer_is_still_accepted(at_ethnicity):
    # A page opened before the question had groups sends the detailed option itself.
    response = post(at_ethnicity, QUESTION, "other_arab")
    assert response.headers["Location"] == "/s/demo/q/religion"


def test_changing_the_answer_starts_from_the_group_already_chosen(resident):
    resident.complete()
    change = resident.get(f"{QUESTION}?change=1")
    checked = page(change).select_one("input:checked")
    assert checked["value"] == "asian"  # the stored asian_bangladeshi's group
    response = post(resident, f"{QUESTION}?change=1", "mixed")
    assert response.headers["Location"] == f"{QUESTION}?group=mixed&change=1"
    second = resident.get(response.headers["Location"])
    assert page(second).select_one("input:checked") is None
    assert page(second).select_one(".govuk-back-link")["href"] == f"{QUESTION}?change=1"
    done = post(resident, f"{QUESTION}?group=mixed&change=1", "mixed_other")
    assert done.headers["Location"] == "/s/demo/check-answers"
    again = resident.get(f"{QUESTION}?group=mixed&change=1")
    assert page(again).select_one("input:checked")["value"] == "mixed_other"


@pytest.mark.parametrize(
    ("language", "group", "option"),
    [
        ("pl", "Białe", "Irlandzkie"),
        ("bn", "শ্বেতাঙ্গ", "আইরিশ"),
        ("ur", "سفید فام", "آئرش"),
    ],
)
def test_both_pages_speak_the_residents_language(at_ethnicity, language, group, option):
    first = at_ethnicity.get(f"{QUESTION}?lang={language}")
    assert (("white", group)) in radios(first)
    second = at_ethnicity.get(f"{QUESTION}?group=white&lang={language}")
    assert ("white_irish", option) in radios(second)
