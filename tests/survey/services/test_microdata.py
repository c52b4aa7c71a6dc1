"""The admin-only microdata extract is k-anonymous and holds nothing identifying."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from survey.demo import load_synthetic_responses
from survey.extensions import db
from survey.models import Answer, AuditEvent, Link, QuestionnaireVersion, Response, TextAnswer
from survey.services import microdata
from survey.services.microdata import QUASI_IDENTIFIERS
from survey.services.questionnaires import latest_version, questionnaire_for
from tests.staff import create_staff, sign_in


@pytest.fixture
def admin(app, demo):
    with app.app_context():
        version = latest_version(db.session, "prevent-awareness")
        load_synthetic_responses(db.session, questionnaire_for(version), version.id, 400)
        db.session.commit()
    create_staff(app, "admin@example.org", "admin")
    client = app.test_client()
    sign_in(client, "admin@example.org")
    return client


def test_every_demographic_combination_is_shared_by_at_least_k_rows(admin, db_session):
    body = admin.get("/staff/admin/microdata.csv").data.decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    sizes: dict[tuple, int] = {}
    for row in rows:
        key = tuple(row[name] for name in QUASI_IDENTIFIERS)
        sizes[key] = sizes.get(key, 0) + 1
    assert min(sizes.values()) >= 5
    assert any("suppressed" in key for key in sizes)
    page = admin.get("/staff/admin/microdata").get_data(as_text=True)
    assert "Suppressed borough values" in page
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "download"))


def test_the_extract_has_no_ids_days_link_names_or_free_text(app, admin, resident, db_session):
    resident.complete({"anything_else": "My neighbour told me about it"})
    resident.submit()
    assert db_session.scalar(select(TextAnswer))
    body = admin.get("/staff/admin/microdata.csv").data.decode()
    header = next(csv.reader(io.StringIO(body)))
    assert "anything_else" not in header and "id" not in header
    assert "neighbour" not in body
    assert {"submitted_month", "channel", "heard_of_prevent"} <= set(header)
    month = next(csv.DictReader(io.StringIO(body)))["submitted_month"]
    assert len(month) == 7  # YYYY-MM, no day


def test_the_codebook_explains_every_column(admin):
    extract = admin.get("/staff/admin/microdata.csv").data.decode()
    codebook = admin.get("/staff/admin/codebook.csv").data.decode()
    columns = next(csv.reader(io.StringIO(extract)))
    described = {row["column"] for row in csv.DictReader(io.StringIO(codebook))}
    assert set(columns) <= described


def test_analysts_cannot_download_microdata(app, admin):
    create_staff(app, "analyst@example.org", "analyst")
    client = app.test_client()
    sign_in(client, "analyst@example.org")
    assert client.get("/staff/admin/microdata.csv").status_code == 403


def _expected_rows(session, questionnaire) -> list[tuple]:
    """The extract without disclosure control, built the plain way from the tables."""
    columns = microdata.plan(session, questionnaire, k=1).columns
    multiple = {q.id for q in questionnaire.questions if q.type == "multiple_choice"}
    dimension_of = {
        q.id: q.dimension for q in questionnaire.questions if q.dimension in QUASI_IDENTIFIERS
    }
    rows = {}
    for response in session.scalars(select(Response)):
        row = dict.fromkeys(columns, "")
        row["questionnaire_version"] = str(
            session.get(QuestionnaireVersion, response.questionnaire_version_id).version
        )
        row["submitted_month"] = f"{response.submitted_on:%Y-%m}"
        row["channel"] = session.get(Link, response.link_id).channel
        rows[response.id] = row
    for answer in session.scalars(select(Answer)):
        row = rows[answer.response_id]
        if answer.question_id in multiple:
            for column in columns:
                if column.startswith(f"{answer.question_id}__") and not row[column]:
                    row[column] = "0"
            row[f"{answer.question_id}__{answer.value}"] = "1"
        else:
            row[dimension_of.get(answer.question_id, answer.question_id)] = answer.value
    return sorted(tuple(row.values()) for row in rows.values())


@pytest.mark.parametrize("remembered", [100_000, 0], ids=["answers remembered", "none"])
def test_the_streamed_extract_holds_every_answer_of_every_response(
    app, admin, monkeypatch, remembered
):
    monkeypatch.setattr(microdata._Cells, "LIMIT", remembered)
    with app.app_context():
        questionnaire = questionnaire_for(latest_version(db.session, "prevent-awareness"))
        plan = microdata.plan(db.session, questionnaire, k=1)
        body = b"".join(microdata.stream_csv(db.session, questionnaire, plan)).decode()
        streamed = sorted(tuple(row) for row in list(csv.reader(io.StringIO(body)))[1:])
        assert plan.rows == 400
        assert streamed == _expected_rows(db.session, questionnaire)


def test_a_response_sent_after_the_plan_is_left_out_of_that_extract(app, admin, resident):
    with app.app_context():
        questionnaire = questionnaire_for(latest_version(db.session, "prevent-awareness"))
        plan = microdata.plan(db.session, questionnaire, k=5)
    resident.complete()
    resident.submit()
    with app.app_context():
        body = b"".join(microdata.stream_csv(db.session, questionnaire, plan)).decode()
        assert len(list(csv.reader(io.StringIO(body)))) == plan.rows + 1
        assert len(microdata.plan(db.session, questionnaire, k=5).kept) == len(plan.kept) + 1


def test_matching_rows_a_slice_at_a_time_suppresses_the_same_values(app, admin, monkeypatch):
    with app.app_context():
        questionnaire = questionnaire_for(latest_version(db.session, "prevent-awareness"))
        whole = microdata.plan(db.session, questionnaire, k=5)
        monkeypatch.setattr(microdata, "SLICE", 7)  # 400 rows: many slices, a short last one
        sliced = microdata.plan(db.session, questionnaire, k=5)
    assert whole.suppressed == sliced.suppressed and sum(whole.suppressed.values())
    assert (whole.codes == sliced.codes).all() and (whole.kept == sliced.kept).all()
