"""Question pages from one registry: each question type maps to the control that shows it.

Validation lives in `survey.questionnaire.answers.clean_answer`; this module says how a
question type is drawn and read. A new question type is one entry in each registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from survey.questionnaire.schema import Question

ANSWER_FIELD = "answer"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Control:
    template: str  # partial under templates/respond/controls/
    multiple: bool = False  # the answer field may repeat


CONTROLS: dict[str, Control] = {
    "single_choice": Control("radios.html"),
    "scale": Control("radios.html"),
    "multiple_choice": Control("checkboxes.html", multiple=True),
    "number": Control("number.html"),
    "short_text": Control("short_text.html"),
    "long_text": Control("long_text.html"),
    "information": Control("information.html"),
}


class UnreadableForm(ValueError):
    """The post has fields this page never asks for, or repeats one that must be single."""


def control_for(question: Question) -> Control:
    """Return how a question is drawn (a long single choice may be a dropdown)."""
    if question.type == "single_choice" and question.control == "dropdown":
        return Control("dropdown.html")
    return CONTROLS[question.type]


def read_answer(question: Question, form: MultiDict) -> list[str]:
    """Return the posted answer strings, refusing unknown or repeated fields."""
    unknown = set(form.keys()) - {ANSWER_FIELD, CSRF_FIELD}
    if unknown:
        raise UnreadableForm("unexpected fields")
    if len(form.getlist(CSRF_FIELD)) > 1:
        raise UnreadableForm("repeated token")
    values = form.getlist(ANSWER_FIELD)
    if len(values) > 1 and not control_for(question).multiple:
        raise UnreadableForm("repeated answer")
    if len(values) > len(question.all_options) + 1:
        raise UnreadableForm("too many answers")
    return values


def option_items(question: Question, values: list[str], language: str) -> list[dict]:
    """Return GOV.UK radios or checkboxes items for a question's options."""
    items: list[dict] = [
        {
            "value": option.value,
            "text": option.label.get(language),
            "hint": {"text": option.hint.get(language)} if option.hint else None,
            "checked": option.value in values,
        }
        for option in question.options
    ]
    special = question.exclusive_option or question.dont_know_option
    if special is not None:
        items.append({"divider": "or"})
        item = {
            "value": special.value,
            "text": special.label.get(language),
            "checked": special.value in values,
        }
        if question.exclusive_option is not None:
            item["behaviour"] = "exclusive"
        items.append(item)
    return items
