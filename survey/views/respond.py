"""The resident's journey: start page, one question a page, check answers, confirmation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from survey import clock, i18n
from survey.database import SAFE_METHODS
from survey.extensions import db, limiter
from survey.forms import UnreadableForm, draw_control, read_answer
from survey.models import Draft, Link
from survey.questionnaire import Question, Questionnaire
from survey.questionnaire.answers import AnswerError, clean_answer
from survey.questionnaire.flow import (
    can_visit,
    first_unanswered,
    next_question,
    pages,
    previous_question,
)
from survey.questionnaire.schema import OptionGroup
from survey.services import drafts as draft_service
from survey.services.links import LinkState, find_link, find_link_id, link_state
from survey.services.questionnaires import (
    latest_version,
    questionnaire_by_version_id,
    questionnaire_for,
)
from survey.services.responses import Outcome, submit_response
from survey.views.errors import LinkClosed, discard_session

bp = Blueprint("respond", __name__, url_prefix="/s")

DRAFT_KEY = "draft"
DONE_KEY = "done"
SEE_OTHER = 303
COMPLETED_COOKIE_AGE = 180 * 24 * 60 * 60  # seconds


@dataclass
class Journey:
    """What every resident page needs: the link, the questionnaire and the draft."""

    link: Link
    version_id: int
    questionnaire: Questionnaire
    draft: Draft | None
    language: str

    @property
    def answers(self) -> dict[str, Any]:
        return dict(self.draft.answers) if self.draft else {}


def _journey(code: str) -> Journey:
    """Load the link and the resident's draft, or stop with 404 or 410."""
    if request.method in SAFE_METHODS and db.engine.dialect.name == "postgresql":
        # A resident's GET pages make one read (the link and the draft). Without a
        # transaction they save PostgreSQL's BEGIN and ROLLBACK, two of the four round
        # trips a page costs, and see the same data as a one-statement transaction would.
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    link, draft = draft_service.find_link_and_draft(db.session, code, session.get(DRAFT_KEY))
    if link is None:
        abort(404)
    _use_canonical_code(code, link)
    state = link_state(link, clock.today())
    if state is not LinkState.OPEN:
        raise LinkClosed(not_yet_open=state is LinkState.NOT_YET_OPEN)
    if draft is not None:
        version_id = draft.questionnaire_version_id
        known = current_app.extensions.setdefault("questionnaire_versions", {})
        questionnaire = questionnaire_by_version_id(db.session, version_id, known)
    else:
        version = latest_version(db.session, link.questionnaire_id)
        version_id = version.id if version is not None else None
        questionnaire = questionnaire_for(version) if version is not None else None
    if questionnaire is None:
        abort(404)
    language = i18n.choose(
        request.args.get(i18n.LANGUAGE_PARAMETER),
        i18n.offered_languages(questionnaire),
        draft.language if draft else None,
    )
    i18n.use_language(language)
    g.exit_this_page = questionnaire.exit_this_page
    journey = Journey(link, version_id, questionnaire, draft, language)
    _last_questionnaire[code] = journey.questionnaire
    return journey


def _use_canonical_code(code: str, link: Link) -> None:
    """Send any other spelling of a link's code to the code itself (308 keeps a POST)."""
    if code != link.code:
        args = {**(request.view_args or {}), "code": link.code, **request.args.to_dict()}
        raise RequestRedirect(url_for(request.endpoint, **args))


# The questionnaire each link served last, in this process: enough to show a resident their
# answer again when the database fails mid-request. Holds no resident data.
_last_questionnaire: dict[str, Questionnaire] = {}


def _to_question(code: str, question: Question | None, **args: Any):
    if question is None:
        return redirect(url_for("respond.check_answers", code=code), SEE_OTHER)
    return redirect(
        url_for("respond.question", code=code, question_id=question.id, **args), SEE_OTHER
    )


@bp.get("/<code>")
def start(code: str):
    """Show the start page: what the survey is and the anonymity promise."""
    journey = _journey(code)
    already = (
        journey.link.one_per_browser
        and journey.draft is None
        and (request.cookies.get(completed_cookie(journey.link.questionnaire_id)) == "1")
    )
    return render_template(
        "respond/start.html",
        **_start_page(journey),
        already_completed=already,
        cleared=request.args.get("cleared") == "1" and journey.draft is None,
    )


def _start_page(journey: Journey) -> dict[str, Any]:
    """What the start page needs besides the journey: the languages on offer."""
    language = journey.questionnaire.language(journey.language)
    return {
        "journey": journey,
        "languages": i18n.offered_languages(journey.questionnaire),
        "unreviewed": language is not None and language.status == "unreviewed",
    }


def _per_link_key() -> str:
    # Keyed on the link's id, so no spelling of its code gets a fresh allowance. Held only
    # in the rate-limit store, for the length of the window; never stored.
    link_id = find_link_id(db.session, (request.view_args or {}).get("code", ""))
    return f"{get_remote_address()}:link-{link_id}"


@bp.post("/<code>/clear")
def clear(code: str):
    """Delete the resident's answers ("Clear my answers"), so the next person using this
    phone cannot read them, and show the start page again."""
    journey = _journey(code)
    draft_service.discard_draft(db.session, session.get(DRAFT_KEY))
    db.session.commit()
    session.clear()
    return redirect(
        url_for("respond.start", code=code, lang=journey.language, cleared=1), SEE_OTHER
    )


@bp.post("/<code>/start")
@limiter.limit(lambda: current_app.config["LINK_START_LIMIT"], key_func=_per_link_key)
def begin(code: str):
    """Start a draft (or resume the current one) and go to the first question."""
    journey = _journey(code)
    if journey.draft is None:
        session[DRAFT_KEY] = draft_service.start_draft(
            db.session,
            link=journey.link,
            version_id=journey.version_id,
            language=journey.language,
            ttl_seconds=current_app.config["DRAFT_TTL"],
        )
        db.session.commit()
        journey = _journey(code)
    elif journey.draft.language != journey.language:
        journey.draft.language = journey.language
        db.session.commit()
    first = first_unanswered(journey.questionnaire, journey.answers)
    return _to_question(code, first)


@bp.route("/<code>/q/<question_id>", methods=["GET", "POST"])
def question(code: str, question_id: str):
    """Show one question, or record its answer and move on."""
    journey = _journey(code)
    if journey.draft is None:
        return redirect(url_for("respond.start", code=code), SEE_OTHER)
    questionnaire, answers = journey.questionnaire, journey.answers
    current = questionnaire.question(question_id)
    if current is None or not can_visit(questionnaire, answers, question_id):
        return _to_question(code, first_unanswered(questionnaire, answers))
    changing = request.args.get("change") == "1"
    step = Step.of(current, request.args.get(GROUP_PARAMETER))
    if step is None:  # a group the question does not have: its first step
        return _to_question(code, current, **({"change": 1} if changing else {}))

    if request.method == "GET":
        values = step.values(answers.get(current.id))
        return _render_question(journey, current, values, changing=changing)
    try:
        raw = read_answer(step.shown, request.form)
    except UnreadableForm:
        return _render_question(
            journey,
            current,
            [],
            changing=changing,
            error=i18n.ui(
                "We could not read your answer. Answer the question again and select Continue."
            ),
            status=400,
        )
    try:
        value = step.clean(raw, journey.language)
    except AnswerError as error:
        return _render_question(
            journey, current, raw, changing=changing, error=i18n.answer_error(error)
        )
    if step.is_group_choice(value):
        args = {GROUP_PARAMETER: value, **({"change": 1} if changing else {})}
        return _to_question(code, current, **args)
    draft_service.record_answer(
        db.session,
        journey.draft,
        questionnaire,
        current,
        value,
        ttl_seconds=current_app.config["DRAFT_TTL"],
    )
    answers = dict(journey.draft.answers)
    if journey.draft.language != journey.language:
        journey.draft.language = journey.language
    db.session.commit()
    if changing:
        return _to_question(code, first_unanswered(questionnaire, answers))
    return _to_question(code, next_question(questionnaire, answers, current.id))


GROUP_PARAMETER = "group"  # the second step of a question asked group first


@dataclass(frozen=True)
class Step:
    """Which page of a question the resident is on. Most questions are one page; one with
    option groups (ethnic group) is two: the group, then that group's options."""

    question: Question
    shown: Question  # what this page asks
    group: OptionGroup | None = None

    @classmethod
    def of(cls, question: Question, group_value: str | None) -> Step | None:
        if not question.groups:
            return cls(question, question)
        if group_value is None:
            return cls(question, question.group_step())
        group = question.group(group_value)
        return None if group is None else cls(question, question.option_step(group), group)

    @property
    def key(self) -> str:
        """Tells the pages of one question apart, for the drawn controls' cache."""
        if not self.question.groups:
            return ""
        return self.group.value if self.group else "groups"

    def values(self, stored: Any) -> list[str]:
        """The stored answer as this page shows it: its group on the first page."""
        values = _stored_values(stored)
        if not self.question.groups or not values:
            return values
        option = self.question.option(values[0])
        group = option.group if option is not None else None
        if self.group is None:
            return [group] if group else values
        return values if group == self.group.value else []

    def clean(self, raw: list[str], language: str) -> Any:
        try:
            return clean_answer(self.shown, raw, language)
        except AnswerError:
            # An option of the whole question, as a one-page form sends it (a page opened
            # before the question had groups), is a complete answer too.
            option = self.question.option(raw[0]) if len(raw) == 1 else None
            if self.group is None and option is not None and option.group is not None:
                return clean_answer(self.question, raw, language)
            raise

    def is_group_choice(self, value: Any) -> bool:
        return self.group is None and self.question.group(value) is not None


def _step_of_request(question: Question) -> Step:
    """The page of the question this request is on (its first, for an unknown group)."""
    return Step.of(question, request.args.get(GROUP_PARAMETER)) or Step.of(question, None)


def _stored_values(value: Any) -> list[str]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _render_question(
    journey: Journey,
    current: Question,
    values: list[str],
    *,
    changing: bool,
    error: str | None = None,
    status: int | None = None,
):
    questionnaire, answers, code = journey.questionnaire, journey.answers, journey.link.code
    step = _step_of_request(current)
    previous = previous_question(questionnaire, answers, current.id)
    if step.group is not None:  # the second page goes back to the first
        back = url_for(
            "respond.question",
            code=code,
            question_id=current.id,
            **({"change": 1} if changing else {}),
        )
    elif changing:
        back = url_for("respond.check_answers", code=code)
    elif previous is not None:
        back = url_for("respond.question", code=code, question_id=previous.id)
    else:
        back = url_for("respond.start", code=code)
    html = render_template(
        "respond/question.html",
        journey=journey,
        question=step.shown,
        control_html=draw_control(
            current_app.jinja_env,
            journey.version_id,
            step.shown,
            values,
            journey.language,
            error,
            step=step.key,
        ),
        error=error,
        back_url=back,
        changing=changing,
    )
    return html, status or (400 if error else 200)


@bp.get("/<code>/check-answers")
def check_answers(code: str):
    """Show every answer with a link to change it, and the submit button."""
    journey = _journey(code)
    if journey.draft is None:
        return redirect(url_for("respond.start", code=code), SEE_OTHER)
    missing = first_unanswered(journey.questionnaire, journey.answers)
    if missing is not None:
        return _to_question(code, missing)
    return _render_check_answers(journey)


def _render_check_answers(journey: Journey, error: str | None = None, status: int = 200):
    shown = [q for q in pages(journey.questionnaire, journey.answers) if q.answerable]
    return render_template(
        "respond/check_answers.html", journey=journey, questions=shown, error=error
    ), status


@bp.post("/<code>/check-answers")
@limiter.limit(lambda: current_app.config["LINK_SUBMIT_LIMIT"], key_func=_per_link_key)
def submit(code: str):
    """Store the response once, delete the draft, and show the confirmation."""
    journey = _journey(code)
    if journey.draft is not None and journey.draft.language != journey.language:
        journey.draft.language = journey.language  # the response records the language used
    token = request.form.get("submit_token", "")
    try:
        result = submit_response(
            db.session,
            journey.draft,
            journey.questionnaire,
            submit_token=token,
        )
        if result.outcome is Outcome.STORED:
            db.session.commit()
    except IntegrityError:
        # A duplicate of this submission committed first: it is stored exactly once.
        db.session.rollback()
        return _confirmed(code, journey.link)
    if result.outcome in (Outcome.STORED, Outcome.ALREADY_STORED):
        return _confirmed(code, journey.link)
    db.session.rollback()
    if result.outcome is Outcome.LINK_FULL:
        raise LinkClosed()
    if result.outcome is Outcome.NO_DRAFT:
        return redirect(url_for("respond.start", code=code), SEE_OTHER)
    if result.outcome is Outcome.INCOMPLETE:
        return redirect(
            url_for("respond.question", code=code, question_id=result.question_id), SEE_OTHER
        )
    return redirect(url_for("respond.check_answers", code=code), SEE_OTHER)


def _confirmed(code: str, link: Link):
    session.pop(DRAFT_KEY, None)
    session[DONE_KEY] = code
    response = redirect(url_for("respond.confirmation", code=code), SEE_OTHER)
    if link.one_per_browser:
        # Records only that this browser completed this questionnaire: no id, no time.
        response.set_cookie(
            completed_cookie(link.questionnaire_id),
            "1",
            max_age=COMPLETED_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            path="/s/",
        )
    return response


def completed_cookie(questionnaire_id: str) -> str:
    return f"completed-{questionnaire_id}"


@bp.get("/<code>/done")
def confirmation(code: str):
    """Thank the resident and say where to learn more or get help."""
    link = find_link(db.session, code)
    if link is None:
        abort(404)
    _use_canonical_code(code, link)
    if session.get(DONE_KEY) != code:
        state = link_state(link, clock.today())
        if state is not LinkState.OPEN:
            raise LinkClosed(not_yet_open=state is LinkState.NOT_YET_OPEN)
        return redirect(url_for("respond.start", code=code), SEE_OTHER)
    # The resident is done: end the session, so nothing of theirs stays with this browser.
    session.clear()
    version = latest_version(db.session, link.questionnaire_id)
    questionnaire = questionnaire_for(version) if version is not None else None
    g.exit_this_page = questionnaire is not None and questionnaire.exit_this_page
    return render_template("respond/confirmation.html", link=link)


# The numbers the confirmation page gives, as they are written in every language's text.
PHONE_NUMBERS = re.compile(r"(?<!\d)(0800 789 321|101|999)(?!\d)")


@bp.app_template_filter("phone_links")
def phone_links(text: Markup) -> Markup:
    """Make the help numbers in a sentence tappable `tel:` links."""
    escaped = str(escape(text))  # a no-op on the escaped Markup pages pass
    linked = PHONE_NUMBERS.sub(
        lambda m: f'<a class="govuk-link" href="tel:{m[1].replace(" ", "")}">{m[1]}</a>',
        escaped,
    )
    return Markup(linked)  # noqa: S704 - escaped text, plus links made of the fixed numbers


@bp.errorhandler(CSRFError)
def page_expired(error: CSRFError):
    """Show the page again with the resident's answers, never a bare 400."""
    code = (request.view_args or {}).get("code", "")
    message = i18n.ui("This page timed out. Check your answer and select Continue again.")
    try:
        journey = _journey(code)
    except HTTPException as refusal:
        # An unknown, closed or not-yet-open link: its own page (404, 410), or the code's
        # own spelling. Raised inside this handler it would otherwise become a 500.
        return current_app.handle_user_exception(refusal)
    if request.endpoint == "respond.question" and journey.draft is not None:
        current = journey.questionnaire.question(request.view_args["question_id"])
        if current is not None and can_visit(journey.questionnaire, journey.answers, current.id):
            try:
                raw = read_answer(_step_of_request(current).shown, request.form)
            except UnreadableForm:
                raw = []
            return _render_question(journey, current, raw, changing=False, error=message)
    if request.endpoint == "respond.submit" and journey.draft is not None:
        return _render_check_answers(
            journey,
            error=i18n.ui(
                "This page timed out. Your answers are saved: check them and select Send "
                "answers again."
            ),
            status=400,
        )
    return render_template(
        "respond/start.html",
        **_start_page(journey),
        error=i18n.ui("This page timed out. Select Start now again."),
    ), 400


@bp.errorhandler(OperationalError)
def answer_not_saved(error: OperationalError):
    """The database failed: say plainly the answer was not saved, and keep it in the form."""
    discard_session()
    current_app.logger.error("Database unavailable: %s", type(error.orig).__name__)
    args = request.view_args or {}
    questionnaire = _last_questionnaire.get(args.get("code", ""))
    current = questionnaire.question(args.get("question_id", "")) if questionnaire else None
    if request.endpoint != "respond.question" or request.method != "POST" or current is None:
        return render_template("errors/database.html"), 503
    shown = _step_of_request(current).shown
    try:
        raw = read_answer(shown, request.form)
    except UnreadableForm:
        raw = []
    language = i18n.current_language()
    not_saved = i18n.ui(
        "Sorry, your answer was not saved because the service is having a problem. "
        "Select Continue again in a few minutes."
    )
    stand_in = SimpleNamespace(
        language=language, questionnaire=questionnaire, link=SimpleNamespace(code=args["code"])
    )
    html = render_template(
        "respond/question.html",
        journey=stand_in,
        question=shown,
        control_html=draw_control(current_app.jinja_env, None, shown, raw, language, not_saved),
        changing=False,
        back_url=url_for("respond.start", code=args["code"]),
        error=not_saved,
    )
    return html, 503
