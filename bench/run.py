"""Speed and memory of the trainer against PyTorch and scikit-learn, in one run.

    pip install -r bench/requirements.txt      # torch==2.13.0, CPU build
    python -m bench                            # or: python bench/run.py [--skip-largest] [--out FILE]

Every measured job runs in its own subprocess, which reports its wall time and
its peak resident memory (ru_maxrss). Jobs (issue 4):

  J1  24 models (8 schemes x 3 seeds), moons 1,000 samples (800 train), 3 hidden
      layers of 64, tanh, SGD lr 0.1, batch 32, 30 epochs
      and through the public API: core.run of 12 of its models (every frame, probes
      at 2 epochs) against 12 MLPClassifier fits
  J2  the same models, full batch, 300 epochs (and at width 256 for the BLAS share)
  J3  the dashboard's default ExperimentConfig() end to end (core.experiment.run,
      all probes and frames), plus training alone vs training with probes
  growth: models, width, depth, samples, each alone, with fitted exponents
  largest admitted: configurations at the edge of core.runtime.budget's limits

For J1/J2 this project's side is core.nn.trainer.train without probes, timed twice:
training alone (loss evaluated at the first and last epoch, as the others do)
and as the dashboard runs it (train and test loss/accuracy after every epoch).
PyTorch trains the models one after another (nn.Sequential, torch.optim.SGD,
CrossEntropyLoss, the same shuffled batches), once plain and once with the same
per-epoch evaluation; scikit-learn fits one MLPClassifier per model
(solver='sgd', momentum 0, alpha 0, all epochs run).
Results go to the terminal and to bench/results/run.md, which this rewrites whole: the other benchmarks write
their own sections of bench/RESULTS.md, which this never touches.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

SCHEMES8 = ("zeros", "normal:std=1", "xavier_normal", "he_normal", "xavier_uniform", "he_uniform", "lecun_normal",
            "orthogonal")
JOB = dict(dataset="moons", n_samples=1000, noise=0.2, schemes=SCHEMES8, seeds=3, depth=3, width=(64,),
           activation="tanh", optimizer="sgd", lr=0.1, batch_size=32, epochs=30)
J2 = dict(JOB, batch_size=0, epochs=300)
# J1 through the public API: 12 of its models (4 schemes x 3 seeds), probes recorded at 2 epochs
J1_API = dict(JOB, schemes=SCHEMES8[:4], record_epochs=2)


# ----------------------------------------------------------------------------- helpers (run in workers)

def peak_rss_mb() -> float:
    """This process's peak RSS plus that of each training worker it started (their peaks may not have
    coincided, so this is an upper bound on the peak of the whole)."""
    from core.runtime import workers
    total = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    for pid in workers.pids():
        with open(f"/proc/{pid}/status") as f:
            total += next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024.0
    return total


def setup(**overrides):
    """(config, data, layout, init, act, settings) for a job, built by core.experiment.prepare as run() builds them."""
    from core import experiment
    from core.config import ExperimentConfig
    cfg = ExperimentConfig(**overrides)
    p = experiment.prepare(cfg)
    return cfg, p.data, p.layout, p.init, p.act, p.settings


def train_flop(layout, k: int, n_train: int, n_all: int, epochs: int, evaluations: int) -> float:
    """Matmul FLOPs of training (forward + two backward matmuls) and of the curve evaluations."""
    weights = sum(a * b for a, b in zip(layout.sizes[:-1], layout.sizes[1:]))
    return k * (6.0 * weights * n_train * epochs + 2.0 * weights * n_all * evaluations)


def time_ours(overrides: dict, repeat: int = 1, curve_points: int | None = None) -> dict:
    """core.nn.trainer.train on a job, best of ``repeat``. ``curve_points=1`` evaluates train and test loss and
    accuracy at epoch 0 and the last epoch only (training alone, as the others do); the default evaluates
    every epoch, as the dashboard does."""
    from dataclasses import replace

    from core.nn.trainer import curve_epochs, groups_for, train
    cfg, data, layout, init, act, settings = setup(**overrides)
    if curve_points is not None:
        settings = replace(settings, curve_points=int(curve_points))
    # warm up BLAS, caches and (when the run will use them) the worker processes, as a running dashboard has
    groups = groups_for(len(init), layout.sizes, settings, len(data.X_train))  # of the whole run, not 1 epoch
    train(init, layout, data, act, replace(settings, epochs=1, groups=groups))
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        train(init, layout, data, act, settings)
        best = min(best, time.perf_counter() - t)
    flop = train_flop(layout, len(init), len(data.X_train), len(data.X_train) + len(data.X_test), cfg.epochs,
                      len(curve_epochs(cfg.epochs, settings.curve_points)))
    return {"seconds": best, "gflop": flop / 1e9, "models": len(init)}


def batches(n: int, batch: int, epochs: int, seed: int = 0):
    """The trainer's batch order: one permutation per epoch from default_rng(data_seed)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(epochs):
        perm = rng.permutation(n) if batch < n else np.arange(n)
        out.append([perm[s:s + batch] for s in range(0, n, batch)])
    return out


def job_torch(overrides: dict, threads: int, evaluate: bool = False) -> dict:
    """PyTorch as its users write it. With ``evaluate``, also the usual per-epoch curve: train and test loss
    and accuracy under no_grad before training and after every epoch (what the dashboard shows)."""
    import torch
    if threads:
        torch.set_num_threads(threads)
    cfg, data, layout, init, act, settings = setup(**overrides)
    X = torch.from_numpy(np.asarray(data.X_train, np.float32))
    y = torch.from_numpy(np.asarray(data.y_train, np.int64))
    X_test = torch.from_numpy(np.asarray(data.X_test, np.float32))
    y_test = torch.from_numpy(np.asarray(data.y_test, np.int64))
    n = len(X)
    batch = n if cfg.batch_size in (0, None) or cfg.batch_size >= n else cfg.batch_size
    order = [[torch.from_numpy(i) for i in ep] for ep in batches(n, batch, cfg.epochs, cfg.data_seed)]
    full = batch >= n

    def model():
        layers, sizes = [], layout.sizes
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(torch.nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(torch.nn.Tanh())
        return torch.nn.Sequential(*layers)

    t = time.perf_counter()
    for seed in range(len(cfg.models)):
        torch.manual_seed(seed)
        net = model()
        opt = torch.optim.SGD(net.parameters(), lr=cfg.lr)
        loss_fn = torch.nn.CrossEntropyLoss()
        curve = []

        def evaluate_now():
            with torch.no_grad():
                for Xs, ys in ((X, y), (X_test, y_test)):
                    out = net(Xs)
                    curve.append((loss_fn(out, ys).item(), (out.argmax(1) == ys).float().mean().item()))

        if evaluate:
            evaluate_now()
        for ep in order:
            for idx in ep:
                xb, yb = (X, y) if full else (X[idx], y[idx])
                opt.zero_grad()
                loss = loss_fn(net(xb), yb)
                loss.backward()
                opt.step()
            if evaluate:
                evaluate_now()
    return {"seconds": time.perf_counter() - t, "threads": torch.get_num_threads(), "torch": torch.__version__}


def job_sklearn(overrides: dict) -> dict:
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    cfg, data, layout, init, act, settings = setup(**overrides)
    X = np.asarray(data.X_train, np.float32)
    n = len(X)
    batch = n if cfg.batch_size in (0, None) or cfg.batch_size >= n else cfg.batch_size
    t = time.perf_counter()
    for seed in range(len(cfg.models)):
        clf = MLPClassifier(hidden_layer_sizes=cfg.widths, activation="tanh", solver="sgd", learning_rate="constant",
                            learning_rate_init=cfg.lr, momentum=0.0, nesterovs_momentum=False, batch_size=batch,
                            max_iter=cfg.epochs, alpha=0.0, shuffle=True, random_state=seed, early_stopping=False,
                            tol=0.0, n_iter_no_change=10**9)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, data.y_train)
        assert clf.n_iter_ == cfg.epochs
    return {"seconds": time.perf_counter() - t, "sklearn": sklearn.__version__}


def blas_step(sizes, k: int, n: int, seconds: float = 0.0, repeat: int = 5, progress=None) -> dict:
    """Time the matmuls of one training step (same shapes, same calls) with nothing else around them: the best
    of ``repeat`` steps, or with ``seconds`` as many steps as fit in that time (to run alongside another
    process doing the same). Module-level, so that a training worker can run it (see job_blas)."""
    dtype = np.float32
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    Ws = [rng.standard_normal((k, a, b)).astype(dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    acts = [rng.standard_normal((k, n, b)).astype(dtype) for b in sizes[1:]]
    gWs = [np.empty_like(W) for W in Ws]
    das = [np.empty((k, n, a), dtype) for a in sizes[1:-1]]

    def step():
        a = X
        for i, W in enumerate(Ws):
            np.matmul(a, W, out=acts[i])
            a = acts[i]
        for i in range(len(Ws) - 1, -1, -1):
            prev = acts[i - 1] if i else X
            np.matmul(prev.swapaxes(-1, -2), acts[i], out=gWs[i])
            if i:
                np.matmul(acts[i], Ws[i].swapaxes(-1, -2), out=das[i - 1])

    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    flop = 6.0 * weights * n * k
    step()
    if seconds:
        steps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            step()
            steps += 1
        elapsed = time.perf_counter() - t0
        return {"step_seconds": elapsed / steps, "gflops": flop * steps / elapsed / 1e9}
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t)
    return {"step_seconds": best, "gflops": flop / best / 1e9}


def job_blas(overrides: dict) -> dict:
    """The machine's BLAS throughput on the trainer's shapes: the larger of (a) the whole stack's step in this
    process with BLAS's own threads and (b) the step of each group the trainer splits the stack into, one per
    worker process (single-threaded BLAS, as the trainer runs them), all at once."""
    from core.nn import trainer
    from core.runtime import workers
    cfg, data, layout, init, act, settings = setup(**overrides)
    n = trainer.batch_size(settings, len(data.X_train))
    k = len(init)
    whole = blas_step(layout.sizes, k, n)
    groups = trainer.groups_for(k, layout.sizes, settings, len(data.X_train))
    out = {"whole_gflops": whole["gflops"], "groups": groups}
    if groups > 1:
        step_fn = importlib.import_module("bench.run").blas_step  # by its importable name, not __main__'s
        bounds = trainer.group_bounds(k, groups)
        calls = [(layout.sizes, int(b - a), n, 1.0) for a, b in zip(bounds[:-1], bounds[1:])]
        workers.run(step_fn, [(layout.sizes, 1, n, 0.0, 1)] * groups)  # start them
        # best of 3 rounds: the machine's speed drifts, and this is the reference the trainer is held to
        out["split_gflops"] = max(sum(r["gflops"] for r in workers.run(step_fn, calls)) for _ in range(3))
    out["gflops"] = max(out["whole_gflops"], out.get("split_gflops", 0.0))
    sq = {}
    for m in (256, 1024):
        A = np.random.default_rng(0).standard_normal((m, m)).astype(np.float32)
        reps = 20 if m == 256 else 5
        A @ A
        t = time.perf_counter()
        for _ in range(reps):
            A @ A
        sq[m] = 2.0 * m**3 * reps / (time.perf_counter() - t) / 1e9
    out["square"] = sq
    return out


def job_j3() -> dict:
    from core import experiment
    from core.config import ExperimentConfig
    times = []
    for _ in range(3):
        t = time.perf_counter()
        experiment.run(ExperimentConfig())
        times.append(time.perf_counter() - t)
    return {"first": times[0], "seconds": float(np.median(times)), "all": times}


J3_PAIRS = 41


def job_j3_split(pairs: int = J3_PAIRS) -> dict:
    """Training alone and with probes, in pairs run back to back. The machine's speed drifts by up to 1.6x
    over minutes, which best-of-n times taken minutes apart do not cancel; within a pair it mostly does, so
    the overhead is the median of the pairs' ratios. Single pairs still range from about 0% to 45%: with 11
    pairs the median moved between 14% and 34% from one run to the next, with 41 it stayed near 20%."""
    from core import experiment
    from core.config import ExperimentConfig
    from core.nn.trainer import train
    p = experiment.prepare(ExperimentConfig())  # the dashboard's default configuration
    init, layout, data, act, settings, prober = p.init, p.layout, p.data, p.act, p.settings, p.prober
    train(init, layout, data, act, settings, prober)  # warm up, and start the workers if the run uses them
    alone, probed = [], []
    for _ in range(pairs):
        t = time.perf_counter()
        train(init, layout, data, act, settings)
        alone.append(time.perf_counter() - t)
        t = time.perf_counter()
        train(init, layout, data, act, settings, prober)
        probed.append(time.perf_counter() - t)
    ratios = np.array(probed) / np.array(alone)
    return {"alone": float(np.median(alone)), "probed": float(np.median(probed)),
            "overhead": float(np.median(ratios) - 1), "overhead_quartiles": np.quantile(ratios - 1, [0.25, 0.75]).tolist()}


def job_run(query: str) -> dict:
    from core.runtime import budget
    from core import experiment
    from core.config import ExperimentConfig
    cfg = ExperimentConfig.from_query(query)
    e = budget.check(cfg)
    t = time.perf_counter()
    experiment.run(cfg)
    return {"seconds": time.perf_counter() - t, "gflop_est": e.gflop, "rows_est": e.frame_rows,
            "mem_mb_est": e.memory_mb, "layer_steps_est": e.layer_steps, "seconds_est": e.seconds}


def job_api(overrides: dict, repeat: int = 3) -> dict:
    """core.run as a new user calls it, in a fresh process: the first call (data, worker start-up, training
    with train and test loss/accuracy every epoch, probes at the recorded epochs, every frame), then the
    median of ``repeat`` more."""
    from core import run
    from core.config import ExperimentConfig
    cfg = ExperimentConfig(**overrides)
    times = []
    for _ in range(1 + repeat):
        t = time.perf_counter()
        run(cfg)
        times.append(time.perf_counter() - t)
    return {"seconds": float(np.median(times[1:])), "first": times[0], "models": len(cfg.models)}


def job_growth() -> dict:
    base = dict(JOB, seeds=1, epochs=4)
    series = {
        "models": [(k, dict(base, schemes=SCHEMES8[:min(k, 8)], seeds=max(1, k // 8))) for k in (1, 4, 16, 64)],
        "width": [(w, dict(base, width=(w,))) for w in (16, 32, 64, 128, 256, 512)],
        "depth": [(d, dict(base, depth=d)) for d in (1, 2, 4, 8, 16, 32)],
        "samples": [(s, dict(base, n_samples=s)) for s in (250, 1000, 4000, 16000)],
        "epochs": [(e, dict(base, epochs=e)) for e in (2, 4, 8, 16)],
    }
    out = {}
    for name, points in series.items():
        xs, ts = [], []
        for x, ov in points:
            r = time_ours(ov, repeat=2)
            xs.append(x)
            ts.append(r["seconds"])
        out[name] = {"x": xs, "seconds": ts}
    return out


WORKERS = {
    "ours_j1": lambda: time_ours(JOB, repeat=3),
    "ours_j2": lambda: time_ours(J2, repeat=3),
    "ours_j1_train": lambda: time_ours(JOB, repeat=3, curve_points=1),
    "ours_j2_train": lambda: time_ours(J2, repeat=3, curve_points=1),
    "torch_j1_eval": lambda threads: job_torch(JOB, int(threads), evaluate=True),
    "torch_j2_eval": lambda threads: job_torch(J2, int(threads), evaluate=True),
    "ours_j2_w256": lambda: time_ours(dict(J2, width=(256,), epochs=30), repeat=2),
    "torch_j1": lambda threads: job_torch(JOB, int(threads)),
    "torch_j2": lambda threads: job_torch(J2, int(threads)),
    "torch_j1_one": lambda threads: job_torch(dict(JOB, schemes=SCHEMES8[:1], seeds=1), int(threads)),
    "torch_j2_one": lambda threads: job_torch(dict(J2, schemes=SCHEMES8[:1], seeds=1), int(threads)),
    "sklearn_j1": lambda: job_sklearn(JOB),
    "api_j1": lambda: job_api(J1_API),
    "sklearn_j1_api": lambda: job_sklearn(J1_API),
    "sklearn_j2": lambda: job_sklearn(J2),
    "blas_j2_w256": lambda: job_blas(dict(J2, width=(256,))),
    "blas_j2": lambda: job_blas(J2),
    "blas_j1": lambda: job_blas(JOB),
    "j3": job_j3,
    "j3_split": job_j3_split,
    "growth": job_growth,
    "run": job_run,
}


# ----------------------------------------------------------------------------- driver

def work(name: str, *args) -> dict:
    """Run one worker in a fresh subprocess; its JSON answer plus its peak RSS."""
    cmd = [sys.executable, "-m", "bench.run", "--worker", name, *map(str, args)]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def exponent(xs, ts, tail: int | None = None) -> float:
    x, t = np.log(np.asarray(xs, float)), np.log(np.asarray(ts, float))
    if tail:
        x, t = x[-tail:], t[-tail:]
    return float(np.polyfit(x, t, 1)[0])


def machine() -> dict:
    info = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "python": platform.python_version(),
            "numpy": np.__version__, "cpus": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        info["cpu"] = platform.processor()
    try:
        from threadpoolctl import threadpool_info
        blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        info["blas"] = ", ".join(f"{p['internal_api']} {p.get('version')} ({p.get('architecture')}, "
                                 f"{p.get('num_threads')} threads)" for p in blas)
    except ImportError:
        info["blas"] = "?"
    info["openblas_env"] = ", ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                                      "OPENBLAS_NUM_THREADS") if k in os.environ) \
        or "OPENBLAS_CORETYPE/L2_SIZE/NUM_THREADS unset"
    try:
        info["load"] = "%.1f %.1f %.1f" % os.getloadavg()
    except OSError:
        pass
    return info


def largest_candidates() -> list[tuple[str, str]]:
    """Configurations at the edge of core.runtime.budget, one per limit that can bind, each pushed (epochs, then
    the next knob) to the largest value the budget still admits."""
    from core.runtime import budget
    from core.config import ExperimentConfig

    def push(label, fixed: dict, knob: str, lo: int, hi: int):
        def ok(v):
            try:
                budget.check(ExperimentConfig(**fixed, **{knob: v}))
                return True
            except ValueError:
                return False
        if not ok(lo):
            return None
        while lo < hi:  # largest admitted value of knob
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if ok(mid) else (lo, mid - 1)
        return label, ExperimentConfig(**fixed, **{knob: lo}).to_query()

    twelve = tuple(SCHEMES8) + ("lecun_uniform", "torch_default", "truncated_normal", "uniform")
    fams = [
        push("compute, wide: 12 models, 4 x 256 relu, 4,000 train, batch 128",
             dict(n_samples=5000, schemes=twelve, seeds=1, depth=4, width=(256,), activation="relu",
                  batch_size=128, record_epochs=11), "epochs", 1, 5000),
        push("compute, many models: 96 models, 3 x 64 tanh, 1,600 train, batch 32",
             dict(n_samples=2000, schemes=twelve, seeds=8, depth=3, width=(64,), batch_size=32, record_epochs=5),
             "epochs", 1, 5000),
        push("steps: 1 model, 4 x 16 relu, batch 1, 16,000 train",
             dict(n_samples=20000, schemes=("he_normal",), seeds=1, depth=4, width=(16,), batch_size=1,
                  activation="relu", record_epochs=11), "epochs", 1, 5000),
        push("memory: 12 models, 2 x 512, full batch, 2 epochs (samples pushed)",
             dict(schemes=twelve, seeds=1, depth=2, width=(512,), batch_size=0, epochs=2, record_epochs=2),
             "n_samples", 50, 20000),
        push("rows: 48 models, 3 x 32, 500 samples, 100 epochs (recorded epochs pushed)",
             dict(n_samples=500, schemes=twelve, seeds=4, depth=3, width=(32,), epochs=100), "record_epochs", 2, 51),
    ]
    return [f for f in fams if f]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--skip-largest", action="store_true", help="skip the largest-admitted-configuration runs")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "run.md"))
    args = ap.parse_args(argv)
    if args.worker:
        name, *rest = args.worker
        res = WORKERS[name](*rest)
        res["rss_mb"] = peak_rss_mb()
        print(json.dumps(res))
        return 0

    started = time.perf_counter()
    info = machine()
    print(f"initlab bench  {info['date']}  {info.get('cpu')}  {info['cpus']} cpus  numpy {info['numpy']}  "
          f"BLAS {info['blas']}  [{info['openblas_env']}]  load {info.get('load')}", flush=True)
    rows = []  # (job, what, seconds, ratio text, rss)

    def show(job, what, r, note=""):
        rows.append((job, what, r, note))
        print(f"  {job:<4} {what:<52} {r['seconds']:9.3f} s  {r.get('rss_mb', float('nan')):7.0f} MB  {note}",
              flush=True)

    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        print("  (torch not installed: pip install -r bench/requirements.txt; PyTorch columns skipped)")

    def torch_threads(job):
        """PyTorch at its better thread count on this machine (one model each way), then all models with it."""
        one = {t: work(f"torch_{job}_one", t)["seconds"] for t in (0, 1)}
        return 0 if one[0] <= one[1] else 1, one

    results = {}
    for job in ("j1", "j2"):
        J = job.upper()
        # the same job as the others (training; loss evaluated at the first and last epoch only) ...
        ours = work(f"ours_{job}_train")
        show(J, f"initlab stacked trainer, training ({ours['models']} models, no probes)", ours,
             f"{ours['gflop'] / ours['seconds']:.1f} GFLOP/s")
        # ... and as the dashboard runs it: train and test loss/accuracy after every epoch
        dash = work(f"ours_{job}")
        show(J, "initlab, plus train+test loss/accuracy every epoch (as the dashboard)", dash,
             f"{dash['gflop'] / dash['seconds']:.1f} GFLOP/s")
        if have_torch:
            thr, one = torch_threads(job)
            tr = work(f"torch_{job}", thr)
            show(J, f"PyTorch {tr['torch']}, one model after another ({tr['threads']} threads)", tr,
                 f"ours (training) {tr['seconds'] / ours['seconds']:.1f}x faster  (1-model trial: default "
                 f"threads {one[0]:.2f} s, 1 thread {one[1]:.2f} s)")
            te = work(f"torch_{job}_eval", thr)
            show(J, "PyTorch, plus train+test loss/accuracy every epoch (no_grad)", te,
                 f"ours (every epoch) {te['seconds'] / dash['seconds']:.1f}x faster")
            results[f"torch_{job}"], results[f"torch_{job}_eval"] = tr, te
        sk = work(f"sklearn_{job}")
        show(J, f"scikit-learn {sk['sklearn']} MLPClassifier, one fit per model", sk,
             f"ours (training) {sk['seconds'] / ours['seconds']:.1f}x faster, "
             f"(every epoch) {sk['seconds'] / dash['seconds']:.1f}x")
        results[f"ours_{job}"], results[f"ours_{job}_train"], results[f"sklearn_{job}"] = dash, ours, sk

    # J1 as a new user meets it: core.run (every frame, probes at 2 epochs) against 12 MLPClassifier fits
    api = work("api_j1")
    show("J1", f"initlab public API: core.run, {api['models']} models, all frames (median of 3)", api,
         f"first call {api['first']:.3f} s")
    sk = work("sklearn_j1_api")
    show("J1", f"scikit-learn {sk['sklearn']} MLPClassifier, the same {api['models']} models", sk,
         f"core.run {sk['seconds'] / api['seconds']:.1f}x faster (first call {sk['seconds'] / api['first']:.1f}x)")

    print("  BLAS: the trainer's matmuls of one step alone (same shapes, same calls) vs the whole trainer", flush=True)
    blas_rows = []
    for label, ours_key, blas_key in (("J1 (width 64, batch 32)", "ours_j1_train", "blas_j1"),
                                      ("J2 (width 64, full batch)", "ours_j2_train", "blas_j2"),
                                      ("J2 at width 256 (full batch, 30 epochs)", "ours_j2_w256", "blas_j2_w256")):
        o = results.get(ours_key) or work(ours_key)
        results[ours_key] = o
        b = work(blas_key)
        achieved = o["gflop"] / o["seconds"]
        blas_rows.append((label, b["gflops"], achieved, achieved / b["gflops"], b["square"]))
        how = (f"whole stack, BLAS threads {b['whole_gflops']:.0f}; "
               + (f"{b['groups']} worker groups at once {b['split_gflops']:.0f}" if "split_gflops" in b
                  else "no worker groups"))
        print(f"  {label:<32} BLAS {b['gflops']:7.1f} GFLOP/s  trainer {achieved:7.1f} GFLOP/s  "
              f"share {100 * achieved / b['gflops']:5.1f}%   ({how}; square sgemm 256: {b['square']['256']:.0f}, "
              f"1024: {b['square']['1024']:.0f} GFLOP/s)", flush=True)
    show("J2", "initlab, width 256, full batch, 30 epochs", results["ours_j2_w256"],
         f"{results['ours_j2_w256']['gflop'] / results['ours_j2_w256']['seconds']:.1f} GFLOP/s")

    j3 = work("j3")
    show("J3", "ExperimentConfig() end to end, all probes (median of 3)", j3,
         f"first call {j3['first']:.3f} s; peak RSS of the whole process")
    sp = work("j3_split")
    over = sp["overhead"]
    q1, q3 = sp["overhead_quartiles"]
    show("J3", f"training alone (core.nn.trainer.train, no probes; median of {J3_PAIRS})",
         {"seconds": sp["alone"], "rss_mb": sp["rss_mb"]})
    show("J3", f"training with probes (median of {J3_PAIRS}, each run right after one alone)",
         {"seconds": sp["probed"], "rss_mb": sp["rss_mb"]},
         f"probes add {100 * over:.0f}% (median of the {J3_PAIRS} pairs' ratios; quartiles {100 * q1:.0f}%, "
         f"{100 * q3:.0f}%)")

    g = work("growth")
    print("  growth (8 models, 3 x 64 tanh, 800 train, batch 32, 4 epochs; one thing varies):")
    growth_rows = []
    for name, s in g.items():
        if name == "rss_mb":
            continue
        e_all, e_tail = exponent(s["x"], s["seconds"]), exponent(s["x"], s["seconds"], tail=3)
        growth_rows.append((name, s, e_all, e_tail))
        pts = ", ".join(f"{x}: {t:.2f}s" for x, t in zip(s["x"], s["seconds"]))
        print(f"    {name:<8} exponent {e_all:.2f} (last 3 points {e_tail:.2f})   {pts}", flush=True)

    largest = []
    if not args.skip_largest:
        print("  largest configurations the budget admits (core.experiment.run, budget enforced):", flush=True)
        for label, query in largest_candidates():
            r = work("run", query)
            largest.append((label, query, r))
            print(f"    {label}: {r['seconds']:.1f} s, peak RSS {r['rss_mb']:.0f} MB  "
                  f"(estimate {r['gflop_est']:.0f} GFLOP, {r['rows_est']:,} rows, {r['mem_mb_est']:.0f} MB, "
                  f"{r['layer_steps_est']:,} layer-steps)\n      {query}", flush=True)

    total = time.perf_counter() - started
    print(f"bench finished in {total:.0f} s")
    command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
    write_results(Path(args.out), info, rows, blas_rows, growth_rows, largest, results, total, command)
    print(f"wrote {args.out}")
    return 0


def write_results(path, info, rows, blas_rows, growth_rows, largest, results, total, command="python -m bench"):
    from core.runtime import budget
    L = ["# python -m bench: J1, J2, J3, growth, largest admitted configurations (bench/run.py)", "",
         f"Produced by `{command}` on {info['date']}: {info.get('cpu')}, {info['cpus']} CPUs, "
         f"Python {info['python']}, numpy {info['numpy']}, BLAS {info['blas']}; {info['openblas_env']}; "
         f"load average at start {info.get('load')}. Whole run: {total:.0f} s. Times are wall-clock seconds; "
         "memory is each job's own subprocess peak RSS plus the peak RSS of each training worker process it used "
         "(an upper bound: their peaks need not coincide, and shared library pages count in each).", "",
         "J1/J2 time this project's `core.nn.trainer.train` without probes twice: training (loss and accuracy "
         "evaluated at the first and last epoch only, `TrainSettings(curve_points=1)`), the same job as the "
         "others, and as the dashboard runs it (train and test loss/accuracy after every epoch). PyTorch trains "
         "the models one after another (`nn.Sequential`, `torch.optim.SGD`, the same shuffled batches) at its "
         "faster thread count on this machine, also once with the same per-epoch evaluation under `no_grad`; "
         "scikit-learn fits one `MLPClassifier` per model (sgd, momentum 0, alpha 0, all epochs run).", "",
         "| job | what | seconds | peak RSS MB | note |", "| --- | --- | ---: | ---: | --- |"]
    for job, what, r, note in rows:
        L.append(f"| {job} | {what} | {r['seconds']:.3f} | {r.get('rss_mb', float('nan')):.0f} | {note} |")
    L += ["", "## Matmul share of the machine's BLAS throughput", "",
          "BLAS = the matmuls of one training step run alone (same shapes, same batched calls): the larger of the "
          "whole stack in one process with BLAS's own threads (best of 5) and the trainer's split of the stack, "
          "one group per worker process with single-threaded BLAS, all groups at once (best of 3 rounds of 1 s); "
          "trainer = matmul FLOPs of training and evaluation / the trainer's wall time.", "",
          "| job | BLAS GFLOP/s | trainer GFLOP/s | share | square sgemm 256 / 1024 |",
          "| --- | ---: | ---: | ---: | --- |"]
    for label, b, a, share, sq in blas_rows:
        L.append(f"| {label} | {b:.1f} | {a:.1f} | {100 * share:.0f}% | {sq['256']:.0f} / {sq['1024']:.0f} |")
    L += ["", "## Growth (8 models, 3 x 64 tanh, 800 train samples, batch 32, 4 epochs; one thing varies)", "",
          "| varies | exponent (all points) | exponent (last 3) | seconds |", "| --- | ---: | ---: | --- |"]
    for name, s, e_all, e_tail in growth_rows:
        pts = ", ".join(f"{x}: {t:.2f}" for x, t in zip(s["x"], s["seconds"]))
        L.append(f"| {name} | {e_all:.2f} | {e_tail:.2f} | {pts} |")
    if largest:
        lim = budget.PUBLIC
        L += ["", f"## Largest configurations the budget admits (estimated {lim.seconds:g} s, {lim.memory_mb:g} MB, "
              f"{lim.frame_rows:,} rows)", "",
              "| family | seconds | peak RSS MB | estimate | link query |", "| --- | ---: | ---: | --- | --- |"]
        for label, query, r in largest:
            L.append(f"| {label} | {r['seconds']:.1f} | {r['rss_mb']:.0f} | {r['gflop_est']:.0f} GFLOP, "
                     f"{r['rows_est']:,} rows, {r['mem_mb_est']:.0f} MB, {r['layer_steps_est']:,} layer-steps | "
                     f"`{query}` |")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(L) + "\n")


if __name__ == "__main__":
    sys.exit(main())
