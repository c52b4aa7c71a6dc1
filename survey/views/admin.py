"""Administration: staff accounts, population figures and the audit log."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from survey.digits import DATE_PART_KEPT, date_from_parts, whole_number
from survey.extensions import db
from survey.i18n import english_name
from survey.models import StaffUser
from survey.services import mail, microdata
from survey.services import staff as staff_service
from survey.services.audit import (
    ACTIONS,
    AuditFilter,
    audit_page,
    record_after_reading,
    record_event,
)
from survey.services.labelled import EXTRACT_FORMATS
from survey.services.population import (
    PopulationError,
    list_versions,
    parse_population_csv,
    population_categories,
    store_figures,
)
from survey.services.questionnaires import latest_version, questionnaire_for
from survey.staff_forms import ConfirmForm, NewUserForm, PopulationForm
from survey.views.auth import DONE

bp = Blueprint("admin", __name__, url_prefix="/staff/admin")


@bp.get("/users")
def users():
    """List staff accounts."""
    return render_template(
        "admin/users.html", users=staff_service.list_users(db.session), form=ConfirmForm()
    )


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    """Create a staff account with no password: its owner chooses one through a
    single-use link, emailed to them (or shown here to pass on when no mail is set up)."""
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = staff_service.create_user(db.session, form.email.data, form.role.data)
        except staff_service.AccountError as error:
            db.session.rollback()
            form.email.errors = [str(error)]
        else:
            record_event(
                db.session,
                "account_created",
                actor=g.current_staff,
                detail=f"{user.email} as {user.role}",
            )
            db.session.commit()
            return _send_password_link(user, new_account=True)
    return render_template(
        "admin/new_user.html", form=form, emailing=mail.configured(current_app.config)
    ), 400 if form.errors else 200


def _send_password_link(user: StaffUser, *, new_account: bool):
    """Make a set-password link for the account and email it; or, with no mail set up,
    show it once to pass on. A link whose email failed is withdrawn at once."""
    config = current_app.config
    hours = config["SET_PASSWORD_HOURS"]
    emailing = mail.configured(config)
    token = staff_service.issue_password_link(
        db.session, user, by=g.current_staff, hours=hours, emailed=emailing
    )
    address = url_for("auth.set_password", token=token, _external=True)
    problem = None
    if emailing:
        subject, body = mail.set_password_message(
            service=config["SERVICE_NAME"],
            organisation=config["ORGANISATION_NAME"],
            address=address,
            hours=hours,
            new_account=new_account,
        )
        try:
            mail.send(config, to=user.email, subject=subject, body=body)
        except mail.MailError as error:
            db.session.rollback()
            problem = str(error)
    if problem is None:
        how = "emailed" if emailing else "shown to the administrator"
        record_event(
            db.session,
            "password_link_sent",
            actor=g.current_staff,
            detail=f"{user.email}: link {how}, works for {hours} hours",
        )
        db.session.commit()
    return render_template(
        "admin/password_link.html",
        user=user,
        new_account=new_account,
        emailing=emailing,
        problem=problem,
        address=None if emailing else address,
        hours=hours,
    ), 502 if problem else 200


def _account(user_id: int) -> StaffUser:
    user = db.session.get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


def _someone_else(user_id: int) -> StaffUser:
    """Another member of staff's account: nobody disables or resets their own here."""
    user = _account(user_id)
    if user.id == g.current_staff.id:
        abort(403)
    return user


def _confirm(user: StaffUser, action: str):
    """The question asked before an action that cannot be undone lightly."""
    return render_template("admin/confirm.html", user=user, action=action, form=ConfirmForm())


@bp.route("/users/<int:user_id>/disable", methods=["GET", "POST"])
def disable_user(user_id: int):
    """Ask, then disable an account and end its sessions."""
    user = _someone_else(user_id)
    if request.method == "GET":
        return _confirm(user, "disable")
    if ConfirmForm().validate_on_submit():
        user.active = False
        staff_service.revoke_all_sessions(db.session, user)
        record_event(db.session, "account_disabled", actor=g.current_staff, detail=user.email)
        db.session.commit()
        flash(f"{user.email} is disabled and signed out everywhere.", DONE)
    return redirect(url_for("admin.users"), 303)


@bp.post("/users/<int:user_id>/enable")
def enable_user(user_id: int):
    """Enable a disabled account."""
    user = _account(user_id)
    if ConfirmForm().validate_on_submit():
        user.active = True
        record_event(db.session, "account_enabled", actor=g.current_staff, detail=user.email)
        db.session.commit()
        flash(f"{user.email} is enabled again.", DONE)
    return redirect(url_for("admin.users"), 303)


@bp.route("/users/<int:user_id>/reset-password", methods=["GET", "POST"])
def reset_password(user_id: int):
    """Ask, then remove an account's password, end its sessions and send its owner a
    set-password link (the administrator never learns the new password)."""
    user = _someone_else(user_id)
    if request.method == "GET":
        return _confirm(user, "reset_password")
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("admin.users"), 303)
    user.password_hash = ""
    staff_service.revoke_all_sessions(db.session, user)
    record_event(db.session, "password_reset", actor=g.current_staff, detail=user.email)
    db.session.commit()
    return _send_password_link(user, new_account=False)


@bp.route("/users/<int:user_id>/reset-second-factor", methods=["GET", "POST"])
def reset_second_factor(user_id: int):
    """Ask, then remove an account's authenticator and recovery codes (for a colleague
    who lost their phone): they set up a new one at their next sign-in."""
    user = _someone_else(user_id)
    if request.method == "GET":
        return _confirm(user, "reset_second_factor")
    if ConfirmForm().validate_on_submit():
        staff_service.reset_second_factor(db.session, user)
        record_event(db.session, "second_factor_reset", actor=g.current_staff, detail=user.email)
        db.session.commit()
        flash(
            f"{user.email}'s authenticator app is removed and they are signed out. They set "
            "up a new one when they next sign in.",
            DONE,
        )
    return redirect(url_for("admin.users"), 303)


DATE_PARTS = ("day", "month", "year")


def _date_from_args(name: str, label: str) -> tuple[dt.date | None, dict, str | None]:
    """Read a GOV.UK date input (name-day, name-month, name-year); say what is wrong."""
    parts = {
        part: request.args.get(f"{name}-{part}", "").strip()[:DATE_PART_KEPT] for part in DATE_PARTS
    }
    if not any(parts.values()):
        return None, parts, None
    date = date_from_parts(parts["day"], parts["month"], parts["year"])
    if date is None:
        return None, parts, f"{label} must be a real date, like 27 3 2026"
    return date, parts, None


@bp.get("/audit")
def audit():
    """Show the audit log a page at a time, newest first, filtered by action, person and
    dates, with failed sign-ins grouped by the hour."""
    args = request.args
    since, since_parts, since_error = _date_from_args("since", "From")
    until, until_parts, until_error = _date_from_args("until", "To")
    action = args.get("action") if args.get("action") in ACTIONS else None
    person = plain_person(args.get("person", ""))
    chosen = AuditFilter(action=action, person=person or None, since=since, until=until)
    number = whole_number(args.get("page")) or 1
    result = audit_page(db.session, chosen, number)
    errors = {k: v for k, v in (("since", since_error), ("until", until_error)) if v}
    kept = {k: v for k, v in args.items(multi=False) if k != "page"}
    return render_template(
        "admin/audit.html",
        result=result,
        chosen=chosen,
        actions=ACTIONS,
        dates={"since": since_parts, "until": until_parts},
        errors=errors,
        page_url=lambda n: url_for("admin.audit", **kept, page=n),
    ), 400 if errors else 200


def plain_person(value: str) -> str:
    """Part of an email address to look for: printable, at most an address long."""
    return "".join(ch for ch in value.strip() if ch.isprintable())[:254]


@bp.route("/population", methods=["GET", "POST"])
def population():
    """List population figure versions and upload a new one."""
    form = PopulationForm()
    problems: list[str] = []
    version = latest_version(db.session, current_app.config["QUESTIONNAIRE_ID"])
    categories = population_categories(questionnaire_for(version)) if version else {}
    if form.validate_on_submit():
        upload = form.figures.data
        if upload is None or not getattr(upload, "filename", ""):
            form.figures.errors = ["Choose a CSV file of population figures"]
        else:
            try:
                values = parse_population_csv(upload.read(), categories)
            except PopulationError as error:
                problems = error.problems
                form.figures.errors = [f"The file has {len(problems)} problem(s), listed below"]
            else:
                stored = store_figures(
                    db.session, values, label=form.label.data, uploaded_by=g.current_staff
                )
                record_event(
                    db.session,
                    "population_uploaded",
                    actor=g.current_staff,
                    detail=f"version {stored.version}: {stored.label}",
                )
                db.session.commit()
                return redirect(url_for("admin.population"), 303)
    status = 400 if form.errors else 200
    return render_template(
        "admin/population.html",
        form=form,
        problems=problems,
        versions=list_versions(db.session),
        categories=categories,
    ), status


def _options(questionnaire) -> microdata.Options:
    """Channel and version go in the extract only when the admin asks (each is one more
    variable someone could know about a person, so more is suppressed); the demographic
    variables ticked under "leave_out" stay out of it. Unknown names are ignored."""
    choosable = {name for name, _label in microdata.choosable(questionnaire)}
    return microdata.Options(
        channel=request.args.get("channel") == "yes",
        version=request.args.get("version") == "yes",
        left_out=frozenset(request.args.getlist("leave_out")) & choosable,
    )


def _plan():
    version = latest_version(db.session, current_app.config["QUESTIONNAIRE_ID"])
    if version is None:
        abort(404)
    questionnaire = questionnaire_for(version)
    return questionnaire, microdata.plan(
        db.session,
        questionnaire,
        k=current_app.config["MICRODATA_K"],
        options=_options(questionnaire),
    )


def _choices(options: microdata.Options) -> list[tuple[str, str]]:
    """The admin's choices as query parameters, so every download link makes the extract
    the page describes."""
    return [
        *((name, "yes") for name in ("channel", "version") if getattr(options, name)),
        *(("leave_out", name) for name in sorted(options.left_out)),
    ]


def _language(questionnaire) -> str:
    """The language the admin chose for labels: one the questionnaire is written in."""
    chosen = request.args.get("language", "en")
    return chosen if chosen in questionnaire.language_codes else "en"


@bp.get("/microdata")
def microdata_page():
    """Explain the anonymised microdata extract, its information loss, and offer it."""
    questionnaire, plan = _plan()
    language = _language(questionnaire)
    return render_template(
        "admin/microdata.html",
        result=plan,
        choices=_choices(plan.options),
        choosable=microdata.choosable(questionnaire),
        language=language,
        languages=[(code, english_name(code)) for code in questionnaire.language_codes],
        formats=EXTRACT_FORMATS,
    )


@bp.get("/microdata.<any(csv, sav, dta, R):kind>")
@bp.get("/codebook.csv", defaults={"kind": "codebook"}, endpoint="codebook_csv")
def microdata_file(kind: str):
    """Send the k-anonymous extract, its codebook or its R script (admins only; every
    download is recorded in the audit log)."""
    questionnaire, plan = _plan()
    language = _language(questionnaire)
    chosen = EXTRACT_FORMATS[kind]
    extra = [name for name in ("channel", "version") if getattr(plan.options, name)]
    left_out = sorted(plan.options.left_out)
    record_after_reading(
        db.session,
        "download",
        actor=g.current_staff,
        detail=f"microdata {chosen.filename}: {plan.rows} rows, k={plan.k}"
        + (f", with {' and '.join(extra)}" if extra else "")
        + (f", without {' and '.join(left_out)}" if left_out else "")
        + (f", labels in {english_name(language)}" if chosen.labelled else ""),
    )
    body = chosen.build(db.session, questionnaire, plan, language)
    stem, dot, suffix = chosen.filename.rpartition(".")
    filename = (
        f"{stem}-{language}.{suffix}" if chosen.labelled and language != "en" else (chosen.filename)
    )
    response = Response(
        stream_with_context(body) if kind == "csv" else body, content_type=chosen.content_type
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
