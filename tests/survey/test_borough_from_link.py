"""Responses stored when a link recorded its own borough for every resident: their
borough is where the link was used, not where they live. Reports leave them out of
borough breakdowns and weighting by default and say how many; coverage and the microdata
extract do not count their borough either."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select, update

from survey.demo import load_synthetic_responses
from survey.extensions import db
from survey.models import Answer, Response
from survey.publication import gate_for
from survey.services import coverage as coverage_service
from survey.services import exports
from survey.services.periods import parse_period
from survey.services.population import current_figures
from survey.services.questionnaires import latest_version, questionnaire_for
from survey.services.reporting import ReportRequest, build_report
from tests.counts import could_publish
from tests.resident import page
from tests.staff import signed_in_client

FROM_LINK = 40


@pytest.fixture
def stored(app, demo, db_session):
    """600 responses, 40 of them stored with their link's borough."""
    with app.app_context():
        version = latest_version(db.session, "prevent-awareness")
        load_synthetic_responses(db.session, questionnaire_for(version), version.id, 600, seed=3)
        db.session.commit()
    chosen = list(db_session.scalars(select(Response.id).order_by(Response.id).limit(FROM_LINK)))
    db_session.execute(
        update(Response).where(Response.id.in_(chosen)).values(borough_from_link=True)
    )
    db_session.commit()
    return app


def _report(app, **choices):
    with app.app_context():
        questionnaire = questionnaire_for(latest_version(db.session, "prevent-awareness"))
        return build_report(
            db.session,
            questionnaire,
            ReportRequest(indicator="aware", **choices),
            figures=current_figures(db.session),
            gate=gate_for({"SUPPRESSION_THRESHOLD": 10}),
        )


def _outside_london(db_session, *, flagged_too: bool) -> int:
    query = (
        select(func.count())
        .select_from(Answer)
        .join(Response, Response.id == Answer.response_id)
        .where(Answer.question_id == "borough", Answer.value == "outside_london")
    )
    if not flagged_too:
        query = query.where(Response.borough_from_link.is_(False))
    return db_session.scalar(query)


@pytest.mark.parametrize(
    ("choices", "left_out"),
    [
        ({"by": ("borough",), "weighted": False}, FROM_LINK),
        ({"by": ("sex",), "weighted": True}, FROM_LINK),
        ({"by": ("borough",), "weighted": True}, FROM_LINK),
        ({"by": ("sex",), "weighted": False}, 0),
        ({"by": ("borough",), "weighted": True, "link_boroughs": True}, 0),
    ],
)
def test_reports_leave_them_out_of_borough_breakdowns_and_weighting_by_default(
    stored, db_session, choices, left_out
):
    report = _report(stored, **choices)
    # Published through the gate: 40 perturbed; none is "fewer than 10".
    if left_out:
        assert report.borough_from_link.value in could_publish(left_out)
    else:
        assert report.borough_from_link.value is None
    total = db_session.scalar(select(func.count()).select_from(Response))
    outside = _outside_london(db_session, flagged_too=not left_out)
    assert report.summary.n_total + outside + left_out == total


def test_the_methods_note_and_metadata_say_how_many_were_left_out(stored):
    report = _report(stored, by=("borough",), weighted=True)
    note = exports.methods_note(report)
    assert "links that recorded the link's borough" in note
    shown = report.borough_from_link.value
    assert shown in could_publish(FROM_LINK)
    assert f"before every resident was asked ({shown}), are left out" in note
    meta = exports.metadata(report)
    assert meta["borough_from_link_left_out"] == shown
    assert meta["borough_from_link_included"] is False
    included = _report(stored, by=("borough",), weighted=True, link_boroughs=True)
    assert "are included, counted in the link's borough" in exports.methods_note(included)


def test_the_analyst_can_include_them_from_the_page(stored):
    analyst = signed_in_client(stored, "analyst")
    default = page(analyst.get("/staff/analysis?indicator=aware&by=borough"))
    assert not default.select_one("input[name=link_boroughs]").has_attr("checked")
    said = re.search(
        r"(\d+) responses are left out because their link recorded its own borough",
        default.get_text(" ", strip=True),
    )
    assert said and int(said.group(1)) in could_publish(FROM_LINK)
    included = page(analyst.get("/staff/analysis?indicator=aware&by=borough&link_boroughs=yes"))
    assert included.select_one("input[name=link_boroughs]").has_attr("checked")
    assert "are left out because their link" not in included.get_text(" ", strip=True)


def test_coverage_does_not_count_them_in_any_borough(stored, db_session):
    with stored.app_context():
        questionnaire = questionnaire_for(latest_version(db.session, "prevent-awareness"))
        tables = coverage_service.coverage(
            db.session,
            questionnaire,
            parse_period("all"),
            current_figures(db.session),
            gate_for({"SUPPRESSION_THRESHOLD": 10}),
        )
    borough = next(t for t in tables if t.dimension == "borough")
    sex = next(t for t in tables if t.dimension == "sex")
    total = db_session.scalar(select(func.count()).select_from(Response))
    # The same residents publish as the same number here as in the analysis.
    report = _report(stored, by=("borough",), weighted=True)
    assert borough.left_out.value == report.borough_from_link.value
    assert borough.left_out.value in could_publish(FROM_LINK)
    assert borough.total.value in could_publish(total - FROM_LINK)
    assert sex.left_out is None


def test_the_microdata_extract_leaves_their_borough_blank(stored, db_session):
    db_session.execute(update(Response).values(borough_from_link=True))
    db_session.commit()
    admin = signed_in_client(stored, "admin")
    rows = list(
        csv.DictReader(
            io.StringIO(admin.get("/staff/admin/microdata.csv").data.decode("utf-8-sig"))
        )
    )
    assert rows and {row["borough"] for row in rows} <= {"", "suppressed"}
    codebook = admin.get("/staff/admin/codebook.csv").data.decode("utf-8-sig")
    assert "recorded the borough where it was used instead of asking" in codebook
