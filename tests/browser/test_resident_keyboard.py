"""A resident completes the survey on a 320 px screen with the keyboard alone."""

from __future__ import annotations

FOCUS_VISIBLE = """
el => {
  const target = (el.type === 'radio' || el.type === 'checkbox') ? el.nextElementSibling : el;
  const style = getComputedStyle(target, (el.type === 'radio' || el.type === 'checkbox')
    ? '::before' : null);
  return style.outlineStyle !== 'none' || style.boxShadow !== 'none';
}
"""

# The focused control is inside the viewport and not covered by anything else: the
# element at its centre is the control itself or inside it. (GOV.UK's radios and
# checkboxes keep the real input, transparent, over the box they draw.)
IN_VIEW = """
el => {
  const box = el.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  if (x < 0 || y < 0 || x > window.innerWidth || y > window.innerHeight) return false;
  const top = document.elementFromPoint(x, y);
  return top !== null && (el === top || el.contains(top));
}
"""


# After each Tab, in one round trip: nothing when the focus is not yet on the selector,
# otherwise whether the focus is visible and in view.
FOCUSED = f"""
selector => {{
  const el = document.activeElement;
  if (el === null || !el.matches(selector)) return null;
  return {{visible: ({FOCUS_VISIBLE})(el), inView: ({IN_VIEW})(el)}};
}}
"""


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching selector has focus, checking focus is visible."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED, selector)
        if focused is not None:
            assert focused["visible"], f"focus not visible on {selector}"
            assert focused["inView"], f"focus scrolled out of sight on {selector}"
            return
    raise AssertionError(f"could not reach {selector} with Tab on {page.url}")


def answer_current_question(page) -> None:
    if page.locator("input[type=radio][name=answer]").count():
        tab_to(page, "input[type=radio][name=answer]")
        page.keyboard.press("Space")
    elif page.locator("input[type=checkbox][name=answer]").count():
        tab_to(page, "input[type=checkbox][name=answer]")
        page.keyboard.press("Space")
    elif page.locator("select[name=answer]").count():
        tab_to(page, "select[name=answer]")
        page.keyboard.press("ArrowDown")
    elif page.locator("input[name=answer]").count():
        tab_to(page, "input[name=answer]")
        page.keyboard.type("3")
    elif page.locator("textarea[name=answer]").count():
        tab_to(page, "textarea[name=answer]")
        page.keyboard.type("Answered with the keyboard alone.")
    tab_to(page, "button.govuk-button")
    press_enter_and_wait(page)


def press_enter_and_wait(page) -> None:
    with page.expect_navigation():
        page.keyboard.press("Enter")


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_whole_survey_with_keyboard_alone_at_320_pixels(browser, live_server):
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(live_server + "/s/demo")
    assert no_horizontal_scroll(page)
    tab_to(page, "#start-button")
    press_enter_and_wait(page)
    for _ in range(30):
        if "/check-answers" in page.url:
            break
        assert "/q/" in page.url, page.url
        assert no_horizontal_scroll(page), page.url
        answer_current_question(page)
    assert "/check-answers" in page.url
    assert no_horizontal_scroll(page)
    cookies = context.cookies()
    assert [c["name"] for c in cookies] == ["survey_session"]
    assert all(c["expires"] == -1 for c in cookies)  # a session cookie, gone with the browser
    tab_to(page, "#submit-button")
    press_enter_and_wait(page)
    assert page.locator(".govuk-panel__title").inner_text() == "Your answers have been sent"
    assert requests and all(url.startswith(live_server) for url in requests)
    assert context.cookies() == []  # the confirmation ended the session
    context.close()
