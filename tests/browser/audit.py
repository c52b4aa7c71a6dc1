"""Checks run on every page a browser test visits: axe-core (WCAG 2.0, 2.1 and 2.2, A and
AA), no horizontal scrolling, targets of at least 24 by 24 pixels, and chart text of at least
12 pixels."""

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


# axe-core's WCAG violations, in the shape a failure message needs (a full result, with every
# rule that passed, is ten times the size to send back from the browser). The script is
# added once per page shown.
AXE_VIOLATIONS = """
(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
  .then(results => results.violations.map(v => ({
    id: v.id, impact: v.impact, targets: v.nodes.slice(0, 3).map(node => node.target)})))
"""

# Text in a chart shown smaller than 12 CSS pixels (a chart scaled down to a phone's width
# shrinks its text with it).
MIN_CHART_TEXT = 12
SMALL_CHART_TEXT = """
() => [...document.querySelectorAll('svg[role=img] text')]
  .filter(t => t.getBoundingClientRect().width > 0)
  .map(t => ({text: t.textContent.trim().slice(0, 30),
              size: t.getScreenCTM().a * parseFloat(getComputedStyle(t).fontSize)}))
  .filter(t => t.size < MIN - 0.05)
""".replace("MIN", str(MIN_CHART_TEXT))

# The page's other checks, in one round trip to the browser.
LAYOUT = (
    """
() => ({
  width: document.documentElement.scrollWidth,
  fits: document.documentElement.scrollWidth <= window.innerWidth,
  title: document.title,
  statementLinks: document.querySelectorAll("a[href='/accessibility']").length,
  small: ("""
    + SMALL_TARGETS
    + """)(),
  chartText: ("""
    + SMALL_CHART_TEXT
    + """)(),
})
"""
)


def problems_on(page, label: str) -> list[str]:
    """Everything wrong with the page as shown, one line each; empty when all is well."""
    found = []
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe.axe_script)
    for violation in page.evaluate(AXE_VIOLATIONS, WCAG_TAGS):
        targets = ", ".join(str(target) for target in violation["targets"])
        found.append(f"{label}: axe {violation['id']} ({violation['impact']}): {targets}")
    shown = page.evaluate(LAYOUT)
    if not shown["fits"]:
        found.append(f"{label}: scrolls sideways ({shown['width']} px wide)")
    for small in shown["small"]:
        found.append(f"{label}: target smaller than {MIN_TARGET} px: {small}")
    for text in shown["chartText"][:3]:
        found.append(
            f"{label}: chart text under {MIN_CHART_TEXT} px: {text['text']!r} at "
            f"{text['size']:.1f} px"
        )
    if not shown["title"].strip():
        found.append(f"{label}: no page title")
    if shown["statementLinks"] == 0:
        found.append(f"{label}: no link to the accessibility statement")
    return found
