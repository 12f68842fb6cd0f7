"""Page switches and the default page's first chart, in headless Chromium on a warm server.

    python3 bench/page_switch.py [--query QUERY] [--rounds 3]

Starts its own server and trains the configuration once (a first session that is not timed). Then, in a
new session (the run now comes from the shared cache):

- first chart: from ``page.goto`` of the default page to its first drawn Vega chart, for new visitors (a fresh
  browser context each) and returning ones (a context whose HTTP cache holds Streamlit's scripts);
  ``--baseline`` times the same for bench/minimal_app.py, one small chart and nothing else: what Streamlit's
  own start-up costs on this machine;
- page switch: from a click on a page in the sidebar to that page's finished script run with every chart it
  sent drawn (``bench.gallery.DRAWN``), for every page, ``--rounds`` times; the median per page.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from app.registry import PAGES  # noqa: E402
from bench.gallery import DRAWN, settle  # noqa: E402
from bench.serve import CHROMIUM, CHROMIUM_ARGS, server  # noqa: E402

CHART = "[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg"
DONE = """(title) => document.querySelector('[data-testid=stMain] h1')?.innerText.trim() === title
                     && (%s)()""" % DRAWN


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--query", default="", help="the configuration (a link's query string); default: the default")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pages", nargs="+", metavar="PATH", help="switch to these pages only (and back to the first)")
    ap.add_argument("--baseline", action="store_true",
                    help="time the first chart of bench/minimal_app.py instead: Streamlit's own start-up")
    ap.add_argument("--visits", type=int, default=3, help="first-chart timings: new visitors, then as many "
                                                          "returning ones (the browser's cache warm)")
    args = ap.parse_args()
    if args.baseline:
        return baseline(args.visits)
    url_query = f"?{args.query}" if args.query else ""
    with server() as (base, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        warmup = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        warmup.goto(f"{base}/{url_query}")
        settle(warmup, PAGES[0].title)  # trains the configuration: later sessions take it from the cache
        warmup.context.close()

        new, returning = first_charts(browser, f"{base}/{url_query}", args.visits)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{base}/{url_query}")
        settle(page, PAGES[0].title)

        order = PAGES[1:] + PAGES[:1]
        if args.pages:
            order = [p for p in PAGES if p.path in args.pages and p is not PAGES[0]] + PAGES[:1]
        times: dict[str, list[float]] = {p.path: [] for p in order}
        for _round in range(args.rounds):
            for spec in order:
                link = page.locator("[data-testid=stSidebarNav] a").filter(has_text=spec.title)
                start = time.perf_counter()
                link.click()
                page.wait_for_function(DONE, arg=spec.title, timeout=120_000, polling=50)
                times[spec.path].append(time.perf_counter() - start)
        browser.close()
    report_first_charts("the default page, warm server, cached run", new, returning)
    print("page switch (click to every chart drawn), median of", args.rounds, "rounds:")
    for path, t in times.items():
        print(f"  {path:12s} {statistics.median(t):.2f} s   (all: {', '.join(f'{x:.2f}' for x in t)})")
    return 0


def first_charts(browser, url: str, visits: int) -> tuple[list[float], list[float]]:
    """Seconds from ``page.goto(url)`` to the first drawn chart: ``visits`` new visitors (each a fresh browser
    context: nothing cached, as a link opened from a forum), then ``visits`` returning ones (one context that
    has loaded the page before, so its HTTP cache holds Streamlit's scripts)."""
    def once(context) -> float:
        page = context.new_page()
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(CHART, timeout=120_000)
        seconds = time.perf_counter() - start
        page.close()
        return seconds

    new = []
    for _ in range(visits):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        new.append(once(context))
        context.close()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    once(context)
    returning = [once(context) for _ in range(visits)]
    context.close()
    return new, returning


def report_first_charts(what: str, new: list[float], returning: list[float]) -> None:
    print(f"first chart of {what}: new visitor median {statistics.median(new):.2f} s "
          f"(all: {', '.join(f'{x:.2f}' for x in new)}); returning visitor median {statistics.median(returning):.2f} s "
          f"(all: {', '.join(f'{x:.2f}' for x in returning)})")


def baseline(visits: int) -> int:
    with server(script="bench/minimal_app.py") as (base, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        first_charts(browser, base, 1)  # the server's first session imports Altair and pandas
        new, returning = first_charts(browser, base, visits)
        browser.close()
    report_first_charts("bench/minimal_app.py (one small chart, nothing else)", new, returning)
    return 0


if __name__ == "__main__":
    sys.exit(main())
