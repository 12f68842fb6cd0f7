"""Orthogonal initialization's QR factorizations on one BLAS thread against two, on idle cores and on cores
that two other processes keep busy (as a server's training workers do): why core.experiment.initial_weights
draws on one thread.

    python -m bench.init_threads          # writes bench/results/init_threads.md

Each figure is the best wall time of 5 factorizations of a standard-normal matrix, the two thread counts
taking turns.
"""
from __future__ import annotations

import multiprocessing
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

OUT = ROOT / "bench" / "results" / "init_threads.md"
SHAPES = ((256, 256), (512, 512), (1024, 1024), (1024, 64))


def _spin(stop) -> None:
    while not stop.is_set():
        pass


def best_ms(a: np.ndarray, threads: int, rounds: int = 5) -> float:
    from threadpoolctl import threadpool_limits
    best = float("inf")
    with threadpool_limits(limits=threads, user_api="blas"):
        for _ in range(rounds):
            t = time.perf_counter()
            np.linalg.qr(a)
            best = min(best, time.perf_counter() - t)
    return best * 1e3


def measure(busy: int) -> list[tuple]:
    """(shape, one thread ms, two threads ms) with ``busy`` other processes spinning on the cores."""
    stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=_spin, args=(stop,)) for _ in range(busy)]
    for p in spinners:
        p.start()
    try:
        rng = np.random.default_rng(0)
        rows = []
        for shape in SHAPES:
            a = rng.standard_normal(shape)
            one, two = [], []
            for _ in range(3):  # the two counts in turns
                one.append(best_ms(a, 1, 2))
                two.append(best_ms(a, 2, 2))
            rows.append((shape, min(one), min(two)))
        return rows
    finally:
        stop.set()
        for p in spinners:
            p.join()


def main() -> None:
    from threadpoolctl import threadpool_info
    blas = next((f"{p['internal_api']} {p['version']}" for p in threadpool_info() if p["user_api"] == "blas"), "?")
    lines = ["# QR factorizations on one BLAS thread against two (bench/init_threads.py)", "",
             f"Produced by `python -m bench.init_threads` on {time.strftime('%Y-%m-%d %H:%M')}: "
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, numpy {np.__version__}, "
             f"BLAS {blas}; load average at start {' '.join(f'{x:.1f}' for x in os.getloadavg())}. Best wall "
             "milliseconds of `numpy.linalg.qr`; the cores either idle or kept busy by two spinning processes.", "",
             "| cores | matrix | 1 thread ms | 2 threads ms | 2 threads / 1 |", "| --- | --- | ---: | ---: | ---: |"]
    for busy, label in ((0, "idle"), (2, "busy")):
        for (m, n), one, two in measure(busy):
            lines.append(f"| {label} | {m} x {n} | {one:.1f} | {two:.1f} | {two / one:.2f} |")
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
