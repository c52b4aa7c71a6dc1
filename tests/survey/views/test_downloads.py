"""Downloads an analyst's tools open cleanly: a tidy CSV (pandas reads it with no options),
CSV on the Web metadata beside it and in a zip with it, a formatted workbook, and one
vocabulary with `python -m analysis`."""

from __future__ import annotations

import io
import json
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from analysis.columns import COLUMNS
from survey.models import AuditEvent
from survey.services.exports import FORMATS
from tests.routes import staff_clients
from tests.staff import create_staff, sign_in

QUERY = "indicator=aware&by=borough&weighted=yes"


@pytest.fixture
def analyst(app, demo):
    clients, _ids = staff_clients(app, synthetic_responses=1500)
    return clients["analyst"]


def get(client, fmt: str, query: str = QUERY):
    response = client.get(f"/staff/analysis/download.{fmt}?{query}")
    assert response.status_code == 200, (fmt, response.status_code)
    return response


def test_pandas_reads_the_csv_with_no_options(analyst):
    frame = pd.read_csv(io.BytesIO(get(analyst, "csv").data))
    document = json.loads(get(analyst, "json").data)
    assert list(frame.columns) == list(document["rows"][0])
    assert frame.columns[0] == "borough"  # no byte-order mark left in the first name
    assert len(frame) == len(document["rows"])
    assert frame["estimate"].dtype == float
    assert frame["estimate"].dropna().between(0, 1).all()
    assert "Tower Hamlets" in set(frame["borough_label"])


def test_the_csvw_metadata_describes_every_column(analyst):
    response = get(analyst, "csvw")
    assert response.mimetype == "application/csvm+json"
    name = response.headers["Content-Disposition"].split('filename="')[1].rstrip('"')
    assert name.endswith(".csv-metadata.json")
    metadata = json.loads(response.data)
    assert metadata["url"] == name.removesuffix("-metadata.json")
    header = pd.read_csv(io.BytesIO(get(analyst, "csv").data)).columns.tolist()
    columns = metadata["tableSchema"]["columns"]
    assert [c["name"] for c in columns] == header
    for column in columns:
        assert column["titles"] and column["datatype"] in ("string", "integer", "double")
        assert len(column["dc:description"]) > 20, column
    assert "Not published by the platform" in next(
        c["dc:description"] for c in columns if c["name"] == "df"
    )
    assert metadata["dc:description"].startswith("These figures estimate")
    assert metadata["notes"][0]["body"]["questionnaire"] == "prevent-awareness"


def test_the_zip_holds_the_csv_and_its_metadata(analyst):
    archive = zipfile.ZipFile(io.BytesIO(get(analyst, "zip").data))
    names = sorted(archive.namelist())
    assert len(names) == 2 and names[1] == names[0] + "-metadata.json"
    assert json.loads(archive.read(names[1]))["url"] == names[0]
    assert archive.read(names[0]) == get(analyst, "csv").data


def test_the_workbook_is_ready_to_read(analyst):
    book = load_workbook(io.BytesIO(get(analyst, "xlsx").data))
    data = book["Data"]
    assert data.freeze_panes == "A2"
    assert data.auto_filter.ref == data.dimensions
    header = [cell.value for cell in data[1]]
    column = header.index("estimate") + 1
    estimate = next(
        data.cell(row=r, column=column)
        for r in range(2, data.max_row + 1)
        if data.cell(row=r, column=column).value is not None
    )
    assert isinstance(estimate.value, float) and 0 < estimate.value < 1  # a number
    assert estimate.value == round(estimate.value, 3)  # as published: to 0.1 point
    assert estimate.number_format == "0.0%"  # shown as a percentage
    assert data.column_dimensions["B"].width > 10
    notes = {row[0]: row[2] for row in book["Notes"].iter_rows(values_only=True)}
    assert notes["estimate"] == COLUMNS["estimate"].description + " Rounded to 3 decimal places."
    cover = [row[0] for row in book["Cover"].iter_rows(values_only=True)]
    assert cover[2] == "Methods" and cover[3].startswith("These figures estimate")


def test_the_workbook_is_laid_out_as_ons_spreadsheets_are(analyst):
    """Cover, contents, notes and data, in that order: one table per sheet, no merged
    cells, and the cover in words, not raw JSON."""
    book = load_workbook(io.BytesIO(get(analyst, "xlsx").data))
    assert book.sheetnames == ["Cover", "Contents", "Notes", "Data"]
    assert book.active.title == "Cover"
    contents = list(book["Contents"].iter_rows(values_only=True))
    assert [row[0] for row in contents[1:]] == book.sheetnames
    assert all(row[1] for row in contents)
    cover = [row[0] for row in book["Cover"].iter_rows(values_only=True)]
    assert cover[0].startswith("Has heard of Prevent") and book["Cover"]["A1"].font.b
    assert not any(text is None or text.lstrip()[:1] in "[{" for text in cover)
    assert not any('{"' in text or '["' in text or re.search(r"\[\d", text) for text in cover)
    assert "Interval method: Korn-Graubard" in " ".join(cover)
    assert any(text.startswith("Versions: ") and "[" not in text for text in cover)
    assert any(text.startswith("Raking margins: Borough: ") for text in cover)
    for sheet in book.worksheets:
        assert not sheet.merged_cells.ranges
        assert sheet.max_column == len(next(sheet.iter_rows(values_only=True)))


def test_every_format_is_offered_on_the_page(analyst):
    page = analyst.get(f"/staff/analysis?{QUERY}").get_data(as_text=True)
    for key, download_format in FORMATS.items():
        assert f"/staff/analysis/download.{key}?" in page
        assert download_format.label in page


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_format_is_named_and_typed(analyst, fmt):
    response = get(analyst, fmt)
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="prevent-aware-by-borough-')
    assert disposition.endswith(f'{FORMATS[fmt].suffix}"')
    assert response.headers["Content-Type"] == FORMATS[fmt].content_type  # sent as registered


def test_every_flag_says_why(analyst):
    query = "indicator=aware&by=borough&by2=sex&weighted=no"
    rows = json.loads(get(analyst, "json", query).data)["rows"]
    flagged = [r for r in rows if r["reliability"] != "ok" and r["disclosure"] == "published"]
    assert flagged, "the demo data has no flagged group to check"
    for row in flagged:
        assert row["reliability_reasons"], row


def test_four_analysts_downloading_at_once_all_get_their_files(app, demo, db_session):
    """SQLite is the default: a download reads for a while, then writes its audit line.
    Four analysts at once, 15 downloads each, every one answered and recorded."""
    staff_clients(app, synthetic_responses=1500)
    clients = []
    for number in range(4):
        create_staff(app, f"analyst-{number}@example.org", "analyst")
        client = app.test_client()
        assert sign_in(client, f"analyst-{number}@example.org").status_code == 303
        clients.append(client)
    before = db_session.scalar(select(func.count()).select_from(AuditEvent))
    queries = [
        f"/staff/analysis/download.{fmt}?indicator={indicator}&by={by}&weighted=yes"
        for fmt in ("csv", "json", "xlsx")
        for indicator, by in (("aware", "borough"), ("knows_help", "sex"))
    ]

    def download_15(client) -> list[int]:
        return [client.get(queries[i % len(queries)]).status_code for i in range(15)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = [s for found in pool.map(download_15, clients) for s in found]
    assert statuses.count(200) == 60, sorted(set(statuses))
    db_session.expire_all()
    after = db_session.scalar(select(func.count()).select_from(AuditEvent))
    assert after - before == 60  # every download recorded
