"""A sweep's map at initialization: the epoch-0 measures of every grid point, without training.

Signal growth and the gradient ratio (core.sweeps.sweep_task) are read at epoch 0, before any update: they depend on
the initial weights and the probe batch only. So a map of them needs no training at all: each task's stack is
drawn (``experiment.prepare``, the one way ``run`` draws it) and probed once with the sweep's own lean probes
(``Prober.for_sweep``), whose calls are the full record's. Every number is the one the trained sweep, and the
grid point's own dashboard link, show at epoch 0 (tests/test_sweep_init.py checks this against ``run_task``).
The columns are the sweep frame's; the measures of training (losses, accuracies, distinct units at the last
epoch) are empty.

This is what makes a map over depth up to 50 cheap enough to draw as soon as the page opens (the Scale x depth
page's default, and the story page's last step), where training the same grid would take minutes.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from core import experiment
from core.config import ExperimentConfig
from core.runtime import blas
from core.runtime.control import Control
from core.measure.probes import KINDS, PROBE_SIZE
from core.sweeps.sweep import SweepConfig, SweepResults, Task
from core.sweeps.sweep_task import COLUMNS, growth_slope, typed

# The measures a map at initialization has (the others need training).
INIT_MEASURES = ("signal_growth", "gradient_ratio", "first_layer_second_moment", "last_layer_second_moment")
# What one map at initialization may cost: this many multiply-adds of the probe's forward and backward passes
# over every task (about 4 s of one core of the reference machine at the probe's matrix sizes), and this many
# weights drawn. Past either, the page trains the sweep instead, under the server's time limit.
MAX_PROBE_GFLOP = 8.0
MAX_WEIGHTS = 60_000_000


def init_rows(config: ExperimentConfig, control: Control | None = None) -> pd.DataFrame:
    """One task's rows (core.sweeps.sweep_task.COLUMNS): its stack drawn and probed at epoch 0, nothing trained."""
    p = experiment.prepare(config, control=control)
    session = p.prober.for_sweep(functional_epochs=()).session(p.layout, p.init)
    with blas.single_threaded():  # as core.experiment.at_initialization's record
        record = session.record(0, p.init)
    pre = record.stats[:, KINDS.index("preactivation"), :, 2].T
    grad = record.stats[:, KINDS.index("gradient"), :, 2].T
    depth = config.depth
    rows = pd.DataFrame({"entry": [m[0] for m in config.models], "seed": [m[1] for m in config.models]})
    rows.insert(0, "task", config.run_id)
    for column in ("final_train_loss", "final_train_accuracy", "final_test_loss", "final_test_accuracy"):
        rows[column] = np.nan
    rows["last_finite_epoch"] = 0
    rows["diverged_epoch"] = pd.NA
    rows["status"] = ""
    rows["signal_growth"] = [growth_slope(q) for q in pre]
    rows["first_layer_second_moment"] = pre[:, 0]
    rows["last_layer_second_moment"] = pre[:, depth - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        rows["gradient_ratio"] = grad[:, 0] / grad[:, depth - 1]
    rows["min_distinct_units"] = pd.NA
    return typed(rows[list(COLUMNS)])


def _task_sizes(task: Task) -> tuple[int, int]:
    """(weights drawn, probe multiply-adds) of one task: its models' parameters, and a forward and a backward
    pass of the probe batch through them (about three products per weight and sample)."""
    c = task.config
    widths = c.widths
    # the input and output sizes depend on the dataset; bounded by the largest the field tables allow
    sizes = (max(c.features, 64), *widths, max(c.classes, 2))
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) * len(c.models)
    return weights, 3 * weights * PROBE_SIZE


def _totals(sweep: SweepConfig) -> tuple[int, float]:
    sizes = [_task_sizes(t) for t in sweep.tasks]
    return sum(w for w, _f in sizes), sum(f for _w, f in sizes) / 1e9


def affordable(sweep: SweepConfig) -> bool:
    """Whether ``sweep``'s map at initialization is within ``MAX_PROBE_GFLOP`` and ``MAX_WEIGHTS``."""
    weights, gflop = _totals(sweep)
    return weights <= MAX_WEIGHTS and gflop <= MAX_PROBE_GFLOP


def seconds(sweep: SweepConfig) -> float:
    """A rough time for the scheduler's queue: at the bounds above, about 4 s (a second more per 10 tasks for
    drawing and setting up each stack)."""
    weights, gflop = _totals(sweep)
    return 0.5 * max(gflop, weights / MAX_WEIGHTS * MAX_PROBE_GFLOP) + 0.1 * len(sweep.tasks)


def init_map(sweep: SweepConfig, progress: Callable[[int, int], None] | None = None,
             control: Control | None = None) -> SweepResults:
    """``sweep``'s frame at initialization: every task drawn and probed at epoch 0, in this process."""
    rows = {}
    for i, task in enumerate(sweep.tasks):
        if control is not None:
            control.check()
        rows[task.run_id] = init_rows(task.config, control)
        if progress is not None:
            progress(i + 1, len(sweep.tasks))
    return SweepResults(sweep, sweep.frame(rows), computed=list(rows))
