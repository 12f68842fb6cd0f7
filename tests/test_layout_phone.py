"""In Chromium, on a freshly started server: a link with a tab selected reopens that tab in a new browser
context (a new Streamlit session), and at a phone's width (390 px) no page cuts a tab row, a chart's legend
or a navigation label, in English and in French.

Screenshots go to test-artifacts/screenshots/phone/<lang>/<page>.png.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from app.registry import PAGES as PAGE_SPECS
from bench import serve
from bench.gallery import settle, shoot
from core import i18n
from tests.conftest import browser_or_skip

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots" / "phone"
LOAD_TIMEOUT = 120_000  # ms: a fresh server's first run imports everything and trains
# small runs: the layout does not depend on the numbers
SMALL = "v=2&schemes=zeros&schemes=normal%3Astd%3D1&schemes=xavier_normal&schemes=he_normal&seeds=2&epochs=10&width=8"
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server():
    chromium = browser_or_skip()
    log = ROOT / "test-artifacts" / "layout-phone-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with serve.server(log=log) as (base, _):
        yield {"base": base, "chromium": chromium}


@pytest.fixture(scope="module")
def browser(server):
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=server["chromium"], args=serve.CHROMIUM_ARGS)
        yield b
        b.close()


def title_in(lang: str, title: str) -> str:
    i18n.set_language(lang)
    try:
        return i18n.gettext(title)
    finally:
        i18n.set_language(i18n.DEFAULT)


def open_page(browser, base: str, path_and_query: str, title: str, viewport: dict) -> Page:
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(f"{base}/{path_and_query}")
    settle(page, title, timeout=LOAD_TIMEOUT)
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    return page


def selected_tab(page: Page) -> str:
    return page.locator("[data-testid=stMain] [role=tab][aria-selected=true]").inner_text().strip()


def test_a_link_with_a_tab_selected_reopens_that_tab(server, browser):
    page = open_page(browser, server["base"], f"gradients?{SMALL}", "Gradients", {"width": 1280, "height": 900})
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
