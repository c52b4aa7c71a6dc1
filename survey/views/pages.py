"""Pages anyone may read."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    """Explain the service to someone who arrives without a survey link."""
    return render_template("pages/home.html")


@bp.get("/privacy")
def privacy():
    """Say what the survey stores and what it never stores."""
    return render_template("pages/privacy.html")


@bp.get("/accessibility")
def accessibility():
    """The accessibility statement: how accessible the service is and how it was tested."""
    return render_template("pages/accessibility.html")
