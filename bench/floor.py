"""How fast a NumPy trainer could run J4 and J1 on this machine: their unavoidable NumPy calls, timed alone.

    pip install -r requirements-dev.txt -r bench/requirements.txt
    python -m bench.floor                   # prints the tables; --write puts them in bench/RESULTS.md

A job's *floor* is the CPU time, on one core, of the NumPy calls that no NumPy trainer of these models can
skip, with the job's own shapes and counts: for every layer at every step, the forward product and the
activation, and the two backward products (dLoss/da, dLoss/dW); for every curve point, the forward product
and the activation over each split. Everything else the trainer does (bias adds, the activation's
derivative, the loss, the optimizer, the divergence guard, the probes, the frames, Python itself) is
*overhead* above the floor.

In the same run, in turns: each J4 task's own CPU time (``core.sweeps.sweep_task.run_task``, one core, as a sweep's
worker runs it) next to its floor; PyTorch on a sample of J4's models (bench/j4.py's ``job_torch``); J1
through the API (``core.run``, bench/run.py's ``job_api``) and scikit-learn's fits of the same 12 models. The
*ceiling* of a ratio is the one the job would reach with no overhead at all and its work split evenly over
every core: the reference's seconds over (floor / cores).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- floor start: written by python -m bench.floor -->", "<!-- floor end -->"


def floor_seconds(cfg, seed: int = 0) -> float:
    """One-core CPU seconds of the unavoidable calls of training the models of ``cfg`` (an ExperimentConfig,
    float32, minibatches, train and test loss/accuracy at every epoch) stacked, as the trainer does."""
    from core.runtime import blas
    from core.experiment import load_data
    from core.nn.activations import ACTIVATIONS
    from core.nn.trainer import curve_epochs
    data = load_data(cfg)
    sizes = (data.n_features, *cfg.widths, data.n_outputs)
    k, n_train, n_test = len(cfg.models), len(data.X_train), len(data.X_test)
    batch, epochs, curve_points = cfg.batch_size, cfg.epochs, len(curve_epochs(cfg.epochs))
    rng = np.random.default_rng(seed)
    forward = ACTIVATIONS[cfg.activation].forward
    Ws = [(rng.standard_normal((k, a, b)) / np.sqrt(a)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
    gWs = [np.empty_like(W) for W in Ws]
    batches = {batch: n_train // batch}
    if n_train % batch:
        batches[n_train % batch] = 1
    with blas.single_threaded():
        t = time.process_time()
        for n, count in batches.items():
            X = rng.standard_normal((n, sizes[0])).astype(np.float32)
            zs = [np.empty((k, n, b), np.float32) for b in sizes[1:]]
            acts = [np.empty((k, n, b), np.float32) for b in sizes[1:-1]]
            das = [np.empty((k, n, b), np.float32) for b in sizes[1:-1]]
            for _ in range(count * epochs):
                a = X
                for i, W in enumerate(Ws):
                    np.matmul(a, W, out=zs[i])
                    if i < len(acts):
                        a = forward(zs[i], acts[i])
                dz = zs[-1]
                for i in range(len(Ws) - 1, -1, -1):
                    np.matmul((acts[i - 1] if i else X).swapaxes(-1, -2), dz, out=gWs[i])
                    if i:
                        dz = np.matmul(dz, Ws[i].swapaxes(-1, -2), out=das[i - 1])
        for n in (n_train, n_test):
            X = rng.standard_normal((n, sizes[0])).astype(np.float32)
            zs = [np.empty((k, n, b), np.float32) for b in sizes[1:]]
            for _ in range(curve_points):
                a = X
                for i, W in enumerate(Ws):
                    a = np.matmul(a, W, out=zs[i])
                    if i < len(Ws) - 1:
                        forward(a, a)
        return time.process_time() - t


def j4() -> dict:
    """Every J4 task: its floor and its own one-core CPU time, in turns."""
    from bench.j4 import sweeps
    from core.runtime import blas
    from core.config import ExperimentConfig
    from core.sweeps.sweep_task import run_task
    tasks = [t for s in sweeps() for t in s.todo()]
    run_task(tasks[0].query)  # imports and first-call costs out of the way
    rows = []
    for task in tasks:
        cfg = ExperimentConfig.from_query(task.query)
        floor = floor_seconds(cfg)
        with blas.single_threaded():
            t = time.process_time()
            run_task(task.query)
            own = time.process_time() - t
        rows.append({"activation": cfg.activation, "depth": cfg.depth, "models": len(cfg.models), "floor": floor,
                     "own": own})
    return {"tasks": rows}


def j1() -> dict:
    """J1 through the API: core.run's wall time (median of 3 after a first call), its floor, scikit-learn."""
    from bench.run import J1_API, job_api, job_sklearn
    from core.config import ExperimentConfig
    api = job_api(J1_API)
    floor = floor_seconds(ExperimentConfig(**J1_API))
    sk = job_sklearn(J1_API)
    return {"api": api["seconds"], "api_first": api["first"], "models": api["models"], "floor": floor,
            "sklearn": sk["seconds"], "sklearn_version": sk["sklearn"]}


def section(info: dict, cores: int, j1r: dict, j4r: dict, torch: dict, sample: int, seconds: float) -> str:
    rows = j4r["tasks"]
    floor, own = sum(r["floor"] for r in rows), sum(r["own"] for r in rows)
    ref = torch["scaled_seconds"]
    lines = [
        START, "## How far NumPy can go: the floors of J4 and J1 (bench/floor.py)", "",
        f"Produced by `python -m bench.floor --write` on {info['date']}: {info.get('cpu', '?')}, {cores} CPUs, "
        f"Python {info['python']}, numpy {info['numpy']}, BLAS {info['blas']}; load average {info.get('load', '?')} "
        f"at the start. Whole run: {seconds:.0f} s. A job's floor is the one-core CPU time of the NumPy calls no "
        "NumPy trainer can skip (per layer and step: the forward product and the activation, the two backward "
        "products; per curve point: the forward product and the activation over each split), with the job's "
        "shapes and counts. The ceiling of a ratio is the reference's time over (floor / cores): the ratio with "
        "no overhead at all and the work split evenly over every core.", "",
        "| job | floor, one core (s) | own CPU, one core (s) | own / floor | reference (s) | ceiling | "
        "own CPU split over the cores |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| J4 (576 models, 16 tasks, `run_task` of each) | {floor:.2f} | {own:.2f} | {own / floor:.2f} | "
        f"PyTorch {ref:.1f} ({sample} of 36 models per task, scaled) | {ref / (floor / cores):.1f}x | "
        f"{ref / (own / cores):.1f}x |",
        f"| J1 through the API ({j1r['models']} models, `core.run`) | {j1r['floor']:.2f} | wall {j1r['api']:.2f} "
        f"(first call {j1r['api_first']:.2f}) | {j1r['api'] / (j1r['floor'] / cores):.2f} (wall over floor / cores) "
        f"| scikit-learn {j1r['sklearn_version']} {j1r['sklearn']:.2f} | "
        f"{j1r['sklearn'] / (j1r['floor'] / cores):.1f}x | measured {j1r['sklearn'] / j1r['api']:.1f}x |",
        "", "J4 by task (one core, seconds):", "",
        "| activation | depth | floor | own | own / floor |", "| --- | ---: | ---: | ---: | ---: |",
        *(f"| {r['activation']} | {r['depth']} | {r['floor']:.2f} | {r['own']:.2f} | {r['own'] / r['floor']:.2f} |"
          for r in rows),
        END]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--torch-sample", type=int, default=2, help="PyTorch models timed per J4 task, of 36")
    ap.add_argument("--write", action="store_true", help="write the tables into bench/RESULTS.md")
    args = ap.parse_args(argv)
    from bench.j4 import job_torch, write_section
    from bench.run import machine
    from core.runtime.blas import cpu_count
    info, cores, t0 = machine(), cpu_count(), time.perf_counter()
    j1r = j1()
    j4r = j4()
    torch = job_torch(1, args.torch_sample)  # last: PyTorch's threads setting stays in this process
    text = section(info, cores, j1r, j4r, torch, args.torch_sample, time.perf_counter() - t0)
    print(text)
    if args.write:
        write_section(RESULTS, text, START, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
