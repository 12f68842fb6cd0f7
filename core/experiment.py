"""run(config) -> Results: the one entry point the dashboard, the CLI and
notebooks share, so the same configuration gives the same numbers everywhere.

Initial weights: model (scheme, seed) draws layer l from
``default_rng([seed, l])``. Two schemes with the same seed therefore share
their random draw (normal:std=0.01 and normal:std=1 are exact multiples of
each other), and a model's weights never depend on which others are stacked
with it. Biases from the run's bias scheme come from a stream of their own,
``default_rng([seed, l, 1])``, so that choosing one changes no weight; the
default, zeros, draws nothing. A scheme with its own bias (torch_default)
draws it after its weights, from the weights' stream, as before.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from core.nn import activations, initializers, network
from core.runtime import blas, budget
from core import datasets
from core.measure import frames
from core.config import ExperimentConfig, parse_bias, parse_scheme
from core.runtime.control import Control
from core.measure.probes import GRID, Prober
from core.nn.trainer import TrainSettings, record_epochs, train

LSUV_SAMPLES = 512  # LSUV rescales each layer to unit variance on the first this-many training samples

__all__ = ["ExperimentConfig", "Results", "run", "at_initialization", "load_data", "initial_weights"]


@dataclass
class Results:
    config: ExperimentConfig
    data: datasets.Dataset
    layout: network.Layout
    initial: np.ndarray  # (K, P)
    final: np.ndarray  # (K, P)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    def _index(self, scheme: str, seed: int) -> int:
        try:
            return self.config.models.index((scheme, seed))
        except ValueError:
            raise ValueError(f"model: no model ({scheme!r}, seed {seed}); have {self.config.models}") from None

    def weights(self, scheme: str, seed: int, which: str = "final") -> list[tuple[np.ndarray, np.ndarray]]:
        """[(W (fan_in, fan_out), b (fan_out,))] per layer, first hidden layer first."""
        if which not in ("initial", "final"):
            raise ValueError(f"which: got {which!r}; allowed: initial, final")
        flat = (self.initial if which == "initial" else self.final)[self._index(scheme, seed)][None]
        return [(W[0].copy(), b[0, 0].copy()) for W, b in self.layout.views(flat)]

    def npz_bytes(self) -> bytes:
        """Every model's initial and final weights, keyed scheme|seed|which|layer|W-or-b."""
        arrays = {}
        for scheme, seed in self.config.models:
            for which in ("initial", "final"):
                for layer, (W, b) in enumerate(self.weights(scheme, seed, which), start=1):
                    arrays[f"{scheme}|seed={seed}|{which}|layer={layer}|W"] = W
                    arrays[f"{scheme}|seed={seed}|{which}|layer={layer}|b"] = b
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return buf.getvalue()


def load_data(config: ExperimentConfig) -> datasets.Dataset:
    return datasets.load(config.dataset, config.n_samples, config.noise, config.test_size,
                         config.data_seed, config.features, config.classes)


def initial_weights(config: ExperimentConfig, layout: network.Layout, data: datasets.Dataset) -> np.ndarray:
    """(K, P) initial parameters in the config's dtype, LSUV applied."""
    models = config.models
    flat = np.zeros((len(models), layout.n_params))
    bias_name, bias_params = parse_bias(config.bias)
    # One BLAS thread for the draws (orthogonal's QR factorizations): on a server whose cores train other runs, a
    # second BLAS thread mostly waits for a core and makes the factorization slower, not faster; on idle cores it
    # gains little (bench/results/init_threads.md). The factors are the same bits either way
    # (tests/test_core_initializers.py).
    with blas.single_threaded():
        for i, (label, seed) in enumerate(models):
            name, params = parse_scheme(label)
            for layer, (W, b) in enumerate(layout.views(flat[i:i + 1])):
                fan_in, fan_out = W.shape[1:]
                rng = np.random.default_rng([seed, layer])
                W[0] = initializers.sample(name, fan_in, fan_out, rng=rng, activation=config.activation, **params)
                if initializers.INITIALIZERS[name].bias is not None:
                    b[0, 0] = initializers.sample_bias(name, fan_in, fan_out, rng=rng)
                elif bias_name != "zeros":
                    b[0, 0] = initializers.sample_bias_init(
                        bias_name, fan_out, rng=np.random.default_rng([seed, layer, 1]), **bias_params)
    act = activations.get(config.activation)
    for label in config.schemes:
        name, params = parse_scheme(label)
        if initializers.INITIALIZERS[name].data_dependent:
            p = initializers.resolve_params(name, config.activation, **params)
            idx = [i for i, m in enumerate(models) if m[0] == label]
            sub = flat[idx]
            network.lsuv(layout.views(sub), data.X_train[:LSUV_SAMPLES], act, p["tol"], p["max_iter"])
            flat[idx] = sub
    return flat.astype(config.dtype)


def boundary_grid(data: datasets.Dataset) -> np.ndarray | None:
    if data.bounds is None:
        return None
    (x0, x1), (y0, y1) = data.bounds
    gx, gy = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID))
    return np.c_[gx.ravel(), gy.ravel()]


@dataclass
class Prepared:
    """Everything training a configuration needs, built the one way ``run`` builds it."""
    data: datasets.Dataset
    act: activations.Activation
    layout: network.Layout
    init: np.ndarray  # (K, P) initial weights of every model, LSUV applied
    grid: np.ndarray | None  # decision-boundary grid (2-D inputs only)
    prober: Prober
    settings: TrainSettings


def prepare(config: ExperimentConfig, progress: Callable[[int, int], None] | None = None,
            control: Control | None = None) -> Prepared:
    data = load_data(config)
    act = activations.get(config.activation)
    layout = network.Layout((data.n_features, *config.widths, data.n_outputs))
    init = initial_weights(config, layout, data)
    grid = boundary_grid(data)
    settings = TrainSettings(
        optimizer=config.optimizer, lr=config.lr, momentum=config.momentum, batch_size=config.batch_size,
        epochs=config.epochs, weight_decay=config.weight_decay,
        record_epochs=record_epochs(config.epochs, config.record_epochs),
        shuffle_seed=config.data_seed, progress=progress, control=control)
    return Prepared(data, act, layout, init, grid, Prober(data.X_train, data.y_train, act, data.task, grid, init.dtype),
                    settings)


def run(config: ExperimentConfig, progress: Callable[[int, int], None] | None = None,
        enforce_budget: bool = True, control: Control | None = None) -> Results:
    """Train ``config`` and build its frames. ``control`` (core.runtime.control) can stop or pause the run: training
    checks it at every step, and the frames are built only if it was not stopped meanwhile."""
    if not isinstance(config, ExperimentConfig):
        raise ValueError(f"config: got {type(config).__name__}; allowed: ExperimentConfig")
    if enforce_budget:
        budget.check(config)
    p = prepare(config, progress, control)
    data, layout, init, grid = p.data, p.layout, p.init, p.grid
    out = train(init, layout, data, p.act, p.settings, p.prober)
    if control is not None:
        control.check()
    models = config.models
    probed = record_frames(out.records, models, layout)
    fr = {
        "summary": frames.summary(out, models, probed["distinct_units"]),
        "curves": frames.curves(out, models),
        **probed,
        "data_points": frames.data_points(data),
    }
    if grid is not None:
        fr["boundaries"] = frames.boundaries(out.records, models, grid)
    return Results(config, data, layout, init, out.final, fr)


def record_frames(records, models, layout: network.Layout) -> dict[str, pd.DataFrame]:
    """The frames read off the probe records: layer_stats, histograms, gradient_norms, init_distances,
    unit_distances, distinct_units (``run``'s, in its order; ``at_initialization``'s)."""
    return {"layer_stats": frames.layer_stats(records, models),
            "histograms": frames.histograms(records, models),
            "gradient_norms": frames.gradient_norms(records, models),
            "init_distances": frames.init_distances(records, models),
            "unit_distances": frames.unit_distances(records, models),
            "distinct_units": frames.distinct_units(records, models, layout.sizes[1:])}


def at_initialization(config: ExperimentConfig, control: Control | None = None) -> Results:
    """``config``'s models drawn and probed once, nothing trained: ``run``'s epoch-0 frames (``record_frames``),
    the same numbers, for the cost of one record where ``run`` trains every epoch and probes each recorded one
    (and its decision-boundary grid). Its final weights are the initial ones. The theory and the claims about
    initialization read it, and the landing page's steps that show epoch 0."""
    p = prepare(config, control=control)
    # One BLAS thread, as for the draws: on idle cores a second thread gains little and costs CPU; on cores
    # that other work keeps busy, it waits for one and slows the record (bench/results/init_threads.md). The
    # numbers are the same bits either way (core.runtime.blas).
    with blas.single_threaded():
        record = p.prober.without_grid().session(p.layout, p.init).record(0, p.init)
    record.alive = np.ones(len(p.init), bool)  # at epoch 0 every model is alive (the trainer sets it later on)
    return Results(config, p.data, p.layout, p.init, p.init, record_frames([record], config.models, p.layout))
