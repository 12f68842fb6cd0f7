"""Train K stacked models together: paired minibatches, masked divergence.

Every model sees the same minibatches in the same order (the batch order
depends on the data seed only). A model whose loss or gradient turns NaN or
inf is frozen at that step: its weights are kept as they were, its optimizer
state is cleared and it receives no further updates, while the others carry
on with exactly the numbers they would have had alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import network
from .activations import Activation
from .probes import Prober, Record

OPTIMIZERS = ("sgd", "momentum", "adam")
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
MAX_CURVE_POINTS = 1000  # loss/accuracy evaluated at most this many times (plus epoch 0)
EVAL_CHUNK = 4_000_000  # elements per evaluation chunk (models x samples x widest layer)


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


@dataclass
class TrainOutput:
    final: np.ndarray  # (K, P) in the training dtype
    curve_epochs: np.ndarray  # (E,)
    loss: dict  # split -> (E, K)
    accuracy: dict  # split -> (E, K)
    diverged_epoch: np.ndarray  # (K,), -1 where the model never diverged
    records: list[Record] = field(default_factory=list)


def curve_epochs(epochs: int) -> np.ndarray:
    return np.unique(np.round(np.linspace(0, epochs, min(epochs, MAX_CURVE_POINTS) + 1)).astype(int))


def record_epochs(epochs: int, count: int) -> tuple[int, ...]:
    return tuple(int(e) for e in np.unique(np.round(np.linspace(0, epochs, max(2, count))).astype(int)))


def evaluate(params, X, y, act: Activation, task: str, widest: int):
    """Per-model loss and accuracy on a whole split, in chunks of samples."""
    k = params[0][0].shape[0]
    step = max(1, EVAL_CHUNK // max(1, k * widest))
    loss = np.zeros(k)
    correct = np.zeros(k)
    with np.errstate(all="ignore"):
        for i in range(0, len(X), step):
            logits = network.forward(params, X[i:i + step], act)
            part, _ = network.loss_and_grad(logits, y[i:i + step], task, want_grad=False)
            loss += part.astype(np.float64) * len(logits[0])
            if task == "classification":
                correct += (logits.argmax(axis=2) == y[i:i + step]).sum(axis=1)
    acc = correct / len(X) if task == "classification" else np.full(k, np.nan)
    return loss / len(X), acc


def train(init: np.ndarray, layout: network.Layout, data, act: Activation, settings: TrainSettings,
          prober: Prober | None = None) -> TrainOutput:
    dtype = init.dtype
    k = init.shape[0]
    flat = init.copy()
    params = layout.views(flat)
    grad_flat = np.zeros_like(flat)
    grads = layout.views(grad_flat)
    decay_mask = layout.weight_mask().astype(dtype) * dtype.type(settings.weight_decay)
    opt = settings.optimizer
    state1 = np.zeros_like(flat) if opt in ("momentum", "adam") else None
    state2 = np.zeros_like(flat) if opt == "adam" else None
    lr = dtype.type(settings.lr)
    mom = dtype.type(settings.momentum)
    b1, b2 = ADAM_BETAS

    X = np.asarray(data.X_train, dtype)
    y = data.y_train if data.task == "classification" else np.asarray(data.y_train, dtype)
    splits = {"train": (X, y),
              "test": (np.asarray(data.X_test, dtype),
                       data.y_test if data.task == "classification" else np.asarray(data.y_test, dtype))}
    widest = max(layout.sizes)
    n = len(X)
    batch = n if settings.batch_size in (0, None) or settings.batch_size >= n else settings.batch_size
    order_rng = np.random.default_rng(settings.shuffle_seed)

    alive = np.ones(k, bool)
    diverged = np.full(k, -1)
    frozen = flat.copy()  # weights of diverged models, as they were when it happened
    cepochs = curve_epochs(settings.epochs)
    cset = set(cepochs.tolist())
    rset = set(settings.record_epochs)
    loss = {s: np.full((len(cepochs), k), np.nan) for s in splits}
    acc = {s: np.full((len(cepochs), k), np.nan) for s in splits}
    records: list[Record] = []
    ci = 0
    step_count = 0

    def freeze(bad: np.ndarray, epoch: int):
        nonlocal alive
        bad = bad & alive
        if not bad.any():
            return
        diverged[bad] = epoch
        alive = alive & ~bad
        frozen[bad] = flat[bad]
        # Zeros compute fast and stay finite; the kept copy is in `frozen`.
        flat[bad] = 0
        for s in (state1, state2):
            if s is not None:
                s[bad] = 0

    for epoch in range(settings.epochs + 1):
        if epoch > 0:
            perm = order_rng.permutation(n) if batch < n else None
            for start in range(0, n, batch):
                idx = perm[start:start + batch] if perm is not None else slice(None)
                xb, yb = X[idx], y[idx]
                with np.errstate(all="ignore"):
                    logits, zs, as_ = network.forward(params, xb, act, keep=True)
                    batch_loss, dz = network.loss_and_grad(logits, yb, data.task)
                    network.backward(params, xb, zs, as_, dz, act, grads)
                    ok = np.isfinite(batch_loss) & np.isfinite(grad_flat.sum(axis=1))
                freeze(~ok, epoch)
                if not alive.all():
                    grad_flat[~alive] = 0
                if settings.weight_decay:
                    grad_flat += decay_mask * flat
                step_count += 1
                if opt == "sgd":
                    flat -= lr * grad_flat
                elif opt == "momentum":  # PyTorch's form: v = mu v + g; w -= lr v
                    state1 *= mom
                    state1 += grad_flat
                    flat -= lr * state1
                else:
                    state1 *= dtype.type(b1)
                    state1 += dtype.type(1 - b1) * grad_flat
                    state2 *= dtype.type(b2)
                    state2 += dtype.type(1 - b2) * grad_flat * grad_flat
                    m_hat = state1 / dtype.type(1 - b1 ** step_count)
                    v_hat = state2 / dtype.type(1 - b2 ** step_count)
                    flat -= lr * m_hat / (np.sqrt(v_hat) + dtype.type(ADAM_EPS))
            with np.errstate(all="ignore"):
                freeze(~np.isfinite(flat.sum(axis=1)), epoch)
        if epoch in cset:
            for s, (Xs, ys) in splits.items():
                loss[s][ci], acc[s][ci] = evaluate(params, Xs, ys, act, data.task, widest)
            freeze(~np.isfinite(loss["train"][ci]), epoch)
            for s in splits:
                loss[s][ci, ~alive] = np.nan
                acc[s][ci, ~alive] = np.nan
            ci += 1
        if epoch in rset and prober is not None:
            # Epoch 0 is probed for every model, even one that blows up at once
            # (the explosion is the thing to see); later, only live models count.
            rec = prober.record(epoch, layout, init if epoch == 0 else flat, init)
            rec.alive = np.ones(k, bool) if epoch == 0 else alive.copy()
            records.append(rec)
        if settings.progress is not None:
            settings.progress(epoch, settings.epochs)

    final = np.where(alive[:, None], flat, frozen)
    return TrainOutput(final, cepochs, loss, acc, diverged, records)
