"""Question pages from one registry: each question type maps to the control that shows it.

Validation lives in `survey.questionnaire.answers.clean_answer`; this module says how a
question type is drawn and read. A new question type is one entry in each registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from survey.i18n import local, ui
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
            "html": local(option.label, language),
            "hint": {"html": local(option.hint, language)} if option.hint else None,
            "checked": option.value in values,
        }
        for option in question.options
    ]
    special = question.exclusive_option or question.dont_know_option
    if special is not None:
        items.append({"divider": ui("or")})
        item = {
            "value": special.value,
            "html": local(special.label, language),
            "checked": special.value in values,
        }
        if question.exclusive_option is not None:
            item["behaviour"] = "exclusive"
        items.append(item)
    return items


# Drawn choice controls, kept because the GOV.UK macros are the slowest part of a question
# page. Only controls whose every value is one of the question's own options are kept, so
# nothing a resident typed is held in memory. Cleared when full.
_drawn: dict[tuple, Markup] = {}
MAX_DRAWN = 4096


def draw_control(
    environment: Environment,
    version_id: int | None,
    question: Question,
    values: list[str],
    language: str,
    error: str | None,
    *,
    step: str = "",
) -> Markup:
    """Return the HTML of the question's control, with the values chosen and any error.

    Kept for reuse when the version is known and every value is one of the options; `step`
    tells apart the pages of a question asked in two steps."""
    control = control_for(question)
    choices = {o.value for o in question.all_options}
    key = None
    if version_id is not None and question.all_options and all(v in choices for v in values):
        key = (version_id, question.id, step, language, tuple(values), error)
        drawn = _drawn.get(key)
        if drawn is not None:
            return drawn
    template = environment.get_template("respond/controls/" + control.template)
    drawn = Markup(  # noqa: S704 - an autoescaped template's output
        template.render(
            question=question,
            values=values,
            error=error,
            lang=language,
            control=control,
            option_items=option_items,
        )
    )
    if key is not None:
        if len(_drawn) >= MAX_DRAWN:
            _drawn.clear()
        _drawn[key] = drawn
    return drawn
