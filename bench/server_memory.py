"""Does the server's memory stay bounded after any sequence of links?

    python bench/server_memory.py [--links 9]

Starts a fresh dashboard server, opens the default page (the baseline: imports, workers, one run), then
opens large links one after another (each up to its first chart, then the tab is closed): the result
tables near the row limit, parameters near the memory limit, many models. After each it waits for the
server to settle and records the resident memory of the server alone and with its workers. The promise:
after any link, server and workers stay under the baseline plus the results cache's bound.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.serve import CHROMIUM, CHROMIUM_ARGS, server, tree_rss  # noqa: E402
from core import ExperimentConfig  # noqa: E402
from core.config import replace  # noqa: E402

CHART = ".vega-embed canvas, .vega-embed svg"
# a run the server stopped (its time cap, on a busy machine) ends with an error box instead of charts
DONE = f"{CHART}, [data-testid=stAlertContentError]"
TWELVE = ("zeros", "normal:std=1", "xavier_normal", "he_normal", "xavier_uniform", "he_uniform", "lecun_normal",
          "orthogonal", "lecun_uniform", "torch_default", "truncated_normal", "uniform")
FAMILIES = [
    ("rows: 48 models, 2.9 M table rows",
     ExperimentConfig(n_samples=500, schemes=TWELVE, seeds=4, depth=3, width=(32,), epochs=100, record_epochs=12)),
    ("parameters: 12 models of 2 x 512, full batch",
     ExperimentConfig(n_samples=2599, schemes=TWELVE, seeds=1, depth=2, width=(512,), batch_size=0, epochs=2,
                      record_epochs=2)),
    ("models: 96 models, 2.4 M table rows",
     ExperimentConfig(n_samples=2000, schemes=TWELVE, seeds=8, depth=3, width=(64,), epochs=25, record_epochs=5)),
]


def settled_rss(pid: int, wait: float = 4.0) -> tuple[float, float]:
    """(server, server + workers) resident MiB once the server is idle."""
    import psutil
    time.sleep(wait)
    return psutil.Process(pid).memory_info().rss / 2**20, tree_rss(pid) / 2**20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--links", type=int, default=9)
    args = ap.parse_args()
    from app.results import CACHE_BYTES
    series = []
    with server(log=Path("/tmp/server_memory.log")) as (base, proc), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def open_link(query: str) -> tuple[float, str]:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            start = time.perf_counter()
            page.goto(f"{base}/?{query}", timeout=600_000)
            page.wait_for_selector(DONE, timeout=600_000)
            elapsed = time.perf_counter() - start
            drawn = page.locator(CHART).count() > 0
            context.close()
            return elapsed, "charts drawn" if drawn else "stopped by the server"

        open_link("")
        base_server, base_all = settled_rss(proc.pid)
        bound = base_all + CACHE_BYTES / 2**20
        print(f"baseline after the default page: server {base_server:.0f} MiB, with workers {base_all:.0f} MiB; "
              f"bound {bound:.0f} MiB", flush=True)
        for i in range(args.links):
            label, config = FAMILIES[i % len(FAMILIES)]
            seconds, outcome = open_link(replace(config, data_seed=i).to_query())
            srv, total = settled_rss(proc.pid)
            series.append(total)
            print(f"link {i + 1} ({label}, data seed {i}): {outcome} after {seconds:.1f} s; idle RSS server "
                  f"{srv:.0f} MiB, with workers {total:.0f} MiB", flush=True)
        browser.close()
    worst = max(series)
    print(f"largest idle RSS after a link: {worst:.0f} MiB; bound {bound:.0f} MiB (baseline {base_all:.0f} + the "
          f"cache's {CACHE_BYTES / 1e6:.0f} MB); load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0 if worst <= bound else 1


if __name__ == "__main__":
    sys.exit(main())
