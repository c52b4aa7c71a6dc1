"""Administration: staff accounts, population figures and the audit log."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
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
from survey.services import microdata
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

bp = Blueprint("admin", __name__, url_prefix="/staff/admin")


@bp.get("/users")
def users():
    """List staff accounts."""
    return render_template(
        "admin/users.html", users=staff_service.list_users(db.session), form=ConfirmForm()
    )


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    """Create a staff account with a generated password, shown once."""
    form = NewUserForm()
    if form.validate_on_submit():
        password = staff_service.generate_password()
        try:
            user = staff_service.create_user(db.session, form.email.data, form.role.data, password)
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
            return render_template(
                "admin/password.html", user=user, password=password, created=True
            )
    return render_template("admin/new_user.html", form=form), 400 if form.errors else 200


def _account(user_id: int) -> StaffUser:
    user = db.session.get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


@bp.post("/users/<int:user_id>/disable")
def disable_user(user_id: int):
    """Disable an account and end its sessions."""
    user = _account(user_id)
    if ConfirmForm().validate_on_submit() and user.id != g.current_staff.id:
        user.active = False
        staff_service.revoke_all_sessions(db.session, user)
        record_event(db.session, "account_disabled", actor=g.current_staff, detail=user.email)
        db.session.commit()
    return redirect(url_for("admin.users"), 303)


@bp.post("/users/<int:user_id>/enable")
def enable_user(user_id: int):
    """Enable a disabled account."""
    user = _account(user_id)
    if ConfirmForm().validate_on_submit():
        user.active = True
        record_event(db.session, "account_enabled", actor=g.current_staff, detail=user.email)
        db.session.commit()
    return redirect(url_for("admin.users"), 303)


@bp.post("/users/<int:user_id>/reset-password")
def reset_password(user_id: int):
    """Give an account a new generated password (shown once) and end its sessions."""
    user = _account(user_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("admin.users"), 303)
    password = staff_service.generate_password()
    staff_service.set_password(user, password)
    staff_service.revoke_all_sessions(db.session, user)
    record_event(db.session, "password_reset", actor=g.current_staff, detail=user.email)
    db.session.commit()
    return render_template("admin/password.html", user=user, password=password, created=False)


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
        stream_with_context(body) if kind == "csv" else body, mimetype=chosen.mimetype
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
