"""A sensitive topic on a shared phone: "Exit this page", "Clear my answers", and a
confirmation page that ends the session, so the next person holding the phone finds
nothing of the resident's."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Draft
from survey.services.questionnaires import load_questionnaire
from tests.conftest import PROJECT
from tests.resident import page

EXIT_URL = "https://www.bbc.co.uk/weather"


def drafts(db_session) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(Draft))


def exit_link(response):
    return page(response).select_one(".govuk-exit-this-page a.govuk-exit-this-page__button")


@pytest.mark.parametrize("path", ["/s/demo", "/s/demo/q/heard_of_prevent", "/s/demo/check-answers"])
def test_every_resident_page_offers_exit_this_page(resident, path):
    resident.complete()
    link = exit_link(resident.get(path))
    assert link is not None, path
    assert link["href"] == "/leave"
    assert link.get_text(" ", strip=True) == "Emergency Exit this page"


@pytest.mark.parametrize(
    ("language", "text", "shift"),
    [
        ("pl", "Pilne: Opuść tę stronę", "Naciśnij Shift jeszcze 2 razy, aby wyjść."),
        ("bn", "জরুরি: এই পাতা থেকে বেরিয়ে যান", "বেরোতে Shift আরও ২ বার চাপুন।"),
        ("ur", "ہنگامی: یہ صفحہ چھوڑ دیں", "باہر نکلنے کے لیے Shift مزید 2 بار دبائیں۔"),
    ],
)
def test_exit_this_page_speaks_the_residents_language(resident, language, text, shift):
    response = resident.get(f"/s/demo?lang={language}")
    assert exit_link(response).get_text(" ", strip=True) == text
    component = page(response).select_one(".govuk-exit-this-page")
    assert component["data-i18n.press-two-more-times"] == shift


def test_leaving_deletes_the_draft_and_session_then_goes_to_a_neutral_site(
    resident, client, db_session
):
    resident.start()
    resident.answer("heard_of_prevent", "yes")
    assert drafts(db_session) == 1
    response = client.get("/leave")
    assert response.status_code == 303
    assert response.headers["Location"] == EXIT_URL
    assert response.headers["Clear-Site-Data"] == '"cache"'
    assert "survey_session=;" in response.headers["Set-Cookie"]  # the cookie is deleted
    assert drafts(db_session) == 0
    start = page(client.get("/s/demo"))
    assert start.select_one("#start-button").get_text(strip=True) == "Start now"
    # The question page no longer shows the answer: it sends the resident to the start.
    assert client.get("/s/demo/q/heard_of_prevent").status_code == 303


def test_the_neutral_site_is_a_setting(make_app, app, demo):
    client = make_app(EXIT_URL="https://www.example.org/news").test_client()
    assert client.get("/leave").headers["Location"] == "https://www.example.org/news"


def test_leaving_works_when_the_link_has_since_closed(resident, client, db_session):
    from survey.models import Link

    resident.start()
    db_session.scalar(select(Link).where(Link.code == "demo")).closed = True
    db_session.commit()
    assert client.get("/leave").status_code == 303
    assert drafts(db_session) == 0


def test_a_questionnaire_that_does_not_ask_for_it_has_no_exit_button(app, demo, client):
    data = yaml.safe_load((PROJECT / "questionnaires" / "prevent-awareness.yaml").read_text())
    data["version"] += 1
    data["exit_this_page"] = False
    with app.app_context():
        load_questionnaire(db.session, yaml.safe_dump(data, allow_unicode=True), filename="q.yaml")
        db.session.commit()
    assert exit_link(client.get("/s/demo")) is None


@pytest.mark.parametrize("where", ["/s/demo", "/s/demo/check-answers"])
def test_clear_my_answers_deletes_them(resident, client, db_session, where):
    resident.complete()
    form = page(resident.get(where)).select_one("form[action='/s/demo/clear']")
    assert form is not None, where
    token = form.select_one("input[name=csrf_token]")["value"]
    response = client.post("/s/demo/clear", data={"csrf_token": token})
    assert response.status_code == 303
    assert drafts(db_session) == 0
    start = page(client.get(response.headers["Location"]))
    banner = start.select_one(".govuk-notification-banner--success")
    assert "Your answers have been deleted" in banner.get_text()
    assert start.select_one("#start-button").get_text(strip=True) == "Start now"
    assert client.get("/s/demo/check-answers").headers["Location"].endswith("/s/demo")


def test_clear_is_offered_only_when_there_is_something_to_clear(resident):
    assert page(resident.get("/s/demo")).select_one("#clear-button") is None
    resident.start()
    assert page(resident.get("/s/demo")).select_one("#clear-button") is not None


def test_clear_keeps_the_residents_language(resident, client):
    resident.get("/s/demo?lang=pl")
    resident.start()
    token = page(resident.get("/s/demo")).select_one("input[name=csrf_token]")["value"]
    response = client.post("/s/demo/clear", data={"csrf_token": token})
    assert "lang=pl" in response.headers["Location"]
    banner = page(client.get(response.headers["Location"])).select_one(
        ".govuk-notification-banner__heading"
    )
    assert banner.get_text(strip=True) == "Twoje odpowiedzi zostały usunięte"


def test_the_confirmation_page_ends_the_session(resident, client):
    resident.complete()
    done = resident.submit()
    confirmation = client.get(done.headers["Location"])
    assert confirmation.status_code == 200
    assert "survey_session=;" in confirmation.headers["Set-Cookie"]
    # Seen once: a reload, or the next person pressing Back, gets the start page.
    assert client.get(done.headers["Location"]).status_code == 303
    assert client.get("/s/demo/check-answers").headers["Location"].endswith("/s/demo")


def test_help_numbers_on_the_confirmation_page_can_be_tapped(resident, client):
    resident.get("/s/demo?lang=ur")
    resident.complete()
    done = resident.submit()
    links = page(client.get(done.headers["Location"])).select("a[href^='tel:']")
    assert [(a["href"], a.get_text()) for a in links] == [
        ("tel:101", "101"),
        ("tel:999", "999"),
        ("tel:0800789321", "0800 789 321"),
    ]


@pytest.mark.parametrize(
    ("language", "service", "organisation"),
    [
        ("en", "London Prevent awareness survey", "London community safety partnership"),
        ("pl", "Londyńska ankieta o znajomości programu Prevent", "Londyńskie partnerstwo"),
        ("bn", "লন্ডনের Prevent সচেতনতা জরিপ", "লন্ডন কমিউনিটি নিরাপত্তা অংশীদারিত্ব"),
        ("ur", "لندن Prevent آگاہی سروے", "لندن کمیونٹی سیفٹی پارٹنرشپ"),
    ],
)
def test_header_and_footer_speak_the_residents_language(
    client, demo, language, service, organisation
):
    soup = page(client.get(f"/s/demo?lang={language}"))
    header = soup.select_one(".govuk-service-navigation__text")
    assert header.get_text(strip=True) == service
    assert header.select_one("[lang]") is None  # translated, not English marked
    footer = soup.select_one(".govuk-footer").get_text(" ", strip=True)
    assert organisation in footer
    assert service in soup.title.get_text()


def test_a_name_the_catalogues_do_not_translate_stays_english_and_says_so(make_app, app, demo):
    client = make_app(SERVICE_NAME="Barnet listens").test_client()
    header = page(client.get("/s/demo?lang=pl")).select_one(".govuk-service-navigation__text")
    assert header.select_one("span[lang=en]").get_text() == "Barnet listens"


def test_check_answers_shows_each_answer_without_surrounding_space(resident):
    resident.complete({"anything_else": "First line\nsecond line"})
    soup = page(resident.get("/s/demo/check-answers"))
    values = [v.select_one(".app-answer") for v in soup.select(".govuk-summary-list__value")]
    shown = [value.decode_contents() for value in values]
    assert all(text == text.strip() for text in shown), shown
    assert "First line<br/>second line" in shown
