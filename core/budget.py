"""How much work a configuration asks for, and the limit a public server accepts.

A shared link is untrusted input: before anything trains, ``estimate`` counts
the floating-point operations of training, evaluation and probes, the rows
the probes will produce and the bytes the parameters need, and ``check``
refuses a configuration past any limit with the estimate and the limit.
The limits were set from bench/ measurements on a 2-core machine so that the
largest admitted configuration finishes in under a minute in under 1.5 GB.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from . import datasets
from .probes import GRID, KINDS, MAX_UNITS, N_BINS, PROBE_SIZE, ProbeSession
from .trainer import EVAL_CHUNK, MAX_CURVE_POINTS

# Set from bench/ (python -m bench, "largest admitted") on a 2-core machine: the slowest families run at
# about 10 GFLOP/s (many small models) and 40 us per layer-step, so each limit alone stays near 30 s,
# half the 60 s allowed; 3 M frame rows take about 450 MB in pandas.
MAX_GFLOP = 300.0  # training + evaluation + probes
MAX_FRAME_ROWS = 3_000_000  # rows of all probe frames together
MAX_PARAM_MB = 600.0  # parameters, gradients, optimizer state and activation buffers of all models
# Every layer of every optimizer step (and of every evaluation chunk) costs a fixed handful of NumPy calls
# plus one small BLAS call per model, whatever the FLOPs: a tiny network with batch 1 on 16,000 samples is
# slow for that reason alone. Counted as layers x steps x (1 + models / MODELS_PER_STEP_UNIT).
MAX_LAYER_STEPS = 600_000
MODELS_PER_STEP_UNIT = 16
PARAM_COPIES = 12  # (K, P) arrays alive during a run: weights, grads, scratch, state, checkpoints, results


@dataclass(frozen=True)
class Estimate:
    models: int
    params_per_model: int
    n_train: int
    gflop: float
    frame_rows: int
    param_mb: float
    layer_steps: int = 0

    def describe(self) -> str:
        return (f"{self.models} models x {self.params_per_model:,} parameters, {self.n_train:,} training samples: "
                f"about {self.gflop:,.1f} GFLOP (limit {MAX_GFLOP:,.0f}), {self.frame_rows:,} result rows "
                f"(limit {MAX_FRAME_ROWS:,}), {self.param_mb:,.0f} MB of parameters, optimizer state and "
                f"activations (limit {MAX_PARAM_MB:,.0f}), {self.layer_steps:,} layer-steps "
                f"(limit {MAX_LAYER_STEPS:,})")


def sizes(config) -> tuple[int, ...]:
    _, n_in, n_out = datasets.get(config.dataset).dims(config.n_samples, config.features, config.classes)
    return (n_in, *config.widths, n_out)


def estimate(config) -> Estimate:
    s = sizes(config)
    weights = sum(a * b for a, b in zip(s[:-1], s[1:]))
    params = weights + sum(s[1:])
    k = len(config.models)
    n = datasets.get(config.dataset).dims(config.n_samples, config.features, config.classes)[0]
    n_train = n - math.ceil(n * config.test_size)
    curve_points = min(config.epochs, MAX_CURVE_POINTS) + 1
    rec = min(config.record_epochs, config.epochs + 1)
    layers = len(s) - 1
    train = 6.0 * weights * n_train * config.epochs
    evaluation = 2.0 * weights * n * curve_points
    units = [min(w, MAX_UNITS) for w in s[1:]]
    probe = rec * (6.0 * weights * min(PROBE_SIZE, n_train)
                   + sum(3.0 * u * u * (fi + 1) for u, fi in zip(units, s[:-1]))
                   + (2.0 * weights * GRID * GRID if s[0] == 2 else 0.0))
    gflop = k * (train + evaluation + probe) / 1e9
    rows_per_record = layers * (len(KINDS) * (N_BINS + 1) + 3) + sum(u * u for u in units) + GRID * GRID
    frame_rows = k * rec * rows_per_record
    item = 4 if config.dtype == "float32" else 8
    batch = n_train if config.batch_size in (0, None) or config.batch_size >= n_train else config.batch_size
    hidden = s[1:-1]
    # training buffers per batch size (z and a per layer, two ping-pong deltas, the batch; a shorter last
    # batch gets its own set), the evaluator's two chunks, the probe batch's values in float64, the grid's
    # two chunk buffers and its classes and probabilities, the initial weights in float64
    sets = 1 if n_train % batch == 0 else 2
    per_sample = 2 * sum(hidden) + s[-1] + 2 * max(hidden, default=0) + s[0]
    activations = sets * k * batch * per_sample * item
    evaluation = 2 * min(EVAL_CHUNK, k * min(n, max(1, EVAL_CHUNK // max(1, k * max(s)))) * max(s)) * item
    grid_chunk = min(GRID * GRID, ProbeSession.GRID_CHUNK)
    probes = k * (min(PROBE_SIZE, n_train) * (3 * sum(s[1:]) + 4 * max(s[1:])) * 8
                  + grid_chunk * 2 * (max(s) + 1) * item + GRID * GRID * (1 + item) + params * 8)
    param_mb = (k * params * PARAM_COPIES * item + activations + evaluation + probes) / 1e6
    steps = math.ceil(n_train / batch) * config.epochs
    chunks = math.ceil(n / max(1, min(n, EVAL_CHUNK // max(1, k * max(s))))) + 1
    layer_steps = math.ceil(layers * (steps + curve_points * chunks) * (1 + k / MODELS_PER_STEP_UNIT))
    return Estimate(k, params, n_train, gflop, frame_rows, param_mb, layer_steps)


def check(config) -> Estimate:
    e = estimate(config)
    if (e.gflop > MAX_GFLOP or e.frame_rows > MAX_FRAME_ROWS or e.param_mb > MAX_PARAM_MB
            or e.layer_steps > MAX_LAYER_STEPS):
        raise ValueError(f"work: this configuration is too large for this server: {e.describe()}. "
                         "Fewer seeds, schemes, epochs, samples or a smaller network bring it under the limit.")
    return e
