"""Staff sign-in and sign-out."""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address

from survey.extensions import db, limiter
from survey.services import staff as staff_service
from survey.services.audit import record_event
from survey.staff_forms import ConfirmForm, SignInForm
from survey.views.access import STAFF_KEY, current_staff, safe_next

bp = Blueprint("auth", __name__, url_prefix="/staff")

WRONG_CREDENTIALS = "Enter a correct email address and password"


def _address_key() -> str:
    return get_remote_address()


def _account_key() -> str:
    # Failures against one account from one address lock out only that pair; the account
    # is hashed, and the key lives only in the rate-limit store for the window.
    email = staff_service.normalise_email(request.form.get("email", ""))
    return f"{get_remote_address()}:{hashlib.sha256(email.encode()).hexdigest()[:32]}"


def _failed(response) -> bool:
    # A refused sign-in is a 400; a 429 is the limit itself and must not count again.
    return response.status_code == 400


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["SIGN_IN_ACCOUNT_LIMIT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
)
@limiter.limit(
    lambda: current_app.config["SIGN_IN_ADDRESS_LIMIT"],
    key_func=_address_key,
    methods=["POST"],
    deduct_when=_failed,
)
def sign_in():
    """Sign a member of staff in, rotating the session."""
    next_page = safe_next(request.args.get("next"))
    if request.method == "GET" and current_staff() is not None:
        return redirect(next_page or url_for("staff.home"))
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        user = staff_service.authenticate(db.session, form.email.data, form.password.data)
        if user is not None:
            token = staff_service.start_session(db.session, user)
            record_event(db.session, "sign_in", actor=user)
            db.session.commit()
            session.clear()  # a new session (and CSRF secret) at every sign-in
            session[STAFF_KEY] = token
            return redirect(next_page or url_for("staff.home"), 303)
        record_event(
            db.session,
            "sign_in_failed",
            actor_email=staff_service.normalise_email(form.email.data or "")[:254],
        )
        db.session.commit()
        error = WRONG_CREDENTIALS
    status = 200 if request.method == "GET" or (not error and not form.errors) else 400
    return render_template("auth/sign_in.html", form=form, error=error), status


@bp.post("/sign-out")
def sign_out():
    """Revoke the session on the server, so a copied cookie stops working."""
    form = ConfirmForm()
    if form.validate_on_submit():
        user = current_staff()
        staff_service.revoke_session(db.session, session.get(STAFF_KEY))
        if user is not None:
            record_event(db.session, "sign_out", actor=user)
        db.session.commit()
    session.clear()
    return redirect(url_for("auth.sign_in"), 303)
