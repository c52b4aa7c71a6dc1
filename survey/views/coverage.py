"""Coverage: where the survey is reaching people, and where the gaps are."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from survey import clock
from survey.extensions import db
from survey.publication import gate_for
from survey.services import coverage as coverage_service
from survey.services.periods import PeriodError, parse_period, period_choices
from survey.services.population import current_figures
from survey.services.questionnaires import latest_version, questionnaire_for

bp = Blueprint("coverage", __name__, url_prefix="/staff/coverage")


@bp.get("")
def view():
    """Show responses by borough, age, sex and ethnic group against the population."""
    today = clock.today()
    chosen = request.args.get("period", "all")
    try:
        period = parse_period(chosen)
    except PeriodError:
        chosen, period = "all", parse_period("all")
    version = latest_version(db.session, current_app.config["QUESTIONNAIRE_ID"])
    figures = current_figures(db.session)
    gate = gate_for(current_app.config)
    tables = []
    if version is not None:
        tables = coverage_service.coverage(
            db.session, questionnaire_for(version), period, figures, gate
        )
    return render_template(
        "coverage/view.html",
        tables=tables,
        period=period,
        chosen=chosen,
        choices=period_choices(today),
        figures=figures,
        gaps=coverage_service.most_under_represented(tables),
        threshold=gate.threshold,
    )
