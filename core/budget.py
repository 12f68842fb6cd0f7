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
from .probes import GRID, KINDS, MAX_UNITS, N_BINS, PROBE_SIZE
from .trainer import MAX_CURVE_POINTS

MAX_GFLOP = 300.0  # training + evaluation + probes
MAX_FRAME_ROWS = 3_000_000  # rows of all probe frames together
MAX_PARAM_MB = 300.0  # parameters, gradients and optimizer state of all models


@dataclass(frozen=True)
class Estimate:
    models: int
    params_per_model: int
    n_train: int
    gflop: float
    frame_rows: int
    param_mb: float

    def describe(self) -> str:
        return (f"{self.models} models x {self.params_per_model:,} parameters, {self.n_train:,} training samples: "
                f"about {self.gflop:,.1f} GFLOP (limit {MAX_GFLOP:,.0f}), {self.frame_rows:,} result rows "
                f"(limit {MAX_FRAME_ROWS:,}), {self.param_mb:,.0f} MB of parameters and optimizer state "
                f"(limit {MAX_PARAM_MB:,.0f})")


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
    param_mb = k * params * 6 * (4 if config.dtype == "float32" else 8) / 1e6
    return Estimate(k, params, n_train, gflop, frame_rows, param_mb)


def check(config) -> Estimate:
    e = estimate(config)
    if e.gflop > MAX_GFLOP or e.frame_rows > MAX_FRAME_ROWS or e.param_mb > MAX_PARAM_MB:
        raise ValueError(f"work: this configuration is too large for this server: {e.describe()}. "
                         "Fewer seeds, schemes, epochs, samples or a smaller network bring it under the limit.")
    return e
