"""Residents' languages: which are offered, which one a page is in, and marked fallbacks.

Interface strings come from the Flask-Babel catalogues in `survey/translations`;
questionnaire texts come from the questionnaire file. Where a text has no translation the
English is shown instead, inside an element with `lang="en"`, so screen readers read it
with the right voice. Staff pages are in English only.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, get_month_names
from babel.numbers import format_decimal, format_percent
from flask import current_app, g, request, session
from flask_babel import Babel, force_locale, get_translations, refresh
from flask_babel import gettext as plain_gettext
from markupsafe import Markup, escape

from survey.clock import LONDON
from survey.extensions import db
from survey.questionnaire.answers import AnswerError
from survey.questionnaire.schema import DEFAULT_LANGUAGE, LocalText, Questionnaire
from survey.services.questionnaires import newest_questionnaire

LANGUAGE_KEY = "lang"  # the session key holding the resident's chosen language
LANGUAGE_PARAMETER = "lang"  # ?lang=pl on any resident page
RESIDENT_BLUEPRINTS = frozenset({"respond", "pages", "results", None})  # None: pages not found

babel = Babel()


def init_app(app) -> None:
    babel.init_app(app, locale_selector=current_language)
    app.jinja_env.globals.update(
        _=ui,
        ui_plural=ui_plural,
        gettext=plain_gettext,
        local=local,
        language_name=language_name,
        percent=percent,
        number=number,
        text_in=text_in,
        period_words=period_words,
        long_date=long_date,
    )

    @app.before_request
    def remember_language() -> None:
        """Resident pages keep the language chosen in the journey; `?lang=` changes it.

        The session only ever holds a language that was offered when it was chosen."""
        if request.blueprint not in RESIDENT_BLUEPRINTS:
            return
        requested = request.args.get(LANGUAGE_PARAMETER)
        if requested and request.blueprint != "respond":  # a journey checks its own
            questionnaire = newest_questionnaire(db.session, app.config["QUESTIONNAIRE_ID"])
            offered = offered_languages(questionnaire) if questionnaire else ()
            use_language(choose(requested, offered))
        else:
            g.language = session.get(LANGUAGE_KEY, DEFAULT_LANGUAGE)

    @app.context_processor
    def page_language() -> dict:
        language = current_language()
        return {
            "html_lang": language,
            "html_dir": direction(language),
            # Names set in the configuration are English: mark them so on other pages.
            "english_attr": Markup(' lang="en"') if language != DEFAULT_LANGUAGE else "",
        }


def current_language() -> str:
    return g.get("language", DEFAULT_LANGUAGE)


def use_language(language: str) -> None:
    """Show this request's pages in `language` (already checked to be offered)."""
    g.language = language
    refresh()  # Flask-Babel keeps the catalogue it loaded for this request
    if language != session.get(LANGUAGE_KEY, DEFAULT_LANGUAGE):
        session[LANGUAGE_KEY] = language


def choose(requested: str | None, offered: tuple[str, ...], fallback: str | None = None) -> str:
    """The language to use: the one asked for, else the session's, else `fallback`, else
    English; only ever one of `offered`."""
    for candidate in (requested, session.get(LANGUAGE_KEY), fallback):
        if candidate in offered:
            return candidate
    return DEFAULT_LANGUAGE


def offered_languages(questionnaire: Questionnaire) -> tuple[str, ...]:
    """The questionnaire's languages whose translation status the configuration allows.

    The status is the questionnaire file's; the interface catalogue of a language without
    one falls back to English, marked."""
    allowed = current_app.config["LANGUAGE_STATUSES"]
    return tuple(
        language.code
        for language in questionnaire.languages
        if language.status == "source" or language.status in allowed
    )


def direction(language: str) -> str:
    return "rtl" if _locale(language).character_order == "right-to-left" else "ltr"


def language_name(language: str) -> str:
    """The language's name in its own script, for a resident to recognise it."""
    name = _locale(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


def name_in(code: str, language: str) -> str:
    """A language's name written in another language ("Polish" is "polski" in Polish)."""
    name = _locale(code).get_display_name(language) or code
    return name[:1].upper() + name[1:]


def english_name(language: str) -> str:
    """The language's name in English, for staff pages and reports."""
    return _locale(language).get_display_name(DEFAULT_LANGUAGE) or language


@lru_cache(maxsize=64)
def _locale(language: str) -> Locale:
    return Locale.parse(language)


def _marked(text: str, used: str) -> Markup:
    """Escape the text, and mark its language where it differs from the page's."""
    if used == current_language():
        return escape(text)
    return Markup('<span lang="{}">{}</span>').format(used, text)


def ui(message: str, **values: object) -> Markup:
    """An interface string in the page's language, escaped; English marked when missing."""
    language = current_language()
    translated = _catalogue(language).gettext(message)
    missing = language != DEFAULT_LANGUAGE and translated == message
    # Escaped before filling: a value already made safe (Markup) goes in as it is.
    text = escape(translated) % values if values else translated
    return _marked(text, DEFAULT_LANGUAGE if missing else language)


def ui_plural(singular: str, plural: str, num: int, **values: object) -> Markup:
    """An interface string that depends on a number, in the page's language; the number is
    written as the language writes numbers and fills `%(num)s`."""
    language = current_language()
    translated = _catalogue(language).ngettext(singular, plural, num)
    missing = language != DEFAULT_LANGUAGE and translated in (singular, plural)
    shown = DEFAULT_LANGUAGE if missing else language
    text = translated % {"num": format_decimal(num, locale=shown), **values}
    return _marked(text, shown)


def in_language(message: str, language: str, **values: object) -> str:
    """An interface string as plain text in any language, for files staff download
    (English where the catalogue has none). Needs the app, not a request."""
    with force_locale(language):
        translated = _catalogue(language).gettext(message)
    return translated % values if values else translated


def _catalogue(language: str):
    """The interface catalogue for a language, loaded once per process."""
    catalogue = _catalogues.get(language)
    if catalogue is None:
        catalogue = _catalogues[language] = get_translations()
    return catalogue


_catalogues: dict[str, object] = {}


def local(text: LocalText | None, language: str | None = None) -> Markup:
    """A questionnaire text in the page's language, escaped; English marked when missing."""
    if text is None:
        return Markup("")
    shown, used = text.in_language(language or current_language())
    return _marked(shown, used)


def answer_error(error: AnswerError) -> Markup:
    """What to tell the resident about an answer that cannot be accepted, in their language."""
    if error.custom is not None:
        return local(error.custom)
    return ui(error.message, **error.values)


def percent(value: float, places: int = 0) -> str:
    """A fraction as a percentage, written as the page's language writes it (45,2% in
    Polish)."""
    pattern = "#,##0%" if places == 0 else "#,##0." + "0" * places + "%"
    return format_percent(value, pattern, locale=current_language())


def number(value: int | float) -> str:
    """A number as the page's language writes it (12 345 in Polish)."""
    return format_decimal(value, locale=current_language())


def text_in(texts: dict[str, str]) -> Markup:
    """A text stored in several languages ({"en": ..., "pl": ...}), in the page's language;
    English marked where it has none."""
    language = current_language()
    if language in texts:
        return _marked(texts[language], language)
    return _marked(texts.get(DEFAULT_LANGUAGE, ""), DEFAULT_LANGUAGE)


def period_words(key: str) -> str:
    """A calendar quarter or year in the page's language: "July to September 2026"."""
    if len(key) == 4:
        return key
    quarter = int(key[-1])
    months = get_month_names("wide", context="stand-alone", locale=current_language())
    first, last = months[3 * quarter - 2], months[3 * quarter]
    return str(
        ui("%(first)s to %(last)s %(year)s", first=first, last=last, year=key[:4]).striptags()
    )


def long_date(moment: dt.date | dt.datetime) -> str:
    """A date (or the London date of a time) as the page's language writes it in full."""
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is None:  # SQLite hands back UTC without its zone
            moment = moment.replace(tzinfo=dt.UTC)
        moment = moment.astimezone(LONDON).date()
    return format_date(moment, format="long", locale=current_language())
