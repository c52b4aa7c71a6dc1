"""Pages anyone may read."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from survey.services.links import CODE_PATTERN

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    """Explain the service to someone who arrives without a survey link."""
    return render_template("pages/home.html")


@bp.get("/privacy")
def privacy():
    """Say what the survey stores, what it never stores, and what each member of staff sees."""
    code = request.args.get("survey", "").lower()
    survey_code = code if CODE_PATTERN.match(code) else None
    return render_template("pages/privacy.html", survey_code=survey_code)


@bp.get("/accessibility")
def accessibility():
    """The accessibility statement: how accessible the service is and how it was tested."""
    return render_template("pages/accessibility.html")
