"""Check one answer against its question: the single place answers are validated.

Every check runs on the server. The same function checks a posted answer and, again at
submit, every stored answer, so nothing invalid can reach a response.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from survey.questionnaire.schema import LocalText, Question

ASCII_INTEGER = re.compile(r"^-?[0-9]{1,9}$")
ALLOWED_CONTROLS = {"short_text": set(), "long_text": {"\n", "\t"}}


def N_(message: str) -> str:
    """Mark an interface message for the translation catalogues; translated when shown."""
    return message


class AnswerError(ValueError):
    """The answer cannot be accepted; the message is shown to the resident.

    `message` is an interface message (English, with `%(name)s` places for `values`), or
    `custom` is the questionnaire's own error text in each language."""

    def __init__(
        self, message: str, values: dict[str, Any] | None = None, custom: LocalText | None = None
    ) -> None:
        self.message = message
        self.values = values or {}
        self.custom = custom
        super().__init__(custom.get() if custom else message % self.values)


def clean_answer(question: Question, raw: list[str], language: str = "en") -> Any:
    """Return the value to store for the posted strings, or raise AnswerError."""
    cleaner = CLEANERS[question.type]
    return cleaner(question, raw, language)


def _missing(question: Question, language: str, default: str) -> Any:
    if question.required:
        raise AnswerError(default, custom=question.error)
    return None


def _single(question: Question, raw: list[str], language: str) -> Any:
    if len(raw) > 1:
        raise AnswerError(N_("Select one answer"))
    value = raw[0] if raw else ""
    if value == "":
        return _missing(question, language, N_("Select an answer"))
    if value not in question.allowed_values:
        raise AnswerError(N_("Select one of the answers shown"))
    return value


def _multiple(question: Question, raw: list[str], language: str) -> Any:
    values = [v for v in raw if v != ""]
    if not values:
        return _missing(question, language, N_("Select at least one answer"))
    if len(set(values)) != len(values):
        raise AnswerError(N_("Select each answer once"))
    if any(v not in question.allowed_values for v in values):
        raise AnswerError(N_("Select from the answers shown"))
    exclusive = question.exclusive_option
    if exclusive and exclusive.value in values and len(values) > 1:
        raise AnswerError(
            N_("Select ‘%(answer)s’ on its own, or choose other answers"),
            {"answer": exclusive.label.get(language)},
        )
    order = [o.value for o in question.all_options]
    return sorted(values, key=order.index)


def _number(question: Question, raw: list[str], language: str) -> Any:
    if len(raw) > 1:
        raise AnswerError(N_("Enter one number"))
    text = (raw[0] if raw else "").strip(" ")
    if text == "":
        return _missing(question, language, N_("Enter a number"))
    low, high = question.minimum, question.maximum
    # int() would accept Arabic-Indic and full-width digits, "_" and whitespace: check first.
    if not ASCII_INTEGER.match(text):
        raise AnswerError(
            N_("Enter a whole number using the digits 0 to 9, like %(example)s"), {"example": low}
        )
    number = int(text)
    if low is not None and high is not None and not low <= number <= high:
        raise AnswerError(
            N_("Enter a whole number from %(low)s to %(high)s"), {"low": low, "high": high}
        )
    return str(number)


def _text(question: Question, raw: list[str], language: str) -> Any:
    if len(raw) > 1:
        raise AnswerError(N_("Enter one answer"))
    text = unicodedata.normalize("NFC", raw[0] if raw else "")
    if question.type == "long_text":
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    allowed = ALLOWED_CONTROLS[question.type]
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text):
        raise AnswerError(
            N_(
                "Your answer contains a character that cannot be stored, "
                "such as a hidden control character. Remove it and try again"
            )
        )
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise AnswerError(N_("Your answer contains a character that cannot be stored"))
    text = text.strip()
    if text == "":
        return _missing(question, language, N_("Enter an answer"))
    limit = question.max_length or 0
    if len(text) > limit:
        raise AnswerError(
            N_("Your answer must be %(limit)s characters or fewer (it has %(length)s)"),
            {"limit": limit, "length": len(text)},
        )
    return text


def _information(question: Question, raw: list[str], language: str) -> Any:
    return None


CLEANERS = {
    "single_choice": _single,
    "scale": _single,
    "multiple_choice": _multiple,
    "number": _number,
    "short_text": _text,
    "long_text": _text,
    "information": _information,
}
