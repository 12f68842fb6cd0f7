"""In Chromium, on the browser tests' server (tests/conftest.py): a link with a tab selected reopens that tab in
a new browser context (a new Streamlit session), and at a phone's width (390 px) no page of the default
configuration cuts a tab row, a chart's text or colour legend, or a navigation label, in English and in French,
every page fits the window as tests/test_browser.py's ``check_fits`` says (one chart per row, none overflowing),
and the landing page's first chart is on the first screen.

How a chart's cut text is found: tests/test_browser.py's CANVAS_SPY.

A page that fails a check leaves its picture in test-artifacts/screenshots/failed/ (to look at every page on a
phone: ``python3 bench/gallery.py --width 390 --lang fr --out <folder>``).
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from app.registry import PAGES as PAGE_SPECS
from bench.gallery import settle
from tests.test_browser import (CANVAS_SPY, LOAD_TIMEOUT, MEASURE, check_first_screen, check_fits, specs_of,
                                title_in)

# Every page in the default configuration, as most visitors see it (and as test_browser.py's laptop pass has
# trained it on the shared server)
PHONE = {"width": 390, "height": 844}
# the Scale × depth page draws its map when the link asks (a small one: he_normal, 4 × 3 points)
EXTRA = {"scale_depth": "&sweep=true&sweep_x_values=0.5,1,2,3&sweep_y_values=1,4,16"}

pytestmark = pytest.mark.browser


# server and browser: tests/conftest.py (one of each for every browser test)


def open_page(browser, base: str, path_and_query: str, title: str, viewport: dict) -> Page:
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(f"{base}/{path_and_query}")
    settle(page, title, timeout=LOAD_TIMEOUT)
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    return page


def open_sidebar(page: Page) -> None:
    """A phone shows the sidebar (and its navigation) only when asked."""
    button = page.locator("[data-testid=stExpandSidebarButton]")
    if button.count():
        button.first.click()
        expect(page.locator("[data-testid=stSidebarNav]")).to_be_visible()
        page.wait_for_timeout(500)  # the sidebar slides in


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_no_page_cuts_a_legend_a_tab_row_or_a_label_on_a_phone(server, browser, lang):
    context = browser.new_context(viewport=PHONE)
    context.add_init_script(CANVAS_SPY)
    drawn = {"text": 0, "gradient": 0}
    try:
        for spec in PAGE_SPECS:
            page = context.new_page()
            specs = specs_of(page)
            path = "" if spec.path == PAGE_SPECS[0].path else spec.path  # the default page lives at "/"
            page.goto(f"{server['base']}/{path}?lang={lang}" + EXTRA.get(spec.path, ""))
            settle(page, title_in(lang, spec.title), timeout=LOAD_TIMEOUT)
            page.wait_for_timeout(500)  # Vega redraws container-wide charts once their width is known
            where = f"{spec.path} ({lang}, 390 px)"
            if spec is PAGE_SPECS[0]:  # the landing page shows a picture on the first screen
                check_first_screen(page, PHONE["height"], where)
            got = check_fits(page, specs, PHONE["width"], where)
            open_sidebar(page)
            assert not page.evaluate(MEASURE)["nav"], f"{where}: navigation labels cut"
            drawn = {k: drawn[k] + got["drawn"][k] for k in drawn}
            page.close()
    finally:
        context.close()
    assert drawn["text"] > 100 and drawn["gradient"] >= 4  # the spy saw the charts' texts and colour legends
    # a laptop shows the navigation without asking: its labels are not cut either
    page = open_page(browser, server["base"], f"?lang={lang}", title_in(lang, PAGE_SPECS[0].title),
                     {"width": 1280, "height": 900})
    assert not page.evaluate(MEASURE)["nav"], f"navigation labels cut at 1280 px ({lang})"
    page.context.close()


def selected_tab(page: Page) -> str:
    return page.locator("[data-testid=stMain] [role=tab][aria-selected=true]").inner_text().strip()


def test_a_link_with_a_tab_selected_reopens_that_tab(server, browser):
    page = open_page(browser, server["base"], "gradients", "Gradients", {"width": 1280, "height": 900})
    assert selected_tab(page) == "Norms over training"
    page.locator("[data-testid=stMain] [role=tab]").filter(has_text="One layer over training").click()
    page.wait_for_function("() => location.search.includes('tab=one_layer')", timeout=30_000)
    settle(page, "Gradients")
    link = page.url
    assert parse_qs(urlparse(link).query)["tab"] == ["one_layer"]
    page.context.close()

    again = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()  # a new session
    again.goto(link)
    settle(again, "Gradients", timeout=LOAD_TIMEOUT)
    assert selected_tab(again) == "One layer over training"
    expect(again.get_by_text("each column a recorded epoch", exact=False)).to_be_visible()
    assert parse_qs(urlparse(again.url).query)["tab"] == ["one_layer"]
    again.context.close()
