"""The staff home page."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("")
def home():
    """Show what this member of staff can do."""
    return render_template("staff/home.html")
