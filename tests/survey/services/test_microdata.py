"""The admin-only microdata extract is k-anonymous on everything that could be known about
a person, keeps borough where it can, and holds nothing identifying."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from survey.demo import load_synthetic_responses
from survey.extensions import db
from survey.models import Answer, AuditEvent, Link, Response, TextAnswer
from survey.services import microdata
from survey.services.questionnaires import latest_version, questionnaire_for
from tests.staff import create_staff, sign_in

# Everything in the extract someone could know about a person.
KNOWABLE = (
    "borough",
    "age_band",
    "sex",
    "ethnic_group",
    "religion",
    "disability",
    "language",
    "submitted_quarter",
    "channel",
    "questionnaire_version",
)


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


def extract(client, query: str = "") -> list[dict]:
    body = client.get(f"/staff/admin/microdata.csv{query}").data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.parametrize("query", ["", "?channel=yes&version=yes"])
def test_every_combination_of_what_could_be_known_is_shared_by_at_least_k_rows(
    admin, db_session, query
):
    rows = extract(admin, query)
    known = [c for c in KNOWABLE if c in rows[0]]
    assert {"submitted_quarter", "language", "borough"} <= set(known)
    assert ("channel" in known) == ("channel" in query)
    assert min(matching(rows, known)) >= 5
    assert any(row[name] == "suppressed" for row in rows for name in known)
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "download"))


def matching(rows: list[dict], known: list[str]) -> list[int]:
    """How many rows each row matches on everything someone could know, itself included: a
    suppressed value could be anything, so it matches anything (sdcMicro's count)."""
    codes = np.array([[hash(row[name]) for name in known] for row in rows], dtype=np.int64)
    hidden = np.array([[row[name] == "suppressed" for name in known] for row in rows])
    return [
        int(np.all((codes == codes[at]) | hidden | hidden[at], axis=1).sum())
        for at in range(len(rows))
    ]


def test_on_the_demo_data_every_row_matches_5_and_no_variable_loses_half(app, runner, admin_only):
    assert runner.invoke(args=["demo"]).exit_code == 0  # the 3,000 responses of `make run`
    rows = extract(admin_only)
    assert len(rows) == 3000  # nobody left out
    known = [name for name in KNOWABLE if name in rows[0]]
    assert min(matching(rows, known)) >= 5  # no row matches fewer than 5: none unique
    lost = {name: sum(row[name] == "suppressed" for row in rows) / len(rows) for name in known}
    assert lost["borough"] <= 0.05
    assert max(lost.values()) < 0.5, lost  # every variable keeps most of its values
    least_useful = ("disability", "religion")  # language: everyone answered in English
    assert all(lost[name] >= lost["borough"] for name in least_useful), lost
    page = admin_only.get("/staff/admin/microdata").get_data(as_text=True)
    for name in ("Ethnic group", "Sex", "Age band"):  # the loss, per variable, in words
        assert f"{lost[name.lower().replace(' ', '_')]:.1%}" in page


@pytest.fixture
def admin_only(app):
    create_staff(app, "admin@example.org", "admin")
    client = app.test_client()
    sign_in(client, "admin@example.org")
    return client


def test_global_recoding_comes_first(admin):
    rows = extract(admin)
    assert {row["ethnic_group"] for row in rows} <= {
        "asian",
        "black",
        "mixed",
        "white",
        "other",
        "prefer_not_to_say",
        "suppressed",
        "",
    }
    assert all(
        row["submitted_quarter"][4:6] == "-Q" or row["submitted_quarter"] == "suppressed"
        for row in rows
    )
    assert "submitted_month" not in rows[0] and "weight" not in " ".join(rows[0])


def test_rare_religions_are_grouped_as_other(app, admin, db_session):
    for answer in db_session.scalars(
        select(Answer).where(Answer.question_id == "religion", Answer.value == "sikh")
    ):
        db_session.delete(answer)
    db_session.commit()
    one = db_session.scalar(select(Answer).where(Answer.question_id == "religion"))
    one.value = "sikh"
    db_session.commit()
    rows = extract(admin)
    assert "sikh" not in {row["religion"] for row in rows}
    codebook = admin.get("/staff/admin/codebook.csv").data.decode("utf-8-sig")
    assert "religions held by fewer than 2% of responses shown as other_religion: sikh" in codebook


def test_synthetic_rows_are_marked(admin):
    assert {row["synthetic"] for row in extract(admin)} == {"yes"}


def test_the_extract_has_no_ids_days_link_names_or_free_text(app, admin, resident, db_session):
    resident.complete({"anything_else": "My neighbour told me about it"})
    resident.submit()
    assert db_session.scalar(select(TextAnswer))
    body = admin.get("/staff/admin/microdata.csv").data.decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(body)))
    assert "anything_else" not in header and "id" not in header
    assert "neighbour" not in body
    assert {"submitted_quarter", "language", "heard_of_prevent"} <= set(header)
    assert "channel" not in header and "questionnaire_version" not in header


def test_the_codebook_explains_every_column_and_the_information_lost(admin):
    for query in ("", "?channel=yes&version=yes"):
        columns = list(extract(admin, query)[0])
        codebook = admin.get(f"/staff/admin/codebook.csv{query}").data.decode("utf-8-sig")
        described = {row["column"] for row in csv.DictReader(io.StringIO(codebook))}
        assert set(columns) <= described
        assert "information loss:" in codebook and "No survey weight is given" in codebook
    page = admin.get("/staff/admin/microdata").get_data(as_text=True)
    assert "Information lost" in page and "Borough" in page


def test_an_admin_can_leave_variables_out_and_the_extract_and_codebook_follow(
    runner, admin_only, db_session
):
    assert runner.invoke(args=["demo"]).exit_code == 0  # the 3,000 responses of `make run`
    admin = admin_only
    everything = extract(admin)
    choice = "?leave_out=religion&leave_out=disability&leave_out=no_such_variable"
    fewer = extract(admin, choice)
    assert set(everything[0]) - set(fewer[0]) == {"religion", "disability"}
    assert len(fewer) == len(everything)
    known = [name for name in KNOWABLE if name in fewer[0]]
    assert min(matching(fewer, known)) >= 5  # still k-anonymous on what is left
    codebook = admin.get(f"/staff/admin/codebook.csv{choice}").data.decode("utf-8-sig")
    described = {row["column"] for row in csv.DictReader(io.StringIO(codebook))}
    assert set(fewer[0]) <= described and not {"religion", "disability"} & described
    page = BeautifulSoup(admin.get(f"/staff/admin/microdata{choice}").data, "html.parser")
    left = [
        row.th.get_text(strip=True) for row in page.select("tbody tr") if "Left out" in row.text
    ]
    assert left == ["Religion", "Disability"]
    # Every download link on the page makes the extract the page describes.
    link = page.select_one('a[href*="microdata.csv"]')
    assert "leave_out=disability" in link["href"] and "leave_out=religion" in link["href"]
    assert extract(admin, "?" + link["href"].split("?", 1)[1])[0].keys() == fewer[0].keys()
    details = db_session.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "download")
    ).all()
    assert any(d.endswith("without disability and religion") for d in details), details


def test_leaving_out_age_lets_sex_keep_more_of_its_values(runner, admin_only):
    """Values are given back most important first, so a variable left out frees those
    that come after it: without age band, sex is the next in line."""
    assert runner.invoke(args=["demo"]).exit_code == 0
    rows = {query: extract(admin_only, query) for query in ("", "?leave_out=age_band")}
    lost = {q: sum(r["sex"] == "suppressed" for r in found) for q, found in rows.items()}
    assert "age_band" not in rows["?leave_out=age_band"][0]
    assert lost["?leave_out=age_band"] < lost[""], lost


def test_analysts_cannot_download_microdata(app, admin):
    create_staff(app, "analyst@example.org", "analyst")
    client = app.test_client()
    sign_in(client, "analyst@example.org")
    assert client.get("/staff/admin/microdata.csv").status_code == 403


def _expected_rows(session, questionnaire, plan) -> list[tuple]:
    """The extract with k = 1, built the plain way from the tables and the documented
    recodes (quarter, five ethnic groups, religion as given: none is rare here)."""
    multiple = {q.id: q.codes() for q in questionnaire.questions if q.type == "multiple_choice"}
    groups = {
        o.value: o.group or o.value for o in questionnaire.dimension_question("ethnicity").options
    }
    names = {
        "borough": "borough",
        "age_band": "age_band",
        "sex": "sex",
        "ethnicity": "ethnic_group",
        "religion": "religion",
        "disability": "disability",
    }
    rows = {}
    for response in session.scalars(select(Response)):
        row = dict.fromkeys(plan.columns, "")
        day = response.submitted_on
        row["submitted_quarter"] = f"{day.year}-Q{(day.month - 1) // 3 + 1}"
        row["language"] = response.language
        row["synthetic"] = "yes" if session.get(Link, response.link_id).synthetic else "no"
        rows[response.id] = row
    for answer in session.scalars(select(Answer)):
        row = rows[answer.response_id]
        if answer.question_id in multiple:
            for code in multiple[answer.question_id].values():
                if not row[f"{answer.question_id}_{code}"]:
                    row[f"{answer.question_id}_{code}"] = "0"
            row[f"{answer.question_id}_{multiple[answer.question_id][answer.value]}"] = "1"
        elif answer.question_id == "ethnicity":
            row["ethnic_group"] = groups[answer.value]
        else:
            row[names.get(answer.question_id, answer.question_id)] = answer.value
    return sorted(tuple(row.values()) for row in rows.values())


@pytest.mark.parametrize("remembered", [100_000, 0], ids=["answers remembered", "none"])
def test_the_streamed_extract_holds_every_answer_of_every_response(
    app, admin, monkeypatch, remembered
):
    monkeypatch.setattr(microdata._Cells, "LIMIT", remembered)
    monkeypatch.setattr(microdata, "RARE_SHARE", 0)  # no religion grouped, to compare plainly
    with app.app_context():
        questionnaire = questionnaire_for(latest_version(db.session, "prevent-awareness"))
        plan = microdata.plan(db.session, questionnaire, k=1)
        body = b"".join(microdata.stream_csv(db.session, questionnaire, plan)).decode("utf-8-sig")
        streamed = sorted(tuple(row) for row in list(csv.reader(io.StringIO(body)))[1:])
        assert plan.rows == 400
        assert streamed == _expected_rows(db.session, questionnaire, plan)


def test_a_response_sent_after_the_plan_is_left_out_of_that_extract(app, admin, resident):
    with app.app_context():
        questionnaire = questionnaire_for(latest_version(db.session, "prevent-awareness"))
        plan = microdata.plan(db.session, questionnaire, k=5)
    resident.complete()
    resident.submit()
    with app.app_context():
        body = b"".join(microdata.stream_csv(db.session, questionnaire, plan)).decode("utf-8-sig")
        assert len(list(csv.reader(io.StringIO(body)))) == plan.rows + 1
        assert len(microdata.plan(db.session, questionnaire, k=5).kept) == len(plan.kept) + 1
