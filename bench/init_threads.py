"""Work done outside the trainer on one BLAS thread against two, on idle cores and on cores that two other
processes keep busy (as a server's training workers do): orthogonal initialization's QR factorizations (why
core.experiment.initial_weights draws on one thread) and the probes' record at epoch 0 (why
core.experiment.at_initialization and core.sweeps.sweep_init record on one thread).

    python -m bench.init_threads          # writes bench/results/init_threads.md

Each QR figure is the best wall time of 4 factorizations of a standard-normal matrix, each record figure the
best of 2 ``at_initialization`` calls, with the CPU seconds of that call; the two thread counts take turns.
"""
from __future__ import annotations

import contextlib
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
# Epoch-0 records: the theory tests' widest case, a wide network, the deep-ReLU lesson's 20 draws
RECORDS = {
    "4 schemes x 16 seeds, 4 x 256 gelu, float64": "dataset=classification&features=32&schemes=he_normal"
    "&schemes=xavier_uniform&schemes=lecun_normal&schemes=orthogonal&seeds=16&activation=gelu&depth=4&width=256"
    "&dtype=float64&bias=normal%3Astd%3D1&n_samples=160",
    "2 schemes x 2 seeds, 6 x 1024 relu": "schemes=he_normal&schemes=xavier_normal&seeds=2&depth=6&width=1024",
    "he_normal x 20 seeds, 30 x 32 relu": "schemes=he_normal&seeds=20&depth=30&width=32",
}


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


def best_record(config, threads: int, rounds: int = 2) -> tuple[float, float]:
    """(best wall seconds, its CPU seconds) of ``at_initialization(config)`` with BLAS on ``threads`` threads:
    its own choice of one thread (for the draws and for the record) is lifted for the measurement."""
    from threadpoolctl import threadpool_limits

    from core import at_initialization
    from core.runtime import blas
    best = (float("inf"), 0.0)
    with threadpool_limits(limits=threads, user_api="blas"):
        real, blas.single_threaded = blas.single_threaded, contextlib.nullcontext
        try:
            for _ in range(rounds):
                t, c = time.perf_counter(), time.process_time()
                at_initialization(config)
                best = min(best, (time.perf_counter() - t, time.process_time() - c))
        finally:
            blas.single_threaded = real
    return best


def measure_records(busy: int) -> list[tuple]:
    """(name, one thread (wall, cpu), two threads (wall, cpu)) with ``busy`` other processes spinning."""
    from core import ExperimentConfig, at_initialization
    from core.config import SCHEMA_VERSION
    with _spinning(busy):
        rows = []
        for name, query in RECORDS.items():
            config = ExperimentConfig.from_query(f"v={SCHEMA_VERSION}&{query}")
            at_initialization(config)  # imports, caches
            one, two = [], []
            for _ in range(2):
                one.append(best_record(config, 1))
                two.append(best_record(config, 2))
            rows.append((name, min(one), min(two)))
        return rows


@contextlib.contextmanager
def _spinning(busy: int):
    stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=_spin, args=(stop,)) for _ in range(busy)]
    for p in spinners:
        p.start()
    try:
        yield
    finally:
        stop.set()
        for p in spinners:
            p.join()


def measure(busy: int) -> list[tuple]:
    """(shape, one thread ms, two threads ms) with ``busy`` other processes spinning on the cores."""
    with _spinning(busy):
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


def main() -> None:
    from threadpoolctl import threadpool_info
    blas = next((f"{p['internal_api']} {p['version']}" for p in threadpool_info() if p["user_api"] == "blas"), "?")
    lines = ["# Draws and epoch-0 records on one BLAS thread against two (bench/init_threads.py)", "",
             f"Produced by `python -m bench.init_threads` on {time.strftime('%Y-%m-%d %H:%M')}: "
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, numpy {np.__version__}, "
             f"BLAS {blas}; load average at start {' '.join(f'{x:.1f}' for x in os.getloadavg())}. Best wall "
             "milliseconds of `numpy.linalg.qr`; the cores either idle or kept busy by two spinning processes.", "",
             "## QR factorizations (core.experiment.initial_weights)", "",
             "| cores | matrix | 1 thread ms | 2 threads ms | 2 threads / 1 |", "| --- | --- | ---: | ---: | ---: |"]
    for busy, label in ((0, "idle"), (2, "busy")):
        for (m, n), one, two in measure(busy):
            lines.append(f"| {label} | {m} x {n} | {one:.1f} | {two:.1f} | {two / one:.2f} |")
    lines += ["", "## Epoch-0 records (core.experiment.at_initialization, core.sweeps.sweep_init)", "",
              "Best wall seconds of `at_initialization` (draws and one record), with that call's CPU seconds.", "",
              "| cores | network | 1 thread s (CPU s) | 2 threads s (CPU s) | 2 threads / 1, wall |",
              "| --- | --- | ---: | ---: | ---: |"]
    for busy, label in ((0, "idle"), (2, "busy")):
        for name, (w1, c1), (w2, c2) in measure_records(busy):
            lines.append(f"| {label} | {name} | {w1:.2f} ({c1:.2f}) | {w2:.2f} ({c2:.2f}) | {w2 / w1:.2f} |")
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
