"""A classroom at once: N browser sessions, each opening a different link, on one server.

    python bench/many_users.py [--users 8]

Every session opens the Export page of its own configuration and downloads
the summary CSV; the script then recomputes each configuration in-process
with core.run and checks the downloaded numbers are identical. Reports the
wall time, each session's time, and the server's peak resident memory.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import sys
import time
from pathlib import Path

import pandas as pd
from playwright.async_api import async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.serve import CHROMIUM, CHROMIUM_ARGS, PeakRSS, server  # noqa: E402
from core import ExperimentConfig, run  # noqa: E402

SCHEME_SETS = [("zeros", "he_normal"), ("xavier_normal", "normal:std=1"), ("orthogonal", "lecun_normal"),
               ("he_uniform", "torch_default"), ("lsuv", "glorot_standard"), ("constant:value=0.5", "sparse"),
               ("xavier_uniform", "zero_hadamard"), ("truncated_normal", "identity")]
DATASETS = ["moons", "circles", "xor", "spirals", "blobs", "moons", "circles", "xor"]


def configs(n: int) -> list[ExperimentConfig]:
    return [ExperimentConfig(dataset=DATASETS[i % 8], schemes=SCHEME_SETS[i % 8], seeds=2 + i % 2,
                             data_seed=i, epochs=60, activation=("relu", "tanh")[i % 2]) for i in range(n)]


async def session(browser, base: str, config: ExperimentConfig) -> tuple[float, pd.DataFrame]:
    context = await browser.new_context(accept_downloads=True)
    page = await context.new_page()
    start = time.perf_counter()
    await page.goto(f"{base}/export?{config.to_query()}")
    button = page.locator("[data-testid=stDownloadButton]", has_text="summary (CSV").locator("button, a").first
    await button.wait_for(timeout=180_000)
    async with page.expect_download() as info:
        await button.click()
    download = await info.value
    data = Path(await download.path()).read_bytes()
    elapsed = time.perf_counter() - start
    await context.close()
    return elapsed, pd.read_csv(io.BytesIO(data))


async def main_async(users: int) -> int:
    cfgs = configs(users)
    with server(log=Path('/tmp/many_users_server.log')) as (base, proc):
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            with PeakRSS(proc.pid) as mem:
                start = time.perf_counter()
                outcomes = await asyncio.gather(*(session(browser, base, c) for c in cfgs))
                wall = time.perf_counter() - start
            await browser.close()
    ok = 0
    for i, (c, (elapsed, got)) in enumerate(zip(cfgs, outcomes)):
        want = run(c).frames["summary"]
        got = got.drop(columns="run_id")
        want = pd.read_csv(io.StringIO(want.to_csv(index=False)))
        same = got.equals(want)
        ok += same
        print(f"session {i}: {c.dataset:8s} {','.join(c.schemes):32s} seeds={c.seeds} "
              f"{elapsed:6.2f} s  {'identical to core.run' if same else 'DIFFERENT from core.run'}")
    print(f"{users} sessions at once: wall {wall:.2f} s, {ok}/{users} correct, "
          f"server peak RSS {mem.peak / 2**20:.0f} MiB")
    return 0 if ok == users else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--users", type=int, default=8)
    return asyncio.run(main_async(ap.parse_args().users))


if __name__ == "__main__":
    sys.exit(main())
