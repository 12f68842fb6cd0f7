"""The first minutes of a new visitor: the first chart of the story page and of the Overview, against
Streamlit's own one-chart app, measured in one run; and how long a fresh server's warm-up takes.

    python3 bench/first_chart.py [--visits 5]

In order, each on a server of its own started for the purpose:

1. baseline: bench/minimal_app.py (one small chart, nothing else), new visitors (a fresh browser context
   each), after one untimed visit that imports Altair and pandas;
2. a fresh dashboard server: its warm-up (from the server's start to the log line of the last run it computes
   ahead: the story's steps and the default configuration), then new visitors of the story page (/) and of
   the Overview (/overview), once the warm-up has finished;
3. the ratios of the medians to the baseline's.

Writes bench/results/first_chart.md (this benchmark's own file: the machine, the date, the command).
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.page_switch import first_charts  # noqa: E402
from bench.serve import CHROMIUM, CHROMIUM_ARGS, server  # noqa: E402
from core.config import ExperimentConfig  # noqa: E402

OUT = ROOT / "bench" / "results" / "first_chart.md"
# the last runs the server computes ahead (app.server: the story's steps, then the default configuration)
WARM_LINES = ("story map at initialization: trained", f"run {ExperimentConfig().run_id}: trained")


def warm_up_seconds(log: Path, started: float, timeout: float = 600) -> float:
    """Seconds from the server's start until its log shows every run it computes ahead."""
    while time.monotonic() - started < timeout:
        text = log.read_text() if log.exists() else ""
        if all(line in text for line in WARM_LINES):
            return time.monotonic() - started
        time.sleep(0.2)
    raise TimeoutError("the server's warm-up did not finish")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--visits", type=int, default=5)
    args = ap.parse_args()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with server(script="bench/minimal_app.py") as (base, _):
            first_charts(browser, base, 1)
            baseline = first_charts(browser, base, args.visits)[0]
        log = ROOT / "bench" / "results" / "first_chart_server.log"
        log.parent.mkdir(exist_ok=True)
        started = time.monotonic()
        with server(log=log) as (base, _):
            warm = warm_up_seconds(log, started)
            story = first_charts(browser, f"{base}/", args.visits)[0]
            overview = first_charts(browser, f"{base}/overview", args.visits)[0]
        log.unlink()
        browser.close()
    b = statistics.median(baseline)
    rows = [("baseline: bench/minimal_app.py", baseline), ("story page (/)", story), ("Overview (/overview)", overview)]
    lines = [
        "# First chart for a new visitor",
        "",
        f"`python3 bench/first_chart.py --visits {args.visits}`, {datetime.date.today()}, on {platform.node()} "
        f"({os.cpu_count()} cores, {platform.processor() or platform.machine()}), load average at the end "
        f"{os.getloadavg()[0]:.2f}.",
        "",
        f"A fresh server's warm-up (the story's runs and the default configuration computed ahead): {warm:.1f} s "
        "from the server's start. The visits below start after it.",
        "",
        "| page | median (s) | all (s) | ratio to the baseline |",
        "|---|---|---|---|",
    ]
    for name, times in rows:
        lines.append(f"| {name} | {statistics.median(times):.2f} | {', '.join(f'{t:.2f}' for t in times)} | "
                     f"{statistics.median(times) / b:.2f} |")
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
