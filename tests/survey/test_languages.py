"""Residents' languages: choosing one, every page in it, fallbacks marked, and the record."""

from __future__ import annotations

import csv
import io

import pytest
import yaml
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from survey import create_app
from survey.config import ConfigurationError, language_statuses
from survey.models import Response
from survey.questionnaire import QuestionnaireError, load_file, parse_questionnaire
from tests.conftest import PROJECT
from tests.resident import COMPLETE_ANSWERS, PARSER, Resident, page
from tests.staff import create_staff, sign_in

QUESTIONNAIRE = PROJECT / "questionnaires" / "prevent-awareness.yaml"
TRANSLATIONS = PROJECT / "survey" / "translations"
RIGHT_TO_LEFT = {"ur"}


def declared_languages() -> list[str]:
    return list(load_file(QUESTIONNAIRE).language_codes)


def translations() -> list[str]:
    return [code for code in declared_languages() if code != "en"]


def catalogue(path):
    with path.open("rb") as file:
        return read_po(file)


def html(resident: Resident) -> tuple[str, str]:
    root = page(resident.last).select_one("html")
    return root["lang"], root["dir"]


# --- the questionnaire file and the catalogues -------------------------------------------


def test_the_questionnaire_is_in_english_and_three_community_languages_one_right_to_left():
    questionnaire = load_file(QUESTIONNAIRE)
    assert questionnaire.language_codes[0] == "en"
    assert len(translations()) >= 3
    assert RIGHT_TO_LEFT & set(translations())
    for language in questionnaire.languages[1:]:
        assert language.status in ("reviewed", "unreviewed")
        if language.status == "unreviewed":
            assert language.note, f"{language.code}: say who drafted it and that it is unchecked"


def test_every_question_and_option_has_text_in_every_declared_language():
    questionnaire = load_file(QUESTIONNAIRE)
    declared = set(questionnaire.language_codes)
    texts = [("title", questionnaire.title), ("introduction", questionnaire.introduction)]
    for question in questionnaire.questions:
        texts += [(f"{question.id} text", question.text)]
        texts += [(f"{question.id} hint", question.hint)] if question.hint else []
        texts += [(f"{question.id} error", question.error)] if question.error else []
        texts += [(f"{question.id} {o.value}", o.label) for o in question.all_options]
    missing = [(where, declared - text.languages) for where, text in texts]
    assert [m for m in missing if m[1]] == []
    assert len(texts) > 150


@pytest.mark.parametrize("language", translations())
def test_every_interface_string_is_translated_and_compiled(language):
    template = catalogue(TRANSLATIONS / "messages.pot")
    translated_file = catalogue(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    wanted = {m.id for m in template if m.id}
    translated = {m.id for m in translated_file if m.id and m.string and not m.fuzzy}
    assert wanted - translated == set()
    assert (TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").exists(), "run make"


def test_the_catalogue_template_holds_every_interface_string_in_the_code(tmp_path):
    from babel.messages.frontend import CommandLineInterface

    fresh = tmp_path / "messages.pot"
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", str(PROJECT / "babel.cfg"), "-k", "ui", "-k", "N_"]
        + ["-o", str(fresh), str(PROJECT)]
    )
    in_code = {m.id for m in catalogue(fresh) if m.id}
    in_template = {m.id for m in catalogue(TRANSLATIONS / "messages.pot") if m.id}
    assert in_code - in_template == set(), "run make messages and translate the new strings"


def test_a_translation_must_carry_a_status():
    source = QUESTIONNAIRE.read_text(encoding="utf-8")
    data = yaml.safe_load(source)
    data["languages"][1] = {"code": "pl"}
    with pytest.raises(QuestionnaireError, match="needs a status"):
        parse_questionnaire(yaml.safe_dump(data, allow_unicode=True))
    data["languages"][1] = {"code": "pl", "status": "machine"}
    with pytest.raises(QuestionnaireError, match="'reviewed' once a fluent speaker"):
        parse_questionnaire(yaml.safe_dump(data, allow_unicode=True))


def test_language_statuses_setting_is_read_and_checked(monkeypatch):
    assert language_statuses("reviewed, unreviewed") == ("reviewed", "unreviewed")
    assert language_statuses("") == ()
    monkeypatch.setenv("SURVEY_LANGUAGE_STATUSES", "reviewed,machine")
    with pytest.raises(ConfigurationError, match="SURVEY_LANGUAGE_STATUSES='reviewed,machine'"):
        create_app({"SURVEY_ENV": "test"})


# --- the resident's journey ---------------------------------------------------------------


def test_the_start_page_offers_each_language_named_in_its_own_script(resident):
    resident.get(f"/s/{resident.code}")
    choices = page(resident.last).select("nav.app-languages li")
    named = {(item.a or item.span)["lang"]: item.get_text(strip=True) for item in choices}
    assert named == {"en": "English", "pl": "Polski", "bn": "বাংলা", "ur": "اردو"}
    links = page(resident.last).select("nav.app-languages a")
    assert all(a["href"].endswith(f"?lang={a['hreflang']}") for a in links)
    assert html(resident) == ("en", "ltr")


@pytest.mark.parametrize("language", translations())
def test_the_chosen_language_holds_for_the_journey_and_is_recorded(resident, db_session, language):
    resident.get(f"/s/{resident.code}?lang={language}")
    assert html(resident) == (language, direction_of(language))
    questionnaire = load_file(QUESTIONNAIRE)
    heading = page(resident.last).select_one("h1").get_text(strip=True)
    assert heading == questionnaire.title.get(language)
    resident.complete()
    resident.get(f"/s/{resident.code}/q/heard_of_prevent")
    assert html(resident)[0] == language
    legend = page(resident.last).select_one("legend").get_text(strip=True)
    assert legend == questionnaire.question("heard_of_prevent").text.get(language)
    resident.get(f"/s/{resident.code}/check-answers")
    assert html(resident)[0] == language
    assert resident.submit().status_code == 303
    resident.get(resident.last.headers["Location"])
    assert html(resident)[0] == language
    assert db_session.scalar(select(Response.language)) == language


def test_changing_language_mid_journey_records_the_language_at_submission(resident, db_session):
    resident.get(f"/s/{resident.code}?lang=pl")
    resident.complete()
    resident.get(f"/s/{resident.code}/check-answers?lang=bn")
    assert html(resident)[0] == "bn"
    resident.submit()
    assert db_session.scalar(select(Response.language)) == "bn"


@pytest.mark.parametrize("language", declared_languages())
def test_every_resident_page_renders_in_every_language(client, demo, language):
    resident = Resident(client, demo)
    questionnaire = load_file(QUESTIONNAIRE)
    pages = [f"/s/{resident.code}?lang={language}"]
    resident.get(pages[0])
    resident.start()
    for question in questionnaire.questions:
        path = f"/s/{resident.code}/q/{question.id}"
        shown = resident.get(path)
        if shown.status_code == 200:
            pages.append(path)
            assert html(resident)[0] == language, path
        if question.answerable:  # a wrong answer shows the error in the language too
            error = resident.answer(question.id, [] if question.required else None)
            assert error.status_code < 500
        resident.answer(question.id, COMPLETE_ANSWERS.get(question.id))
    pages += [f"/s/{resident.code}/check-answers", "/", "/privacy", "/accessibility"]
    pages += ["/no-such-page", "/s/no-such-link"]
    for path in pages:
        response = resident.get(path)
        assert response.status_code < 500, path
        assert html(resident) == (language, direction_of(language)), path
    assert len(pages) >= len(COMPLETE_ANSWERS)


@pytest.mark.parametrize("language", translations())
def test_question_errors_are_in_the_residents_language(resident, language):
    questionnaire = load_file(QUESTIONNAIRE)
    resident.get(f"/s/{resident.code}?lang={language}")
    resident.start()
    resident.answer("heard_of_prevent", [])
    summary = page(resident.last).select_one(".govuk-error-summary__list").get_text(strip=True)
    assert summary == questionnaire.question("heard_of_prevent").error.get(language)
    resident.answer("heard_of_prevent", "yes")
    resident.answer("prevent_purpose", ["dont_know", "policing"])
    message = page(resident.last).select_one(".govuk-error-message").get_text(strip=True)
    label = questionnaire.question("prevent_purpose").exclusive_option.label.get(language)
    assert label in message
    assert "on its own" not in message


def test_a_missing_translation_falls_back_to_english_marked_as_english(app, runner, demo):
    data = yaml.safe_load(QUESTIONNAIRE.read_text(encoding="utf-8"))
    data["version"] += 1
    question = data["questions"][0]
    del question["text"]["pl"]
    del question["options"][0]["label"]["pl"]
    with app.app_context():
        from survey.extensions import db
        from survey.services.questionnaires import load_questionnaire

        load_questionnaire(db.session, yaml.safe_dump(data, allow_unicode=True), filename="t")
        db.session.commit()
    client = app.test_client()
    resident = Resident(client, demo)
    resident.get(f"/s/{resident.code}?lang=pl")
    resident.start()
    resident.get(f"/s/{resident.code}/q/{question['id']}")
    soup = page(resident.last)
    assert soup.select_one("html")["lang"] == "pl"
    legend = soup.select_one("legend span[lang=en]")
    assert legend is not None and legend.get_text() == question["text"]["en"]
    first = soup.select_one(".govuk-radios__label span[lang=en]")
    assert first is not None and first.get_text() == question["options"][0]["label"]["en"]
    second = soup.select(".govuk-radios__label")[1]
    assert second.select_one("[lang]") is None  # translated: nothing marked


def test_an_interface_string_without_a_translation_is_marked_english(app):
    from flask import g

    from survey.i18n import ui

    with app.test_request_context("/"):
        g.language = "pl"
        assert ui("Continue") == "Dalej"
        assert ui("A sentence nobody has translated") == (
            '<span lang="en">A sentence nobody has translated</span>'
        )
        assert ui("Enter a whole number from %(low)s to %(high)s", low=0, high="<b>") == (
            "Wpisz liczbę całkowitą od 0 do &lt;b&gt;"
        )


def test_only_allowed_translation_statuses_are_offered(make_app, runner):
    app = make_app(LANGUAGE_STATUSES=("reviewed",))
    app.test_cli_runner().invoke(args=["demo", "--synthetic-responses", "0"])
    code = "demo"
    resident = Resident(app.test_client(), code)
    resident.get(f"/s/{code}?lang=ur")
    assert html(resident) == ("en", "ltr")
    assert page(resident.last).select("nav.app-languages") == []
    resident.get("/privacy?lang=pl")
    assert html(resident) == ("en", "ltr")


def test_an_unreviewed_translation_says_so_to_the_resident(resident):
    resident.get(f"/s/{resident.code}?lang=pl")
    notice = page(resident.last).select_one(".govuk-inset-text").get_text(strip=True)
    assert "nie zostało jeszcze sprawdzone" in notice
    resident.get(f"/s/{resident.code}?lang=en")
    assert "checked by a fluent speaker" not in resident.last.get_data(as_text=True)


def test_hostile_language_codes_are_ignored(resident, bad_inputs):
    for value in [*bad_inputs["sql_injection"], "../../etc/passwd", "en-GB", "x" * 5000]:
        response = resident.get(f"/s/{resident.code}", query_string={"lang": value})
        assert response.status_code == 200
        assert html(resident) == ("en", "ltr")


def test_staff_pages_stay_in_english_after_a_resident_language_is_chosen(app, client, demo):
    create_staff(app, "officer@example.org", "officer")
    client.get(f"/s/{demo}?lang=ur")
    sign_in(client, "officer@example.org")
    root = page(client.get("/staff/links")).select_one("html")
    assert (root["lang"], root["dir"]) == ("en", "ltr")


def test_analysts_can_break_estimates_down_by_language(app, client, demo, db_session):
    with app.app_context():
        from survey.demo import load_synthetic_responses
        from survey.extensions import db
        from survey.services.questionnaires import latest_version, questionnaire_for

        version = latest_version(db.session, "prevent-awareness")
        load_synthetic_responses(db.session, questionnaire_for(version), version.id, 300)
        db.session.commit()
    for language in ("pl", "ur"):
        for _ in range(12 if language == "pl" else 3):
            resident = Resident(app.test_client(), demo)
            resident.get(f"/s/{demo}?lang={language}")
            resident.complete()
            resident.submit()
    counts = dict(
        db_session.execute(
            select(Response.language, func.count()).group_by(Response.language)
        ).all()
    )
    assert counts == {"en": 300, "pl": 12, "ur": 3}
    create_staff(app, "analyst@example.org", "analyst")
    sign_in(client, "analyst@example.org")
    query = "indicator=aware&by=language&weighted=no"
    assert client.get(f"/staff/analysis?{query}").status_code == 200
    body = client.get(f"/staff/analysis/download.csv?{query}").data.decode("utf-8-sig")
    rows = {row["language"]: row for row in csv.DictReader(io.StringIO(body))}
    assert rows["en"]["language_label"] == "English" and rows["pl"]["language_label"] == "Polish"
    assert rows["en"]["estimate"] != ""  # 300 respondents: an estimate
    assert "ur" not in rows or rows["ur"]["disclosure"].startswith("suppressed")  # 3: hidden


@pytest.mark.parametrize("language", declared_languages())
def test_error_pages_render_in_every_language(app, language):
    """The pages a walk cannot easily reach: closed and not-yet-open links, 413, 429, 500,
    and the database being down, on a GET and on a POST."""
    from flask import g, render_template

    pages = [
        ("errors/closed.html", {"not_yet_open": False}, "GET"),
        ("errors/closed.html", {"not_yet_open": True}, "GET"),
        ("errors/http.html", {"code": 413}, "POST"),
        ("errors/http.html", {"code": 429}, "GET"),
        ("errors/500.html", {}, "GET"),
        ("errors/database.html", {}, "GET"),
        ("errors/database.html", {}, "POST"),
    ]
    for template, context, method in pages:
        with app.test_request_context("/s/demo", method=method):
            g.language = language
            body = render_template(template, **context)
        root = page_of(body).select_one("html")
        assert (root["lang"], root["dir"]) == (language, direction_of(language))
        heading = page_of(body).select_one("h1").get_text(strip=True)
        if language != "en":
            with app.test_request_context("/s/demo", method=method):
                g.language = "en"
                plain = page_of(render_template(template, **context)).select_one("h1")
            assert heading != plain.get_text(strip=True), (template, context)


def page_of(body: str):
    from bs4 import BeautifulSoup

    return BeautifulSoup(body, PARSER)


def direction_of(language: str) -> str:
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"
