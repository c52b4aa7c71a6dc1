"""Every page and every error state, resident and staff, in Chromium at 320 px wide:
axe-core finds nothing, nothing scrolls sideways, targets are big enough, and errors
follow the GOV.UK pattern."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.audit import problems_on
from tests.browser.test_resident_keyboard import answer_current_question
from tests.routes import get_endpoints
from tests.staff import Phone

NARROW = {"width": 320, "height": 640}
# Endpoints that answer with a file or for machines, not a page a person reads.
NOT_PAGES = {
    "static",
    "health.healthz",
    "pages.leave",  # a redirect to the neutral site (tests/browser/test_shared_phone.py)
    "links.qr_png",
    "links.qr_svg",
    "analyst.download",
    "analyst.trend_download",
    "analyst.least_reached_download",
    "admin.microdata_file",
    "admin.codebook_csv",
    "results.latest",  # a redirect to the newest release
    "results.data",
    "results.document",
    "results.feed",
}


class Walk:
    """Visits pages, auditing each, and remembers which endpoints it has seen."""

    def __init__(self, page, base: str, app) -> None:
        self.page = page
        self.base = base
        self.adapter = app.url_map.bind("localhost")
        self.problems: list[str] = []
        self.seen: set[str] = set()

    def audit(self, label: str | None = None) -> None:
        self.page.wait_for_load_state()
        path = self.page.url.removeprefix(self.base).split("?", 1)[0]
        try:
            self.seen.add(self.adapter.match(path, method="GET")[0])
        except Exception:  # noqa: BLE001 - a 404 page has no endpoint
            self.seen.add("404")
        self.problems += problems_on(self.page, label or path)

    def visit(self, path: str, label: str | None = None) -> None:
        self.page.goto(self.base + path)
        self.audit(label)


@pytest.fixture(scope="module")
def flask_app():
    from survey import create_app

    return create_app({"SURVEY_ENV": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def sign_in(page, base: str, credentials: tuple[str, str]) -> None:
    page.goto(base + "/staff/sign-in")
    page.fill("#email", credentials[0])
    page.fill("#password", credentials[1])
    page.click("button:has-text('Sign in')")


def check_error_pattern(page, walk: Walk, label: str, kept: dict[str, str] | None = None):
    """Title starts "Error: ", the summary has focus and links to each field with an error,
    and what the person entered is still there."""
    page.wait_for_load_state()
    assert page.title().startswith("Error: "), (label, page.title())
    focused = page.evaluate("document.activeElement.classList.contains('govuk-error-summary')")
    assert focused, f"{label}: the error summary does not have focus"
    links = page.locator(".govuk-error-summary__list a")
    assert links.count() >= 1, label
    for i in range(links.count()):
        target = links.nth(i).get_attribute("href")
        assert target.startswith("#") and page.locator(target).count() == 1, (label, target)
    for selector, value in (kept or {}).items():
        assert page.input_value(selector) == value, (label, selector)
    walk.audit(label)


def test_every_resident_page_and_error_state(browser, live_server, flask_app):
    context = browser.new_context(viewport=NARROW)
    page = context.new_page()
    walk = Walk(page, live_server, flask_app)
    for path in (
        "/",
        "/privacy",
        "/privacy?survey=demo",
        "/accessibility",
        "/s/demo",
        "/s/no-such-link",
    ):
        walk.visit(path)
    page.goto(live_server + "/s/demo")
    page.click("#start-button")
    errors_seen: set[str] = set()
    for _ in range(30):
        if "/check-answers" in page.url:
            break
        walk.audit()
        kind = _question_kind(page)
        if kind not in errors_seen and kind in {"radio", "checkbox", "number", "select", "text"}:
            errors_seen.add(kind)
            _answer_badly(page, kind)
            check_error_pattern(page, walk, f"{page.url} error ({kind})", _kept(kind))
            first_link = page.locator(".govuk-error-summary__list a").first
            first_link.click()
            assert page.evaluate("document.activeElement.name") == "answer"
            for field in _kept(kind):
                page.fill(field, "")
        answer_current_question(page)
    walk.audit("check answers")
    page.click("#submit-button")
    walk.audit("confirmation")
    context.close()
    assert errors_seen == {"radio", "checkbox", "number", "select", "text"}
    assert not walk.problems, "\n".join(walk.problems)


def _question_kind(page) -> str:
    for kind, selector in (
        ("radio", "input[type=radio][name=answer]"),
        ("checkbox", "input[type=checkbox][name=answer]"),
        ("select", "select[name=answer]"),
        ("number", "input[name=answer][inputmode=numeric]"),
        ("text", "textarea[name=answer], input[name=answer]"),
    ):
        if page.locator(selector).count():
            return kind
    return "information"


TOO_LONG = "Too long. " * 120  # over the free-text question's 1,000 characters


def _answer_badly(page, kind: str) -> None:
    if kind == "number":
        page.fill("input[name=answer]", "twelve")
    if kind == "text":
        page.fill("textarea[name=answer]", TOO_LONG)
    page.click("main button.govuk-button")


def _kept(kind: str) -> dict[str, str]:
    if kind == "number":
        return {"input[name=answer]": "twelve"}
    if kind == "text":
        return {"textarea[name=answer]": TOO_LONG}
    return {}


@pytest.mark.parametrize(
    ("template", "context"),
    [
        ("errors/500.html", {}),
        ("errors/database.html", {}),
        ("errors/http.html", {"title": "Your answer is too long", "code": 413}),
        ("errors/http.html", {"title": "Too many attempts", "code": 429}),
        ("errors/closed.html", {"not_yet_open": True}),
        ("auth/busy.html", {}),
        ("errors/too_long.html", {"limit": 30}),
    ],
)
def test_error_pages_the_walks_cannot_cause(browser, live_server, flask_app, template, context):
    """Pages for failures a healthy server will not produce on demand, rendered by the app
    and shown in the browser on the live site, so its styles and scripts apply."""
    from flask import render_template

    with flask_app.test_request_context("/s/demo"):
        html = render_template(template, **context)
    page = browser.new_context(viewport=NARROW).new_page()
    page.goto(live_server + "/s/demo")
    page.set_content(html)
    problems = problems_on(page, f"{template} {context}")
    page.context.close()
    assert not problems, "\n".join(problems)


def test_every_staff_page_and_error_state(browser, live_server, flask_app):
    context = browser.new_context(viewport=NARROW)
    page = context.new_page()
    walk = Walk(page, live_server, flask_app)
    walk.visit("/staff/sign-in")
    page.fill("#email", "nobody@example.org")
    page.fill("#password", "not the password")
    page.click("button:has-text('Sign in')")
    check_error_pattern(page, walk, "sign-in error", {"#email": "nobody@example.org"})

    sign_in(page, live_server, live_server.credentials["admin"])
    for path in (
        "/staff",
        "/staff/links",
        "/staff/coverage",
        "/staff/coverage?period=all",
        "/staff/coverage/borough/E09000030",
        "/staff/analysis",
        "/staff/analysis?by=age_band&by2=sex",
        "/staff/analysis?weighted=no&by=ethnicity",
        "/staff/analysis/weighting",
        "/staff/analysis/trends",
        "/staff/analysis/trends?by=sex&periods=rolling",
        "/staff/analysis/least-reached",
        "/staff/admin/users",
        "/staff/admin/audit",
        "/staff/admin/audit?action=sign_in_failed&person=nobody",
        "/staff/analysis?by=borough&link_boroughs=yes",
        "/staff/admin/population",
        "/staff/admin/microdata",
        "/staff/releases",
        "/staff/releases/1",  # the demo's preview: synthetic, never publishable
        "/staff/releases/1/edit",
        "/staff/account",
    ):
        walk.visit(path)

    walk.visit("/staff/account/password")
    page.click("main button.govuk-button")
    check_error_pattern(page, walk, "change password error")

    walk.visit("/staff/releases/new")
    for box in page.locator("input[name=indicators]").all():
        box.uncheck()
    page.click("button:has-text('Save and work out the figures')")
    check_error_pattern(page, walk, "new release error")
    page.locator("input[name=indicators]").first.check()
    page.click("button:has-text('Save and work out the figures')")
    assert "/staff/jobs/" in page.url  # the request answers at once; a job does the work
    walk.audit("release being prepared (job status)")
    page.wait_for_url("**/staff/releases/*", timeout=60_000)  # it reloads itself until done
    walk.audit("prepared release")

    walk.visit("/staff/links/new")
    page.click("button:has-text('Create link')")
    check_error_pattern(page, walk, "new link error")
    page.fill("#label", "Accessibility walk")
    page.select_option("#channel", "event")
    page.click("button:has-text('Create link')")
    walk.audit("link detail")
    detail = page.url
    page.click("text=Printable poster")
    walk.audit("poster")
    page.check("#language-2")
    page.check("#size-2")
    page.click("button:has-text('Show the poster')")
    walk.audit("poster in two languages, A5")
    page.goto(detail)
    code = page.locator("#link-address").inner_text().strip().rsplit("/", 1)[1]
    page.click("text=Close this link")
    walk.audit("close link confirmation")
    page.click("button:has-text('Yes, close this link')")
    walk.audit("closed link detail")
    walk.visit(f"/s/{code}", "closed survey link (410)")

    walk.visit("/staff/admin/users/new")
    page.fill("#email", "not an email")
    page.click("main button.govuk-button")
    check_error_pattern(page, walk, "new user error", {"#email": "not an email"})
    page.fill("#email", "walker@example.org")
    page.click("main button.govuk-button")
    walk.audit("new account: its set-password link")
    page.goto(live_server + "/staff/admin/users")
    walker = page.locator("tr", has_text="walker@example.org")
    walker.locator("a:has-text('Send a new set-password link')").click()
    walk.audit("reset password confirmation")
    page.click("button:has-text('Yes, reset the password')")
    walk.audit("password reset: the new link")
    page.goto(live_server + "/staff/admin/users")
    page.locator("tr", has_text="walker@example.org").locator("a:has-text('Disable')").click()
    walk.audit("disable confirmation")
    page.click("button:has-text('Yes, disable it')")
    walk.audit("account disabled")

    page.goto(live_server + "/staff/admin/population")
    page.click("button:has-text('Upload')")
    check_error_pattern(page, walk, "population upload error")

    page.goto(live_server + "/staff/admin/audit?since-day=31&since-month=2&since-year=2026")
    check_error_pattern(page, walk, "audit log date error", {"#since-day": "31"})

    for role in ("officer", "analyst"):
        other = browser.new_context(viewport=NARROW)
        staff_page = other.new_page()
        sign_in(staff_page, live_server, live_server.credentials[role])
        role_walk = Walk(staff_page, live_server, flask_app)
        role_walk.audit(f"{role} home")
        role_walk.visit("/staff/admin/users", f"{role} refused (403)")
        walk.problems += role_walk.problems
        other.close()
    context.close()
    assert not walk.problems, "\n".join(walk.problems)


def test_every_results_page_in_every_language(browser, published_server, flask_app):
    """The public results: the index, a release (figures, maps, tables) and its methods,
    in each language, at 320 px; and a staff member's view of a published release."""
    context = browser.new_context(viewport=NARROW)
    page = context.new_page()
    walk = Walk(page, published_server, flask_app)
    for language in ("en", "pl", "bn", "ur"):
        for path in ("/results", "/results/3", "/results/3/methods"):
            walk.visit(f"{path}?lang={language}", f"{path} in {language}")
    sign_in(page, published_server, published_server.credentials["admin"])
    walk.visit("/staff/releases/3", "published release, staff view")
    walk.visit("/staff/releases/4/withdraw", "withdraw an approval: confirmation")
    context.close()
    assert not walk.problems, "\n".join(walk.problems)


def test_a_release_reads_with_a_keyboard_alone_and_without_javascript(browser, published_server):
    """Tab reaches every link in order with a visible focus; with JavaScript off the page
    shows the same figures."""
    context = browser.new_context(viewport=NARROW)
    page = context.new_page()
    page.goto(published_server + "/results/3")
    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return [e.getAttribute('href') || '', s.outlineStyle !== 'none'"
            " || s.boxShadow !== 'none' || s.backgroundColor !== 'rgba(0, 0, 0, 0)']; })()"
        )
        reached.append(focused[0])
        assert focused[1], f"no visible focus on {focused[0]}"
        if focused[0].endswith("/data.csv"):
            break
    assert reached[-1].endswith("/data.csv"), reached
    figures = page.locator(".app-headline__figure").all_inner_texts()
    context.close()
    plain = browser.new_context(viewport=NARROW, java_script_enabled=False)
    page = plain.new_page()
    page.goto(published_server + "/results/3")
    assert page.locator(".app-headline__figure").all_inner_texts() == figures
    assert len(figures) == 2 and all(f.endswith("%") for f in figures)
    plain.close()


def test_staff_accounts_from_the_emailed_link_to_a_recovery_code(
    browser, accounts_server, flask_app
):
    """An administrator (who must have an authenticator) adds an officer; the officer opens
    the emailed link (read from the SMTP server), chooses a password, sets up an
    authenticator (each code worked out here from the key the page shows), signs out and
    in with a code, and uses a recovery code once (a second use is refused); the used link
    is refused with a clear page. Every page and error state is audited at 320 px."""
    base = accounts_server
    admin = browser.new_context(viewport=NARROW).new_page()
    walk = Walk(admin, base, flask_app)
    sign_in(admin, base, base.credentials["admin"])
    assert admin.url == base + "/staff/two-factor"
    walk.audit("set up an authenticator (required)")
    admin.click("main button.govuk-button")
    check_error_pattern(admin, walk, "set-up error")
    admin_phone = Phone(admin.locator("#totp-key").inner_text())
    admin.fill("#code", admin_phone.code())
    admin.click("main button.govuk-button")
    walk.audit("recovery codes")
    assert admin.locator("#recovery-codes li").count() == 10
    admin.click("text=I have saved my codes: continue")
    assert admin.url == base + "/staff"

    walk.visit("/staff/admin/users/new")
    admin.fill("#email", "officer.walk@example.org")
    admin.select_option("#role", "officer")
    admin.click("main button.govuk-button")
    walk.audit("account created: link emailed")
    assert "We have emailed officer.walk@example.org" in " ".join(admin.inner_text("main").split())
    link = base.mailbox.link_for("officer.walk@example.org")

    officer = browser.new_context(viewport=NARROW).new_page()
    officer_walk = Walk(officer, base, flask_app)
    officer.goto(base + link)
    assert officer.url == base + "/staff/set-password"  # the token left the address bar
    officer_walk.audit("choose your password")
    officer.fill("#password", "a kettle of quiet herons 7")
    officer.fill("#confirm", "a kettle of quiet herons 8")
    officer.click("main button.govuk-button")
    check_error_pattern(officer_walk.page, officer_walk, "passwords differ")
    officer.fill("#password", "a kettle of quiet herons 7")
    officer.fill("#confirm", "a kettle of quiet herons 7")
    officer.click("main button.govuk-button")
    officer_walk.audit("password set: sign in")
    credentials = ("officer.walk@example.org", "a kettle of quiet herons 7")
    sign_in(officer, base, credentials)
    assert officer.url == base + "/staff"  # officers need no second factor
    officer_walk.visit("/staff/account")
    officer.click("main a:has-text('Set up')")
    assert officer.url == base + "/staff/two-factor"
    phone = Phone(officer.locator("#totp-key").inner_text())
    officer.fill("#code", phone.code())
    officer.click("main button.govuk-button")
    expect(officer.locator("#recovery-codes li")).to_have_count(10)  # wait for the page
    codes = officer.locator("#recovery-codes li").all_inner_texts()
    officer.click("text=I have saved my codes: continue")

    def sign_in_with(code: str) -> None:
        officer.click("button:has-text('Sign out')")
        sign_in(officer, base, credentials)
        assert officer.url == base + "/staff/sign-in/code"
        officer.fill("#code", code)
        officer.click("main button.govuk-button")

    sign_in_with(phone.code())
    assert officer.url == base + "/staff"
    officer.click("button:has-text('Sign out')")
    sign_in(officer, base, credentials)
    officer_walk.audit("enter your code")
    officer.fill("#code", "000000")
    officer.click("main button.govuk-button")
    check_error_pattern(officer, officer_walk, "wrong code")
    officer.fill("#code", codes[0])
    officer.click("main button.govuk-button")
    assert officer.url == base + "/staff"
    sign_in_with(codes[0])
    assert officer.url == base + "/staff/sign-in/code"  # a recovery code works once
    assert "unused recovery code" in officer.inner_text(".govuk-error-summary")

    officer.goto(base + link)
    officer_walk.audit("a used link")
    assert "This link has already been used" in officer.inner_text("h1")

    admin.goto(base + "/staff/admin/users")
    admin.locator("tr", has_text="officer.walk@example.org").locator(
        "a:has-text('Remove authenticator app')"
    ).click()
    walk.audit("remove an authenticator: confirmation")
    admin.click("button:has-text('Yes, remove it')")
    walk.audit("authenticator removed")
    admin.context.close()
    officer.context.close()
    assert not walk.problems + officer_walk.problems, "\n".join(
        walk.problems + officer_walk.problems
    )


def test_the_walks_cover_every_page(flask_app):
    """A new page must be added to the walks above, or this fails."""
    walked = set()
    source = Path(__file__).read_text()  # this module's own paths
    for path in re.findall(r'"(/[A-Za-z0-9/_.?=&-]*)"', source):
        try:
            walked.add(flask_app.url_map.bind("localhost").match(path.split("?")[0])[0])
        except Exception:  # noqa: BLE001, S112 - a path that is not a route
            continue
    reached_by_clicks = {
        "respond.question",
        "respond.check_answers",
        "respond.confirmation",
        "links.new",
        "links.detail",
        "links.poster",
        "links.confirm_close",
        "admin.new_user",
        "admin.disable_user",
        "admin.reset_password",
        "admin.reset_second_factor",
        "auth.set_password",
        "jobs.status",
    }
    missing = set(get_endpoints(flask_app)) - NOT_PAGES - walked - reached_by_clicks
    assert not missing, f"add these pages to the accessibility walk: {sorted(missing)}"


def test_the_survey_in_urdu_reads_right_to_left(browser, live_server, flask_app):
    """The whole journey in Urdu: axe finds nothing, and controls sit on the right."""
    context = browser.new_context(viewport=NARROW)
    page = context.new_page()
    walk = Walk(page, live_server, flask_app)
    walk.visit("/s/demo?lang=ur", "start page in Urdu")
    assert page.get_attribute("html", "dir") == "rtl"
    page.click("#start-button")
    mirrored: set[str] = set()
    for _ in range(30):
        if "/check-answers" in page.url:
            break
        assert page.get_attribute("html", "lang") == "ur", page.url
        walk.audit(f"{page.url} in Urdu")
        for kind in ("radios", "checkboxes"):
            if page.locator(f".govuk-{kind}__input").count():
                control = page.locator(f".govuk-{kind}__input").first.bounding_box()
                ring = page.evaluate(RING_LEFT, f".govuk-{kind}__label")
                label = page.locator(f".govuk-{kind}__label").first.bounding_box()
                # the input, the ring drawn for it and the label text all mirrored
                assert control["x"] > label["x"], (page.url, kind)
                assert abs(ring - control["x"]) < control["width"], (page.url, kind, ring)
                mirrored.add(kind)
        back = page.locator(".govuk-back-link")
        arrow = page.evaluate(ARROW_LEFT)
        box = back.bounding_box()
        assert arrow > box["x"] + box["width"] / 2, "the back arrow is not on the right"
        answer_current_question(page)
    walk.audit("check answers in Urdu")
    page.click("#submit-button")
    walk.audit("confirmation in Urdu")
    context.close()
    assert mirrored == {"radios", "checkboxes"}
    assert not walk.problems, "\n".join(walk.problems)


# Where the first label's drawn ring (its ::before box) starts, in page pixels: Chromium
# gives the used offset of a positioned box, from its item's left edge.
RING_LEFT = """(selector) => {
  const label = document.querySelector(selector);
  const item = label.parentElement.getBoundingClientRect();
  return item.left + parseFloat(getComputedStyle(label, '::before').left);
}"""

# Where the back link's arrow (its ::before box) starts, in page pixels.
ARROW_LEFT = """() => {
  const link = document.querySelector('.govuk-back-link');
  return link.getBoundingClientRect().left + parseFloat(getComputedStyle(link, '::before').left);
}"""
