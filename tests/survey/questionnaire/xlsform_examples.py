"""XLSForm workbooks for the tests, from forms written by hand in `tests/data/xlsform/`.

`community-safety` is a realistic KoboToolbox-style form: groups, skip logic in each form
the importer understands, an integer range, a multi-line text, and Polish columns.
`kobo-with-metadata` is laid out as KoboToolbox starts every form, with start, end, today
and deviceid rows, a location and a photo: all of which identify a resident."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import Workbook

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "xlsform"


def sheets_from(folder: str) -> dict[str, list[list[str]]]:
    """A form written by hand as one CSV file a sheet (survey.csv, choices.csv, ...)."""
    sheets = {}
    for path in sorted((EXAMPLES / folder).glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as file:
            sheets[path.stem] = list(csv.reader(file))
    return sheets


COMMUNITY_SAFETY = sheets_from("community-safety")
SURVEY_HEADINGS = COMMUNITY_SAFETY["survey"][0]


def workbook(sheets: dict[str, list[list]], *, formulas: bool = False) -> bytes:
    """Build an .xlsx from rows; with `formulas`, text starting "=" stays a formula."""
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
            if not formulas:
                for cell in sheet[sheet.max_row]:
                    if isinstance(cell.value, str) and cell.value.startswith("="):
                        cell.data_type = "s"
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def with_rows(sheet: str, *rows: list, base: dict | None = None) -> dict[str, list[list]]:
    """A copy of the community safety form with rows added to one sheet."""
    sheets = {
        name: [list(r) for r in content] for name, content in (base or COMMUNITY_SAFETY).items()
    }
    sheets[sheet] += [list(row) for row in rows]
    return sheets
