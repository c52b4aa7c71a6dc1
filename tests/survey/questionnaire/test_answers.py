"""Server-side answer checks, against the hostile-input corpus."""

from __future__ import annotations

import textwrap

import pytest

from survey.questionnaire import parse_questionnaire
from survey.questionnaire.answers import AnswerError, clean_answer

QUESTIONNAIRE = parse_questionnaire(
    textwrap.dedent("""
    id: answers
    version: 1
    title: {en: Answers}
    introduction: {en: Answers test}
    questions:
      - id: count
        type: number
        min: 0
        max: 99
        text: {en: How many}
      - id: pets
        type: multiple_choice
        text: {en: Pets}
        options: [{value: cat, label: {en: Cat}}, {value: dog, label: {en: Dog}}]
        none_option: {value: none, label: {en: None of these}}
      - id: colour
        type: single_choice
        text: {en: Colour}
        error: {en: Select your favourite colour}
        options: [{value: red, label: {en: Red}}, {value: blue, label: {en: Blue}}]
      - id: note
        type: short_text
        required: false
        max_length: 20
        text: {en: Note}
      - id: story
        type: long_text
        required: false
        max_length: 100
        text: {en: Story}
"""),
    filename="answers.yaml",
)


def q(question_id):
    return QUESTIONNAIRE.question(question_id)


@pytest.mark.parametrize("raw", ["0", "5", " 5 ", "99", "-0"])
def test_whole_numbers_in_range_are_accepted_as_ascii_digits(raw):
    assert clean_answer(q("count"), [raw]) == str(int(raw))


@pytest.mark.parametrize(
    "raw",
    [
        "-1",
        "100",
        "999",
        "1e309",
        "NaN",
        "Infinity",
        "0x10",
        "5.0",
        "\u0665",
        "\uff15",
        "1_0",
        "+5",
        "9" * 40,
        "Narnia",
    ],
)
def test_numbers_python_would_parse_but_residents_should_not_send_are_refused(raw):
    with pytest.raises(AnswerError):
        clean_answer(q("count"), [raw])


def test_a_choice_must_be_one_of_the_values_shown_exactly():
    assert clean_answer(q("colour"), ["red"]) == "red"
    for raw in (["Red"], ["green"], ["red", "blue"], ["\u0421ed"]):
        with pytest.raises(AnswerError):
            clean_answer(q("colour"), raw)


def test_a_missing_required_answer_uses_the_questions_own_message():
    with pytest.raises(AnswerError, match="Select your favourite colour"):
        clean_answer(q("colour"), [])


def test_none_of_these_must_stand_alone_and_choices_come_back_in_option_order():
    assert clean_answer(q("pets"), ["dog", "cat"]) == ["cat", "dog"]
    assert clean_answer(q("pets"), ["none"]) == ["none"]
    with pytest.raises(AnswerError, match="on its own"):
        clean_answer(q("pets"), ["cat", "none"])
    with pytest.raises(AnswerError):
        clean_answer(q("pets"), ["cat", "cat"])


def test_text_is_nfc_normalised_trimmed_and_optional():
    assert clean_answer(q("note"), ["  e\u0301  "]) == "\u00e9"
    assert clean_answer(q("note"), ["   "]) is None


@pytest.mark.parametrize("raw", ["a\u0000b", "\u001b[31mRED\u001b[0m", "line\nbreak"])
def test_control_characters_are_refused_in_short_text(raw):
    with pytest.raises(AnswerError, match="character"):
        clean_answer(q("note"), [raw])


def test_long_text_keeps_newlines_and_tabs_but_not_other_controls():
    assert clean_answer(q("story"), ["one\r\ntwo\tthree"]) == "one\ntwo\tthree"
    with pytest.raises(AnswerError):
        clean_answer(q("story"), ["bell\u0007"])


def test_text_over_the_cap_is_refused_with_the_limit_named():
    with pytest.raises(AnswerError, match="20 characters or fewer"):
        clean_answer(q("note"), ["x" * 21])


def test_every_round_trip_string_in_the_corpus_is_kept_unchanged(bad_inputs):
    for text in bad_inputs["must_round_trip_unchanged"]:
        assert clean_answer(q("story"), [text]) == text
