"""Downloads are safe to open: formula triggers neutralised in every string cell, numbers
numeric; and no download ever publishes a small count, whatever the data."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import delete

from analysis.perturbation import true_counts_for
from survey.demo import load_synthetic_responses
from survey.extensions import db
from survey.models import Answer, Link, Response
from survey.services.exports import FORMULA_TRIGGERS
from survey.services.questionnaires import latest_version, load_questionnaire, questionnaire_for
from tests.conftest import PROJECT
from tests.counts import INDICATORS, true_counts
from tests.properties import examples
from tests.staff import create_staff, sign_in


def hostile_questionnaire(formulas: list[str]) -> str:
    """The real questionnaire as a new version, with formula strings as religion labels."""
    data = yaml.safe_load((PROJECT / "questionnaires" / "prevent-awareness.yaml").read_text())
    data["version"] += 1
    religion = next(q for q in data["questions"] if q["id"] == "religion")
    for option, formula in zip(religion["options"][:-1], formulas, strict=False):
        option["label"] = {"en": formula}
    data["indicators"][0]["label"] = {"en": formulas[-1]}
    return yaml.safe_dump(data, allow_unicode=True)


def test_formula_corpus_is_neutralised_in_every_string_cell(app, demo, bad_inputs):
    formulas = [f for f in bad_inputs["spreadsheet_formula_injection"] if f.strip()]
    with app.app_context():
        load_questionnaire(db.session, hostile_questionnaire(formulas), filename="hostile.yaml")
        version = latest_version(db.session, "prevent-awareness")
        assert version.version == 5  # the file's version 4, then this one
        load_synthetic_responses(db.session, questionnaire_for(version), version.id, 800)
        db.session.commit()
    create_staff(app, "analyst@example.org", "analyst")
    client = app.test_client()
    sign_in(client, "analyst@example.org")
    query = "indicator=aware&by=religion&weighted=no"
    body = client.get(f"/staff/analysis/download.csv?{query}").data.decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(body)) for cell in row]
    labels_seen = [c for c in cells if c.lstrip("'") in [f.strip() for f in formulas]]
    assert len(labels_seen) >= 5
    for cell in cells:
        assert not cell.startswith(FORMULA_TRIGGERS) or _is_number(cell), repr(cell)
    book = load_workbook(io.BytesIO(client.get(f"/staff/analysis/download.xlsx?{query}").data))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s"
                    assert not cell.value.startswith(FORMULA_TRIGGERS), repr(cell.value)
                elif cell.value is not None:
                    assert cell.data_type == "n"
    page = client.get(f"/staff/analysis?{query}").get_data(as_text=True)
    assert "=HYPERLINK" in page  # shown as text on the page, escaped by the template


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.fixture
def analyst(app, demo):
    create_staff(app, "analyst@example.org", "analyst")
    client = app.test_client()
    sign_in(client, "analyst@example.org")
    return client


BREAKDOWNS = ["borough", "age_band", "sex", "ethnic_group", "religion", "disability"]


@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    size=st.integers(min_value=20, max_value=500),
    first=st.sampled_from(BREAKDOWNS),
    second=st.sampled_from(["", *BREAKDOWNS]),
    weighted=st.booleans(),
    indicator=st.sampled_from(list(INDICATORS)),
)
def test_no_download_publishes_a_small_or_recoverable_count(
    app, analyst, db_session, seed, size, first, second, weighted, indicator
):
    with app.app_context():
        db.session.execute(delete(Answer))
        db.session.execute(delete(Response))
        db.session.execute(delete(Link).where(Link.synthetic.is_(True)))
        version = latest_version(db.session, "prevent-awareness")
        load_synthetic_responses(
            db.session, questionnaire_for(version), version.id, size, seed=seed
        )
        db.session.commit()
    query = (
        f"indicator={indicator}&by={first}&by2={second if second != first else ''}"
        f"&weighted={'yes' if weighted else 'no'}"
    )
    response = analyst.get(f"/staff/analysis/download.json?{query}")
    # A 400 is a table the engine cannot make (the weighting fails on a tiny sample):
    # nothing is published, so there is nothing to check.
    assume(response.status_code == 200)
    rows = json.loads(response.data)["rows"]
    body = analyst.get(f"/staff/analysis/download.csv?{query}").data.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(body)))
    header, csv_rows = table[0], table[1:]
    n_column = header.index("n")
    book = load_workbook(io.BytesIO(analyst.get(f"/staff/analysis/download.xlsx?{query}").data))
    sheet = list(book["Data"].iter_rows(values_only=True))[1:]
    assert len(csv_rows) == len(rows) == len(sheet)
    for row, line, cells in zip(rows, csv_rows, sheet, strict=True):
        assert (row["n"] is None) == (line[n_column] == "") == (cells[n_column] is None)
        if row["n"] is not None:
            assert row["n"] >= 10
        # A share gives back only published counts: unweighted, it is the published
        # positive answers over the published group; weighted, no count of people is out.
        assert row["df"] is None
        if weighted:
            assert row["numerator"] is None
        elif row["estimate"] is not None:
            assert row["estimate"] == pytest.approx(row["numerator"] / row["n"], abs=6e-4)
    by_codes = [name for name in rows[0] if f"{name}_label" in rows[0]]
    not_stated = ("prefer_not_to_say",) if len(by_codes) == 2 else ()
    truth = true_counts(db_session, by_codes, indicator, leave_out=not_stated)
    _check_not_recoverable(rows, by_codes, truth)


def _check_not_recoverable(rows, code_columns, truth):
    """In every line of the table (parts and their total) whose total is shown, the
    intruder's bounds on what the hidden parts hold together, from the published counts
    and the public perturbation table, never pin a count of 1 to 9."""

    def code(row):
        return tuple(row[c] for c in code_columns)

    def bounds(row):
        counts = true_counts_for(row["n"])
        return min(counts), max(counts)

    if len(code_columns) == 1:
        lines = [rows]
    else:
        first, second = code_columns
        lines = [[r for r in rows if r[first] == a] for a in {r[first] for r in rows}]
        lines += [[r for r in rows if r[second] == b] for b in {r[second] for r in rows}]
    for line in lines:
        # The line's total is its margin: the row with the most "All" in it.
        total = max(line, key=lambda r: code(r).count("All"))
        parts = [r for r in line if r is not total]
        hidden = [r for r in parts if r["n"] is None]
        if total["n"] is None or not hidden:
            continue
        low, high = bounds(total)
        for part in parts:
            if part["n"] is not None:
                part_low, part_high = bounds(part)
                low, high = low - part_high, high - part_low
        # The bounds are sound (the published counts follow the public table) ...
        assert low <= sum(truth.get(code(r), 0) for r in hidden) <= high
        # ... and never narrow to one small count.
        assert not (max(low, 0) == high and 1 <= high <= 9), ([code(r) for r in hidden], high)
