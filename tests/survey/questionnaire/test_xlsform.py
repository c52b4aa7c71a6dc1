"""XLSForm import and export: what converts, what is refused and where, hostile workbooks."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import load_workbook

from survey.questionnaire import load_file, parse_questionnaire
from survey.questionnaire.schema import Condition
from survey.questionnaire.xlsform import (
    IDENTIFYING_TYPES,
    MAX_ROWS,
    XLSFormError,
    export_xlsform,
    import_xlsform,
)
from tests.conftest import PROJECT
from tests.survey.questionnaire.xlsform_examples import (
    COMMUNITY_SAFETY,
    SURVEY_HEADINGS,
    sheets_from,
    with_rows,
    workbook,
)

REAL = PROJECT / "questionnaires" / "prevent-awareness.yaml"


def refusal(data: bytes) -> list[str]:
    with pytest.raises(XLSFormError) as caught:
        import_xlsform(data)
    return caught.value.problems


def survey_row(kind: str, name: str, label: str | None = None, **cells: str) -> list[str]:
    row = dict.fromkeys(SURVEY_HEADINGS, "")
    row.update({"type": kind, "name": name, "label::English (en)": label or f"Question {name}"})
    row.update(cells)
    return [row[h] for h in SURVEY_HEADINGS]


def test_the_real_questionnaire_survives_a_round_trip():
    questionnaire = load_file(REAL)
    again = parse_questionnaire(import_xlsform(export_xlsform(questionnaire)))
    assert again == questionnaire  # every question, option, condition, language and status
    assert again.questions == questionnaire.questions
    assert again.languages == questionnaire.languages
    assert again.indicators == questionnaire.indicators
    assert again.exit_this_page and again.question("ethnicity").groups  # the extra ideas too
    assert again.question("ethnicity").codes()["asian_indian"] == 13  # and the stable codes


def test_the_exported_workbook_reads_as_an_ordinary_xlsform():
    book = load_workbook(io.BytesIO(export_xlsform(load_file(REAL))), read_only=True)
    assert {"survey", "choices", "settings"} <= set(book.sheetnames)
    headings = next(book["survey"].iter_rows(values_only=True))
    assert {"type", "name", "label", "label::Urdu (ur)", "hint::Polish (pl)"} <= set(headings)
    types = [row[0] for row in book["survey"].iter_rows(min_row=2, values_only=True)]
    assert "select_one heard_of_prevent" in types and "integer" in types and "note" in types
    book.close()


def test_a_realistic_kobo_form_converts_with_its_logic_and_languages():
    questionnaire = parse_questionnaire(import_xlsform(workbook(COMMUNITY_SAFETY)))
    assert (questionnaire.id, questionnaire.version) == ("community-safety", 3)
    assert questionnaire.language_codes == ("en", "pl")
    assert questionnaire.language("pl").status == "unreviewed"  # nobody said it was reviewed
    by_id = {q.id: q for q in questionnaire.questions}
    assert [q.id for q in questionnaire.questions] == [
        "welcome", "feels_safe", "worries", "worry_kinds", "worry_count", "police_listen",
        "would_report", "comments",
    ]  # fmt: skip
    assert by_id["welcome"].type == "information"
    assert by_id["feels_safe"].text.get("pl") == "Czy czujesz się bezpiecznie w swojej okolicy?"
    # the group's label is a page of its own, and its condition reaches every question in it
    group = by_id["worries"]
    assert group.type == "information"
    assert group.show_if.conditions == (Condition("feels_safe", frozenset({"no"})),)
    kinds = by_id["worry_kinds"]
    assert kinds.type == "multiple_choice" and kinds.exclusive_option.value == "nothing"
    assert kinds.hint.get("pl") == "Zaznacz wszystkie pasujące."
    assert kinds.show_if.conditions == (Condition("feels_safe", frozenset({"no"})),)
    count = by_id["worry_count"]
    assert (count.minimum, count.maximum, count.required) == (0, 99, False)
    assert count.show_if.mode == "all"
    assert set(count.show_if.conditions) == {
        Condition("feels_safe", frozenset({"no"})),
        Condition("worry_kinds", frozenset({"crime"})),
    }
    scale = by_id["police_listen"]
    assert scale.type == "scale" and scale.dont_know_option.value == "dont_know"
    assert scale.show_if.mode == "any"
    assert scale.show_if.conditions == (Condition("feels_safe", frozenset({"unsure", "yes"})),)
    report = by_id["would_report"]
    assert report.control == "dropdown"
    assert set(report.show_if.conditions) == {
        Condition("feels_safe", frozenset({"no", "unsure"})),  # not(= 'yes')
        Condition("worry_kinds", frozenset({"crime"})),
    }
    comments = by_id["comments"]
    assert (comments.type, comments.max_length, comments.required) == ("long_text", 500, False)


def test_the_command_line_converts_both_ways(runner, tmp_path):
    workbook_path = tmp_path / "form.xlsx"
    out = runner.invoke(
        args=["questionnaires", "export-xlsform", str(REAL), "-o", str(workbook_path)]
    )
    assert out.exit_code == 0, out.output
    target = tmp_path / "back.yaml"
    result = runner.invoke(
        args=["questionnaires", "import-xlsform", str(workbook_path), "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert "17 questions in en, pl, bn, ur" in result.output
    assert parse_questionnaire(target.read_text(encoding="utf-8")) == load_file(REAL)
    again = runner.invoke(
        args=["questionnaires", "import-xlsform", str(workbook_path), "-o", str(target)]
    )
    assert again.exit_code != 0 and "--overwrite" in again.output


def test_the_command_line_names_each_problem_and_fails(runner, tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(workbook(with_rows("survey", survey_row("deviceid", "device"))))
    result = runner.invoke(args=["questionnaires", "import-xlsform", str(path)])
    assert result.exit_code == 1
    assert "sheet 'survey', row 11, column 'type'" in result.output
    assert not (tmp_path / "community-safety.yaml").exists()


def test_a_kobo_form_with_its_usual_metadata_rows_is_refused_row_by_row():
    problems = refusal(workbook(sheets_from("kobo-with-metadata")))
    assert [p.split(": ", 1)[0] for p in problems] == [
        f"sheet 'survey', row {row}, column 'type'" for row in (2, 3, 4, 5, 8, 9)
    ]
    assert "records the phone's identity" in problems[3]
    assert "records where the resident was" in problems[4]
    cleaned = sheets_from("kobo-with-metadata")
    cleaned["survey"] = [r for r in cleaned["survey"] if r[0] not in IDENTIFYING_TYPES]
    questionnaire = parse_questionnaire(import_xlsform(workbook(cleaned)))
    assert questionnaire.language_codes == ("en", "ur", "bn")
    assert questionnaire.question("trust").text.get("ur").startswith("کیا آپ کو بھروسا")


@pytest.mark.parametrize("kind", sorted(IDENTIFYING_TYPES))
def test_types_that_would_identify_a_resident_are_refused_with_the_reason(kind):
    problems = refusal(workbook(with_rows("survey", survey_row(kind, "meta"))))
    assert len(problems) == 1
    assert problems[0].startswith("sheet 'survey', row 11, column 'type': ")
    assert IDENTIFYING_TYPES[kind] in problems[0] and "anonymously" in problems[0]


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        (survey_row("calculate", "score"), "type", "cannot be expressed"),
        (survey_row("date", "born"), "type", "cannot be expressed"),
        (survey_row("integer", "age"), "constraint", "needs a range"),
        (survey_row("integer", "age", constraint=". > 17"), "constraint", "needs a range"),
        (survey_row("text", "name", required="yes"), "required", "always optional"),
        (survey_row("text", "t", constraint="regex(., '[a-z]+')"), "constraint", "only integer"),
        (survey_row("select_one yes_no", "q", appearance="quick"), "appearance", "'quick'"),
        (survey_row("select_one nolist", "q"), "type", "list name"),
        (survey_row("select_one yes_no", "q", required="maybe"), "required", "yes or no"),
        (
            survey_row("note", "n", relevant="${feels_safe} = 'yes' and ${x} = 'a' or ${y} = 'b'"),
            "relevant",
            "mix of 'and' and 'or'",
        ),
        (survey_row("note", "n", relevant="${worry_count} > 3"), "relevant", "cannot be expressed"),
        (survey_row("note", "n", relevant="${feels_safe} = 'maybe'"), "relevant", "not a choice"),
        (survey_row("note", "n", relevant="${later} = 'yes'"), "relevant", "earlier select"),
        (
            survey_row("note", "n", relevant="not(selected(${worry_kinds}, 'crime'))"),
            "relevant",
            "select_multiple",
        ),
    ],
)
def test_what_cannot_be_expressed_is_refused_naming_sheet_row_and_column(row, column, words):
    problems = refusal(workbook(with_rows("survey", row)))
    assert any(
        p.startswith(f"sheet 'survey', row 11, column '{column}'") and words in p for p in problems
    ), problems


def test_unknown_columns_with_values_are_refused_not_dropped():
    sheets = with_rows("survey")
    sheets["survey"][0] = [*SURVEY_HEADINGS, "choice_filter"]
    sheets["survey"][2] = [*sheets["survey"][2], "region = ${area}"]
    problems = refusal(workbook(sheets))
    assert problems == [
        "sheet 'survey', row 3, column 'choice_filter': this column cannot be expressed here; "
        "remove it"
    ]


def test_problems_the_questionnaire_rules_find_are_placed_on_their_row():
    sheets = with_rows("survey", survey_row("select_one yes_no", "Bad Name"))
    problems = refusal(workbook(sheets))
    assert problems and problems[0].startswith("sheet 'survey', row 11 (question")


def test_a_formula_cell_is_refused_not_run():
    sheets = with_rows("survey", survey_row("note", "sum", label="=1+1"))
    problems = refusal(workbook(sheets, formulas=True))
    assert problems == [
        "sheet 'survey', row 11, column 'label::English (en)': a formula; type the value itself"
    ]


def test_markup_in_labels_is_kept_as_text_and_shown_escaped(app, client, demo):
    from survey.extensions import db
    from survey.services.questionnaires import load_questionnaire
    from tests.resident import Resident

    real = load_file(REAL)
    book = load_workbook(io.BytesIO(export_xlsform(real)))
    book["settings"]["C2"] = "<script>alert('title')</script>"  # the English form_title
    book["settings"]["B2"] = real.version + 1
    output = io.BytesIO()
    book.save(output)
    source = import_xlsform(output.getvalue())
    assert "<script>alert('title')</script>" in parse_questionnaire(source).title.get()
    with app.app_context():
        load_questionnaire(db.session, source, filename="from-xlsform")
        db.session.commit()
    body = Resident(client, demo).get(f"/s/{demo}").get_data(as_text=True)
    assert "<script>alert('title')</script>" not in body
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in body


def test_a_huge_sheet_is_refused():
    rows = [["yes_no", f"v{i}", f"Value {i}", f"Wartość {i}", ""] for i in range(MAX_ROWS + 5)]
    problems = refusal(workbook(with_rows("choices", *rows)))
    assert problems == [f"sheet 'choices' has more than {MAX_ROWS} rows"]


def _rezip(data: bytes, extra: dict[str, bytes]) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(output, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        for name, content in extra.items():
            target.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED)
    return output.getvalue()


def test_zip_entries_that_climb_out_are_refused():
    data = _rezip(workbook(COMMUNITY_SAFETY), {"../../etc/cron.d/evil": b"* * * * * rm -rf /"})
    assert refusal(data) == ["the workbook holds an unsafe part name '../../etc/cron.d/evil'"]


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    data = _rezip(workbook(COMMUNITY_SAFETY), {"xl/media/padding.bin": bytes(60 * 1024 * 1024)})
    assert len(data) < 1024 * 1024
    assert refusal(data) == ["the workbook unpacks to more than 50 MB"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"name,label\nq1,Question", "the file is not an .xlsx workbook"),
        (bytes(6 * 1024 * 1024), "the file is larger than 5 MB"),
    ],
)
def test_files_that_are_not_workbooks_are_refused(data, message):
    assert refusal(data) == [message]


def test_missing_sheets_are_named():
    sheets = {k: v for k, v in COMMUNITY_SAFETY.items() if k != "choices"}
    assert refusal(workbook(sheets)) == ["sheet 'choices': missing"]


def _edit_part(data: bytes, name: str, edit) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(output, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == name:
                content = edit(content)
            target.writestr(item.filename, content, compress_type=zipfile.ZIP_DEFLATED)
    return output.getvalue()


def _before_sheet_data(text: bytes):
    return lambda content: content.replace(b"<sheetData>", text + b"<sheetData>", 1)


FIRST_SHEET = "xl/worksheets/sheet1.xml"


def test_a_huge_xml_comment_is_refused_before_any_parser_reads_it():
    comment = b"<!--" + b"x" * (48 * 1024 * 1024) + b"-->"
    data = _edit_part(workbook(COMMUNITY_SAFETY), FIRST_SHEET, _before_sheet_data(comment))
    assert len(data) < 100 * 1024
    assert refusal(data) == [f"the part '{FIRST_SHEET}' unpacks to more than 45 MB"]


def test_a_part_packed_far_tighter_than_a_spreadsheet_is_refused():
    comment = b"<!--" + b"x" * (8 * 1024 * 1024) + b"-->"
    data = _edit_part(workbook(COMMUNITY_SAFETY), FIRST_SHEET, _before_sheet_data(comment))
    assert refusal(data) == [
        f"the part '{FIRST_SHEET}' is packed more than 100 times tighter than a spreadsheet can be"
    ]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (b"<!-- a note -->", "a comment, declaration or instruction"),
        (b'<!DOCTYPE x [<!ENTITY a "aaaa">]>', "a comment, declaration or instruction"),
        (b"<?mso-application progid='Excel.Sheet'?>", "a comment, declaration or instruction"),
        (b'<sheetPr codeName="' + bytes(range(65, 91)) * 4000 + b'"/>', "more than 64 KB in one"),
    ],
)
def test_xml_no_spreadsheet_program_writes_is_refused_unread(text, why):
    data = _edit_part(workbook(COMMUNITY_SAFETY), FIRST_SHEET, _before_sheet_data(text))
    (problem,) = refusal(data)
    assert problem.startswith(f"the part '{FIRST_SHEET}' holds XML that spreadsheet programs")
    assert why in problem


def test_a_formula_hidden_behind_spaces_is_refused():
    sheets = with_rows("survey", survey_row("note", "link", label=' =HYPERLINK("http://x")'))
    problems = refusal(workbook(sheets, formulas=False))
    assert problems == [
        "sheet 'survey', row 11, column 'label::English (en)': a formula; type the value itself"
    ]


def test_two_sheets_whose_names_differ_only_in_capitals_or_spaces_are_refused():
    sheets = {**COMMUNITY_SAFETY, "SURVEY ": [SURVEY_HEADINGS, survey_row("note", "other")]}
    assert refusal(workbook(sheets)) == [
        "sheets 'survey' and 'SURVEY ' have the same name once capitals and spaces are "
        "ignored; rename or remove one"
    ]


def _formatted_down_to(last_row: int, *, rows: bool):
    """A sheet formatted down to `last_row`: Excel's dimension, and optionally an empty
    formatted row element for every row below the form."""

    def edit(content: bytes) -> bytes:
        content = re.sub(
            rb'<dimension ref="[^"]*"', f'<dimension ref="A1:E{last_row}"'.encode(), content
        )
        if rows:
            present = content.count(b"<row ")
            empty = b"".join(
                b'<row r="%d" s="1" customFormat="1"/>' % i
                for i in range(present + 1, last_row + 1)
            )
            content = content.replace(b"</sheetData>", empty + b"</sheetData>")
        return content

    return _edit_part(workbook(COMMUNITY_SAFETY), FIRST_SHEET, edit)


@pytest.mark.parametrize(
    ("last_row", "rows"), [(1_048_576, False), (20_000, True)], ids=["dimension", "rows"]
)
def test_a_form_formatted_far_below_its_rows_imports(last_row, rows):
    plain = import_xlsform(workbook(COMMUNITY_SAFETY))
    assert import_xlsform(_formatted_down_to(last_row, rows=rows)) == plain


@pytest.mark.slow
def test_a_form_formatted_down_to_the_last_row_of_excel_imports():
    data = _formatted_down_to(1_048_576, rows=True)
    assert len(data) < 5 * 1024 * 1024
    assert import_xlsform(data) == import_xlsform(workbook(COMMUNITY_SAFETY))


def test_option_groups_must_belong_to_a_select_one_question():
    book = load_workbook(io.BytesIO(export_xlsform(load_file(REAL))))
    book["option_groups"]["A2"] = "heard_where"  # a select_multiple
    output = io.BytesIO()
    book.save(output)
    assert refusal(output.getvalue()) == [
        "sheet 'option_groups', row 2, column 'question': must name a select_one question"
    ]
