"""The admin-only anonymised microdata extract: one row per response, k-anonymous on every
variable that could be known about a person.

As statistical offices make one (sdcMicro's approach): the quasi-identifiers are the
demographic register's, the language answered in, and the quarter the response was sent
(channel and questionnaire version too, when the admin asks for them). Global recoding
comes first: ethnic groups to the five 2021 Census groups, rare religions to "other
religion", months to quarters. Then local suppression guided by importance, one value of
one row at a time (`analysis.anonymity.k_anonymise`): every row must match at least k
rows, a suppressed value matching any value, as sdcMicro's `localSuppression` counts;
the least important values go first and are given back wherever they are not needed, so
borough goes last. No response id, no day, no link name, no free text and no
survey weight (a raked weight would reveal the cell it came from). The codebook reports
the information lost.

The extract streams, so a million responses fit in a small, fixed amount of memory. It is
built in two passes over the responses in id order (ids are random, so the order says
nothing about arrival):

1. `plan` reads only the quasi-identifiers, as small integer codes, recodes them and
   decides which values to suppress and which responses to leave out.
2. `stream_csv` reads every answer, one response per row straight from the database, and
   writes CSV lines as it goes, applying the plan. A response submitted between the two
   passes is not in the plan, so it is left out of this extract.
"""

from __future__ import annotations

import csv
import io
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy import Select, func, literal, select
from sqlalchemy.orm import Session

from analysis.anonymity import k_anonymise
from survey.demographics import DEMOGRAPHICS
from survey.geography import PREFER_NOT_TO_SAY
from survey.models import Answer, Link, QuestionnaireVersion, Response
from survey.questionnaire import Questionnaire
from survey.questionnaire.answers import N_
from survey.questionnaire.schema import TEXT_TYPES, Option
from survey.services.exports import neutralise
from survey.services.questionnaires import questionnaire_for

SUPPRESSED = "suppressed"
BATCH = 5_000  # rows fetched from the database at a time
NOT_ANSWERED = 0  # code of a blank value in the plan
SUPPRESSED_CODE = -1
RARE_SHARE = 0.02  # religions held by fewer than 2% of responses are grouped together
OTHER_RELIGION = "other_religion"
# Variables about the response, and how much analysts need them (higher: kept longer).
RESPONSE_IMPORTANCE = {"submitted_quarter": 6, "channel": 1, "questionnaire_version": 1}
QUASI_IDENTIFIERS = tuple(d.name for d in DEMOGRAPHICS if d.quasi_identifier) + (
    "submitted_quarter",
    "channel",
    "questionnaire_version",
)


@dataclass(frozen=True)
class Options:
    """What the admin chose: columns beyond the standard ones, and demographic variables to
    leave out altogether (one fewer thing someone could know; the variables given back
    after it keep more of their values)."""

    channel: bool = False
    version: bool = False
    left_out: frozenset[str] = frozenset()  # names from `choosable`


@dataclass(frozen=True)
class Column:
    """One answer column of the CSV: its heading and the answer that fills it."""

    name: str
    question_id: str
    option: str | None = None  # set for one option of a multiple-choice question


# Words SPSS or Stata keep for themselves: a column may not be named one of them.
RESERVED_NAMES = frozenset({
    "all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with",
    "byte", "double", "float", "if", "in", "int", "long", "using", "strl",
})  # fmt: skip
NAME_LIMIT = 32  # Stata's limit on a variable name; SPSS allows 64 bytes


def file_names(names: list[str]) -> list[str]:
    """The same names made valid in SPSS and Stata, so every file names a column alike:
    letters, digits and "_" only, at most 32 characters, none reserved, none twice."""
    made: list[str] = []
    for name in names:
        valid = re.sub(r"[^A-Za-z0-9_]", "_", name)[:NAME_LIMIT]
        if valid.lower() in RESERVED_NAMES:
            valid = f"{valid}_"
        candidate, number = valid, 2
        while candidate.lower() in {m.lower() for m in made}:
            suffix = f"_{number}"
            candidate, number = valid[: NAME_LIMIT - len(suffix)] + suffix, number + 1
        made.append(candidate)
    return made


@dataclass
class Identifier:
    """A quasi-identifier: where its values come from, and the values its codes stand for."""

    name: str
    importance: int
    question_id: str | None = None  # None: read from the response itself
    values: list[str] | None = None  # code - 1 -> value written, after recoding

    def __post_init__(self) -> None:
        self.values = self.values or []


@dataclass(frozen=True)
class Plan:
    """What the extract holds and what disclosure control it needs."""

    columns: list[str]
    answer_columns: list[Column]  # the columns after the response's own
    # Every option each question has offered in any loaded version, newest first: answers
    # sent under an earlier version keep their code and label.
    known_options: dict[str, dict[str, Option]]
    identifiers: list[Identifier]  # in the order of `codes`' columns
    ids: array  # the first 8 bytes of each response's id, as a number, in id order
    codes: np.ndarray  # (responses, identifiers) codes after recoding and suppression
    kept: np.ndarray  # (responses,) False for a response left out entirely
    suppressed: dict[str, int]  # values replaced, per quasi-identifier
    dropped: int  # responses left out because even full suppression left them too few
    k: int
    options: Options
    # Global recodes per variable: an interface message and its values, for the codebook
    # to put in words in any language.
    recoded: dict[str, tuple[str, dict[str, str]]]

    @property
    def rows(self) -> int:
        return int(self.kept.sum())

    def loss(self) -> dict[str, float]:
        """Share of rows whose value was suppressed, per quasi-identifier."""
        total = max(len(self.kept), 1)
        return {name: count / total for name, count in self.suppressed.items()}


def answer_identifiers(questionnaire: Questionnaire) -> dict[str, Identifier]:
    """The demographic register's quasi-identifiers the questionnaire asks, by question id."""
    found = {}
    for variable in DEMOGRAPHICS:
        if not variable.quasi_identifier or variable.dimension is None:
            continue
        question = questionnaire.dimension_question(variable.dimension)
        if question is not None:
            found[question.id] = Identifier(variable.name, variable.importance, question.id)
    return found


def choosable(questionnaire: Questionnaire) -> list[tuple[str, str]]:
    """The demographic variables an admin may leave out of the extract, as (name, label):
    the register's quasi-identifiers the questionnaire asks, most important first (the
    order in which suppressed values are given back)."""
    asked = {i.name for i in answer_identifiers(questionnaire).values()}
    found = [d for d in DEMOGRAPHICS if d.name in asked]
    return [(d.name, d.label) for d in sorted(found, key=lambda d: -d.importance)]


def _answer_columns(questionnaire: Questionnaire, options: Options) -> list[Column]:
    identifiers = answer_identifiers(questionnaire)
    columns = []
    for question in questionnaire.questions:
        if not question.answerable or question.type in TEXT_TYPES:
            continue
        if question.id in identifiers:
            if identifiers[question.id].name not in options.left_out:
                columns.append(Column(identifiers[question.id].name, question.id))
        elif question.type == "multiple_choice":
            columns.extend(
                Column(f"{question.id}_{o.code}", question.id, o.value)
                for o in question.all_options
            )
        else:
            columns.append(Column(question.id, question.id))
    taken = response_columns(options)
    names = file_names(taken + [c.name for c in columns])[len(taken) :]
    return [replace(c, name=name) for c, name in zip(columns, names, strict=True)]


def response_columns(options: Options) -> list[str]:
    return [
        *(["questionnaire_version"] if options.version else []),
        "submitted_quarter",
        *(["channel"] if options.channel else []),
        "language",
        "synthetic",
    ]


def _answers_by_response(question_ids: list[str] | None = None) -> Select:
    """One row per response, in id order: id, version, day, link, whether the link set the
    borough, language, and its answers in one string "q=v;q=v;..." (values and ids hold
    neither separator; the loader checks).

    Every questionnaire's responses come back, to be filtered by the caller: without a
    filter the database reads the responses in id order from the primary key's index and
    streams them, where a filter would make it sort them all first.

    All of a response's answers are gathered by a subquery per response. Only some
    questions' answers (`question_ids`) are gathered in one grouped pass joined to the
    responses instead: PostgreSQL takes almost three times as long to filter answers
    response by response (1.6 s against 4.3 s for 200,000 responses; SQLite the same)."""
    gathered = func.aggregate_strings(Answer.question_id + literal("=") + Answer.value, ";")
    columns = (
        Response.id,
        Response.questionnaire_version_id,
        Response.submitted_on,
        Response.link_id,
        Response.borough_from_link,
        Response.language,
    )
    if question_ids is None:
        pairs = select(gathered).where(Answer.response_id == Response.id).scalar_subquery()
        return select(*columns, pairs).order_by(Response.id)
    grouped = (
        select(Answer.response_id, gathered.label("pairs"))
        .where(Answer.question_id.in_(question_ids))
        .group_by(Answer.response_id)
        .subquery()
    )
    return (
        select(*columns, grouped.c.pairs)
        .outerjoin(grouped, grouped.c.response_id == Response.id)
        .order_by(Response.id)
    )


def _versions(session: Session, questionnaire: Questionnaire) -> dict[int, int]:
    return dict(
        session.execute(
            select(QuestionnaireVersion.id, QuestionnaireVersion.version).where(
                QuestionnaireVersion.questionnaire_id == questionnaire.id
            )
        ).all()
    )


def _known_options(session: Session, questionnaire: Questionnaire) -> dict[str, dict[str, Option]]:
    found: dict[str, dict[str, Option]] = {}
    versions = session.scalars(
        select(QuestionnaireVersion)
        .where(QuestionnaireVersion.questionnaire_id == questionnaire.id)
        .order_by(QuestionnaireVersion.version.desc())
    )
    for version in [questionnaire, *(questionnaire_for(v) for v in versions)]:
        for question in version.questions:
            known = found.setdefault(question.id, {})
            for option in question.all_options:
                known.setdefault(option.value, option)
    return found


def _quarter(day) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def plan(
    session: Session, questionnaire: Questionnaire, *, k: int = 5, options: Options = Options()
) -> Plan:
    """Read the quasi-identifiers of every response, recode them and decide the suppression."""
    answer_columns = _answer_columns(questionnaire, options)
    by_question = answer_identifiers(questionnaire)
    identifiers = [
        *(by_question[c.question_id] for c in answer_columns if c.question_id in by_question),
        Identifier("language", _importance("language")),
        Identifier("submitted_quarter", RESPONSE_IMPORTANCE["submitted_quarter"]),
        *([Identifier("channel", RESPONSE_IMPORTANCE["channel"])] if options.channel else []),
        *(
            [Identifier("questionnaire_version", RESPONSE_IMPORTANCE["questionnaire_version"])]
            if options.version
            else []
        ),
    ]
    position = {ident.question_id: i for i, ident in enumerate(identifiers) if ident.question_id}
    at = {ident.name: i for i, ident in enumerate(identifiers)}
    versions = _versions(session, questionnaire)
    channels = dict(session.execute(select(Link.id, Link.channel)).all())
    lookups: list[dict[str, int]] = [{} for _ in identifiers]  # value -> code, per column
    coded: dict[str, tuple[int, int]] = {}  # "question=value" -> (column, code)
    ids = array("Q")  # 8 bytes a response: enough to tell one random id from another
    flat = array("h")  # 2 bytes a value: a million responses take 16 MB
    blank = [NOT_ANSWERED] * len(identifiers)

    def code(column: int, value: str) -> int:
        lookup = lookups[column]
        return lookup.setdefault(value, len(lookup) + 1)

    borough_at = at.get("borough")
    query = _answers_by_response(list(position)).execution_options(yield_per=BATCH)
    for response_id, version_id, day, link_id, from_link, language, pairs in session.execute(query):
        if version_id not in versions:
            continue
        ids.append(int(response_id[:16], 16))
        row = blank.copy()
        for pair in pairs.split(";") if pairs else ():
            found = coded.get(pair)
            if found is None:
                question_id, value = pair.split("=", 1)
                column = position[question_id]
                found = coded[pair] = (column, code(column, value))
            row[found[0]] = found[1]
        if from_link and borough_at is not None:
            row[borough_at] = NOT_ANSWERED  # the link's borough, not the resident's
        row[at["language"]] = code(at["language"], language)
        row[at["submitted_quarter"]] = code(at["submitted_quarter"], _quarter(day))
        if options.channel:
            row[at["channel"]] = code(at["channel"], channels[link_id])
        if options.version:
            row[at["questionnaire_version"]] = code(
                at["questionnaire_version"], str(versions[version_id])
            )
        flat.extend(row)
    codes = np.frombuffer(flat, dtype=np.int16).reshape(-1, len(identifiers))  # no copy
    recoded = _recode(questionnaire, identifiers, lookups, codes)
    kept, suppressed_by_column, dropped = k_anonymise(
        codes, [i.importance for i in identifiers], k, missing=SUPPRESSED_CODE
    )
    suppressed = {i.name: n for i, n in zip(identifiers, suppressed_by_column, strict=True)}
    return Plan(
        columns=response_columns(options) + [c.name for c in answer_columns],
        answer_columns=answer_columns,
        known_options=_known_options(session, questionnaire),
        identifiers=identifiers,
        ids=ids,
        codes=codes,
        kept=kept,
        suppressed=suppressed,
        dropped=dropped,
        k=k,
        options=options,
        recoded=recoded,
    )


def _importance(name: str) -> int:
    return next(d.importance for d in DEMOGRAPHICS if d.name == name)


def _recode(questionnaire, identifiers, lookups, codes) -> dict[str, tuple[str, dict]]:
    """Global recoding, in place: detailed ethnic groups to their five groups, religions
    held by fewer than RARE_SHARE of the responses to "other religion". Sets each
    identifier's values (code - 1 -> value) and returns the recodes in words."""
    words = {}
    total = max(len(codes), 1)
    for column, identifier in enumerate(identifiers):
        raw = sorted(lookups[column], key=lookups[column].get)  # code - 1 -> raw value
        target = list(raw)
        variable = next((d for d in DEMOGRAPHICS if d.name == identifier.name), None)
        if variable is not None and variable.grouped:
            question = questionnaire.dimension_question(variable.dimension)
            groups = {o.value: o.group or o.value for o in question.options}
            target = [groups.get(value, value) for value in raw]
            words[identifier.name] = (
                N_("detailed answers grouped: %(groups)s"),
                {"groups": ", ".join(sorted(set(target)))},
            )
        if identifier.name == "religion":
            counts = np.bincount(codes[:, column].clip(0), minlength=len(raw) + 1)[1:]
            rare = [
                value
                for value, count in zip(raw, counts, strict=True)
                if count / total < RARE_SHARE and value not in (PREFER_NOT_TO_SAY, OTHER_RELIGION)
            ]
            target = [OTHER_RELIGION if value in rare else value for value in raw]
            if rare:
                words[identifier.name] = (
                    N_(
                        "religions held by fewer than %(share)s of responses shown as "
                        "%(other)s: %(rare)s"
                    ),
                    {
                        "share": f"{RARE_SHARE:.0%}",
                        "other": OTHER_RELIGION,
                        "rare": ", ".join(sorted(rare)),
                    },
                )
        if identifier.name == "submitted_quarter":
            words[identifier.name] = (N_("the month sent, coarsened to its quarter"), {})
        values = sorted(set(target))
        identifier.values = values
        new_code = np.array([0, *(values.index(v) + 1 for v in target)], dtype=np.int16)
        column_codes = codes[:, column]
        codes[:, column] = np.where(column_codes > 0, new_code[column_codes.clip(0)], column_codes)
    return words


class _Cells(dict):
    """Where each stored answer "question=value" goes in a row, and what it writes there.

    `cells[pair]` is (column, text, option columns): a multiple-choice option writes "1" in
    its own column and "0" in the question's other blank ones; column -1 means no column
    (an answer the extract leaves out, or a quasi-identifier, which the plan writes).
    Answers come from a small set (options and numbers in range), so each is worked out on
    first sight and remembered: a million responses hold about twenty million answers, but
    only a few hundred different ones."""

    LIMIT = 100_000  # answers remembered at most

    def __init__(
        self, columns: list[Column], first: int, planned: set[str], clean, numbers: set[str]
    ) -> None:
        super().__init__()
        self.clean = clean
        self.numbers = numbers  # questions answered with a whole number, which need no cleaning
        self.single: dict[str, int] = {}  # question -> its column
        self.options: dict[str, tuple[int, ...]] = {}  # question -> its options' columns
        self.chosen: dict[str, int] = {}  # "question=option" -> that option's column
        for at, c in enumerate(columns, start=first):
            if c.question_id in planned:
                continue
            if c.option is None:
                self.single[c.question_id] = at
            else:
                self.options[c.question_id] = (*self.options.get(c.question_id, ()), at)
                self.chosen[f"{c.question_id}={c.option}"] = at

    def __missing__(self, pair: str) -> tuple[int, str, tuple[int, ...]]:
        question_id, value = pair.split("=", 1)
        if pair in self.chosen:
            cell = self.chosen[pair], "1", self.options[question_id]
        elif question_id in self.options:
            cell = -1, "", self.options[question_id]  # an option no longer offered
        else:
            text = value if question_id in self.numbers else self.clean(value)
            cell = self.single.get(question_id, -1), text, ()
        if len(self) < self.LIMIT:
            self[pair] = cell
        return cell


def _as_is(value: str) -> str:
    return value


def batches(
    session: Session, questionnaire: Questionnaire, extract: Plan, *, clean=_as_is
) -> Iterator[list[list[str]]]:
    """Yield the extract's rows as text, up to a thousand at a time, reading one response
    per row straight from the database. `clean` is applied to every value that came from
    a resident or the questionnaire (the CSV makes each safe to open in a spreadsheet)."""
    versions = {key: str(number) for key, number in _versions(session, questionnaire).items()}
    first = len(response_columns(extract.options))
    planned = {i.question_id for i in extract.identifiers if i.question_id}
    numbers = {q.id for q in questionnaire.questions if q.type == "number"}
    cells = _Cells(extract.answer_columns, first, planned, clean, numbers)
    heading = {name: i for i, name in enumerate(extract.columns)}
    # Each quasi-identifier's column and its values (code 0: blank).
    written = [(heading[i.name], ["", *(clean(v) for v in i.values)]) for i in extract.identifiers]
    synthetic_at = heading["synthetic"]
    kept = extract.kept.tobytes()  # indexing bytes is much quicker than a numpy array
    width = len(extract.columns)
    synthetic = {
        link_id: "yes" if made_up else "no"
        for link_id, made_up in session.execute(select(Link.id, Link.synthetic))
    }
    query = _answers_by_response().execution_options(yield_per=BATCH)
    ids, index, total = extract.ids, 0, len(kept)
    batch: list[list[str]] = []
    for response_id, version_id, _day, link_id, _from_link, _language, pairs in session.execute(
        query
    ):
        if version_id not in versions:
            continue
        key = int(response_id[:16], 16)
        while index < total and ids[index] < key:
            index += 1  # in the plan but gone since: nothing to write
        if index >= total or ids[index] != key:
            continue  # arrived after the plan was made
        if kept[index]:
            row = [""] * width
            row[synthetic_at] = synthetic[link_id]
            for pair in pairs.split(";") if pairs else ():
                at, text, options = cells[pair]
                for other in options:
                    if not row[other]:
                        row[other] = "0"
                if at >= 0:
                    row[at] = text
            for (at, values), code in zip(written, extract.codes[index].tolist(), strict=True):
                row[at] = SUPPRESSED if code == SUPPRESSED_CODE else values[code]
            batch.append(row)
            if len(batch) == 1_000:
                yield batch
                batch = []
        index += 1
    if batch:
        yield batch


def stream_csv(session: Session, questionnaire: Questionnaire, extract: Plan) -> Iterator[bytes]:
    """Yield the extract as UTF-8 CSV with a byte-order mark (so Excel reads the labels of
    every language), a batch of lines at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in extract.columns])
    yield "\ufeff".encode() + buffer.getvalue().encode("utf-8")
    for batch in batches(session, questionnaire, extract, clean=neutralise):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(batch)
        yield buffer.getvalue().encode("utf-8")
