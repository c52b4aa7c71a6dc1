"""The admin-only anonymised microdata extract: one row per response, k-anonymous.

No response id, no day (the month only), no link name, no free text. On borough, age band,
sex, ethnic group, religion and disability, every combination is shared by at least k
responses: values are replaced by "suppressed" where needed, and the extract reports how
many were.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.models import Answer, Link, QuestionnaireVersion, Response
from survey.questionnaire import Questionnaire
from survey.questionnaire.schema import TEXT_TYPES
from survey.services.exports import neutralise

QUASI_IDENTIFIERS = ("borough", "age_band", "sex", "ethnicity", "religion", "disability")
SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Extract:
    columns: list[str]
    rows: list[dict[str, str]]
    suppressed: dict[str, int]  # values replaced, per quasi-identifier
    dropped: int  # responses left out because even full suppression left them too few
    k: int


def _columns(questionnaire: Questionnaire) -> tuple[list[str], dict[str, str]]:
    columns = ["questionnaire_version", "submitted_month", "channel"]
    dimensions = {}
    for question in questionnaire.questions:
        if not question.answerable or question.type in TEXT_TYPES:
            continue
        if question.dimension in QUASI_IDENTIFIERS:
            dimensions[question.dimension] = question.id
            columns.append(question.dimension)
        elif question.type == "multiple_choice":
            columns.extend(f"{question.id}__{o.value}" for o in question.all_options)
        else:
            columns.append(question.id)
    return columns, dimensions


def extract(session: Session, questionnaire: Questionnaire, *, k: int = 5) -> Extract:
    """Build the extract for every response to the questionnaire (all versions)."""
    columns, dimensions = _columns(questionnaire)
    by_question = {q.id: q for q in questionnaire.questions}
    versions = dict(
        session.execute(
            select(QuestionnaireVersion.id, QuestionnaireVersion.version).where(
                QuestionnaireVersion.questionnaire_id == questionnaire.id
            )
        ).all()
    )
    responses = session.execute(
        select(Response.id, Response.questionnaire_version_id, Response.submitted_on, Link.channel)
        .join(Link, Link.id == Response.link_id)
        .where(Response.questionnaire_version_id.in_(list(versions)))
    ).all()
    answers: dict[str, list[tuple[str, str]]] = {}
    for response_id, question_id, value in session.execute(
        select(Answer.response_id, Answer.question_id, Answer.value)
    ):
        answers.setdefault(response_id, []).append((question_id, value))
    qid_to_dimension = {qid: dim for dim, qid in dimensions.items()}
    rows = []
    for response_id, version_id, submitted_on, channel in responses:
        row = dict.fromkeys(columns, "")
        row.update(
            questionnaire_version=str(versions[version_id]),
            submitted_month=f"{submitted_on:%Y-%m}",
            channel=channel,
        )
        for question_id, value in answers.get(response_id, []):
            question = by_question.get(question_id)
            if question is None:
                continue
            if question_id in qid_to_dimension:
                row[qid_to_dimension[question_id]] = value
            elif question.type == "multiple_choice":
                row[f"{question_id}__{value}"] = "1"
            else:
                row[question_id] = value
        for question in questionnaire.questions:
            if question.type == "multiple_choice":
                chosen = any(
                    row.get(f"{question.id}__{o.value}") == "1" for o in question.all_options
                )
                if chosen:
                    for option in question.all_options:
                        key = f"{question.id}__{option.value}"
                        row[key] = row[key] or "0"
        rows.append(row)
    present = [d for d in QUASI_IDENTIFIERS if d in dimensions]
    suppressed, dropped = _k_anonymise(rows, present, k)
    kept = [r for r in rows if r is not None]
    # Shuffle-free but order-free: sort so the extract says nothing about arrival order.
    kept.sort(key=lambda r: tuple(r[c] for c in columns))
    return Extract(columns, kept, suppressed, dropped, k)


def _k_anonymise(rows: list, identifiers: list[str], k: int) -> tuple[dict[str, int], int]:
    """Suppress values, most varied identifier first, until every combination has k rows."""
    suppressed = dict.fromkeys(identifiers, 0)
    order = sorted(identifiers, key=lambda name: -len({r[name] for r in rows}))
    for name in order:
        small = _small_classes(rows, identifiers, k)
        if not small:
            break
        for index in small:
            if rows[index][name] != SUPPRESSED:
                rows[index][name] = SUPPRESSED
                suppressed[name] += 1
    dropped = 0
    for index in _small_classes(rows, identifiers, k):
        rows[index] = None
        dropped += 1
    return suppressed, dropped


def _small_classes(rows: list, identifiers: list[str], k: int) -> list[int]:
    sizes: dict[tuple, int] = {}
    for row in rows:
        if row is not None:
            key = tuple(row[name] for name in identifiers)
            sizes[key] = sizes.get(key, 0) + 1
    return [
        i
        for i, row in enumerate(rows)
        if row is not None and sizes[tuple(row[name] for name in identifiers)] < k
    ]


def extract_csv(result: Extract) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in result.columns])
    for row in result.rows:
        writer.writerow([neutralise(row[c]) for c in result.columns])
    return buffer.getvalue().encode("utf-8")


def codebook_csv(questionnaire: Questionnaire, result: Extract) -> bytes:
    """What each column means and what each value stands for."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["column", "question", "value", "meaning"])
    fixed = {
        "questionnaire_version": "Version of the questionnaire answered",
        "submitted_month": "Month the response was sent (YYYY-MM)",
        "channel": "How the survey link was distributed",
    }
    for column, meaning in fixed.items():
        writer.writerow([column, meaning, "", ""])
    for question in questionnaire.questions:
        if not question.answerable or question.type in TEXT_TYPES:
            continue
        column = question.dimension if question.dimension in QUASI_IDENTIFIERS else question.id
        if question.type == "multiple_choice":
            for option in question.all_options:
                writer.writerow(
                    [
                        neutralise(f"{question.id}__{option.value}"),
                        neutralise(question.text.get()),
                        "1 / 0 / blank",
                        neutralise(f"chose '{option.label.get()}' / did not / not asked"),
                    ]
                )
            continue
        if question.type == "number":
            writer.writerow(
                [
                    column,
                    neutralise(question.text.get()),
                    f"{question.minimum}-{question.maximum}",
                    "whole number",
                ]
            )
            continue
        for option in question.all_options:
            writer.writerow(
                [
                    column,
                    neutralise(question.text.get()),
                    option.value,
                    neutralise(option.label.get()),
                ]
            )
        if question.dimension in QUASI_IDENTIFIERS:
            writer.writerow(
                [
                    column,
                    "",
                    SUPPRESSED,
                    f"withheld so that at least {result.k} responses share each "
                    "combination of borough, age band, sex, ethnic group, religion "
                    "and disability",
                ]
            )
    writer.writerow(
        [
            "(all)",
            "",
            "",
            f"{result.dropped} responses left out entirely; "
            + ", ".join(f"{n} {name} values suppressed" for name, n in result.suppressed.items()),
        ]
    )
    return buffer.getvalue().encode("utf-8")
