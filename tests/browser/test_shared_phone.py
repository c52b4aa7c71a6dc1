"""A shared phone, in Chromium: after "Exit this page" (button, Shift three times, or the
plain link without JavaScript), "Clear my answers" or sending, pressing Back shows the next
person nothing of the resident's. And the journey in every language: axe clean, nothing
scrolling sideways at 320 px, header and footer translated, a short check answers page,
tappable phone numbers."""

from __future__ import annotations

import pytest

from tests.browser.audit import problems_on
from tests.browser.test_resident_keyboard import answer_current_question, no_horizontal_scroll

NARROW = {"width": 320, "height": 640}
PHONE = {"width": 375, "height": 667}
HEADER = {
    "en": "London Prevent awareness survey",
    "pl": "Londyńska ankieta o znajomości programu Prevent",
    "bn": "লন্ডনের Prevent সচেতনতা জরিপ",
    "ur": "لندن Prevent آگاہی سروے",
}


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport=PHONE)
    yield context
    context.close()


def neutral(base: str) -> str:
    """Where the browser tests' server sends "Exit this page" (tests/browser/conftest.py)."""
    return base.replace("127.0.0.1", "localhost") + "/"


def start_and_answer_first_question(page, base: str) -> None:
    page.goto(base + "/s/demo")
    page.click("#start-button")
    page.check("input[name=answer][value=yes]")
    with page.expect_navigation():
        page.click("main button.govuk-button")
    assert "/q/" in page.url


def shows_nothing_of_the_resident(page) -> None:
    """Where Back lands: the start page, offering a fresh start, with no answer on screen."""
    page.wait_for_load_state()
    assert page.url.endswith("/s/demo"), page.url
    assert page.inner_text("#start-button") == "Start now"
    assert page.locator("input:checked").count() == 0
    assert page.locator("#clear-button").count() == 0


def test_exit_button_deletes_the_answers_and_back_shows_nothing(context, live_server):
    page = context.new_page()
    start_and_answer_first_question(page, live_server)
    with page.expect_navigation(url=neutral(live_server)):
        page.click(".govuk-exit-this-page__button")
    page.go_back()
    shows_nothing_of_the_resident(page)
    page.go_back()  # and further back: the first question, answered before
    shows_nothing_of_the_resident(page)


def test_pressing_shift_three_times_exits(context, live_server):
    page = context.new_page()
    start_and_answer_first_question(page, live_server)
    page.locator("main").click(position={"x": 1, "y": 1})
    with page.expect_navigation(url=neutral(live_server)):
        for _ in range(3):
            page.keyboard.press("Shift")
    page.go_back()
    shows_nothing_of_the_resident(page)


def test_the_exit_link_works_without_javascript(browser, live_server):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    start_and_answer_first_question(page, live_server)
    with page.expect_navigation(url=neutral(live_server)):
        page.click(".govuk-exit-this-page__button")
    page.go_back()
    shows_nothing_of_the_resident(page)
    context.close()


def complete(page, base: str, language: str = "en") -> list[str]:
    """Answer every question; return the problems axe and the 320 px check found."""
    problems: list[str] = []
    page.goto(f"{base}/s/demo?lang={language}")
    problems += audit(page, f"start ({language})")
    page.click("#start-button")
    for _ in range(30):
        if "/check-answers" in page.url:
            break
        problems += audit(page, f"{page.url} ({language})")
        answer_current_question(page)
    problems += audit(page, f"check answers ({language})")
    return problems


def audit(page, label: str) -> list[str]:
    page.wait_for_load_state()
    problems = problems_on(page, label)
    if page.locator(".govuk-exit-this-page__button").count() != 1:
        problems.append(f"{label}: no Exit this page button")
    if not no_horizontal_scroll(page):
        problems.append(f"{label}: scrolls sideways")
    return problems


def test_clear_my_answers_then_back_shows_nothing(context, live_server):
    page = context.new_page()
    assert not complete(page, live_server)
    with page.expect_navigation():
        page.click("#clear-button")
    assert "Your answers have been deleted" in page.inner_text(".govuk-notification-banner")
    assert not audit(page, "start page after clearing")
    page.go_back()
    shows_nothing_of_the_resident(page)


def test_after_sending_back_shows_nothing(context, live_server):
    page = context.new_page()
    assert not complete(page, live_server)
    with page.expect_navigation():
        page.click("#submit-button")
    assert page.locator(".govuk-panel__title").count() == 1
    page.reload()  # the confirmation is shown once: the session has ended
    shows_nothing_of_the_resident(page)
    page.go_back()
    shows_nothing_of_the_resident(page)


@pytest.mark.parametrize("language", ["en", "pl", "bn", "ur"])
def test_the_whole_journey_in_each_language(browser, live_server, language):
    context = browser.new_context(viewport=NARROW)
    page = context.new_page()
    problems = complete(page, live_server, language)
    assert page.get_attribute("html", "lang") == language
    assert page.inner_text(".govuk-service-navigation__text") == HEADER[language]
    page.set_viewport_size(PHONE)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 4500, f"check answers is {height} px tall at 375 px"
    page.set_viewport_size(NARROW)
    with page.expect_navigation():
        page.click("#submit-button")
    problems += audit(page, f"confirmation ({language})")
    phones = page.locator("main a[href^='tel:']")
    assert [phones.nth(i).get_attribute("href") for i in range(phones.count())] == [
        "tel:101",
        "tel:999",
        "tel:0800789321",
    ]
    context.close()
    assert not problems, "\n".join(problems)


def test_the_current_language_uses_the_services_font(browser, live_server):
    context = browser.new_context(viewport=NARROW)
    page = context.new_page()
    page.goto(live_server + "/s/demo")
    fonts = page.evaluate(
        """() => [
          getComputedStyle(document.querySelector('.app-languages [aria-current]')).fontFamily,
          getComputedStyle(document.querySelector('.app-languages a')).fontFamily,
        ]"""
    )
    context.close()
    assert fonts[0] == fonts[1]
    assert "serif" not in fonts[0].replace("sans-serif", "")
