"""Staff sign-in (password, then an authenticator code where the account has one),
set-password links, and each member of staff's own account: password, second factor and
sessions."""

from __future__ import annotations

import hashlib

import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from limits import parse_many

from survey.database import writing
from survey.extensions import db, limiter
from survey.services import staff as staff_service
from survey.services.audit import record_event
from survey.staff_forms import (
    ChangePasswordForm,
    CodeForm,
    ConfirmForm,
    NewPasswordForm,
    SignInForm,
)
from survey.views.access import STAFF_KEY, current_staff, pending_staff, safe_next, session_limits

bp = Blueprint("auth", __name__, url_prefix="/staff")

WRONG_CREDENTIALS = "Enter a correct email address and password"
WRONG_CODE = "Enter the 6-digit code your authenticator app shows now, or an unused recovery code"
NEXT_KEY = "after_sign_in"
LINK_KEY = "password_link"
DONE = "done"  # the flash category of "what just happened" banners on staff pages


def _address_key() -> str:
    return get_remote_address()


def _account_key() -> str:
    # Failures against one account from one address lock out only that pair; the account
    # is hashed, and the key lives only in the rate-limit store for the window.
    email = staff_service.normalise_email(request.form.get("email", ""))
    return f"{get_remote_address()}:{hashlib.sha256(email.encode()).hexdigest()[:32]}"


def _code_key() -> str:
    # Wrong codes and wrong current passwords count against the account itself, whichever
    # address or session sends them.
    pending = pending_staff()
    user = pending.user if pending else current_staff()
    return f"account:{user.id}" if user is not None else get_remote_address()


def _failed(response) -> bool:
    # A refused sign-in is a 400; a 429 is the limit itself and must not count again.
    return response.status_code == 400


def _limits(key_func, setting: str):
    return limiter.limit(
        lambda: current_app.config[setting],
        key_func=key_func,
        methods=["POST"],
        deduct_when=_failed,
    )


def browser_name(user_agent: str) -> str:
    """A short description of a browser ("Firefox on Windows"), to tell sessions apart."""
    browsers = (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"))
    systems = (
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "Mac"),
        ("Linux", "Linux"),
    )
    browser = next((name for mark, name in browsers if mark in user_agent), None)
    if browser is None and "Safari/" in user_agent:
        browser = "Safari"
    system = next((name for mark, name in systems if mark in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "An unknown browser"


def _start(user, stage: str) -> str:
    """Open a session for this browser; "full" signs in, the others wait for a code."""
    return staff_service.start_session(
        db.session, user, stage=stage, browser=browser_name(request.user_agent.string)
    )


def _promote(user) -> str:
    """Swap this browser's waiting session for a signed-in one with a new token."""
    return staff_service.promote_session(
        db.session, session[STAFF_KEY], user, browser=browser_name(request.user_agent.string)
    )


def _hold(token: str, **kept) -> None:
    """A fresh cookie session (and so a fresh CSRF secret) holding only this staff
    session's token, and anything `kept`."""
    session.clear()
    session[STAFF_KEY] = token
    session.update(kept)


def _signed_in(user, token: str, next_page: str | None, detail: str = ""):
    """Finish a sign-in and go on to where they were going."""
    record_event(db.session, "sign_in", actor=user, detail=detail)
    db.session.commit()
    _hold(token)
    return redirect(next_page or url_for("staff.home"), 303)


def _busy():
    return render_template("auth/busy.html"), 503, {"Retry-After": "30"}


FAILURES = "sign-in-failures"  # the rate-limit store's name for counts of failed sign-ins


def _failure_limits():
    """One address against one account, and one address against any: (limits, key)."""
    config = current_app.config
    return (
        (config["SIGN_IN_ACCOUNT_LIMIT"], f"account/{_account_key()}"),
        (config["SIGN_IN_ADDRESS_LIMIT"], f"address/{_address_key()}"),
    )


class _SignInLimits:
    """This sign-in's failure limits (staff_service.FailureLimits). Asked as the request
    arrives and again when its turn to check the password comes, and a failure counted
    before that turn ends, so sign-ins arriving together cannot overshoot them: a burst of
    40 against a limit of 10 checks at most 10 plus the checks already under way."""

    def may_try(self) -> bool:
        if not current_app.config["RATELIMIT_ENABLED"]:
            return True
        return all(
            limiter.limiter.test(item, FAILURES, key)
            for limits, key in _failure_limits()
            for item in parse_many(limits)
        )

    def failed(self) -> None:
        if current_app.config["RATELIMIT_ENABLED"]:
            for limits, key in _failure_limits():
                for item in parse_many(limits):
                    limiter.limiter.hit(item, FAILURES, key)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Check a member of staff's password; then ask for their authenticator code, or set
    one up where their role needs it, before the session opens any staff page."""
    next_page = safe_next(request.args.get("next"))
    if request.method == "GET" and current_staff() is not None:
        return redirect(next_page or url_for("staff.home"))
    form = SignInForm()
    error = None
    limits = _SignInLimits()
    if request.method == "POST" and not limits.may_try():
        abort(429)  # before any hashing: refusing costs almost nothing
    if form.validate_on_submit():
        try:
            user = staff_service.authenticate(
                db.session, form.email.data, form.password.data, limits
            )
        except staff_service.Busy:
            return _busy()
        except staff_service.TooManyFailures:
            abort(429)
        if user is not None:
            if user.has_second_factor:
                stage = "code"
            elif user.role in current_app.config["TWO_FACTOR_ROLES"]:
                stage = "enrol"
            else:
                return _signed_in(user, _start(user, "full"), next_page)
            token = _start(user, stage)
            db.session.commit()
            _hold(token, **{NEXT_KEY: next_page})
            return redirect(url_for("auth.code" if stage == "code" else "auth.set_up"), 303)
        record_event(
            db.session,
            "sign_in_failed",
            actor_email=staff_service.normalise_email(form.email.data or "")[:254],
        )
        db.session.commit()
        error = WRONG_CREDENTIALS
    status = 200 if request.method == "GET" or (not error and not form.errors) else 400
    return render_template("auth/sign_in.html", form=form, error=error), status


@bp.route("/sign-in/code", methods=["GET", "POST"])
@_limits(_code_key, "SIGN_IN_ACCOUNT_LIMIT")
@_limits(_address_key, "SIGN_IN_ADDRESS_LIMIT")
def code():
    """The second step of signing in: a code from the authenticator app, or one of the
    account's recovery codes (each works once)."""
    pending = pending_staff()
    if pending is None or pending.stage != "code":
        return redirect(url_for("auth.sign_in"))
    user = pending.user
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        detail = ""
        accepted = staff_service.check_code(db.session, user, form.code.data)
        if not accepted and staff_service.use_recovery_code(db.session, user, form.code.data):
            accepted = True
            left = staff_service.recovery_codes_left(db.session, user)
            detail = f"with a recovery code ({left} left)"
        if accepted:
            token = _promote(user)
            next_page = session.get(NEXT_KEY)
            return _signed_in(user, token, next_page, detail)
        record_event(db.session, "sign_in_failed", actor=user, detail="wrong code")
        db.session.commit()
        error = WRONG_CODE
    status = 400 if error or form.errors else 200
    return render_template("auth/code.html", form=form, error=error), status


def _enrolling():
    """Whoever may set up an authenticator now: a session waiting to (its role needs one),
    or a signed-in member of staff without one."""
    pending = pending_staff()
    if pending is not None and pending.stage == "enrol":
        return pending.user, True
    user = current_staff()
    if user is not None and not user.has_second_factor:
        return user, False
    return None, False


@bp.route("/two-factor", methods=["GET", "POST"])
@_limits(_code_key, "SIGN_IN_ACCOUNT_LIMIT")
def set_up():
    """Set up an authenticator app: scan the QR code (or type the key), then enter a code
    from the app; ten recovery codes are shown once."""
    user, required = _enrolling()
    if user is None:
        return redirect(url_for("auth.account") if current_staff() else url_for("auth.sign_in"))
    db.session.commit()  # end the read, so the write below takes SQLite's lock as it begins
    with writing():
        if user.totp_secret is None:
            staff_service.begin_enrolment(user)
        db.session.commit()
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        try:
            codes = staff_service.confirm_enrolment(db.session, user, form.code.data)
        except staff_service.AccountError as problem:
            db.session.commit()
            error = str(problem)
        else:
            token = _promote(user)
            record_event(db.session, "second_factor_added", actor=user)
            if required:
                record_event(
                    db.session, "sign_in", actor=user, detail="after setting up a second factor"
                )
            db.session.commit()
            next_page = session.get(NEXT_KEY) if required else url_for("auth.account")
            _hold(token)
            g.current_staff = user
            return render_template(
                "auth/recovery_codes.html",
                codes=codes,
                next_page=next_page or url_for("staff.home"),
            )
    uri = staff_service.provisioning_uri(user, current_app.config["SERVICE_NAME"])
    secret = user.totp_secret
    return render_template(
        "auth/set_up.html",
        form=form,
        error=error,
        required=required,
        # Shown unescaped: segno's SVG holds only path data and this fixed title, never
        # the address or key it encodes.
        qr=segno.make(uri, error="m").svg_inline(
            scale=4, title="QR code for your authenticator app"
        ),
        key=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    ), 400 if error or form.errors else 200


@bp.route("/set-password", methods=["GET", "POST"])
def set_password():
    """Choose a password through the single-use link an administrator sent. The token is
    taken out of the address at once (kept in the session), so it never sits in the
    browser's history or a later page's address."""
    token = request.args.get("token")
    if token is not None:
        session[LINK_KEY] = staff_service.token_hash(token)
        return redirect(url_for("auth.set_password"), 303)
    link, problem = staff_service.password_link(db.session, session.get(LINK_KEY))
    if link is None:
        return render_template("auth/link_refused.html", problem=problem), 410
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = staff_service.use_password_link(db.session, link, form.password.data)
        except staff_service.AccountError as error:
            db.session.rollback()
            form.password.errors = [str(error)]
        else:
            record_event(db.session, "password_set", actor=user)
            db.session.commit()
            session.clear()
            flash("Your password is set. Sign in with it now.", DONE)
            return redirect(url_for("auth.sign_in"), 303)
    return render_template(
        "auth/set_password.html", form=form, user=link.user
    ), 400 if form.errors else 200


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


@bp.get("/account")
def account():
    """Your account: password, second factor and where you are signed in."""
    user = g.current_staff
    return render_template(
        "auth/account.html",
        sessions=staff_service.open_sessions(db.session, user, session_limits()),
        this_session=staff_service.token_hash(session.get(STAFF_KEY)),
        codes_left=staff_service.recovery_codes_left(db.session, user),
        required=user.role in current_app.config["TWO_FACTOR_ROLES"],
        form=ConfirmForm(),
    )


@bp.route("/account/password", methods=["GET", "POST"])
@_limits(_code_key, "SIGN_IN_ACCOUNT_LIMIT")
def change_password():
    """Change your own password; every other session of the account is signed out."""
    user = g.current_staff
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            staff_service.change_password(db.session, user, form.current.data, form.password.data)
        except staff_service.Busy:
            return _busy()
        except staff_service.WrongPassword as error:
            db.session.rollback()
            form.current.errors = [str(error)]
        except staff_service.AccountError as error:
            db.session.rollback()
            form.password.errors = [str(error)]
        else:
            token = _start(user, "full")
            record_event(db.session, "password_changed", actor=user)
            db.session.commit()
            _hold(token)
            flash("Your password has been changed. Any other sessions are signed out.", DONE)
            return redirect(url_for("auth.account"), 303)
    return render_template("auth/change_password.html", form=form), 400 if form.errors else 200


@bp.post("/account/sign-out-everywhere")
def sign_out_everywhere():
    """End every session of this account, this one included."""
    if ConfirmForm().validate_on_submit():
        staff_service.revoke_all_sessions(db.session, g.current_staff)
        record_event(db.session, "signed_out_everywhere", actor=g.current_staff)
        db.session.commit()
        session.clear()
        flash("You are signed out everywhere. Sign in again to continue.", DONE)
        return redirect(url_for("auth.sign_in"), 303)
    return redirect(url_for("auth.account"), 303)


@bp.post("/account/recovery-codes")
def recovery_codes():
    """Replace your recovery codes with ten new ones, shown once; the old ones stop working."""
    user = g.current_staff
    if not ConfirmForm().validate_on_submit() or not user.has_second_factor:
        return redirect(url_for("auth.account"), 303)
    codes = staff_service.new_recovery_codes(db.session, user)
    record_event(db.session, "recovery_codes_replaced", actor=user)
    db.session.commit()
    return render_template(
        "auth/recovery_codes.html", codes=codes, next_page=url_for("auth.account")
    )
