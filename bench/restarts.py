"""How long the "Restarts beyond networks" page computes, and whether core.restarts' work bound errs high.

    python3 -m bench.restarts

1. The page's default settings end to end (core.restarts.fit_restarts): wall and CPU seconds, median of 3.
2. Per method, one fit forced to run to its iteration cap (tolerance 0) on a few shapes: the measured CPU
   seconds per iteration against ``SECONDS_PER_ITERATION``, the model the bound uses. A ratio above 1 means
   the model errs high, as it should. CPU time (not wall time) so other jobs on a shared machine matter less.
"""
from __future__ import annotations

import statistics
import time
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from core import restarts

SHAPES = [(500, 2, 4), (2000, 2, 9), (20000, 2, 12), (1797, 64, 4), (5000, 16, 8)]  # samples, features, k
CLASSES = 3


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def forced(method: str, X, y, k: int):
    """One fit that cannot stop early (tolerance 0), capped at a few iterations: (model, iterations run)."""
    cap = 30
    if method == "kmeans":
        m = KMeans(k, init="random", n_init=1, tol=0, max_iter=cap, random_state=0).fit(X)
        return m, m.n_iter_
    if method == "gmm":
        m = GaussianMixture(k, init_params="random_from_data", tol=0, max_iter=cap, random_state=0).fit(X)
        return m, m.n_iter_
    m = LogisticRegression(tol=0, max_iter=cap).fit(X, y)
    return m, int(m.n_iter_[0])


def main() -> None:
    print("1. default settings, fit_restarts end to end")
    settings = restarts.RestartSettings()
    walls, cpus = [], []
    for _ in range(3):
        _, wall, cpu = timed(lambda: restarts.fit_restarts(settings))
        walls.append(wall)
        cpus.append(cpu)
    print(f"   wall {statistics.median(walls):.2f} s, CPU {statistics.median(cpus):.2f} s (median of 3); "
          f"worst case by the model {restarts.worst_case_seconds(settings):.1f} s, limit {restarts.MAX_SECONDS:g} s")
    print("2. seconds per iteration: measured CPU (fit forced to its cap) vs the model")
    print("   method    samples features  k   measured ms   model ms   model / measured")
    rng = np.random.default_rng(0)
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n, d, k in SHAPES:
            X = rng.standard_normal((n, d))
            y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
            for method in ("kmeans", "gmm", "logistic"):
                (_, its), _, cpu = timed(lambda: forced(method, X, y, k))
                model = restarts.SECONDS_PER_ITERATION[method](n, k, d, CLASSES)
                per = cpu / max(its, 1)
                print(f"   {method:9} {n:7d} {d:8d} {k:3d} {1e3 * per:12.3f} {1e3 * model:10.3f} {model / per:12.2f}"
                      f"   ({its} iterations)")


if __name__ == "__main__":
    main()
