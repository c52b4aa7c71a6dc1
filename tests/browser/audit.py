"""Checks run on every page a browser test visits: axe-core (WCAG 2.0, 2.1 and 2.2, A and
AA), no horizontal scrolling, and targets of at least 24 by 24 pixels."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
MIN_TARGET = 24  # CSS pixels, WCAG 2.2 success criterion 2.5.8

_axe = Axe()

# Links and controls smaller than 24 x 24 px that sit inline in text, which 2.5.8 allows.
SMALL_TARGETS = """
() => [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary')]
  .filter(el => {
    const box = el.getBoundingClientRect();
    if ((box.width === 0 || box.height === 0) && !el.classList.contains('govuk-skip-link'))
      return false;  // not shown
    if (el.closest('p, li, td, dd, .govuk-footer__inline-list, .govuk-hint')
        && el.tagName === 'A') return false;  // inline in a sentence or list: exempt
    if (el.type === 'radio' || el.type === 'checkbox') return false;  // GOV.UK draws a 40px box
    if (el.classList.contains('govuk-skip-link')) {
      el.focus();  // hidden until it has focus: measure it as shown
      const shown = el.getBoundingClientRect();
      el.blur();
      return shown.width < 24 || shown.height < 24;
    }
    return box.width < 24 || box.height < 24;
  })
  .map(el => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} `
    + `"${(el.innerText || el.value || '').trim().slice(0, 40)}"`)
"""


def problems_on(page, label: str) -> list[str]:
    """Everything wrong with the page as shown, one line each; empty when all is well."""
    found = []
    results = _axe.run(
        page,
        options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]},
    )
    for violation in results.response["violations"]:
        targets = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        found.append(f"{label}: axe {violation['id']} ({violation['impact']}): {targets}")
    if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"):
        width = page.evaluate("document.documentElement.scrollWidth")
        found.append(f"{label}: scrolls sideways ({width} px wide)")
    for small in page.evaluate(SMALL_TARGETS):
        found.append(f"{label}: target smaller than {MIN_TARGET} px: {small}")
    if not page.title().strip():
        found.append(f"{label}: no page title")
    if page.locator("a[href='/accessibility']").count() == 0:
        found.append(f"{label}: no link to the accessibility statement")
    return found
