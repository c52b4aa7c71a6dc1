"""What London told us: published releases, for anyone, without signing in.

Every figure here comes from a release's frozen snapshot, made through the public gate and
approved by two people; these pages never read responses.
"""

from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, Response, abort, current_app, redirect, render_template, url_for

from survey.extensions import db
from survey.i18n import offered_languages
from survey.publication import public_gate_for
from survey.services import exports, release_pages
from survey.services import releases as release_service
from survey.services.questionnaires import newest_questionnaire

bp = Blueprint("results", __name__, url_prefix="/results")


def _published(release_id: int):
    if release_service.record_published(db.session):
        db.session.commit()
    release = release_service.published_release(db.session, release_id)
    if release is None:
        abort(404)
    return release


@bp.get("")
def index():
    """Every published release, newest first."""
    if release_service.record_published(db.session):
        db.session.commit()
    return render_template(
        "results/index.html",
        releases=release_service.published(db.session),
        threshold=public_gate_for(current_app.config).threshold,
    )


@bp.get("/latest")
def latest():
    """The newest release, where resident pages send people to "see what people said"."""
    release = release_service.latest(db.session)
    if release is None:
        return redirect(url_for("results.index"), 302)
    return redirect(url_for("results.release", release_id=release.id), 302)


@bp.get("/<int:release_id>")
def release(release_id: int):
    """One release: headline figures, the borough map and table, figures by group, the
    change since the previous release, the commentary and downloads."""
    found = _published(release_id)
    return render_template(
        "results/release.html",
        **release_pages.page_context(db.session, found),
        preview=None,
    )


@bp.get("/<int:release_id>/methods")
def methods(release_id: int):
    """How the figures were made, in plain words."""
    found = _published(release_id)
    return render_template("results/methods.html", release=found, snapshot=found.snapshot)


@bp.get("/<int:release_id>/data.<fmt>")
def data(release_id: int, fmt: str):
    """The release's figures as a tidy table, in any format analysts download."""
    download_format = exports.FORMATS.get(fmt)
    if download_format is None:
        abort(404)
    found = _published(release_id)
    stem = release_pages.file_stem(found)
    body = download_format.build(release_pages.release_table(found), f"{stem}.csv")
    response = Response(body, content_type=download_format.content_type)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{stem}{download_format.suffix}"'
    )
    return response


@bp.get("/<int:release_id>.json")
def document(release_id: int):
    """The whole release, machine-readable."""
    found = _published(release_id)
    body = json.dumps(release_pages.release_document(found), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json")


@bp.get("/feed.atom")
def feed():
    """An Atom feed of published releases."""
    if release_service.record_published(db.session):
        db.session.commit()
    body = render_template(
        "results/feed.xml",
        releases=release_service.published(db.session)[:50],
        epoch=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    return Response(body, mimetype="application/atom+xml")


@bp.app_template_filter("atom_time")
def atom_time(moment: dt.datetime) -> str:
    """An RFC 3339 time, as Atom wants (stored times are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@bp.app_template_filter("fromisodate")
def fromisodate(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@bp.context_processor
def languages() -> dict:
    """The languages results pages can be read in: the survey's."""
    questionnaire = newest_questionnaire(db.session, current_app.config["QUESTIONNAIRE_ID"])
    return {"languages": offered_languages(questionnaire) if questionnaire else ()}
