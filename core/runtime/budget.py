"""How long and how much memory a configuration will take, and the limits a public server accepts.

A shared link is untrusted input: before anything trains, ``estimate`` predicts the run's seconds on the
reference machine (2 cores), its peak memory and the rows its tables will hold, and ``check`` refuses a
configuration past a limit, naming the estimate and the limit.

The time is a model of what a run really does, term by term, each counted from the configuration the way
the trainer does it (core.nn.trainer, core.measure.probes, core.measure.frames):

- matrix products: their FLOPs (float64 runs at about half float32's rate), the weights each per-model
  product streams (a batch of one reads a whole matrix for a vector's worth of arithmetic), and one call per
  model (NumPy loops over the stacked models, so 176 models make 176 small BLAS calls per product);
- elementwise work per element of every layer, by activation and dtype: the NumPy primitives its forward and
  derivative call, traced on a few values (core.runtime.trace), each priced per element (``PRIMITIVE_NS``:
  GELU's erf and softplus's logaddexp cost far more than ReLU's maximum), plus the bias, loss and delta passes;
- the optimizer's passes over every parameter of every model, per step;
- a fixed cost per NumPy call: per layer-step, a run with batch 1 on 16,000 samples makes millions;
- the probes at each recorded epoch (forward and backward on the probe batch, statistics of every value,
  passes over the parameters, unit distances, the decision-boundary grid) and the rows the tables get;
- the distinct-unit counts at each record, at their worst case whatever the weights turn out to be (a link
  controls how alike its units are: near-copies, identity rows, weights at the tolerance's scale under a
  constant bias), call by call as core.measure.probes groups them;
- the initialization, on the server before training: each scheme's draw, traced the same way (the values each
  numpy.random.Generator method draws, ``DRAW_NS``, and the primitives applied to them), QR factorizations
  (orthogonal, LSUV) by their Householder count, ZerO's Hadamard matrices, LSUV's iterations;
- the split over the worker processes (``trainer.auto_groups``): training work divided by the groups, the
  data, the initial weights and the tables on one core.

The memory adds the stacks that travel to the worker processes and back.

The coefficients (``TIME``, ``MEMORY``) are fitted by ``python bench/adversarial.py --fit`` from measured
runs on the reference machine, except those ``--calibrate`` times one at a time (products, NumPy primitives,
unit counts, Generator methods and the rest of the initialization, the probes' passes); ``bench/adversarial.py``
then searches for the admitted configuration whose measured time and memory exceed their estimates the most;
bench/results/adversarial.md records it.

The limits (``Limits``) are the public server's by default (``PUBLIC``); a self-hosted server sets its own
(``limits_from``: environment variables or the ``[initlab]`` section of ``.streamlit/secrets.toml``).
"""
from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, fields, replace
from typing import Mapping

import numpy as np

from core import datasets
from core.i18n import N_, _, clauses
from core.measure.probes import GRID, KINDS, MAX_UNITS, N_BINS, PAIRS_AT_ONCE, PROBE_SIZE, ProbeSession, unit_groups
from core.nn import activations
from core.nn.trainer import BLAS_THREADS_MIN_MFLOP, MAX_CURVE_POINTS, Evaluator, TrainSettings
from core.nn.trainer import auto_groups, batch_size, record_epochs, step_mflop, steps
from core.runtime.trace import Call, CountingGenerator, trace

REFERENCE_CORES = 2  # the public server's CPUs: estimates are for them, whatever machine computes them

# Nanoseconds per element of each NumPy primitive the registry's activations and weight schemes call
# (core.runtime.trace: a ufunc or NumPy function per element it produces, "copy" and "fill" per element
# written), float32 and float64, on the reference machine: python bench/adversarial.py --calibrate products.
# A ufunc is timed writing into a given array; the result it allocates when given none costs ALLOCATION's price
# more; a NumPy function (where, clip, argsort) is timed as called, its result included. An activation's cost is
# the sum over the calls its forward and derivative make (``activation_ns``); a primitive not in the table is
# priced as the costliest in it, so a new activation or scheme is never priced below it.
PRIMITIVE_NS: dict[str, dict[str, float]] = {
    "float32": {"add": 0.33, "argsort": 30.8, "clip": 1.91, "copy": 0.23, "diag": 0.02, "divide": 0.34,
                "erf": 15.6, "exp": 0.48, "expit": 3.88, "expm1": 0.46, "fill": 0.09, "greater": 0.4,
                "log": 0.38, "log1p": 0.55, "logaddexp": 21.33, "maximum": 0.33, "minimum": 0.35,
                "multiply": 0.3, "ndtri": 14.25, "sign": 0.55, "sqrt": 0.35, "square": 0.2, "subtract": 0.34,
                "tanh": 0.37, "where": 4.21, "allocation": 0.39},
    "float64": {"add": 0.68, "argsort": 34.58, "clip": 3.65, "copy": 0.61, "diag": 0.02, "divide": 0.72,
                "erf": 15.52, "exp": 0.97, "expit": 6.05, "expm1": 1.39, "fill": 0.27, "greater": 0.84,
                "log": 1.01, "log1p": 1.2, "logaddexp": 23.21, "maximum": 0.74, "minimum": 0.81,
                "multiply": 0.72, "ndtri": 13.64, "sign": 0.59, "sqrt": 1.17, "square": 0.45, "subtract": 0.69,
                "tanh": 1.73, "where": 4.66, "allocation": 2.69},
}
# Nanoseconds per value of each numpy.random.Generator method (float64), on the reference machine: python
# bench/adversarial.py --calibrate init. A weight scheme's draw is priced by the values its sampler draws and
# the primitives it applies to them (``draw_ns``); a method not in the table as the costliest in it.
DRAW_NS: dict[str, float] = {"standard_normal": 9.38, "normal": 10.48, "uniform": 3.06, "random": 2.18,
                              "integers": 2.42, "permutation": 10.61, "choice": 2.46, "exponential": 4.97}
ALLOCATION = "allocation"  # PRIMITIVE_NS's entry for a fresh result: its pages written for the first time
HADAMARD_NS = 1.9  # ns per value of ZerO's p x p Hadamard matrix, built and scaled for a layer that widens
# Passes over the (K, P) parameters per step: the finiteness check, the update, its temporaries.
OPTIMIZER_PASSES = {"sgd": 3, "momentum": 5, "adam": 13}
# NumPy calls per layer of a step (forward, backward, their buffers) and per step beyond the layers.
CALLS_PER_LAYER_STEP = 9
CALLS_PER_STEP = 25

# Seconds per unit of each term of the model (``time_terms``): fitted by bench/adversarial.py --fit to the
# CPU times of 110 random runs (0.5 to 10 s estimated) on the reference machine, 2026-12-07, leaving out the
# runs with large biases (their unit counts come near the worst case, priced on its own), on top of the
# calibrated terms below; bench/results/adversarial.md has the fit's errors.
TIME: dict[str, float] = {
    "gflop32": 0.01096,  # s per GFLOP of float32 products (calibrated: 12 x (128 x 256 by 256 x 256))
    "gflop64": 0.02394,  # s per GFLOP of float64 products (calibrated: the same in float64)
    "weight_gb": 0.01728,  # s per GB of weights streamed by per-model products
    "model_calls": 1.044e-07,  # s per per-model product call
    "activation_s": 1.0,  # x the activations' priced seconds (calibrated: PRIMITIVE_NS is measured)
    "elem_gb": 0.04759,  # s per GB of other elementwise passes
    "param_gb": 0.05191,  # s per GB of optimizer passes
    "numpy_calls": 8.563e-07,  # s per NumPy call
    "probe_values": 6.04e-09,  # s per probed value (statistics and histograms), calibrated
    "model_records": 2.001e-06,  # s per model and record (per-model work of the probes, the records' trip back)
    "train_fixed": 0.0,  # s per worker group and run (buffers, the trip to a worker and back)
    "rows": 1.484e-07,  # s per table row (on the server, after training)
    "fixed": 0.0499,  # s per run: data
    # calibrated (python bench/adversarial.py --calibrate, on the reference machine), not fitted:
    "probe_gb": 0.0902,  # s per GB read or written by the probes' passes over the parameters (``probe_bytes``)
    # a distinct-unit count's worst case (``unit_terms``), an upper envelope of the costliest layers timed
    "unit_calls": 9.84e-05,  # s per count of a layer in a worker group
    "unit_stacked_steps": 2.5e-05,  # s per step of a small layer's count (every model at once)
    "unit_stacked": 1.09e-09,  # s per value compared there (m^2 d a model)
    "unit_steps": 1.54e-05,  # s per row of a wide layer's greedy count
    "unit_pairs": 9.41e-09,  # s per pair of rows (the screen's Gram matrix, the windows' rows)
    "unit_weights": 5.85e-08,  # s per value of the rows counted by weights (their passes, the windows' stages)
    "unit_outputs": 1.17e-08,  # s per value of the rows counted by function
    "init_values": 2.25e-09,  # s per initial weight, beyond its scheme's draw (draw_ns): the stack's own passes
    "init_draw_s": 1.0,  # x the draws' priced seconds (calibrated: DRAW_NS and PRIMITIVE_NS are measured)
    "init_qr_gflop": 0.0526,  # s per GFLOP of QR factorizations (orthogonal, LSUV's start), ``qr_gflop``
    "init_gflop": 0.0179,  # s per GFLOP of LSUV's float64 products
    "init_outputs": 2.08e-09,  # s per output LSUV computes (its bias and its layer's variance)
    "init_spill": 2.5e-09,  # s more per output of a layer whose outputs outgrow LSUV_CACHE_BYTES
    "init_weights": 2.98e-09,  # s per weight LSUV rescales
}
# Bytes of peak memory (server and workers, above their idle baseline) per unit of each term of
# ``memory_terms``: fitted by bench/adversarial.py --fit to the same runs' peaks, then scaled so that the
# median run is at its estimate.
MEMORY: dict[str, float] = {
    "arrays": 0.79,  # x the parameters, optimizer state, buffers and evaluation chunks counted
    "rows": 124.0,  # bytes per table row (the frames, and the records they are built from)
    "fixed": 33e6,  # bytes per run
    # per byte of the stacks that cross to the worker processes and back (``memory_terms``): each held as
    # pickled bytes on both sides and unpickled once (measured: 4 orthogonal 1024-wide models, 2 groups, took
    # 6 float32 stacks more than in one process)
    "transfer": 3.0,
}


# How far short of the measured time and memory the estimate fell among the runs near a limit (measured /
# estimated, the worst), as the last full adversarial search found: bench/adversarial.py writes this line.
ESTIMATE_ERROR = {"time": 1.38, "memory": 1.27}
IDLE_MB = 400.0  # server and workers, idle (bench/server_memory.py)


def promise(limits: "Limits") -> tuple[float, float]:
    """The largest admitted run's seconds and the server's MB that ``limits`` and ESTIMATE_ERROR bound."""
    return (limits.seconds * ESTIMATE_ERROR["time"] if limits.seconds is not None else math.inf,
            IDLE_MB + limits.memory_mb * ESTIMATE_ERROR["memory"] if limits.memory_mb is not None else math.inf)


@dataclass(frozen=True)
class Limits:
    """What one server accepts. ``seconds``, ``memory_mb`` and ``frame_rows`` bound one run's estimate
    (``check``); ``run_seconds`` caps a run's running time on the server and ``jobs_mb`` the memory estimates
    of the runs started at once (app.scheduler). None: no limit.

    The public defaults: bench/adversarial.py searches for the admitted runs the model underestimates most
    (bench/results/adversarial.md) and writes how far short it fell (``ESTIMATE_ERROR``); 35 s times the time
    error keeps the largest admitted run under a minute, and 650 MB times the memory error keeps server and
    workers (about 400 MB idle) under 1.5 GB (``promise``). On a 2.7 GB host, 900 MB of runs at once (one
    large run and small ones) leave room for the server, the 600 MB results cache, the workers of paused
    runs and the sessions.
    """
    seconds: float | None = 35.0
    memory_mb: float | None = 650.0
    frame_rows: int | None = 3_000_000
    run_seconds: float | None = 120.0
    jobs_mb: float | None = 900.0


PUBLIC = Limits()
NONE = Limits(None, None, None, None, None)
ENV_PREFIX = "INITLAB_"  # INITLAB_SECONDS=60, INITLAB_MEMORY_MB=none, ...


def limits_from(settings: Mapping[str, object], base: Limits = PUBLIC) -> Limits:
    """``base`` with the values in ``settings`` (field name -> a number, or "none" for no limit); raises
    ValueError naming a bad name or value."""
    known = {f.name: f for f in fields(Limits)}
    changes = {}
    for name, raw in settings.items():
        if name not in known:
            raise ValueError(f"limits: unknown setting {name!r}; allowed: {', '.join(known)}")
        if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("none", "off", "")):
            changes[name] = None
            continue
        try:
            value = float(raw) if not isinstance(raw, bool) else math.nan
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"limits: {name} got {raw!r}; allowed: a positive number, or none")
        changes[name] = int(value) if name == "frame_rows" else value
    return replace(base, **changes)


def limits_from_env(environ: Mapping[str, str] = os.environ, base: Limits = PUBLIC) -> Limits:
    """``base`` with the INITLAB_<FIELD> environment variables (INITLAB_SECONDS, INITLAB_MEMORY_MB,
    INITLAB_FRAME_ROWS, INITLAB_RUN_SECONDS, INITLAB_JOBS_MB)."""
    return limits_from({f.name: environ[ENV_PREFIX + f.name.upper()] for f in fields(Limits)
                        if ENV_PREFIX + f.name.upper() in environ}, base)


def limit_note(value, fmt: str) -> str:
    """" (limit 35 s)" after an estimate, in the visitor's language; "" where there is no limit."""
    return "" if value is None else _(" (limit {value})").format(value=fmt.format(value))


@dataclass(frozen=True)
class Estimate:
    models: int
    params_per_model: int
    n_train: int
    gflop: float  # matrix-product FLOPs of training, evaluation and probes
    frame_rows: int
    param_mb: float  # parameters, gradients, optimizer state and buffers of all models
    layer_steps: int  # layers x (optimizer steps + evaluation chunks)
    seconds: float  # estimated running time on the reference machine
    memory_mb: float  # estimated peak memory above the server's and workers' baseline
    groups: int  # worker groups the training is divided over
    cores: int  # cores the training keeps busy

    def describe(self, limits: Limits = PUBLIC) -> str:
        """The estimate and the limits, in the current language (core.i18n: the visitor's on a page)."""
        return _("{models} models x {params} parameters, {samples} training samples: about {seconds} s on this "
                 "server{seconds_limit} and {memory} MB of memory{memory_limit}, {rows} result rows{rows_limit}"
                 ).format(
            models=self.models, params=f"{self.params_per_model:,}", samples=f"{self.n_train:,}",
            seconds=f"{self.seconds:,.0f}", seconds_limit=limit_note(limits.seconds, "{:,.0f} s"),
            memory=f"{self.memory_mb:,.0f}", memory_limit=limit_note(limits.memory_mb, "{:,.0f} " + _("MB")),
            rows=f"{self.frame_rows:,}", rows_limit=limit_note(limits.frame_rows, "{:,}"))


@dataclass(frozen=True)
class Shape:
    """What the cost model reads of a configuration, computed as the trainer computes it."""
    k: int
    sizes: tuple[int, ...]
    n_train: int
    n_test: int
    batch: int
    steps: int  # optimizer steps
    curve_points: int
    records: int
    item: int  # bytes per float
    groups: int  # worker groups training work is divided over
    cores: int  # cores the run keeps busy: its groups, or BLAS's threads for one large stack in one group
    grid: bool  # 2-D classification: the decision-boundary grid is probed

    @property
    def layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def weights(self) -> int:
        return sum(a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def params(self) -> int:
        return self.weights + sum(self.sizes[1:])

    @property
    def hidden(self) -> tuple[int, ...]:
        return self.sizes[1:-1]


def sizes(config) -> tuple[int, ...]:
    _, n_in, n_out = datasets.get(config.dataset).dims(config.n_samples, config.features, config.classes)
    return (n_in, *config.widths, n_out)


def shape(config, grid: bool = True) -> Shape:
    """The run's dimensions. ``grid=False``: probes without the decision-boundary grid (a sweep's tasks)."""
    spec = datasets.get(config.dataset)
    n, n_in, n_out = spec.dims(config.n_samples, config.features, config.classes)
    s = (n_in, *config.widths, n_out)
    n_test = math.ceil(n * config.test_size)
    n_train = n - n_test
    settings = TrainSettings(batch_size=config.batch_size, epochs=config.epochs)
    batch, n_steps, k = batch_size(settings, n_train), steps(settings, n_train), len(config.models)
    groups = auto_groups(k, s, batch, n_steps, cores=REFERENCE_CORES)
    cores = REFERENCE_CORES if groups > 1 or step_mflop(k, s, batch) >= BLAS_THREADS_MIN_MFLOP else 1
    return Shape(k, s, n_train, n_test, batch, n_steps, min(config.epochs, MAX_CURVE_POINTS) + 1,
                 len(record_epochs(config.epochs, config.record_epochs)), 4 if config.dtype == "float32" else 8,
                 groups, cores, grid and n_in == 2 and spec.task == "classification")


def eval_chunk(sh: Shape) -> int:
    """Samples per evaluation chunk, as the trainer cuts them (core.nn.trainer.Evaluator)."""
    return Evaluator.chunk(sh.k, sh.sizes, max(sh.n_train, sh.n_test))


def frame_rows(sh: Shape) -> int:
    """Rows of every table: per record and model, the layer statistics and histograms, gradient norms,
    distances from the start, distinct units, unit distances and the boundary grid; the curves; the data."""
    units = [min(w, MAX_UNITS) for w in sh.sizes[1:]]
    per_record = (sh.layers * (len(KINDS) * (N_BINS + 1) + 3) + sum(u * u for u in units)
                  + (GRID * GRID if sh.grid else 0))
    return sh.k * (sh.records * per_record + 2 * sh.curve_points + 1) + sh.n_train + sh.n_test


def _products(sh: Shape, rows: int, backward: bool) -> tuple[float, float, float]:
    """(FLOPs, bytes of weights streamed, per-model calls) of one forward (and backward) pass of every model
    over ``rows`` samples."""
    flop = weight_bytes = calls = 0.0
    for i, (a, c) in enumerate(zip(sh.sizes[:-1], sh.sizes[1:])):
        flop += 2.0 * rows * a * c
        weight_bytes += a * c * sh.item
        calls += 1
        if backward:
            flop += 2.0 * rows * a * c + 2.0 * rows * c  # the weight gradient, the bias gradient
            calls += 2
            if i:  # the delta of the layer below
                flop += 2.0 * rows * a * c
                weight_bytes += a * c * sh.item
                calls += 1
    return sh.k * flop, sh.k * weight_bytes, sh.k * calls


def primitive_ns(dtype: str, primitive: str) -> float:
    """ns per element of a NumPy primitive; one not timed (a new activation's or scheme's) as the costliest."""
    table = PRIMITIVE_NS[dtype]
    return table.get(primitive, max(table.values()))


def _per_element(calls, elements: int, dtype: str) -> float:
    """ns per element of ``calls`` made on ``elements`` values: each primitive's price, and ALLOCATION's for the
    results a ufunc allocates."""
    return sum((primitive_ns(dtype, c.primitive) + (primitive_ns(dtype, ALLOCATION) if c.fresh else 0.0))
               * c.elements for c in calls) / elements


TRACE_SHAPE = (4, 8)  # the pre-activations an activation is traced on


@functools.lru_cache(maxsize=None)  # keyed by the registry entry itself: a new entry of the same name is traced anew
def activation_calls(act, dtype: str) -> tuple[tuple, tuple]:
    """The NumPy calls (core.runtime.trace.Call) of ``act``'s forward and derivative, on TRACE_SHAPE values
    from -3 to 3. A function whose work the trace cannot see at all (it strips the arrays to plain ndarrays
    first) counts as one call of an unknown primitive, priced as the costliest."""
    z = np.linspace(-3, 3, math.prod(TRACE_SHAPE), dtype=dtype).reshape(TRACE_SHAPE)
    a = act.forward(z.copy(), np.empty_like(z))
    unseen = (Call("unseen", z.size),)
    return (tuple(trace(act.forward, z, np.empty_like(z))) or unseen,
            tuple(trace(act.derivative, z, a, np.empty_like(z))) or unseen)


def activation_ns(dtype: str, name: str) -> tuple[float, float]:
    """ns per element of the activation's forward and derivative: the primitives they call, priced by
    PRIMITIVE_NS."""
    forward, derivative = activation_calls(activations.get(name), dtype)
    n = math.prod(TRACE_SHAPE)
    return _per_element(forward, n, dtype), _per_element(derivative, n, dtype)


def activation_call_counts(name: str) -> tuple[int, int]:
    """NumPy calls of the activation's forward and derivative: for small layers each call's fixed cost, not
    the elements, is the price."""
    forward, derivative = activation_calls(activations.get(name), "float32")
    return len(forward), len(derivative)


def _activation_s(sh: Shape, dtype: str, act: str, rows: int, backward: bool) -> float:
    forward_ns, derivative_ns = activation_ns(dtype, act)
    # backward: the derivative, and the delta multiplied by it (core.nn.network.mul_derivative)
    per = forward_ns + (derivative_ns + primitive_ns(dtype, "multiply") if backward else 0.0)
    return sh.k * rows * sum(sh.hidden) * per * 1e-9


def time_terms(config, sh: Shape | None = None) -> dict[str, float]:
    """The model's terms, in the units of ``TIME``; "rows" and "fixed" run on the server after training, the
    rest is training, split over ``sh.groups`` worker processes."""
    sh = sh or shape(config)
    n = sh.n_train + sh.n_test
    dtype, act = config.dtype, config.activation
    chunk = eval_chunk(sh)
    chunks = math.ceil(sh.n_train / chunk) + math.ceil(sh.n_test / chunk)
    probe_rows = min(PROBE_SIZE, sh.n_train)
    grid_rows = GRID * GRID if sh.grid else 0

    # training steps
    f, wb, calls = _products(sh, sh.batch, backward=True)
    flop, weight_bytes, model_calls = f * sh.steps, wb * sh.steps, calls * sh.steps
    activation = _activation_s(sh, dtype, act, sh.batch, True) * sh.steps
    units = sum(sh.sizes[1:])
    elems = sh.k * sh.batch * (2 * units + 2 * sum(sh.hidden) + 10 * sh.sizes[-1]) * sh.steps
    act_fwd, act_back = activation_call_counts(act)
    hidden = len(sh.hidden)
    numpy_calls = sh.groups * sh.steps * (CALLS_PER_STEP + CALLS_PER_LAYER_STEP * sh.layers
                                          + (act_fwd + act_back) * hidden)
    param_bytes = sh.k * sh.params * sh.item * OPTIMIZER_PASSES[config.optimizer] * sh.steps
    if config.weight_decay:
        param_bytes += 2 * sh.k * sh.params * sh.item * sh.steps
    # curve points: both splits forward, in chunks
    f, wb, calls = _products(sh, n, backward=False)
    flop += f * sh.curve_points
    weight_bytes += wb * chunks * sh.curve_points
    model_calls += calls * chunks * sh.curve_points
    activation += _activation_s(sh, dtype, act, n, False) * sh.curve_points
    elems += sh.k * n * (units + 10 * sh.sizes[-1]) * sh.curve_points
    numpy_calls += sh.groups * sh.curve_points * chunks * (4 + 3 * sh.layers + act_fwd * hidden)
    # probes: forward and backward on the probe batch, the grid forward, statistics of every value
    f, wb, calls = _products(sh, probe_rows, backward=True)
    fg, wg, cg = _products(sh, grid_rows, backward=False)
    flop += (f + fg) * sh.records
    weight_bytes += (wb + wg * math.ceil(grid_rows / ProbeSession.GRID_CHUNK)) * sh.records
    model_calls += (calls + cg * math.ceil(grid_rows / ProbeSession.GRID_CHUNK)) * sh.records
    activation += (_activation_s(sh, dtype, act, probe_rows, True) * 2
                   + _activation_s(sh, dtype, act, grid_rows, False)) * sh.records
    probe_values = sh.k * sh.records * len(KINDS) * probe_rows * units  # statistics and histograms
    grid_chunks = math.ceil(grid_rows / ProbeSession.GRID_CHUNK)
    numpy_calls += sh.groups * sh.records * (60 + 40 * sh.layers + (3 * act_fwd + 2 * act_back) * hidden
                                             + grid_chunks * (4 + act_fwd) * sh.layers)
    probe_values += sh.k * sh.records * grid_rows * (sh.sizes[-1] + 4)  # the grid's classes and probabilities
    gflop = flop / 1e9
    return {
        "gflop32": gflop if dtype == "float32" else 0.0,
        "gflop64": gflop if dtype == "float64" else 0.0,
        "weight_gb": weight_bytes / 1e9,
        "model_calls": model_calls,
        "activation_s": activation,
        "elem_gb": elems * sh.item / 1e9,
        "param_gb": param_bytes / 1e9,
        "numpy_calls": numpy_calls,
        "probe_values": probe_values,
        "probe_gb": probe_bytes(sh) / 1e9,
        "model_records": sh.k * sh.records,
        "train_fixed": sh.groups,
        **unit_terms(sh),
        "rows": frame_rows(sh),
        "fixed": 1.0,
        **init_terms(config, sh),
    }


def probe_bytes(sh: Shape) -> float:
    """Bytes the records' passes over the parameters read and write (core.measure.probes.ProbeSession._record): the
    gradients' zeroed array; per layer the distance from the start (a float64 difference, squared and
    summed) and the squared gradients summed by weights and biases; the units' incoming weights copied into
    float64 rows for their distances and count; the first MAX_UNITS units' close pairs as differences."""
    per_param = 4 * sh.item + 72  # item; item + 8 + 8, 8 + 8, 8; item + 8, 8; 8, item + 8
    pairs = sum(min(w, MAX_UNITS) ** 2 * (a + 1) for a, w in zip(sh.sizes[:-1], sh.sizes[1:])) * 8 * 3
    return sh.k * sh.records * (sh.params * per_param + pairs)


def unit_terms(sh: Shape) -> dict[str, float]:
    """The distinct-unit counts at the records (core.measure.probes.distinct_units_stack), by weights (each unit's
    fan_in + 1 incoming values, in float64) and by function (its outputs on the probe batch), every layer
    of every model (output included), in the calls each worker group makes (core.measure.probes.unit_groups: layers
    of one width together, padded to the widest input), each priced by ``count_terms`` at its worst case,
    whatever the weights turn out to be."""
    probe_rows = min(PROBE_SIZE, sh.n_train)
    k = math.ceil(sh.k / sh.groups)  # a worker group's models
    by_weights, by_function = unit_groups(k, sh.sizes, probe_rows, ProbeSession.UNIT_GROUP_VALUES)
    calls = [(len(layers), sh.sizes[layers[0] + 1], d, True) for layers, d in by_weights]
    calls += [(len(layers), sh.sizes[layers[0] + 1], probe_rows, False) for layers in by_function]
    out = count_terms(0, 0, 0, 0, True)
    for n_layers, m, d, weights in calls:
        for name, v in count_terms(n_layers * k, m, d, 1, weights).items():
            out[name] += v * sh.records * sh.groups
    return out


def count_terms(k: int, m: int, d: int, groups: int, weights: bool) -> dict[str, float]:
    """One record's count of a layer of m units of d values each in k models (split over ``groups``): a fixed
    cost per call; the screen's passes over the values and its m^2 pairs of each model; then, in the worst
    case (every unit a near-copy of others), a small layer's m steps over every model's m^2 d values at once
    (core.measure.probes._stacked_greedy_count), or a wide layer's greedy count of each model: a step per row, and
    rows of a window compared a few columns at a time (core.measure.probes._greedy_count, at most about LEAD_COLUMNS
    values per pair). bench/adversarial.py --calibrate counts times the costliest layers it knows for the
    coefficients (an upper envelope)."""
    names = ("unit_calls", "unit_stacked_steps", "unit_stacked", "unit_steps", "unit_pairs", "unit_weights",
             "unit_outputs")
    out = dict.fromkeys(names, 0.0)
    if m <= 1 or k == 0:
        return out
    out["unit_calls"] = groups
    out["unit_pairs"] = k * m * m
    out["unit_weights" if weights else "unit_outputs"] = k * m * d
    if m * d <= PAIRS_AT_ONCE:
        out["unit_stacked_steps"] = groups * m
        out["unit_stacked"] = k * m * m * d
    else:
        out["unit_steps"] = k * m
    return out


def qr_gflop(rows: int, cols: int) -> float:
    """A QR factorization's work as NumPy's reduced QR does it (LAPACK's geqrf, then orgqr for Q): the
    Householder count 2 (2 m n^2 - 2 n^3 / 3) for m >= n, scaled by (1 + QR_NARROW / n): a blocked
    factorization runs its panels (level-2 BLAS) at a fraction of its updates' rate, a share that grows as
    n shrinks (bench/adversarial.py --calibrate measures both)."""
    m, n = max(rows, cols), min(rows, cols)
    return 2.0 * (2.0 * m * n * n - 2.0 * n ** 3 / 3) * (1 + QR_NARROW / n) / 1e9


QR_NARROW = 66.0  # the narrow side at which QR runs at half its large-matrix rate (calibrated)
LSUV_CACHE_BYTES = 16e6  # a layer's LSUV outputs (every model, float64) past this no longer stay in cache


TRACE_LAYER = (64, 48)  # the (fan_in, fan_out) a weight scheme's draw is traced on
PRICED_APART = ("qr",)  # QR factorizations: priced by ``qr_gflop``, not per weight


@functools.lru_cache(maxsize=None)  # keyed by the sampler too: a new entry of the same name is traced anew
def draw_calls(name: str, sampler, params: tuple) -> tuple[tuple, tuple]:
    """(the numpy.random.Generator methods the scheme's sampler calls, with the values each draws; the NumPy
    calls it makes on them), as core.runtime.trace records them on a TRACE_LAYER layer."""
    from core.nn.initializers import sample
    rng = CountingGenerator()
    sample(name, *TRACE_LAYER, rng=rng, **dict(params))
    return tuple(rng.draws), tuple(rng.tracer.calls)


def draw_ns(name: str, params: dict) -> tuple[float, bool]:
    """ns per weight of a scheme's draw (its Generator methods priced by DRAW_NS, a method not timed as the
    costliest; the primitives it applies to them by PRIMITIVE_NS, float64), and whether it factorizes (QR)."""
    from core.nn.initializers import INITIALIZERS
    draws, calls = draw_calls(name, INITIALIZERS[name].sampler, tuple(sorted(params.items())))
    drawn = sum(DRAW_NS.get(c.primitive, max(DRAW_NS.values())) * c.elements for c in draws)
    applied = _per_element([c for c in calls if c.primitive not in PRICED_APART], 1, "float64")
    return (drawn + applied) / math.prod(TRACE_LAYER), any(c.primitive == "qr" for c in calls)


def init_terms(config, sh: Shape) -> dict[str, float]:
    """The initialization's work, per model and layer, by scheme (core.experiment.initial_weights, on the
    server): every weight drawn (``draw_ns``) and copied into the stack; a QR factorization where the sampler
    makes one (orthogonal, LSUV's start); ZerO's Hadamard matrix for layers that widen (p x p values built and
    scaled, p the next power of two); LSUV's iterations on its batch, each a float64 product and its outputs'
    bias and variance, and a rescaling of the layer's weights: up to max_iter of them and a last product (with
    large random biases it runs them all)."""
    from core.config import parse_scheme
    from core.experiment import LSUV_SAMPLES
    from core.nn.initializers import INITIALIZERS, resolve_params
    pairs = list(zip(sh.sizes[:-1], sh.sizes[1:]))
    values = draw = qr = gemm = outputs = spill = weights = 0.0
    rows = min(LSUV_SAMPLES, sh.n_train)
    for label in config.schemes:
        name, params = parse_scheme(label)
        init = INITIALIZERS[name]
        values += config.seeds * sh.weights
        per_weight, factorizes = draw_ns(name, params)
        draw += config.seeds * sh.weights * per_weight * 1e-9
        if factorizes:
            qr += config.seeds * sum(qr_gflop(a, b) for a, b in pairs)
        if init.sampler.__name__ == "_zero_hadamard":
            hadamard = sum((2 ** math.ceil(math.log2(b))) ** 2 for a, b in pairs if b > a)
            draw += config.seeds * hadamard * HADAMARD_NS * 1e-9
        if init.data_dependent:
            iterations = resolve_params(name, config.activation, **params)["max_iter"]
            n = iterations + 1
            k = config.seeds * sum(1 for other in config.schemes if other == label)  # one stack per scheme
            gemm += k * n * sum(2.0 * rows * a * b for a, b in pairs)
            outputs += k * n * sum(rows * b for a, b in pairs)
            spill += k * n * sum(rows * b for a, b in pairs if k * rows * b * 8 > LSUV_CACHE_BYTES)
            weights += k * n * sum(a * b for a, b in pairs)
    return {"init_values": values, "init_draw_s": draw, "init_qr_gflop": qr, "init_gflop": gemm / 1e9,
            "init_outputs": outputs, "init_spill": spill, "init_weights": weights}


# run on the server, before or after training; the rest is training, over the groups
SERVER_TERMS = ("rows", "fixed", "init_values", "init_draw_s", "init_qr_gflop", "init_gflop", "init_outputs",
                "init_spill", "init_weights")


def seconds(terms: dict[str, float], groups: int, coef: Mapping[str, float] = TIME) -> float:
    train = sum(coef[name] * v for name, v in terms.items() if name not in SERVER_TERMS)
    return train / groups + sum(coef[name] * terms[name] for name in SERVER_TERMS)


def memory_terms(config, sh: Shape | None = None) -> dict[str, float]:
    """The memory model's terms, in the units of ``MEMORY``: the arrays alive at the training's peak (over
    all groups: the workers hold theirs at once), the table rows, a fixed part, the stacks that travel to
    and from the worker processes."""
    sh = sh or shape(config)
    n = sh.n_train + sh.n_test
    k, item, s = sh.k, sh.item, sh.sizes
    # (K, P) arrays alive during a run: weights, grads, scratch, two optimizer states, frozen copy,
    # checkpoint, initial weights in float64 on the server, results' initial and final, the probe session's
    # float64 initial weights and work layer
    copies = {"sgd": 8, "momentum": 9, "adam": 10}[config.optimizer]
    params = k * sh.params * (copies * item + 16)
    # training buffers per batch size (z and a per layer, two ping-pong deltas, the batch; a shorter last
    # batch gets its own set), the evaluator's two chunks, the probe batch's buffers and values in float64,
    # the grid's two chunk buffers
    sets = 1 if sh.n_train % sh.batch == 0 else 2
    per_sample = 2 * sum(sh.hidden) + s[-1] + 2 * max(sh.hidden, default=0) + s[0]
    buffers = sets * k * sh.batch * per_sample * item
    evaluation = 2 * k * min(n, eval_chunk(sh)) * max(s) * item
    probe_rows = min(PROBE_SIZE, sh.n_train)
    probes = k * probe_rows * (per_sample * item + 3 * sum(s[1:]) * 8 * 2)
    grid = k * min(GRID * GRID, ProbeSession.GRID_CHUNK) * 2 * (max(s) + 1) * item if sh.grid else 0
    # over worker groups, the initial weights go to the workers and the final ones come back
    transfer = 2 * k * sh.params * item if sh.groups > 1 else 0
    return {"arrays": params + buffers + evaluation + probes + grid, "rows": frame_rows(sh), "fixed": 1.0,
            "transfer": transfer}


def memory_bytes(terms: dict[str, float], coef: Mapping[str, float] = MEMORY) -> float:
    return sum(coef[name] * v for name, v in terms.items())


def estimate(config, grid: bool = True) -> Estimate:
    sh = shape(config, grid)
    t = time_terms(config, sh)
    m = memory_terms(config, sh)
    chunks = math.ceil((sh.n_train + sh.n_test) / eval_chunk(sh)) + 1
    layer_steps = sh.layers * (sh.steps + sh.curve_points * chunks)
    return Estimate(sh.k, sh.params, sh.n_train, t["gflop32"] + t["gflop64"], int(t["rows"]),
                    m["arrays"] / 1e6, layer_steps, seconds(t, sh.groups), memory_bytes(m) / 1e6, sh.groups,
                    sh.cores)


def over(e: Estimate, limits: Limits) -> bool:
    return bool(exceeded(e, limits))


def exceeded(e: Estimate, limits: Limits) -> list[str]:
    """What of ``e`` is past ``limits``, in plain words (no limit: nothing)."""
    out = []
    if limits.seconds is not None and e.seconds > limits.seconds:
        out.append(_("about {seconds} s of training (limit {limit} s)").format(
            seconds=f"{e.seconds:,.0f}", limit=f"{limits.seconds:,.0f}"))
    if limits.memory_mb is not None and e.memory_mb > limits.memory_mb:
        out.append(_("about {memory} MB of memory (limit {limit} MB)").format(
            memory=f"{e.memory_mb:,.0f}", limit=f"{limits.memory_mb:,.0f}"))
    if limits.frame_rows is not None and e.frame_rows > limits.frame_rows:
        out.append(_("tables of {rows} rows (limit {limit})").format(
            rows=f"{e.frame_rows:,}", limit=f"{limits.frame_rows:,}"))
    return out


LEAST_RECORDS = 2  # the fewest recorded epochs (config.FIELDS["record_epochs"]): epoch 0 and the last


@dataclass(frozen=True)
class Admission:
    """What a server trains for a configuration: ``config`` itself, or, when the detail its probes record is
    what is over a limit, the same configuration recording fewer epochs (``note`` says so)."""
    config: object
    estimate: Estimate
    asked: object  # the configuration as given

    @property
    def note(self) -> str | None:
        """One sentence for the page when fewer epochs are recorded than asked; None otherwise."""
        if self.config == self.asked:
            return None
        return _("To stay within this server's limits, this run records {recorded} epochs instead of {asked} "
                 "({control}).").format(recorded=recorded(self.config), asked=recorded(self.asked),
                                        control=_("Recorded epochs"))


def recorded(config) -> int:
    return len(record_epochs(config.epochs, config.record_epochs))


class Refused(ValueError):
    """A configuration over the time or memory limit even with the least recorded detail."""


def fits(config, limits: Limits) -> bool:
    """Within ``limits`` once its recorded detail is cut to the least (the most a server can cut)."""
    return not over(estimate(_least_detail(config)), limits)


def _least_detail(config):
    from core.config import replace
    return replace(config, record_epochs=min(config.record_epochs, LEAST_RECORDS))


def admit(config, limits: Limits = PUBLIC) -> Admission:
    """``config``, or the same with the most recorded epochs that bring it within ``limits``; Refused (its
    message names what is over and the one or two controls, with their values, that would fit) when even the
    least detail is over."""
    e = estimate(config)
    if not over(e, limits):
        return Admission(config, e, config)
    if not fits(config, limits):
        raise Refused(refusal(config, limits))
    from core.config import replace
    lo, hi = LEAST_RECORDS, config.record_epochs - 1  # lo fits, hi + 1 does not
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if over(estimate(replace(config, record_epochs=mid)), limits):
            hi = mid - 1
        else:
            lo = mid
    fitted = replace(config, record_epochs=lo)
    return Admission(fitted, estimate(fitted), config)


# The controls a refusal may suggest, as the sidebar names them: (field, label, +1 if a larger value costs
# less). Widths only when every layer has the same.
CONTROLS = (("epochs", N_("Epochs"), -1), ("seeds", N_("Seeds per scheme"), -1), ("n_samples", N_("Samples"), -1),
            ("depth", N_("Hidden layers"), -1), ("width", N_("Width"), -1), ("batch_size", N_("Batch size"), +1))


def _control(config, field: str, direction: int):
    """(current value, its allowed end in the cheaper direction, value -> configuration), or None where the
    control cannot be moved that way."""
    from core.config import FIELDS, replace
    if field == "width":
        if len(set(config.widths)) != 1:
            return None
        current, make = config.widths[0], (lambda v: replace(config, width=(v,)))
    elif field == "batch_size":
        current, make = shape(config).batch, (lambda v: replace(config, batch_size=v))
    else:
        current, make = getattr(config, field), (lambda v: replace(config, **{field: v}))
    end = int(FIELDS[field].lo) if direction < 0 else shape(config).n_train
    if (end >= current) if direction < 0 else (end <= current):
        return None
    return current, end, make


def _fits(make, *values, limits: Limits) -> bool:
    try:
        return fits(make(*values), limits)
    except ValueError:  # a value the configuration refuses (too few samples for its classes, say)
        return False


def _scaled(current: int, end: int, direction: int, f: float) -> int:
    """``current`` moved a fraction ``f`` of the way from the current value to ``end`` (in log space)."""
    v = current * (end / current) ** f
    return max(end, math.ceil(v)) if direction < 0 else min(end, math.floor(v))


@functools.lru_cache(maxsize=256)  # a refused link is refused again at every rerun of its page
def suggestions(config, limits: Limits) -> list[list[tuple[str, int]]]:
    """Changes, each a list of (control label, value), that bring ``config`` within ``limits``: the two
    single controls that change it least, or, when none does alone, the pair that does with the least change
    to both."""
    moves = {field: (label, direction, _control(config, field, direction)) for field, label, direction in CONTROLS}
    moves = {field: m for field, m in moves.items() if m[2] is not None}
    single = []
    for field, (label, direction, (current, end, make)) in moves.items():
        f = _least_move(lambda f: _fits(make, _scaled(current, end, direction, f), limits=limits))
        if f is not None:
            single.append((f, [(label, _scaled(current, end, direction, f))]))
    if not single:
        fields = list(moves)
        for i, a in enumerate(fields):
            for b in fields[i + 1:]:
                (la, da, (ca, ea, _ma)), (lb, db, (cb, eb, _mb)) = moves[a], moves[b]
                make = _pair(config, a, b)

                def ok(f):
                    return _fits(make, _scaled(ca, ea, da, f), _scaled(cb, eb, db, f), limits=limits)
                f = _least_move(ok)
                if f is not None:
                    single.append((f, [(la, _scaled(ca, ea, da, f)), (lb, _scaled(cb, eb, db, f))]))
        single = sorted(single, key=lambda s: s[0])[:1]
    single.sort(key=lambda s: s[0])
    return [changes for _f, changes in single[:2]]


def _pair(config, a: str, b: str):
    def make(va, vb):
        first = _control(config, a, -1 if a != "batch_size" else 1)[2](va)
        return _control(first, b, -1 if b != "batch_size" else 1)[2](vb)
    return make


def _least_move(ok, steps: int = 14) -> float | None:
    """The smallest fraction f in (0, 1] of the way to a control's cheapest end with ok(f); None if even the
    end is not ok. The cost is taken to be monotone in f."""
    if not ok(1.0):
        return None
    lo, hi = 0.0, 1.0
    for _i in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def refusal(config, limits: Limits = PUBLIC) -> str:
    """One plain message: what is over the limit, and the one or two controls, with the values, that bring
    this configuration under it."""
    what = clauses(exceeded(estimate(_least_detail(config)), limits))
    head = _("This configuration is too large for this server: {what}.").format(what=what)
    options = [[_("{control} to {value}").format(control=_(label), value=f"{value:,}") for label, value in change]
               for change in suggestions(config, limits)]
    if len(options) == 2:
        return head + " " + _("Setting {first}, or {second}, brings it under the limit.").format(
            first=options[0][0], second=options[1][0])
    if options and len(options[0]) == 2:
        return head + " " + _("Setting {first} and {second} brings it under the limit.").format(
            first=options[0][0], second=options[0][1])
    if options:
        return head + " " + _("Setting {change} brings it under the limit.").format(change=options[0][0])
    return head + " " + _("Fewer seeds, schemes, epochs or samples, or a smaller network, bring it under the limit.")


def check(config, limits: Limits = PUBLIC) -> Estimate:
    """The estimate of ``config`` itself; ValueError ("work: ...") if it is over ``limits``, naming what is
    over and the controls (Recorded epochs included) that would bring it under."""
    e = estimate(config)
    if not over(e, limits):
        return e
    if fits(config, limits):
        fitted = admit(config, limits).config
        raise ValueError(_("work: this configuration is too large for this server: {what}. Setting {change} "
                           "brings it under the limit.").format(
            what=clauses(exceeded(e, limits)),
            change=_("{control} to {value}").format(control=_("Recorded epochs"), value=fitted.record_epochs)))
    raise ValueError("work: " + refusal(config, limits))
