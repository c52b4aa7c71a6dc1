"""A resident driving the survey through the test client, reading pages as HTML."""

from __future__ import annotations

import html
import re

from bs4 import BeautifulSoup
from werkzeug.datastructures import MultiDict

# Answers that complete the real questionnaire, one per question a resident sees.
COMPLETE_ANSWERS: dict[str, list[str] | str | None] = {
    "heard_of_prevent": "yes",
    "prevent_purpose": ["supports_at_risk", "safeguarding"],
    "heard_where": ["school_college", "news"],
    "about_prevent": None,
    "confidence_helps": "fairly_confident",
    "trust_fair": "trust_a_little",
    "knows_where_to_get_help": "no",
    "would_approach": ["council", "faith_leader"],
    "barriers": ["not_know_how"],
    "information_seen_count": "3",
    "borough": "E09000030",
    "age_band": "25-34",
    "sex": "female",
    "ethnicity": "asian_bangladeshi",
    "religion": "muslim",
    "disability": "no",
    "anything_else": "",
}


# lxml's parser: the same tree as Python's html.parser for the platform's pages, in a
# fraction of the time (the suite parses thousands of pages).
PARSER = "lxml"


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), PARSER)


_INPUT = r'<input\b[^>]*\bname="{}"[^>]*>'
_VALUE = re.compile(r'\bvalue="([^"]*)"')


def field_value(response, name: str) -> str | None:
    """The value of the page's first input called `name` (a CSRF or submit token), read
    without building the whole page's tree: tests fetch thousands of forms for a token."""
    field = re.search(_INPUT.format(re.escape(name)), response.get_data(as_text=True))
    value = field and _VALUE.search(field.group())
    return html.unescape(value.group(1)) if value else None


class Resident:
    def __init__(self, client, code: str) -> None:
        self.client = client
        self.code = code
        self.last = None

    def get(self, path: str, **kwargs):
        self.last = self.client.get(path, **kwargs)
        return self.last

    def csrf(self, path: str | None = None) -> str:
        token = field_value(self.get(path or f"/s/{self.code}"), "csrf_token")
        assert token is not None, f"no CSRF token on {path}"
        return token

    def start(self):
        token = self.csrf(f"/s/{self.code}")
        self.last = self.client.post(f"/s/{self.code}/start", data={"csrf_token": token})
        return self.last

    def current_question(self) -> str | None:
        """Follow the last redirect and return the question id on screen, if any."""
        location = self.last.headers.get("Location", "")
        marker = f"/s/{self.code}/q/"
        if marker in location:
            return location.split(marker, 1)[1].split("?", 1)[0]
        return None

    def answer(self, question_id: str, value, *, change: bool = False, extra=None, token=None):
        """Post an answer from the question's page; `token`, the page's CSRF token when the
        test already holds it, saves fetching the page again."""
        path = f"/s/{self.code}/q/{question_id}" + ("?change=1" if change else "")
        token = token or self.csrf(path)
        data: list[tuple[str, str]] = [("csrf_token", token)]
        if isinstance(value, list):
            data += [("answer", v) for v in value]
        elif value is not None:
            data.append(("answer", value))
        data += list((extra or {}).items())
        self.last = self.client.post(path, data=MultiDict(data))
        return self.last

    def complete(self, overrides: dict | None = None) -> None:
        """Answer every question the survey shows, in order, until check answers."""
        answers = {**COMPLETE_ANSWERS, **(overrides or {})}
        self.start()
        for _ in range(len(answers) + 2):
            question_id = self.current_question()
            if question_id is None:
                break
            response = self.answer(question_id, answers.get(question_id))
            assert response.status_code == 303, (question_id, response.status_code)
        assert self.last.headers["Location"].endswith(f"/s/{self.code}/check-answers")

    def submit_form(self) -> dict[str, str]:
        response = self.get(f"/s/{self.code}/check-answers")
        assert response.status_code == 200
        return {
            "csrf_token": field_value(response, "csrf_token"),
            "submit_token": field_value(response, "submit_token"),
        }

    def submit(self, form: dict[str, str] | None = None):
        form = form or self.submit_form()
        self.last = self.client.post(f"/s/{self.code}/check-answers", data=form)
        return self.last
