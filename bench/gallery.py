"""Screenshots of every page in headless Chromium: the README's gallery, and the layout checks of the browser
tests (which import ``settle``, ``layout`` and ``shoot`` from here).

    python3 bench/gallery.py [--out bench/gallery] [--width 1280] [--lang en]

starts its own server on 127.0.0.1, opens every page of ``GALLERY_QUERY`` in one browser session (the first
page by its link, the others through the sidebar, as a visitor would) and writes ``<out>/<page>.png``: the
whole page at the given window width, in the given language. The tests keep a picture only of a page that
fails a check; this is the way to look at every page (for instance ``--width 390 --lang fr --out /tmp/fr``).
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from app.registry import PAGES  # noqa: E402
from core import i18n  # noqa: E402
from bench.serve import CHROMIUM, CHROMIUM_ARGS, server  # noqa: E402

# The default configuration (naive and scaled schemes on an 8-layer ReLU network, deep enough for the signal to
# vanish or explode, where the theory draws its predicted line), 64 units wide.
GALLERY_QUERY = "v=3&width=64"
OUT = ROOT / "bench" / "gallery"
CHART = "[data-testid=stVegaLiteChart]"
SETTLED = """() => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state') === 'notRunning'
                   && !document.querySelector('[data-stale=true]')"""
# A chart inside a collapsed expander (a closed <details>) is in the page but not shown: Chromium skips the
# layout of a closed <details>' content, so Vega may draw it at once or only when it is opened (which
# test_browser checks by opening every expander). Waits and layout checks count only the charts shown.
SHOWN = "(c => !c.closest('details:not([open])'))"
# The run has ended and every chart it sent and shows is drawn. An element whose component is still loading
# (the chart component is a lazy chunk, fetched after the run ends) shows as a skeleton.
DRAWN = f"""() => ({SETTLED})() && !document.querySelector('[data-testid=stMain] [data-testid=stSkeleton]')
                 && [...document.querySelectorAll('[data-testid=stMain] {CHART}')].filter({SHOWN})
                    .every(c => c.querySelector('canvas, svg'))"""


def settle(page: Page, title: str | None = None, timeout: int = 120_000) -> None:
    """Wait until the page (titled ``title``) has finished its script run and Vega has drawn every chart
    the run sent."""
    if title:
        expect(page.locator("[data-testid=stMain] h1").filter(
            has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))).to_be_visible(timeout=timeout)
    page.wait_for_function(SETTLED, timeout=timeout, polling=100)
    page.wait_for_timeout(300)  # a rerun requested at the end of a run (a URL rewrite) starts now: re-check
    page.wait_for_function(DRAWN, timeout=timeout, polling=100)


def layout(page: Page) -> dict:
    """What the layout checks read: the page's horizontal overflow (px), every chart's drawn box (``visible``:
    shown; ``collapsed``: in a collapsed expander), with the text of its vega-bindings (the in-chart epoch slider), every formula's width against its column's, and the
    buttons whose label is cut short."""
    return page.evaluate(f"""() => {{
        const doc = document.documentElement;
        const main = document.querySelector('[data-testid=stMain]');
        const overflow = Math.max(doc.scrollWidth - doc.clientWidth, main ? main.scrollWidth - main.clientWidth : 0);
        const charts = [...document.querySelectorAll('{CHART}')].map(c => {{
            const drawn = c.querySelector('canvas, svg');
            const box = (drawn || c).getBoundingClientRect();
            const host = c.getBoundingClientRect();
            return {{width: box.width, height: box.height, left: box.left, right: box.right,
                     host_left: host.left, host_right: host.right, visible: !!c.offsetParent && {SHOWN}(c), collapsed: !{SHOWN}(c),
                     bindings: c.querySelector('.vega-bindings')?.innerText || ''}};
        }});
        const content = document.querySelector('[data-testid=stMainBlockContainer]');
        // a formula wider than its column is clipped there (KaTeX's box then takes the column's whole width)
        const formulas = [...document.querySelectorAll('[data-testid=stMain] .katex')].map(k => {{
            const host = k.closest('[data-testid=stColumn]') || k.closest('[data-testid=stVerticalBlock]');
            return {{width: k.getBoundingClientRect().width, host: host.getBoundingClientRect().width,
                     text: k.innerText.slice(0, 60)}};
        }});
        // a button label too long for its column ends in "…": Streamlit hides the rest
        const clipped = [...document.querySelectorAll('[data-testid=stMain] button')]
            .filter(b => b.offsetParent)
            .filter(b => [...b.querySelectorAll('p, span, div')].some(e => e.scrollWidth > e.clientWidth + 1))
            .map(b => b.innerText.trim());
        return {{overflow, viewport: window.innerWidth, content_width: content ? content.clientWidth : 0, charts,
                 formulas, clipped}};
    }}""")


def shoot(page: Page, path: Path, width: int, max_height: int = 12000) -> None:
    """The whole page at ``width``: Streamlit scrolls inside its main block, so grow the window to fit it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_timeout(300)
    height = page.evaluate("""() => Math.max(document.querySelector('[data-testid=stMain]')?.scrollHeight || 0,
                                             document.querySelector('[data-testid=stSidebarContent]')?.scrollHeight || 0,
                                             document.body.scrollHeight)""")
    page.set_viewport_size({"width": width, "height": int(min(max(height + 40, 900), max_height))})
    page.wait_for_timeout(800)  # Vega redraws container-wide charts on resize
    page.screenshot(path=str(path), full_page=True)


def shrink(path: Path) -> None:
    """The picture in 256 colours (a third of the bytes; the dashboard's flat colours survive it)."""
    from PIL import Image  # Streamlit's own dependency

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def goto_via_sidebar(page: Page, title: str) -> None:
    expand = page.locator("[data-testid=stExpandSidebarButton]")
    phone = expand.count() and expand.first.is_visible()  # a phone shows the sidebar only when asked
    if phone:
        expand.first.click()
        page.wait_for_timeout(500)  # the sidebar slides in
    page.locator("[data-testid=stSidebarNav] a").filter(has_text=title).click()
    if phone:  # and it stays over the page until closed
        page.locator("[data-testid=stSidebarCollapseButton] button").first.click()
        page.wait_for_timeout(500)
    settle(page, title)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--lang", choices=i18n.LANGUAGES, default=i18n.DEFAULT)
    args = ap.parse_args()
    i18n.set_language(args.lang)  # the titles the pages and the sidebar show
    with server() as (base, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": args.width, "height": 900}).new_page()
        start = time.perf_counter()
        page.goto(f"{base}/?{GALLERY_QUERY}&lang={args.lang}")
        for i, spec in enumerate(PAGES):
            if i:
                goto_via_sidebar(page, i18n.gettext(spec.title))
            else:
                settle(page, i18n.gettext(spec.title))
            path = args.out / f"{spec.path}.png"
            shoot(page, path, args.width)
            shrink(path)
            print(f"{spec.path}: {path}")
        browser.close()
    print(f"{len(PAGES)} pages in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
