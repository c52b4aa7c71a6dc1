"""Preparing and approving releases for the public results pages (two people)."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from wtforms.fields.choices import SelectChoice

from survey import clock
from survey.digits import whole_number
from survey.extensions import db
from survey.models import Release
from survey.services import release_jobs, release_pages
from survey.services import releases as release_service
from survey.services.questionnaires import newest_questionnaire
from survey.staff_forms import ApproveForm, ConfirmForm, ReleaseForm
from survey.views.jobs import start as start_job

bp = Blueprint("releases", __name__, url_prefix="/staff/releases")


@bp.app_template_filter("london_time")
def london_time(moment) -> str:
    """A stored time as London's date and time, for staff."""
    if moment is None:
        return ""
    if moment.tzinfo is None:  # SQLite hands back UTC without its zone
        moment = moment.replace(tzinfo=dt.UTC)
    return f"{moment.astimezone(clock.LONDON):%-d %B %Y, %H:%M}"


def _questionnaire():
    questionnaire = newest_questionnaire(db.session, current_app.config["QUESTIONNAIRE_ID"])
    if questionnaire is None:
        abort(404)
    return questionnaire


def _release(release_id: int) -> Release:
    """The release. Preparing and approving lock its row in their jobs; a withdrawal locks
    it here, so two changes never work from the same state."""
    if request.method == "POST" and request.endpoint == "releases.withdraw":
        release = release_service.locked_release(db.session, release_id)
    else:
        release = db.session.get(Release, release_id)
    if release is None:
        abort(404)
    return release


def _form(questionnaire, release: Release | None, corrects: Release | None) -> ReleaseForm:
    form = ReleaseForm()
    periods = release_service.release_periods(clock.today())
    if corrects is not None:
        periods = [(corrects.period, corrects.period)]
    form.period.choices = [SelectChoice(key, label) for key, label in periods]
    form.indicators.choices = [SelectChoice(i.id, i.label.get()) for i in questionnaire.indicators]
    form.breakdowns.choices = [
        SelectChoice(name, label) for name, label in release_service.BREAKDOWNS.items()
    ]
    if request.method == "GET":
        source = release or corrects
        if source is not None:
            form.period.data = source.period
            form.indicators.data = list(source.indicators)
            form.breakdowns.data = list(source.breakdowns)
            form.commentary.data = source.commentary
            form.correction_note.data = release.correction_note if release else ""
        else:
            form.indicators.data = [i.id for i in questionnaire.indicators]
            form.breakdowns.data = list(release_service.DEFAULT_BREAKDOWNS)
    return form


def _edit(release: Release | None, corrects: Release | None):
    questionnaire = _questionnaire()
    form = _form(questionnaire, release, corrects)
    problem = None
    if form.validate_on_submit():
        choice = release_service.ReleaseChoice(
            period=form.period.data,
            indicators=tuple(form.indicators.data),
            breakdowns=tuple(form.breakdowns.data),
            commentary=form.commentary.data or "",
            corrects=corrects.id if corrects else None,
            correction_note=form.correction_note.data or "",
        )
        params = release_jobs.prepare_params(
            choice, release_id=release.id if release else None, by=g.current_staff
        )
        return start_job(
            release_jobs.PREPARE,
            params,
            lambda reason: _edit_page(form, release, corrects, reason),
        )
    return _edit_page(form, release, corrects, problem)


def _edit_page(form, release: Release | None, corrects: Release | None, problem: str | None):
    status = 400 if request.method == "POST" else 200
    return render_template(
        "releases/edit.html", form=form, release=release, corrects=corrects, problem=problem
    ), status


@bp.get("")
def index():
    """Every release and where it stands."""
    if release_service.record_published(db.session):
        db.session.commit()
    return render_template(
        "releases/index.html",
        releases=release_service.all_releases(db.session),
        status=release_service.status,
        words=release_service.STATUS_WORDS,
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Prepare a release: period, indicators, breakdowns, commentary."""
    corrects = None
    if (corrected := whole_number(request.args.get("corrects"))) is not None:
        corrects = _release(corrected)
        if release_service.status(corrects) != "published":
            abort(404)
    return _edit(None, corrects)


@bp.route("/<int:release_id>/edit", methods=["GET", "POST"])
def edit(release_id: int):
    """Change a release not yet approved; its figures are worked out again."""
    release = _release(release_id)
    if release.approved_at is not None:
        abort(404)
    return _edit(release, release.corrects)


def _detail(release: Release, approve_form: ApproveForm, problem: str | None = None):
    if release_service.record_published(db.session):
        db.session.commit()
    state = release_service.status(release)
    preview = None
    if state != "published":
        preview = (
            "Not published: synthetic data. This preview shows made-up demo responses"
            if release.snapshot.get("synthetic")
            else "Not published: a preview for staff"
        )
    context = release_pages.page_context(db.session, release)
    return render_template(
        "releases/detail.html",
        **context,
        state=state,
        words=release_service.STATUS_WORDS,
        approve_form=approve_form,
        confirm_form=ConfirmForm(),
        problem=problem,
        preview=preview,
    )


@bp.get("/<int:release_id>")
def detail(release_id: int):
    """Where the release stands, its problems, and its page as the public would see it."""
    release = _release(release_id)
    return _detail(release, ApproveForm(formdata=None, seen=release_service.digest(release)))


@bp.post("/<int:release_id>/approve")
def approve(release_id: int):
    """Approve a release (an admin who did not prepare it) to publish now or later."""
    release = _release(release_id)
    form = ApproveForm()
    problem = None
    if form.validate_on_submit():
        publish_at = form.publish_at(clock.now())
        if publish_at is not None:
            params = release_jobs.approve_params(
                release.id, publish_at=publish_at, seen=form.seen.data or None, by=g.current_staff
            )
            return start_job(
                release_jobs.APPROVE,
                params,
                lambda reason: (_detail(_reread(release), form, reason), 400),
            )
    return _detail(release, form, problem), 400


def _reread(release: Release) -> Release:
    db.session.refresh(release)
    return release


@bp.route("/<int:release_id>/withdraw", methods=["GET", "POST"])
def withdraw(release_id: int):
    """Ask, then take back an approval before publication."""
    release = _release(release_id)
    form = ConfirmForm()
    if request.method == "GET":
        if release_service.status(release) != "scheduled":
            return redirect(url_for("releases.detail", release_id=release.id))
        return render_template("releases/withdraw.html", release=release, form=form)
    if not form.validate_on_submit():
        abort(400)
    try:
        release_service.withdraw(db.session, release, by=g.current_staff)
    except release_service.ReleaseError:
        abort(409)
    db.session.commit()
    flash("Approval withdrawn: the release will not be published")
    return redirect(url_for("releases.detail", release_id=release.id), 303)
