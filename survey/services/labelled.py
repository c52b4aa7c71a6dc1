"""The microdata extract in the files statistics packages open with their labels: SPSS
(.sav) and Stata (.dta) files written by pyreadstat, and an R script that reads the CSV
into labelled factors. Every label comes from the codebook's `variables`, in the language
the admin chose, and every column keeps its name from the CSV.

In SPSS and Stata files a coded column holds each option's stable code (see the
questionnaire), a withheld value is -9 in SPSS (declared missing) and `.s` in Stata (an
extended missing value), both labelled; a blank is system missing. `EXTRACT_FORMATS` is
the register of the extract's downloads: adding one is an entry there plus its test.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from survey import clock
from survey.i18n import in_language, name_in
from survey.questionnaire import Questionnaire
from survey.services.codebook import SUPPRESSED_CODE, Variable, codebook_csv, summary, variables
from survey.services.microdata import SUPPRESSED, Plan, batches, stream_csv

STEM = "prevent-microdata"
BLANK = np.iinfo(np.int16).min  # a blank coded cell while the columns are built
STATA_SUPPRESSED = "s"  # Stata's extended missing value .s
CHUNK = 1 << 16  # bytes of a file sent at a time
# What each format allows a label to hold.
SPSS_VARIABLE_LABEL_BYTES = 255
SPSS_VALUE_LABEL_BYTES = 120
STATA_VARIABLE_LABEL_CHARACTERS = 80
STATA_FILE_LABEL_CHARACTERS = 80
STATA_VERSION = 14  # format 118: Unicode, opened by Stata 14 and every later Stata


class UnknownValue(ValueError):
    """A stored answer no version of the questionnaire offers: the extract would lose it."""


def fit_bytes(text: str, limit: int) -> str:
    """The text cut to `limit` bytes of UTF-8 at a character boundary, marked "…" if cut."""
    if len(text.encode("utf-8")) <= limit:
        return text
    cut = text.encode("utf-8")[: limit - len("…".encode())].decode("utf-8", "ignore")
    return cut.rstrip() + "…"


def fit_characters(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass
class _Columns:
    """The extract's columns as arrays, filled a batch of rows at a time."""

    described: list[Variable]
    rows: int

    def __post_init__(self) -> None:
        self.filled = 0
        self.arrays: list[np.ndarray] = []
        self.lookups: list[dict[str, int] | None] = []
        for variable in self.described:
            if variable.kind in ("coded", "flag"):
                self.arrays.append(np.full(self.rows, BLANK, dtype=np.int16))
                self.lookups.append({**variable.code_of(), SUPPRESSED: SUPPRESSED_CODE, "": BLANK})
            elif variable.kind == "number":
                self.arrays.append(np.full(self.rows, np.nan))
                self.lookups.append(None)
            else:
                self.arrays.append(np.full(self.rows, "", dtype=object))
                self.lookups.append(None)

    def add(self, batch: list[list[str]]) -> None:
        start, stop = self.filled, self.filled + len(batch)
        for at, cells in enumerate(zip(*batch, strict=True)):
            variable, lookup = self.described[at], self.lookups[at]
            if lookup is not None:
                try:
                    self.arrays[at][start:stop] = [lookup[cell] for cell in cells]
                except KeyError as missing:
                    raise UnknownValue(
                        f"column {variable.name} holds {missing.args[0]!r}, which no version "
                        "of the questionnaire numbers"
                    ) from None
            elif variable.kind == "number":
                self.arrays[at][start:stop] = [float(cell) if cell else np.nan for cell in cells]
            else:
                self.arrays[at][start:stop] = cells
        self.filled = stop

    def coded(self, at: int) -> tuple[np.ndarray, np.ndarray]:
        """A coded column's codes and where it is blank."""
        codes = self.arrays[at][: self.filled]
        return codes, codes == BLANK


def _read(session, questionnaire, plan, described) -> _Columns:
    columns = _Columns(described, plan.rows)
    for batch in batches(session, questionnaire, plan):
        columns.add(batch)
    return columns


def _labels(described: list[Variable], value_limit: int | None) -> dict[str, dict]:
    labels = {}
    for variable in described:
        if variable.kind in ("coded", "flag"):
            labels[variable.name] = {
                v.code: fit_bytes(v.label, value_limit) if value_limit else v.label
                for v in variable.values
            }
    return labels


def _file_label(plan: Plan, language: str) -> str:
    return in_language(
        "Prevent survey: anonymised microdata, %(rows)s rows, k = %(k)s, made %(day)s",
        language,
        rows=plan.rows,
        k=plan.k,
        day=clock.today().isoformat(),
    )


def _writers():
    """pandas and pyreadstat, imported when a file is written: together they take most of
    a second to import, which every app start (a gunicorn worker, each `flask` command)
    would otherwise pay for an admin-only download."""
    import pandas
    import pyreadstat

    return pandas, pyreadstat


def sav_file(path: str, session: Session, questionnaire: Questionnaire, plan: Plan, language: str):
    """Write the extract as an SPSS file with variable and value labels."""
    pd, pyreadstat = _writers()
    described = variables(questionnaire, plan, language)
    columns = _read(session, questionnaire, plan, described)
    data, missing, measure = {}, {}, {}
    for at, variable in enumerate(described):
        if variable.kind in ("coded", "flag"):
            codes, blank = columns.coded(at)
            data[variable.name] = pd.arrays.IntegerArray(codes, blank)
            if any(v.code == SUPPRESSED_CODE for v in variable.values):
                missing[variable.name] = [SUPPRESSED_CODE]
            measure[variable.name] = "ordinal" if variable.ordered else "nominal"
        else:
            data[variable.name] = columns.arrays[at][: columns.filled]
            measure[variable.name] = "scale" if variable.kind == "number" else "nominal"
    pyreadstat.write_sav(
        pd.DataFrame(data),
        path,
        file_label=fit_bytes(_file_label(plan, language), 64),
        column_labels={v.name: fit_bytes(v.label, SPSS_VARIABLE_LABEL_BYTES) for v in described},
        row_compress=True,
        note=f"k-anonymous, k = {plan.k}: the codebook says what was withheld",  # 80 bytes at most
        variable_value_labels=_labels(described, SPSS_VALUE_LABEL_BYTES),
        missing_ranges=missing,
        variable_measure=measure,
    )


def dta_file(path: str, session: Session, questionnaire: Questionnaire, plan: Plan, language: str):
    """Write the extract as a Stata file with variable and value labels."""
    pd, pyreadstat = _writers()
    described = variables(questionnaire, plan, language)
    columns = _read(session, questionnaire, plan, described)
    data, missing = {}, {}
    labels = _labels(described, None)
    for at, variable in enumerate(described):
        if variable.kind in ("coded", "flag"):
            codes, blank = columns.coded(at)
            withheld = codes == SUPPRESSED_CODE
            if withheld.any() or any(v.code == SUPPRESSED_CODE for v in variable.values):
                column = codes.astype(object)
                column[blank] = np.nan
                column[withheld] = STATA_SUPPRESSED
                data[variable.name] = column
                missing[variable.name] = [STATA_SUPPRESSED]
                named = labels[variable.name]
                named[STATA_SUPPRESSED] = named.pop(SUPPRESSED_CODE)
            else:
                data[variable.name] = pd.arrays.IntegerArray(codes, blank)
        else:
            data[variable.name] = columns.arrays[at][: columns.filled]
    pyreadstat.write_dta(
        pd.DataFrame(data),
        path,
        file_label=fit_characters(_file_label(plan, language), STATA_FILE_LABEL_CHARACTERS),
        column_labels={
            v.name: fit_characters(v.label, STATA_VARIABLE_LABEL_CHARACTERS) for v in described
        },
        version=STATA_VERSION,
        variable_value_labels=labels,
        missing_user_values=missing,
    )


def r_text(text: str) -> str:
    """A string literal R reads alike on every system: non-ASCII as \\u escapes."""
    out = []
    for character in text:
        point = ord(character)
        if character in ('"', "\\"):
            out.append("\\" + character)
        elif 32 <= point < 127:
            out.append(character)
        elif point <= 0xFFFF:
            out.append(f"\\u{point:04x}")
        else:
            out.append(f"\\U{point:08x}")
    return '"' + "".join(out) + '"'


def r_script(questionnaire: Questionnaire, plan: Plan, language: str) -> str:
    """An R script that reads the CSV extract with every column's label, coded columns as
    factors with their labels (a withheld value is the level "suppressed")."""
    described = variables(questionnaire, plan, language)
    lines = [
        f"# {STEM}.R: reads {STEM}.csv with its labels in {name_in(language, 'en')}.",
        f"# {_file_label(plan, 'en')}. Keep the extract to approved research.",
        f'# In R, from the folder holding both files: source("{STEM}.R")',
        "",
        f'extract <- read.csv("{STEM}.csv", fileEncoding = "UTF-8-BOM",',
        '                    colClasses = "character", na.strings = "")',
    ]
    for variable in described:
        column = f"extract${variable.name}"
        if variable.kind == "coded":
            levels = ", ".join(r_text(v.value) for v in variable.values)
            names = ", ".join(r_text(v.label) for v in variable.values)
            lines += [
                f"{column} <- factor({column},",
                f"  levels = c({levels}),",
                f"  labels = c({names}))",
            ]
        elif variable.kind in ("flag", "number"):
            lines.append(f"{column} <- as.integer({column})")
        lines.append(f'attr({column}, "label") <- {r_text(variable.label)}')
    lines += [
        f'attr(extract, "note") <- {r_text(summary(plan, language))}',
        "",
    ]
    return "\n".join(lines)


class _TemporaryFile:
    """A written file sent a piece at a time and removed when the download closes,
    whether or not it was read to the end."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __iter__(self) -> Iterator[bytes]:
        with open(self.path, "rb") as file:
            while piece := file.read(CHUNK):
                yield piece

    def close(self) -> None:
        if os.path.exists(self.path):
            os.unlink(self.path)


def _written(writer: Callable) -> Callable:
    """Run a writer into a temporary file and send that file."""

    def build(session, questionnaire, plan, language) -> _TemporaryFile:
        handle, path = tempfile.mkstemp(prefix=STEM)
        os.close(handle)
        sent = _TemporaryFile(path)
        try:
            writer(path, session, questionnaire, plan, language)
        except BaseException:
            sent.close()
            raise
        return sent

    return build


@dataclass(frozen=True)
class ExtractFormat:
    """One way to download the extract."""

    filename: str
    content_type: str  # sent as it is, charset and all
    label: str
    labelled: bool  # labels follow the language chosen
    # (session, questionnaire, plan, language) -> the file, a piece at a time
    build: Callable[..., Iterator[bytes]]


EXTRACT_FORMATS: dict[str, ExtractFormat] = {
    "csv": ExtractFormat(
        f"{STEM}.csv",
        "text/csv; charset=utf-8",
        "The extract as CSV",
        False,
        lambda session, questionnaire, plan, _language: stream_csv(session, questionnaire, plan),
    ),
    "sav": ExtractFormat(
        f"{STEM}.sav",
        "application/x-spss-sav",
        "The extract for SPSS (.sav)",
        True,
        _written(sav_file),
    ),
    "dta": ExtractFormat(
        f"{STEM}.dta",
        "application/x-stata-dta",
        "The extract for Stata (.dta)",
        True,
        _written(dta_file),
    ),
    "R": ExtractFormat(
        f"{STEM}.R",
        "text/plain; charset=utf-8",
        "An R script that reads the CSV with its labels",
        True,
        lambda _session, questionnaire, plan, language: iter(
            [r_script(questionnaire, plan, language).encode("utf-8")]
        ),
    ),
    "codebook": ExtractFormat(
        "prevent-codebook.csv",
        "text/csv; charset=utf-8",
        "The codebook (CSV)",
        True,
        lambda _session, questionnaire, plan, language: iter(
            [codebook_csv(questionnaire, plan, language)]
        ),
    ),
}
