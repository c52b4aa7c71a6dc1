"""Pages and notes that state a setting read it, so changing the setting changes the words."""

from __future__ import annotations

import dataclasses

from survey.demo import load_synthetic_responses
from survey.extensions import db
from survey.publication import gate_for
from survey.services import exports
from survey.services.population import current_figures
from survey.services.questionnaires import latest_version, questionnaire_for
from survey.services.reporting import ReportRequest, build_report
from tests.resident import page
from tests.staff import signed_in_client


def text(response) -> str:
    return page(response).get_text(" ", strip=True)


def test_resident_pages_state_the_threshold_and_draft_lifetime_as_set(app, make_app, demo):
    changed = make_app(SUPPRESSION_THRESHOLD=15, DRAFT_TTL=36 * 60 * 60)
    client = changed.test_client()
    english = text(client.get("/s/demo"))
    assert "groups of at least 15 people" in english
    assert "finish within 36 hours" in english
    polish = text(client.get("/s/demo?lang=pl"))
    assert "co najmniej 15 osób" in polish and "w ciągu 36 godzin" in polish
    assert "come back within 36 hours" in text(client.get("/accessibility"))


def test_one_hour_reads_as_one_hour_in_every_language(app, make_app, demo):
    client = make_app(DRAFT_TTL=3600).test_client()
    assert "finish within 1 hour." in text(client.get("/s/demo"))
    assert "w ciągu 1 godziny" in text(client.get("/s/demo?lang=pl"))


def test_the_links_page_states_the_threshold_as_set(app, make_app):
    changed = make_app(SUPPRESSION_THRESHOLD=15)
    officer = signed_in_client(changed, "officer")
    assert "once there are at least 15" in text(officer.get("/staff/links"))


def test_report_notes_state_the_threshold_and_the_adjustment_used(app, demo):
    with app.app_context():
        version = latest_version(db.session, "prevent-awareness")
        questionnaire = questionnaire_for(version)
        load_synthetic_responses(db.session, questionnaire, version.id, 300, seed=5)
        db.session.commit()
        report = build_report(
            db.session,
            questionnaire,
            ReportRequest(indicator="aware", by=("borough",), weighted=False),
            figures=current_figures(db.session),
            gate=gate_for({"SUPPRESSION_THRESHOLD": 15}),
        )
    notes = {row.note for row in exports.report_rows(report)}
    assert any(note.startswith("[c] Fewer than 15 responses") for note in notes)
    assert "fewer than 15 responses" in exports.methods_note(report)
    assert "Holm's method across" in exports.methods_note(report)
    other = dataclasses.replace(
        report, summary=dataclasses.replace(report.summary, adjust="benjamini_hochberg")
    )
    assert "the Benjamini-Hochberg method across" in exports.methods_note(other)
