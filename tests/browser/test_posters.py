"""Posters printed from Chromium: each size and choice of languages is one page of the
right paper, with the QR code on it."""

from __future__ import annotations

import re

import pytest

# PDF points: A4 is 210 x 297 mm, A5 148 x 210 mm (1 point = 1/72 inch).
PAPER = {"a4": (595.0, 841.9), "a5": (420.0, 595.0)}


@pytest.fixture(scope="module")
def officer_page(browser, live_server):
    context = browser.new_context()
    page = context.new_page()
    page.goto(live_server + "/staff/sign-in")
    page.fill("#email", live_server.credentials["officer"][0])
    page.fill("#password", live_server.credentials["officer"][1])
    page.click("button:has-text('Sign in')")
    page.goto(live_server + "/staff/links/new")
    page.fill("#label", "Poster print test")
    page.select_option("#channel", "poster")
    page.fill("#slug", "whitechapel-march-open-day")
    page.click("button:has-text('Create link')")
    yield page, page.url
    context.close()


@pytest.mark.parametrize("size", ["a4", "a5"])
@pytest.mark.parametrize("languages", [["en"], ["en", "ur"], ["en", "pl", "bn", "ur"]])
def test_each_poster_prints_on_one_page_of_its_paper(officer_page, size, languages):
    page, detail = officer_page
    chosen = "&".join(f"language={code}" for code in languages)
    page.goto(f"{detail}/poster?size={size}&{chosen}")
    assert page.locator(".app-poster__language").count() == len(languages)
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    pages = re.findall(rb"/Type\s*/Page[^s]", pdf)
    assert len(pages) == 1, f"{size} in {languages}: {len(pages)} pages"
    width, height = (
        float(v) for v in re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf).groups()
    )
    assert (round(width), round(height)) == tuple(round(v) for v in PAPER[size])
    page.emulate_media(media="print")
    qr_width = page.locator(".app-poster__qr").bounding_box()["width"]
    page.emulate_media(media=None)
    assert qr_width >= 40 / 25.4 * 96, f"the QR code is {qr_width:.0f} px wide: under 40 mm"
