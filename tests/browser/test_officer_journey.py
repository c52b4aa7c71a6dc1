"""From `make run`: the demo officer creates a link, downloads its QR code, a resident
completes the survey through it, and the officer sees the count and coverage change."""

from __future__ import annotations

from analysis.perturbation import MAX_NOISE
from tests.browser.test_resident_keyboard import answer_current_question


def test_officer_link_to_resident_response_to_count_and_coverage(browser, live_server):
    email, password = live_server.credentials["officer"]
    officer = browser.new_context(viewport={"width": 1024, "height": 800}, accept_downloads=True)
    page = officer.new_page()
    page.goto(live_server + "/staff/links")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button:has-text('Sign in')")
    page.click("text=Create a link")
    page.fill("#label", "Library coffee morning")
    page.select_option("#channel", "event")
    page.select_option("#borough", "E09000012")
    page.click("button:has-text('Create link')")
    address = page.locator("#link-address").inner_text().strip()
    assert address.startswith(live_server + "/s/")
    # The copy button puts exactly the address on the clipboard.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("button:has-text('Copy address')")
    page.locator(".app-copy__status").filter(has_text="copied").wait_for(timeout=5000)
    assert page.locator(".app-copy__status").inner_text() == "Address copied"
    assert page.evaluate("navigator.clipboard.readText()") == address
    assert "fewer than 10" in page.locator("main").inner_text()
    with page.expect_download() as download:
        page.click("text=Download QR code (PNG, for print)")
    assert download.value.suggested_filename.endswith(".png")
    coverage_before = _hackney_count(page, live_server)

    resident = browser.new_context(viewport={"width": 360, "height": 740})
    survey = resident.new_page()
    survey.goto(address)
    survey.click("#start-button")
    asked_borough = False
    for _ in range(30):
        if "/check-answers" in survey.url:
            break
        if survey.url.endswith("/q/borough"):
            # The link is used in Hackney, and the resident is still asked where they live.
            asked_borough = True
            survey.select_option("select[name=answer]", "E09000012")
            survey.click("main button.govuk-button")
            continue
        answer_current_question(survey)
    assert asked_borough
    survey.click("#submit-button")
    assert survey.locator(".govuk-panel__title").inner_text() == "Your answers have been sent"
    resident.close()

    page.goto(live_server + "/staff/links")
    row = page.locator("tbody tr", has_text="Library coffee morning")
    assert row.locator("td").nth(3).inner_text() == "[c] fewer than 10"
    # `make run` loads synthetic demo responses, so Hackney's count is shown, and one more
    # resident there moves it by one plus new noise: at most 4 either way, drawn afresh by
    # the new cell key.
    after = int(_hackney_count(page, live_server).replace(",", ""))
    assert abs(after - int(coverage_before.replace(",", "")) - 1) <= 2 * MAX_NOISE
    officer.close()


def _hackney_count(page, live_server) -> str:
    page.goto(live_server + "/staff/coverage")
    row = page.locator("table").first.locator("tbody tr", has_text="Hackney")
    return row.locator("td").first.inner_text()
