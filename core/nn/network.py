"""K multilayer perceptrons stacked along a leading axis.

All parameters of all K models live in one flat (K, P) array; each layer's W
(K, fan_in, fan_out) and b (K, 1, fan_out) are views into it. The optimizer
then updates everything with a handful of whole-array operations, and the
forward/backward passes use batched matmul, one BLAS call per model slice,
so a model's numbers do not depend on which other models share the stack.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from core.nn.activations import Activation


@dataclass(frozen=True)
class Layout:
    """Where each layer's W and b sit inside a flat parameter vector."""
    sizes: tuple[int, ...]  # n_in, hidden..., n_out

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def n_params(self) -> int:
        return sum((i + 1) * o for i, o in zip(self.sizes[:-1], self.sizes[1:]))

    def offsets(self):
        off = 0
        for fi, fo in zip(self.sizes[:-1], self.sizes[1:]):
            yield off, off + fi * fo, off + fi * fo + fo
            off += fi * fo + fo

    def views(self, flat: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        k = flat.shape[0]
        out = []
        for (fi, fo), (w0, b0, b1) in zip(zip(self.sizes[:-1], self.sizes[1:]), self.offsets()):
            out.append((flat[:, w0:b0].reshape(k, fi, fo), flat[:, b0:b1].reshape(k, 1, fo)))
        return out

    def blocks(self, flat: np.ndarray) -> list[np.ndarray]:
        """Each layer's W with its b as one more row, (K, fan_in + 1, fan_out): the layout stores b right
        after W, so ``[x, 1] @ block`` is ``x @ W + b`` as one product."""
        k = flat.shape[0]
        return [flat[:, w0:b1].reshape(k, fi + 1, fo)
                for (fi, fo), (w0, _, b1) in zip(zip(self.sizes[:-1], self.sizes[1:]), self.offsets())]

    def weight_mask(self) -> np.ndarray:
        """True on weights, False on biases (L2 decay touches weights only)."""
        mask = np.zeros(self.n_params, bool)
        for w0, b0, _ in self.offsets():
            mask[w0:b0] = True
        return mask


def swap(a: np.ndarray) -> np.ndarray:
    return a.swapaxes(-1, -2)


def view(buf: np.ndarray, shape) -> np.ndarray:
    """A C-contiguous array of ``shape`` over the front of the flat buffer ``buf``."""
    return buf[:math.prod(shape)].reshape(shape)


class Buffers:
    """Work arrays for one forward/backward pass of K models on batches of n samples.

    Allocated once per (run, batch size) and reused every step, so the hot
    loop allocates nothing of the batch's size: pre-activations z and
    activations a per layer (the last z holds the logits, then dLoss/dlogits),
    two ping-pong arrays for the back-propagated gradients, the batch itself.
    """

    def __init__(self, k: int, n: int, sizes: tuple[int, ...], dtype):
        self.k, self.n = k, n
        self.z = [np.empty((k, n, h), dtype) for h in sizes[1:]]
        self.a = [np.empty((k, n, h), dtype) for h in sizes[1:-1]]
        hidden = max(sizes[1:-1], default=0)
        self.pingpong = [np.empty(k * n * hidden, dtype) for _ in range(2 if hidden else 0)]
        self.x = np.empty((n, sizes[0]), dtype)
        self.ones = np.ones((1, n), dtype)  # bias gradients as one matmul: ones @ dz
        n_layers = len(sizes) - 1
        # layer i's dLoss/dz and its scratch alternate between the two arrays going down
        self.deltas = [(view(self.pingpong[(n_layers - 2 - i) % 2], (k, n, h)),
                        view(self.pingpong[(n_layers - 1 - i) % 2], (k, n, h)))
                       for i, h in enumerate(sizes[1:-1])]


def forward(params, X, act: Activation, keep: bool = False, buffers: Buffers | None = None):
    """Logits (K, B, n_out) for a shared input batch X (B, d).

    With keep=True also returns the per-layer pre-activations and activations
    (hidden layers only), which backward needs. With ``buffers`` every layer
    is written into the preallocated arrays (and kept there).
    """
    zs, as_ = [], []
    a = X
    last = len(params) - 1
    for i, (W, b) in enumerate(params):
        if buffers is not None:
            z = np.matmul(a, W, out=buffers.z[i])
        else:
            z = np.matmul(a, W)
        z += b
        if i == last:
            return (z, zs, as_) if keep else z
        if buffers is not None:
            a = act.forward(z, buffers.a[i])
        else:
            a = act.forward(z, np.empty_like(z) if keep else z)
        if keep:
            zs.append(z)
            as_.append(a)


def row_max(v: np.ndarray) -> np.ndarray:
    """Max over the last axis, keepdims; a column loop when there are few columns
    (a reduction over a length-2 axis is dozens of times slower in NumPy)."""
    if v.shape[2] > 16:
        return v.max(axis=2, keepdims=True)
    m = v[:, :, :1].copy()
    for c in range(1, v.shape[2]):
        np.maximum(m, v[:, :, c:c + 1], out=m)
    return m


def row_sum(v: np.ndarray) -> np.ndarray:
    """Sum over the last axis, keepdims; for fewer than 8 columns NumPy adds them
    in order, and so does the column loop (the same numbers, much faster)."""
    if v.shape[2] >= 8:
        return v.sum(axis=2, keepdims=True)
    s = v[:, :, :1].copy()
    for c in range(1, v.shape[2]):
        s += v[:, :, c:c + 1]
    return s


def mean_rows(v: np.ndarray) -> np.ndarray:
    """Mean over axis 1: the sum over the count (np.mean's Python layer cost 15 us a call, a tenth of a
    small training step)."""
    return np.add.reduce(v, axis=1) / v.shape[1]


@functools.lru_cache(maxsize=64)
def _row_starts(n: int, c: int) -> np.ndarray:
    starts = np.arange(n) * c
    starts.flags.writeable = False
    return starts


def _picked(v: np.ndarray, y: np.ndarray) -> np.ndarray:
    """v[:, i, y[i]] for every row i of v (K, n, c), as one take along the flattened rows."""
    k, n, c = v.shape
    return v.reshape(k, n * c).take(_row_starts(n, c) + y, axis=1)


def loss_and_grad(logits: np.ndarray, y: np.ndarray, task: str, want_grad: bool = True,
                  inplace: bool = False):
    """Per-model mean loss (K,) and dLoss/dlogits (K, B, n_out).

    Classification: softmax cross-entropy with integer labels y (B,).
    Regression: mean squared error against y (B, n_out).
    With inplace=True the gradient is written over ``logits`` (no temporaries
    of the batch's size); the numbers are the same either way.
    """
    k, n, c = logits.shape
    if task == "classification":
        if inplace:
            shifted = logits
            shifted -= row_max(logits)
            picked = _picked(shifted, y)
            e = np.exp(shifted, out=shifted)
        else:
            shifted = logits - row_max(logits)
            picked = _picked(shifted, y)
            e = np.exp(shifted)
        s = row_sum(e)
        loss = mean_rows(np.log(s[:, :, 0]) - picked)
        if not want_grad:
            return loss, e / s
        e /= s
        e -= y[:, None] == np.arange(c)  # minus the one-hot labels: 1 off each target, exactly
        e /= n
        return loss, e
    diff = np.subtract(logits, y, out=logits if inplace else None)
    loss = (diff * diff).mean(axis=(1, 2))
    if not want_grad:
        return loss, logits
    diff *= 2.0 / (n * diff.shape[2])
    return loss, diff


def eval_loss(logits: np.ndarray, y: np.ndarray, task: str) -> np.ndarray:
    """Per-model mean loss (K,), the same numbers as loss_and_grad; overwrites logits."""
    if task == "classification":
        logits -= row_max(logits)
        picked = _picked(logits, y)
        np.exp(logits, out=logits)
        return mean_rows(np.log(row_sum(logits)[:, :, 0]) - picked)
    np.subtract(logits, y, out=logits)
    np.multiply(logits, logits, out=logits)
    return logits.mean(axis=(1, 2))


def mul_derivative(act: Activation, z: np.ndarray, a: np.ndarray, da: np.ndarray, tmp: np.ndarray) -> None:
    """da *= f'(z) in place, with ``tmp`` (same shape) holding f'(z)."""
    np.multiply(da, act.derivative(z, a, tmp), out=da)


def backward(params, X, zs, as_, dz, act: Activation, grads, buffers: Buffers | None = None):
    """Fill the per-layer gradient views ``grads`` [(gW, gb)] in place.

    Returns the back-propagated dLoss/dZ of every layer, first to last. With
    ``buffers``, the hidden layers' dLoss/dZ live in two ping-pong arrays that
    are overwritten as the pass goes down (only the first layer's survives).
    """
    dzs = [dz]
    n_layers = len(params)
    for i in range(n_layers - 1, -1, -1):
        gW, gb = grads[i]
        a_prev = as_[i - 1] if i else X
        np.matmul(swap(a_prev), dz, out=gW)
        if buffers is not None:
            np.matmul(buffers.ones, dz, out=gb)
        else:
            np.sum(dz, axis=1, keepdims=True, out=gb)
        if i:
            if buffers is not None:
                out, tmp = buffers.deltas[i - 1]
                da = np.matmul(dz, swap(params[i][0]), out=out)
                mul_derivative(act, zs[i - 1], as_[i - 1], da, tmp)
            else:
                da = np.matmul(dz, swap(params[i][0]))
                mul_derivative(act, zs[i - 1], as_[i - 1], da, np.empty_like(da))
            dz = da
            dzs.append(dz)
    return dzs[::-1]


def lsuv(params, X, act: Activation, tol: float, max_iter: int) -> None:
    """Mishkin & Matas: rescale each layer in order to unit output variance on X.

    Works in float64 on every model of the stack at once, in place. A model
    whose layer output has zero or non-finite variance is left as it is.
    """
    a = np.asarray(X, np.float64)
    last = len(params) - 1
    for i, (W, b) in enumerate(params):
        w = W.astype(np.float64)
        for _ in range(max_iter):
            z = np.matmul(a, w) + b
            var = z.reshape(z.shape[0], -1).var(axis=1)
            todo = np.isfinite(var) & (var > 0) & (np.abs(var - 1) >= tol)
            if not todo.any():
                break
            w[todo] /= np.sqrt(var[todo])[:, None, None]
        W[...] = w
        z = np.matmul(a, w) + b
        if i < last:
            a = act.forward(z, z)
