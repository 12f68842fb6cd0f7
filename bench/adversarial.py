"""Does the work budget keep its promise? An adversarial search for the admitted configuration that takes
the longest and the most memory, against core.runtime.budget's estimate.

    python bench/adversarial.py --quick          # a few minutes: limits scaled down, few candidates
    python bench/adversarial.py                  # the full search at the public limits (an hour or more)
    python bench/adversarial.py --fit 150        # measure random runs and fit core.runtime.budget's coefficients
    python bench/adversarial.py --calibrate      # core.runtime.budget's calibrated tables on this machine

Every candidate runs in a fresh process that imports what the dashboard server imports (Streamlit,
scikit-learn, core) and starts the training workers first, as the server does, then runs ``core.run``.
It reports the wall time, the CPU time of the process and of its workers (the data and initial weights,
the training, the tables apart), and the peak memory as the sum of each process's own peak (VmHWM): an
upper bound of their peak together.

On a shared machine wall time measures the neighbours as much as the run, so the search ranks candidates
by their *quiet time*: the server's CPU before and after training plus the training's CPU over the worker
groups, what the wall time is on an idle reference machine (2 cores). Both are reported, with the load
average during the run.

The search: random configurations across every knob, each pushed to the largest number of epochs the
limits admit, then a hill-climb from the worst of them that changes one knob at a time (activation, dtype,
optimizer, batch, width, depth, models, samples, features, recorded epochs, dataset) and pushes again to
the limits, keeping a change when the measured time over the estimate (or memory over its estimate)
grows. The worst admitted configurations go to bench/results/adversarial.md, a section per mode.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results" / "adversarial.md"
RUNS = ROOT / "test-artifacts" / "adversarial-runs.jsonl"  # every measurement, for --refit (not committed)
SECTION = "## Adversarial budget search"
QUICK_SECTION = "## Quick adversarial budget search"  # --quick's own: it never replaces the full search's
PROMISE_S, PROMISE_MB = 60.0, 1500.0  # seconds, MB (10^6 bytes) of server and workers together
# The dashboard server's idle memory beyond this bench's process (Streamlit's runtime and sessions, the
# default run's results): bench/server_memory.py measured 382-408 MiB idle against this process's 253 MiB.
SERVER_EXTRA_MB = 170.0


# ------------------------------------------------------------------ one measurement, in a fresh process
def _hwm_mb(pid: int) -> float:
    """A process's peak resident memory so far, in MB (10^6 bytes, as core.runtime.budget counts)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    return 0.0


def measure_here(query: str) -> dict:
    import psutil
    import sklearn.datasets  # noqa: F401 - the server's baseline: it imports scikit-learn at start
    import sklearn.model_selection  # noqa: F401
    import streamlit  # noqa: F401
    from core import experiment
    from core.runtime import budget, workers
    from core.config import ExperimentConfig

    workers.warm()  # every worker started, the trainer loaded in each, as the server's are
    pids = workers.pids() if workers.available() else []
    me = psutil.Process()
    procs = [me] + [psutil.Process(p) for p in set(pids)]

    def cpu(p):
        t = p.cpu_times()
        return t.user + t.system

    def mark():
        return time.perf_counter(), cpu(me), sum(cpu(p) for p in procs[1:])

    base_rss = sum(p.memory_info().rss for p in procs) / 1e6
    config = ExperimentConfig.from_query(query)
    est = budget.estimate(config)
    marks = {}

    def progress(epoch, total):
        if epoch >= total and "train_end" not in marks:
            marks["train_end"] = mark()

    prepare = experiment.prepare

    def prepared(*args, **kwargs):  # the data and the initial weights: the server's, before any training
        out = prepare(*args, **kwargs)
        marks["prepared"] = mark()
        return out

    experiment.prepare = prepared
    load0 = os.getloadavg()[0]
    start = mark()
    experiment.run(config, progress=progress, enforce_budget=False)
    end = mark()
    prep = marks.get("prepared", start)
    mid = marks.get("train_end", end)
    prep_cpu = prep[1] - start[1]  # the data and the initial weights (the server alone)
    train_cpu = (mid[1] - prep[1]) + (end[2] - start[2])  # the server's share while training + the workers'
    server_cpu = end[1] - mid[1]  # the tables, after training
    peaks = [_hwm_mb(p.pid) for p in procs]
    peak = sum(peaks)
    return {"query": query, "wall": end[0] - start[0], "train_wall": mid[0] - start[0], "prep_cpu": prep_cpu,
            "train_cpu": train_cpu, "server_cpu": server_cpu,
            "quiet": prep_cpu + train_cpu / est.groups + server_cpu, "peak_mb": peak,
            "server_peak_mb": peaks[0], "worker_peaks_mb": peaks[1:], "base_mb": base_rss,
            "extra_mb": peak - base_rss, "est_s": est.seconds, "est_mb": est.memory_mb, "rows": est.frame_rows,
            "groups": est.groups, "load": (load0 + os.getloadavg()[0]) / 2}


NATIVE_BLAS = False  # --native-blas: let BLAS use its threads as in the server (on a quiet machine)


def measure(query: str, timeout: float = 900) -> dict | None:
    """``measure_here`` in a fresh process (its own workers, its own peak). Unless --native-blas, BLAS runs
    on one thread: on a busy machine BLAS's threads spin-wait for cores and their CPU time is not work."""
    env = dict(os.environ) if NATIVE_BLAS else dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    try:
        out = subprocess.run([sys.executable, "-m", "bench.adversarial", "--measure", query], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"query": query, "error": f"timed out after {timeout:.0f} s"}
    if out.returncode != 0:
        return {"query": query, "error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    r = json.loads(out.stdout.strip().splitlines()[-1])
    RUNS.parent.mkdir(exist_ok=True)
    with open(RUNS, "a") as f:
        f.write(json.dumps(r) + "\n")
    return r


# ------------------------------------------------------------------ configurations
def schemes_list():
    from core.nn import initializers
    return list(initializers.INITIALIZERS)


# Starts a link controls that the cost model must price whatever they do to the probes and the initialization:
# large random biases, and units that are near-copies of one another (the distinct-unit count's worst case).
BIASES = ["zeros", "zeros", "normal:std=1", "normal:std=10", "constant:value=5"]
# The distinct-unit count's costliest layers (bench/adversarial.py --calibrate counts): near-copies under
# random biases (the issue's), and units at the tolerance's scale under a constant bias, which put every unit
# in every other's window (normal weights, identity, sparse and ZerO's Hadamard rows).
NEAR_COPIES = [dict(schemes=("normal:std=0.0001", "lsuv", "orthogonal"), bias="normal:std=10"),
               dict(schemes=("normal:std=0.006", "normal:std=0.02", "identity"), bias="constant:value=10"),
               dict(schemes=("sparse:sparsity=0.99,std=0.01", "zero_hadamard", "identity:gain=0.01"),
                    bias="constant:value=5")]


def random_config(rng: random.Random):
    from core.config import ExperimentConfig
    from core.datasets import DATASETS
    names = schemes_list()
    for _ in range(1000):
        depth = int(round(math.exp(rng.uniform(0, math.log(50)))))
        per_layer = rng.random() < 0.2
        width = tuple(int(round(math.exp(rng.uniform(0, math.log(1024))))) for _ in range(depth if per_layer else 1))
        values = dict(
            dataset=rng.choice(list(DATASETS)),
            n_samples=int(round(math.exp(rng.uniform(math.log(50), math.log(20000))))),
            noise=rng.choice([0.0, 0.2, 1.0]), features=rng.randint(1, 64), classes=rng.randint(2, 10),
            schemes=tuple(rng.sample(names, rng.randint(1, 12))), seeds=rng.randint(1, 20), depth=depth,
            width=width, activation=rng.choice(["linear", "relu", "leaky_relu", "elu", "selu", "gelu", "tanh",
                                                "sigmoid", "softplus"]),
            optimizer=rng.choice(["sgd", "momentum", "adam"]), lr=rng.choice([0.001, 0.01, 0.1, 1.0]),
            batch_size=rng.choice([0, 1, 2, 4, 8, 16, 32, 64, 128, 512, 4096]),
            epochs=int(round(math.exp(rng.uniform(0, math.log(5000))))),
            weight_decay=rng.choice([0.0, 0.0, 1e-4]), record_epochs=rng.randint(2, 51),
            dtype=rng.choice(["float32", "float64"]), bias=rng.choice(BIASES))
        if rng.random() < 0.3:  # costly unit counts on purpose: near-copies, large biases, wide layers
            values.update(rng.choice(NEAR_COPIES), width=(rng.choice([256, 512, 1024]),))
        try:
            return ExperimentConfig(**values)
        except ValueError:
            continue
    raise RuntimeError("no valid random configuration")


def admitted(config, limits) -> bool:
    from core.runtime import budget
    return not budget.over(budget.estimate(config), limits)


PUSH_RANGES = {"epochs": (1, 5000), "n_samples": (50, 20000), "seeds": (1, 20), "batch_size": (1, 20000)}


def _largest(config, knob: str, limits):
    """``config`` with the largest value of ``knob`` the limits admit (binary search: the estimates grow with
    each of these knobs); None if not even the smallest is admitted."""
    def ok(v):
        try:
            return admitted(replace(config, **{knob: v}), limits)
        except ValueError:  # a value the configuration cannot take (too few samples for the classes...)
            return False
    lo, hi = PUSH_RANGES[knob]
    if not ok(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid - 1)
    return replace(config, **{knob: lo})


def push(config, limits, knob: str = "epochs"):
    """``config`` pushed to the limits: the largest admitted ``knob`` (time and memory grow with samples,
    models and batch too), then the most epochs; None if nothing is admitted."""
    if knob != "epochs":
        config = _largest(replace(config, epochs=1), knob, limits)
        if config is None:
            return None
    return _largest(config, "epochs", limits)


def mutate(config, rng: random.Random):
    from core.datasets import DATASETS
    knob = rng.choice(["activation", "dtype", "optimizer", "batch_size", "width", "depth", "seeds", "schemes",
                       "n_samples", "features", "record_epochs", "dataset", "bias", "near_copies"])
    c = config
    if knob == "bias":
        return replace(c, bias=rng.choice(BIASES))
    if knob == "near_copies":
        return replace(c, **rng.choice(NEAR_COPIES), width=(1024,) * len(c.width))
    if knob == "activation":
        return replace(c, activation=rng.choice(["relu", "elu", "selu", "gelu", "tanh", "sigmoid", "softplus",
                                                 "leaky_relu", "linear"]))
    if knob == "dtype":
        return replace(c, dtype="float64" if c.dtype == "float32" else "float32")
    if knob == "optimizer":
        return replace(c, optimizer=rng.choice(["sgd", "momentum", "adam"]))
    if knob == "batch_size":
        return replace(c, batch_size=rng.choice([0, 1, max(1, c.batch_size // 4), min(20000, max(1, c.batch_size) * 4)]))
    if knob == "width":
        f = rng.choice([0.5, 2.0])
        return replace(c, width=tuple(max(1, min(1024, int(w * f))) for w in c.width))
    if knob == "depth":
        d = max(1, min(50, int(c.depth * rng.choice([0.5, 2.0]))))
        return replace(c, depth=d, width=c.width[:1])
    if knob == "seeds":
        return replace(c, seeds=max(1, min(20, int(c.seeds * rng.choice([0.5, 2.0])))))
    if knob == "schemes":
        names = schemes_list()
        return replace(c, schemes=tuple(rng.sample(names, max(1, min(12, int(len(c.schemes) * rng.choice([0.5, 2.0])))))))
    if knob == "n_samples":
        return replace(c, n_samples=max(50, min(20000, int(c.n_samples * rng.choice([0.25, 4.0])))))
    if knob == "features":
        return replace(c, features=rng.choice([1, 2, 8, 64]))
    if knob == "record_epochs":
        return replace(c, record_epochs=rng.choice([2, 11, 51]))
    return replace(c, dataset=rng.choice(list(DATASETS)))


# ------------------------------------------------------------------ the search
def score(r: dict, limits) -> float:
    """How close a run comes to breaking the promise at the public limits: the larger of its quiet time,
    scaled from the searched time limit to the public one, over 60 s, and the server's peak over 1500 MB."""
    from core.runtime import budget
    scaled = r["quiet"] * budget.PUBLIC.seconds / limits.seconds
    return max(scaled / PROMISE_S, (r["peak_mb"] + SERVER_EXTRA_MB) / PROMISE_MB)


def search(limits, n_random: int, n_climb: int, seed: int, log=print) -> list[dict]:
    rng = random.Random(seed)
    done: list[dict] = []

    def run_one(config, tag):
        r = measure(config.to_query())
        if r is None or "error" in r:
            log(f"  {tag}: failed: {r and r.get('error')}")
            return None
        r["tag"] = tag
        done.append(r)
        log(f"  {tag}: quiet {r['quiet']:.1f} s (est {r['est_s']:.1f}), wall {r['wall']:.1f} s, "
            f"peak {r['peak_mb']:.0f} MB (+{r['extra_mb']:.0f}, est {r['est_mb']:.0f}), load {r['load']:.1f}, "
            f"score {score(r, limits):.2f}")
        return r

    log(f"random: {n_random} configurations pushed to the limits")
    tries = 0
    while sum(1 for r in done if r["tag"].startswith("random")) < n_random and tries < 50 * n_random:
        tries += 1
        c = push(random_config(rng), limits, rng.choice(list(PUSH_RANGES)))
        if c is not None:
            run_one(c, f"random {len(done) + 1}")
    log(f"hill-climb: {n_climb} steps from the worst")
    from core.config import ExperimentConfig
    best = max(done, key=lambda r: score(r, limits))
    for i in range(n_climb):
        base = ExperimentConfig.from_query(best["query"])
        for _ in range(100):
            try:
                c = push(mutate(base, rng), limits, rng.choice(list(PUSH_RANGES)))
            except ValueError:
                c = None
            if c is not None and c.to_query() != best["query"]:
                break
        else:
            continue
        r = run_one(c, f"climb {i + 1}")
        if r is not None and score(r, limits) > score(best, limits):
            best = r
    return done


def machine() -> str:
    """The CPU, its count, Python, NumPy and BLAS, as bench/run.py's results files name them."""
    import platform

    import numpy as np
    from threadpoolctl import threadpool_info
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor() or "unknown CPU")
    blas = next((f"{i.get('internal_api')} {i.get('version')}" for i in threadpool_info()
                 if i.get("user_api") == "blas"), "unknown BLAS")
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}, BLAS {blas}"


def write_results(done: list[dict], limits, mode: str, started: float, command: str) -> None:
    from core.runtime import budget
    for r in done:
        r["server_peak"] = r["peak_mb"] + SERVER_EXTRA_MB
    worst_t = max(done, key=lambda r: r["quiet"])
    worst_w = max(done, key=lambda r: r["wall"])
    worst_m = max(done, key=lambda r: r["peak_mb"])
    worst_score = max(done, key=lambda r: score(r, limits))
    loads = [r["load"] for r in done]
    # measured over estimated, on runs that come near a limit (a tiny run's ratio says little about the largest)
    near_t = [r for r in done if r["est_s"] >= 0.5 * limits.seconds] or done
    near_m = [r for r in done if r["est_mb"] >= 0.5 * limits.memory_mb] or done
    t_ratio = max(r["quiet"] / r["est_s"] for r in near_t)
    m_ratio = max(r["extra_mb"] / r["est_mb"] for r in near_m)
    base = max(r["base_mb"] for r in done) + SERVER_EXTRA_MB
    pub = budget.PUBLIC
    section = QUICK_SECTION if mode == "quick" else SECTION
    L = [section, "",
         f"`{command}` on {datetime.now():%Y-%m-%d %H:%M}, {machine()}: {len(done)} runs in "
         f"{(time.time() - started) / 60:.0f} min, load average "
         f"{min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} CPUs during the runs. Other work shared the "
         f"machine, so wall times are inflated; *quiet* is the server's CPU time before and after training plus "
         f"the training's CPU time over its worker groups: the wall time on an idle reference machine. Memory is the sum of each "
         f"process's peak (VmHWM), server and workers, in MB; *server peak* adds the dashboard server's idle "
         f"memory beyond this bench's process ({SERVER_EXTRA_MB:.0f} MB). Random configurations each pushed to "
         f"the limits along one knob (epochs, samples, seeds or batch, then epochs), then a hill-climb from the "
         f"one closest to breaking the promise.",
         "",
         f"Searched at: {limits.seconds:g} s and {limits.memory_mb:g} MB estimated, {limits.frame_rows:,} rows"
         f"{' (the time limit a fifth of the public one: times are scaled up by 5 to judge the promise)' if mode == 'quick' else ' (the public limits)'}. "
         f"Promise at the public limits ({pub.seconds:g} s, {pub.memory_mb:g} MB): under {PROMISE_S:.0f} s and "
         f"{PROMISE_MB:.0f} MB.",
         "",
         "| worst by | quiet s | wall s | est s | server peak MB | extra MB | est MB | load | link query |",
         "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for label, r in (("quiet time", worst_t), ("wall time", worst_w), ("peak memory", worst_m),
                     ("closest to the promise", worst_score)):
        L.append(f"| {label} | {r['quiet']:.1f} | {r['wall']:.1f} | {r['est_s']:.1f} | {r['server_peak']:.0f} | "
                 f"{r['extra_mb']:.0f} | {r['est_mb']:.0f} | {r['load']:.1f} | `{r['query']}` |")
    bound_t, bound_m = pub.seconds * t_ratio, max(base + pub.memory_mb * m_ratio, worst_m["server_peak"])
    L += ["", f"Largest measured / estimated among the runs near a limit: time {t_ratio:.2f} ({len(near_t)} runs "
          f"estimated at half the time limit or more), memory {m_ratio:.2f} ({len(near_m)} runs at half the memory "
          f"limit or more). At the public limits that bounds the largest admitted run by {bound_t:.0f} s quiet and "
          f"{bound_m:.0f} MB (server and workers: {base:.0f} MB idle + {pub.memory_mb:g} MB x {m_ratio:.2f}, or "
          f"the largest peak measured): the promise "
          f"{'holds' if bound_t < PROMISE_S and bound_m < PROMISE_MB else 'does NOT hold'} on these runs."]
    if mode == "full":  # the estimate's stated error: written here once, read by core.runtime.budget and its docs
        write_error(t_ratio, m_ratio)
    text = RESULTS.read_text() if RESULTS.exists() else (
        "# bench/adversarial.py: the admitted links the budget underestimates most\n\n"
        "Each section is rewritten by its mode's last run (`--quick`, or the full search); the full search also\n"
        "writes core.runtime.budget.ESTIMATE_ERROR.\n")
    if section in text:
        head, _, rest = text.partition(section)
        nxt = rest.find("\n## ")
        text = head + "\n".join(L) + ("\n\n" + rest[nxt + 1:] if nxt >= 0 else "\n")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(L) + "\n"
    RESULTS.write_text(text)


def write_error(time_ratio: float, memory_ratio: float) -> None:
    """core.runtime.budget.ESTIMATE_ERROR, rewritten with the full search's worst ratios."""
    import re
    path = ROOT / "core" / "runtime" / "budget.py"
    text = path.read_text()
    line = f'ESTIMATE_ERROR = {{"time": {time_ratio:.2f}, "memory": {memory_ratio:.2f}}}'
    path.write_text(re.sub(r"^ESTIMATE_ERROR = .*$", line, text, count=1, flags=re.M))


# ------------------------------------------------------------------ fitting the model
PRIOR_WEIGHT = 0.2  # how strongly a coefficient is held near core.runtime.budget's value (in relative-error units)
# Measured directly (--calibrate), not fitted: the runs rarely separate a product's arithmetic from its calls,
# and the probes' passes, the unit counts' worst case and the initialization's work are timed one at a time.
# The distinct-unit counts' worst case: the fit leaves it out of the runs (whose counts mostly cost far less)
# and leaves out the runs with large biases, where counts come near it (NEAR_COPIES); the estimate adds it to
# the fitted terms.
WORST_CASE = ("unit_calls", "unit_stacked_steps", "unit_stacked", "unit_steps", "unit_pairs", "unit_weights",
              "unit_outputs")
CALIBRATED = ("gflop32", "gflop64", "activation_s", "probe_gb", "probe_values", *WORST_CASE, "init_values",
              "init_draw_s", "init_qr_gflop", "init_gflop", "init_outputs", "init_spill", "init_weights")


def fit(runs: list[dict]) -> None:
    """Non-negative least squares of core.runtime.budget's terms on the measured CPU times, in relative errors (each
    run weighs 1 / its time), each coefficient held near its current value by a weak prior: a term the
    runs barely exercise keeps its micro-measured value rather than taking whatever fits the noise."""
    import numpy as np
    from scipy.optimize import nnls

    from core.runtime import budget
    from core.config import ExperimentConfig
    train_names = [n for n in budget.TIME if n not in budget.SERVER_TERMS and n not in CALIBRATED]
    server_names = [n for n in budget.SERVER_TERMS if n not in CALIBRATED]
    costly = {copies["bias"] for copies in NEAR_COPIES} | {b for b in BIASES if b != "zeros" and b != "normal:std=1"}
    A_t, y_t, A_s, y_s, A_m, y_m = [], [], [], [], [], []
    for r in runs:
        c = ExperimentConfig.from_query(r["query"])
        t = budget.time_terms(c)
        m = budget.memory_terms(c)
        wm = 1.0 / max(r["extra_mb"] * 1e6, 20e6)
        A_m.append([m[n] * wm for n in budget.MEMORY])
        y_m.append(max(r["extra_mb"], 0) * 1e6 * wm)
        if c.bias in costly:  # large biases: counts near their worst case, priced on their own (WORST_CASE)
            continue
        w = 1.0 / max(r["train_cpu"], 0.05)
        known = sum(budget.TIME[n] * t[n] for n in CALIBRATED if n not in budget.SERVER_TERMS + WORST_CASE)
        A_t.append([t[n] * w for n in train_names])
        y_t.append((r["train_cpu"] - known) * w)
        serial = r.get("prep_cpu", 0.0) + r["server_cpu"]  # the server alone: data, initial weights, tables
        known_s = sum(budget.TIME[n] * t[n] for n in CALIBRATED if n in budget.SERVER_TERMS)
        ws = 1.0 / max(serial, 0.05)
        A_s.append([t[n] * ws for n in server_names])
        y_s.append((serial - known_s) * ws)
    for title, names, prior, A, y in (
            ("TIME (training)", train_names, budget.TIME, A_t, y_t),
            ("TIME (server)", server_names, budget.TIME, A_s, y_s),
            ("MEMORY", list(budget.MEMORY), budget.MEMORY, A_m, y_m)):
        A, y = np.array(A), np.array(y)
        held = [n for n in names if prior[n] > 0]  # (coef - prior) / prior, weighted; a zero holds nothing
        P = np.zeros((len(held), len(names)))
        P[np.arange(len(held)), [names.index(n) for n in held]] = [PRIOR_WEIGHT / prior[n] for n in held]
        coef, _ = nnls(np.vstack([A, P]), np.concatenate([y, np.full(len(held), PRIOR_WEIGHT)]))
        if title.startswith("TIME"):  # the ratio of whole times, calibrated terms included
            known = np.array([1.0 - yi for yi in y])  # 1 - (measured - known) / measured = known / measured
            ratio = 1.0 / np.maximum(known + A @ coef, 1e-12)
        else:
            ratio = y / np.maximum(A @ coef, 1e-12)
        print(f"{title}: " + ", ".join(f'"{n}": {v:.4g}' for n, v in zip(names, coef)))
        print(f"  measured / fitted: median {np.median(ratio):.2f}, 90% {np.quantile(ratio, 0.9):.2f}, "
              f"max {ratio.max():.2f} over {len(y)} runs")


def calibrate() -> None:
    """The products' rate (s per GFLOP of stacked float32 / float64 products of 12 models, 128 x 256 by 256 x 256),
    single-threaded BLAS, and the NumPy primitives' table (``primitive_table``)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        for dtype in ("float32", "float64"):
            a, b = np.ones((12, 128, 256), dtype), np.ones((12, 256, 256), dtype)
            out_ = np.empty((12, 128, 256), dtype)
            best = math.inf
            for _ in range(20):
                s = time.process_time()
                for _ in range(10):
                    np.matmul(a, b, out=out_)
                best = min(best, (time.process_time() - s) / 10)
            print(f'"gflop{dtype[-2:]}": {best / (2 * 12 * 128 * 256 * 256 / 1e9):.4g}')
    primitive_table()


# Primitives timed besides those the registry's entries call, so that a new activation or scheme built from them
# is priced by its own cost rather than the costliest's.
COMMON_PRIMITIVES = ("exp", "expm1", "log", "log1p", "tanh", "erf", "expit", "sqrt", "square", "multiply", "add",
                     "subtract", "divide", "maximum", "minimum", "greater", "where", "copy", "fill", "clip")
# How a primitive is timed when it is not a ufunc writing into ``out`` (x and y: standard normal values, or in
# (0.01, 0.99) for the primitives in POSITIVE; out: an array of x's shape); argsort as sparse schemes call it,
# down the rows of a 1024-row layer; a ufunc's fresh result as the time an addition takes more without out=
PRIMITIVE_CALLS = {
    "allocation": lambda np, x, y, out: np.add(x, y),
    "where": lambda np, x, y, out: np.where(x > 0, x, y),
    "copy": lambda np, x, y, out: out.__setitem__(Ellipsis, x),
    "fill": lambda np, x, y, out: out.fill(1),
    "clip": lambda np, x, y, out: np.clip(x, 0.1, 0.9),
    "argsort": lambda np, x, y, out: np.argsort(x.reshape(1024, -1), axis=0),
    "diag": lambda np, x, y, out: np.diag(x.reshape(1024, -1)),
}
PRIMITIVE_SIZES = (1 << 16, 1 << 23)  # elements: in cache, and far past it (a large layer); the larger price per element
POSITIVE = ("log", "log1p", "sqrt", "ndtri")  # primitives timed on values in (0.01, 0.99): their domain


def registry_primitives() -> set[str]:
    """The primitives the registry's activations and weight schemes call (core.runtime.budget's traces)."""
    from core.nn import activations, initializers
    from core.runtime import budget
    names = set()
    for act in activations.ACTIVATIONS.values():
        for calls in budget.activation_calls(act, "float32"):
            names |= {c.primitive for c in calls}
    for name, init in initializers.INITIALIZERS.items():
        names |= {c.primitive for c in budget.draw_calls(name, init.sampler, ())[1]}
    return names - set(budget.PRICED_APART) - {"unseen"}


def _primitive(name: str):
    """(x, y, out) -> one call of the primitive ``name``: PRIMITIVE_CALLS's form, or the ufunc of that name
    (NumPy's, else scipy.special's) on x (and y)."""
    import numpy as np
    import scipy.special
    if name in PRIMITIVE_CALLS:
        return lambda x, y, out: PRIMITIVE_CALLS[name](np, x, y, out)
    ufunc = getattr(np, name, None)
    if not isinstance(ufunc, np.ufunc):
        ufunc = getattr(scipy.special, name)
    return (lambda x, y, out: ufunc(x, out=out)) if ufunc.nin == 1 else (lambda x, y, out: ufunc(x, y, out=out))


def _ns_per_element(fn, n: int) -> float:
    """The least CPU ns per element of ``fn`` (which works on ``n`` elements), over several batches of calls."""
    calls = max(1, (1 << 21) // n)
    return _cpu_best(lambda: [fn() for _ in range(calls)], 7) / calls / n * 1e9


def primitive_table() -> None:
    """core.runtime.budget.PRIMITIVE_NS: ns per element of each primitive, float32 and float64, the larger of an
    in-cache and a larger array; then each activation's forward and derivative timed whole against the sum of
    its traced primitives (what the budget charges)."""
    import numpy as np

    from core.nn import activations
    from core.runtime import budget
    names = sorted(registry_primitives() | set(COMMON_PRIMITIVES))
    table = {}
    for dtype in ("float32", "float64"):
        row = {}
        for name in [*names, budget.ALLOCATION]:
            fn, worst = _primitive(name), 0.0
            for n in PRIMITIVE_SIZES:
                rng = np.random.default_rng(0)
                draw = (lambda: rng.uniform(0.01, 0.99, n)) if name in POSITIVE else (lambda: rng.standard_normal(n))
                x, y = draw().astype(dtype), draw().astype(dtype)
                out = np.empty_like(x)
                t = _ns_per_element(lambda: fn(x, y, out), n)
                if name == budget.ALLOCATION:  # less the addition itself
                    t -= _ns_per_element(lambda: np.add(x, y, out=out), n)
                worst = max(worst, t)
            row[name] = round(max(worst, 0.0), 2)
        table[dtype] = row
    print("PRIMITIVE_NS = " + json.dumps(table))
    budget.PRIMITIVE_NS = table
    print("  activation: derived / timed forward, derivative (ns per element, the larger of the sizes)")
    for dtype in ("float32", "float64"):
        for name, act in activations.ACTIVATIONS.items():
            timed = [0.0, 0.0]
            for n in PRIMITIVE_SIZES:
                z = np.random.default_rng(0).standard_normal(n).astype(dtype)
                a, t = act.forward(z, np.empty_like(z)), np.empty_like(z)
                timed[0] = max(timed[0], _ns_per_element(lambda: act.forward(z, t), n))
                timed[1] = max(timed[1], _ns_per_element(lambda: act.derivative(z, a, t), n))
            derived = budget.activation_ns(dtype, name)
            print(f"  {dtype} {name}: {derived[0]:.2f} / {timed[0]:.2f}, {derived[1]:.2f} / {timed[1]:.2f}")


def _cpu_best(fn, repeats: int = 3) -> float:
    """The least CPU time of ``repeats`` calls of ``fn`` (the others' load inflates, never deflates it)."""
    best = math.inf
    for _ in range(repeats):
        s = time.process_time()
        fn()
        best = min(best, time.process_time() - s)
    return best


def _fit_times(rows: list[tuple[list[float], float]], names: list[str], envelope: bool) -> dict[str, float]:
    """Non-negative least squares of the times on the work counts, in relative errors; with ``envelope``,
    scaled up so that no measured time exceeds its fit (an estimate that charges a worst case)."""
    import numpy as np
    from scipy.optimize import nnls
    A = np.array([[x / t for x in work] for work, t in rows])
    coef, _ = nnls(A, np.ones(len(rows)))
    fitted = A @ coef
    scale = float(np.max(1.0 / np.maximum(fitted, 1e-12))) if envelope else 1.0
    print("  measured / fitted: " + " ".join(f"{1 / f:.2f}" for f in fitted)
          + (f"; scaled by {scale:.2f} to the envelope" if envelope else ""))
    return {n: float(c * scale) for n, c in zip(names, coef)}


def count_layers(m: int, rng) -> list[tuple[str, "object"]]:
    """(name, (m, m + 1) unit rows) of layers whose distinct-unit count is costly: near-copies at the
    tolerance's scale under a constant bias (the bias sets every unit's scale), the issue's near-copies (tiny
    weights, biases N(0, 10^2)), identity, sparse and Hadamard weights under a constant bias."""
    import numpy as np

    from core.nn import initializers
    out = []
    consts = (0.5, 5.0, 50.0)
    for std in (1e-3, 3e-3, 1e-2, 3e-2):
        for c in consts:
            out.append((f"normal std {std}, bias {c}", rng.standard_normal((m, m)) * std, np.full(m, c)))
    out.append(("normal std 1e-4, biases N(0, 10^2)", rng.standard_normal((m, m)) * 1e-4,
                rng.standard_normal(m) * 10))
    for c in consts[:2]:
        out.append((f"identity, bias {c}", np.eye(m), np.full(m, c)))
        out.append((f"identity x 0.01, bias {c}", np.eye(m) * 0.01, np.full(m, c)))
        out.append((f"sparse 0.99 std 0.01, bias {c}",
                    initializers.sample("sparse", m, m, rng=rng, sparsity=0.99, std=0.01), np.full(m, c)))
        h = initializers.sample("zero_hadamard", m // 2, m, rng=rng)  # (m/2, m): rows repeat in pairs
        out.append((f"hadamard, bias {c}", h[np.arange(m) % (m // 2)], np.full(m, c)))
    return out


def calibrate_counts() -> dict[str, float]:
    """core.runtime.budget's unit_* coefficients: the distinct-unit counts of the costly layers (``count_layers``),
    by weights (m units of m + 1 float64 values, float32's tolerance) and by function (their ReLU outputs
    on 128 probe rows, float32), of 1 and 16 models, timed at 8 to 1024 units; the costliest layer of each
    shape, fitted on ``budget.unit_terms``'s counts and scaled to an upper envelope."""
    import numpy as np

    from core.measure import probes
    from core.runtime import budget
    rtol = probes.same_unit_tolerance(np.float32)
    names = ["unit_calls", "unit_stacked_steps", "unit_stacked", "unit_steps", "unit_pairs", "unit_weights",
             "unit_outputs"]
    rows = []
    for m, k in ((8, 16), (16, 1), (16, 16), (32, 1), (32, 16), (64, 1), (64, 16), (128, 1), (256, 1), (512, 1),
                 (1024, 1)):
        rng = np.random.default_rng(m)
        X = rng.standard_normal((128, m))
        worst = {"weights": (0.0, ""), "function": (0.0, "")}
        for name, W, b in count_layers(m, rng):
            u = np.empty((k, m, m + 1))
            u[:, :, :m], u[:, :, m] = W.T, b  # a unit's incoming weights and bias, in k models
            u = u.astype(np.float32).astype(np.float64)
            f = np.repeat(np.ascontiguousarray(np.maximum(X @ W + b, 0).T.astype(np.float32))[None], k, axis=0)
            for kind, arr in (("weights", u), ("function", f)):
                t = _cpu_best(lambda: probes.distinct_units_stack(arr, rtol), 3)
                worst[kind] = max(worst[kind], (t, name))
        for kind, (t, name) in worst.items():
            d = m + 1 if kind == "weights" else 128
            print(f"  {k} x {m} units x {d} values ({kind}): {t * 1e3:.2f} ms, {name}")
            terms = budget.count_terms(k, m, d, 1, kind == "weights")
            rows.append(([terms[n] for n in names], t))
    coef = _fit_times(rows, names, envelope=True)
    print(", ".join(f'"{n}": {v:.3g}' for n, v in coef.items()))
    return coef


def calibrate_init() -> None:
    """core.runtime.budget's init_qr_gflop and QR_NARROW (NumPy's reduced QR, square and tall); DRAW_NS (each
    Generator method's values, ``draw_table``) and init_values (the rest of core.experiment.initial_weights per
    weight, timed on zeros); LSUV's init_gflop, init_outputs, init_spill and init_weights (core.nn.network.lsuv
    on one layer with biases N(0, 10^2), so that it runs every iteration)."""
    import numpy as np

    from core.nn import activations, network
    from core.runtime import budget
    rng = np.random.default_rng(0)
    rows = []
    for m, n in ((64, 64), (128, 128), (256, 256), (512, 512), (1024, 1024), (1024, 256), (1024, 64), (512, 128)):
        a = rng.standard_normal((m, n))
        t = _cpu_best(lambda: np.linalg.qr(a), 7)
        f = 2.0 * (2.0 * m * n * n - 2.0 * n ** 3 / 3) / 1e9
        rows.append(([f, f / n], t))
        print(f"  QR {m} x {n}: {t * 1e3:.2f} ms ({f / t:.1f} GFLOP/s)")
    c = _fit_times(rows, ["gflop", "gflop_per_n"], envelope=False)
    print(f'"init_qr_gflop": {c["gflop"]:.3g}, QR_NARROW = {c["gflop_per_n"] / max(c["gflop"], 1e-12):.0f}')
    from core import experiment
    from core.nn import initializers
    from core.config import ExperimentConfig
    draw_table(rng)
    config = ExperimentConfig(schemes=("zeros",), seeds=4, depth=4, width=(1024,), dataset="moons")
    prepared = experiment.prepare(config)
    t = _cpu_best(lambda: experiment.initial_weights(config, prepared.layout, prepared.data), 3)
    n = 4 * budget.shape(config).weights
    print(f'"init_values": {max(t - n * budget.draw_ns("zeros", {})[0] * 1e-9, 0.0) / n:.3g}')
    t = _cpu_best(lambda: initializers.sample("zero_hadamard", 2, 1024, rng=rng), 5)
    print(f"HADAMARD_NS = {t / 1024 ** 2 * 1e9:.2g}  # per value of H_p")
    rows = []
    relu = activations.get("relu")
    iterations = 10
    for k, n_rows, a, b in ((1, 512, 1024, 1024), (4, 512, 512, 512), (20, 512, 256, 256), (60, 512, 128, 128),
                            (240, 512, 64, 64), (240, 512, 16, 16), (60, 512, 64, 256), (20, 64, 1024, 64),
                            (240, 64, 32, 32), (4, 64, 1024, 1024), (60, 128, 128, 128)):
        X = rng.standard_normal((n_rows, a))
        W0 = rng.standard_normal((k, a, b)) / math.sqrt(a)
        b0 = rng.standard_normal((k, 1, b)) * 10

        def one():
            network.lsuv([(W0.copy(), b0)], X, relu, 0.1, iterations)
        t = _cpu_best(one, 3)
        n = iterations + 1
        spill = k * n_rows * b if k * n_rows * b * 8 > budget.LSUV_CACHE_BYTES else 0
        rows.append(([n * 2.0 * k * n_rows * a * b / 1e9, n * k * n_rows * b, n * spill, n * k * a * b], t))
        print(f"  LSUV {k} x ({a} x {b}), {n_rows} rows, {iterations} iterations: {t * 1e3:.1f} ms")
    c = _fit_times(rows, ["init_gflop", "init_outputs", "init_spill", "init_weights"], envelope=False)
    print(", ".join(f'"{n}": {v:.3g}' for n, v in c.items()))


# The Generator methods timed (every one the registry's schemes call, and common others), each called for n values
DRAW_CALLS = {
    "standard_normal": lambda rng, n: rng.standard_normal(n),
    "normal": lambda rng, n: rng.normal(0.0, 2.0, n),
    "uniform": lambda rng, n: rng.uniform(-1.0, 1.0, n),
    "random": lambda rng, n: rng.random(n),
    "integers": lambda rng, n: rng.integers(0, 1 << 20, n),
    "permutation": lambda rng, n: rng.permutation(n),
    "choice": lambda rng, n: rng.choice(n, n),
    "exponential": lambda rng, n: rng.exponential(1.0, n),
}


def draw_table(rng) -> None:
    """core.runtime.budget.DRAW_NS: ns per value of each Generator method (2^20 values); then each scheme's
    draw of a 1024 x 1024 layer timed whole (less its QR factorization, priced apart) against what the budget
    charges (``budget.draw_ns``: the traced draws and primitives)."""
    import numpy as np

    from core.nn import initializers
    from core.runtime import budget
    used = {c.primitive for name, init in initializers.INITIALIZERS.items()
            for c in budget.draw_calls(name, init.sampler, ())[0]}
    unknown = used - set(DRAW_CALLS)
    if unknown:
        raise SystemExit(f"draw_table: say how to time {', '.join(sorted(unknown))} in DRAW_CALLS")
    n = 1 << 20
    table = {name: round(_cpu_best(lambda: call(rng, n), 7) / n * 1e9, 2) for name, call in DRAW_CALLS.items()}
    print("DRAW_NS = " + json.dumps(table))
    budget.DRAW_NS = table
    square = rng.standard_normal((1024, 1024))
    qr = _cpu_best(lambda: np.linalg.qr(square), 5)
    print("  scheme: derived / timed ns per weight (1024 x 1024, less QR)")
    for name in initializers.INITIALIZERS:
        t = _cpu_best(lambda: initializers.sample(name, 1024, 1024, rng=rng, activation="relu"), 5)
        derived, factorizes = budget.draw_ns(name, {})
        print(f"  {name}: {derived:.2f} / {(t - (qr if factorizes else 0.0)) / 1024 ** 2 * 1e9:.2f}")


def calibrate_probe_passes() -> None:
    """core.runtime.budget's probe_gb: the records' passes over the parameters, as core.measure.probes.ProbeSession._record
    makes them, on a stack of 4 models of three 1024-wide layers (float32), per byte budget.probe_bytes
    counts; probe_values: the records' statistics and histograms (core.measure.probes.segment_stats), per value, the
    costliest of a few stacks."""
    import numpy as np

    from core.nn import network
    sizes, k = (2, 1024, 1024, 1024, 2), 4
    layout = network.Layout(sizes)
    rng = np.random.default_rng(0)
    flat = rng.standard_normal((k, layout.n_params)).astype(np.float32)
    init64, grads = flat.astype(np.float64), flat.copy()
    offsets = list(layout.offsets())
    work = np.empty(k * max(end - w0 for w0, _, end in offsets))

    def passes():
        np.zeros_like(flat)
        for w0, b0, end in offsets:
            w = network.view(work, (k, end - w0))
            np.subtract(flat[:, w0:end], init64[:, w0:end], out=w)
            np.square(w, out=w).sum(axis=1)
            np.square(grads[:, w0:end], out=w, dtype=np.float64)
            np.add.reduceat(w, [0, b0 - w0], axis=1)
        for block in layout.blocks(flat):
            u = np.zeros((k, block.shape[2], block.shape[1]))
            np.copyto(u, network.swap(block))
    t = _cpu_best(passes, 5)
    nbytes = k * layout.n_params * (4 * 4 + 72)
    print(f"  {nbytes / 1e9:.2f} GB in {t * 1e3:.0f} ms")
    print(f'"probe_gb": {t / (nbytes / 1e9):.3g}')
    from core.measure import probes
    worst = 0.0
    for k, units, layers in ((240, 2, 50), (60, 32, 8), (20, 256, 4), (1, 1024, 12)):
        # a record's value sets: pre-activations, activations and gradients of every layer, 128 probe rows
        values = [rng.standard_normal((k, probes.PROBE_SIZE * units)).astype(np.float32)
                  for _ in range(3 * layers)]
        work = probes.StatsWork()
        t = _cpu_best(lambda: probes.segment_stats(values, work=work), 3)
        n = 3 * layers * k * probes.PROBE_SIZE * units
        print(f"  statistics and histograms of {n / 1e6:.1f} M values ({k} models, {layers} x {units} units): "
              f"{t * 1e3:.0f} ms")
        worst = max(worst, t / n)
    print(f'"probe_values": {worst:.3g}')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="limits scaled down to a fifth, 8 random + 6 climbs")
    ap.add_argument("--random", type=int, help="random configurations (default 8 quick, 30 full)")
    ap.add_argument("--climb", type=int, help="hill-climb steps (default 6 quick, 30 full)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fit", type=int, metavar="N", help="measure N random runs of 0.5-10 s, then fit the model")
    ap.add_argument("--refit", action="store_true", help="fit on the runs already in bench/adversarial-runs.jsonl")
    ap.add_argument("--calibrate", nargs="*", choices=["products", "counts", "init", "probes"], metavar="PART",
                    help="measure core.runtime.budget's calibrated coefficients: products (gflop32/64, PRIMITIVE_NS), "
                         "counts (unit_*), init (init_*, QR_NARROW, DRAW_NS), probes (probe_gb); all without PART")
    ap.add_argument("--native-blas", action="store_true",
                    help="let BLAS use its own threads as the server does (measure on a quiet machine)")
    ap.add_argument("--measure", metavar="QUERY", help=argparse.SUPPRESS)
    args = ap.parse_args()
    global NATIVE_BLAS
    NATIVE_BLAS = args.native_blas
    if args.measure is not None:
        print(json.dumps(measure_here(args.measure)))
        return 0
    if args.calibrate is not None:
        from threadpoolctl import threadpool_limits
        parts = args.calibrate or ["products", "counts", "init", "probes"]
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs, {datetime.now():%Y-%m-%d %H:%M}")
        with threadpool_limits(1, "blas"):  # as training workers run, and the server's estimates assume
            for part, fn in (("products", calibrate), ("counts", calibrate_counts), ("init", calibrate_init),
                             ("probes", calibrate_probe_passes)):
                if part in parts:
                    print(f"{part}:", flush=True)
                    fn()
        return 0
    from core.runtime import budget
    if args.fit or args.refit:
        if args.fit:
            rng = random.Random(args.seed)
            runs = 0
            while runs < args.fit:
                target = math.exp(rng.uniform(math.log(0.5), math.log(10)))
                c = push(random_config(rng), replace(budget.PUBLIC, seconds=target))
                if c is None:
                    continue
                r = measure(c.to_query())
                runs += 1
                print(f"{runs}/{args.fit}: {r}", flush=True)
        fit([json.loads(line) for line in RUNS.read_text().splitlines() if '"error"' not in line])
        return 0
    quick = args.quick
    limits = replace(budget.PUBLIC, seconds=budget.PUBLIC.seconds / 5) if quick else budget.PUBLIC
    started = time.time()
    done = search(limits, args.random or (8 if quick else 30), args.climb if args.climb is not None else (6 if quick else 30),
                  args.seed)
    write_results(done, limits, "quick" if quick else "full", started,
                  " ".join(["python bench/adversarial.py", *sys.argv[1:]]))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
