"""Histograms re-binned onto one value grid, so that densities of different models share an axis.

The probes bin every (model, layer, epoch) on its own range (``core.measure.probes.histograms``): the schemes compared
differ by orders of magnitude. To draw them side by side, layer × value or epoch × value, the counts are
spread onto one grid in NumPy (the browser never gets samples): each source bin's count is spread uniformly
over its width (the only assumption pre-binned counts allow) and split by overlap with the target bins. A
sample that was constant (std 0: zero or constant weights) is a point mass at its mean, not a bin-wide smear.

The grid is on a symmetric log-like axis, t = sign(x)·log10(1 + |x|/ε): linear within about ε of zero,
logarithmic beyond, so a signal that vanished (|x| ≪ ε, a line at 0) and one that exploded (|x| ~ 1e6, t ~ 9)
fit one picture; or on a plain linear axis over the range the shown histograms occupy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.formatting import number_text

EPS = 1e-3  # the symlog axis is linear within about EPS of zero
BINS = 60  # target bins on the value axis
KEYS = ["scheme", "seed", "epoch", "layer", "kind"]


def symlog(x, eps: float = EPS):
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.log10(1.0 + np.abs(x) / eps)


def symlog_inverse(t, eps: float = EPS):
    t = np.asarray(t, dtype=float)
    return np.sign(t) * eps * (10.0 ** np.abs(t) - 1.0)


def rebin(left: np.ndarray, right: np.ndarray, counts: np.ndarray, edges: np.ndarray,
          point: np.ndarray | None = None) -> np.ndarray:
    """Source histograms (R, B) -> counts (R, M) on the target ``edges`` (M + 1, increasing, in value units).

    A source bin's count is spread uniformly over [left, right) and split by overlap; mass outside the edges
    goes to the end bins, so each row keeps its total. Where ``point`` (R,) is finite, the row is a point mass
    there: its whole count lands in the target bin holding that value.
    """
    left, right = np.asarray(left, float), np.asarray(right, float)
    counts, edges = np.asarray(counts, float), np.asarray(edges, float)
    width = np.where(right > left, right - left, np.inf)
    frac = np.clip((edges[None, None, :] - left[..., None]) / width[..., None], 0.0, 1.0)  # (R, B, M + 1)
    cdf = np.einsum("rb,rbm->rm", counts, frac)
    out = np.diff(cdf, axis=1)
    total = counts.sum(axis=1)
    out[:, 0] += cdf[:, 0]
    out[:, -1] += total - cdf[:, -1]
    if point is not None:
        point = np.asarray(point, float)
        at = np.isfinite(point)
        if at.any():
            idx = np.clip(np.searchsorted(edges, point[at], side="right") - 1, 0, len(edges) - 2)
            out[at] = 0.0
            out[np.flatnonzero(at), idx] = total[at]
    return np.maximum(out, 0.0)  # rounding can leave -1e-13


@dataclass(frozen=True)
class ValueAxis:
    """The shared value axis: ``edges`` in value units, ``domain`` and ``ticks`` in plot units (t for
    symlog, the value itself for linear) and the tick labels in value units."""
    symlog: bool
    edges: np.ndarray
    domain: tuple[float, float]
    ticks: tuple[float, ...]
    labels: tuple[str, ...]

    def to_plot(self, x):
        return symlog(x) if self.symlog else np.asarray(x, float)


def _occupied(hist: pd.DataFrame) -> tuple[float, float]:
    """Smallest left and largest right edge of the bins that hold a count (0, 0 if none)."""
    full = hist[hist["count"] > 0]
    if full.empty:
        return 0.0, 0.0
    lo, hi = float(full["bin_left"].min()), float(full["bin_right"].max())
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else (0.0, 0.0)


def _label(x: float) -> str:
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        return number_text(x, "g")
    return f"{'-' if x < 0 else ''}1e{round(math.log10(abs(x)))}"


def value_axis(hist: pd.DataFrame, symlog_axis: bool = True, bins: int = BINS) -> ValueAxis:
    """One axis for every histogram of ``hist``: the range their filled bins occupy, zero included."""
    lo, hi = _occupied(hist)
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if symlog_axis:
        tlo, thi = float(symlog(lo)), float(symlog(hi))
        if thi - tlo < 1e-9:
            tlo, thi = -1.0, 1.0
        t_edges = np.linspace(tlo, thi, bins + 1)
        edges = symlog_inverse(t_edges)
        # ticks at 0 and ±10^k inside the domain, thinned to at most 9
        powers = [10.0 ** k for k in range(-3, 40)]
        xs = sorted({0.0, *[p for p in powers if p <= hi], *[-p for p in powers if -p >= lo]})
        while len(xs) > 9:
            zero = xs.index(0.0)
            xs = [x for i, x in enumerate(xs) if (i - zero) % 2 == 0]
        ticks = tuple(float(symlog(x)) for x in xs)
        return ValueAxis(True, edges, (tlo, thi), ticks, tuple(_label(x) for x in xs))
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    return ValueAxis(False, edges, (lo, hi), (), ())


def _points(hist_keys: pd.DataFrame, stats: pd.DataFrame | None) -> np.ndarray:
    """Per histogram, the value of a constant sample (std 0), else NaN."""
    constant = stats[stats["std"] == 0][KEYS + ["mean"]] if stats is not None and len(stats) else None
    if constant is None or constant.empty:
        return np.full(len(hist_keys), np.nan)
    return hist_keys.merge(constant, on=KEYS, how="left")["mean"].to_numpy(dtype=float)


def density(hist: pd.DataFrame, stats: pd.DataFrame | None, axis: ValueAxis, by: str) -> pd.DataFrame:
    """Tidy density of the histograms in ``hist`` on ``axis``: one row per (scheme, ``by``, target bin) with
    the bin's edges in plot units (lo, hi) and value units (value_lo, value_hi), its count and its share of
    the histogram's finite values. ``hist`` must hold one histogram per (scheme, ``by``). Empty target bins
    are left out."""
    cols = ["scheme", by, "lo", "hi", "value_lo", "value_hi", "count", "share"]
    if hist.empty:
        return pd.DataFrame(columns=cols)
    hist = hist.sort_values(KEYS + ["bin_left"], kind="stable")
    keys = hist[KEYS].drop_duplicates().reset_index(drop=True)
    n = len(keys)
    b = len(hist) // n
    shape = (n, b)
    out = rebin(hist["bin_left"].to_numpy().reshape(shape), hist["bin_right"].to_numpy().reshape(shape),
                hist["count"].to_numpy().reshape(shape), axis.edges, _points(keys, stats))
    total = out.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = out / total
    m = out.shape[1]
    t_edges = axis.to_plot(axis.edges)
    frame = pd.DataFrame({
        "scheme": np.repeat(keys["scheme"].to_numpy(), m), by: np.repeat(keys[by].to_numpy(), m),
        "lo": np.tile(t_edges[:-1], n), "hi": np.tile(t_edges[1:], n),
        "value_lo": np.tile(axis.edges[:-1], n), "value_hi": np.tile(axis.edges[1:], n),
        "count": out.ravel(), "share": share.ravel()})
    return frame[frame["count"] > 1e-9].reset_index(drop=True)[cols]
