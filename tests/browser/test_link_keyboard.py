"""An officer closes a link and reopens it with a keyboard alone, at 320 px."""

from __future__ import annotations

from tests.browser.audit import problems_on


def _tab_to(page, text: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.innerText.trim()") == text:
            return
    raise AssertionError(f"Tab never reached {text!r}")


def test_close_and_reopen_a_link_with_the_keyboard(browser, live_server):
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    email, password = live_server.credentials["officer"]
    page.goto(live_server + "/staff/sign-in")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto(live_server + "/staff/links/new")
    page.fill("#label", "Keyboard stall")
    page.select_option("#channel", "event")
    page.fill("#opens_on-day", "1")
    page.fill("#opens_on-month", "1")
    page.fill("#opens_on-year", "2026")
    page.click("button:has-text('Create link')")
    detail = page.url
    problems = problems_on(page, "link detail")

    _tab_to(page, "Close this link")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "Are you sure" in page.locator("h1").inner_text()
    problems += problems_on(page, "close confirmation")
    _tab_to(page, "Yes, close this link")
    page.keyboard.press("Enter")
    page.wait_for_url(detail)
    assert "Link closed." in page.locator(".govuk-notification-banner").inner_text()
    problems += problems_on(page, "closed, with its banner")
    _tab_to(page, "Reopen this link")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Link reopened" in page.locator(".govuk-notification-banner").inner_text()
    assert "Open" in page.locator(".govuk-summary-list").inner_text()
    context.close()
    assert not problems, "\n".join(problems)
