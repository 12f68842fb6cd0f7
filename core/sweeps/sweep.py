"""Sweeps: one experiment trained over a grid of two axes, e.g. weight scale sigma_w x depth.

A ``SweepConfig`` is a base ``ExperimentConfig`` plus two axes, x then y. An axis is a numeric experiment
field (depth, width, lr, ...: ``config.SWEEP_FIELD_AXES``) or a numeric scheme parameter (std, limit, gain,
... and ``sigma_w``, the gain of a fan-in-scaled scheme: Var(W) = sigma_w^2 / fan_in, the weight scale of
mean-field theory, Poole et al. 2016). Every value goes through the same tables as ExperimentConfig
(``config.FIELDS``, ``initializers.Param``), so a bad one is one ValueError naming the axis, the value and
what is allowed. The query string is the base's plus the sweep keys of ``config.SWEEP_FIELDS``.

The grid is cut into tasks. Grid points that differ only in scheme parameters are one stack, trained by one
trainer call as a configuration's schemes x seeds are; every other combination is its own task: one
ExperimentConfig, whose query string is the task and whose run_id names its result file. ``run_sweep`` runs
the tasks on a core.runtime.workers pool (loky processes on this machine) or on a Dask cluster (through
joblib) and gathers the tidy ``sweep`` frame, one row per (grid point, seed). A model's numbers depend
neither on the models stacked with it nor on the process that trains it, so the frame is the same whichever
backend ran it.

Scheme axes apply to the base's schemes that take them; the others are left out (``notes`` says which). If
none does, the axis's own scheme is used (sigma_w: he_normal), so every link draws a map.
"""
from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import os
import re
import secrets
import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

import pandas as pd

from core.runtime import budget
from core.nn import initializers
from core.runtime.blas import cpu_count
from core.runtime.control import Control
from core.runtime.workers import Pool
from core.config import (FIELDS, MAX_AXIS_VALUES, MAX_SCHEMES, SWEEP_AXES, SWEEP_FIELD_AXES, SWEEP_FIELDS,
                     ExperimentConfig, _fail, format_value, json_object, parse_scheme, parse_sweep_keys, query_to_dict,
                     scheme_label)
from core.formatting import number_text
from core.i18n import N_, _
from core.sweeps.sweep_task import COLUMNS as TASK_COLUMNS, BadTaskFile, read_rows, run_task, write_rows

MAX_GRID_POINTS = 2500  # grid points (schemes x axis values), each trained once per seed
# What a server admits of a sweep: the sum of its tasks' core.runtime.budget time estimates, and the largest task's
# memory, against one run's limits (the server's, core.runtime.budget.limits_from_env). The tasks share the cores as
# one run's groups of models do, so a sweep at the limit takes about as long as a run at it.
BACKENDS = ("loky", "dask")
# A loky sweep smaller than this many layer-steps (core.runtime.budget's count, about a second of work) trains in this
# process: starting the worker processes (each imports numpy, pandas, scikit-learn) would take longer.
IN_PROCESS_MAX_LAYER_STEPS = 20_000
SCHEDULER_TIMEOUT_S = 10  # how long a Dask scheduler's address has to answer
FAN_IN_SCALED = ("he_normal", "he_uniform")  # sigma_w is their gain when they scale by fan-in (their default)
MEASURES = [c for c in TASK_COLUMNS if c not in ("task", "entry", "seed")]

LOG = logging.getLogger("initlab")


# ------------------------------------------------------------------------------------------------ the axes
@dataclass(frozen=True)
class Axis:
    """One thing a sweep may vary: an experiment field, or a parameter of the schemes."""
    name: str
    title: str  # words with units, for chart axes (marked for translation)
    defaults: str  # the values a page uses when none are given
    field: str | None = None  # the ExperimentConfig field it sets
    param: str | None = None  # the scheme parameter it sets

    def parse(self, raw, scheme: str | None = None):
        """One value, validated by the field's parser (a field axis) or by the parameter's for ``scheme``
        (a scheme axis; default: the axis's own scheme). ValueError names the axis, the value, the range."""
        try:
            if self.field == "width":  # one width for every hidden layer
                if isinstance(raw, (list, tuple)) or (isinstance(raw, str) and "," in raw):
                    _fail("width", raw, _("a whole number in [1, 1024]"))
                return FIELDS["width"].parse(raw)[0]
            if self.field is not None:
                return FIELDS[self.field].parse(raw)
            name = parse_scheme(scheme)[0] if scheme else self.own_scheme
            return _param(name, self.param).parse(name, raw)
        except ValueError as e:  # "axis depth: got ...", "axis sigma_w: scheme 'he_normal', parameter 'gain': got ..."
            # the field's own name goes: the axis names it ("width: got" in English, "width\u00a0: reçu" in French)
            message = re.sub(rf"^{re.escape(self.field)}\s?:\s", "", str(e)) if self.field else str(e)
            raise ValueError(_("axis {axis}: {error}").format(axis=self.name, error=message)) from None

    @property
    def own_scheme(self) -> str:
        """The scheme this axis is drawn on when none of the base's takes it."""
        if self.name == "sigma_w":
            return FAN_IN_SCALED[0]
        return next(n for n, init in initializers.INITIALIZERS.items() if _param(n, self.param) is not None)

    def takes(self, scheme: str) -> bool:
        """Whether this axis applies to a scheme entry (sigma_w: a fan-in-scaled scheme, whose gain it is)."""
        if self.field is not None:
            return True
        name, params = parse_scheme(scheme)
        if self.name == "sigma_w":
            return name in FAN_IN_SCALED and params.get("mode", "fan_in") == "fan_in"
        return _param(name, self.param) is not None


def _param(scheme: str, name: str) -> initializers.Param | None:
    return next((p for p in initializers.INITIALIZERS[scheme].params if p.name == name), None)


_TITLES = {
    "depth": (N_("depth (hidden layers)"), "1,2,4,8,16"),
    "width": (N_("width (units per hidden layer)"), "8,16,32,64,128"),
    "lr": (N_("learning rate"), "0.001,0.01,0.1,1"),
    "momentum": (N_("momentum coefficient"), "0,0.5,0.9,0.99"),
    "batch_size": (N_("batch size (samples per step, 0 = full batch)"), "8,32,128"),
    "epochs": (N_("epochs (passes over the training set)"), "10,30,100"),
    "n_samples": (N_("samples (before the train/test split)"), "100,300,1000"),
    "noise": (N_("dataset noise"), "0,0.1,0.2,0.4"),
    "weight_decay": (N_("weight decay (L2 coefficient)"), "0,0.0001,0.001,0.01"),
    "sigma_w": (N_("σ_w (weight std × √fan-in)"), "0.5,1,1.5,2,3"),
    "a": (N_("lower cut a of the truncated normal"), "-3,-2,-1"),
    "b": (N_("upper cut b of the truncated normal"), "1,2,3"),
    "gain": (N_("gain (multiplies the weights)"), "0.5,1,1.5,2,3"),
    "k": (N_("non-zero incoming weights per unit (Martens' k)"), "1,5,15,30"),
    "scale": (N_("std of the non-zero weights (Martens' scale)"), "0.1,0.3,1,3"),
    "limit": (N_("limit a of U(−a, a)"), "0.01,0.1,0.5,1,2"),
    "max_iter": (N_("LSUV iterations"), "1,5,10"),
    "mean": (N_("mean of the weights"), "-0.5,0,0.5"),
    "sparsity": (N_("sparsity (share of zero weights per unit)"), "0,0.25,0.5,0.75,0.9"),
    "std": (N_("std of the weights"), "0.01,0.1,0.5,1,2"),
    "tol": (N_("LSUV tolerance"), "0.01,0.1,0.5"),
    "value": (N_("constant weight value"), "-0.5,0.1,0.5"),
}
AXES: dict[str, Axis] = {
    name: Axis(name, *_TITLES[name], **({"field": name} if name in SWEEP_FIELD_AXES
                                          else {"param": "gain" if name == "sigma_w" else name}))
    for name in SWEEP_AXES
}


def axis_values(axis: Axis, raw, schemes: tuple[str, ...] = ()) -> tuple:
    """The values of an axis, from text ('0.5, 1, 2') or a list; each validated (for every scheme of
    ``schemes`` it applies to), each once."""
    items = [p.strip() for p in raw.split(",")] if isinstance(raw, str) else list(raw)
    if not 1 <= len(items) <= MAX_AXIS_VALUES:
        raise ValueError(_("axis {axis}: got {n} values; allowed: 1 to {most}").format(
            axis=axis.name, n=len(items), most=MAX_AXIS_VALUES))
    values = []
    for item in items:
        value = [axis.parse(item, s) for s in schemes][0] if schemes else axis.parse(item)
        if value in values:
            raise ValueError(_("axis {axis}: got {value} twice; allowed: each value once").format(
                axis=axis.name, value=repr(item)))
        values.append(value)
    return tuple(values)


def with_params(label: str, params: dict) -> str:
    """A scheme entry with some parameters set: ('he_normal', {'gain': 2.0}) -> 'he_normal:gain=2.0'."""
    if not params:
        return label
    name, given = parse_scheme(label)
    merged = {**given, **params}
    return scheme_label(name + (":" + ",".join(f"{k}={format_value(v)}" for k, v in merged.items()) if merged else ""))


# ------------------------------------------------------------------------------------------------ the grid
@dataclass(frozen=True)
class Point:
    """One grid point of one scheme: trained once per seed, as entry ``entry`` of task ``task``."""
    scheme: str  # the base's scheme label
    x: float | int
    y: float | int
    entry: str  # the scheme entry trained (the label with the scheme axes' parameters)
    task: str  # the run_id of the task that trains it
    query: str  # its dashboard link's query string: the base with the field axes set and this entry alone


@dataclass(frozen=True)
class Task:
    config: ExperimentConfig

    @property
    def run_id(self) -> str:
        return self.config.run_id

    @property
    def query(self) -> str:
        return self.config.to_query()


def task_config(task: Task) -> ExperimentConfig:
    """The configuration as a task trains it: probed at epoch 0 and the last epoch only (core.sweeps.sweep_task)."""
    return replace(task.config, record_epochs=2)


def task_estimate(task: Task) -> budget.Estimate:
    """core.runtime.budget's estimate of a task as core.sweeps.sweep_task trains it: two records, no decision-boundary grid."""
    return budget.estimate(task_config(task), grid=False)


@dataclass(frozen=True)
class SweepConfig:
    """A base configuration and two axes: ``axes`` is ((x name, values), (y name, values)), or a dict of
    two; values as a list or as text ('0.5,1,2')."""
    base: ExperimentConfig = field(default_factory=ExperimentConfig)
    axes: tuple = (("sigma_w", "0.5,1,1.5,2,3"), ("depth", "1,2,4,8,16"))

    def __post_init__(self):
        if not isinstance(self.base, ExperimentConfig):
            raise ValueError(f"base: got {type(self.base).__name__}; allowed: ExperimentConfig")
        pairs = list(self.axes.items()) if isinstance(self.axes, dict) else list(self.axes)
        if len(pairs) != 2 or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in pairs):
            raise ValueError(f"axes: got {self.axes!r}; allowed: two (name, values) pairs, x then y")
        for key, (name, _values) in zip(("sweep_x", "sweep_y"), pairs):  # not "_": that name translates
            SWEEP_FIELDS[key].parse(name)
        if pairs[0][0] == pairs[1][0]:
            raise ValueError(_("sweep_y: got {axis}, the same axis as sweep_x; allowed: another axis").format(
                axis=repr(pairs[1][0])))
        x, y = AXES[pairs[0][0]], AXES[pairs[1][0]]
        schemes, notes = _schemes_for(self.base.schemes, [a for a in (x, y) if a.param])
        object.__setattr__(self, "axes", tuple((a.name, axis_values(a, raw, schemes if a.param else ()))
                                               for a, (_name, raw) in zip((x, y), pairs)))
        n_points = len(schemes) * len(self.x_values) * len(self.y_values)
        if n_points > MAX_GRID_POINTS:
            raise ValueError(_("grid: got {points} points ({schemes} schemes x {nx} {x} x {ny} {y} values); "
                               "allowed: at most {most}").format(
                points=f"{n_points:,}", schemes=len(schemes), nx=len(self.x_values), x=x.name,
                ny=len(self.y_values), y=y.name, most=f"{MAX_GRID_POINTS:,}"))
        object.__setattr__(self, "schemes", schemes)
        object.__setattr__(self, "notes", notes)
        tasks, points = self._grid()
        object.__setattr__(self, "tasks", tasks)
        object.__setattr__(self, "points", points)

    # ---- the axes
    @property
    def x(self) -> Axis:
        return AXES[self.axes[0][0]]

    @property
    def y(self) -> Axis:
        return AXES[self.axes[1][0]]

    @property
    def x_values(self) -> tuple:
        return self.axes[0][1]

    @property
    def y_values(self) -> tuple:
        return self.axes[1][1]

    @property
    def models(self) -> int:
        return len(self.points) * self.base.seeds

    def _grid(self) -> tuple[list[Task], list[Point]]:
        """Tasks (one per combination of field-axis values and up to MAX_SCHEMES entries) and points, in the
        frame's order: scheme, then y, then x."""
        axes = (self.x, self.y)
        field_axes = [i for i, a in enumerate(axes) if a.field]
        values = (self.x_values, self.y_values)
        tasks: list[Task] = []
        where: dict[tuple, tuple[str, str, str]] = {}  # (scheme, x, y) -> (entry, task run_id, point query)
        for combo in itertools.product(*(values[i] for i in field_axes)):
            fields = {axes[i].field: ((v,) if axes[i].field == "width" else v) for i, v in zip(field_axes, combo)}
            try:
                fixed = replace(self.base, **fields)
            except ValueError as e:
                at = ", ".join(f"{axes[i].name}={format_value(v)}" for i, v in zip(field_axes, combo))
                raise ValueError(_("axis {axis}: {error}").format(axis=at, error=e)) from None
            at = dict(zip(field_axes, combo))  # axis index -> its value in this task
            xs = self.x_values if self.x.param else [at[0]]
            ys = self.y_values if self.y.param else [at[1]]
            entries = []  # (scheme, x, y, entry)
            for scheme, yv, xv in itertools.product(self.schemes, ys, xs):
                params = {a.param: v for a, v in zip(axes, (xv, yv)) if a.param}
                entries.append((scheme, xv, yv, with_params(scheme, params)))
            if len({e[3] for e in entries}) < len(entries):
                raise ValueError(_("schemes: got {schemes}; allowed: schemes that differ once the axes set their "
                                   "parameters (two of them become the same entry)").format(
                    schemes=", ".join(self.schemes)))
            for start in range(0, len(entries), MAX_SCHEMES):
                chunk = entries[start:start + MAX_SCHEMES]
                task = Task(replace(fixed, schemes=tuple(e[3] for e in chunk)))
                tasks.append(task)
                for scheme, xv, yv, entry in chunk:
                    where[(scheme, xv, yv)] = (entry, task.run_id, replace(fixed, schemes=(entry,)).to_query())
        points = [Point(s, xv, yv, *where[(s, xv, yv)])
                  for s in self.schemes for yv in self.y_values for xv in self.x_values]
        return tasks, points

    # ---- identity and round trips
    @property
    def run_id(self) -> str:
        return hashlib.sha256(self.to_query().encode()).hexdigest()[:10]

    def sweep_keys(self) -> dict[str, str]:
        return {"sweep_x": self.x.name, "sweep_x_values": ",".join(map(format_value, self.x_values)),
                "sweep_y": self.y.name, "sweep_y_values": ",".join(map(format_value, self.y_values))}

    def to_query(self) -> str:
        return self.base.to_query() + "&" + urlencode(self.sweep_keys())

    def to_dict(self) -> dict:
        return {**self.base.to_dict(), "sweep_x": self.x.name, "sweep_x_values": list(self.x_values),
                "sweep_y": self.y.name, "sweep_y_values": list(self.y_values)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_query(cls, query: str) -> "SweepConfig":
        raw = query_to_dict(query)
        keys, _ = parse_sweep_keys(raw, strict=True)
        return cls._from(ExperimentConfig.from_query(query), keys)

    @classmethod
    def from_json(cls, text: str) -> "SweepConfig":
        data = json_object(text, "sweep")
        keys = {k: data.pop(k) for k in list(data) if k in SWEEP_FIELDS}
        return cls._from(ExperimentConfig.from_json(json.dumps(data)), keys)

    @classmethod
    def _from(cls, base: ExperimentConfig, keys: dict) -> "SweepConfig":
        names = [keys.get(k, SWEEP_FIELDS[k].default) for k in ("sweep_x", "sweep_y")]
        for k, name in zip(("sweep_x", "sweep_y"), names):
            SWEEP_FIELDS[k].parse(name)
        values = [keys.get(k) for k in ("sweep_x_values", "sweep_y_values")]
        return cls(base, tuple((n, AXES[n].defaults if v is None else v) for n, v in zip(names, values)))

    @classmethod
    def lenient(cls, base: ExperimentConfig, keys: dict) -> tuple["SweepConfig", list[str]]:
        """A page's sweep: the base and the sweep keys (raw values). A bad key is a warning naming it, and its
        default is used (an axis's values: that axis's defaults). Raises ValueError only if even the default
        axes cannot sweep this base (a width per layer with a depth axis, say)."""
        warnings: list[str] = []
        good, problems = parse_sweep_keys({k: v for k, v in keys.items() if v not in (None, "")})
        warnings += problems
        names = [good.get(k, SWEEP_FIELDS[k].default) for k in ("sweep_x", "sweep_y")]
        if names[0] == names[1]:
            fallback = next(n for n in (SWEEP_FIELDS["sweep_y"].default, SWEEP_FIELDS["sweep_x"].default)
                            if n != names[0])
            warnings.append(_("sweep_y: got {axis}, the same axis as sweep_x; using {fallback}").format(
                axis=repr(names[1]), fallback=fallback))
            names[1] = fallback
            good.pop("sweep_y_values", None)
        axes = []
        for key, name in zip(("sweep_x_values", "sweep_y_values"), names):
            raw = good.get(key, AXES[name].defaults)
            try:
                axes.append((name, axis_values(AXES[name], raw, _schemes_for(base.schemes, [AXES[name]])[0]
                                               if AXES[name].param else ())))
            except ValueError as e:
                warnings.append(_("{key}: {error}; using the defaults of {axis}: {values}").format(
                    key=key, error=e, axis=name, values=AXES[name].defaults))
                axes.append((name, AXES[name].defaults))
        try:
            return cls(base, tuple(axes)), warnings
        except ValueError as e:
            defaults = tuple((n, AXES[n].defaults) for n in names)
            warnings.append(_("{error}; using the default values of {x} and {y}").format(
                error=e, x=names[0], y=names[1]))
            return cls(base, defaults), warnings

    # ---- cost
    @cached_property
    def costs(self) -> dict[str, tuple[budget.Estimate, float]]:
        """Per task (run id): core.runtime.budget's estimate of it as core.sweeps.sweep_task trains it (``task_estimate``) and
        its seconds on one core. Once per sweep: the task order, the process count, the wall time and the
        summed estimate all read it, and a page reads them on every script run."""
        out = {}
        for t in self.tasks:
            c = task_config(t)
            out[t.run_id] = (task_estimate(t), budget.seconds(budget.time_terms(c, budget.shape(c, grid=False)), 1))
        return out

    def todo(self, done=()) -> list[Task]:
        """The tasks not in ``done`` (run ids), the costliest first: the last tasks to start are short ones,
        so parallel processes finish together."""
        return sorted((t for t in self.tasks if t.run_id not in done),
                      key=lambda t: -self.costs[t.run_id][0].layer_steps)

    def processes(self, todo: list[Task] | None = None) -> int:
        """How many processes run_sweep's loky backend trains ``todo`` (default: every task) on by default: one
        per CPU, or this process alone for a sweep too small to pay for starting others."""
        todo = self.tasks if todo is None else todo
        steps = sum(self.costs[t.run_id][0].layer_steps for t in todo)
        return 1 if steps < IN_PROCESS_MAX_LAYER_STEPS else max(1, min(cpu_count(), len(todo)))

    def wall_seconds(self) -> float:
        """run_sweep's time by default, estimated: each task on one core (run_task trains its stack in one
        group), the tasks shared by ``processes()``."""
        return sum(one_core for _e, one_core in self.costs.values()) / self.processes()

    def estimate(self) -> "SweepEstimate":
        """core.runtime.budget's estimates of the tasks (as trained: epoch 0 and the last probed), summed."""
        parts = [e for e, _one_core in self.costs.values()]
        return SweepEstimate(len(self.tasks), self.models, sum(e.seconds for e in parts),
                             max(e.memory_mb for e in parts), sum(e.layer_steps for e in parts))

    def frame(self, rows: dict[str, pd.DataFrame]) -> pd.DataFrame:
        """The tidy ``sweep`` frame from every task's rows (task run_id -> rows)."""
        points = pd.DataFrame({"scheme": [p.scheme for p in self.points], self.x.name: [p.x for p in self.points],
                               self.y.name: [p.y for p in self.points], "entry": [p.entry for p in self.points],
                               "task": [p.task for p in self.points], "query": [p.query for p in self.points]})
        for name, values in ((self.x.name, self.x_values), (self.y.name, self.y_values)):
            points[name] = points[name].astype("int64" if all(isinstance(v, int) for v in values) else "float64")
        measured = pd.concat([rows[t.run_id] for t in self.tasks], ignore_index=True)
        df = points.merge(measured, on=["task", "entry"], how="left", sort=False, validate="one_to_many")
        first = ["scheme", self.x.name, self.y.name, "seed"]
        return df[first + MEASURES + ["entry", "task", "query"]].astype({"scheme": "str", "entry": "str",
                                                                          "task": "str", "query": "str"})


def _schemes_for(schemes: tuple[str, ...], scheme_axes: list[Axis]) -> tuple[tuple[str, ...], list[str]]:
    """The base schemes the scheme axes apply to (all of them: every axis must take it), and notes on the
    ones left out; the axes' own scheme if none does."""
    if not scheme_axes:
        return tuple(schemes), []
    kept = tuple(s for s in schemes if all(a.takes(s) for a in scheme_axes))
    left = [s for s in schemes if s not in kept]
    # one scheme axis, or both (a sweep has two axes)
    names = scheme_axes[0].name if len(scheme_axes) == 1 else _("{first} and {second}").format(
        first=scheme_axes[0].name, second=scheme_axes[1].name)
    # the notes name the axes in words, the error (about a link's keys) by their keys
    words = _(scheme_axes[0].title) if len(scheme_axes) == 1 else _("{first} and {second}").format(
        first=_(scheme_axes[0].title), second=_(scheme_axes[1].title))
    if kept:
        return kept, ([_("schemes without {axes} left out of the sweep: {schemes}").format(
            axes=words, schemes=", ".join(left))] if left else [])
    own = next((a.own_scheme for a in scheme_axes if all(b.takes(a.own_scheme) for b in scheme_axes)), None)
    if own is None:
        raise ValueError(_("axes: got {axes}; allowed: parameters that one scheme has together").format(axes=names))
    return (own,), [_("no scheme of the configuration has {axes}: the sweep uses {scheme}").format(
        axes=words, scheme=own)]


@dataclass(frozen=True)
class SweepEstimate:
    tasks: int
    models: int
    seconds: float  # every task's estimate on the reference machine, summed
    memory_mb: float  # the largest task's
    layer_steps: int  # summed: what the scheduler of a loky sweep balances

    def admitted(self, limits: budget.Limits | None = None) -> bool:
        """Within one run's limits (by default the server's: core.runtime.budget.limits_from_env)."""
        limits = budget.limits_from_env() if limits is None else limits
        return ((limits.seconds is None or self.seconds <= limits.seconds)
                and (limits.memory_mb is None or self.memory_mb <= limits.memory_mb))

    def describe(self, limits: budget.Limits | None = None) -> str:
        limits = budget.limits_from_env() if limits is None else limits
        return _("{tasks} tasks, {models} trainings: about {seconds} s on this server{seconds_limit} and {memory} MB "
                 "for the largest task{memory_limit}").format(
            tasks=self.tasks, models=number_text(self.models, ","), seconds=number_text(self.seconds, ",.0f"),
            seconds_limit=budget.limit_note(limits.seconds, "{:,.0f} s"), memory=number_text(self.memory_mb, ",.0f"),
            memory_limit=budget.limit_note(limits.memory_mb, "{:,.0f} " + _("MB")))


# ------------------------------------------------------------------------------------------------ running
@dataclass
class SweepResults:
    sweep: SweepConfig
    frame: pd.DataFrame  # the tidy `sweep` frame: one row per (grid point, seed)
    computed: list[str] = field(default_factory=list)  # run_ids of the tasks trained by this call
    reused: list[str] = field(default_factory=list)  # run_ids of the tasks read from finished task files

    @property
    def frames(self) -> dict[str, pd.DataFrame]:
        return {"sweep": self.frame}


def task_path(out: Path, run_id: str) -> Path:
    return Path(out) / "tasks" / f"{run_id}.csv"


def run_sweep(sweep: SweepConfig, *, progress: Callable[[int, int], None] | None = None, out: Path | None = None,
              backend: str = "loky", workers: int | None = None, scheduler: str | None = None,
              control: Control | None = None) -> SweepResults:
    """Train every task of ``sweep`` not finished yet and return the ``sweep`` frame.

    ``out``: a folder; each task's rows are written to ``out/tasks/<run_id>.csv`` as soon as it finishes,
    and a task whose file is there is read, not trained (a rerun resumes an interrupted sweep), and at the
    end the frame goes to ``out/sweep.csv`` and the configuration to ``out/sweep.json``. ``progress(done,
    total)`` is called over tasks, from this thread. ``backend``: ``loky`` (processes on this machine,
    ``workers`` of them, default one per CPU; 1 trains in this process) or ``dask``: the cluster at
    ``scheduler``, or a LocalCluster of ``workers`` processes started here for the sweep. Dask starts its
    processes by spawning, which imports the calling script again: a script that runs a Dask sweep needs the
    ``if __name__ == "__main__":`` guard. On a cluster, every worker needs this project importable (``core``
    on its Python path) and, for bit-identical numbers, the same BLAS as this machine. ``control``
    (core.runtime.control; loky only: its file is on this machine) pauses or stops the sweep, inside a task's
    training as between tasks; a stopped sweep raises ``Stopped`` and the tasks in flight are abandoned. A
    loky sweep with a control block has processes of its own, ended with it or by ``control.kill``.
    """
    if not isinstance(sweep, SweepConfig):
        raise ValueError(f"sweep: got {type(sweep).__name__}; allowed: SweepConfig")
    if backend not in BACKENDS:
        raise ValueError(f"backend: got {backend!r}; allowed: {', '.join(BACKENDS)}")
    if scheduler is not None and backend != "dask":
        raise ValueError(f"scheduler: got {scheduler!r}; allowed: only with backend dask")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers: got {workers!r}; allowed: a whole number from 1")
    if control is not None and backend != "loky":
        raise ValueError("control: got a control block; allowed: only with backend loky")
    rows: dict[str, pd.DataFrame] = {}
    if out is not None:
        for t in sweep.tasks:
            path = task_path(out, t.run_id)
            try:
                found = read_rows(path, t.config)
            except BadTaskFile as e:  # edited, another task's, or half another sweep's: trained again
                warnings.warn(f"{path}: {e}; training this task again", UserWarning, stacklevel=2)
                continue
            if found is not None:
                rows[t.run_id] = found
    reused = list(rows)
    todo = sweep.todo(done=rows)
    if backend == "loky" and workers is None:
        workers = sweep.processes(todo)
    total, computed = len(sweep.tasks), []
    with _executor(backend, workers, scheduler, len(todo), control) if todo else contextlib.nullcontext() as finished:
        # past this point the backend is there (a scheduler answered, a cluster started): files may be written
        if out is not None:
            (Path(out) / "tasks").mkdir(parents=True, exist_ok=True)
        if progress is not None:
            progress(len(rows), total)
        for got in finished(todo) if todo else ():
            run_id = got["task"].iloc[0]
            if out is not None:
                write_rows(got, task_path(out, run_id))  # first: a finished task is kept, even if stopped now
            rows[run_id] = got
            computed.append(run_id)
            if control is not None:
                control.check()
            if progress is not None:
                progress(len(rows), total)
    frame = sweep.frame(rows)
    if out is not None:
        from core.export import csv_bytes
        write_together(Path(out), {
            "sweep.csv": csv_bytes(frame, sweep.run_id),
            "sweep.json": json.dumps({"run_id": sweep.run_id, "query": sweep.to_query(), "sweep": sweep.to_dict(),
                                      "tasks": [t.run_id for t in sweep.tasks]}, indent=2).encode()})
    return SweepResults(sweep, frame, computed, reused)


def write_together(folder: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (name -> bytes) into ``folder`` atomically: each to a temporary file, flushed to disk,
    then all renamed into place, so a full disk or an interrupt leaves the earlier files (or none), never
    one new and one truncated."""
    from core.export import _sync_dir, _write_file
    temps: dict[str, Path] = {}
    try:
        for name, data in files.items():
            temps[name] = folder / f".{name}.{secrets.token_hex(4)}.tmp"
            _write_file(temps[name], data)
        for name, tmp in temps.items():
            os.replace(tmp, folder / name)
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
    _sync_dir(folder)


@contextlib.contextmanager
def _executor(backend: str, workers: int | None, scheduler: str | None, n_tasks: int, control: Control | None):
    """A function from the tasks to their rows, yielded as each task finishes, on the chosen backend."""
    if backend == "loky":
        processes = min(workers or cpu_count(), n_tasks)
        if processes == 1:
            yield lambda todo: (run_task(t.query, control) for t in todo)
            return
        # one task per process, BLAS single-threaded inside each (core.sweeps.sweep_task)
        with _pool(processes, control) as pool:
            yield lambda todo: (rows for _, rows in pool.unordered(run_task, [(t.query, control) for t in todo],
                                                                   control=control))
        return
    from joblib import Parallel, delayed, parallel_config

    def calls(todo):  # no control block: run_sweep allows one with loky only
        return (delayed(run_task)(t.query) for t in todo)

    client, cluster = dask_client(workers, scheduler)
    try:
        with parallel_config(backend="dask", client=client):
            parallel = Parallel(n_jobs=-1, batch_size=1, return_as="generator_unordered")
            yield lambda todo: parallel(calls(todo))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# The loky pool of the sweeps without a control block: kept for the process's next sweep (a script's, a
# notebook's), since starting the processes takes longer than a small sweep's work. Not the training pool.
_SHARED = Pool(name="sweep")


def _pool(processes: int, control: Control | None):
    """The pool a loky sweep runs on: the shared one, or with a control block one of the sweep's own, ended with
    it. A server runs several sweeps at once: on a shared pool a paused sweep's tasks (waiting inside their
    processes) would hold up another's, and killing one's processes would end the other's tasks too."""
    if control is not None:
        return Pool(processes, name="sweep")
    _SHARED.processes = processes
    return contextlib.nullcontext(_SHARED)


# Dask settings of a sweep's LocalCluster, each a background cost that takes CPU from the training and that no
# sweep needs at Dask's default rate: the workers run without Dask's statistical profiler, which samples every
# thread's stack every 10 ms for Dask's dashboard; every process's event loop is checked for blocking every
# second instead of every 20 ms (warnings of a blocked loop still come after its 3 s limit); workers poll their
# memory every second instead of every 100 ms (a worker past its memory limit is stopped up to a second later:
# a sweep task's memory is bounded by its own grouping); the system monitor samples every 5 s instead of 0.5 s
# (it feeds the dashboard only). bench/j4.py measures what each is worth on J4 (bench/RESULTS.md). On a cluster
# of your own, they belong in the workers' and scheduler's Dask configuration.
CLUSTER_CONFIG = {"distributed.worker.profile.enabled": False,
                  "distributed.admin.tick.interval": "1s",
                  "distributed.worker.memory.monitor-interval": "1s",
                  "distributed.admin.system-monitor.interval": "5s"}


def local_cluster(workers: int, settings: dict | None = None):
    """A Dask LocalCluster of ``workers`` single-threaded processes with ``settings`` (Dask configuration,
    default CLUSTER_CONFIG; bench/j4.py also times it without each of CLUSTER_CONFIG's)."""
    import dask
    from dask.distributed import LocalCluster
    with dask.config.set(CLUSTER_CONFIG if settings is None else settings):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=logging.ERROR)


def dask_client(workers: int | None, scheduler: str | None):
    """(client, cluster): a client of the scheduler at ``scheduler``, or of a LocalCluster of ``workers``
    single-threaded processes started here (``cluster``, None for a scheduler's). An address that does not
    answer is a ValueError naming it."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise ValueError("backend: got 'dask'; allowed: loky, unless dask[distributed] is installed "
                         "(pip install -r requirements-dev.txt)") from None
    if scheduler is not None:
        from distributed.comm.addressing import parse_address, parse_host_port
        allowed = "the address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786"
        try:  # a malformed address is refused before a Client exists (a half-made one complains as it is freed)
            parse_host_port(parse_address(scheduler, strict=False)[1])
        except (ValueError, TypeError) as e:
            raise ValueError(f"scheduler: got {scheduler!r}; allowed: {allowed} ({e})") from None
        try:
            return Client(scheduler, timeout=SCHEDULER_TIMEOUT_S, set_as_default=False), None
        except (OSError, TimeoutError) as e:
            raise ValueError(f"scheduler: got {scheduler!r}; allowed: {allowed} (none answered there within "
                             f"{SCHEDULER_TIMEOUT_S} s: {type(e).__name__})") from None
    cluster = local_cluster(workers or cpu_count())
    try:
        return Client(cluster, set_as_default=False), cluster
    except BaseException:
        cluster.close()
        raise


if __name__ == "__main__":  # python -m core.sweeps.sweep ...: the command line lives in core.sweeps.sweep_cli
    import sys

    from core.sweeps.sweep_cli import main
    sys.exit(main())
