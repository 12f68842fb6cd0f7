"""Time from opening the default dashboard to its first drawn chart, on a fresh server.

    python bench/open_dashboard.py [--screenshot bench/screenshot-overview.png]

Measures the very first session of a freshly started server (cold: imports,
first training run) and a second session (warm: the run comes from the
shared cache), each from page.goto to the first rendered Vega chart.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.serve import CHROMIUM, CHROMIUM_ARGS, server  # noqa: E402

CHART = ".vega-embed canvas, .vega-embed svg"


def time_to_chart(browser, url: str, shot: Path | None = None) -> float:
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(CHART, timeout=120_000)
    elapsed = time.perf_counter() - start
    if shot:
        time.sleep(1.0)  # let the remaining charts settle for the picture
        page.screenshot(path=str(shot))
    context.close()
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--screenshot", type=Path, help="save a picture of the default overview here")
    args = ap.parse_args()
    with server() as (base, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with tempfile.TemporaryDirectory():
            cold = time_to_chart(browser, base + "/")
            warm = time_to_chart(browser, base + "/", args.screenshot)
        browser.close()
    print(f"default dashboard, fresh server: first chart after {cold:.2f} s (first session), "
          f"{warm:.2f} s (second session, cached run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
