"""Train K stacked models together: paired minibatches, masked divergence.

Every model sees the same minibatches in the same order (the batch order
depends on the data seed only). A model whose loss or gradient turns NaN or
inf is frozen at that step: its weights are kept as they were, its optimizer
state is cleared and it receives no further updates, while the others carry
on with exactly the numbers they would have had alone.
"""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from core.runtime import blas, workers
from core.nn import network, optimizers
from core.nn.activations import Activation
from core.runtime.control import Control, Stopped
from core.measure.probes import Prober, Record

MAX_CURVE_POINTS = 1000  # loss/accuracy evaluated at most this many times (plus epoch 0)
EVAL_CHUNK = 4_000_000  # elements per evaluation chunk (models x samples x widest layer)
# BLAS's own threads are used only for a stack of at least this much matmul work per step (see train()).
BLAS_THREADS_MIN_MFLOP = 30.0
# A run is split over the worker processes only from this much matmul work (about 0.1 s on one core): a
# round trip to the workers costs 20-60 ms. The dashboard's default configuration (6.5 GFLOP) trained in
# 0.59-0.71 s in one group, 0.45-0.62 s in two; with its probes, 0.85-0.98 s against 0.57-0.64 s.
PARALLEL_MIN_MFLOP = 1000.0


@dataclass
class TrainSettings:
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    batch_size: int = 32  # 0: full batch
    epochs: int = 100
    weight_decay: float = 0.0
    record_epochs: tuple[int, ...] = (0,)
    shuffle_seed: int = 0
    progress: Callable[[int, int], None] | None = None
    groups: int | None = None  # model groups, one per worker process; None: auto_groups (the run's work, the CPUs)
    # Loss/accuracy evaluations after epoch 0 (the dashboard: every epoch). Evaluations also catch a model
    # whose loss on a whole split is infinite while its minibatch steps stay finite, so with fewer of them
    # such a model is frozen later.
    curve_points: int = MAX_CURVE_POINTS
    # Stop and pause flags (core.runtime.control), checked once per step, curve point and record: None trains
    # straight through.
    control: Control | None = None


@dataclass(frozen=True)
class TrainData:
    """What training reads of a dataset."""
    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


@dataclass
class TrainOutput:
    final: np.ndarray  # (K, P) in the training dtype
    curve_epochs: np.ndarray  # (E,)
    loss: dict  # split -> (E, K)
    accuracy: dict  # split -> (E, K)
    diverged_epoch: np.ndarray  # (K,), -1 where the model never diverged
    records: list[Record] = field(default_factory=list)

    @staticmethod
    def concat(parts: list["TrainOutput"]) -> "TrainOutput":
        """One output from those of consecutive groups of models, in order."""
        first = parts[0]
        return TrainOutput(
            np.concatenate([p.final for p in parts]), first.curve_epochs,
            {s: np.concatenate([p.loss[s] for p in parts], axis=1) for s in first.loss},
            {s: np.concatenate([p.accuracy[s] for p in parts], axis=1) for s in first.accuracy},
            np.concatenate([p.diverged_epoch for p in parts]),
            [Record.concat(list(rs)) for rs in zip(*(p.records for p in parts))])


def curve_epochs(epochs: int, points: int = MAX_CURVE_POINTS) -> np.ndarray:
    """The epochs whose train and test loss/accuracy are evaluated: 0, the last, and up to ``points`` in all
    after 0, evenly spread."""
    return np.unique(np.round(np.linspace(0, epochs, max(1, min(epochs, points)) + 1)).astype(int))


def record_epochs(epochs: int, count: int) -> tuple[int, ...]:
    return tuple(int(e) for e in np.unique(np.round(np.linspace(0, epochs, max(2, count))).astype(int)))


class Evaluator:
    """Per-model loss and accuracy on whole splits, in chunks of samples, with
    two ping-pong arrays allocated once per run (no per-layer temporaries)."""

    def __init__(self, k: int, sizes: tuple[int, ...], dtype, step: int):
        widest = max(sizes)
        self.step = step
        self.k = k
        self.bufs = [np.empty(k * self.step * widest, dtype) for _ in range(2)]

    @staticmethod
    def chunk(k: int, sizes: tuple[int, ...], n_max: int) -> int:
        """Samples per chunk for a stack of k models. Fixed for the whole stack before it is split into
        groups: the chunks decide the order of the float64 sums, so they must not depend on the grouping."""
        return max(1, min(n_max, EVAL_CHUNK // max(1, k * max(sizes))))

    def __call__(self, params, X, y, act: Activation, task: str):
        k = self.k
        loss = np.zeros(k)
        correct = np.zeros(k)
        last = len(params) - 1
        with np.errstate(all="ignore"):
            for i in range(0, len(X), self.step):
                a = X[i:i + self.step]
                m = len(a)
                for layer, (W, b) in enumerate(params):
                    z = np.matmul(a, W, out=network.view(self.bufs[layer % 2], (k, m, W.shape[2])))
                    z += b
                    a = z if layer == last else act.forward(z, z)
                yc = y[i:i + self.step]
                if task == "classification":
                    correct += (a.argmax(axis=2) == yc).sum(axis=1)
                part = network.eval_loss(a, yc, task)
                loss += part.astype(np.float64) * m
        acc = correct / len(X) if task == "classification" else np.full(k, np.nan)
        return loss / len(X), acc


def batch_size(settings: TrainSettings, n: int) -> int:
    return n if settings.batch_size in (0, None) or settings.batch_size >= n else settings.batch_size


def step_mflop(k: int, sizes: tuple[int, ...], batch: int) -> float:
    """Matmul MFLOP of one training step of k stacked models (forward and two backward products)."""
    return 6.0 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) * batch * k / 1e6


def steps(settings: TrainSettings, n: int) -> int:
    """Optimizer steps in a whole run on n training samples."""
    return settings.epochs * -(-n // batch_size(settings, n))


def auto_groups(k: int, sizes: tuple[int, ...], batch: int, n_steps: int, cores: int | None = None) -> int:
    """Groups worth training in parallel: one per worker (``cores``: this machine's workers), when the run is
    long enough to repay the round trip to the workers."""
    cores = workers.workers() if cores is None else cores
    return min(cores, k) if n_steps * step_mflop(k, sizes, batch) >= PARALLEL_MIN_MFLOP else 1


def groups_for(k: int, sizes: tuple[int, ...], settings: TrainSettings, n_train: int) -> int:
    """How many groups ``train`` splits a stack of k models into."""
    chosen = settings.groups or auto_groups(k, sizes, batch_size(settings, n_train), steps(settings, n_train))
    return max(1, min(chosen, k))


def group_bounds(k: int, groups: int) -> np.ndarray:
    """Where ``train`` cuts a stack of k models into groups of consecutive models."""
    return np.linspace(0, k, groups + 1).round().astype(int)


def train(init: np.ndarray, layout: network.Layout, data, act: Activation, settings: TrainSettings,
          prober: Prober | None = None) -> TrainOutput:
    """Train the K models stacked in ``init`` (K, P).

    The stack may be split into groups of consecutive models, each trained by
    a worker process (see ``workers``). Each model's numbers are the same
    however the stack is grouped (each model only ever meets its own slice of
    every array), so the grouping is a matter of speed only and may depend on
    the machine.
    """
    k = init.shape[0]
    n_max = max(len(data.X_train), len(data.X_test))
    step = Evaluator.chunk(k, layout.sizes, n_max)
    batch = batch_size(settings, len(data.X_train))
    groups = groups_for(k, layout.sizes, settings, len(data.X_train))
    if groups > 1 and workers.available():
        bounds = group_bounds(k, groups)
        quiet = replace(settings, progress=None)  # a callback stays here: workers.run relays the progress
        # only what training reads: a Dataset would make each worker import scikit-learn (+130 MB)
        splits = TrainData(data.task, data.X_train, data.y_train, data.X_test, data.y_test)
        calls = [(init[a:b], layout, splits, act, quiet, prober, step) for a, b in zip(bounds[:-1], bounds[1:])]
        try:
            return TrainOutput.concat(workers.run(train_group, calls, settings.progress, settings.control))
        except workers.WorkerDied as e:  # killed for memory, say: the same numbers, in this process
            if settings.control is not None and settings.control.stopped:  # killed because it was stopped
                raise Stopped("the run was stopped") from e
            warnings.warn(f"training workers failed ({e!r}); training in this process instead", RuntimeWarning)
    # BLAS's own threads only pay for large products: for small ones they wake and spin while the
    # elementwise work and the probes wait (the default configuration's probes cost +45% of training with
    # them, +25% without).
    big = step_mflop(k, layout.sizes, batch) >= BLAS_THREADS_MIN_MFLOP
    with contextlib.nullcontext() if big else blas.single_threaded():
        return _train(init, layout, data, act, settings, prober, step)


def train_group(init, layout, data, act, settings, prober, eval_step, progress) -> TrainOutput:
    """One group's training in a worker process: single-threaded BLAS, as the workers share the cores."""
    with blas.single_threaded():
        return _train(init, layout, data, act, replace(settings, progress=progress), prober, eval_step)


class DivergenceGuard:
    """Stops the models whose numbers stop being finite, each with its last good weights.

    A stopped model's row of the weights is set to zeros (they compute fast and stay finite), its gradient
    is zeroed at every later step and its optimizer state cleared, so it takes no further update while the
    others carry on; the weights it is reported with are kept in ``frozen``. ``checkpoint`` holds the
    weights of the last curve point, at which every live model's train loss was finite.
    """

    def __init__(self, flat: np.ndarray, optimizer: optimizers.Optimizer):
        k, p = flat.shape
        self.flat = flat
        self.optimizer = optimizer
        self.alive = np.ones(k, bool)
        self.diverged = np.full(k, -1)  # the epoch each model was stopped at, -1 while it trains
        self.frozen = flat.copy()
        self.checkpoint = flat.copy()
        self.ones = np.ones(p, flat.dtype)

    def finite(self, a: np.ndarray) -> np.ndarray:
        """(K,): whether each model's row of ``a`` (K, P) is all finite (one product: NaN/inf poison the sum)."""
        return np.isfinite(a @ self.ones)

    def stop(self, bad: np.ndarray, epoch: int, keep: np.ndarray | None = None):
        """Stop the live models in ``bad`` at ``epoch``, keeping their weights from ``keep``: by default the
        current weights (those before the failed step), or the last ones whose loss the curves show."""
        bad = bad & self.alive
        if not bad.any():
            return
        keep = self.flat if keep is None else keep
        self.diverged[bad] = epoch
        self.alive = self.alive & ~bad
        self.frozen[bad] = keep[bad]
        self.flat[bad] = 0
        self.optimizer.reset(bad)

    def after_backward(self, batch_loss: np.ndarray, grads: np.ndarray, epoch: int):
        """Stop the models whose loss or gradient is not finite, and zero the gradients of all stopped ones."""
        ok = np.isfinite(batch_loss) & self.finite(grads)
        if not ok.all():
            self.stop(~ok, epoch)
        if not self.alive.all():
            grads[~self.alive] = 0

    def after_epoch(self, epoch: int):
        """Stop the models whose weights overflowed during the epoch, back at the last curve point's weights."""
        self.stop(~self.finite(self.flat), epoch, self.checkpoint)

    def at_curve_point(self, train_loss: np.ndarray, epoch: int):
        """Stop the models whose train loss at this curve point is not finite (back at the previous curve
        point's weights), then checkpoint the current weights."""
        self.stop(~np.isfinite(train_loss), epoch, self.checkpoint)
        np.copyto(self.checkpoint, self.flat)

    def final(self) -> np.ndarray:
        """The weights each model ends with: the current ones, or those kept when it was stopped."""
        return np.where(self.alive[:, None], self.flat, self.frozen)


def _train(init: np.ndarray, layout: network.Layout, data, act: Activation, settings: TrainSettings,
           prober: Prober | None, eval_step: int) -> TrainOutput:
    """Train one group of stacked models, in this process.

    Each step: forward pass, loss and gradient, the divergence guard (stops the models whose loss or gradient
    is not finite), the optimizer step (L2 decay included). Each epoch: the guard's check of the weights,
    then the curve points (loss/accuracy on both splits, seen by the guard too), the probe records and the
    progress report.
    """
    dtype = init.dtype
    k = init.shape[0]
    flat = init.copy()
    params = layout.views(flat)
    grad_flat = np.zeros_like(flat)
    grads = layout.views(grad_flat)
    decay = (layout.weight_mask().astype(dtype) * dtype.type(settings.weight_decay)
             if settings.weight_decay else None)
    optimizer = optimizers.make(settings.optimizer, flat, settings.lr, decay, momentum=settings.momentum)
    guard = DivergenceGuard(flat, optimizer)

    X = np.ascontiguousarray(data.X_train, dtype)
    y = data.y_train if data.task == "classification" else np.ascontiguousarray(data.y_train, dtype)
    splits = {"train": (X, y),
              "test": (np.ascontiguousarray(data.X_test, dtype),
                       data.y_test if data.task == "classification" else np.ascontiguousarray(data.y_test, dtype))}
    n = len(X)
    batch = batch_size(settings, n)
    order_rng = np.random.default_rng(settings.shuffle_seed)
    buffers: dict[int, network.Buffers] = {}  # one set per batch size (the last batch may be shorter)
    evaluator = Evaluator(k, layout.sizes, dtype, eval_step)
    y_batch = np.empty((batch, *y.shape[1:]), y.dtype)

    cepochs = curve_epochs(settings.epochs, settings.curve_points)
    cset = set(cepochs.tolist())
    rset = set(settings.record_epochs)
    loss = {s: np.full((len(cepochs), k), np.nan) for s in splits}
    acc = {s: np.full((len(cepochs), k), np.nan) for s in splits}
    records: list[Record] = []
    probing = prober is not None and bool(rset)
    probe = prober.session(layout, init) if probing else None
    check = settings.control.check if settings.control is not None else None
    ci = 0
    # Full batch: the step of epoch e+1 runs the forward pass on exactly the weights that epoch e's train-split
    # curve point is evaluated on, so that point is taken from it (one forward pass fewer per epoch). Its row
    # index waits here until then; the last epoch, probe epochs and minibatch runs evaluate separately.
    reuse = batch == n
    deferred = None  # (curve row, epoch) whose train loss/accuracy and guard check wait for the next step

    def minibatches():
        """One epoch's (inputs, targets, buffers) in the data seed's order; the whole split for full batch."""
        perm = order_rng.permutation(n) if batch < n else None
        for start in range(0, n, batch):
            m = min(batch, n - start)
            buf = buffers.get(m)
            if buf is None:
                buf = buffers[m] = network.Buffers(k, m, layout.sizes, dtype)
            if perm is None:
                yield X, y, buf
            else:
                idx = perm[start:start + m]
                yield X.take(idx, axis=0, out=buf.x), y.take(idx, axis=0, out=y_batch[:m]), buf

    def close_curve_point(row: int, epoch: int):
        """Let the guard see curve row ``row``'s train loss, then blank the row of every stopped model."""
        guard.at_curve_point(loss["train"][row], epoch)
        for s in splits:
            loss[s][row, ~guard.alive] = np.nan
            acc[s][row, ~guard.alive] = np.nan

    def close_deferred(row: int, at: int, batch_loss: np.ndarray, correct: np.ndarray | None):
        """The deferred curve point's train loss/accuracy, from a full-batch forward pass on its weights."""
        if np.isfinite(batch_loss[guard.alive]).all():
            train_loss = np.zeros(k)  # Evaluator's float64 arithmetic on the same mean
            train_loss += batch_loss.astype(np.float64) * n
            loss["train"][row] = train_loss / n
            acc["train"][row] = correct / n if data.task == "classification" else np.nan
        else:  # a live model's loss is not finite: the exact separate evaluation decides
            loss["train"][row], acc["train"][row] = evaluator(params, X, y, act, data.task)
        close_curve_point(row, at)

    # Overflow and NaN are expected (diverging models) and handled by the guard's finiteness checks; one
    # errstate for the whole loop, not one per step (entering it cost as much as a small product).
    with np.errstate(all="ignore"):
        for epoch in range(settings.epochs + 1):
            if epoch > 0:
                for xb, yb, buf in minibatches():
                    if check is not None:
                        check()
                    logits, zs, as_ = network.forward(params, xb, act, keep=True, buffers=buf)
                    correct = None
                    if deferred is not None and data.task == "classification":
                        correct = np.zeros(k)  # as Evaluator counts, before the gradient overwrites logits
                        correct += (logits.argmax(axis=2) == yb).sum(axis=1)
                    batch_loss, dz = network.loss_and_grad(logits, yb, data.task, inplace=True)
                    network.backward(params, xb, zs, as_, dz, act, grads, buffers=buf)
                    if deferred is not None:  # the weights are still the deferred epoch's: finish its point
                        close_deferred(*deferred, batch_loss, correct)
                        deferred = None
                    guard.after_backward(batch_loss, grad_flat, epoch)
                    optimizer.step(grad_flat)
                guard.after_epoch(epoch)
            if check is not None:
                check()
            if epoch in cset:
                defer = reuse and epoch < settings.epochs and not (epoch in rset and probing)
                for s, (Xs, ys) in splits.items():
                    if not (defer and s == "train"):
                        loss[s][ci], acc[s][ci] = evaluator(params, Xs, ys, act, data.task)
                if defer:
                    deferred = (ci, epoch)
                else:
                    close_curve_point(ci, epoch)
                ci += 1
            if epoch in rset and probing:
                if check is not None:
                    check()
                # Epoch 0 is probed for every model, even one that blows up at once
                # (the explosion is the thing to see); later, only live models count.
                rec = probe.record(epoch, init if epoch == 0 else flat)
                rec.alive = np.ones(k, bool) if epoch == 0 else guard.alive.copy()
                records.append(rec)
            if settings.progress is not None:
                settings.progress(epoch, settings.epochs)

    return TrainOutput(guard.final(), cepochs, loss, acc, guard.diverged, records)
