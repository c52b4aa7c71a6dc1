"""The questionnaire format: the real file loads, and broken files say exactly what is wrong."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from survey.geography import BOROUGH_CODES
from survey.questionnaire import QuestionnaireError, load_file, parse_questionnaire

QUESTIONNAIRES = Path(__file__).resolve().parents[3] / "questionnaires"

MINIMAL = """
id: tiny
version: 1
title: {en: Tiny}
introduction: {en: A tiny questionnaire}
questions:
  - id: colour
    type: single_choice
    text: {en: "Favourite colour?"}
    options:
      - {value: red, label: {en: Red}}
      - {value: blue, label: {en: Blue}}
"""


def parse(text: str):
    return parse_questionnaire(textwrap.dedent(text), filename="test.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(QuestionnaireError) as caught:
        parse(text)
    assert caught.value.filename == "test.yaml"
    assert "test.yaml" in str(caught.value)
    return caught.value.problems


def test_prevent_awareness_questionnaire_loads_with_its_indicators_and_dimensions():
    questionnaire = load_file(QUESTIONNAIRES / "prevent-awareness.yaml")
    assert (questionnaire.id, questionnaire.version) == ("prevent-awareness", 4)
    assert questionnaire.exit_this_page
    assert {i.id for i in questionnaire.indicators} >= {
        "aware",
        "confident_helps",
        "trusts_fair",
        "knows_help",
    }
    dimensions = {q.dimension for q in questionnaire.questions if q.dimension}
    assert dimensions == {"borough", "age_band", "sex", "ethnicity", "religion", "disability"}
    for dimension in dimensions:
        values = questionnaire.dimension_question(dimension).allowed_values
        assert "prefer_not_to_say" in values, dimension
    borough = questionnaire.dimension_question("borough")
    assert borough.allowed_values >= BOROUGH_CODES
    assert {"outside_london", "prefer_not_to_say"} <= borough.allowed_values


def test_prevent_awareness_uses_every_question_type():
    questionnaire = load_file(QUESTIONNAIRES / "prevent-awareness.yaml")
    types = {q.type for q in questionnaire.questions}
    assert types >= {
        "single_choice",
        "multiple_choice",
        "scale",
        "number",
        "long_text",
        "information",
    }


def test_prevent_awareness_asks_for_nothing_identifying():
    questionnaire = load_file(QUESTIONNAIRES / "prevent-awareness.yaml")
    ids = " ".join(q.id for q in questionnaire.questions)
    for identifying in ("name", "email", "phone", "postcode", "address", "birth", "exact_age"):
        assert identifying not in ids


def test_every_file_in_the_questionnaires_folder_is_valid(runner):
    result = runner.invoke(args=["questionnaires", "validate"])
    assert result.exit_code == 0, result.output
    assert "ok      prevent-awareness.yaml" in result.output


def test_validate_command_fails_naming_file_question_and_problem(runner, tmp_path):
    (tmp_path / "broken.yaml").write_text(MINIMAL.replace("single_choice", "dropdown_menu"))
    result = runner.invoke(args=["questionnaires", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "broken.yaml" in result.output
    assert "question 'colour'" in result.output
    assert "type 'dropdown_menu' is not one of" in result.output


def test_a_minimal_questionnaire_parses_into_frozen_dataclasses():
    questionnaire = parse(MINIMAL)
    question = questionnaire.question("colour")
    assert question.required is True
    assert question.allowed_values == {"red", "blue"}
    with pytest.raises(AttributeError):
        question.required = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("title: {en: Tiny}", "title: {pl: Mały}"), "English text ('en') is required"),
        (("version: 1", "version: 0"), "version: 0 must be a whole number"),
        (("value: red", "value: yes"), "quote yes and no"),
        (("value: blue", "value: red"), "option values used twice: red"),
        (("type: single_choice", "type: short_text"), "'options' only applies to choice"),
        (("id: colour", "id: Colour!"), "id 'Colour!' must be lower-case"),
        (("type: single_choice", "type: single_choice\n    colour: 1"), "unknown key 'colour'"),
        (("{en: Red}", "{en: Red, cy: Coch}"), "language 'cy' is not declared"),
    ],
)
def test_a_broken_questionnaire_is_refused_with_a_clear_problem(change, expected):
    old, new = change
    found = problems(MINIMAL.replace(old, new, 1))
    assert any(expected in problem for problem in found), found


def test_show_if_must_refer_to_an_earlier_choice_question_and_its_values():
    found = problems(
        MINIMAL
        + """
  - id: why
    type: single_choice
    text: {en: "Why?"}
    show_if: {any: [{question: colour, in: [green]}]}
    options:
      - {value: a, label: {en: A}}
      - {value: b, label: {en: B}}
  - id: before
    type: single_choice
    text: {en: "Earlier?"}
    show_if: {all: [{question: later, in: [a]}]}
    options:
      - {value: a, label: {en: A}}
      - {value: b, label: {en: B}}
"""
    )
    assert any("show_if values ['green'] are not options of 'colour'" in p for p in found)
    assert any("'later', which is not an earlier question" in p for p in found)


def test_text_questions_must_be_optional_and_capped():
    found = problems(
        MINIMAL
        + """
  - id: comment
    type: long_text
    required: true
    max_length: 100000
    text: {en: Comment}
"""
    )
    assert any("text questions must be optional" in p for p in found)
    assert any("max_length 100000 must be from 1 to 5000" in p for p in found)


def test_a_borough_question_must_use_the_33_ons_codes():
    found = problems(MINIMAL.replace("    options:", "    dimension: borough\n    options:"))
    assert any("borough options must be ONS codes" in p for p in found)
    assert any("borough options are missing" in p for p in found)


def test_indicators_must_name_real_options_and_keep_positive_and_excluded_apart():
    found = problems(
        MINIMAL
        + """
indicators:
  - id: likes_red
    label: {en: Likes red}
    question: colour
    positive: [red, green]
    exclude: [red]
"""
    )
    assert any("positive values ['green'] are not options of 'colour'" in p for p in found)
    assert any("both positive and excluded" in p for p in found)


def test_multiple_choice_may_have_an_exclusive_none_option_and_scale_a_dont_know():
    questionnaire = parse(
        MINIMAL
        + """
  - id: pets
    type: multiple_choice
    text: {en: "Pets?"}
    options:
      - {value: cat, label: {en: Cat}}
      - {value: dog, label: {en: Dog}}
    none_option: {value: none, label: {en: None of these}}
  - id: happy
    type: scale
    text: {en: "How happy?"}
    options:
      - {value: very, label: {en: Very}}
      - {value: not, label: {en: Not}}
    dont_know_option: {value: dont_know, label: {en: Don't know}}
"""
    )
    assert questionnaire.question("pets").exclusive_option.value == "none"
    assert questionnaire.question("happy").dont_know_option.value == "dont_know"
    assert [o.value for o in questionnaire.question("happy").options] == ["very", "not"]


def test_invalid_yaml_is_reported_not_raised_as_a_traceback():
    assert "not valid YAML" in problems("id: [unclosed")[0]


GROUPED = MINIMAL.replace(
    """      - {value: red, label: {en: Red}}
      - {value: blue, label: {en: Blue}}""",
    """      - {value: red, group: warm, label: {en: "Warm: Red"}}
      - {value: orange, group: warm, label: {en: "Warm: Orange"}}
      - {value: blue, group: cool, label: {en: "Cool: Blue"}}
      - {value: none, label: {en: "Prefer not to say"}}
    groups:
      - {value: warm, label: {en: Warm}, question: {en: "Which warm colour?"}}
      - {value: cool, label: {en: Cool}, question: {en: "Which cool colour?"}}""",
)


def test_a_question_with_groups_is_asked_group_first_then_option():
    question = parse(GROUPED).question("colour")
    first = question.group_step()
    assert [(o.value, o.label.get()) for o in first.options] == [
        ("warm", "Warm"),
        ("cool", "Cool"),
        ("none", "Prefer not to say"),
    ]
    second = question.option_step(question.group("warm"))
    assert second.text.get() == "Which warm colour?"
    assert [(o.value, o.label.get()) for o in second.options] == [
        ("red", "Red"),
        ("orange", "Orange"),
    ]
    assert question.allowed_values == {"red", "orange", "blue", "none"}  # stored as before


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("type: single_choice", "type: multiple_choice"), "'groups' only applies to single"),
        (("group: cool", "group: cold"), "option 'blue' is in group 'cold', not listed"),
        (("{value: cool, label", "{value: red, label"), "'red' is both a group and an option"),
        (('question: {en: "Which cool colour?"}', "lable: {en: x}"), "unknown key 'lable'"),
        (("value: warm, label", "value: cool, label"), "group 'cool' is listed twice"),
    ],
)
def test_broken_groups_are_refused_with_a_clear_problem(change, expected):
    old, new = change
    found = problems(GROUPED.replace(old, new, 1))
    assert any(expected in problem for problem in found), found


def test_exit_this_page_is_off_unless_asked_for_and_must_be_true_or_false():
    assert parse(MINIMAL).exit_this_page is False
    assert parse("exit_this_page: true\n" + MINIMAL).exit_this_page is True
    assert problems("exit_this_page: sometimes\n" + MINIMAL) == [
        "exit_this_page: 'sometimes' must be true or false"
    ]


def test_options_without_codes_are_numbered_in_order_special_ones_last():
    questionnaire = parse(
        MINIMAL
        + """
  - id: sources
    type: multiple_choice
    text: {en: "Where?"}
    options:
      - {value: news, label: {en: News}}
      - {value: radio, label: {en: Radio}}
    none_option: {value: nowhere, label: {en: Nowhere}}
"""
    )
    assert questionnaire.question("colour").codes() == {"red": 1, "blue": 2}
    assert questionnaire.question("sources").codes() == {"news": 1, "radio": 2, "nowhere": 3}
    assert not questionnaire.question("colour").codes_declared


def test_declared_codes_are_kept_and_every_option_of_the_real_file_has_one():
    questionnaire = parse(
        MINIMAL.replace("{value: red,", "{value: red, code: 7,").replace(
            "{value: blue,", "{value: blue, code: 3,"
        )
    )
    assert questionnaire.question("colour").codes() == {"red": 7, "blue": 3}
    real = load_file(QUESTIONNAIRES / "prevent-awareness.yaml")
    for question in real.questions:
        if question.all_options:
            assert question.codes_declared, question.id
            assert len(set(question.codes().values())) == len(question.all_options)
    assert real.question("borough").codes()["E09000007"] == 7
    assert real.question("ethnicity").codes()["asian_indian"] == 13


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("{value: red,", "{value: red, code: 1,"), "give every option a code, or none"),
        (
            ("{value: red,", "{value: red, code: 2,", "{value: blue,", "{value: blue, code: 2,"),
            "option code 2 is used twice",
        ),
        (("{value: red,", "{value: red, code: 0,"), "must be a whole number from 1 to 9999"),
        (("{value: red,", "{value: red, code: x1,"), "must be a whole number from 1 to 9999"),
    ],
)
def test_broken_codes_are_refused_with_a_clear_problem(change, expected):
    text = MINIMAL
    for old, new in zip(change[::2], change[1::2], strict=True):
        text = text.replace(old, new)
    assert any(expected in problem for problem in problems(text))


def test_an_ethnic_option_in_no_group_must_be_one_the_register_codes():
    real = (QUESTIONNAIRES / "prevent-awareness.yaml").read_text(encoding="utf-8")
    ungrouped = real.replace("        group: other\n", "", 1)
    assert any("option 'other_arab' needs a group" in p for p in problems_of(ungrouped))
    at = real.index("dimension: ethnicity")
    end = real.index("- value: prefer_not_to_say", at)
    recoded = real[:end] + real[end:].replace("code: 99", "code: 97", 1)
    assert any(
        "option 'prefer_not_to_say' must have code 99, as ethnic group codes it" in p
        for p in problems_of(recoded)
    )


def problems_of(text: str) -> list[str]:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text, filename="test.yaml")
    return caught.value.problems
