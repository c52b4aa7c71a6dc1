"""XLSForm workbooks to and from the questionnaire format.

`import_xlsform` reads the survey, choices and settings sheets (the standard of ODK and
KoboToolbox) and writes questionnaire YAML; anything the format cannot say is refused with
the sheet, row and column named, never dropped. `export_xlsform` writes a questionnaire
back as a workbook the importer reads again unchanged.

The platform's own ideas travel in extra columns that ODK ignores: `dimension` on the
survey sheet, `role` (none or dont_know), `group` and `hint` on the choices sheet,
`minutes`, `introduction` and `exit_this_page` in settings, and `languages`,
`option_groups` and `indicators` sheets.

Workbooks come from outside, so they are read defensively: size limits before opening,
zip entries checked, openpyxl in read-only mode, and formulas refused rather than run.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from babel import Locale, UnknownLocaleError

from survey.digits import DATABASE_INT_MAX, whole_number
from survey.questionnaire.loader import parse_questionnaire
from survey.questionnaire.schema import DEFAULT_LANGUAGE, LocalText, Question, Questionnaire

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024
# A sheet formatted down to Excel's last row (1,048,576) is about 40 MB of empty rows.
MAX_PART_BYTES = 45 * 1024 * 1024
# Spreadsheet XML compresses 5 to 30 times; a part that shrinks far more is padding.
MAX_COMPRESSION_RATIO = 100
RATIO_CHECKED_FROM = 1024 * 1024  # bytes: small parts may compress as they like
# Expat (Python's XML parser) reads one token again with every 16 KB it is fed, so one
# huge comment or tag costs time in proportion to its size squared (151 s for 48 MB).
# Spreadsheet programs write no comments, declarations or processing instructions, and
# no cell, tag or text run comes near this length without a "<".
MAX_XML_STRETCH = 64 * 1024  # bytes between one "<" and the next
XML_PARTS = (".xml", ".rels")
MAX_ZIP_ENTRIES = 200
MAX_ROWS = 2000  # rows holding something, per sheet
LAST_ROW = 1_048_576  # Excel's last row: reading stops here, however a sheet is formatted
MAX_COLUMNS = 100
MAX_CELL_CHARACTERS = 5000

# Types that would record who or where a resident is, or what their device is.
IDENTIFYING_TYPES = {
    "deviceid": "records the phone's identity (IMEI)",
    "subscriberid": "records the SIM subscriber's identity (IMSI)",
    "simserial": "records the SIM card's serial number",
    "phonenumber": "records the resident's phone number",
    "username": "records the name of the person filling in the form",
    "email": "records the resident's email address",
    "start": "records the exact time the resident started",
    "end": "records the exact time the resident finished",
    "today": "records the day the form was opened (the platform keeps only the month)",
    "audit": "records how the resident moved through the form, with times",
    "start-geopoint": "records where the resident was",
    "geopoint": "records where the resident was",
    "geotrace": "records a line of places the resident went",
    "geoshape": "records an area drawn on a map",
    "image": "records a photo, which can show a face or a place",
    "audio": "records the resident's voice",
    "background-audio": "records sound around the resident",
    "video": "records video, which can show a face or a place",
    "file": "records a file from the device",
    "barcode": "records a scanned code, which can identify a person or a thing",
}
SURVEY_COLUMNS = {
    "type", "name", "label", "hint", "required", "required_message", "relevant",
    "constraint", "appearance", "dimension",
}  # fmt: skip
CHOICES_COLUMNS = {"list_name", "name", "label", "hint", "role", "group", "code"}
SETTINGS_COLUMNS = {
    "form_id", "form_title", "version", "default_language", "minutes", "introduction",
    "exit_this_page",
}  # fmt: skip
TRANSLATABLE = {
    "label", "hint", "required_message", "form_title", "introduction", "group_question",
}  # fmt: skip
TRUE = {"yes", "true", "true()", "1"}
FALSE = {"", "no", "false", "false()", "0"}

INTEGER_RANGE = re.compile(
    r"^\s*\.\s*(>=|>)\s*(-?\d+)\s+and\s+\.\s*(<=|<)\s*(-?\d+)\s*$", re.IGNORECASE
)
TEXT_LENGTH = re.compile(r"^\s*string-length\(\s*\.\s*\)\s*<=\s*(\d+)\s*$", re.IGNORECASE)
EQUALS = re.compile(r"^\$\{([a-z][a-z0-9_-]*)\}\s*(=|!=)\s*'([^']*)'$")
SELECTED = re.compile(r"^selected\(\s*\$\{([a-z][a-z0-9_-]*)\}\s*,\s*'([^']*)'\s*\)$")
NOT = re.compile(r"^not\s*\((.*)\)$", re.DOTALL)


class XLSFormError(ValueError):
    """The workbook cannot become a questionnaire; `problems` names each place and why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"  - {p}" for p in problems))


@dataclass
class Row:
    sheet: str
    number: int  # as the spreadsheet shows it, counting the header as row 1
    cells: dict[str, str]

    def where(self, column: str | None = None) -> str:
        place = f"sheet '{self.sheet}', row {self.number}"
        return f"{place}, column '{column}'" if column else place


# --- reading a workbook safely ------------------------------------------------------------


def read_workbook(data: bytes) -> dict[str, list[Row]]:
    """Return each sheet's rows as text, or raise XLSFormError saying what is unsafe."""
    if len(data) > MAX_FILE_BYTES:
        raise XLSFormError([f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"])
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise XLSFormError(["the file is not an .xlsx workbook"]) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise XLSFormError([f"the workbook holds more than {MAX_ZIP_ENTRIES} parts"])
        for entry in entries:
            name = entry.filename.replace("\\", "/")
            if name.startswith("/") or ".." in name.split("/") or ":" in name:
                raise XLSFormError([f"the workbook holds an unsafe part name {name!r}"])
        if sum(entry.file_size for entry in entries) > MAX_UNZIPPED_BYTES:
            raise XLSFormError(["the workbook unpacks to more than 50 MB"])
        for entry in entries:
            _check_part(archive, entry)
    from openpyxl import load_workbook  # loaded on first use: it is large

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as error:  # noqa: BLE001 - openpyxl raises many kinds on bad files
        raise XLSFormError([f"the workbook cannot be read ({type(error).__name__})"]) from None
    sheets: dict[str, list[Row]] = {}
    problems: list[str] = []
    titles: dict[str, str] = {}
    try:
        for sheet in book.worksheets:
            key = sheet.title.strip().lower()
            if key in titles:
                problems.append(
                    f"sheets '{titles[key]}' and '{sheet.title}' have the same name once "
                    "capitals and spaces are ignored; rename or remove one"
                )
                continue
            titles[key] = sheet.title
            sheets[key] = _sheet_rows(sheet, problems)
    finally:
        book.close()
    if problems:
        raise XLSFormError(problems)
    return sheets


def _check_part(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> None:
    """Refuse a part too large, too compressed, or holding XML no spreadsheet writes,
    before any parser sees it."""
    name = entry.filename
    if entry.file_size > MAX_PART_BYTES:
        raise XLSFormError([f"the part {name!r} unpacks to more than {MAX_PART_BYTES >> 20} MB"])
    if entry.file_size > RATIO_CHECKED_FROM and entry.file_size > MAX_COMPRESSION_RATIO * max(
        entry.compress_size, 1
    ):
        raise XLSFormError(
            [
                f"the part {name!r} is packed more than {MAX_COMPRESSION_RATIO} times tighter "
                "than a spreadsheet can be"
            ]
        )
    if not name.lower().endswith(XML_PARTS):
        return
    with archive.open(entry) as part:
        _check_xml(name, part)


def _check_xml(name: str, part: Any) -> None:
    """Stream the part once: nothing but elements and text after the XML declaration, and
    no stretch longer than MAX_XML_STRETCH without a "<"."""
    unusual = f"the part {name!r} holds XML that spreadsheet programs never write"
    stretch = 0  # bytes since the last "<"
    previous = b""  # the last byte of the chunk before, so a "<!" split in two is seen
    first = True
    while chunk := part.read(1024 * 1024):
        window = previous + chunk
        skip = 0
        if first:
            body = window.removeprefix(b"\xef\xbb\xbf")
            if body.startswith(b"<?xml"):
                skip = len(window) - len(body) + body.find(b"?>") + 2
            first = False
        if b"<!" in window[skip:] or b"<?" in window[skip:]:
            raise XLSFormError([f"{unusual} (a comment, declaration or instruction)"])
        pieces = chunk.split(b"<")
        longest = stretch + len(pieces[0])
        if len(pieces) > 1:
            longest = max(longest, *(len(p) for p in pieces[1:]))
            stretch = len(pieces[-1])
        else:
            stretch = longest
        if longest > MAX_XML_STRETCH:
            raise XLSFormError([f"{unusual} (more than {MAX_XML_STRETCH >> 10} KB in one piece)"])
        previous = chunk[-1:]


def _sheet_rows(sheet: Any, problems: list[str]) -> list[Row]:
    title = sheet.title.strip().lower()
    header: list[str] = []
    rows: list[Row] = []
    filled = 0
    # Read the rows the sheet holds, not the size it claims: a form formatted down to the
    # last row claims a million.
    sheet.reset_dimensions()
    for number, values in enumerate(sheet.iter_rows(max_row=LAST_ROW), start=1):
        if not any(cell.value is not None for cell in values):
            continue
        filled += 1
        if filled > MAX_ROWS + 1:
            problems.append(f"sheet '{title}' has more than {MAX_ROWS} rows")
            break
        cells = []
        for index, cell in enumerate(values):
            if index >= MAX_COLUMNS:
                if cell.value is not None:
                    problems.append(f"sheet '{title}' has more than {MAX_COLUMNS} columns")
                    return rows
                continue
            cells.append(_cell_text(title, number, header, index, cell, problems))
        if number == 1:
            header = [c.strip() for c in cells]
            continue
        if not any(cells):
            continue
        row = {header[i]: v for i, v in enumerate(cells) if i < len(header) and header[i]}
        stray = [i for i, v in enumerate(cells) if v and (i >= len(header) or not header[i])]
        for index in stray:
            problems.append(
                f"sheet '{title}', row {number}, column {index + 1}: a value under no heading"
            )
        rows.append(Row(title, number, row))
    return rows


def _cell_text(title, number, header, index, cell, problems) -> str:
    value = cell.value
    where = f"sheet '{title}', row {number}, column " + (
        f"'{header[index]}'" if index < len(header) and header[index] else str(index + 1)
    )
    if getattr(cell, "data_type", None) == "f" or (
        isinstance(value, str) and value.strip().startswith("=") and number > 1
    ):
        problems.append(f"{where}: a formula; type the value itself")
        return ""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if len(text) > MAX_CELL_CHARACTERS:
        problems.append(f"{where}: longer than {MAX_CELL_CHARACTERS} characters")
        return ""
    return text


# --- XLSForm to questionnaire -------------------------------------------------------------


def import_xlsform(data: bytes) -> str:
    """Convert an XLSForm workbook into questionnaire YAML, checked by the loader."""
    sheets = read_workbook(data)
    converter = _Importer(sheets)
    document = converter.convert()
    if converter.problems:
        raise XLSFormError(converter.problems)
    source = _HEADER + yaml.safe_dump(
        document, allow_unicode=True, sort_keys=False, width=100, default_flow_style=False
    )
    try:
        parse_questionnaire(source, filename="the converted workbook")
    except ValueError as error:
        problems = getattr(error, "problems", [str(error)])
        raise XLSFormError([converter.locate(problem) for problem in problems]) from None
    return source


_HEADER = "# Converted from an XLSForm workbook by `flask questionnaires import-xlsform`.\n"


class _Importer:
    def __init__(self, sheets: dict[str, list[Row]]) -> None:
        self.sheets = sheets
        self.problems: list[str] = []
        self.default = DEFAULT_LANGUAGE
        self.languages: list[str] = [DEFAULT_LANGUAGE]
        self.questions: dict[str, dict] = {}  # id -> the YAML mapping built so far
        self.kinds: dict[str, str] = {}  # id -> XLSForm select type
        self.rows: dict[str, Row] = {}  # id -> the survey row it came from
        self.order: list[Row] = []  # the survey row of each question, in order

    def fail(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}")

    def locate(self, problem: str) -> str:
        """Put the survey sheet's row in front of a problem the loader found in a question."""
        by_name = re.match(r"question '([^']+)'", problem)
        by_number = re.match(r"question (\d+)", problem)
        row = None
        if by_name:
            row = self.rows.get(by_name.group(1))
        elif by_number and int(by_number.group(1)) <= len(self.order):
            row = self.order[int(by_number.group(1)) - 1]
        if row is not None:
            return f"{row.where()} ({problem})"
        sheet = "indicators" if problem.startswith("indicator") else "settings"
        return f"sheet '{sheet}' ({problem})"

    def convert(self) -> dict:
        for needed in ("survey", "choices", "settings"):
            if needed not in self.sheets:
                self.fail(f"sheet '{needed}'", "missing")
        if self.problems:
            return {}
        settings = self._settings()
        self._language_columns()
        statuses = self._statuses()
        choices = self._choices()
        questions = self._survey(choices)
        self._option_groups()
        document: dict[str, Any] = {
            "id": settings.get("form_id"),
            "version": settings.get("version"),
            "minutes": settings.get("minutes", 5),
            "exit_this_page": settings.get("exit_this_page", False),
            # A translation nobody has said was reviewed is offered as unreviewed.
            "languages": [
                {"code": code, **statuses.get(code, {"status": _default_status(code)})}
                for code in self.languages
            ],
            "title": settings.get("form_title"),
            "introduction": settings.get("introduction") or settings.get("form_title"),
            "questions": questions,
        }
        indicators = self._indicators()
        if indicators:
            document["indicators"] = indicators
        return document

    # settings, languages ----------------------------------------------------------------

    def _settings(self) -> dict[str, Any]:
        rows = self.sheets["settings"]
        if len(rows) != 1:
            self.fail("sheet 'settings'", "needs exactly one row under its headings")
            return {}
        row = rows[0]
        self._known_columns(row, SETTINGS_COLUMNS)
        default = row.cells.get("default_language", "")
        if default:
            self.default = self._language_code(row.where("default_language"), default) or "en"
        found: dict[str, Any] = {"form_id": row.cells.get("form_id", "")}
        version = row.cells.get("version", "")
        if number := whole_number(version):
            found["version"] = number
        else:
            self.fail(
                row.where("version"),
                f"{version[:20]!r} must be a whole number from 1 to {DATABASE_INT_MAX:,}",
            )
        minutes = row.cells.get("minutes", "")
        if minutes:
            if (number := whole_number(minutes)) is not None:
                found["minutes"] = number
            else:
                self.fail(row.where("minutes"), "must be a whole number of minutes")
        exit_this_page = row.cells.get("exit_this_page", "").strip().lower()
        if exit_this_page:
            if exit_this_page not in TRUE | FALSE:
                self.fail(row.where("exit_this_page"), "must be yes or no")
            else:
                found["exit_this_page"] = exit_this_page in TRUE
        for column in ("form_title", "introduction"):
            text = self._text(row, column)
            if text:
                found[column] = text
        if "form_title" not in found:
            self.fail(row.where("form_title"), "the questionnaire needs a title")
        return found

    def _language_columns(self) -> None:
        """Every language named in a `label::Urdu (ur)` style heading, English first."""
        headings: dict[str, str] = {}  # heading -> where it is first seen, in sheet order
        for rows in self.sheets.values():
            for row in rows[:1]:
                for column in row.cells:
                    if "::" in column:
                        headings.setdefault(column, row.where(column))
        for column, where in headings.items():
            code = self._language_code(where, column.split("::", 1)[1])
            if code and code not in self.languages:
                self.languages.append(code)

    def _language_code(self, where: str, text: str) -> str | None:
        """'English (en)', 'Urdu (ur)' or 'ur' -> 'ur'."""
        match = re.search(r"\(([A-Za-z]{2,3}(?:-[A-Za-z]{2,4})?)\)\s*$", text)
        code = (match.group(1) if match else text).strip()
        try:
            Locale.parse(code.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            self.fail(where, f"{text!r} is not a language; write it as 'Urdu (ur)'")
            return None
        return code.lower()

    def _statuses(self) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for row in self.sheets.get("languages", []):
            self._known_columns(row, {"code", "status", "note"})
            code = row.cells.get("code", "")
            entry = {"status": row.cells.get("status", "")}
            if row.cells.get("note"):
                entry["note"] = row.cells["note"]
            found[code] = entry
        return found

    def _text(self, row: Row, column: str) -> dict[str, str] | None:
        """A translatable column and its `column::Language (xx)` partners, as a mapping."""
        texts: dict[str, str] = {}
        for heading, value in row.cells.items():
            base, _, language = heading.partition("::")
            if base != column or not value:
                continue
            code = self._language_code(row.where(heading), language) if language else self.default
            if code:
                texts[code] = value
        return texts or None

    def _known_columns(self, row: Row, allowed: set[str]) -> None:
        for heading, value in row.cells.items():
            base = heading.split("::", 1)[0]
            if value and (base not in allowed or ("::" in heading and base not in TRANSLATABLE)):
                self.fail(row.where(heading), "this column cannot be expressed here; remove it")

    # choices ----------------------------------------------------------------------------

    def _choices(self) -> dict[str, list[dict]]:
        lists: dict[str, list[dict]] = {}
        for row in self.sheets["choices"]:
            self._known_columns(row, CHOICES_COLUMNS)
            name = row.cells.get("list_name", "")
            value = row.cells.get("name", "")
            if not name or not value:
                self.fail(row.where(), "each choice needs a list_name and a name")
                continue
            option: dict[str, Any] = {"value": value, "label": self._text(row, "label")}
            if option["label"] is None:
                self.fail(row.where("label"), "the choice needs a label")
            hint = self._text(row, "hint")
            if hint:
                option["hint"] = hint
            if row.cells.get("group"):
                option["group"] = row.cells["group"]
            code = row.cells.get("code", "")
            if code:
                if (number := whole_number(code)) is not None:
                    option["code"] = number
                else:
                    self.fail(row.where("code"), "must be a whole number (the option's code)")
            role = row.cells.get("role", "")
            if role not in ("", "none", "dont_know"):
                self.fail(row.where("role"), "must be empty, 'none' or 'dont_know'")
            option["_role"] = role
            option["_row"] = row
            lists.setdefault(name, []).append(option)
        return lists

    # survey -----------------------------------------------------------------------------

    def _survey(self, choices: dict[str, list[dict]]) -> list[dict]:
        questions: list[dict] = []
        groups: list[tuple[Row, dict | None]] = []  # open groups and their conditions
        for row in self.sheets["survey"]:
            self._known_columns(row, SURVEY_COLUMNS)
            kind = row.cells.get("type", "").strip()
            words = kind.split()
            base = words[0].lower() if words else ""
            if base in IDENTIFYING_TYPES:
                self.fail(
                    row.where("type"),
                    f"'{base}' {IDENTIFYING_TYPES[base]}. Residents answer anonymously, so "
                    "the platform never asks for it: remove this row",
                )
                continue
            if base in ("begin_group", "begin") and (
                base == "begin_group" or words[1:2] == ["group"]
            ):
                condition = self._relevant(row)
                question = self._group_page(row, groups, condition)
                if question:
                    questions.append(question)
                groups.append((row, condition))
                continue
            if base in ("end_group", "end") and (base == "end_group" or words[1:2] == ["group"]):
                if not groups:
                    self.fail(row.where("type"), "end group without a begin group")
                else:
                    groups.pop()
                continue
            question = self._question(row, base, words, choices, groups)
            if question is not None:
                questions.append(question)
        for row, _ in groups:
            self.fail(row.where("type"), "this group is never ended")
        return questions

    def _group_page(self, row: Row, groups, condition) -> dict | None:
        """A group's label becomes a page of its own at the group's start."""
        label = self._text(row, "label")
        for column in ("hint", "required", "constraint", "appearance", "dimension"):
            if row.cells.get(column):
                self.fail(row.where(column), "a group cannot have this; put it on its questions")
        if label is None:
            return None
        question = {"id": row.cells.get("name", ""), "type": "information", "text": label}
        return self._add(row, question, [c for _, c in groups] + [condition])

    def _question(self, row, base, words, choices, groups) -> dict | None:
        name = row.cells.get("name", "")
        question: dict[str, Any] = {"id": name}
        appearance = row.cells.get("appearance", "").lower()
        constraint = row.cells.get("constraint", "")
        if base in ("select_one", "select_multiple"):
            if len(words) != 2 or words[1] not in choices:
                self.fail(row.where("type"), f"{base} needs a list name from the choices sheet")
                return None
            qtype = "multiple_choice" if base == "select_multiple" else "single_choice"
            if appearance == "likert" and base == "select_one":
                qtype = "scale"
            elif appearance == "minimal" and base == "select_one":
                question["control"] = "dropdown"
            elif appearance:
                self.fail(row.where("appearance"), f"'{appearance}' cannot be expressed here")
            question["type"] = qtype
            self._options(row, question, choices[words[1]])
            self.kinds[name] = base
        elif base == "integer":
            question["type"] = "number"
            bounds = INTEGER_RANGE.match(constraint)
            if not bounds:
                self.fail(
                    row.where("constraint"),
                    "an integer question needs a range such as '. >= 0 and . <= 120'",
                )
                return None
            low = int(bounds.group(2)) + (1 if bounds.group(1) == ">" else 0)
            high = int(bounds.group(4)) - (1 if bounds.group(3) == "<" else 0)
            question["min"], question["max"] = low, high
            constraint = ""
        elif base == "text":
            question["type"] = "long_text" if appearance == "multiline" else "short_text"
            if appearance not in ("", "multiline"):
                self.fail(row.where("appearance"), f"'{appearance}' cannot be expressed here")
            length = TEXT_LENGTH.match(constraint)
            if length:
                question["max_length"] = int(length.group(1))
                constraint = ""
        elif base == "note":
            question["type"] = "information"
        else:
            self.fail(
                row.where("type"),
                f"type {base!r} cannot be expressed: use select_one, select_multiple, "
                "integer, text, note, or begin/end group",
            )
            return None
        if constraint:
            self.fail(
                row.where("constraint"), "only integer ranges and text lengths can be expressed"
            )
        text = self._text(row, "label")
        if text is None:
            self.fail(row.where("label"), "the question needs a label")
        question["text"] = text
        hint = self._text(row, "hint")
        if hint:
            question["hint"] = hint
        error = self._text(row, "required_message")
        if error:
            question["error"] = error
        required = row.cells.get("required", "").strip().lower()
        if required not in TRUE | FALSE:
            self.fail(row.where("required"), f"{required!r} must be yes or no")
        elif question["type"] in ("short_text", "long_text") and required in TRUE:
            self.fail(
                row.where("required"),
                "free-text questions are always optional, so nobody has to type something "
                "that could identify them",
            )
        elif question["type"] != "information":
            question["required"] = required in TRUE
        if row.cells.get("dimension"):
            question["dimension"] = row.cells["dimension"]
        return self._add(row, question, [c for _, c in groups] + [self._relevant(row)])

    def _add(self, row: Row, question: dict, conditions: list[dict | None]) -> dict:
        """Attach the joined conditions and remember the question and the row it came from."""
        show_if = self._combine(row, conditions)
        if show_if:
            question["show_if"] = show_if
        self.questions[question["id"]] = question
        self.rows[question["id"]] = row
        self.order.append(row)
        return question

    def _options(self, row: Row, question: dict, options: list[dict]) -> None:
        regular = []
        for option in options:
            role = option["_role"]
            clean = {k: v for k, v in option.items() if not k.startswith("_")}
            if role == "none":
                if question["type"] != "multiple_choice" or "none_option" in question:
                    self.fail(
                        option["_row"].where("role"),
                        "'none' fits one choice of a select_multiple list",
                    )
                question["none_option"] = clean
            elif role == "dont_know":
                if question["type"] != "scale" or "dont_know_option" in question:
                    self.fail(
                        option["_row"].where("role"), "'dont_know' fits one choice of a likert list"
                    )
                question["dont_know_option"] = clean
            else:
                regular.append(clean)
        question["options"] = regular

    # conditions -------------------------------------------------------------------------

    def _relevant(self, row: Row) -> dict | None:
        """Parse `relevant` into {mode, conditions}; refuse what cannot be expressed."""
        expression = row.cells.get("relevant", "").strip()
        if not expression:
            return None
        where = row.where("relevant")
        ors = _split(expression, "or")
        ands = _split(expression, "and")
        if len(ors) > 1 and len(ands) > 1:
            self.fail(where, "a mix of 'and' and 'or' cannot be expressed; use one of them")
            return None
        mode, parts = ("any", ors) if len(ors) > 1 else ("all", ands)
        conditions: list[tuple[str, set[str]]] = []
        for part in parts:
            # (${q} = 'a' or ${q} = 'b') inside an 'and' is one condition on one question
            alternatives = _split(_unwrap(part), "or") if mode == "all" else [part]
            found = [self._condition(where, _unwrap(a)) for a in alternatives]
            if any(f is None for f in found):
                return None
            if len({name for name, _ in found}) > 1:
                self.fail(where, "an 'or' inside an 'and' must be about one question")
                return None
            conditions.append((found[0][0], set().union(*(values for _, values in found))))
        return {"mode": mode, "conditions": conditions}

    def _condition(self, where: str, text: str) -> tuple[str, set[str]] | None:
        negate = False
        inner = NOT.match(text)
        if inner:
            negate, text = True, _unwrap(inner.group(1))
        equals, selected = EQUALS.match(text), SELECTED.match(text)
        if equals:
            name, operator, value = equals.groups()
            negate ^= operator == "!="
        elif selected:
            name, value = selected.groups()
        else:
            self.fail(
                where,
                f"{text!r} cannot be expressed: use ${{q}} = 'v', selected(${{q}}, 'v'), "
                "not(...), and, or",
            )
            return None
        target = self.questions.get(name)
        if target is None or "options" not in target:
            self.fail(where, f"${{{name}}} must be an earlier select_one or select_multiple")
            return None
        values = {o["value"] for o in target["options"]} | {
            target[k]["value"] for k in ("none_option", "dont_know_option") if k in target
        }
        if value not in values:
            self.fail(where, f"'{value}' is not a choice of ${{{name}}}")
            return None
        if negate:
            if self.kinds.get(name) == "select_multiple":
                self.fail(where, "not(...) of a select_multiple answer cannot be expressed")
                return None
            return name, values - {value}
        return name, {value}

    def _combine(self, row: Row, parts: list[dict | None]) -> dict | None:
        """Join the group's and the row's conditions into one show_if."""
        parts = [p for p in parts if p]
        if not parts:
            return None
        if len(parts) > 1 and any(p["mode"] == "any" and len(p["conditions"]) > 1 for p in parts):
            self.fail(
                row.where("relevant"),
                "an 'or' inside a group with its own condition cannot be expressed",
            )
            return None
        mode = parts[0]["mode"] if len(parts) == 1 else "all"
        merged: dict[str, set[str]] = {}
        listed: list[tuple[str, set[str]]] = []
        for part in parts:
            for name, values in part["conditions"]:
                if mode == "any" and name in merged:
                    merged[name] |= values
                    continue
                if mode == "all" and name in merged:
                    merged[name] &= values
                    continue
                merged[name] = set(values)
                listed.append((name, merged[name]))
        return {mode: [{"question": name, "in": sorted(values)} for name, values in listed]}

    # option groups ----------------------------------------------------------------------

    def _option_groups(self) -> None:
        """The `option_groups` sheet: a single choice asked group first (ethnic group)."""
        for row in self.sheets.get("option_groups", []):
            self._known_columns(row, {"question", "name", "label", "group_question"})
            question = self.questions.get(row.cells.get("question", ""))
            if question is None or question.get("type") != "single_choice":
                self.fail(row.where("question"), "must name a select_one question")
                continue
            question.setdefault("groups", []).append(
                {
                    "value": row.cells.get("name", ""),
                    "label": self._text(row, "label"),
                    "question": self._text(row, "group_question"),
                }
            )

    # indicators -------------------------------------------------------------------------

    def _indicators(self) -> list[dict]:
        found = []
        for row in self.sheets.get("indicators", []):
            self._known_columns(row, {"id", "label", "question", "positive", "exclude"})
            item: dict[str, Any] = {
                "id": row.cells.get("id", ""),
                "label": self._text(row, "label"),
                "question": row.cells.get("question", ""),
                "positive": row.cells.get("positive", "").split(),
            }
            if row.cells.get("exclude"):
                item["exclude"] = row.cells["exclude"].split()
            found.append(item)
        return found


def _default_status(code: str) -> str:
    return "source" if code == DEFAULT_LANGUAGE else "unreviewed"


def _split(expression: str, word: str) -> list[str]:
    """Split on ` and ` or ` or ` outside brackets and quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    token = f" {word} "
    index = 0
    lowered = expression.lower()
    while index < len(expression):
        char = expression[index]
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and lowered.startswith(token, index):
            parts.append(expression[start:index])
            index += len(token)
            start = index
            continue
        index += 1
    parts.append(expression[start:])
    return [p.strip() for p in parts]


def _unwrap(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


# --- questionnaire to XLSForm -------------------------------------------------------------


def export_xlsform(questionnaire: Questionnaire) -> bytes:
    """Write the questionnaire as an XLSForm workbook that `import_xlsform` reads back."""
    from openpyxl import Workbook

    languages = list(questionnaire.language_codes)
    names = {code: _language_heading(code) for code in languages}

    def headings(*columns: str) -> list[str]:
        out = []
        for column in columns:
            out.append(column)
            if column in TRANSLATABLE:
                out += [f"{column}::{names[code]}" for code in languages[1:]]
        return out

    def texts(text: LocalText | None) -> list[str]:
        if text is None:
            return [""] * len(languages)
        found = dict(text.translations)
        return [found.get(code, "") for code in languages]

    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(
        headings("type", "name", "label", "hint", "required", "required_message", "relevant")
        + ["constraint", "appearance", "dimension"]
    )
    choices = book.create_sheet("choices")
    choices.append(headings("list_name", "name", "label", "hint") + ["role", "group", "code"])
    for question in questionnaire.questions:
        kind, appearance, constraint = _xlsform_type(question)
        survey.append(
            [kind, question.id, *texts(question.text), *texts(question.hint)]
            + ["" if question.type == "information" else ("yes" if question.required else "no")]
            + [*texts(question.error), _relevant_text(question), constraint, appearance]
            + [question.dimension or ""]
        )
        for option in question.all_options:
            role = (
                "none"
                if option is question.exclusive_option
                else "dont_know"
                if option is question.dont_know_option
                else ""
            )
            choices.append(
                [question.id, option.value, *texts(option.label), *texts(option.hint)]
                + [role, option.group or "", option.code if question.codes_declared else ""]
            )
    settings = book.create_sheet("settings")
    settings.append(
        headings("form_id", "version", "form_title", "introduction", "minutes") + ["exit_this_page"]
    )
    settings.append(
        [questionnaire.id, questionnaire.version, *texts(questionnaire.title)]
        + [*texts(questionnaire.introduction), questionnaire.minutes]
        + ["yes" if questionnaire.exit_this_page else "no"]
    )
    statuses = book.create_sheet("languages")
    statuses.append(["code", "status", "note"])
    for language in questionnaire.languages:
        statuses.append([language.code, language.status, language.note or ""])
    grouped = [question for question in questionnaire.questions if question.groups]
    if grouped:
        groups = book.create_sheet("option_groups")
        groups.append(headings("question", "name", "label", "group_question"))
        for question in grouped:
            for group in question.groups:
                groups.append(
                    [question.id, group.value, *texts(group.label), *texts(group.question)]
                )
    if questionnaire.indicators:
        indicators = book.create_sheet("indicators")
        indicators.append(headings("id", "label", "question", "positive", "exclude"))
        for indicator in questionnaire.indicators:
            indicators.append(
                [indicator.id, *texts(indicator.label), indicator.question]
                + [" ".join(sorted(indicator.positive)), " ".join(sorted(indicator.exclude))]
            )
    for sheet in book.worksheets:  # every cell is text or a number, never a formula
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def _language_heading(code: str) -> str:
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(DEFAULT_LANGUAGE)
    except (UnknownLocaleError, ValueError):
        name = code
    return f"{name} ({code})"


def _xlsform_type(question: Question) -> tuple[str, str, str]:
    if question.type in ("single_choice", "scale", "multiple_choice"):
        select = "select_multiple" if question.type == "multiple_choice" else "select_one"
        appearance = "likert" if question.type == "scale" else ""
        if question.type == "single_choice" and question.control == "dropdown":
            appearance = "minimal"
        return f"{select} {question.id}", appearance, ""
    if question.type == "number":
        return "integer", "", f". >= {question.minimum} and . <= {question.maximum}"
    if question.type in ("short_text", "long_text"):
        appearance = "multiline" if question.type == "long_text" else ""
        return "text", appearance, f"string-length(.) <= {question.max_length}"
    return "note", "", ""


def _relevant_text(question: Question) -> str:
    if question.show_if is None:
        return ""
    joiner = " or " if question.show_if.mode == "any" else " and "
    parts = []
    for condition in question.show_if.conditions:
        alternatives = [
            f"selected(${{{condition.question}}}, '{value}')" for value in sorted(condition.values)
        ]
        if len(alternatives) > 1 and question.show_if.mode == "all":
            parts.append("(" + " or ".join(alternatives) + ")")
        else:
            parts += alternatives
    return joiner.join(parts)


def read_file(path: str | Path) -> bytes:
    """Read a workbook from disk, refusing one too large before reading it all."""
    path = Path(path)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise XLSFormError([f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"])
    return path.read_bytes()
