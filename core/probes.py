"""What the trainer looks at, at each recorded epoch, on one fixed probe batch.

Everything here returns small arrays whose size depends on models, layers,
bins and at most MAX_UNITS units, never on the batch: memory stays bounded by
(recorded epochs x layers x bins) however large the data or the layers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import network
from .activations import Activation, inactive_fraction

N_BINS = 30
MAX_UNITS = 32  # pairwise unit distances use the first MAX_UNITS units of a layer
PROBE_SIZE = 256  # probe batch: the first PROBE_SIZE training samples
GRID = 40  # decision-boundary grid is GRID x GRID
IDENTICAL_TOL = 1e-9  # units whose incoming weights and bias differ by at most this are one unit
KINDS = ("preactivation", "activation", "gradient")


def moments(v: np.ndarray) -> np.ndarray:
    """(K, N) values -> (K, 4): mean, std, second moment, non-finite fraction.

    Non-finite entries (an exploding network at epoch 0) are left out of the
    moments and counted in the last column instead of poisoning the others.
    """
    v = v.astype(np.float64, copy=False)
    fin = np.isfinite(v)
    n = fin.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        v0 = np.where(fin, v, 0.0)
        mean = v0.sum(axis=1) / n
        dev = np.where(fin, v - mean[:, None], 0.0)
        std = np.sqrt((dev * dev).sum(axis=1) / n)
        m2 = (v0 * v0).sum(axis=1) / n
    return np.stack([mean, std, m2, 1.0 - n / v.shape[1]], axis=1)


def histograms(v: np.ndarray, bins: int = N_BINS):
    """(K, N) -> counts (K, bins), left edges (K, bins), right edges (K, bins).

    Each model gets its own range (min to max of its finite values), since the
    schemes being compared differ by orders of magnitude. One bincount for
    all models. A constant sample gets a unit-wide range centred on it.
    """
    k = v.shape[0]
    v = v.astype(np.float64, copy=False)
    fin = np.isfinite(v)
    with np.errstate(invalid="ignore"):
        lo = np.where(fin, v, np.inf).min(axis=1)
        hi = np.where(fin, v, -np.inf).max(axis=1)
    empty = ~np.isfinite(lo)
    lo[empty], hi[empty] = -0.5, 0.5
    flat = hi <= lo
    lo[flat], hi[flat] = lo[flat] - 0.5, hi[flat] + 0.5
    width = (hi - lo) / bins
    with np.errstate(invalid="ignore", over="ignore"):
        idx = np.floor((v - lo[:, None]) / width[:, None])
    idx = np.clip(np.nan_to_num(idx, nan=0, posinf=0, neginf=0), 0, bins - 1).astype(np.int64)
    idx += (np.arange(k) * bins)[:, None]
    counts = np.bincount(idx[fin], minlength=k * bins).reshape(k, bins)
    left = lo[:, None] + width[:, None] * np.arange(bins)
    return counts, left, left + width[:, None]


def segment_stats(values: list[np.ndarray], bins: int = N_BINS):
    """moments and histograms of many (K, N_j) value sets at once.

    The sets are laid side by side in one (K, sum N_j) float64 array; sums,
    minima and maxima are one segmented reduction each, and the rest works in
    place segment by segment, so the values are passed over a few times in all
    instead of a dozen times per set. Same definitions as ``moments`` and
    ``histograms``. Returns stats (J, K, 4), counts (J, K, bins), left, right.
    """
    k = values[0].shape[0]
    sizes = np.array([v.shape[1] for v in values])
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    starts = bounds[:-1]
    j = len(sizes)
    V = np.empty((k, bounds[-1]))
    for (s, e), v in zip(zip(starts, bounds[1:]), values):
        V[:, s:e] = v
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        sums = np.add.reduceat(V, starts, axis=1)
        clean = bool(np.isfinite(sums).all())  # then every value is finite
        if clean:
            n = np.broadcast_to(sizes.astype(np.float64), (k, j))
            fin = None
            lo = np.minimum.reduceat(V, starts, axis=1)
            hi = np.maximum.reduceat(V, starts, axis=1)
        else:
            fin = np.isfinite(V)
            n = np.add.reduceat(fin, starts, axis=1).astype(np.float64)
            lo = np.minimum.reduceat(np.where(fin, V, np.inf), starts, axis=1)
            hi = np.maximum.reduceat(np.where(fin, V, -np.inf), starts, axis=1)
            V[~fin] = 0.0
            sums = np.add.reduceat(V, starts, axis=1)
        mean = sums / n
        m2 = np.empty((k, j))
        var = np.empty((k, j))
        dev = np.empty_like(V)
        for i, (s, e) in enumerate(zip(starts, bounds[1:])):
            seg = V[:, s:e]
            m2[:, i] = np.einsum("ij,ij->i", seg, seg)
            d = np.subtract(seg, mean[:, i:i + 1], out=dev[:, s:e])
            if fin is not None:
                d[~fin[:, s:e]] = 0.0
            var[:, i] = np.einsum("ij,ij->i", d, d)
        std = np.sqrt(var / n)
        m2 /= n
    stats = np.stack([mean, std, m2, 1.0 - n / sizes], axis=2)  # (K, J, 4)
    empty = ~np.isfinite(lo)
    lo[empty], hi[empty] = -0.5, 0.5
    flat = hi <= lo
    lo[flat], hi[flat] = lo[flat] - 0.5, hi[flat] + 0.5
    width = (hi - lo) / bins
    idx = dev  # reuse: bin index of every value, as a float first
    with np.errstate(invalid="ignore", over="ignore"):
        for i, (s, e) in enumerate(zip(starts, bounds[1:])):
            seg = np.subtract(V[:, s:e], lo[:, i:i + 1], out=idx[:, s:e])
            seg /= width[:, i:i + 1]
        np.floor(idx, out=idx)
        if fin is not None or any(v.dtype != np.float32 for v in values):
            # float32 values cannot overflow here in float64; anything else might
            np.nan_to_num(idx, copy=False, nan=0, posinf=0, neginf=0)
        np.clip(idx, 0, bins - 1, out=idx)
        for i, (s, e) in enumerate(zip(starts, bounds[1:])):
            idx[:, s:e] += (np.arange(k)[:, None] * j + i) * bins  # offset of (model, set) in the counts
    if fin is not None:
        idx = idx[fin]
    counts = np.bincount(idx.ravel().astype(np.int64), minlength=k * j * bins).reshape(k, j, bins)
    left = lo[:, :, None] + width[:, :, None] * np.arange(bins)
    right = left + width[:, :, None]
    return (stats.transpose(1, 0, 2), counts.transpose(1, 0, 2), left.transpose(1, 0, 2),
            right.transpose(1, 0, 2))


def units(W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(K, fan_in, fan_out), (K, 1, fan_out) -> (K, fan_out, fan_in + 1): a unit per row."""
    return np.concatenate([network.swap(W), network.swap(b)], axis=2).astype(np.float64)


def pairwise_distances(u: np.ndarray) -> np.ndarray:
    """(K, m, d) -> (K, m, m) Euclidean distances, computed from differences so
    that identical units come out exactly 0 (a Gram-matrix shortcut would not)."""
    k, m, d = u.shape
    out = np.empty((k, m, m))
    step = max(1, 4_000_000 // max(1, k * m * d))
    for i in range(0, m, step):
        diff = u[:, i:i + step, None, :] - u[:, None, :, :]
        out[:, i:i + step] = np.sqrt(np.einsum("kijd,kijd->kij", diff, diff))
    return out


def distinct_units(u: np.ndarray, tol: float = IDENTICAL_TOL) -> int:
    """Number of distinct rows of u (m, d): rows within tol (max-abs) are one.

    Rows are projected on a fixed direction and sorted; only rows whose
    projections are close can be equal, so random layers cost a sort and
    symmetric ones a single comparison against everything.
    """
    m = u.shape[0]
    if m <= 1:
        return m
    v = np.random.default_rng(12345).uniform(0.5, 1.0, u.shape[1])
    p = u @ v
    order = np.argsort(p, kind="stable")
    slack = tol * v.sum() + 1e-12 * (1.0 + np.abs(u).max() * v.sum())
    breaks = np.flatnonzero(np.diff(p[order]) > slack)
    count = 0
    for group in np.split(order, breaks + 1):
        rest = u[group]
        while len(rest):
            same = np.abs(rest - rest[0]).max(axis=1) <= tol
            count += 1
            rest = rest[~same]
    return count


def distinct_units_stack(u: np.ndarray, tol: float = IDENTICAL_TOL) -> np.ndarray:
    """``distinct_units`` of every model of a stack (K, m, d) -> (K,): the common
    case (every projection apart from its neighbours: all units distinct) is
    settled for all models in a few array operations; only models with close
    projections go through the grouping loop."""
    k, m, _ = u.shape
    if m <= 1:
        return np.full(k, m, np.int64)
    v = np.random.default_rng(12345).uniform(0.5, 1.0, u.shape[2])
    p = np.stack([u[i] @ v for i in range(k)])  # the per-model product distinct_units uses
    p.sort(axis=1, kind="stable")
    slack = tol * v.sum() + 1e-12 * (1.0 + np.abs(u).max(axis=(1, 2)) * v.sum())
    apart = (np.diff(p, axis=1) > slack[:, None]).all(axis=1)
    out = np.full(k, m, np.int64)
    for i in np.flatnonzero(~apart):
        out[i] = distinct_units(u[i], tol)
    return out


@dataclass
class Record:
    """Probe results for all K models at one epoch."""
    epoch: int
    stats: np.ndarray  # (layers, kinds, K, 5): mean, std, second_moment, nonfinite_fraction, dead_or_saturated
    counts: np.ndarray  # (layers, kinds, K, bins)
    left: np.ndarray  # (layers, kinds, K, bins)
    right: np.ndarray
    init_distance: np.ndarray  # (layers, K)
    relative_distance: np.ndarray  # (layers, K)
    grad_norm: np.ndarray  # (layers, K, 2): weights, bias
    unit_distances: list  # per layer (K, m, m)
    distinct: np.ndarray  # (layers, K)
    boundary: np.ndarray | None  # (K, grid points, 2): predicted class, its probability
    alive: np.ndarray | None = None  # (K,) which models the record speaks for


class Prober:
    def __init__(self, X, y, act: Activation, task: str, grid: np.ndarray | None, dtype):
        self.X = np.asarray(X[:PROBE_SIZE], dtype)
        self.y = y[:PROBE_SIZE]
        self.act, self.task = act, task
        self.grid = None if grid is None else np.asarray(grid, dtype)
        self._init = None  # (init array, its units per layer): the initial weights never change in a run

    def _init_units(self, layout: network.Layout, init_flat: np.ndarray):
        if self._init is None or self._init[0] is not init_flat:
            self._init = (init_flat, [units(W, b) for W, b in layout.views(init_flat)])
        return self._init[1]

    def record(self, epoch: int, layout: network.Layout, flat: np.ndarray, init_flat: np.ndarray) -> Record:
        params = layout.views(flat)
        k, n_layers = flat.shape[0], len(params)
        grads_flat = np.zeros_like(flat)
        grads = layout.views(grads_flat)
        with np.errstate(all="ignore"):
            logits, zs, as_ = network.forward(params, self.X, self.act, keep=True)
            _, dz = network.loss_and_grad(logits, self.y, self.task)
            _, out_act = network.loss_and_grad(logits, self.y, self.task, want_grad=False)
            dzs = network.backward(params, self.X, zs, as_, dz, self.act, grads)
        n = self.X.shape[0]
        stats = np.full((n_layers, 3, k, 5), np.nan)
        values = []
        for layer in range(n_layers):
            hidden = layer < n_layers - 1
            z = zs[layer] if hidden else logits
            a = as_[layer] if hidden else out_act
            # per-sample gradients: the mean loss divides by the batch, undo it
            values += [z.reshape(k, -1), a.reshape(k, -1), (dzs[layer] * n).reshape(k, -1)]
            if hidden:
                with np.errstate(all="ignore"):
                    stats[layer, :, :, 4] = inactive_fraction(self.act, z, a)[None, :]
        st, c, lf, rt = segment_stats(values)
        stats[:, :, :, :4] = st.reshape(n_layers, 3, k, 4)
        counts = c.reshape(n_layers, 3, k, N_BINS)
        left = lf.reshape(n_layers, 3, k, N_BINS)
        right = rt.reshape(n_layers, 3, k, N_BINS)
        init_units = self._init_units(layout, init_flat)
        dist = np.empty((n_layers, k))
        rel = np.empty((n_layers, k))
        gnorm = np.empty((n_layers, k, 2))
        unit_d, distinct = [], np.empty((n_layers, k), np.int64)
        for layer, ((W, b), u0, (gW, gb)) in enumerate(zip(params, init_units, grads)):
            u = units(W, b)
            with np.errstate(all="ignore"):
                d = np.sqrt(((u - u0) ** 2).sum(axis=(1, 2)))
                n0 = np.sqrt((u0 ** 2).sum(axis=(1, 2)))
                dist[layer] = d
                rel[layer] = np.where(n0 > 0, d / np.where(n0 > 0, n0, 1), np.nan)
                gnorm[layer, :, 0] = np.sqrt((gW.astype(np.float64) ** 2).sum(axis=(1, 2)))
                gnorm[layer, :, 1] = np.sqrt((gb.astype(np.float64) ** 2).sum(axis=(1, 2)))
            unit_d.append(pairwise_distances(u[:, :MAX_UNITS]))
            distinct[layer] = distinct_units_stack(u)
        boundary = None
        if self.grid is not None:
            with np.errstate(all="ignore"):
                g_logits = network.forward(params, self.grid, self.act)
                shifted = g_logits - g_logits.max(axis=2, keepdims=True)
                p = np.exp(shifted)
                p /= p.sum(axis=2, keepdims=True)
            boundary = np.stack([p.argmax(axis=2), p.max(axis=2)], axis=2)
        return Record(epoch, stats, counts, left, right, dist, rel, gnorm, unit_d, distinct, boundary)
