"""In Chromium, on a freshly started server: a link with a tab selected reopens that tab in a new browser
context (a new Streamlit session), and at a phone's width (390 px) no page cuts a tab row, a chart's text or
colour legend, or a navigation label, in English and in French.

Charts are drawn on canvases, whose text is no element of the page: a script the browser runs before the
app (CANVAS_SPY) records the box of every text and of every gradient-filled bar (a colour legend) that Vega
draws, in the canvas's own pixels, and the test finds those that run past the canvas's edge. Vega skips a
mark wholly outside its canvas, so a legend whose end is cut shows as a gradient bar that reaches the edge.

Screenshots go to test-artifacts/screenshots/phone/<lang>-<page>.png.
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
# the Scale × depth page draws its map when the link asks (a small one: he_normal, 4 × 3 points)
EXTRA = {"scale_depth": "&sweep=true&sweep_x_values=0.5,1,2,3&sweep_y_values=1,4,16"}

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


CANVAS_SPY = """(() => {
  const proto = CanvasRenderingContext2D.prototype;
  const box = (ctx, x0, x1, y) => {
    const t = ctx.getTransform(), r = window.devicePixelRatio || 1;
    const xs = [x0, x1].map(x => (t.a * x + t.c * y + t.e) / r);
    return {left: Math.min(...xs), right: Math.max(...xs), y: (t.b * x0 + t.d * y + t.f) / r};
  };
  const record = (ctx, item) => {
    const c = ctx.canvas;
    (c.__drawn = c.__drawn || []).push({...item, width: c.width / (window.devicePixelRatio || 1)});
  };
  const fillText = proto.fillText;
  proto.fillText = function (text, x, y) {
    try {
      const w = this.measureText(text).width, a = this.textAlign;
      const left = x - (a === 'center' ? w / 2 : (a === 'right' || a === 'end') ? w : 0);
      record(this, {kind: 'text', text: String(text), ...box(this, left, left + w, y)});
    } catch (e) {}
    return fillText.apply(this, arguments);
  };
  const rect = proto.rect;
  proto.rect = function (x, y, w, h) {
    try { this.__lastRect = box(this, x, x + w, y); } catch (e) {}
    return rect.apply(this, arguments);
  };
  const fill = proto.fill;
  proto.fill = function () {
    try {
      if (this.fillStyle instanceof CanvasGradient && this.__lastRect)
        record(this, {kind: 'gradient', text: '', ...this.__lastRect});
    } catch (e) {}
    return fill.apply(this, arguments);
  };
})();"""

# What is cut: drawings past their canvas's edge (a chart redrawn at a new size: its last drawing counts), tab
# rows wider than their box (they scroll behind an arrow), navigation labels shortened with an ellipsis.
MEASURE = """() => {
  const cut = [], drawn = {text: 0, gradient: 0};
  for (const c of document.querySelectorAll('[data-testid=stVegaLiteChart] canvas')) {
    if (!c.offsetParent) continue;
    const last = new Map();
    for (const d of (c.__drawn || [])) last.set(d.kind + d.text + '@' + Math.round(d.y), d);
    for (const d of last.values()) {
      drawn[d.kind] += 1;
      if (d.left < -1 || d.right > d.width + 1 || d.text.endsWith('…')) cut.push(d);  // Vega cuts with '…'
    }
  }
  // a chart drawn as SVG (the Scale × depth map): its texts inside the svg's box, none cut with '…'
  for (const svg of document.querySelectorAll('[data-testid=stVegaLiteChart] svg.marks')) {
    if (!svg.getClientRects().length) continue;
    const host = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('text')) {
      const b = t.getBoundingClientRect();
      if (!t.textContent || !b.width) continue;
      drawn.text += 1;
      // 3 px: a text's box holds its font's whole ascent and side bearings, more than the glyphs' ink
      if (b.left < host.left - 3 || b.right > host.right + 3 || t.textContent.endsWith('…'))
        cut.push({kind: 'svg text', text: t.textContent, left: b.left - host.left, right: b.right - host.left,
                  width: host.width});
    }
  }
  const tabs = [...document.querySelectorAll('[data-testid=stMain] [role=tablist]')].filter(e => e.offsetParent)
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText);
  const nav = [...document.querySelectorAll('[data-testid=stSidebarNav] a span, [data-testid=stSidebarNav] a p')]
    .filter(e => e.offsetParent && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1).map(e => e.innerText);
  const main = document.querySelector('[data-testid=stMain]');
  return {cut, drawn, tabs, nav, height: main ? main.scrollHeight : 0};
}"""


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
            path = "" if spec.path == PAGE_SPECS[0].path else spec.path  # the default page lives at "/"
            page.goto(f"{server['base']}/{path}?{SMALL}&lang={lang}" + EXTRA.get(spec.path, ""))
            settle(page, title_in(lang, spec.title), timeout=LOAD_TIMEOUT)
            page.wait_for_timeout(500)  # Vega redraws container-wide charts once their width is known
            got = page.evaluate(MEASURE)
            where = f"{spec.path} ({lang}, 390 px)"
            assert not got["cut"], f"{where}: drawn past a chart's edge: {got['cut']}"
            assert not got["tabs"], f"{where}: a tab row scrolls: {got['tabs']}"
            shoot(page, SHOTS / f"{lang}-{spec.path}.png", PHONE["width"])
            page.set_viewport_size(PHONE)
            open_sidebar(page)
            assert not page.evaluate(MEASURE)["nav"], f"{where}: navigation labels cut"
            drawn = {k: drawn[k] + got["drawn"][k] for k in drawn}
            page.close()
    finally:
        context.close()
    assert drawn["text"] > 100 and drawn["gradient"] >= 4  # the spy saw the charts' texts and colour legends
    # a laptop shows the navigation without asking: its labels are not cut either
    page = open_page(browser, server["base"], f"?{SMALL}&lang={lang}", title_in(lang, PAGE_SPECS[0].title),
                     {"width": 1280, "height": 900})
    assert not page.evaluate(MEASURE)["nav"], f"navigation labels cut at 1280 px ({lang})"
    page.context.close()


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
