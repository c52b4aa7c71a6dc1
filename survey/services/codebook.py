"""The microdata extract's codebook: what each column means, what each value stands
for, and the information lost to protect respondents."""

from __future__ import annotations

import csv
import io

from survey.demographics import DEMOGRAPHICS
from survey.questionnaire import Questionnaire
from survey.questionnaire.schema import TEXT_TYPES
from survey.services.exports import neutralise
from survey.services.microdata import (
    SUPPRESSED,
    Identifier,
    Plan,
    answer_identifiers,
    response_columns,
)

RESPONSE_MEANINGS = {
    "questionnaire_version": "Version of the questionnaire answered",
    "submitted_quarter": "Quarter the response was sent (YYYY-Qn); the day and month are not kept",
    "channel": "How the survey link was distributed",
    "language": "Language the survey was answered in",
    "synthetic": "yes for made-up demo responses, which are not real residents",
}


def codebook_csv(questionnaire: Questionnaire, result: Plan) -> bytes:
    """What each column means, what each value stands for, and what was lost to protect
    respondents."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["column", "question", "value", "meaning"])
    identifiers = {i.name: i for i in result.identifiers}
    for column in response_columns(result.options):
        writer.writerow([column, RESPONSE_MEANINGS[column], "", ""])
        if column in identifiers:
            _identifier_rows(writer, column, identifiers[column], result)
    by_question = answer_identifiers(questionnaire)
    for question in questionnaire.questions:
        if not question.answerable or question.type in TEXT_TYPES:
            continue
        text = neutralise(question.text.get())
        if question.id in by_question:
            name = by_question[question.id].name
            labels = _labels(questionnaire, name)
            for value in identifiers[name].values:
                writer.writerow(
                    [name, text, neutralise(value), neutralise(labels.get(value, value))]
                )
            if name == "borough":
                writer.writerow(
                    [
                        name,
                        "",
                        "blank",
                        "not known: the response came through a link that recorded the borough "
                        "where it was used instead of asking where the resident lives",
                    ]
                )
            _identifier_rows(writer, name, identifiers[name], result)
            continue
        if question.type == "multiple_choice":
            for option in question.all_options:
                writer.writerow(
                    [
                        neutralise(f"{question.id}__{option.value}"),
                        text,
                        "1 / 0 / blank",
                        neutralise(f"chose '{option.label.get()}' / did not / not asked"),
                    ]
                )
            continue
        if question.type == "number":
            writer.writerow(
                [question.id, text, f"{question.minimum}-{question.maximum}", "whole number"]
            )
            continue
        for option in question.all_options:
            writer.writerow([question.id, text, option.value, neutralise(option.label.get())])
    names = ", ".join(i.name for i in result.identifiers)
    writer.writerow(
        [
            "(all)",
            "",
            "",
            f"Every combination of {names} is shared by at least {result.k} rows. "
            f"{result.dropped} responses left out entirely. No survey weight is given: a "
            "raked weight would reveal the cell it came from.",
        ]
    )
    return buffer.getvalue().encode("utf-8")


def _labels(questionnaire: Questionnaire, name: str) -> dict[str, str]:
    variable = next(d for d in DEMOGRAPHICS if d.name == name)
    if variable.grouped:
        return dict(variable.group_labels)
    question = questionnaire.dimension_question(variable.dimension)
    return {o.value: o.label.get() for o in question.options} if question else {}


def _identifier_rows(writer, name: str, identifier: Identifier, result: Plan) -> None:
    """The suppressed value, the recoding and the information lost for one identifier."""
    lost = result.suppressed.get(name, 0)
    share = lost / max(len(result.kept), 1)
    writer.writerow(
        [
            name,
            "",
            SUPPRESSED,
            f"withheld so that at least {result.k} responses share each combination; "
            f"information loss: {lost} of {len(result.kept)} values ({share:.1%})",
        ]
    )
    if name in result.recoded:
        writer.writerow([name, "", "", f"recoded for every row: {result.recoded[name]}"])
