"""Pages anyone may read."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session

from survey.extensions import db
from survey.services import drafts as draft_service
from survey.services.links import CODE_PATTERN
from survey.views.access import STAFF_KEY

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


@bp.get("/leave")
def leave():
    """ "Exit this page": delete the resident's answers and session, then go somewhere
    nobody nearby would notice. A plain link (it must work without JavaScript), so a GET;
    it only ever removes what the browser itself holds."""
    from survey.views.respond import DRAFT_KEY

    draft_service.discard_draft(db.session, session.get(DRAFT_KEY))
    db.session.commit()
    # A member of staff stays signed in: a link on another site must not sign them out,
    # and a copy of their cookie is ended only by signing out, on the server.
    staff = session.get(STAFF_KEY)
    session.clear()
    if staff:
        session[STAFF_KEY] = staff
    response = redirect(current_app.config["EXIT_URL"], 303)
    # Also empty this site's cache in the browser (and, in Chromium, its back-forward cache).
    response.headers["Clear-Site-Data"] = '"cache"'
    return response
