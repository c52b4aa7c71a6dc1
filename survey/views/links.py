"""Community officers' distribution links: create, list, close, QR codes and posters."""

from __future__ import annotations

import datetime as dt
import io

import segno
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
    url_for,
)
from markupsafe import Markup

from survey import clock
from survey.extensions import db
from survey.geography import BOROUGH_NAMES
from survey.i18n import direction, in_language, language_name, offered_languages
from survey.publication import gate_for
from survey.questionnaire.answers import N_
from survey.services import coverage as coverage_service
from survey.services import links as link_service
from survey.services.audit import record_event
from survey.services.population import current_figures
from survey.services.questionnaires import newest_questionnaire
from survey.staff_forms import NO_BOROUGH, ConfirmForm, LinkForm

bp = Blueprint("links", __name__, url_prefix="/staff/links")


def resident_url(code: str) -> str:
    """The address residents type or scan, on the public host when one is configured."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for("respond.start", code=code)
    return url_for("respond.start", code=code, _external=True)


def _own_link(link_id: int):
    link = link_service.link_for(db.session, g.current_staff, link_id)
    if link is None:
        abort(404)  # another officer's link is as good as missing
    return link


@bp.get("")
def index():
    """List the officer's links with their completed responses."""
    links = link_service.links_for(db.session, g.current_staff)
    counts = link_service.completed_responses(db.session, [link.id for link in links])
    gate = gate_for(current_app.config)
    today = clock.today()
    return render_template(
        "links/index.html",
        links=links,
        counts={i: gate.count(*c) for i, c in counts.items()},
        states={link.id: link_service.link_state(link, today).value for link in links},
        state_words=link_service.STATE_WORDS,
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Create a distribution link."""
    form = LinkForm()
    if form.validate_on_submit():
        borough = None if form.borough.data == NO_BOROUGH else form.borough.data
        request_link = link_service.NewLink(
            label=form.label.data,
            channel=form.channel.data,
            distribution_borough=borough,
            opens_on=form.opens_on.data,
            closes_on=form.closes_on.data,
            cap=form.cap.data,
            slug=form.slug.data or None,
            one_per_browser=form.one_per_browser.data,
        )
        try:
            link = link_service.create_link(
                db.session, g.current_staff, current_app.config["QUESTIONNAIRE_ID"], request_link
            )
        except link_service.LinkError as error:
            db.session.rollback()
            getattr(form, error.field).errors = [str(error)]
        else:
            record_event(
                db.session,
                "link_created",
                actor=g.current_staff,
                detail=f"link {link.code}: {link.label}",
            )
            db.session.commit()
            return redirect(url_for("links.detail", link_id=link.id), 303)
    status = 400 if form.errors else 200
    return render_template("links/new.html", form=form), status


@bp.get("/<int:link_id>")
def detail(link_id: int):
    """Show one link: its address, QR code, settings and completed responses."""
    link = _own_link(link_id)
    gate = gate_for(current_app.config)
    count = gate.count(*link_service.completed_responses(db.session, [link.id])[link.id])
    questionnaire = newest_questionnaire(db.session, link.questionnaire_id)
    reach = None
    if questionnaire is not None:
        reach = coverage_service.link_coverage(
            db.session,
            questionnaire,
            link,
            current_figures(db.session),
            gate,
            BOROUGH_NAMES.get(link.distribution_borough or ""),
        )
    return render_template(
        "links/detail.html",
        link=link,
        url=resident_url(link.code),
        form=ConfirmForm(),
        count=count,
        state=link_service.link_state(link, clock.today()).value,
        state_words=link_service.STATE_WORDS,
        qr_data_uri=_qr(link).svg_data_uri(scale=4, border=4),
        borough=BOROUGH_NAMES.get(link.distribution_borough or "", "Not one borough"),
        reach=reach,
        channel=link_service.CHANNELS.get(link.channel, link.channel),
    )


@bp.get("/<int:link_id>/close")
def confirm_close(link_id: int):
    """Ask before closing: what closing does, and that it can be undone."""
    link = _own_link(link_id)
    return render_template(
        "links/close.html", link=link, url=resident_url(link.code), form=ConfirmForm()
    )


@bp.post("/<int:link_id>/close")
def close(link_id: int):
    """Close a link: residents who open it see that the survey has closed."""
    link = _own_link(link_id)
    form = ConfirmForm()
    if form.validate_on_submit() and not link.closed:
        link_service.close_link(link)
        record_event(db.session, "link_closed", actor=g.current_staff, detail=f"link {link.code}")
        db.session.commit()
        flash(
            "Link closed. Residents who open it or scan its QR code now see that the survey "
            "has closed; responses already sent are kept. You can reopen it below."
        )
    return redirect(url_for("links.detail", link_id=link.id), 303)


@bp.post("/<int:link_id>/reopen")
def reopen(link_id: int):
    """Undo closing a link."""
    link = _own_link(link_id)
    form = ConfirmForm()
    if form.validate_on_submit() and link.closed:
        link_service.reopen_link(link)
        record_event(db.session, "link_reopened", actor=g.current_staff, detail=f"link {link.code}")
        db.session.commit()
        state = link_service.link_state(link, clock.today())
        flash(
            "Link reopened: residents can answer through it again."
            if state is link_service.LinkState.OPEN
            else "Link reopened, but it still takes no responses: "
            + {
                "closed": "its close date has passed. Create a new link for a new event.",
                "full": "it has reached its most responses.",
                "not_yet_open": "its open date has not come yet.",
            }[state.value]
        )
    return redirect(url_for("links.detail", link_id=link.id), 303)


def _qr(link) -> segno.QRCode:
    return segno.make(resident_url(link.code), error="m")


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/<int:link_id>/qr.svg")
def qr_svg(link_id: int):
    """Download the link's QR code as SVG (scales to any print size)."""
    link = _own_link(link_id)
    buffer = io.BytesIO()
    _qr(link).save(buffer, kind="svg", scale=10, border=4, title=f"Survey link {link.code}")
    return _download(buffer.getvalue(), "image/svg+xml", f"survey-{link.code}.svg")


PRINT_PIXELS = 1000  # the PNG's side at least: sharp at 8 cm and 300 dots per inch


@bp.get("/<int:link_id>/qr.png")
def qr_png(link_id: int):
    """Download the link's QR code as a PNG at print resolution (at least 1,000 pixels)."""
    link = _own_link(link_id)
    qr = _qr(link)
    side = qr.symbol_size(scale=1, border=4)[0]
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=-(-PRINT_PIXELS // side), border=4)
    return _download(buffer.getvalue(), "image/png", f"survey-{link.code}.png")


@bp.app_template_filter("month_words")
def month_words(key: str) -> str:
    """ "2026-11" as "November 2026"."""
    return f"{dt.date(int(key[:4]), int(key[5:]), 1):%B %Y}"


@bp.app_template_filter("address_lines")
def address_lines(url: str) -> Markup:
    """An address that may wrap after a slash but never at a hyphen or inside a word."""
    parts = url.split("/")
    return Markup("/<wbr>").join(
        Markup('<span class="app-nowrap">{}</span>').format(part) if part else Markup("")
        for part in parts
    )


POSTER_SIZES = {"a4": "A4", "a5": "A5"}
POSTER_HEADLINE = N_("Have your say on Prevent")
POSTER_CALL = N_(
    "A short, anonymous survey about Prevent in your community. It takes about %(minutes)s minutes."
)
POSTER_SCAN = N_("Scan the code or go to")
POSTER_ANONYMOUS = N_("We do not ask for your name or contact details.")
POSTER_CONTACT = N_("Questions? Contact %(organisation)s: %(email)s")
POSTER_RUN_BY = N_("Run by %(organisation)s")


@bp.get("/<int:link_id>/poster")
def poster(link_id: int):
    """A printable poster, A4 or A5: the headline and call to action in each language
    chosen, the QR code, the address, and who runs the survey."""
    link = _own_link(link_id)
    questionnaire = newest_questionnaire(db.session, link.questionnaire_id)
    offered = offered_languages(questionnaire) if questionnaire else ("en",)
    chosen = [code for code in offered if code in request.args.getlist("language")] or [offered[0]]
    size = request.args.get("size", "a4")
    size = size if size in POSTER_SIZES else "a4"
    organisation = current_app.config["ORGANISATION_NAME"]
    email = current_app.config.get("CONTACT_EMAIL")
    minutes = questionnaire.minutes if questionnaire else 5
    blocks = [
        {
            "language": code,
            "direction": direction(code),
            "name": language_name(code),
            "headline": in_language(POSTER_HEADLINE, code),
            "call": in_language(POSTER_CALL, code, minutes=minutes),
            "scan": in_language(POSTER_SCAN, code),
            "anonymous": in_language(POSTER_ANONYMOUS, code),
        }
        for code in chosen
    ]
    url = resident_url(link.code)
    who = in_language(POSTER_RUN_BY, chosen[0], organisation=in_language(organisation, chosen[0]))
    if email:
        who = in_language(
            POSTER_CONTACT,
            chosen[0],
            organisation=in_language(organisation, chosen[0]),
            email=email,
        )
    return render_template(
        "links/poster.html",
        link=link,
        url=url,
        qr_data_uri=_qr(link).svg_data_uri(scale=10, border=4),
        blocks=blocks,
        offered=[(code, language_name(code)) for code in offered],
        chosen=chosen,
        size=size,
        sizes=POSTER_SIZES,
        who=who,
        address_size="long" if len(url) > 40 else "medium" if len(url) > 28 else "short",
    )
