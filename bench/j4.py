"""J4: a scale x depth sweep, on loky and on Dask, against PyTorch training the same models one after another.

    pip install -r requirements-dev.txt -r bench/requirements.txt
    python -m bench.j4                      # all of J4; writes its section of bench/RESULTS.md
    python -m bench.j4 --torch-sample 2     # PyTorch on 2 of the 36 models of each (activation, depth), scaled

The grid: 12 sigma_w (0.5 ... 2.7) x 8 depths (1 ... 30), 3 seeds, width 32, moons 500 samples (400 train),
20 epochs, SGD lr 0.1, batch 32, relu and tanh: two sweeps of 8 tasks, 576 models. initlab runs them with
``core.sweeps.sweep.run_sweep`` (train and test loss/accuracy every epoch, probes at epoch 0 and the last, the sweep
frame) on loky with one process per CPU, then on a Dask LocalCluster of as many single-threaded processes.
PyTorch trains the same models (he_normal with gain sigma_w, zero biases) one after another with the same
batches and the same per-epoch evaluation under no_grad, at its faster thread count for one model (as
bench/run.py does for J1). A PyTorch model's time depends on its activation and depth only, so
``--torch-sample K`` times K models of each (activation, depth) and scales the sum by 36 / K.

Each measured job runs in its own subprocess; its peak memory is the largest sum of the resident memory of
that process and all its children (loky's or Dask's worker processes), sampled every 50 ms. Growth: sweeps
of 1, 2, 4, 8 and 16 equal tasks (12 sigma_w x as many learning rates, depth 10) on loky; the exponent of time
against tasks over the last three points. loky, Dask and PyTorch run in turns, ``--repeats`` times, and the
medians are compared; then Dask once without each of the sweep's Dask settings (core.sweeps.sweep.CLUSTER_CONFIG).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

SIGMAS = ",".join(f"{0.5 + 0.2 * i:.1f}" for i in range(12))
DEPTHS = "1,2,4,6,10,15,22,30"
BASE = dict(dataset="moons", n_samples=500, schemes=("he_normal",), seeds=3, width=(32,), epochs=20, lr=0.1,
            batch_size=32)
ACTIVATIONS = ("relu", "tanh")
GROWTH_TASKS = (1, 2, 4, 8, 16)
RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- J4 start: written by python -m bench.j4 -->", "<!-- J4 end -->"


def sweeps(sigmas: str = SIGMAS, depths: str = DEPTHS):
    from core.config import ExperimentConfig
    from core.sweeps.sweep import SweepConfig
    return [SweepConfig(ExperimentConfig(**BASE, activation=a), (("sigma_w", sigmas), ("depth", depths)))
            for a in ACTIVATIONS]


def warm_up(**backend):
    """Start the backend's processes (and their imports) on a tiny sweep, as a server that has run one has."""
    from core.sweeps.sweep import run_sweep
    tiny = sweeps("1", "1")[0]
    tiny = type(tiny)(tiny.base, (("sigma_w", "1,1.1"), ("depth", "1,2")))
    run_sweep(tiny, **backend)


def time_sweeps(**backend) -> tuple[float, list]:
    from core.sweeps.sweep import run_sweep
    t = time.perf_counter()
    frames = [run_sweep(s, **backend).frame for s in sweeps()]
    return time.perf_counter() - t, frames


def cpu_seconds() -> float:
    """User and system CPU seconds of this process and its children alive now (the workers, started before).
    Steadier than wall time on a machine whose speed drifts: it counts the work done, not the waiting."""
    import psutil
    total = 0.0
    for p in [psutil.Process()] + psutil.Process().children(recursive=True):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def job_initlab(backend: str, warm: str, without: str = "") -> dict:
    """J4 on ``backend``; ``warm``: its processes started before the timed sweeps, or ``cold``. ``without``:
    a key of core.sweeps.sweep.CLUSTER_CONFIG the Dask cluster runs without (Dask's default instead)."""
    from core.runtime.blas import cpu_count
    n = cpu_count()

    def measured(**backend) -> dict:
        cpu = cpu_seconds()
        seconds, frames = time_sweeps(**backend)
        return {"seconds": seconds, "cpu": cpu_seconds() - cpu, "workers": n,
                "frames": [f.to_csv(index=False) for f in frames]}

    if backend == "loky":
        if warm == "warm":
            warm_up(workers=n)
        return measured(workers=n)
    if warm == "cold":  # run_sweep starts its own LocalCluster, and closes it
        return measured(backend="dask", workers=n)
    from core.sweeps.sweep import CLUSTER_CONFIG, local_cluster
    with local_cluster(n, {k: v for k, v in CLUSTER_CONFIG.items() if k != without}) as cluster:
        warm_up(backend="dask", scheduler=cluster.scheduler_address)
        return measured(backend="dask", scheduler=cluster.scheduler_address)


def job_growth() -> dict:
    from core.runtime.blas import cpu_count
    from core.config import ExperimentConfig
    from core.sweeps.sweep import SweepConfig, run_sweep
    warm_up(workers=cpu_count())
    base = ExperimentConfig(**{**BASE, "seeds": 1}, activation="relu", depth=10)
    out = []
    for n in GROWTH_TASKS:
        lrs = ",".join(f"{0.05 + 0.001 * i:.3f}" for i in range(n))  # equal tasks: the cost does not depend on lr
        s = SweepConfig(base, (("sigma_w", SIGMAS), ("lr", lrs)))
        t = time.perf_counter()
        run_sweep(s, workers=cpu_count())
        out.append(time.perf_counter() - t)
    return {"tasks": list(GROWTH_TASKS), "seconds": out}


def torch_models(sample: int):
    """(activation, depth, sigma_w, seed) of the models PyTorch trains: ``sample`` of the 36 of each
    (activation, depth), spread over sigma_w and seeds."""
    sigmas = [float(s) for s in SIGMAS.split(",")]
    grid = [(s, seed) for s in sigmas for seed in range(BASE["seeds"])]
    pick = [grid[i] for i in np.linspace(0, len(grid) - 1, sample).round().astype(int)]
    return [(a, int(d), s, seed) for a in ACTIVATIONS for d in DEPTHS.split(",") for s, seed in pick]


def job_torch(threads: int, sample: int, evaluate: bool = True) -> dict:
    import torch

    from bench.run import batches
    from core import experiment
    from core.config import ExperimentConfig
    if threads:
        torch.set_num_threads(threads)
    data = experiment.load_data(ExperimentConfig(**BASE))
    X, y = torch.from_numpy(np.asarray(data.X_train, np.float32)), torch.from_numpy(np.asarray(data.y_train, np.int64))
    Xt, yt = torch.from_numpy(np.asarray(data.X_test, np.float32)), torch.from_numpy(np.asarray(data.y_test, np.int64))
    order = [[torch.from_numpy(i) for i in ep] for ep in batches(len(X), BASE["batch_size"], BASE["epochs"])]
    layer_act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}
    loss_fn = torch.nn.CrossEntropyLoss()
    models = torch_models(sample)
    t = time.perf_counter()
    for activation, depth, sigma, seed in models:
        torch.manual_seed(seed)
        sizes = [2] + [BASE["width"][0]] * depth + [2]
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            lin = torch.nn.Linear(a, b)
            torch.nn.init.normal_(lin.weight, std=sigma / math.sqrt(a))  # he_normal with gain sigma_w, fan_in
            torch.nn.init.zeros_(lin.bias)
            layers.append(lin)
            if i < len(sizes) - 2:
                layers.append(layer_act[activation]())
        net = torch.nn.Sequential(*layers)
        opt = torch.optim.SGD(net.parameters(), lr=BASE["lr"])
        curve = []

        def evaluate_now():
            with torch.no_grad():
                for Xs, ys in ((X, y), (Xt, yt)):
                    out = net(Xs)
                    curve.append((loss_fn(out, ys).item(), (out.argmax(1) == ys).float().mean().item()))

        if evaluate:
            evaluate_now()
        for ep in order:
            for idx in ep:
                opt.zero_grad()
                loss = loss_fn(net(X[idx]), y[idx])
                loss.backward()
                opt.step()
            if evaluate:
                evaluate_now()
    seconds = time.perf_counter() - t
    per_combo = len(models) // (len(ACTIVATIONS) * len(DEPTHS.split(",")))
    return {"seconds": seconds, "models": len(models), "scaled_seconds": seconds * 36 / per_combo,
            "threads": torch.get_num_threads(), "torch": torch.__version__}


WORKERS = {
    "loky_warm": lambda: job_initlab("loky", "warm"),
    "loky_cold": lambda: job_initlab("loky", "cold"),
    "dask_warm": lambda: job_initlab("dask", "warm"),
    "dask_cold": lambda: job_initlab("dask", "cold"),
    "dask_without": lambda key: job_initlab("dask", "warm", key),
    "growth": job_growth,
    "torch": lambda threads, sample, evaluate="1": job_torch(int(threads), int(sample), evaluate == "1"),
}


# ----------------------------------------------------------------------------- driver
def work(name: str, *args) -> dict:
    """Run one job in a fresh subprocess; its JSON answer plus the peak memory of it and its children."""
    from bench.serve import PeakRSS
    proc = subprocess.Popen([sys.executable, "-m", "bench.j4", "--worker", name, *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with PeakRSS(proc.pid) as peak:
        out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{err[-3000:]}")
    res = json.loads(out.strip().splitlines()[-1])
    res["peak_mb"] = peak.peak / 1e6
    return res


def median_run(runs: list[dict]) -> dict:
    """The run of median time (the lower middle one of an even count)."""
    return sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]


def listed(runs: list[dict], what: str = "seconds") -> str:
    return ", ".join(f"{r[what]:.2f}" for r in runs)


def load() -> str:
    return "%.1f %.1f %.1f" % os.getloadavg()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--torch-sample", type=int, default=36,
                    help="PyTorch models timed per (activation, depth), of 36; the sum is scaled by 36 / this")
    ap.add_argument("--repeats", type=int, default=3,
                    help="loky and Dask sweeps and the PyTorch models timed in turns, this many times")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if args.worker:
        name, *rest = args.worker
        print(json.dumps(WORKERS[name](*rest)))
        return 0
    if not 1 <= args.torch_sample <= 36:
        ap.error("--torch-sample: from 1 to 36")
    if args.repeats < 1:
        ap.error("--repeats: from 1")

    import platform

    from bench.run import exponent, machine
    info = machine()
    started, load_start = time.perf_counter(), load()
    print(f"J4  {info['date']}  {info.get('cpu')}  {info['cpus']} cpus  load {load_start}", flush=True)
    rows = []

    def show(what, r, note=""):
        rows.append((what, r, note))
        print(f"  {what:<62} {r['seconds']:8.2f} s  {r['peak_mb']:6.0f} MB  {note}", flush=True)

    one = {t: work("torch", t, 1)["seconds"] for t in (0, 1)}
    threads = 0 if one[0] <= one[1] else 1
    # loky, Dask and PyTorch in turns, --repeats times, the median of each: this machine's speed drifts by a
    # tenth or more from one minute to the next, more than the differences being measured
    lokys, dasks, torches = [], [], []
    for _ in range(args.repeats):
        lokys.append(work("loky_warm"))
        dasks.append(work("dask_warm"))
        torches.append(work("torch", threads, args.torch_sample))
        torches[-1]["seconds"] = torches[-1]["scaled_seconds"]
    loky, dask = median_run(lokys), median_run(dasks)
    ratios = sorted(d["seconds"] / k["seconds"] for k, d in zip(lokys, dasks))
    show(f"initlab, loky, {loky['workers']} processes (started before)", loky,
         f"576 models, 16 tasks; median of {args.repeats}: {listed(lokys)}; CPU {listed(lokys, 'cpu')} s")
    cold = work("loky_cold")
    show("initlab, loky, first sweep of the process (starting its workers)", cold)
    same = all(r["frames"] == loky["frames"] for r in lokys + dasks + [cold])
    show(f"initlab, Dask LocalCluster of {dask['workers']} processes (started before)", dask,
         f"median of {args.repeats}: {listed(dasks)}; CPU {listed(dasks, 'cpu')} s; "
         f"{dask['seconds'] / loky['seconds']:.2f}x loky's median (the turns' own ratios: "
         f"{', '.join(f'{r:.2f}' for r in ratios)}); frames {'identical' if same else 'DIFFER'}")
    dask_cold = work("dask_cold")
    same = same and dask_cold["frames"] == loky["frames"]
    show("initlab, Dask, LocalCluster started and closed by run_sweep", dask_cold,
         f"{dask_cold['seconds'] / cold['seconds']:.2f}x loky's first sweep")
    from core.sweeps.sweep import CLUSTER_CONFIG
    for key in CLUSTER_CONFIG:  # what each of the sweep's Dask settings is worth
        r = work("dask_without", key)
        same = same and r["frames"] == loky["frames"]
        show(f"initlab, Dask LocalCluster (started before), Dask's default for `{key}`", r,
             f"one run: {r['seconds'] / dask['seconds']:.2f}x the time and "
             f"{r['cpu'] / statistics.median(d['cpu'] for d in dasks):.2f}x the CPU of the runs with the setting")
    tr = median_run(torches)
    sampled = "" if args.torch_sample == 36 else f", scaled from {tr['models']} of the 576 models"
    speedups = sorted(t["seconds"] / k["seconds"] for k, t in zip(lokys, torches))
    show(f"PyTorch {tr['torch']}, one model after another ({tr['threads']} threads){sampled}", tr,
         f"median of {args.repeats}, in turns with loky and Dask: {listed(torches)}; initlab (loky) "
         f"{tr['seconds'] / loky['seconds']:.1f}x faster on the medians (the turns' own ratios: "
         f"{', '.join(f'{r:.1f}' for r in speedups)})")
    g = work("growth")
    e_all, e_tail = exponent(g["tasks"], g["seconds"]), exponent(g["tasks"], g["seconds"], tail=3)
    print(f"  growth: tasks {g['tasks']}: " + ", ".join(f"{t:.2f}s" for t in g["seconds"])
          + f"; exponent {e_all:.2f} (last 3: {e_tail:.2f})", flush=True)
    total, load_end = time.perf_counter() - started, load()
    section = [START, "## J4: scale x depth sweep (bench/j4.py)", "",
               f"Produced by `python -m bench.j4{'' if args.torch_sample == 36 else f' --torch-sample {args.torch_sample}'}"
               f"{'' if args.repeats == 3 else f' --repeats {args.repeats}'}` "
               f"on {info['date']}: {info.get('cpu')}, {info['cpus']} CPUs, Python {platform.python_version()}, "
               f"numpy {info['numpy']}, BLAS {info['blas']}; load average {load_start} at the start, {load_end} at "
               f"the end. Whole run: {total:.0f} s. Memory: the largest sum of the resident memory of the job's "
               "process and all its children (the worker processes), sampled every 50 ms.", "",
               "The grid: 12 sigma_w (0.5 ... 2.7) x 8 depths (1, 2, 4, 6, 10, 15, 22, 30), 3 seeds, width 32, moons "
               "500, 20 epochs, SGD lr 0.1, batch 32, relu and tanh (576 models, 16 tasks), with train and test "
               "loss/accuracy every epoch on both sides. PyTorch: the same models and batches, one after another, "
               f"at its faster thread count for one model (default threads {one[0]:.2f} s, 1 thread {one[1]:.2f} s)."
               f" The loky and Dask frames are {'bit-identical' if same else 'NOT identical'}.", "",
               "| job | what | seconds | peak MB, all processes | note |", "| --- | --- | ---: | ---: | --- |"]
    for what, r, note in rows:
        section.append(f"| J4 | {what} | {r['seconds']:.2f} | {r['peak_mb']:.0f} | {note} |")
    section += ["", "Growth (relu, depth 10, 12 sigma_w x n learning rates: n equal tasks, loky): "
                + ", ".join(f"{n} tasks {t:.2f} s" for n, t in zip(g["tasks"], g["seconds"]))
                + f"; exponent {e_all:.2f} over all points, {e_tail:.2f} over the last three.", END]
    write_section(args.out, "\n".join(section))
    print(f"wrote the J4 section of {args.out}")
    return 0


def write_section(path: Path, section: str, start: str = START, end: str = END) -> None:
    """Replace the section of RESULTS.md between the markers ``start`` and ``end`` (J4's by default), or add it
    at the end."""
    text = path.read_text() if path.exists() else "# Bench results\n"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    sys.exit(main())
