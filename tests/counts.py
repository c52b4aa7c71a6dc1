"""What the publication gate can print for a true count, whatever its respondents' record
keys: tests that plant a known number of responses check the page shows one of these."""

from __future__ import annotations

from functools import cache

from sqlalchemy import select

from analysis.perturbation import KEY_RANGE, load_ptable
from survey.demographics import demographic
from survey.models import Answer
from survey.publication import Gate
from survey.services.questionnaires import latest_version, questionnaire_for

THRESHOLD = 10  # the threshold the app runs with in the tests
# Each indicator's question and the answers left out of its denominator.
INDICATORS = {
    "aware": ("heard_of_prevent", ()),
    "confident_helps": ("confidence_helps", ("dont_know",)),
    "trusts_fair": ("trust_fair", ("dont_know",)),
    "knows_help": ("knows_where_to_get_help", ()),
}


@cache
def could_show(true: int, threshold: int = THRESHOLD) -> frozenset[str]:
    """Every text the default gate can show for `true` respondents, as pages print it."""
    gate = Gate(threshold, load_ptable())
    return frozenset(str(gate.count(true, key)) for key in range(KEY_RANGE))


def could_publish(true: int, threshold: int = THRESHOLD) -> frozenset[int]:
    """The numbers (not "fewer than") the gate can publish for `true` respondents."""
    return frozenset(int(s.replace(",", "")) for s in could_show(true, threshold) if s[0].isdigit())


def number(shown: str) -> int:
    return int(shown.replace(",", ""))


def stored_answers(session) -> dict[str, dict[str, str]]:
    """Every response's answers, question -> value, read as plain rows (a tenth of the
    time of loading them as objects)."""
    answers: dict[str, dict[str, str]] = {}
    rows = session.execute(select(Answer.response_id, Answer.question_id, Answer.value))
    for response_id, question_id, value in rows:
        answers.setdefault(response_id, {})[question_id] = value
    return answers


def true_counts(
    session, code_columns, indicator, *, leave_out=(), answers=None
) -> dict[tuple, int]:
    """The true number of respondents in every cell (and margin) of a table, read from the
    database: what the tests know and an intruder does not. A respondent counts who
    answered the indicator (not an excluded answer) and every breakdown question. A test
    that asks for many tables of the same responses reads `stored_answers` once and passes
    them in."""

    question, excluded = INDICATORS[indicator]
    questionnaire = questionnaire_for(latest_version(session, "prevent-awareness"))
    if answers is None:
        answers = stored_answers(session)
    sources = []
    for column in code_columns:
        variable = demographic(column)
        if variable.dimension is None:
            sources.append(lambda said: "en")
            continue
        asked = questionnaire.dimension_question(variable.dimension)
        groups = {o.value: o.group or o.value for o in asked.options} if variable.grouped else {}
        sources.append(
            lambda given, q=asked.id, g=groups: (
                g.get(given.get(q), given.get(q)) if g else given.get(q)
            )
        )
    counts: dict[tuple, int] = {}
    for said in answers.values():
        if said.get(question) in (None, *excluded):
            continue
        key = tuple(source(said) for source in sources)
        if None in key or set(key) & set(leave_out):
            continue
        for cell in _cells_of(key):
            counts[cell] = counts.get(cell, 0) + 1
    return counts


def _cells_of(key: tuple) -> list[tuple]:
    if len(key) == 1:
        return [key, ("All",)]
    a, b = key
    return [(a, b), (a, "All"), ("All", b), ("All", "All")]
