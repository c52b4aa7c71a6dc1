"""Which question comes next: skip logic from show_if, pure functions over answers.

Answers are a mapping of question id to the stored value: a string, a list of strings for
multiple choice, or None for a question the resident passed without answering (an
optional question left blank, or an information page).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from survey.questionnaire.schema import Question, Questionnaire

Answers = Mapping[str, Any]


def _chosen(value: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, list):
        return set(value)
    return {value}


def is_visible(question: Question, answers: Answers) -> bool:
    """Say whether the question is shown, given the answers to earlier questions."""
    if question.show_if is None:
        return True
    results = (
        bool(_chosen(answers.get(c.question)) & c.values) for c in question.show_if.conditions
    )
    return any(results) if question.show_if.mode == "any" else all(results)


def prune_hidden(questionnaire: Questionnaire, answers: Answers) -> dict[str, Any]:
    """Drop answers to questions that the other answers now hide.

    Conditions only look at earlier questions, so one pass in order settles everything.
    """
    kept: dict[str, Any] = {}
    for question in questionnaire.questions:
        if question.id in answers and is_visible(question, kept):
            kept[question.id] = answers[question.id]
    return kept


def visible_questions(questionnaire: Questionnaire, answers: Answers) -> list[Question]:
    """Return the questions shown to this resident, in order."""
    pruned = prune_hidden(questionnaire, answers)
    return [q for q in questionnaire.questions if is_visible(q, pruned)]


def pages(questionnaire: Questionnaire, answers: Answers) -> list[Question]:
    """Return the question pages the resident sees, in order."""
    return visible_questions(questionnaire, answers)


def first_unanswered(questionnaire: Questionnaire, answers: Answers) -> Question | None:
    """Return the first page the resident has not reached, or None when all are done."""
    return next((q for q in pages(questionnaire, answers) if q.id not in answers), None)


def can_visit(questionnaire: Questionnaire, answers: Answers, question_id: str) -> bool:
    """Say whether the page is shown and not beyond the resident's progress."""
    for question in pages(questionnaire, answers):
        if question.id == question_id:
            return True
        if question.id not in answers:
            return False
    return False


def next_question(questionnaire: Questionnaire, answers: Answers, after: str) -> Question | None:
    """Return the page after `after`, or None at the end."""
    shown = pages(questionnaire, answers)
    ids = [q.id for q in shown]
    if after not in ids:
        return first_unanswered(questionnaire, answers)
    position = ids.index(after)
    return shown[position + 1] if position + 1 < len(shown) else None


def previous_question(
    questionnaire: Questionnaire, answers: Answers, before: str
) -> Question | None:
    """Return the page before `before`, or None on the first page."""
    shown = pages(questionnaire, answers)
    ids = [q.id for q in shown]
    if before not in ids or ids.index(before) == 0:
        return None
    return shown[ids.index(before) - 1]
