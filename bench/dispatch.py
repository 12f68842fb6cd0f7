"""Parallelism inside one run: this project's worker processes (core.workers) against joblib's loky backend
running the same calls, on J1 (core.trainer.train of bench.run's J1 job), J1 through the public API (core.run
of 12 models) and J3 (core.run of the default configuration).

    python -m bench.dispatch [--repeat 9]

Issue 14 asks to move the within-run parallelism to joblib/loky unless a bench shows that path cannot hold
today's targets. Here the trainer's dispatch is swapped, nothing else: the same stack split into the same
groups, each group trained by ``core.trainer.train_group`` in a warm process with single-threaded BLAS, the
results concatenated in order (bit-identical numbers, checked below). Loky's side is joblib's reusable
executor, started before the timings as the server starts its workers. The two dispatches alternate, so a
neighbour's load falls on both alike; each time is the median of ``--repeat``.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.run import J1_API, JOB, setup  # noqa: E402


def loky_run(fn, calls, progress=None, control=None):
    """core.workers.run's contract on joblib's loky backend: one call per process, results in order. (No live
    progress: loky has no channel back from a running call; a real port would need one of its own.)"""
    from joblib import Parallel, delayed
    return Parallel(n_jobs=len(calls), backend="loky")(delayed(fn)(*args, progress=None) for args in calls)


def j1():
    from core.trainer import train
    _cfg, data, layout, init, act, settings = setup(**JOB)
    return lambda: train(init, layout, data, act, settings)


def api(**overrides):
    from core import run
    from core.config import ExperimentConfig
    config = ExperimentConfig(**overrides)
    return lambda: run(config)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    from core import workers
    workers.prestart()
    hand_written = workers.run
    dispatches = {"core.workers": hand_written, "joblib loky": loky_run}
    jobs = {"J1 (core.trainer.train, 24 models)": j1(),
            "J1 public API (core.run, 12 models)": api(**J1_API),
            "J3 (core.run of ExperimentConfig())": api()}
    print(f"{'job':40s} {'core.workers':>14s} {'joblib loky':>14s} {'loky / ours':>12s}")
    for name, job in jobs.items():
        outputs, times = {}, {d: [] for d in dispatches}
        for d, fn in dispatches.items():  # warm: loky's executor starts here, the workers are up already
            workers.run = fn
            outputs[d] = job()
        for _ in range(args.repeat):
            for d, fn in dispatches.items():
                workers.run = fn
                t = time.perf_counter()
                job()
                times[d].append(time.perf_counter() - t)
        workers.run = hand_written
        ours, loky = (statistics.median(times[d]) for d in dispatches)
        same = _same(*outputs.values())
        print(f"{name:40s} {ours:13.3f}s {loky:13.3f}s {loky / ours:11.2f}x{'' if same else '  NUMBERS DIFFER'}")
    return 0


def _same(a, b) -> bool:
    """The two dispatches' outputs hold the same numbers (a TrainOutput, or a Results' frames)."""
    if hasattr(a, "frames"):
        return all(a.frames[k].equals(b.frames[k]) for k in a.frames)
    return all(np.array_equal(x, y, equal_nan=True) for x, y in zip(_arrays(a), _arrays(b)))


def _arrays(out):
    return [out.final, out.diverged_epoch, *out.loss.values(), *out.accuracy.values()]


if __name__ == "__main__":
    sys.exit(main())
