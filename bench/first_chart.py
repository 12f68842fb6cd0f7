"""The first minutes of a new visitor: the first chart of the story page and of the Overview, against
Streamlit's own one-chart app, measured in one run; and how long a fresh server's warm-up takes.

    python3 bench/first_chart.py [--visits 5]

Streamlit runs none of the app's code before a first session opens it, so a fresh server's warm-up (the
story's runs, then the default configuration, app.server) starts with its first visitor. In order:

1. a fresh dashboard server and its first visitor, who opens the story page (/): that visitor's first chart,
   and the warm-up, from the visitor's arrival to the log line of the last run the server computes ahead;
2. once the warm-up has finished, the first new visitor of the Overview (/overview: that page's first run in
   the server's process) and a second new visitor of the story page;
3. bench/minimal_app.py (one small chart, nothing else) on a server of its own, after one untimed visit that
   imports Altair and pandas; then ``--visits`` rounds, each a new visitor (a fresh browser context) of the
   baseline, of the story page and of the Overview in turn, both servers up: the medians, and their ratios
   to the baseline's median.

A visit's time runs from ``page.goto`` to the first Vega chart drawn. Writes bench/results/first_chart.md
(this benchmark's own file: the machine, the date, the command, the numbers).
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.page_switch import CHART  # noqa: E402
from bench.serve import CHROMIUM, CHROMIUM_ARGS, server  # noqa: E402

OUT = ROOT / "bench" / "results" / "first_chart.md"
VIEWPORT = {"width": 1280, "height": 900}


def warm_lines() -> tuple[str, ...]:
    """The log lines (app.results.stored_work) of the last runs the server computes ahead: the story's map
    (app.story.warm's last job), then the default configuration as the server admits it (app.server)."""
    from app.results import admitted
    from core.config import ExperimentConfig

    config, _note, _refused = admitted(ExperimentConfig())
    return "story map at initialization: trained", f"run {config.run_id}: trained"


def log_time(line: str) -> float:
    """The epoch seconds of an initlab log line ("2026-12-07 06:19:35,151 initlab INFO: ...", local time)."""
    return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def warm_up_end(log: Path, lines: tuple[str, ...], timeout: float = 600) -> float:
    """The epoch seconds of the last of ``lines`` in the server's log, once all are there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text()
        if "could not" in text:  # app.story.warm / app.server: a run computed ahead failed
            raise RuntimeError(f"the warm-up failed; the server's log:\n{text[-3000:]}")
        found = [next((x for x in text.splitlines() if line in x), None) for line in lines]
        if all(found):
            return max(log_time(x) for x in found)
        time.sleep(0.2)
    raise TimeoutError(f"the server's warm-up did not finish in {timeout:.0f} s; its log:\n{log.read_text()[-3000:]}")


def visit(browser, url: str, settle_after: bool = False) -> float:
    """Seconds from ``page.goto(url)`` to the first drawn chart, for a new visitor (a fresh browser context)."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(CHART, timeout=300_000)
        seconds = time.perf_counter() - start
        if settle_after:  # the first visitor stays until the page is whole (its runs are the warm-up's)
            from bench.gallery import settle
            settle(page, timeout=300_000)
        return seconds
    finally:
        context.close()


def median_row(name: str, times: list[float], base: float) -> str:
    m = statistics.median(times)
    return f"| {name} | {m:.2f} | {', '.join(f'{t:.2f}' for t in times)} | {m / base:.2f} |"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--visits", type=int, default=5, help="rounds of new visitors (baseline, story, Overview)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    lines = warm_lines()
    load_start = os.getloadavg()
    started = datetime.datetime.now()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        log = Path(tmp) / "server.log"
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with server(log=log) as (app, _):
            arrived = time.time()
            first = visit(browser, f"{app}/", settle_after=True)
            warm = warm_up_end(log, lines) - arrived
            fresh_overview = visit(browser, f"{app}/overview")
            fresh_story = visit(browser, f"{app}/")
            with server(script="bench/minimal_app.py") as (minimal, _):
                visit(browser, minimal)  # the server's first session imports Altair and pandas
                baseline, story, overview = [], [], []
                for _round in range(args.visits):
                    baseline.append(visit(browser, minimal))
                    story.append(visit(browser, f"{app}/"))
                    overview.append(visit(browser, f"{app}/overview"))
        browser.close()
    b = statistics.median(baseline)
    command = "python3 bench/first_chart.py" + (f" --visits {args.visits}" if args.visits != 5 else "")
    report = [
        "# First chart for a new visitor (bench/first_chart.py)",
        "",
        f"`{command}`, {started:%Y-%m-%d %H:%M} to {datetime.datetime.now():%H:%M}, on {platform.node()} "
        f"({os.cpu_count()} cores, {platform.machine()}), Python {platform.python_version()}; load average "
        f"{load_start[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end. Seconds from `page.goto` to the "
        "first Vega chart drawn, each visit a new browser context (nothing cached), at 1280 x 900.",
        "",
        "## A fresh server",
        "",
        f"- Its first visitor, on the story page (/): first chart after {first:.2f} s. That visit starts the "
        "server's warm-up (Streamlit runs no app code before a first session): the imports, the training "
        "workers, the story's runs, then the default configuration.",
        f"- The warm-up: {warm:.1f} s from that visitor's arrival to the log line of the last run computed ahead.",
        f"- After the warm-up, the Overview's first visitor (its first run in this process): {fresh_overview:.2f} s "
        f"({fresh_overview / b:.2f}x the baseline below); the story page's second visitor: {fresh_story:.2f} s "
        f"({fresh_story / b:.2f}x).",
        "",
        f"## The warm server: {args.visits} rounds, a new visitor of each in turn",
        "",
        "| page | median (s) | all (s) | median / baseline's |",
        "|---|---:|---|---:|",
        median_row("baseline: bench/minimal_app.py", baseline, b),
        median_row("story page (/)", story, b),
        median_row("Overview (/overview)", overview, b),
        "",
        "Target: within 1.3x of the baseline.",
    ]
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text("\n".join(report) + "\n")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
