"""K multilayer perceptrons stacked along a leading axis.

All parameters of all K models live in one flat (K, P) array; each layer's W
(K, fan_in, fan_out) and b (K, 1, fan_out) are views into it. The optimizer
then updates everything with a handful of whole-array operations, and the
forward/backward passes use batched matmul, one BLAS call per model slice,
so a model's numbers do not depend on which other models share the stack.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import Activation


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

    def weight_mask(self) -> np.ndarray:
        """True on weights, False on biases (L2 decay touches weights only)."""
        mask = np.zeros(self.n_params, bool)
        for w0, b0, _ in self.offsets():
            mask[w0:b0] = True
        return mask


def swap(a: np.ndarray) -> np.ndarray:
    return a.swapaxes(-1, -2)


def forward(params, X, act: Activation, keep: bool = False):
    """Logits (K, B, n_out) for a shared input batch X (B, d).

    With keep=True also returns the per-layer pre-activations and activations
    (hidden layers only), which backward needs.
    """
    zs, as_ = [], []
    a = X
    last = len(params) - 1
    for i, (W, b) in enumerate(params):
        z = np.matmul(a, W)
        z += b
        if i == last:
            return (z, zs, as_) if keep else z
        a = act.forward(z, np.empty_like(z) if keep else z)
        if keep:
            zs.append(z)
            as_.append(a)


def loss_and_grad(logits: np.ndarray, y: np.ndarray, task: str, want_grad: bool = True):
    """Per-model mean loss (K,) and dLoss/dlogits (K, B, n_out).

    Classification: softmax cross-entropy with integer labels y (B,).
    Regression: mean squared error against y (B, n_out).
    """
    k, n, _ = logits.shape
    if task == "classification":
        shifted = logits - logits.max(axis=2, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=2, keepdims=True)
        rows = np.arange(n)
        loss = (np.log(s[:, :, 0]) - shifted[:, rows, y]).mean(axis=1)
        if not want_grad:
            return loss, e / s
        e /= s
        e[:, rows, y] -= 1
        e /= n
        return loss, e
    diff = logits - y
    loss = (diff * diff).mean(axis=(1, 2))
    if not want_grad:
        return loss, logits
    diff *= 2.0 / (n * diff.shape[2])
    return loss, diff


def backward(params, X, zs, as_, dz, act: Activation, grads):
    """Fill the per-layer gradient views ``grads`` [(gW, gb)] in place.

    Returns the back-propagated dLoss/dZ of every layer, first to last.
    """
    dzs = [dz]
    for i in range(len(params) - 1, -1, -1):
        gW, gb = grads[i]
        a_prev = as_[i - 1] if i else X
        np.matmul(swap(a_prev), dz, out=gW)
        np.sum(dz, axis=1, keepdims=True, out=gb)
        if i:
            da = np.matmul(dz, swap(params[i][0]))
            da *= act.derivative(zs[i - 1], as_[i - 1])
            dz = da
            dzs.append(dz)
    return dzs[::-1]


def accuracy(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (logits.argmax(axis=2) == y).mean(axis=1)


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
