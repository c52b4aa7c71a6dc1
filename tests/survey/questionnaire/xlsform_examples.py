"""XLSForm workbooks for the tests, written as rows the way survey teams lay them out.

`COMMUNITY_SAFETY` is a realistic KoboToolbox-style form: groups, skip logic in each form
the importer understands, an integer range, a multi-line text, and Polish columns."""

from __future__ import annotations

import io

from openpyxl import Workbook

SURVEY_HEADINGS = [
    "type", "name", "label::English (en)", "label::Polish (pl)", "hint::English (en)",
    "hint::Polish (pl)", "required", "relevant", "constraint", "appearance",
]  # fmt: skip

COMMUNITY_SAFETY = {
    "survey": [
        SURVEY_HEADINGS,
        [
            "note",
            "welcome",
            "Thank you for taking part",
            "Dziękujemy za udział",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        [
            "select_one yes_no",
            "feels_safe",
            "Do you feel safe in your area?",
            "Czy czujesz się bezpiecznie w swojej okolicy?",
            "",
            "",
            "yes",
            "",
            "",
            "",
        ],
        [
            "begin_group",
            "worries",
            "Your worries",
            "Twoje obawy",
            "",
            "",
            "",
            "${feels_safe} = 'no'",
            "",
            "",
        ],
        [
            "select_multiple worry",
            "worry_kinds",
            "What worries you?",
            "Co Cię niepokoi?",
            "Select all that apply.",
            "Zaznacz wszystkie pasujące.",
            "yes",
            "",
            "",
            "",
        ],
        [
            "integer",
            "worry_count",
            "How many incidents have you seen this year?",
            "Ile incydentów widziałeś w tym roku?",
            "",
            "",
            "no",
            "selected(${worry_kinds}, 'crime')",
            ". >= 0 and . < 100",
            "",
        ],
        ["end_group", "", "", "", "", "", "", "", "", ""],
        [
            "select_one agree",
            "police_listen",
            "The police listen to people like me",
            "Policja słucha ludzi takich jak ja",
            "",
            "",
            "yes",
            "${feels_safe} = 'yes' or ${feels_safe} = 'unsure'",
            "",
            "likert",
        ],
        [
            "select_one yes_no",
            "would_report",
            "Would you report a concern?",
            "Czy zgłosiłbyś niepokojącą sytuację?",
            "",
            "",
            "yes",
            "not(${feels_safe} = 'yes') and selected(${worry_kinds}, 'crime')",
            "",
            "minimal",
        ],
        [
            "text",
            "comments",
            "Anything else?",
            "Coś jeszcze?",
            "",
            "",
            "no",
            "",
            "string-length(.) <= 500",
            "multiline",
        ],
    ],
    "choices": [
        ["list_name", "name", "label::English (en)", "label::Polish (pl)", "role"],
        ["yes_no", "yes", "Yes", "Tak", ""],
        ["yes_no", "no", "No", "Nie", ""],
        ["yes_no", "unsure", "Not sure", "Nie wiem", ""],
        ["worry", "crime", "Crime", "Przestępczość", ""],
        ["worry", "extremism", "Extremism", "Ekstremizm", ""],
        ["worry", "nothing", "Nothing", "Nic", "none"],
        ["agree", "agree", "Agree", "Zgadzam się", ""],
        ["agree", "disagree", "Disagree", "Nie zgadzam się", ""],
        ["agree", "dont_know", "Don't know", "Nie wiem", "dont_know"],
    ],
    "settings": [
        ["form_title", "form_id", "version", "default_language"],
        ["Community safety", "community-safety", "3", "English (en)"],
    ],
}


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
