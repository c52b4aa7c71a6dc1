"""The analyst's views in Chromium: a two-way breakdown is a crosstab with totals and small
multiples whose labels all fit; the borough map says what its colours mean."""

from __future__ import annotations

import pytest

from tests.browser.audit import problems_on
from tests.browser.test_accessibility import sign_in

# Every text in every chart, in its own chart's coordinates: none may start left of the
# chart or end right of it (a clipped label reads "gston upon Thames").
CLIPPED = """() => [...document.querySelectorAll('svg.app-chart text')].filter(t => {
  const box = t.getBBox();
  const view = t.ownerSVGElement.viewBox.baseVal;
  return box.x < view.x - 0.5 || box.x + box.width > view.x + view.width + 0.5;
}).map(t => t.textContent)"""


@pytest.fixture
def analyst_page(browser, live_server):
    """A signed-in analyst's page on a desktop-sized screen."""
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    page = context.new_page()
    sign_in(page, live_server, live_server.credentials["analyst"])
    yield page
    context.close()


def test_two_breakdowns_show_a_crosstab_and_small_multiples(analyst_page, live_server):
    page = analyst_page
    page.goto(live_server + "/staff/analysis?indicator=aware&by=borough&by2=sex")
    table = page.locator("#crosstab")
    header = table.locator("thead th").all_inner_texts()
    assert header[-1] == "All" and "Female" in header and "Male" in header
    rows = table.locator("tbody th").all_inner_texts()
    assert len(rows) >= 34 and rows[-1] == "All"  # 33 areas (and prefer not to say), total
    assert "Kingston upon Thames" in rows
    panels = page.locator("svg.app-chart:not(.app-chart--map)")
    assert panels.count() >= 2  # one per sex shown
    assert page.evaluate(CLIPPED) == []
    # "All of London" names London alone: the overall row, not women or men in all areas.
    assert page.locator("#estimates th:text-is('All of London')").count() == 1
    problems = problems_on(page, "two-way analysis")
    page.set_viewport_size({"width": 320, "height": 640})
    problems += problems_on(page, "two-way analysis at 320 px")
    assert not problems, "\n".join(problems)


def test_the_map_states_what_its_colours_compare(analyst_page, live_server):
    page = analyst_page
    page.goto(live_server + "/staff/analysis?indicator=aware&by=borough")
    figure = page.locator("figure:has(svg.app-chart--map)")
    caption = figure.locator("figcaption").inner_text()
    assert "95% confidence" in caption and "No clear difference" in caption
    assert page.evaluate(CLIPPED) == []


@pytest.mark.parametrize(
    "query",
    ["indicator=aware&periods=rolling", "indicator=aware&by=age_band&periods=year"],
    ids=["London, rolling years", "small multiples by age"],
)
def test_the_trends_page_passes_axe_and_fits_a_phone(analyst_page, live_server, query):
    page = analyst_page
    page.goto(live_server + f"/staff/analysis/trends?{query}")
    assert page.locator("svg.app-chart polyline.app-chart__line").count() >= 1
    if page.locator("#headline").count():
        assert page.locator("#headline").inner_text().startswith("All of London")
    else:  # calendar years, while the demo has fewer than two complete ones
        assert "periods=year" in query
        assert "not yet two complete years" in page.locator("#no-default-change").inner_text()
    assert page.evaluate(CLIPPED) == []
    problems = problems_on(page, f"trends ({query})")
    page.set_viewport_size({"width": 320, "height": 640})
    problems += problems_on(page, f"trends ({query}) at 320 px")
    assert not problems, "\n".join(problems)


def test_the_least_reached_page_passes_axe_and_fits_a_phone(analyst_page, live_server):
    page = analyst_page
    query = "indicator=aware&allow=borough&allow=age_band&allow=sex&allow=ethnic_group"
    page.goto(live_server + f"/staff/analysis/least-reached?{query}")
    assert page.locator("#headline").inner_text().startswith("Least reached:")
    assert page.locator("svg.app-chart circle").count() >= 10
    assert page.evaluate(CLIPPED) == []
    problems = problems_on(page, "least reached")
    page.set_viewport_size({"width": 320, "height": 640})
    problems += problems_on(page, "least reached at 320 px")
    assert not problems, "\n".join(problems)


def test_direct_and_modelled_borough_estimates_pass_axe_and_fit_a_phone(analyst_page, live_server):
    page = analyst_page
    page.goto(live_server + "/staff/analysis?indicator=aware&by=borough&map=modelled")
    assert page.locator("#modelled-table tbody tr").count() >= 25
    assert "Modelled estimates" in page.locator("#map-desc").text_content()
    assert page.evaluate(CLIPPED) == []
    problems = problems_on(page, "modelled boroughs")
    page.set_viewport_size({"width": 320, "height": 640})
    problems += problems_on(page, "modelled boroughs at 320 px")
    assert not problems, "\n".join(problems)


ANALYST_PAGES = {
    "trends by quarter": "/staff/analysis/trends?indicator=aware",
    "trends by age, years": "/staff/analysis/trends?indicator=aware&by=age_band&periods=year",
    "estimates by age": "/staff/analysis?indicator=aware&by=age_band",
    "estimates by borough, modelled map": "/staff/analysis?indicator=aware&by=borough&map=modelled",
    "least reached": "/staff/analysis/least-reached?indicator=aware&allow=borough&allow=age_band"
    "&allow=sex&allow=ethnic_group",
}


@pytest.mark.parametrize("width", [1280, 375])
def test_the_analyst_pages_at_desktop_and_phone_width(browser, live_server, width):
    """Each analyst page with charts, as an analyst sees it at 1280 and 375 px: axe finds
    nothing, nothing scrolls sideways, chart text is 12 px or more, no label is cut off."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, live_server.credentials["analyst"])
    problems = []
    for name, path in ANALYST_PAGES.items():
        page.goto(live_server + path)
        assert page.locator("svg.app-chart").count() >= 1, name
        assert page.evaluate(CLIPPED) == [], name
        problems += problems_on(page, f"{name} at {width} px")
    context.close()
    assert not problems, "\n".join(problems)
