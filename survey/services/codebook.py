"""The microdata extract's codebook: what each column means, each value's code and label,
and the information lost to protect respondents, in any of the questionnaire's languages.

`variables` describes the columns once; the CSV codebook, the SPSS and Stata files' labels
and the R script all read it, so every file says the same thing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from survey.demographics import BY_NAME
from survey.i18n import in_language, name_in
from survey.questionnaire import Questionnaire
from survey.questionnaire.answers import N_
from survey.services.exports import neutralise
from survey.services.microdata import SUPPRESSED, Identifier, Plan

SUPPRESSED_CODE = -9  # a withheld value's code in SPSS and Stata files
FALLBACK_CODE = 9000  # first code for a value no questionnaire version numbers

RESPONSE_MEANINGS = {
    "questionnaire_version": N_("Version of the questionnaire answered"),
    "submitted_quarter": N_(
        "Quarter the response was sent (YYYY-Qn); the day and month are not kept"
    ),
    "channel": N_("How the survey link was distributed"),
    "language": N_("Language the survey was answered in"),
    "synthetic": N_("Made-up demo response, not a real resident"),
}
CODED, FLAG, NUMBER, TEXT = "coded", "flag", "number", "text"
KIND_WORDS = {
    CODED: N_("One code per answer: each code, the value in the CSV and its label follow"),
    FLAG: N_("1 if chosen, 0 if not chosen, blank if the question was not asked"),
    NUMBER: N_("Whole number from %(minimum)s to %(maximum)s; blank if not asked"),
    TEXT: N_("Text"),
}


@dataclass(frozen=True)
class Value:
    """One value a column can hold."""

    code: int | None  # its number in SPSS and Stata files; None in a text column
    value: str  # as the CSV holds it
    label: str


@dataclass(frozen=True)
class Variable:
    """One column of the extract, described in one language."""

    name: str
    label: str  # the question, or what the column records
    kind: str  # "coded", "flag", "number" or "text"
    values: tuple[Value, ...] = ()
    notes: tuple[str, ...] = ()  # what was withheld or recoded
    ordered: bool = False  # the codes run in order (a scale)
    description: str = ""  # how to read the column

    def code_of(self) -> dict[str, int]:
        """The CSV's value to its code, for coded and flag columns."""
        return {v.value: v.code for v in self.values if v.code is not None}


def variables(questionnaire: Questionnaire, plan: Plan, language: str) -> list[Variable]:
    """Every column of the extract, in order, described in `language`."""

    def tr(message: str, **values) -> str:
        return in_language(message, language, **values)

    identifiers = {i.name: i for i in plan.identifiers}
    described: list[Variable] = []
    for name in plan.columns[: len(plan.columns) - len(plan.answer_columns)]:
        label = tr(RESPONSE_MEANINGS[name])
        if name == "synthetic":
            values = (Value(1, "yes", tr("Yes")), Value(0, "no", tr("No")))
            described.append(
                Variable(name, label, "coded", values, description=tr(KIND_WORDS[CODED]))
            )
        elif name == "questionnaire_version":
            described.append(
                Variable(name, label, "number", notes=_notes(identifiers.get(name), plan, tr))
            )
        else:
            values = tuple(
                Value(None, v, name_in(v, language) if name == "language" else v)
                for v in (identifiers[name].values if name in identifiers else ())
            )
            described.append(
                Variable(name, label, "text", values, _notes(identifiers.get(name), plan, tr))
            )
    for column in plan.answer_columns:
        question = questionnaire.question(column.question_id)
        text = question.text.get(language)
        known = plan.known_options.get(question.id, {})
        if column.name in identifiers:
            identifier = identifiers[column.name]
            values = _identifier_values(questionnaire, identifier, known, language)
            values += (Value(SUPPRESSED_CODE, SUPPRESSED, tr("Withheld to protect respondents")),)
            notes = _notes(identifier, plan, tr)
            if column.name == "borough":
                notes = (
                    tr(
                        "Blank: not known, as the response came through a link that recorded "
                        "the borough where it was used instead of asking where the resident "
                        "lives"
                    ),
                    *notes,
                )
            described.append(
                Variable(column.name, text, "coded", values, notes, False, tr(KIND_WORDS[CODED]))
            )
        elif column.option is not None:
            option = known[column.option]
            values = (Value(1, "1", tr("Chose this")), Value(0, "0", tr("Did not choose this")))
            label = f"{text} {option.label.get(language)}"
            described.append(
                Variable(column.name, label, "flag", values, description=tr(KIND_WORDS[FLAG]))
            )
        elif question.type == "number":
            words = tr(KIND_WORDS[NUMBER], minimum=question.minimum, maximum=question.maximum)
            described.append(Variable(column.name, text, "number", description=words))
        else:
            values = tuple(
                Value(o.code, o.value, o.label.get(language))
                for o in sorted(known.values(), key=lambda o: o.code)
            )
            described.append(
                Variable(
                    column.name,
                    text,
                    "coded",
                    values,
                    ordered=question.type == "scale",
                    description=tr(KIND_WORDS[CODED]),
                )
            )
    return described


def _identifier_values(questionnaire, identifier: Identifier, known, language) -> tuple:
    """The values a quasi-identifier holds after recoding, with their codes and labels: a
    grouped variable's from the register, the rest as the questionnaire numbers them."""
    variable = BY_NAME.get(identifier.name)
    question = questionnaire.question(identifier.question_id)
    found = []
    unnumbered = 0
    for value in identifier.values:
        option = known.get(value)
        if variable is not None and variable.grouped and value in variable.group_codes:
            group = question.group(value) if question is not None else None
            label = (
                group.label.get(language)
                if group is not None
                else option.label.get(language)
                if option is not None
                else variable.group_labels.get(value, value)
            )
            found.append(Value(variable.group_codes[value], value, label))
        elif option is not None:
            found.append(Value(option.code, value, option.label.get(language)))
        else:
            found.append(Value(FALLBACK_CODE + unnumbered, value, value))
            unnumbered += 1
    return tuple(sorted(found, key=lambda v: v.code))


def _notes(identifier: Identifier | None, plan: Plan, tr) -> tuple[str, ...]:
    """What was withheld from, and recoded in, one quasi-identifier."""
    if identifier is None:
        return ()
    lost = plan.suppressed.get(identifier.name, 0)
    total = len(plan.kept)
    notes = [
        tr(
            "Withheld (%(suppressed)s) so that at least %(k)s responses share each "
            "combination; information loss: %(lost)s of %(total)s values (%(share)s)",
            suppressed=SUPPRESSED,
            k=plan.k,
            lost=lost,
            total=total,
            share=f"{lost / max(total, 1):.1%}",
        )
    ]
    if identifier.name in plan.recoded:
        message, values = plan.recoded[identifier.name]
        notes.append(tr("Recoded for every row: %(how)s", how=tr(message, **values)))
    return tuple(notes)


def summary(plan: Plan, language: str) -> str:
    """The extract's protection in one paragraph."""
    return in_language(
        "Every combination of %(names)s is shared by at least %(k)s rows. %(dropped)s "
        "responses left out entirely. No survey weight is given: a raked weight would "
        "reveal the cell it came from.",
        language,
        names=", ".join(i.name for i in plan.identifiers),
        k=plan.k,
        dropped=plan.dropped,
    )


def codebook_csv(questionnaire: Questionnaire, plan: Plan, language: str = "en") -> bytes:
    """The codebook as CSV with a byte-order mark: a row per column, then a row per value
    (its code in SPSS and Stata files, the value in the CSV, and its label), then notes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["column", "question", "code", "value", "meaning"])
    for variable in variables(questionnaire, plan, language):
        writer.writerow(
            [variable.name, neutralise(variable.label), "", "", neutralise(variable.description)]
        )
        for value in variable.values:
            code = "" if value.code is None else value.code
            writer.writerow(
                [variable.name, "", code, neutralise(value.value), neutralise(value.label)]
            )
        for note in variable.notes:
            writer.writerow([variable.name, "", "", "", neutralise(note)])
    writer.writerow(["(all)", "", "", "", neutralise(summary(plan, language))])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")
