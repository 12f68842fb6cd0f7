"""One task of a sweep: one configuration's stack of models, trained in this process, measured per model.

``run_task`` is what a sweep's worker processes run (a core.runtime.workers pool's or a Dask cluster's): it takes
the task's query string and returns its rows, one per (scheme entry, seed), which the sweep joins to its grid
points. It trains with ``core.experiment.prepare`` and the trainer's ``train_group`` as ``run`` does, in this
process with single-threaded BLAS (the sweep runs one task per core: splitting a task over the training workers as
well would oversubscribe the cores), a deep stack in consecutive groups of models to bound its memory, and probes
only epoch 0 and the last epoch, the two the measures read, and at them only what the measures read
(``Prober.for_sweep``: no decision-boundary grid, histograms, distances or weight-distinct units, each a cost no
measure repays). Neither the grouping nor the probes change a model's numbers, and the probes a task keeps are
computed by the full record's own calls, so every number here is the one the dashboard shows for the grid point's
link.

The measures, per model:

- final train/test loss and accuracy, last finite epoch, diverged epoch and status: the ``summary`` frame's;
- ``signal_growth``: at epoch 0, the least-squares slope of ln E[z^2] (the pre-activations' second moment
  in ``layer_stats``) over layers 1 .. depth + 1 (the output layer's logits included, so that one hidden
  layer has a slope too), over the layers where it is finite and positive: the log of the factor by which
  the signal's second moment grows per layer (0: preserved, as He et al. 2015 aim for);
- ``first_layer_second_moment``, ``last_layer_second_moment``: that second moment at hidden layers 1 and
  depth;
- ``gradient_ratio``: at epoch 0, the second moment of the back-propagated dLoss/dz (``layer_stats`` kind
  ``gradient``) at hidden layer 1 over that at hidden layer depth (1 when depth is 1): above 1 the
  gradient grows on its way back to the input, below 1 it vanishes;
- ``min_distinct_units``: at the last epoch, the fewest functionally distinct units of any hidden layer (the
  ``distinct_units`` frame's ``functional_distinct_units``); empty for a model that diverged (it has no
  last-epoch record).
"""
from __future__ import annotations

import hashlib
import io
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from core import experiment
from core.measure import frames
from core.config import ExperimentConfig
from core.runtime.control import Control
from core.measure.probes import KINDS, PROBE_SIZE
from core.nn.trainer import Evaluator, TrainOutput, group_bounds, train_group

# Models trained at once in a task: at most this many probe values per record (models x units x probe samples x
# kinds). A record's work arrays are a few times its values: a depth-30 stack of 36 models took 190 MB at once
# with full records. A task's records keep two of the three kinds, but the bound still counts three: it is the
# one J4's peak memory was measured with (the grouping changes no number, only memory and speed).
GROUP_VALUES = 8_000_000

# Every task row's columns and their types: as computed, and as read back from a task file.
COLUMNS = {
    "task": "str", "entry": "str", "seed": "int64",
    "final_train_loss": "float64", "final_train_accuracy": "float64",
    "final_test_loss": "float64", "final_test_accuracy": "float64",
    "last_finite_epoch": "int64", "diverged_epoch": "Int64", "status": "str",
    "signal_growth": "float64", "first_layer_second_moment": "float64", "last_layer_second_moment": "float64",
    "gradient_ratio": "float64", "min_distinct_units": "Int64",
}


def run_task(query: str, control: Control | None = None, progress=None) -> pd.DataFrame:
    """Train the task ``query`` (an ExperimentConfig's query string) and measure every model. ``control``
    (core.runtime.control, which pickles as its path) pauses or stops the training from the process that owns it.
    ``progress(epoch, epochs)`` is called once an epoch of each group of models (a core.runtime.workers pool stops
    the task there once its caller has stopped waiting)."""
    config = ExperimentConfig.from_query(query)
    p = experiment.prepare(config, control=control)
    settings = replace(p.settings, record_epochs=(0, config.epochs), groups=1, progress=None)
    k = len(p.init)
    # the evaluation chunk of a grid point's own link (its seeds alone): the chunks fix the order of the float64
    # sums, so with the link's chunk every curve is the link's to the bit, however many models share this stack
    step = Evaluator.chunk(config.seeds, p.layout.sizes, max(len(p.data.X_train), len(p.data.X_test)))
    per_model = sum(p.layout.sizes[1:]) * PROBE_SIZE * len(KINDS)
    bounds = group_bounds(k, min(k, -(-k * per_model // GROUP_VALUES)))
    prober = p.prober.for_sweep(functional_epochs=(config.epochs,))
    out = TrainOutput.concat([train_group(p.init[a:b], p.layout, p.data, p.act, settings, prober, step, progress)
                              for a, b in zip(bounds[:-1], bounds[1:])])
    rows = frames.summary(out, config.models, pd.DataFrame())[
        ["scheme", "seed", "final_train_loss", "final_train_accuracy", "final_test_loss", "final_test_accuracy",
         "last_finite_epoch", "diverged_epoch", "status"]].rename(columns={"scheme": "entry"})
    rows.insert(0, "task", config.run_id)
    record = {r.epoch: r for r in out.records}
    # (models, layers) at epoch 0, where every model has its record (the layer_stats frame's second_moment)
    pre = record[0].stats[:, KINDS.index("preactivation"), :, 2].T
    grad = record[0].stats[:, KINDS.index("gradient"), :, 2].T
    depth = config.depth
    rows["signal_growth"] = [growth_slope(q) for q in pre]
    rows["first_layer_second_moment"] = pre[:, 0]
    rows["last_layer_second_moment"] = pre[:, depth - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        rows["gradient_ratio"] = grad[:, 0] / grad[:, depth - 1]
    rows["min_distinct_units"] = min_distinct_units(record[config.epochs], depth)
    return typed(rows)


def growth_slope(q: np.ndarray) -> float:
    """Least-squares slope of ln q over the layers (1, 2, ...) where q is finite and positive; NaN with
    fewer than two such layers."""
    layers = np.arange(1, len(q) + 1, dtype=float)
    ok = np.isfinite(q) & (q > 0)
    if ok.sum() < 2:
        return float("nan")
    x, y = layers[ok], np.log(q[ok])
    x = x - x.mean()
    return float((x * (y - y.mean())).sum() / (x * x).sum())


def min_distinct_units(last, depth: int) -> pd.Series:
    """Per model (stack order), the fewest functionally distinct units of a hidden layer in ``last``, the last
    epoch's record (the distinct_units frame's ``functional_distinct_units``); NA for a model that record does
    not speak for (it diverged)."""
    fewest = pd.Series(last.functional[:depth].min(axis=0), dtype="Int64")
    return fewest.mask(~last.alive)


def typed(rows: pd.DataFrame) -> pd.DataFrame:
    """The task columns in order, each of its type (fresh rows and rows read back compare exactly)."""
    return rows[list(COLUMNS)].astype(COLUMNS).reset_index(drop=True)


# ------------------------------------------------------------------------------------------------ task files
# A task file's first line: what it is (the task's run id: its configuration) and the SHA-256 of the rows below
# it, so that a resumed sweep trusts only what it wrote itself.
HEADER = "# initlab sweep task {task} rows-sha256={digest}\n"


class BadTaskFile(ValueError):
    """A task file that is not what the sweep wrote for its task: the message says why."""


def write_rows(rows: pd.DataFrame, path: Path) -> None:
    """Write a task's rows to ``path`` atomically: a temporary file in the same folder, then a rename, so an
    interrupted sweep never leaves half a file that a rerun would take for a finished task."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # floats as their shortest exact text, which pandas reads back as the same numbers
    body = rows.to_csv(index=False)
    task = rows["task"].iloc[0]
    try:
        tmp.write_text(HEADER.format(task=task, digest=hashlib.sha256(body.encode()).hexdigest()) + body)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_rows(path: Path, task: ExperimentConfig | str) -> pd.DataFrame | None:
    """A finished task's rows; None if the file is missing. BadTaskFile if it is there but is not what the
    sweep wrote for ``task`` (a configuration, or its run id): another task's, edited (its checksum), or rows
    other than one per scheme entry and seed of the task."""
    run_id = task if isinstance(task, str) else task.run_id
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise BadTaskFile(f"cannot be read ({getattr(e, 'strerror', None) or e})") from None
    head, _newline, body = text.partition("\n")
    expected_head = HEADER.format(task=run_id, digest=hashlib.sha256(body.encode()).hexdigest()).rstrip("\n")
    if not head.startswith(f"# initlab sweep task {run_id} "):
        raise BadTaskFile("it is not this task's file")
    if head != expected_head:
        raise BadTaskFile("its rows are not the ones written (checksum)")
    try:
        rows = pd.read_csv(io.StringIO(body), keep_default_na=False,
                           dtype={c: str for c, t in COLUMNS.items() if t == "str"},
                           na_values={c: [""] for c, t in COLUMNS.items() if t != "str"})
        if list(rows.columns) != list(COLUMNS) or rows.empty or not (rows["task"] == run_id).all():
            raise BadTaskFile("its columns or task are not this task's")
        rows = typed(rows)
    except (ValueError, TypeError, pd.errors.ParserError) as e:
        raise e if isinstance(e, BadTaskFile) else BadTaskFile(f"its rows cannot be read ({e})") from None
    if not isinstance(task, str):
        want = sorted((entry, seed) for entry in task.schemes for seed in range(task.seeds))
        if sorted(zip(rows["entry"], rows["seed"])) != want:
            raise BadTaskFile("its rows are not one per scheme entry and seed of the task")
    return rows
