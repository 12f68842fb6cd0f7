"""What the trainer looks at, at each recorded epoch, on one fixed probe batch.

Everything here returns small arrays whose size depends on models, layers,
bins and at most MAX_UNITS units, never on the batch: memory stays bounded by
(recorded epochs x layers x bins) however large the data or the layers.
"""
from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass

import numpy as np

from core.nn import network
from core.nn.activations import Activation, inactive_fraction

N_BINS = 30
MAX_UNITS = 32  # pairwise unit distances use the first MAX_UNITS units of a layer
PROBE_SIZE = 128  # probe batch: the first PROBE_SIZE training samples
GRID = 40  # decision-boundary grid is GRID x GRID
# Two units are one when they differ by at most this many machine epsilons of the training dtype, relative
# to their scale (see same_unit_tolerance).
SAME_UNIT_EPS = 2 ** 14
SCREEN_DIMS = 8  # wide layers' units are first told apart along this many directions (_twins)
UNIT_VALUES = 1 << 18  # at most this many values (models x units x max(units, inputs)) per _twins call
PAIRS_AT_ONCE = 1 << 11  # units x values up to which a layer's count compares all models' rows at once
# Pairs with squared distance below this share of their squared norms are measured from their difference:
# there the Gram form's rounding (about 1e-16 of the norms) would be more than a 1e-6 relative error.
CLOSE_PAIRS = 1e-9
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
    counts, lo, width = _counts_and_ranges(v, bins)
    return (counts, *bin_edges(lo, width, bins))


def _counts_and_ranges(v: np.ndarray, bins: int):
    """``histograms``' counts (K, bins), with each row's start and bin width (K,)."""
    k = v.shape[0]
    v = v.astype(np.float64, copy=False)
    fin = np.isfinite(v)
    with np.errstate(invalid="ignore"):
        lo, width = _bin_ranges(np.where(fin, v, np.inf).min(axis=1), np.where(fin, v, -np.inf).max(axis=1), bins)
    with np.errstate(invalid="ignore", over="ignore"):
        idx = np.floor((v - lo[:, None]) / width[:, None])
        wide = ~np.isfinite(_span(width, bins))
        if wide.any():  # v - lo overflows there: scale first (other rows keep the arithmetic their numbers have)
            idx[wide] = np.floor(v[wide] / width[wide, None] - lo[wide, None] / width[wide, None])
    idx = np.clip(np.nan_to_num(idx, nan=0, posinf=0, neginf=0), 0, bins - 1).astype(np.int64)
    idx += (np.arange(k) * bins)[:, None]
    counts = np.bincount(idx[fin], minlength=k * bins).reshape(k, bins)
    return counts, lo, width


def _span(width: np.ndarray, bins: int) -> np.ndarray:
    """The span of each row's histogram, infinite where it is past float64's range."""
    with np.errstate(over="ignore"):
        return width * bins


def _bin_ranges(lo: np.ndarray, hi: np.ndarray, bins: int):
    """Each row's histogram start and bin width from its finite minimum and maximum: a row with no finite
    value gets [-0.5, 0.5], a constant row a unit-wide range centred on it."""
    lo, hi = lo.astype(np.float64), hi.astype(np.float64)
    empty = ~np.isfinite(lo)
    lo[empty], hi[empty] = -0.5, 0.5
    flat = hi <= lo
    lo[flat], hi[flat] = lo[flat] - 0.5, hi[flat] + 0.5
    with np.errstate(over="ignore"):
        width = (hi - lo) / bins
    wide = ~np.isfinite(width)  # a span past float64's range (values near ±1e308): divide before subtracting
    width[wide] = hi[wide] / bins - lo[wide] / bins
    return lo, width


def bin_edges(lo: np.ndarray, width: np.ndarray, bins: int = N_BINS):
    """Left and right edges (..., bins) of the bins that start at lo (...) and are width (...) wide."""
    steps = np.arange(bins)
    with np.errstate(over="ignore"):
        left = lo[..., None] + width[..., None] * steps
        right = left + width[..., None]
    wide = ~(np.isfinite(left).all(axis=-1) & np.isfinite(right).all(axis=-1)) & np.isfinite(width)
    if wide.any():  # a span near float64's limit: halve, add, double (other rows keep their arithmetic)
        half = lo[wide][..., None] / 2 + (width[wide][..., None] / 2) * np.arange(bins + 1)
        left[wide], right[wide] = half[..., :-1] * 2, half[..., 1:] * 2
    return left, right


class StatsWork:
    """Work arrays for ``segment_stats``, reused at every record.

    Fresh temporaries of a few megabytes cost more in page faults than the
    passes over them (a third of a record's time in the default
    configuration), so the values go through these arrays in chunks of rows
    of at most CAPACITY values (one row at a time, the arrays grown, for a longer row).
    """
    # values: a chunk's float64 and index arrays (1 MB) stay in the core's 2 MB L2 cache; the passes over a
    # default record's values took 13% less time than in chunks of 1 << 18
    CAPACITY = 1 << 16

    def __init__(self):
        self.f64 = np.empty(self.CAPACITY)
        self.idx = np.empty(self.CAPACITY, np.intp)
        self._stack = np.empty(0)

    def rows_per_chunk(self, n: int) -> int:
        """Rows of n values that fit the work arrays, at least one (they grow for longer rows)."""
        if n > self.f64.size:
            self.f64, self.idx = np.empty(n), np.empty(n, np.intp)
        return self.f64.size // n

    def stacked(self, sets: list[np.ndarray]) -> np.ndarray:
        """The (K, N) sets one under the other, (sets x K, N), in an array reused from record to record."""
        rows, n = sum(len(v) for v in sets), sets[0].shape[1]
        if self._stack.size < rows * n or self._stack.dtype != sets[0].dtype:
            self._stack = np.empty(rows * n, sets[0].dtype)
        out = network.view(self._stack, (rows, n))
        np.concatenate(sets, out=out)
        return out


def segment_stats(values: list[np.ndarray], bins: int = N_BINS, work: StatsWork | None = None):
    """``moments`` and ``histograms`` of many (K, N_j) value sets at once.

    Returns stats (J, K, 4), counts (J, K, bins), and each histogram's start
    and bin width (J, K) (``bin_edges`` gives its edges). Sets of the same
    size (the layers of one width) are stacked row-wise and go through one
    short path for finite rows, a chunk of rows at a time; a row with NaN or
    inf goes through ``moments`` and ``histograms`` themselves, whose
    definitions the short path follows.
    """
    work = work or StatsWork()
    j, k = len(values), values[0].shape[0]
    stats = np.zeros((j, k, 4))
    counts = np.empty((j, k, bins), np.int64)
    starts, widths = np.empty((j, k)), np.empty((j, k))
    by_size: dict[int, list[int]] = {}
    for i, v in enumerate(values):
        by_size.setdefault(v.shape[1], []).append(i)
    for n, members in by_size.items():
        V = work.stacked([values[i] for i in members])  # (sets x K, N)
        st, c = np.zeros((len(V), 4)), np.empty((len(V), bins), np.int64)
        lo_all, width_all = np.empty(len(V)), np.empty(len(V))
        with np.errstate(invalid="ignore"):
            lo, hi = V.min(axis=1), V.max(axis=1)  # NaN or inf anywhere in a row shows up here
        # The long path takes those rows, and finite rows whose bin arithmetic would overflow in an exploding
        # network: a range wider than float64 holds, or bins too narrow for their inverse to be finite.
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            w = _bin_ranges(lo, hi, bins)[1]
            bad = ~(np.isfinite(lo) & np.isfinite(hi) & np.isfinite(_span(w, bins)) & np.isfinite(1.0 / w))
        good = ~bad
        if bad.any():
            st[bad] = moments(V[bad])
            c[bad], lo_all[bad], width_all[bad] = _counts_and_ranges(V[bad], bins)
            V, lo, hi = V[good], lo[good], hi[good]
        lo, width = _bin_ranges(lo, hi, bins)
        sg, cg = np.zeros((len(V), 4)), np.empty((len(V), bins), np.int64)
        step = work.rows_per_chunk(n)
        for r0 in range(0, len(V), step):
            rows = slice(r0, r0 + step)
            _finite_rows(V[rows], lo[rows], width[rows], bins, work, sg[rows], cg[rows])
        st[good], c[good], lo_all[good], width_all[good] = sg, cg, lo, width
        for pos, i in enumerate(members):
            r = slice(pos * k, (pos + 1) * k)
            stats[i], counts[i], starts[i], widths[i] = st[r], c[r], lo_all[r], width_all[r]
    return stats, counts, starts, widths


def _finite_rows(V: np.ndarray, lo: np.ndarray, width: np.ndarray, bins: int, work: StatsWork,
                 stats: np.ndarray, counts: np.ndarray) -> None:
    """Moments into ``stats`` (R, 4) and histogram counts into ``counts`` (R, bins) of finite rows V (R, N),
    in float64, through the work arrays; every row's numbers are independent of the others.

    The variance is m2 - mean^2 unless that cancels more than three digits
    (a nearly constant row), where it is summed from the deviations instead.
    """
    r, n = V.shape
    v64 = network.view(work.f64, (r, n))
    np.copyto(v64, V)
    # NumPy's own row reductions, not BLAS dot products: each row's sum must not depend on how many rows
    # share the call or where the row sits in memory (a model's numbers may not depend on its stack)
    mean = v64.sum(axis=1) / n
    m2 = row_squares(v64) / n
    var = m2 - mean * mean
    shaky = np.flatnonzero((var <= 1e-3 * m2) & (m2 > 0))  # m2 = 0: every value is 0, var is exactly 0
    if len(shaky):
        var[shaky] = row_squares(v64[shaky] - mean[shaky, None]) / n
    stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3] = mean, np.sqrt(np.maximum(var, 0.0)), m2, 0.0
    # bin = floor((v - lo) / width): v >= its row's minimum, so the difference is >= 0 and truncation is
    # floor; the maximum itself (index ``bins``) is folded into the last bin. Each row's bins are offset
    # by row x (bins + 1), added in float64 where such integers are exact, for one bincount of all rows.
    v64 -= lo[:, None]  # v64 still holds V in float64: the same numbers as V - lo, without a mixed-type pass
    v64 *= (1.0 / width)[:, None]
    v64 += (np.arange(r) * (bins + 1.0))[:, None]
    idx = network.view(work.idx, (r, n))
    np.copyto(idx, v64, casting="unsafe")
    c = np.bincount(idx.ravel(), minlength=r * (bins + 1)).reshape(r, bins + 1)
    c[:, bins - 1] += c[:, bins]
    counts[...] = c[:, :bins]


def row_squares(a: np.ndarray) -> np.ndarray:
    """(R, N) -> (R,): each row's sum of squares, by np.einsum, with the same bits whichever rows share the call.

    einsum sums a row longer than NumPy's buffer (8192 values) in buffer-sized blocks when it reduces several
    rows, but in one pass when it reduces a single row: the two orders differ in the last bits. So a single
    row is reduced as one of two, beside a row of zeros, and a row's sum never depends on the chunk it lands in
    (nor, through the chunks, on the other models of its stack or the value sets recorded with it).
    """
    if len(a) == 1:
        pair = np.zeros((2, a.shape[1]))
        pair[0] = a[0]
        return np.einsum("ij,ij->i", pair, pair)[:1]
    return np.einsum("ij,ij->i", a, a)


def pair_distances(u: np.ndarray) -> np.ndarray:
    """(K, m, d) -> (K, m (m - 1) / 2): the Euclidean distance of every pair of the m units, the strict upper
    triangle of the distance matrix by rows (``square`` gives the matrix).

    From the Gram matrix (one batched matmul), except for pairs that are close
    relative to their norms, where the cancellation in |a|^2 + |b|^2 - 2ab
    would leave noise: those are computed from their differences, so that
    identical units come out exactly 0 (symmetry is what these heatmaps show).
    """
    k, m, _ = u.shape
    upper = _upper(m)
    out = np.zeros((k, int(upper.sum())))
    # models whose units are all exactly the same (zero or constant starts) are all zeros: skip them
    rest = np.flatnonzero((u != u[:, :1]).any(axis=(1, 2)))
    if len(rest) == 0:
        return out
    v = u[rest] if len(rest) < k else u
    sq = np.einsum("kid,kid->ki", v, v)
    norms = sq[:, :, None] + sq[:, None, :]
    d2 = norms - 2.0 * np.matmul(v, network.swap(v))
    kk, iu, ju = np.nonzero((d2 <= CLOSE_PAIRS * norms) & upper)
    if len(kk):
        diff = v[kk, iu] - v[kk, ju]
        d2[kk, iu, ju] = np.einsum("pd,pd->p", diff, diff)
    pairs = d2[:, upper]
    out[rest] = np.sqrt(np.maximum(pairs, 0.0, out=pairs), out=pairs)
    return out


def square(pairs: np.ndarray) -> np.ndarray:
    """``pair_distances``' (K, m (m - 1) / 2) -> (K, m, m): exactly symmetric, zero on the diagonal."""
    m = int(round((1 + math.sqrt(1 + 8 * pairs.shape[1])) / 2))
    d = np.zeros((len(pairs), m, m))
    d[:, _upper(m)] = pairs
    return d + network.swap(d)


def pairwise_distances(u: np.ndarray) -> np.ndarray:
    """(K, m, d) -> (K, m, m) Euclidean distances between the units (rows) of each model."""
    return square(pair_distances(u))


@functools.lru_cache(maxsize=64)
def _upper(m: int) -> np.ndarray:
    """The strict upper triangle of an m x m matrix, as a mask."""
    mask = np.triu(np.ones((m, m), bool), 1)
    mask.flags.writeable = False
    return mask


def same_unit_tolerance(dtype) -> float:
    """The relative tolerance under which two units count as one: SAME_UNIT_EPS = 2^14 machine epsilons of
    the training dtype (float32: 2^-9 = 2.0e-3; float64: 3.6e-12), relative to the larger unit's largest
    |value|.

    Units that start equal stay equal in exact arithmetic; in floating point they drift apart by rounding
    (a BLAS may compute different output columns of one product with different kernels). Measured in
    float32 on moons (3 x 32 units; tanh, relu and sigmoid; SGD and momentum; 130 to 39,000 update steps),
    copies started from constant weights mostly stayed within 100 eps of their scale and at worst reached
    7,247 eps in their weights and 4,613 eps in their activations. The difference does not grow steadily
    with the number of steps (the worst layer: 1, 120, 7,247, then 290 eps after 1,300, 3,900, 13,000 and
    39,000 steps), though one ReLU layer reached 28,280 eps in its weights (894 in its activations) after
    39,000 steps. 2^14 = 16,384 eps covers the rest with a margin of two, and stays far
    below how far apart units that compute different things were in every run measured (identity, ZerO, He:
    at least a tenth of their scale). Adam is different: it amplified the rounding differences about
    exponentially (926 eps after 1,300 steps, 4,767 after 3,900, the units' own size after 13,000), so
    there rounding really does break the symmetry, and the count shows it.
    """
    return SAME_UNIT_EPS * float(np.finfo(dtype).eps)


def _scales(u: np.ndarray) -> np.ndarray:
    """(..., m, d) -> (..., m): each row's largest finite absolute value."""
    scale = np.abs(u).max(axis=-1)
    bad = ~np.isfinite(scale)  # rows with NaN or inf (a blown-up start) measured again without them
    if bad.any():
        rows = np.abs(u[bad])
        scale[bad] = np.where(np.isfinite(rows), rows, 0).max(axis=-1)
    return scale


def _same_as(rows: np.ndarray, first: np.ndarray, scale: np.ndarray, scale0, rtol: float) -> np.ndarray:
    """Which of ``rows`` (..., r, d) are the same unit as ``first`` (..., 1, d): every value within rtol x the
    larger of the two rows' scales (``scale`` (..., r), ``scale0`` (..., 1)), where a non-finite value must be
    the very same NaN or inf. -> (..., r)"""
    tol = rtol * np.maximum(scale, scale0)
    with np.errstate(invalid="ignore"):
        close = (np.abs(rows - first) <= tol[..., None]) | (rows == first) | (np.isnan(rows) & np.isnan(first))
    return close.all(axis=-1)


def distinct_units(u: np.ndarray, rtol: float) -> int:
    """Number of distinct rows of u (m, d) (``distinct_units_stack`` of one model)."""
    return int(distinct_units_stack(u[None], rtol)[0])


def distinct_units_stack(u: np.ndarray, rtol: float) -> np.ndarray:
    """The number of distinct rows (units) of every model of a stack (K, m, d) -> (K,).

    Rows i and j are one unit when max |u_i - u_j| <= rtol x max(|u_i|_inf, |u_j|_inf), where a NaN or inf
    must be the very same value; rows are grouped greedily in order, the first row left taking every row
    that is the same as it. Models whose rows are all bit for bit the first (zero and constant starts) are
    settled in one check; in the others only rows that ``_twins`` cannot tell apart from every other row
    of their model are compared one by one (``_greedy_count``), in one check for models where that is all of
    them; in small layers every model's rows at once (``_stacked_greedy_count``).
    """
    k, m, d = u.shape
    if m <= 1:
        return np.full(k, m, np.int64)
    out = np.ones(k, np.int64)
    rest = np.flatnonzero(~(u == u[:, :1]).all(axis=(1, 2)))
    v = u if len(rest) == k else u[rest]
    step = max(1, UNIT_VALUES // (m * max(m, d)))
    for m0 in range(0, len(rest), step):
        chunk = v[m0:m0 + step]
        twins = _twins(chunk, rtol)
        todo = twins.any(axis=1)
        out[rest[m0:m0 + step][~todo]] = m
        sym = np.flatnonzero(twins.all(axis=1))
        if len(sym):
            scale = _scales(chunk[sym])
            one = _same_as(chunk[sym], chunk[sym, :1], scale, scale[:, :1], rtol).all(axis=1)
            todo[sym[one]] = False
        todo = np.flatnonzero(todo)
        if m * d <= PAIRS_AT_ONCE and len(todo):  # small rows: every model's pairs at once
            out[rest[m0 + todo]] = _stacked_greedy_count(chunk[todo], rtol)
            continue
        for i in todo:
            rows = chunk[i, twins[i]]
            out[rest[m0 + i]] = m - len(rows) + _greedy_count(rows, _scales(rows), rtol)
    return out


def _stacked_greedy_count(u: np.ndarray, rtol: float) -> np.ndarray:
    """The greedy count of every model of u (K, m, d) at once: for each row in turn, in the models where it
    is left, it takes every row that is the same as it. m steps over the stack whatever the rows: the cost
    of small layers does not depend on how alike their units are."""
    k, m, _ = u.shape
    scale = _scales(u)
    left = np.ones((k, m), bool)
    count = np.zeros(k, np.int64)
    for i in range(m):
        first = np.flatnonzero(left[:, i])
        if not len(first):
            continue
        count[first] += 1
        same = _same_as(u[first], u[first, i:i + 1], scale[first], scale[first, i:i + 1], rtol)
        left[first] &= ~same
    return count


@functools.lru_cache(maxsize=64)
def _screen(d: int) -> np.ndarray:
    """(d, SCREEN_DIMS) fixed orthonormal columns: the directions ``_twins`` compares long rows along."""
    q, _ = np.linalg.qr(np.random.default_rng(12345).standard_normal((d, SCREEN_DIMS)))
    q.flags.writeable = False
    return q


def _twins(u: np.ndarray, rtol: float) -> np.ndarray:
    """(K, m) which rows of u (K, m, d) may be the same unit as another row of their model.

    Each model's rows are divided by its largest |value| (free of overflow and underflow). Two rows of one
    unit are then within rtol in every coordinate, so within sqrt(d) rtol in Euclidean distance, and so
    are their projections on SCREEN_DIMS orthonormal directions, which wide layers are compared by (m^2 d
    operations would be more than the probes' forward pass: a layer of 1024 units has 1025 inputs). The
    distances come from the Gram matrix, in u's dtype; the bound adds the projection's rounding (at most
    sqrt(dims) d^1.5 eps for two rows with entries in [-1, 1]) and the Gram form's (at most 8 dims eps of
    the largest squared norm). A row outside every other row's bound is a unit of its own. In a model with
    NaN or inf every row stays in.
    """
    k, m, d = u.shape
    eps = np.finfo(u.dtype).eps
    with np.errstate(invalid="ignore"):
        top = np.maximum(u.max(axis=(1, 2)), -u.min(axis=(1, 2)))  # NaN in a model with NaN
    finite = np.isfinite(top) & (top > 0)
    reach = math.sqrt(d) * rtol
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf models: every row stays in below
        w = u / np.where(finite, top, 1).astype(u.dtype)[:, None, None]
        if m * d > 4 * SCREEN_DIMS * (m + d):  # the projection's work is under a quarter of the Gram's
            w = np.matmul(w, _screen(d).astype(u.dtype))
            reach += 2 * math.sqrt(SCREEN_DIMS) * d ** 1.5 * eps
        gram = np.matmul(w, network.swap(w))
        sq = np.diagonal(gram, axis1=1, axis2=2)
        bound = reach * reach + 8 * w.shape[2] * eps * sq.max(axis=1)
        # |w_i - w_j|^2 <= bound, as w_i.w_j - |w_i|^2 / 2 >= (|w_j|^2 - bound) / 2
        near = gram - sq[:, :, None] / 2 >= ((sq - bound[:, None]) / 2)[:, None, :]
    near[:, np.arange(m), np.arange(m)] = False
    twins = near.any(axis=2)
    twins[~finite] = True
    return twins


def _greedy_count(rows: np.ndarray, scale: np.ndarray, rtol: float) -> int:
    """Units among ``rows`` (r, d): the first row left takes every row that is the same as it.

    Each first row is compared only with the rows left whose value in the column of widest spread is within
    rtol x the largest scale of its own (the one place a row of its unit can be), found in that column's
    sorted order: the same count as comparing it with every row left. When many rows share the window they
    are compared a few columns at a time (``_compare_stages``), each dropping out at its first stage off the
    first row's value: units apart are almost always told apart on the first row's LEAD_COLUMNS columns that
    stand out most, so the cost does not grow with the width of the rows when many units are near-copies
    of one another (tiny weights under a large constant bias, identity weights)."""
    if not np.isfinite(rows).all():  # NaN and inf: compared with every row left, as _same_as allows for them
        count = 0
        while len(rows):
            same = _same_as(rows, rows[:1], scale, scale[:1], rtol)
            count += 1
            rows, scale = rows[~same], scale[~same]
        return count
    key = rows[:, int(np.argmax(np.ptp(rows, axis=0)))]
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    reach = rtol * float(scale.max()) * (1 + 1e-9) + float(np.abs(key).max()) * 4 * np.finfo(rows.dtype).eps
    los = np.searchsorted(ordered, key - reach, side="left").tolist()
    his = np.searchsorted(ordered, key + reach, side="right").tolist()
    stages = _compare_stages(rows.shape[1])
    columns = mean = None  # for many rows in a window: the rows' columns, contiguous, and the columns' means
    left = np.ones(len(rows), bool)
    count = 0
    for i, (lo, hi) in enumerate(zip(los, his)):
        if not left[i]:
            continue
        count += 1
        left[i] = False
        if hi - lo == 1:  # alone in its window: a unit of its own
            continue
        near = order[lo:hi]
        near = near[left[near]]
        if stages and len(near) > LEAD_COLUMNS:  # many rows: a few columns at a time, the likeliest first
            if columns is None:
                columns, mean = np.ascontiguousarray(rows.T), rows.mean(axis=0)
            first, s0 = rows[i], scale[i]
            for cols in stages:
                if cols is None:  # the first row's columns farthest from their means, against the widest
                    # tolerance any pair has (the stages after check every column against the pair's own)
                    apart = np.abs(first - mean)
                    cols = np.flatnonzero(apart >= LEAD_SHARE * apart.max())[:LEAD_COLUMNS]
                    near = near[_within(columns.take(cols, axis=0), near, first[cols], reach)]
                else:
                    near = near[_close_on(columns[cols], near, first[cols], scale[near], s0, rtol)]
                if not len(near):
                    break
        elif len(near):  # few rows, or short ones: on every column at once, each row's values in one run
            near = near[_same_as(rows[near], rows[i:i + 1], scale[near], scale[i:i + 1], rtol)]
        left[near] = False
    return count


def _within(columns: np.ndarray, near: np.ndarray, first: np.ndarray, reach: float) -> np.ndarray:
    """Which rows ``near`` of ``columns`` (c, r) are within ``reach`` of ``first`` (c,) in every one of these
    columns. -> (len(near),)"""
    diff = columns.take(near, axis=1)
    diff -= first[:, None]
    return np.abs(diff, out=diff).max(axis=0) <= reach


def _close_on(columns: np.ndarray, near: np.ndarray, first: np.ndarray, scale: np.ndarray, scale0,
              rtol: float) -> np.ndarray:
    """``_same_as`` of finite rows on some of their columns: which rows ``near`` of ``columns`` (c, r) are
    within rtol x the larger of the two scales of ``first`` (c,) in every one of these columns. -> (len(near),)"""
    diff = columns.take(near, axis=1)
    diff -= first[:, None]
    return (np.abs(diff, out=diff) <= rtol * np.maximum(scale, scale0)).all(axis=0)


LEAD_COLUMNS = 16  # columns a window's rows are first compared on in _greedy_count
LEAD_SHARE = 0.7  # ... those at least this share as far from their column's mean as the row's farthest


@functools.lru_cache(maxsize=64)
def _compare_stages(d: int) -> tuple:
    """The columns ``_greedy_count`` compares many rows of d values on, stage after stage: up to LEAD_COLUMNS
    of the first row's columns that stand out most from the columns' means (None), then every column in
    blocks four times as long as the last, so that a row left at a stage is mostly the first row's unit; none
    for rows short enough to compare at once."""
    if d <= 4 * LEAD_COLUMNS:
        return ()
    stages, c0, size = [None], 0, 4 * LEAD_COLUMNS
    while c0 < d:
        stages.append(slice(c0, min(d, c0 + size)))
        c0, size = c0 + size, 4 * size
    return tuple(stages)


@dataclass
class Record:
    """Probe results for all K models at one epoch.

    A sweep task's record (``Prober.for_sweep``) holds only ``stats`` (pre-activation and gradient rows) and, at
    the epochs asked, ``functional``; its other arrays are None and ``unit_pairs`` is empty. It never leaves
    core.sweeps.sweep_task, which reads those two directly."""
    epoch: int
    stats: np.ndarray  # (layers, kinds, K, 5): mean, std, second_moment, nonfinite_fraction, dead_or_saturated
    counts: np.ndarray  # (layers, kinds, K, bins)
    bin_start: np.ndarray  # (layers, kinds, K): each histogram's left edge
    bin_width: np.ndarray  # (layers, kinds, K)
    init_distance: np.ndarray  # (layers, K)
    relative_distance: np.ndarray  # (layers, K)
    grad_norm: np.ndarray  # (layers, K, 2): weights, bias
    grad_rms: np.ndarray  # (layers, K, 2): grad_norm over the square root of the layer's weights, biases
    unit_pairs: list  # per layer (K, m (m - 1) / 2): the strict upper triangle of its unit distances, by rows
    distinct: np.ndarray  # (layers, K): distinct units by incoming weights and bias
    functional: np.ndarray  # (layers, K): distinct units by their outputs on the probe batch
    # Decision boundary, None without a grid: (K, grid points) predicted class (int8; at most 10 classes) and
    # its probability (the training dtype). Kept small: records travel back from the training workers.
    predicted: np.ndarray | None
    probability: np.ndarray | None
    alive: np.ndarray | None = None  # (K,) which models the record speaks for

    def unit_distances(self) -> list[np.ndarray]:
        """Per layer (K, m, m) distances between its first m units (symmetric, zero on the diagonal)."""
        return [square(pairs) for pairs in self.unit_pairs]

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """(layers, kinds, K, bins) left and right edges of the histograms' bins."""
        return bin_edges(self.bin_start, self.bin_width, self.counts.shape[-1])

    @staticmethod
    def concat(parts: list["Record"]) -> "Record":
        """One record from those of consecutive groups of models at the same epoch."""
        def cat(name, axis):
            first = getattr(parts[0], name)
            return None if first is None else np.concatenate([getattr(p, name) for p in parts], axis=axis)
        return Record(
            parts[0].epoch, cat("stats", 2), cat("counts", 2), cat("bin_start", 2), cat("bin_width", 2),
            cat("init_distance", 1), cat("relative_distance", 1), cat("grad_norm", 1), cat("grad_rms", 1),
            [np.concatenate(layer) for layer in zip(*(p.unit_pairs for p in parts))], cat("distinct", 1),
            cat("functional", 1), cat("predicted", 0), cat("probability", 0), cat("alive", 0))


def _classes(logits: np.ndarray, predicted: np.ndarray, probability: np.ndarray) -> None:
    """argmax over the classes of ``logits`` (K, classes, points) into ``predicted`` (K, points), and its
    softmax probability into ``probability``; overwrites the logits."""
    top = logits.max(axis=1)
    if np.isnan(top).any():  # argmax's answer where a logit is NaN: the first NaN
        predicted[...] = logits.argmax(axis=1)
    else:  # argmax along the short class axis, as the first class that reaches the top (4x faster)
        for c in range(logits.shape[1] - 1, -1, -1):  # every point reaches the top at least once
            predicted[logits[:, c] == top] = c
    np.subtract(logits, top[:, None, :], out=logits)
    np.exp(logits, out=logits)
    # the predicted class has the largest logit: exp(0) = 1 over the sum is its probability
    np.divide(1, logits.sum(axis=1), out=probability)


class Prober:
    """What to probe on: the probe batch, the decision-boundary grid, the activation and the task."""

    def __init__(self, X, y, act: Activation, task: str, grid: np.ndarray | None, dtype):
        self.X = np.asarray(X[:PROBE_SIZE], dtype)
        self.y = y[:PROBE_SIZE]
        self.act, self.task = act, task
        self.grid = None if grid is None else np.asarray(grid, dtype)
        self.sweep_epochs: frozenset[int] | None = None  # see for_sweep

    def without_grid(self) -> "Prober":
        """The same probes without the decision boundary, for callers that do not read it."""
        lean = copy.copy(self)
        lean.grid = None
        return lean

    def for_sweep(self, functional_epochs) -> "Prober":
        """Only what a sweep's measures read (core.sweeps.sweep_task): the moments of the pre-activations and of the
        back-propagated gradients at every record, and the functional distinct units at ``functional_epochs``.
        Each is computed by the same calls as in a full record, so its numbers are the full record's; the
        record's other fields are None (``unit_pairs`` empty), and in ``stats`` the activation rows and the
        dead-or-saturated column are NaN."""
        lean = self.without_grid()
        lean.sweep_epochs = frozenset(functional_epochs)
        return lean

    def session(self, layout: network.Layout, init: np.ndarray) -> "ProbeSession":
        return ProbeSession(self, layout, init)


def unit_groups(k: int, sizes: tuple[int, ...], probe_rows: int, bound: int) -> tuple[list, list]:
    """How a record's distinct-unit counts group the layers of k models: (layers, padded fan-in + 1) by
    weights, and layers by function, each call at most ``bound`` values (ProbeSession.UNIT_GROUP_VALUES).

    Layers with as many units (the first and the hidden layers of one width) are measured in one call, each
    unit padded with zero inputs to the group's widest (zeros change neither a distance nor which units
    coincide), up to ``bound`` values: a deep network of one width would otherwise copy all its weights at
    once. Layers' outputs on the probe batch (probe samples per unit) are counted the same way: layers of one
    width in one call, up to ``bound`` values."""
    by_weights: list[tuple[list[int], int]] = []
    latest: dict[int, int] = {}  # units -> the last group of layers with that many
    for layer, (fi, fo) in enumerate(zip(sizes[:-1], sizes[1:])):
        g = latest.get(fo)
        if g is not None:
            layers, d = by_weights[g]
            if k * fo * max(d, fi + 1) * (len(layers) + 1) <= bound:
                by_weights[g] = (layers + [layer], max(d, fi + 1))
                continue
        latest[fo] = len(by_weights)
        by_weights.append(([layer], fi + 1))
    by_function: list[list[int]] = []
    per_layer: dict[int, list[int]] = {}
    for layer, units in enumerate(sizes[1:]):
        group = per_layer.get(units)
        if group is not None and k * probe_rows * units * (len(group) + 1) <= bound:
            group.append(layer)
        else:
            per_layer[units] = group = [layer]
            by_function.append(group)
    return by_weights, by_function


class ProbeSession:
    """The probing of one stack of models through one training run.

    Holds what every recorded epoch reuses: the initial weights that distances
    are measured from, and work arrays. Allocating the grid's arrays afresh at
    each record cost more than the arithmetic on them (page faults: 5.0 ms
    against 3.2 ms per record for the default configuration's 40 x 40 grid).
    """

    GRID_CHUNK = 400  # grid points per forward pass: for the default configuration its arrays stay in cache
    UNIT_GROUP_VALUES = 1 << 18  # at most this many float64 unit values per pairwise/distinct call (2 MB)

    def __init__(self, prober: Prober, layout: network.Layout, init: np.ndarray):
        self.prober, self.layout = prober, layout
        k = init.shape[0]
        self.init64 = init.astype(np.float64)
        self.offsets = list(layout.offsets())
        self.rtol = same_unit_tolerance(init.dtype)
        # (layers, 1, 2): each layer's number of weights and of biases, whose roots turn norms into RMS
        self.root_counts = np.sqrt([[[b0 - w0, end - b0]] for w0, b0, end in self.offsets])
        # one layer's squared distances, then squared gradients, in float64 (a whole-stack array would be
        # the largest thing a record allocates)
        self.layer_work = np.empty(k * max(end - w0 for w0, _, end in self.offsets))
        with np.errstate(all="ignore"):
            self.init_norm = np.sqrt([np.square(self.init64[:, w0:end]).sum(axis=1) for w0, _, end in self.offsets])
        groups = unit_groups(k, layout.sizes, len(prober.X), self.UNIT_GROUP_VALUES)
        self.unit_groups: list[tuple[list[int], int]] = groups[0]
        self.output_groups: list[list[int]] = groups[1]
        self.buffers = network.Buffers(k, len(prober.X), layout.sizes, init.dtype)
        n_grid = 0 if prober.grid is None else len(prober.grid)
        self.grid_bufs = [np.empty(k * min(n_grid, self.GRID_CHUNK) * (max(layout.sizes[1:]) + 1), init.dtype)
                          for _ in range(2)]
        # the grid transposed, with a row of ones that multiplies each layer's bias row
        self.grid_t = None if prober.grid is None else np.vstack([prober.grid.T, np.ones(n_grid)]).astype(init.dtype)
        self.stats_work = StatsWork()

    def _grid_boundary(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The predicted class (K, grid points) and its probability at every grid point, a chunk of
        GRID_CHUNK points at a time (``_grid_forward``)."""
        blocks = self.layout.blocks(flat)
        k, n = flat.shape[0], self.grid_t.shape[1]
        predicted, probability = np.empty((k, n), np.int8), np.empty((k, n), flat.dtype)
        for c0 in range(0, n, self.GRID_CHUNK):
            chunk = slice(c0, c0 + self.GRID_CHUNK)
            _classes(self._grid_forward(blocks, self.grid_t[:, chunk]), predicted[:, chunk], probability[:, chunk])
        return predicted, probability

    def grid_logits(self, flat: np.ndarray) -> np.ndarray:
        """(K, classes, grid points): the logits the decision boundary is read from, by the same products."""
        blocks = self.layout.blocks(flat)
        n = self.grid_t.shape[1]
        out = np.empty((flat.shape[0], blocks[-1].shape[2], n), flat.dtype)
        for c0 in range(0, n, self.GRID_CHUNK):
            chunk = slice(c0, c0 + self.GRID_CHUNK)
            out[:, :, chunk] = self._grid_forward(blocks, self.grid_t[:, chunk])
        return out

    def _grid_forward(self, blocks: list[np.ndarray], a: np.ndarray) -> np.ndarray:
        """The logits (K, classes, points) of the grid points ``a`` (inputs + 1, points), in a work array.

        The forward pass runs transposed, (K, units, grid points), each layer as one product of its W-and-b
        block with the previous layer's output and a row of ones (the bias add cost as much as the product),
        in two reused ping-pong arrays.
        """
        k, n, last = blocks[0].shape[0], a.shape[1], len(blocks) - 1
        for i, block in enumerate(blocks):
            fo = block.shape[2]
            buf = network.view(self.grid_bufs[i % 2], (k, fo + 1, n))
            z = np.matmul(network.swap(block), a, out=buf[:, :fo])
            if i == last:
                return z
            self.prober.act.forward(z, z)
            buf[:, fo] = 1
            a = buf

    def record(self, epoch: int, flat: np.ndarray) -> Record:
        """Everything the probes measure, for the models stacked in ``flat`` (K, P)."""
        with np.errstate(all="ignore"):  # an exploding model's inf and NaN are what its record shows
            return self._record(epoch, flat)

    def _record(self, epoch: int, flat: np.ndarray) -> Record:
        if self.prober.sweep_epochs is not None:
            return self._sweep_record(epoch, flat)
        pr, layout = self.prober, self.layout
        params = layout.views(flat)
        k, n_layers = flat.shape[0], len(params)
        grads_flat = np.zeros_like(flat)
        grads = layout.views(grads_flat)
        logits, zs, as_ = network.forward(params, pr.X, pr.act, keep=True, buffers=self.buffers)
        _, dz = network.loss_and_grad(logits, pr.y, pr.task)
        _, out_act = network.loss_and_grad(logits, pr.y, pr.task, want_grad=False)
        dzs = network.backward(params, pr.X, zs, as_, dz, pr.act, grads)
        n = pr.X.shape[0]
        stats = np.full((n_layers, 3, k, 5), np.nan)
        values = []
        for layer in range(n_layers):
            hidden = layer < n_layers - 1
            z = zs[layer] if hidden else logits
            a = as_[layer] if hidden else out_act
            # per-sample gradients: the mean loss divides by the batch, undo it
            values += [z.reshape(k, -1), a.reshape(k, -1), (dzs[layer] * n).reshape(k, -1)]
            if hidden:
                stats[layer, :, :, 4] = inactive_fraction(pr.act, z, a)[None, :]
        st, c, lo, width = segment_stats(values, work=self.stats_work)
        stats[:, :, :, :4] = st.reshape(n_layers, 3, k, 4)
        counts = c.reshape(n_layers, 3, k, N_BINS)
        dist, gnorm = np.empty((n_layers, k)), np.empty((n_layers, k, 2))
        # row reductions: a model's norms must not depend on its stack
        for layer, (w0, b0, end) in enumerate(self.offsets):
            w = network.view(self.layer_work, (k, end - w0))
            np.subtract(flat[:, w0:end], self.init64[:, w0:end], out=w)
            dist[layer] = np.square(w, out=w).sum(axis=1)
            np.square(grads_flat[:, w0:end], out=w, dtype=np.float64)
            gnorm[layer] = np.add.reduceat(w, [0, b0 - w0], axis=1)  # weights, bias
        np.sqrt(dist, out=dist)
        np.sqrt(gnorm, out=gnorm)
        grms = gnorm / self.root_counts
        n0 = self.init_norm
        rel = np.where(n0 > 0, dist / np.where(n0 > 0, n0, 1), np.nan)
        blocks = layout.blocks(flat)
        unit_pairs, distinct = [None] * n_layers, np.empty((n_layers, k), np.int64)
        for layers, d in self.unit_groups:
            u = np.zeros((len(layers) * k, blocks[layers[0]].shape[2], d))  # (layers x K, units, fan-in + 1)
            for j, layer in enumerate(layers):
                np.copyto(u[j * k:(j + 1) * k, :, :blocks[layer].shape[1]], network.swap(blocks[layer]))
            pairs = pair_distances(u[:, :MAX_UNITS])  # half the matrix: half the bytes back from a worker
            same = distinct_units_stack(u, self.rtol)
            for j, layer in enumerate(layers):
                unit_pairs[layer], distinct[layer] = pairs[j * k:(j + 1) * k], same[j * k:(j + 1) * k]
        functional = self._functional([*as_, logits])
        predicted, probability = self._grid_boundary(flat) if pr.grid is not None else (None, None)
        return Record(epoch, stats, counts, lo.reshape(n_layers, 3, k), width.reshape(n_layers, 3, k), dist, rel,
                      gnorm, grms, unit_pairs, distinct, functional, predicted, probability)

    def _sweep_record(self, epoch: int, flat: np.ndarray) -> Record:
        """``Prober.for_sweep``'s record: of ``_record``'s measures, the moments of the pre-activations and of
        the gradients, and at the epochs asked the functional distinct units, each by ``_record``'s calls."""
        pr = self.prober
        params = self.layout.views(flat)
        k, n_layers = flat.shape[0], len(params)
        logits, zs, as_ = network.forward(params, pr.X, pr.act, keep=True, buffers=self.buffers)
        _, dz = network.loss_and_grad(logits, pr.y, pr.task)
        dzs = network.backward(params, pr.X, zs, as_, dz, pr.act, self.layout.views(np.zeros_like(flat)))
        n = pr.X.shape[0]
        kinds = (KINDS.index("preactivation"), KINDS.index("gradient"))
        values = []
        for layer in range(n_layers):
            z = zs[layer] if layer < n_layers - 1 else logits
            values += [z.reshape(k, -1), (dzs[layer] * n).reshape(k, -1)]  # as _record: per-sample gradients
        stats = np.full((n_layers, len(KINDS), k, 5), np.nan)
        stats[:, kinds, :, :4] = segment_stats(values, work=self.stats_work)[0].reshape(n_layers, 2, k, 4)
        functional = self._functional([*as_, logits]) if epoch in pr.sweep_epochs else None
        return Record(epoch, stats, None, None, None, None, None, None, None, [], None, functional, None, None)

    def _functional(self, outputs: list[np.ndarray]) -> np.ndarray:
        """(layers, K) distinct units by what they compute: the distinct columns of each layer's output
        (K, probe samples, units), the activations of a hidden layer and the logits of the output layer."""
        k = outputs[0].shape[0]
        out = np.empty((len(outputs), k), np.int64)
        for layers in self.output_groups:
            a = outputs[layers[0]] if len(layers) == 1 else np.concatenate([outputs[i] for i in layers])
            out[layers] = distinct_units_stack(network.swap(a), self.rtol).reshape(len(layers), k)
        return out
