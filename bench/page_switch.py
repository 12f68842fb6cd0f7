"""Page switches and the default page's first chart, in headless Chromium on a warm server.

    python3 bench/page_switch.py [--query QUERY] [--rounds 3]

Starts its own server and trains the configuration once (a first session that is not timed). Then, in a
new session (the run now comes from the shared cache):

- first chart: from ``page.goto`` of the default page to its first drawn Vega chart;
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
    args = ap.parse_args()
    url_query = f"?{args.query}" if args.query else ""
    with server() as (base, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        warmup = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        warmup.goto(f"{base}/{url_query}")
        settle(warmup, PAGES[0].title)  # trains the configuration: later sessions take it from the cache
        warmup.context.close()

        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        start = time.perf_counter()
        page.goto(f"{base}/{url_query}")
        page.wait_for_selector(CHART, timeout=120_000)
        first_chart = time.perf_counter() - start
        settle(page, PAGES[0].title)

        times: dict[str, list[float]] = {p.path: [] for p in PAGES}
        for _round in range(args.rounds):
            for spec in PAGES[1:] + PAGES[:1]:
                link = page.locator("[data-testid=stSidebarNav] a").filter(has_text=spec.title)
                start = time.perf_counter()
                link.click()
                page.wait_for_function(DONE, arg=spec.title, timeout=120_000, polling=50)
                times[spec.path].append(time.perf_counter() - start)
        browser.close()
    print(f"first chart of the default page, warm server, cached run: {first_chart:.2f} s")
    print("page switch (click to every chart drawn), median of", args.rounds, "rounds:")
    for path, t in times.items():
        print(f"  {path:12s} {statistics.median(t):.2f} s   (all: {', '.join(f'{x:.2f}' for x in t)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
