"""Mean-field theory of a random network at initialization (Poole et al. 2016; Schoenholz et al. 2017).

In a wide network with i.i.d. zero-mean weights of variance Var(W) and i.i.d. biases of mean m_b and
variance Var(b), the pre-activations of one input at layer l + 1 are Gaussian over the draw, with mean m_b
and a variance that follows the recursion

    v_{l+1} = n_l * Var(W) * E[f(z)^2] + Var(b),    z ~ N(m_b, v_l),

so their second moment is q = v + m_b^2. With zero-mean biases this is Poole et al.'s
q_{l+1} = sigma_w^2 E[f(z)^2] + sigma_b^2, z ~ N(0, q_l), where sigma_w^2 = n Var(W). The first layer reads
the inputs themselves: v_1(x) = Var(W) ||x||^2 + Var(b).

Expectations over a Gaussian are computed by Gauss quadrature. Gauss–Hermite (numpy's ``hermegauss``) is
exact for polynomials and converges geometrically for smooth f, but every activation here except tanh,
sigmoid, GELU and softplus has a kink at z = 0 (a jump in f' or f''), across which Gauss–Hermite converges
only as n^-2 (ELU's E[f(z)^2] is 3e-5 off with 101 nodes). So each expectation is split at z = 0 and each
side integrated with Gauss–Legendre, where the integrand is smooth and the rule converges geometrically;
the tests check it against Gauss–Hermite on the smooth activations and against closed forms on the others.

He's derived gain (core.nn.activations.derived_gain) is the g with E[f(g u)^2] = 1 for u ~ N(0, 1): with
sigma_w^2 = g^2 and no bias, q = g^2 is then a fixed point of the recursion. It is not 1 / sqrt(E[f(u)^2]) (that
is the same g only for a homogeneous f, such as ReLU), and the fixed point need not be stable (GELU's is not).

Order and chaos (sweeps over sigma_w^2, sigma_b^2): the fixed point q* of the recursion, the slope of the
correlation map at c = 1, chi_1 = sigma_w^2 E[f'(z)^2] at q* (ordered below 1, chaotic above), and the
depth scale xi_c over which the correlation of two inputs approaches its fixed point c*.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy.optimize import brentq

from core.nn.activations import Activation

NODES = 128  # Gauss–Legendre nodes on each side of the kink: tanh' at var = 40 needs more than 64
REACH = 12.0  # standard deviations integrated on each side: the Gaussian's mass beyond is below 1e-32
_T, _W = np.polynomial.legendre.leggauss(NODES)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def expect(g: Callable[[np.ndarray], np.ndarray], mean, var) -> np.ndarray:
    """E[g(z)] for z ~ N(mean, var), elementwise over the broadcast of ``mean`` and ``var`` (var >= 0).

    ``g`` maps an array of z to an array of the same shape; it may have a kink at z = 0 (see above).
    """
    mean, var = np.broadcast_arrays(np.asarray(mean, np.float64), np.asarray(var, np.float64))
    sd = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        cut = np.clip(np.where(sd > 0, -mean / sd, 0.0), -REACH, REACH)  # z = 0 in standard units
    total = np.zeros(mean.shape)
    for lo, hi in ((np.full(mean.shape, -REACH), cut), (cut, np.full(mean.shape, REACH))):
        half, mid = (hi - lo) / 2, (hi + lo) / 2
        x = mid[..., None] + half[..., None] * _T
        weights = half[..., None] * _W * np.exp(-0.5 * x * x) * _INV_SQRT_2PI
        total += (weights * g(mean[..., None] + sd[..., None] * x)).sum(axis=-1)
    point = sd == 0  # no spread: z is its mean
    if point.any():
        total[point] = g(mean[point])
    return total


def _f(act: Activation) -> Callable[[np.ndarray], np.ndarray]:
    return lambda z: act.forward(z, np.empty_like(z))


def _df(act: Activation) -> Callable[[np.ndarray], np.ndarray]:
    return lambda z: act.derivative(z, act.forward(z, np.empty_like(z)), np.empty_like(z)).astype(np.float64)


def second_moment(act: Activation, mean, var) -> np.ndarray:
    """E[f(z)^2], z ~ N(mean, var)."""
    f = _f(act)
    return expect(lambda z: f(z) ** 2, mean, var)


def slope_moment(act: Activation, mean, var) -> np.ndarray:
    """E[f'(z)^2], z ~ N(mean, var)."""
    df = _df(act)
    return expect(lambda z: df(z) ** 2, mean, var)


def next_variance(act: Activation, var, fan_in: int, weight_var: float, bias_mean: float = 0.0,
                  bias_var: float = 0.0) -> np.ndarray:
    """One step of the recursion: the variance of layer l + 1's pre-activations from layer l's."""
    return fan_in * weight_var * second_moment(act, bias_mean, var) + bias_var


def propagate(act: Activation, input_sq_norms, sizes: tuple[int, ...], weight_vars, bias_means,
              bias_vars) -> np.ndarray:
    """Predicted second moment of the pre-activations of every layer (hidden layers and the output),
    (layers,), averaged over the inputs whose squared norms ||x||^2 are given.

    sizes: (n_in, hidden..., n_out); weight_vars, bias_means, bias_vars: one per layer. Each input follows
    its own recursion (in the wide limit an input's pre-activation variance depends on its norm only),
    and the second moments are averaged over the inputs at the end.
    """
    v = weight_vars[0] * np.asarray(input_sq_norms, np.float64) + bias_vars[0]
    out = [float(np.mean(v + bias_means[0] ** 2))]
    for layer in range(1, len(sizes) - 1):
        v = next_variance(act, v, sizes[layer], weight_vars[layer], bias_means[layer - 1], bias_vars[layer])
        out.append(float(np.mean(v + bias_means[layer] ** 2)))
    return np.array(out)


# ---------------------------------------------------------------- order and chaos (zero-mean biases)

def q_map(act: Activation, q, sigma_w2: float, sigma_b2: float) -> np.ndarray:
    """Poole et al.'s length map: sigma_w^2 E[f(z)^2] + sigma_b^2, z ~ N(0, q)."""
    return sigma_w2 * second_moment(act, 0.0, q) + sigma_b2


def fixed_point(act: Activation, sigma_w2: float, sigma_b2: float, q0: float = 1.0,
                limit: float = 1e12) -> float:
    """q* = q_map(q*), the fixed point the recursion reaches from q0; inf when q grows without bound
    (e.g. ReLU with sigma_w^2 > 2). The length map of these activations is increasing, so the iterates are
    monotone and the fixed point lies between q0 and the first q that the map moves the other way.
    Homogeneous activations at criticality (ReLU, sigma_w^2 = 2, sigma_b^2 = 0) fix every q: q0 is returned.
    """
    gap = lambda q: float(q_map(act, q, sigma_w2, sigma_b2)) - q  # noqa: E731
    g0 = gap(q0)
    if abs(g0) <= 1e-12 * q0:  # fixed to rounding
        return q0
    if g0 > 0:
        hi = q0
        while gap(hi) > 0:
            hi *= 2
            if hi > limit:
                return math.inf
        return brentq(gap, q0, hi, xtol=1e-14, rtol=1e-13)
    lo = 1e-300
    if gap(lo) <= 0:  # the map takes everything down to 0 (tanh with sigma_b = 0, sigma_w^2 <= 1)
        return 0.0
    # a fixed point far below q0 (SELU with small weights) takes Brent many more steps than the default 100
    return brentq(gap, lo, q0, xtol=1e-300, rtol=1e-13, maxiter=2000)


def chi_1(act: Activation, sigma_w2: float, q: float) -> float:
    """Slope of the correlation map at c = 1: sigma_w^2 E[f'(z)^2], z ~ N(0, q) (at q = q*). Below 1 two
    inputs' pre-activations converge with depth (order), above 1 they separate (chaos)."""
    return float(sigma_w2 * slope_moment(act, 0.0, q))


def c_map(act: Activation, c: float, q: float, sigma_w2: float, sigma_b2: float) -> float:
    """Correlation map at the fixed length q: (sigma_w^2 E[f(u1) f(u2)] + sigma_b^2) / q with
    u1 = sqrt(q) z1, u2 = sqrt(q) (c z1 + sqrt(1 - c^2) z2), z1, z2 ~ N(0, 1) independent."""
    f = _f(act)
    s = math.sqrt(q)

    def outer(z1):
        # given z1, u2 ~ N(s c z1, q (1 - c^2)): the inner expectation is one more Gaussian integral
        inner = expect(f, s * c * z1, q * (1.0 - c * c))
        return f(s * z1) * inner

    return float((sigma_w2 * expect(outer, 0.0, 1.0) + sigma_b2) / q)


def correlation_fixed_point(act: Activation, q: float, sigma_w2: float, sigma_b2: float) -> float:
    """c*: 1 in the ordered phase (chi_1 <= 1), else the fixed point of the correlation map below 1."""
    if chi_1(act, sigma_w2, q) <= 1.0:
        return 1.0
    gap = lambda c: c_map(act, c, q, sigma_w2, sigma_b2) - c  # noqa: E731
    top = 1.0 - 1e-9
    if gap(0.0) <= 0:
        return 0.0
    return brentq(gap, 0.0, top, xtol=1e-13)


def depth_scale(act: Activation, sigma_w2: float, sigma_b2: float, q0: float = 1.0) -> float:
    """Schoenholz et al.'s xi_c = -1 / ln(chi_c), chi_c = sigma_w^2 E[f'(u1) f'(u2)] at (q*, c*): the depth
    over which correlations between two inputs approach c*. Diverges at the order-to-chaos transition
    (chi_1 = 1); NaN where q* is infinite or zero."""
    q = fixed_point(act, sigma_w2, sigma_b2, q0)
    if not (math.isfinite(q) and q > 0):
        return math.nan
    c = correlation_fixed_point(act, q, sigma_w2, sigma_b2)
    if c == 1.0:
        chi_c = chi_1(act, sigma_w2, q)
    else:
        df = _df(act)
        s = math.sqrt(q)
        chi_c = float(sigma_w2 * expect(lambda z1: df(s * z1) * expect(df, s * c * z1, q * (1 - c * c)), 0.0, 1.0))
    if chi_c >= 1.0:
        return math.inf
    return -1.0 / math.log(chi_c)


def order_chaos_frame(act: Activation, sigma_ws, sigma_b2: float = 0.0) -> "pd.DataFrame":
    """The theory drawn over a (sigma_w, depth) map: for each sigma_w of ``sigma_ws`` (sorted, with the
    order-to-chaos boundary inserted where chi_1 crosses 1 between two of them), q*, chi_1 at q*, the depth
    scale xi and 6 xi (Schoenholz et al. 2017: networks deeper than about 6 xi do not train), and whether the
    row is the boundary. chi_1 is taken at q* when q* is finite and positive, at q -> 0+ when the map takes
    every length to 0 (tanh, sigma_b = 0, sigma_w <= 1: chi_1 = sigma_w^2 f'(0)^2), and at q = 1 when q* is
    infinite (ReLU above criticality: its chi_1 does not depend on q). xi is NaN where q* is 0 or infinite.
    """
    import pandas as pd

    def chi_at(sw: float) -> tuple[float, float]:
        q = fixed_point(act, sw * sw, sigma_b2)
        return q, chi_1(act, sw * sw, min(max(q, 1e-12), 1.0) if not 0 < q < math.inf else q)

    sws = sorted({float(s) for s in sigma_ws if s > 0})
    rows = [(sw, q, chi, abs(chi - 1.0) < 1e-9) for sw in sws for q, chi in [chi_at(sw)]]
    for (a, _, ca, on_a), (b, _, cb, on_b) in zip(rows[:-1], rows[1:]):
        if (ca - 1.0) * (cb - 1.0) < 0 and not (on_a or on_b):
            edge = brentq(lambda s: chi_at(s)[1] - 1.0, a, b, xtol=1e-12)
            rows.append((edge, *chi_at(edge), True))
    out = []
    for sw, q, chi, boundary in sorted(rows):
        xi = math.inf if boundary else depth_scale(act, sw * sw, sigma_b2)  # xi diverges at the transition
        out.append({"sigma_w": sw, "q_star": q, "chi_1": chi, "xi": xi, "depth_6xi": 6.0 * xi,
                    "boundary": bool(boundary)})
    return pd.DataFrame(out, columns=["sigma_w", "q_star", "chi_1", "xi", "depth_6xi", "boundary"])
