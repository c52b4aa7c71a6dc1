"""Skip logic: which pages a resident sees, and which answers survive a change."""

from __future__ import annotations

import textwrap

from survey.questionnaire import parse_questionnaire
from survey.questionnaire.flow import (
    can_visit,
    first_unanswered,
    is_visible,
    next_question,
    pages,
    previous_question,
    prune_hidden,
)

SOURCE = textwrap.dedent("""
    id: flow
    version: 1
    title: {en: Flow}
    introduction: {en: Flow test}
    questions:
      - id: heard
        type: single_choice
        text: {en: Heard}
        options: [{value: y, label: {en: Y}}, {value: n, label: {en: N}}]
      - id: where
        type: multiple_choice
        text: {en: Where}
        show_if: {any: [{question: heard, in: [y]}]}
        options: [{value: tv, label: {en: TV}}, {value: web, label: {en: Web}}]
      - id: tv_channel
        type: single_choice
        text: {en: Channel}
        show_if: {all: [{question: heard, in: [y]}, {question: where, in: [tv]}]}
        options: [{value: one, label: {en: One}}, {value: two, label: {en: Two}}]
      - id: borough
        type: single_choice
        text: {en: Borough}
        options: [{value: a, label: {en: A}}, {value: b, label: {en: B}}]
""")
QUESTIONNAIRE = parse_questionnaire(SOURCE, filename="flow.yaml")


def ids(questions):
    return [q.id for q in questions]


def test_all_condition_needs_every_part_and_any_needs_one():
    channel = QUESTIONNAIRE.question("tv_channel")
    assert is_visible(channel, {"heard": "y", "where": ["tv", "web"]})
    assert not is_visible(channel, {"heard": "y", "where": ["web"]})
    assert not is_visible(QUESTIONNAIRE.question("where"), {"heard": "n"})


def test_changing_an_earlier_answer_drops_every_answer_it_hides_in_cascade():
    answers = {"heard": "n", "where": ["tv"], "tv_channel": "one", "borough": "a"}
    assert prune_hidden(QUESTIONNAIRE, answers) == {"heard": "n", "borough": "a"}


def test_pages_follow_the_answers_and_always_ask_the_borough():
    assert ids(pages(QUESTIONNAIRE, {"heard": "n"})) == ["heard", "borough"]
    assert ids(pages(QUESTIONNAIRE, {"heard": "y", "where": ["tv"]})) == [
        "heard",
        "where",
        "tv_channel",
        "borough",
    ]


def test_next_previous_and_first_unanswered_walk_the_shown_pages():
    answers = {"heard": "y", "where": ["web"]}
    assert next_question(QUESTIONNAIRE, answers, "where").id == "borough"
    assert previous_question(QUESTIONNAIRE, answers, "borough").id == "where"
    assert previous_question(QUESTIONNAIRE, answers, "heard") is None
    assert first_unanswered(QUESTIONNAIRE, answers).id == "borough"
    assert first_unanswered(QUESTIONNAIRE, {**answers, "borough": "a"}) is None


def test_a_resident_cannot_jump_past_unanswered_or_hidden_pages():
    assert can_visit(QUESTIONNAIRE, {}, "heard")
    assert not can_visit(QUESTIONNAIRE, {}, "borough")
    assert not can_visit(QUESTIONNAIRE, {"heard": "n"}, "where")
    assert can_visit(QUESTIONNAIRE, {"heard": "n"}, "borough")
