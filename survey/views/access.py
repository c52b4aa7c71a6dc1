"""Deny by default: every endpoint is public, or names the staff roles that may use it.

An endpoint missing from both lists is refused to everyone, and a test fails until it is
added (tests/survey/views/test_access.py walks app.url_map).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, request, session, url_for

from survey.extensions import db
from survey.services import staff as staff_service

STAFF_KEY = "staff"
ALL_STAFF = frozenset(staff_service.ROLES)
OFFICERS = frozenset({"admin", "officer"})
ADMINS = frozenset({"admin"})
ANALYSTS = frozenset({"admin", "analyst"})

PUBLIC_ENDPOINTS = frozenset(
    {
        "static",
        "pages.home",
        "pages.privacy",
        "pages.accessibility",
        "pages.leave",
        "health.healthz",
        "auth.sign_in",
        # The second step of signing in, and setting up a second factor: each view checks
        # the session is at that step (or, for set_up, signed in without one).
        "auth.code",
        "auth.set_up",
        # Opened from a set-password link; the view checks the link.
        "auth.set_password",
        "bench_hello",
    }
)
PUBLIC_BLUEPRINTS = frozenset({"respond", "results"})
ROLE_ACCESS: dict[str, frozenset[str]] = {
    "auth.sign_out": ALL_STAFF,
    "auth.account": ALL_STAFF,
    "auth.change_password": ALL_STAFF,
    "auth.sign_out_everywhere": ALL_STAFF,
    "auth.recovery_codes": ALL_STAFF,
    "staff.home": ALL_STAFF,
    "coverage.view": ALL_STAFF,
    "coverage.borough": ALL_STAFF,
    "links.index": OFFICERS,
    "links.new": OFFICERS,
    "links.detail": OFFICERS,
    "links.close": OFFICERS,
    "links.confirm_close": OFFICERS,
    "links.reopen": OFFICERS,
    "links.qr_svg": OFFICERS,
    "links.qr_png": OFFICERS,
    "links.poster": OFFICERS,
    "analyst.report": ANALYSTS,
    "analyst.download": ANALYSTS,
    "analyst.weighting": ANALYSTS,
    "analyst.trends": ANALYSTS,
    "analyst.trend_download": ANALYSTS,
    "analyst.least_reached": ANALYSTS,
    "analyst.least_reached_download": ANALYSTS,
    "releases.index": ANALYSTS,
    "releases.new": ANALYSTS,
    "releases.edit": ANALYSTS,
    "releases.detail": ANALYSTS,
    "releases.approve": ADMINS,
    "releases.withdraw": ADMINS,
    "jobs.status": ANALYSTS,
    "jobs.retry": ANALYSTS,
    "admin.users": ADMINS,
    "admin.new_user": ADMINS,
    "admin.disable_user": ADMINS,
    "admin.enable_user": ADMINS,
    "admin.reset_password": ADMINS,
    "admin.reset_second_factor": ADMINS,
    "admin.audit": ADMINS,
    "admin.population": ADMINS,
    "admin.microdata_page": ADMINS,
    "admin.microdata_file": ADMINS,
    "admin.codebook_csv": ADMINS,
}


def is_public(endpoint: str) -> bool:
    return endpoint in PUBLIC_ENDPOINTS or endpoint.split(".")[0] in PUBLIC_BLUEPRINTS


def safe_next(target: str | None) -> str | None:
    """Return target if it is a same-origin path, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def session_limits() -> staff_service.SessionLimits:
    return staff_service.SessionLimits.from_config(current_app.config)


def _staff_session():
    """The staff session this request's cookie names, at whatever stage (once), or None."""
    if "staff_session" not in g:
        found = staff_service.find_session(db.session, session.get(STAFF_KEY), session_limits())
        db.session.commit()  # end the read before any write, so SQLite never upgrades a lock
        if found is not None and found.needs_touch:
            staff_service.touch_session(db.session, found.token_hash)
            db.session.commit()
        g.staff_session = found
    return g.staff_session


def current_staff():
    """The signed-in staff member for this request, or None. A session still waiting for
    its second factor signs nobody in."""
    if "current_staff" not in g:
        found = _staff_session()
        g.current_staff = found.user if found is not None and found.stage == "full" else None
    return g.current_staff


def pending_staff():
    """A session past the password but not yet the second factor, or None."""
    found = _staff_session()
    return found if found is not None and found.stage != "full" else None


def register(app: Flask) -> None:
    @app.before_request
    def enforce_access():
        endpoint = request.endpoint
        if endpoint is None or is_public(endpoint):
            return None
        roles = ROLE_ACCESS.get(endpoint)
        if roles is None:
            abort(403)
        user = current_staff()
        if user is None:
            if request.method == "GET":
                return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
            abort(403)
        if user.role not in roles:
            abort(403)
        return None

    @app.context_processor
    def staff_in_templates():
        endpoint = request.endpoint or ""
        if is_public(endpoint) and endpoint != "auth.sign_in":
            return {"staff_user": None}
        return {"staff_user": g.get("current_staff")}
