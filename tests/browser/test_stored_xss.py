"""Stored XSS: every payload of the corpus in every field an author, officer, admin or
resident controls, then every page visited in Chromium by every role.

The browser context bypasses the Content-Security-Policy, so this tests the escaping
itself, not the policy that would also stop a script. Any dialog fails the test; no
element or attribute from a payload may appear in the page; the payloads show as text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.browser.conftest import serve

PROJECT = Path(__file__).resolve().parents[2]
CORPUS = json.loads((PROJECT / "tests" / "data" / "bad-inputs.json").read_text())
PAYLOADS = CORPUS["xss_and_template_injection"]
ALL = " ".join(PAYLOADS)
TEXT_KEYS = {"title", "introduction", "text", "hint", "error", "label"}

# Anything a payload would add: script without a source, handlers, frames, javascript: links.
INJECTED = """
() => {
  const found = [];
  document.querySelectorAll('*').forEach(el => {
    for (const attr of el.attributes) {
      if (attr.name.startsWith('on')) found.push(`${el.tagName} ${attr.name}`);
      const link = ['href', 'src', 'action', 'srcdoc', 'formaction'].includes(attr.name);
      const ownImage = attr.name === 'src' && /^data:image\\//.test(attr.value);  // QR codes
      if (link && !ownImage && /^\\s*(javascript|data):/i.test(attr.value))
        found.push(`${el.tagName} ${attr.name}=${attr.value.slice(0, 60)}`);
    }
  });
  document.querySelectorAll(
    'script:not([src]), iframe, object, embed, foreignObject, details[ontoggle], h1 > img')
    .forEach(el => found.push(el.outerHTML.slice(0, 80)));
  if (document.title.includes('49')) found.push('template evaluated in the title');
  return found;
}
"""
PAGES = [
    "/",
    "/privacy",
    "/accessibility",
    "/s/demo",
    "/staff",
    "/staff/links",
    "/staff/coverage",
    "/staff/analysis",
    "/staff/analysis?by=age_band&by2=sex",
    "/staff/analysis?indicator=confident_helps&by=ethnicity",
    "/staff/analysis/weighting",
    "/staff/admin/users",
    "/staff/admin/audit",
    "/staff/admin/population",
    "/staff/admin/microdata",
    "/staff/releases",
    "/results",
]


def hostile_questionnaire(folder: Path) -> Path:
    """The real questionnaire as a new version, with every payload in every text an author
    writes: title, introduction, question texts, hints, error messages, option and
    indicator labels."""
    data = yaml.safe_load((PROJECT / "questionnaires" / "prevent-awareness.yaml").read_text())
    data["version"] += 1

    def poison(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in TEXT_KEYS and isinstance(value, dict) and "en" in value:
                    value["en"] = f"{value['en']} {ALL}"
                else:
                    poison(value)
        elif isinstance(node, list):
            for item in node:
                poison(item)

    poison(data)
    target = folder / "questionnaires"
    target.mkdir()
    (target / "hostile.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    return target


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory, demo_database):
    folder = tmp_path_factory.mktemp("hostile")
    questionnaires = hostile_questionnaire(folder)
    load = [["questionnaires", "load", str(questionnaires)]]
    with serve(folder, demo_database, load) as server:
        yield server


class Visitor:
    def __init__(self, browser, server, role: str | None) -> None:
        self.context = browser.new_context(bypass_csp=True, viewport={"width": 1024, "height": 800})
        self.page = self.context.new_page()
        self.server = server
        self.dialogs: list[str] = []
        self.problems: list[str] = []
        self.page.on("dialog", self._dialog)
        if role:
            self.page.goto(server + "/staff/sign-in")
            self.page.fill("#email", server.credentials[role][0])
            self.page.fill("#password", server.credentials[role][1])
            self.page.click("button:has-text('Sign in')")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{self.page.url}: {dialog.type} {dialog.message}")
        dialog.dismiss()

    def check(self, label: str | None = None) -> str:
        self.page.wait_for_load_state()
        where = label or self.page.url
        self.problems += [f"{where}: {found}" for found in self.page.evaluate(INJECTED)]
        return self.page.locator("body").inner_text()

    def visit(self, path: str) -> str:
        self.page.goto(self.server + path)
        return self.check()

    def close(self) -> None:
        self.context.close()


def test_no_payload_runs_or_renders_as_markup_for_any_role(browser, hostile_server):
    officer = Visitor(browser, hostile_server, "officer")
    for payload in PAYLOADS:
        officer.page.goto(hostile_server + "/staff/links/new")
        officer.page.fill("#label", payload)
        officer.page.select_option("#channel", "event")
        officer.page.click("button:has-text('Create link')")
        detail = officer.check("new link")
        assert payload in detail, payload
    listing = officer.visit("/staff/links")
    assert all(p in listing for p in PAYLOADS)
    officer.page.locator("tbody a").first.click()
    officer.check("link detail")
    officer.page.click("text=Printable poster")
    officer.check("poster")

    admin = Visitor(browser, hostile_server, "admin")
    accepted = []
    for payload in PAYLOADS:
        admin.page.goto(hostile_server + "/staff/admin/users/new")
        admin.page.fill("#email", f"{payload}@example.org")
        admin.page.click("main button.govuk-button")
        shown = admin.check("new user")
        if "There is a problem" not in shown:
            accepted.append(payload)
            assert payload.lower() in shown.lower(), payload

    resident = Visitor(browser, hostile_server, None)
    resident.visit("/s/demo")
    start = resident.page.locator("main").inner_text()
    assert all(p in start for p in PAYLOADS), "the introduction shows every payload as text"
    resident.page.click("#start-button")
    from tests.browser.test_resident_keyboard import answer_current_question

    for _ in range(30):
        if "/check-answers" in resident.page.url:
            break
        shown = resident.check()
        assert all(p in shown for p in PAYLOADS), resident.page.url
        if resident.page.locator("textarea[name=answer]").count():
            resident.page.fill("textarea[name=answer]", ALL)
            resident.page.click("main button.govuk-button")
        else:
            answer_current_question(resident.page)
    review = resident.check("check answers")
    assert ALL in review.replace("\n", " ")
    resident.page.click("#submit-button")
    resident.check("confirmation")

    analyst = Visitor(browser, hostile_server, "analyst")
    analyst.page.goto(hostile_server + "/staff/releases/new")
    analyst.page.fill("#commentary", ALL)
    analyst.page.click("button:has-text('Save and work out the figures')")
    analyst.check("release being prepared (job status)")
    analyst.page.wait_for_url("**/staff/releases/*", timeout=60_000)
    preview = analyst.check("release preview")
    assert analyst.page.url.rsplit("/", 1)[1].isdigit(), "the release was prepared"
    assert ALL in preview.replace("\n", " "), "the commentary shows as text"
    assert PAYLOADS[0] in preview, "indicator labels on the public page show as text"
    for visitor in (officer, admin, analyst, resident):
        for path in PAGES:
            visitor.visit(path)
    report = admin.visit("/staff/analysis")
    assert PAYLOADS[0] in report, "indicator and option labels show as text"
    users = admin.visit("/staff/admin/users")
    assert all(p.lower() in users.lower() for p in accepted)

    problems, dialogs = [], []
    for visitor in (officer, admin, analyst, resident):
        problems += visitor.problems
        dialogs += visitor.dialogs
        visitor.close()
    assert not dialogs, "\n".join(dialogs)
    assert not problems, "\n".join(problems)
