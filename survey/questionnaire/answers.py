"""Check one answer against its question: the single place answers are validated.

Every check runs on the server. The same function checks a posted answer and, again at
submit, every stored answer, so nothing invalid can reach a response.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from survey.questionnaire.schema import Question

ASCII_INTEGER = re.compile(r"^-?[0-9]{1,9}$")
ALLOWED_CONTROLS = {"short_text": set(), "long_text": {"\n", "\t"}}


class AnswerError(ValueError):
    """The answer cannot be accepted; the message is shown to the resident."""


def clean_answer(question: Question, raw: list[str], language: str = "en") -> Any:
    """Return the value to store for the posted strings, or raise AnswerError."""
    cleaner = CLEANERS[question.type]
    return cleaner(question, raw, language)


def _missing(question: Question, language: str, default: str) -> Any:
    if question.required:
        raise AnswerError(question.error.get(language) if question.error else default)
    return None


def _single(question: Question, raw: list[str], language: str) -> Any:
    if len(raw) > 1:
        raise AnswerError("Select one answer")
    value = raw[0] if raw else ""
    if value == "":
        return _missing(question, language, "Select an answer")
    if value not in question.allowed_values:
        raise AnswerError("Select one of the answers shown")
    return value


def _multiple(question: Question, raw: list[str], language: str) -> Any:
    values = [v for v in raw if v != ""]
    if not values:
        return _missing(question, language, "Select at least one answer")
    if len(set(values)) != len(values):
        raise AnswerError("Select each answer once")
    if any(v not in question.allowed_values for v in values):
        raise AnswerError("Select from the answers shown")
    exclusive = question.exclusive_option
    if exclusive and exclusive.value in values and len(values) > 1:
        raise AnswerError(
            f"Select ‘{exclusive.label.get(language)}’ on its own, or choose other answers"
        )
    order = [o.value for o in question.all_options]
    return sorted(values, key=order.index)


def _number(question: Question, raw: list[str], language: str) -> Any:
    if len(raw) > 1:
        raise AnswerError("Enter one number")
    text = (raw[0] if raw else "").strip(" ")
    if text == "":
        return _missing(question, language, "Enter a number")
    low, high = question.minimum, question.maximum
    # int() would accept Arabic-Indic and full-width digits, "_" and whitespace: check first.
    if not ASCII_INTEGER.match(text):
        raise AnswerError(f"Enter a whole number using the digits 0 to 9, like {low}")
    number = int(text)
    if low is not None and high is not None and not low <= number <= high:
        raise AnswerError(f"Enter a whole number from {low} to {high}")
    return str(number)


def _text(question: Question, raw: list[str], language: str) -> Any:
    if len(raw) > 1:
        raise AnswerError("Enter one answer")
    text = unicodedata.normalize("NFC", raw[0] if raw else "")
    if question.type == "long_text":
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    allowed = ALLOWED_CONTROLS[question.type]
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text):
        raise AnswerError(
            "Your answer contains a character that cannot be stored, "
            "such as a hidden control character. Remove it and try again"
        )
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise AnswerError("Your answer contains a character that cannot be stored")
    text = text.strip()
    if text == "":
        return _missing(question, language, "Enter an answer")
    limit = question.max_length or 0
    if len(text) > limit:
        raise AnswerError(f"Your answer must be {limit} characters or fewer (it has {len(text)})")
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
