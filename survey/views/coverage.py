"""Coverage: where the survey is reaching people, and where the gaps are."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from survey import clock
from survey.extensions import db
from survey.geography import BOROUGH_NAMES
from survey.publication import gate_for
from survey.services import coverage as coverage_service
from survey.services import gaps as gap_service
from survey.services.periods import PeriodError, parse_period, period_choices
from survey.services.population import current_figures
from survey.services.questionnaires import latest_version, questionnaire_for
from survey.services.responses import first_response_date

bp = Blueprint("coverage", __name__, url_prefix="/staff/coverage")


def _period():
    chosen = request.args.get("period", "all")
    try:
        return chosen, parse_period(chosen)
    except PeriodError:
        return "all", parse_period("all")


@bp.get("")
def view():
    """Responses by borough, age, sex and ethnic group against the population, and what
    to do next: the groups furthest below their share, and how many more would do."""
    chosen, period = _period()
    version = latest_version(db.session, current_app.config["QUESTIONNAIRE_ID"])
    figures = current_figures(db.session)
    gate = gate_for(current_app.config)
    tables, steps, synthetic = [], [], None
    if version is not None:
        questionnaire = questionnaire_for(version)
        tables = coverage_service.coverage(db.session, questionnaire, period, figures, gate)
        steps = gap_service.next_steps(db.session, questionnaire, period, figures, gate)
        synthetic = coverage_service.synthetic_responses(db.session, questionnaire, period, gate)
    return render_template(
        "coverage/view.html",
        tables=tables,
        period=period,
        chosen=chosen,
        choices=period_choices(clock.today(), first_response_date(db.session)),
        figures=figures,
        steps=steps,
        tolerance=gap_service.TOLERANCE,
        synthetic=synthetic,
        threshold=gate.threshold,
    )


@bp.get("/borough/<code>")
def borough(code: str):
    """One borough's residents by age band, sex and ethnic group against its people."""
    if code not in BOROUGH_NAMES:
        abort(404)
    chosen, period = _period()
    version = latest_version(db.session, current_app.config["QUESTIONNAIRE_ID"])
    figures = current_figures(db.session)
    gate = gate_for(current_app.config)
    tables, synthetic = [], None
    if version is not None:
        questionnaire = questionnaire_for(version)
        tables = coverage_service.borough_coverage(
            db.session, questionnaire, code, period, figures, gate
        )
        synthetic = coverage_service.synthetic_responses(db.session, questionnaire, period, gate)
    return render_template(
        "coverage/borough.html",
        name=BOROUGH_NAMES[code],
        code=code,
        tables=tables,
        period=period,
        chosen=chosen,
        choices=period_choices(clock.today(), first_response_date(db.session)),
        figures=figures,
        within=any(t.rows and any(r.population_share for r in t.rows) for t in tables),
        synthetic=synthetic,
        threshold=gate.threshold,
    )
