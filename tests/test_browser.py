"""The dashboard in a real headless Chromium, on a freshly started server.

One `streamlit run dashboard.py` for every browser test (tests/conftest.py). Its very first browser session
opens a non-default link with view keys straight to a non-default page: that is
the session Streamlit's pages/ trap breaks, so the page must show the linked
epoch, layer and seed, and the tour of every page through the sidebar must still
show the linked configuration. Then: every page at a laptop's window size, in
English and French, then narrowed to a phone's, has no horizontal overflow, no chart under 200 px and no
axis titled with a column name (read from the Vega-Lite specs the browser
receives); a control changes the address bar, a CSV download reads back with
pandas, garbage and hostile links (experiment or view keys) show warnings and no
traceback, the lesson that explodes on purpose shows its diverged markers, a
lesson link opens its configuration, and a link with a tab selected reopens that tab.

A page that fails a check leaves its picture in test-artifacts/screenshots/failed/ (to look at every page:
bench/gallery.py), and the server log goes to test-artifacts/browser-server.log.
"""
from __future__ import annotations

import contextlib
import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pyarrow as pa
import pytest
from playwright.sync_api import Page, expect
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from app.registry import DEFAULT_PAGE, PAGES as PAGE_SPECS
from bench.gallery import DRAWN, layout, settle, shoot
from core import ExperimentConfig, i18n, run
from core.config import FIELDS, SCHEMA_VERSION
from core.views.lessons import BY_SLUG
from core.restarts import best_of_k_frame
from tests.test_charts import check_spec

pytestmark = pytest.mark.browser  # Chromium against a real server

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
SHOTS = ARTIFACTS / "screenshots"
VIEWPORT = {"width": 1500, "height": 1000}
# Bounds that catch a page that never settles, not measurements (those are bench/'s): under the whole suite's
# load a page's work (a Restarts page's fits, in the server's threads) takes several times what it takes alone.
LOAD_TIMEOUT = 180_000  # ms: a fresh server's first run imports everything and trains
RUN_TIMEOUT = 120_000  # ms: one training run of a small configuration, or a page's restart fits

# Every value differs from its default, so Streamlit keeps each of them in the URL.
# (ReLU, the default activation, is left out for the same reason.) Spirals: the Restarts page's k-means and EM
# fits on it take a fraction of circles' work, and the first session waits for them beside the server's warm-up.
LINK_QUERY = f"v={SCHEMA_VERSION}&dataset=spirals&schemes=zeros&schemes=he_normal&seeds=2&depth=2&width=16&epochs=20"
LINK = ExperimentConfig.from_query(LINK_QUERY)
# The first session's link also names a view: a page, a recorded epoch (of 0, 2, ..., 20), a layer and a seed.
FIRST_PAGE = "weights"
VIEW = {"epoch": "10", "layer": "2", "seed": "1"}
VIEW_QUERY = "&".join(f"{k}={v}" for k, v in VIEW.items())
# url path -> (nav label = page title, charts drawn for LINK, download buttons on the page: label -> frame); the
# paths and titles are app.registry's. Small multiples draw one panel per scheme (zeros, he_normal) in a page's
# first tab (the Gradients page's E[(dL/dz)^2] is 0 in zeros' hidden layers but not at its output, so it has a
# panel too), except where zero weights leave nothing to draw: ReLU gives them exact-zero weight gradients (no
# line on a log scale).
EXPECT = {
    "story": ("Why random?", 6, {}),  # its own runs, whatever the link: tests/test_story.py
    "overview": ("Overview", 2, {"Curves": "curves", "Summary": "summary"}),
    "activations": ("Activations", 1 + 2 + 1, {"Layer statistics": "layer_stats", "Histograms": "histograms"}),
    "gradients": ("Gradients", 1 + 2, {"Gradient norms": "gradient_norms", "Layer statistics": "layer_stats",
                                       "Histograms": "histograms"}),
    "weights": ("Weight distances", 2, {"Unit distances": "unit_distances", "Distance from init": "init_distances"}),
    "symmetry": ("Symmetry & restarts", 3, {"Distinct units": "distinct_units", "Summary": "summary",
                                        "Best of k": "best_of_k"}),
    "boundaries": ("Decision boundaries", 2, {"Boundaries": "boundaries", "Data points": "data_points"}),
    # its default map is measured at initialization (he_normal takes sigma_w); one of training only when asked
    "scale_depth": ("Scale × depth", 1, {}),
    "lessons": ("Lessons", 0, {}),
    "export": ("Export", 0, None),  # one button per frame, checked separately
    "restarts": ("Restarts beyond networks", 7, {}),  # its own frames: test_restarts_link_reproduces_its_csv
}
PAGES = {p.path: (p.title, *EXPECT[p.path][1:]) for p in PAGE_SPECS}
assert all(EXPECT[p][0] == PAGES[p][0] for p in PAGES), "titles in EXPECT differ from app.registry's"


# ------------------------------------------------------------------ fixtures
# server and browser: tests/conftest.py (one of each for every browser test)
@pytest.fixture(scope="module")
def first_session(server, browser):
    """The very first browser session on the fresh server: a deep link with non-default parameters.

    Every other test depends on this fixture, so whatever subset runs, this link is opened first.
    """
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{server['base']}/{FIRST_PAGE}?{LINK_QUERY}&{VIEW_QUERY}")
    wait_ready(page, PAGES[FIRST_PAGE][0], timeout=LOAD_TIMEOUT)
    yield page
    context.close()


@pytest.fixture
def open_link(server, browser, first_session):
    """Open a path + query in a new browser session (a new context); closes them at the end of the test."""
    contexts = []

    def _open(path_and_query: str, title: str) -> Page:
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{server['base']}/{path_and_query.lstrip('/')}")
        wait_ready(page, title, timeout=LOAD_TIMEOUT)
        return page

    yield _open
    for c in contexts:
        c.close()


@pytest.fixture(scope="module")
def frames():
    """The frames of the linked configuration, from the core API: what every page must be drawing."""
    return run(LINK).frames


def frame_rows(frames, name: str) -> int:
    """Rows of a run's frame, or of a page's derived one (the Symmetry page's best of k, for the test loss it
    shows by default)."""
    if name == "best_of_k":
        return len(best_of_k_frame(frames["summary"], "final_test_loss"))
    return len(frames[name])


# ------------------------------------------------------------------ helpers
def wait_ready(page: Page, title: str, timeout: int = RUN_TIMEOUT) -> None:
    """Wait until the page titled `title` has finished its script run and drawn every chart it shows (charts in
    a collapsed expander are checked when it opens: test_every_page_fits_the_window)."""
    try:
        settle(page, title, timeout=timeout)
    except PlaywrightTimeout as e:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SHOTS / f"timeout-{re.sub(r'[^a-z]+', '-', title.lower())}.png", full_page=True)
        raise AssertionError(f"{title} did not settle: {page_state(page)}") from e
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    # Streamlit answers an unknown path (e.g. "/overview" for the default page) with this dialog
    expect(page.get_by_text("Page not found")).to_have_count(0)


def title_in(lang: str, title: str) -> str:
    """A page's title as the page shows it in ``lang``."""
    i18n.set_language(lang)
    try:
        return i18n.gettext(title)
    finally:
        i18n.set_language(i18n.DEFAULT)


def page_state(page: Page) -> dict:
    """The script state, stale elements, skeletons and each chart's drawn/visible/size: why a wait timed out."""
    return page.evaluate("""() => ({
        script: document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state'),
        stale: document.querySelectorAll('[data-stale=true]').length,
        skeletons: document.querySelectorAll('[data-testid=stMain] [data-testid=stSkeleton]').length,
        h1: [...document.querySelectorAll('[data-testid=stMain] h1')].map(h => h.innerText),
        charts: [...document.querySelectorAll('[data-testid=stMain] [data-testid=stVegaLiteChart]')].map(c => {
            const r = c.getBoundingClientRect();
            return {drawn: !!c.querySelector('canvas, svg'), visible: !!c.offsetParent,
                    in_collapsed_expander: !!c.closest('details:not([open])'),
                    width: Math.round(r.width), height: Math.round(r.height)};
        }),
    })""")


def open_every_expander(page: Page) -> None:
    """Open the page's collapsed expanders (not the sidebar's), as a visitor would, and wait for Vega to draw
    every chart then shown."""
    closed = page.locator("[data-testid=stMain] details:not([open]) > summary")
    while closed.count():
        # a click from script: on a phone the sidebar, once opened, may lie over the page
        closed.first.evaluate("summary => summary.click()")
    page.wait_for_function(DRAWN, timeout=RUN_TIMEOUT, polling=100)


def wait_charts(page: Page, n: int) -> None:
    charts = page.locator("[data-testid=stVegaLiteChart]")
    expect(charts).to_have_count(n, timeout=RUN_TIMEOUT)
    for i in range(n):  # each one actually drawn by Vega
        expect(charts.nth(i).locator("canvas, svg").first).to_be_attached(timeout=RUN_TIMEOUT)


def goto_via_sidebar(page: Page, title: str, timeout: int = RUN_TIMEOUT) -> None:
    page.locator("[data-testid=stSidebarNav] a").filter(has_text=title).click()
    wait_ready(page, title, timeout)


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query, keep_blank_values=True)


def eventually(read, expected=None, ok=None, timeout: float = 15.0):
    """Poll read() until it returns `expected` (or ok(value) holds, or time runs out); return its last value.

    The browser paints a finished script run a moment after it reports it (the multiselect's tags,
    for one, come a few frames later), so reads of rendered content must wait for it.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if (ok(value) if ok else value == expected) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def selected_schemes(page: Page) -> list[str]:
    tags = page.locator("[data-testid=stSidebar] [data-testid=stMultiSelect]").first.locator("[data-tag]")
    return [t.get_attribute("aria-label") for t in tags.all()]


def expect_sidebar_value(page: Page, label: str, value: str) -> None:
    """A sidebar input's value, also when its expander is collapsed (hidden, so not found by role)."""
    expect(page.locator(f'[data-testid=stSidebar] input[aria-label="{label}"]')).to_have_value(value)


def download_rows(page: Page) -> dict[str, int]:
    """Download button label -> the row count it announces, e.g. 'Curves (CSV, 168 rows)'."""
    out = {}
    for text in page.locator("[data-testid=stDownloadButton]").all_inner_texts():
        m = re.search(r"⬇\s*(.+?) \(CSV, ([\d,]+) rows\)", text)
        if m:
            out[m.group(1)] = int(m.group(2).replace(",", ""))
    return out


def summary_table(page: Page) -> pd.DataFrame:
    """The Overview summary table as text, read from the data grid's accessible cells."""
    grid = page.locator("[data-testid=stDataFrame]").first
    expect(grid.locator("[role=gridcell]").first).to_be_attached(timeout=RUN_TIMEOUT)

    def read():
        header = [h.strip() for h in grid.locator("[role=columnheader]").all_inner_texts()]
        rows = [cells for row in grid.locator("[role=row]").all()
                if (cells := [c.strip() for c in row.locator("[role=gridcell]").all_inner_texts()])]
        return header, rows

    header, rows = read()
    deadline = time.monotonic() + 15
    while not (rows and all(len(r) == len(header) for r in rows)) and time.monotonic() < deadline:
        time.sleep(0.2)  # still painting
        header, rows = read()
    assert rows and all(len(r) == len(header) for r in rows), (header, rows)
    return pd.DataFrame(rows, columns=header)


@contextlib.contextmanager
def picture_if_failed(page: Page, name: str, width: int = VIEWPORT["width"]):
    """A check on ``page``: if it fails, the whole page's picture (bench.gallery.shoot) goes to
    test-artifacts/screenshots/failed/<name>.png. (To look at every page: bench/gallery.py.)"""
    try:
        yield
    except Exception:
        shoot(page, SHOTS / "failed" / f"{re.sub(r'[^a-z0-9]+', '-', name.lower())}.png", width)
        raise


def specs_of(page: Page) -> list[dict]:
    """A list that fills with the Vega-Lite specs (datasets as frames) the page's websocket receives: what
    the browser draws, from the server's ForwardMsgs. Register before the page is opened."""
    specs: list[dict] = []

    def on_frame(payload):
        if isinstance(payload, str):
            return
        msg = ForwardMsg()
        msg.ParseFromString(payload)
        if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element":
            el = msg.delta.new_element
            if el.WhichOneof("type") == "vega_lite_chart":
                spec = json.loads(el.vega_lite_chart.spec)
                spec["datasets"] = {d.name: pa.ipc.open_stream(d.data.data).read_all().to_pandas()
                                    for d in el.vega_lite_chart.datasets}
                specs.append(spec)

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return specs


# Charts are drawn on canvases, whose text is no element of the page: a script the browser runs before the app
# (CANVAS_SPY) records the box of every text and of every gradient-filled bar (a colour legend) that Vega draws,
# in the canvas's own pixels, and MEASURE finds those that run past the canvas's edge. Vega skips a mark wholly
# outside its canvas, so a legend whose end is cut shows as a gradient bar that reaches the edge.
CANVAS_SPY = """(() => {
  const proto = CanvasRenderingContext2D.prototype;
  const box = (ctx, x0, x1, y) => {
    const t = ctx.getTransform(), r = window.devicePixelRatio || 1;
    const xs = [x0, x1].map(x => (t.a * x + t.c * y + t.e) / r);
    const ys = [x0, x1].map(x => (t.b * x + t.d * y + t.f) / r);  // a rotated text (a y-axis title) runs along y
    return {left: Math.min(...xs), right: Math.max(...xs), y: ys[0], top: Math.min(...ys), bottom: Math.max(...ys)};
  };
  const record = (ctx, item) => {
    const c = ctx.canvas, r = window.devicePixelRatio || 1;
    (c.__drawn = c.__drawn || []).push({...item, width: c.width / r, height: c.height / r});
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
      // 2 px: Vega lays a chart out at its container's fractional width and sizes the canvas in whole pixels, so
      // a label flush with the plot's right edge reaches up to 1.2 px past the canvas (3 columns at 1280 px)
      if (d.left < -2 || d.right > d.width + 2 || d.top < -2 || d.bottom > d.height + 2 || d.text.endsWith('…'))
        cut.push(d);  // Vega cuts with '…'
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


def alerts(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("[data-testid=stAlert]").all_inner_texts()]


def link_warnings(page: Page) -> list[str]:
    return [w for w in alerts(page) if "Link parameter ignored" in w]


# ------------------------------------------------------------------ tests
def test_first_session_deep_link_survives_every_page(first_session, frames):
    with picture_if_failed(first_session, "tour"):
        tour_every_page(first_session, frames)


def tour_every_page(page: Page, frames) -> None:
    linked = parse_qs(LINK_QUERY)
    # The landing page's runs are the server's own, computed once from its start for every visitor
    # (app.story.warm): visited last, it may still have to wait for them, as a fresh server's first run does.
    order = [FIRST_PAGE] + [p for p in PAGES if p not in (FIRST_PAGE, "story")] + ["story", FIRST_PAGE]
    seen = set()
    for i, path in enumerate(order):
        title, n_charts, downloads = PAGES[path]
        if i:
            goto_via_sidebar(page, title, LOAD_TIMEOUT if path == "story" else RUN_TIMEOUT)
            # the default page is served at "/", every other page at its own path
            assert urlparse(page.url).path in ({f"/{path}", "/"} if path == DEFAULT_PAGE else {f"/{path}"}), page.url
        where = f"on {title} ({page.url})"
        # the address bar still holds exactly the link (every linked value differs from its default); the
        # view keys belong to the page the link named, and go when the visitor leaves it
        want = linked | {k: [v] for k, v in VIEW.items()} if i == 0 else linked
        assert eventually(lambda: query(page), want) == want, where
        # the sidebar shows it
        assert eventually(lambda: selected_schemes(page), ["zeros", "he_normal"]) == ["zeros", "he_normal"], where
        for label, value in [("Seeds per scheme", "2"), ("Hidden layers", "2"), ("Epochs", "20"), ("Width", "16")]:
            expect_sidebar_value(page, label, value)
        assert not alerts(page), f"unexpected warnings {where}: {alerts(page)}"
        # and the page content was computed from it
        wait_charts(page, n_charts)
        if downloads:
            rows = {label: frame_rows(frames, f) for label, f in downloads.items()}
            assert eventually(lambda: download_rows(page), rows) == rows, where
        if path == "weights" and i == 0:
            # the linked view: epoch 10 on the slider, layer 2, seed 1, and the heatmaps drawn for them
            expect(page.locator("[data-testid=stSliderThumbValue]").first).to_have_text(VIEW["epoch"])
            main = page.locator("[data-testid=stMain]")
            expect(main.get_by_role("combobox", name="Layer")).to_have_value(VIEW["layer"])
            expect(main.get_by_role("combobox", name="Seed")).to_have_value(VIEW["seed"])
            expect(page.get_by_role("heading", name="Distances between the units of layer 2 at epoch 10 (seed 1)")
                   ).to_be_visible()
        elif path == "overview":
            table = eventually(lambda: summary_table(page), ok=lambda t: t["scheme"].tolist() == ["zeros", "he_normal"])
            assert table["scheme"].tolist() == ["zeros", "he_normal"], where
            assert table["seeds"].tolist() == ["2", "2"], where
            assert "fewest distinct hidden units" in table.columns
            assert page.get_by_text("diverged at epoch").count() == 0
        elif path == "activations":
            # the mean-field prediction's caption, for every activation
            expect(page.get_by_text("Poole et al. 2016", exact=False)).to_be_visible()
            # the in-chart epoch slider (a Vega-Lite parameter: no round trip to the server)
            expect(page.locator("[data-testid=stVegaLiteChart] .vega-bindings input[type=range]")).to_have_count(1)
        elif path in ("weights", "boundaries"):
            # the epoch slider starts at the last recorded epoch: 20 here, 100 by default
            expect(page.locator("[data-testid=stSliderThumbValue]").first).to_have_text("20")
        elif path == "export":
            code = page.locator("[data-testid=stCode]").first.inner_text().strip()
            # the share link opens the page visited before this one (lessons), in the view it showed
            assert code == f"{urlparse(page.url).scheme}://{urlparse(page.url).netloc}/lessons?{LINK.to_query()}", code
            rows = {name: len(df) for name, df in frames.items()}
            assert eventually(lambda: download_rows(page), rows) == rows, where
        elif path == "lessons":
            expect(page.get_by_text("Open this lesson")).to_have_count(len(BY_SLUG))
        # Scale x depth speaks only when its map crosses (see its own tests); the story's steps have sentences
        # of their own (tests/test_story.py)
        if path not in ("scale_depth", "story"):
            expect(page.get_by_text("What to notice")).to_have_count(1)
        seen.add(path)
    assert seen == set(PAGES)


def check_fits(page: Page, specs: list[dict], width: int, where: str) -> dict:
    """The page as drawn fits a window ``width`` px wide: no horizontal overflow, every chart shown at least
    200 px tall and inside the window (one per row on a phone), no formula clipped by its column, no button label
    cut short, one spec (keeping the presentation rules) per chart; then, every collapsed expander opened as a
    visitor would, the charts inside them too; with CANVAS_SPY in the page, no chart's text or colour legend cut
    by its canvas's edge and no tab row scrolling. On a failure, the page's picture goes to test-artifacts.
    Returns what MEASURE read."""
    with picture_if_failed(page, where, width):
        measured = page.evaluate(MEASURE)
        assert not measured["cut"], f"{where}: drawn past a chart's edge: {measured['cut']}"
        assert not measured["tabs"], f"{where}: a tab row scrolls: {measured['tabs']}"
        got = layout(page)
        assert got["overflow"] <= 1, f"{where}: {got['overflow']} px of horizontal overflow"
        for chart in got["charts"]:
            if not chart["visible"]:
                continue
            assert chart["height"] >= 200, f"{where}: a chart {chart['height']:.0f} px tall"
            assert chart["right"] <= width + 1, f"{where}: a chart runs past the window ({chart['right']:.0f} px)"
            if width < 640:  # Streamlit stacks columns on a narrow screen: one chart per row
                assert chart["width"] >= 0.8 * got["content_width"], f"{where}: a {chart['width']:.0f} px chart"
        for formula in got["formulas"]:
            assert formula["width"] < formula["host"] - 0.5, f"{where}: a formula clipped: {formula}"
        assert not got["clipped"], f"{where}: button labels cut short: {got['clipped']}"
        assert len(specs) == len(got["charts"]), where
        for spec in specs:
            check_spec(spec)
        # a chart in a collapsed expander is drawn, at the latest, when the visitor opens it
        collapsed = [i for i, c in enumerate(got["charts"]) if c["collapsed"]]
        if collapsed:
            open_every_expander(page)
            shown = [layout(page)["charts"][i] for i in collapsed]
            assert all(c["visible"] and c["height"] >= 200 and c["right"] <= width + 1 for c in shown), \
                f"{where}, every expander open: {shown}"
    return measured


def check_first_screen(page: Page, height: int, where: str) -> None:
    """The first chart's top edge is inside the first screen (``height`` px tall), 100 px above its bottom: a new
    visitor sees a picture without scrolling."""
    box = page.locator("[data-testid=stVegaLiteChart]").first.bounding_box()
    with picture_if_failed(page, f"first-screen {where}", page.viewport_size["width"]):
        assert box is not None and box["y"] < height - 100, (where, box)


LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def open_sidebar(page: Page) -> None:
    """A phone shows the sidebar (and its navigation) only when asked."""
    button = page.locator("[data-testid=stExpandSidebarButton]")
    if button.count():
        button.first.click()
        expect(page.locator("[data-testid=stSidebarNav]")).to_be_visible()
        page.wait_for_timeout(500)  # the sidebar slides in


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_page_fits_a_laptop_and_a_phone(server, browser, first_session, lang):
    """The default configuration, as most visitors see it, in both languages (French labels run longer): every
    page at a laptop's window (1280 x 900), then narrowed to a phone's (390 x 844), fits it as ``check_fits``
    says (at 390 px: one chart per row), and its navigation labels are not cut (on a phone, once the sidebar is
    opened). The landing page shows its first chart on the first screen at both widths, the Overview at 1280
    px. (A wider window only widens the content column.)

    Why narrowing stands for a phone's visit: Streamlit lays its pages out by CSS width and redraws its charts
    when their column resizes; the server never learns the width. Measured on every page in both languages
    (2026-12-07), a page loaded at 1280 px and narrowed to 390 px had the same chart boxes, formulas, overflow,
    tab rows, first-chart position and sidebar state (collapsed, behind its button) as one loaded at 390 px;
    only the charts inside a collapsed expander kept their old width until opened, and ``check_fits`` opens
    every expander before the narrowing."""
    context = browser.new_context(viewport=LAPTOP)
    context.add_init_script(CANVAS_SPY)
    page = context.new_page()
    specs = specs_of(page)
    drawn = {"text": 0, "gradient": 0}
    try:
        for i, (path, (title, _n, _d)) in enumerate(PAGES.items()):
            title = title_in(lang, title)
            if i == 0:
                page.goto(f"{server['base']}/{'' if path == DEFAULT_PAGE else path}?lang={lang}")
                wait_ready(page, title, timeout=LOAD_TIMEOUT)
            else:  # the next page as a visitor reaches it: by the sidebar, in the same session
                page.set_viewport_size(LAPTOP)
                specs.clear()
                goto_via_sidebar(page, title, LOAD_TIMEOUT)
            for size in (LAPTOP, PHONE):
                where = f"{path} ({lang}) at {size['width']}x{size['height']}"
                if size is PHONE:
                    page.set_viewport_size(PHONE)
                    page.wait_for_timeout(800)  # Vega redraws container-wide charts once their width is known
                    settle(page)
                if path == DEFAULT_PAGE or (path == "overview" and size is LAPTOP):
                    check_first_screen(page, size["height"], where)
                got = check_fits(page, specs, size["width"], where)
                drawn = {k: drawn[k] + got["drawn"][k] for k in drawn}
                if size is PHONE:
                    open_sidebar(page)
                if path == DEFAULT_PAGE or size is PHONE:
                    assert not page.evaluate(MEASURE)["nav"], f"{where}: navigation labels cut"
    finally:
        context.close()
    # the canvas spy saw the charts' texts and colour legends: no cut found means none drawn past an edge
    assert drawn["text"] > 200 and drawn["gradient"] >= 4


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_schemes_formula_fits_its_column(server, browser, first_session, lang):
    """The overview with every scheme (as many at once as a link may hold), in both languages, at a laptop's
    and a phone's width: no formula runs past its column (KaTeX clips it there), French words included. Each
    page is measured at 1280 px, then narrowed to 390 px (Streamlit stacks its columns by CSS width alone)."""
    from urllib.parse import urlencode

    from core.config import MAX_SCHEMES
    from core.nn.initializers import INITIALIZERS
    names = list(INITIALIZERS)
    title = "Overview" if lang == "en" else "Vue d'ensemble"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        for start in range(0, len(names), MAX_SCHEMES):
            batch = names[start:start + MAX_SCHEMES]
            page = context.new_page()
            q = urlencode([("lang", lang), ("seeds", 1), ("epochs", 1), ("n_samples", 100)]
                          + [("schemes", n) for n in batch])
            page.goto(f"{server['base']}/overview?{q}")
            wait_ready(page, title, timeout=LOAD_TIMEOUT)
            for width, height in ((1280, 900), (390, 844)):
                page.set_viewport_size({"width": width, "height": height})
                wait_ready(page, title)
                got = layout(page)
                assert got["content_width"] <= width, (width, got["content_width"])
                assert len(got["formulas"]) >= len(batch), (width, batch)
                for formula in got["formulas"]:
                    assert formula["width"] < formula["host"] - 0.5, f"{lang} at {width} px: clipped: {formula}"
            page.close()
    finally:
        context.close()


def test_a_fifty_layer_network_is_one_picture(server, browser, first_session):
    """50 hidden layers: each layer × value density is one chart of bounded height, and the page fits."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{server['base']}/activations?schemes=xavier_normal&schemes=he_normal&activation=relu&depth=50"
                  "&width=16&epochs=4&seeds=1&record_epochs=3")
        wait_ready(page, "Activations", timeout=LOAD_TIMEOUT)
        got = layout(page)
        assert got["overflow"] <= 1
        assert len(got["charts"]) == 1 + 2 + 1
        assert all(250 <= c["height"] <= 700 for c in got["charts"]), [c["height"] for c in got["charts"]]
    finally:
        context.close()


def test_changing_a_control_changes_the_address_bar(open_link):
    page = open_link(f"overview?{LINK_QUERY}", "Overview")
    seeds = page.locator("[data-testid=stSidebar]").get_by_role("spinbutton", name="Seeds per scheme", exact=True)
    seeds.fill("4")
    seeds.press("Enter")
    page.wait_for_url(re.compile(r"[?&]seeds=4(&|$)"), timeout=RUN_TIMEOUT)
    wait_ready(page, "Overview")
    q = query(page)
    assert q["seeds"] == ["4"] and q["dataset"] == ["spirals"] and q["schemes"] == ["zeros", "he_normal"], q
    expect(page.locator("[data-testid=stDownloadButton]").filter(has_text="Summary")).to_contain_text(
        "(CSV, 8 rows)", timeout=RUN_TIMEOUT)  # 2 schemes x 4 seeds, retrained

    page.locator("[data-testid=stSidebar] [data-testid=stExpander]").filter(has_text="Data").locator("summary").click()
    for attempt in range(3):  # a click that lands while the page reruns opens no list: open it again
        page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").filter(has_text="Dataset").click()
        try:
            page.get_by_role("option", name="xor", exact=True).click(timeout=10_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r"[?&]dataset=xor(&|$)"), timeout=RUN_TIMEOUT)
    wait_ready(page, "Overview")
    q = query(page)
    assert q["dataset"] == ["xor"] and q["seeds"] == ["4"] and q["schemes"] == ["zeros", "he_normal"], q
    wait_charts(page, 2)


def test_csv_download_reads_back_with_the_linked_schemes(open_link, frames, tmp_path):
    page = open_link(f"overview?{LINK_QUERY}", "Overview")
    button = page.locator("[data-testid=stDownloadButton]").filter(has_text="Curves").get_by_role("button")
    with page.expect_download(timeout=RUN_TIMEOUT) as info:
        button.click()
    download = info.value
    assert download.suggested_filename == f"initlab_curves_{LINK.run_id}.csv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    df = pd.read_csv(path)
    assert list(df.columns) == ["run_id", "scheme", "seed", "epoch", "split", "loss", "accuracy"]
    assert set(df["run_id"]) == {LINK.run_id}
    assert df["scheme"].unique().tolist() == ["zeros", "he_normal"]
    assert sorted(df["seed"].unique()) == [0, 1]
    assert df["epoch"].max() == 20
    # the same numbers as the core API computes for this configuration
    expected = frames["curves"].reset_index(drop=True)
    pd.testing.assert_frame_equal(df.drop(columns="run_id"), expected, check_dtype=False, rtol=1e-6)

    goto_via_sidebar(page, "Export")
    with page.expect_download(timeout=RUN_TIMEOUT) as info:
        page.locator("[data-testid=stDownloadButton]").filter(has_text="config.json").get_by_role("button").click()
    config = json.loads(Path(info.value.path()).read_text())
    assert config["run_id"] == LINK.run_id
    assert ExperimentConfig.from_query(config["query"]) == LINK

    # the "share this configuration" link opens the same configuration in a new session
    share = page.locator("[data-testid=stCode]").first.inner_text().strip()
    shared = page.context.new_page()
    shared.goto(share)
    wait_ready(shared, "Overview", timeout=LOAD_TIMEOUT)
    assert ExperimentConfig.from_query(urlparse(shared.url).query) == LINK
    assert eventually(lambda: selected_schemes(shared), ["zeros", "he_normal"]) == ["zeros", "he_normal"]


def test_garbage_link_warns_and_falls_back(open_link):
    page = open_link("overview?depth=999&lr=abc&schemes=nonsense&schemes=he_normal&bogus=1&dataset=mnist", "Overview")
    warnings = eventually(lambda: link_warnings(page), ok=lambda w: len(w) >= 5)
    for param, value in [("depth", "999"), ("lr", "abc"), ("schemes", "nonsense"), ("bogus", None),
                         ("dataset", "mnist")]:
        named = [w for w in warnings if re.search(rf"— {param}:", w) and (value is None or value in w)]
        assert named, f"no warning names {param}={value}: {warnings}"
    assert len(warnings) == 5, warnings
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    # the valid part of the link is kept, the rest falls back to the defaults
    assert eventually(lambda: selected_schemes(page), ["he_normal"]) == ["he_normal"]
    assert query(page) == {"v": [str(SCHEMA_VERSION)], "schemes": ["he_normal"]}
    expect_sidebar_value(page, "Hidden layers", str(FIELDS["depth"].default))
    expect_sidebar_value(page, "Learning rate", "0.1")
    expect_sidebar_value(page, "Seeds per scheme", "3")
    wait_charts(page, 2)
    assert eventually(lambda: summary_table(page)["scheme"].tolist(), ["he_normal"]) == ["he_normal"]
    # the warnings stay for the session, and other pages draw too
    goto_via_sidebar(page, "Activations")
    assert len(eventually(lambda: link_warnings(page), ok=lambda w: len(w) == 5)) == 5
    wait_charts(page, 1 + 1 + 1)  # one scheme: the depth chart, its layer x value density, dead units


def test_hostile_view_keys_warn_and_never_trace(open_link):
    """View keys a link cannot hold (an epoch not recorded, a seed not trained, markup, a key the page does not
    show): a warning names each, the page shows its default view, and nothing from the link becomes markup."""
    page = open_link(f"weights?{LINK_QUERY}&epoch=7&seed=9&quantity=activation"
                     "&layer=%3Cimg%20src%3Dx%20onerror%3Dwindow.hacked%3D1%3E", "Weight distances")
    warnings = eventually(lambda: link_warnings(page), ok=lambda w: len(w) >= 4)
    for named in ("epoch: got 7", "seed: got 9", "quantity: not a view of this page", "layer: got '<img"):
        assert any(named in w for w in warnings), (named, warnings)
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    assert page.locator("[data-testid=stMain] img[src=x]").count() == 0
    assert page.evaluate("() => window.hacked") is None
    assert not {"epoch", "seed", "quantity", "layer"} & set(query(page)), query(page)
    expect(page.locator("[data-testid=stSliderThumbValue]").first).to_have_text("20")  # the page's default
    wait_charts(page, 2)


def test_exploding_lesson_shows_diverged_markers(open_link):
    lesson = BY_SLUG["vanish-explode"]
    title = PAGES[lesson.page][0]
    page = open_link(f"{lesson.page}?{lesson.query}", title)
    assert page.locator("[data-testid=stVegaLiteChart]").count() >= 1  # wait_ready saw every one drawn
    assert ExperimentConfig.from_query(urlparse(page.url).query) == lesson.config
    goto_via_sidebar(page, "Overview")
    expect(page.get_by_text("diverged at epoch").first).to_be_visible()
    warning = " ".join(eventually(lambda: alerts(page), ok=lambda a: any("diverged at epoch" in w for w in a)))
    assert re.search(r"normal:std=1 seed 0: diverged at epoch \d+", warning), warning
    assert "he_normal seed" not in warning, warning
    wait_charts(page, 2)
    table = eventually(lambda: summary_table(page), ok=lambda t: len(t) == 3).set_index("scheme")
    assert table.loc["normal:std=1", "seeds diverged"] == "2" and table.loc["he_normal", "seeds diverged"] == "0"
    with page.expect_download(timeout=RUN_TIMEOUT) as info:
        page.locator("[data-testid=stDownloadButton]").filter(has_text="Summary").get_by_role("button").click()
    summary = pd.read_csv(info.value.path())
    exploded = summary[summary["scheme"] == "normal:std=1"]
    assert exploded["status"].str.match(r"diverged at epoch \d+").all(), exploded["status"].tolist()
    assert summary[summary["scheme"] == "he_normal"]["diverged_epoch"].isna().all()


def test_lesson_link_opens_its_configuration(open_link):
    lesson = BY_SLUG["vanish-explode"]
    page = open_link(f"lessons?{LINK_QUERY}", "Lessons")
    card = page.locator("[data-testid=stVerticalBlock]").filter(
        has=page.get_by_role("heading", name=lesson.title)).last
    # every lesson links to a page the app serves (the default page only at "/")
    served = {"/"} | {f"/{p}" for p in PAGES if p != DEFAULT_PAGE}
    hrefs = [a.get_attribute("href") for a in page.get_by_role("link", name=re.compile("Open this lesson")).all()]
    assert len(hrefs) == len(BY_SLUG) and all(urlparse(h).path in served for h in hrefs), hrefs
    link = card.get_by_role("link", name=re.compile("Open this lesson"))
    with page.context.expect_page(timeout=RUN_TIMEOUT) as info:
        link.click()
    lesson_page = info.value
    wait_ready(lesson_page, PAGES[lesson.page][0], timeout=LOAD_TIMEOUT)
    assert urlparse(lesson_page.url).path == f"/{lesson.page}"
    assert ExperimentConfig.from_query(urlparse(lesson_page.url).query) == lesson.config
    schemes = list(lesson.config.schemes)
    assert eventually(lambda: selected_schemes(lesson_page), schemes) == schemes
    expect_sidebar_value(lesson_page, "Hidden layers", str(lesson.config.depth))
    assert lesson_page.locator("[data-testid=stVegaLiteChart]").count() >= 1  # wait_ready saw every one drawn
    # the view that shows the lesson's fact, where the lesson names one, is accepted without a warning
    assert not link_warnings(lesson_page), link_warnings(lesson_page)


def test_restarts_link_reproduces_its_csv(open_link, tmp_path):
    from core import restarts
    from core.restarts import RestartSettings

    own = "&restarts=6&clusters=5&components=3&fit=gmm.random_from_data"
    page = open_link(f"restarts?{LINK_QUERY}{own}", "Restarts beyond networks")
    wait_charts(page, PAGES["restarts"][1])
    q = query(page)
    assert (q["restarts"], q["clusters"], q["components"], q["fit"]) == (["6"], ["5"], ["3"], ["gmm.random_from_data"])
    assert q["dataset"] == ["spirals"] and not alerts(page), alerts(page)
    expect(page.get_by_role("spinbutton", name="Restarts per init", exact=True)).to_have_value("6")
    settings = RestartSettings.from_config(LINK, restarts=6, clusters=5, components=3)
    expected = restarts.fit_restarts(settings).frames
    for label, name in (("Restarts", "restart_runs"), ("Centres", "restart_centres")):
        button = page.locator("[data-testid=stDownloadButton]").filter(has_text=f"{label} (CSV").get_by_role("button")
        with page.expect_download(timeout=RUN_TIMEOUT) as info:
            button.click()
        assert info.value.suggested_filename == f"initlab_{name}_{settings.run_id}.csv"
        df = pd.read_csv(info.value.path())
        assert set(df.pop("run_id")) == {settings.run_id}
        want = pd.read_csv(pd.io.common.StringIO(expected[name].to_csv(index=False)))
        pd.testing.assert_frame_equal(df, want, check_exact=True)
    # the centres drawn are the linked fit's: EM from random data points, with its ellipses
    centres = pd.read_csv(pd.io.common.StringIO(expected["restart_centres"].to_csv(index=False)))
    assert "random_from_data" in set(centres["init"])


def test_closing_a_tab_stops_its_run(server, browser, first_session):
    """A closed tab's run stops (the server log says so) instead of training on for nobody."""
    from core.runtime import budget
    from core.config import replace

    base = replace(LINK, n_samples=2000, data_seed=7)  # a run of tens of seconds, admitted by the budget
    long = next(c for c in (replace(base, epochs=e) for e in (5000, 3000, 2000, 1000))
                if budget.estimate(c).seconds <= 0.8 * budget.PUBLIC.seconds)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{server['base']}/overview?{long.to_query()}")
    log = server["log"]
    deadline = time.monotonic() + LOAD_TIMEOUT / 1000
    while f"run {long.run_id} (" not in log.read_text():
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.2)
    context.close()
    deadline = time.monotonic() + 60
    while f"run {long.run_id}: stopped" not in log.read_text():
        assert time.monotonic() < deadline, "the closed tab's run was not stopped"
        time.sleep(0.2)
    assert f"run {long.run_id}: trained" not in log.read_text()


def test_server_log_has_no_traceback(server, first_session):
    text = Path(server["log"]).read_text()
    assert "Traceback" not in text, text[-3000:]


def test_scale_depth_map_draws_and_a_cell_opens_its_dashboard(open_link):
    from core.sweeps.sweep import SweepConfig
    sweep = SweepConfig(LINK, (("sigma_w", "0.7,1.4"), ("depth", "1,2")))
    page = open_link(f"scale_depth?{sweep.to_query()}&sweep_metric=final_test_accuracy", "Scale × depth")
    wait_charts(page, 0)
    page.get_by_test_id("stCheckbox").get_by_text("Train and draw the map").click()  # the toggle: the map goes into the link
    page.wait_for_url(re.compile(r"[?&]sweep=true(&|$)"), timeout=RUN_TIMEOUT)
    wait_ready(page, "Scale × depth")
    wait_charts(page, 1)
    assert SweepConfig.from_query(urlparse(page.url).query) == sweep
    expect(page.get_by_text("What to notice")).to_be_visible()
    # the plot area is tiled by the four cells: its middle is one of them, and selecting it opens its dashboard
    plot = page.locator("[data-testid=stVegaLiteChart]").first.locator("canvas, svg").first
    plot.scroll_into_view_if_needed()
    box = plot.bounding_box()
    x, y = box["x"] + 0.45 * box["width"], box["y"] + 0.45 * box["height"]
    page.mouse.move(x, y)
    under = "(() => { const e = document.elementFromPoint(%s, %s); return [getComputedStyle(e).cursor, e.outerHTML.slice(0, 200)]; })()"
    cursor, element = page.evaluate(under % (x, y))
    assert cursor == "pointer" and "mean over seeds" in element, element  # a cell, with its link
    overview = re.compile(r"^https?://[^/]+/overview\?v=\d+&")
    for _ in range(3):  # a click that lands while Vega is still wiring its handlers does nothing: click again
        page.mouse.click(x, y)
        try:
            page.wait_for_url(overview, timeout=15_000)
            break
        except PlaywrightTimeout:
            continue
    wait_ready(page, "Overview", timeout=LOAD_TIMEOUT)
    point = ExperimentConfig.from_query(urlparse(page.url).query)
    assert point.to_query() in {p.query for p in sweep.points}, page.url
    assert point.depth in (1, 2) and point.schemes[0].startswith("he_normal:gain=")
    wait_charts(page, PAGES["overview"][1])


def selected_tab(page: Page) -> str:
    return page.locator("[data-testid=stMain] [role=tab][aria-selected=true]").inner_text().strip()


def test_a_link_with_a_tab_selected_reopens_that_tab(server, browser, first_session):
    context = browser.new_context(viewport=LAPTOP)
    try:
        page = context.new_page()
        page.goto(f"{server['base']}/gradients")
        wait_ready(page, "Gradients", timeout=LOAD_TIMEOUT)
        assert selected_tab(page) == "Norms over training"
        page.locator("[data-testid=stMain] [role=tab]").filter(has_text="One layer over training").click()
        page.wait_for_function("() => location.search.includes('tab=one_layer')", timeout=30_000)
        wait_ready(page, "Gradients")
        link = page.url
        assert parse_qs(urlparse(link).query)["tab"] == ["one_layer"]
    finally:
        context.close()

    context = browser.new_context(viewport=LAPTOP)  # a new session
    try:
        again = context.new_page()
        again.goto(link)
        wait_ready(again, "Gradients", timeout=LOAD_TIMEOUT)
        assert selected_tab(again) == "One layer over training"
        expect(again.get_by_text("each column a recorded epoch", exact=False)).to_be_visible()
        assert parse_qs(urlparse(again.url).query)["tab"] == ["one_layer"]
    finally:
        context.close()
