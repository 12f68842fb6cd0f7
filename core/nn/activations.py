"""Activation functions: a registry name -> Activation.

Forward and derivative both write into a buffer the caller gives (``out``), so
the trainer's hot loop allocates nothing, and each derivative is written in
terms of (z, a) so that the cheap form is used where one exists
(tanh' = 1 - a**2 needs no second tanh). A new activation is two such
functions and one line in ACTIVATIONS.

The gain (the g of He/Kaiming init, W ~ g^2 / n) is PyTorch's ``calculate_gain`` where PyTorch defines one
(linear, sigmoid, tanh, relu, leaky_relu, selu), so that our he_* draw what ``kaiming_*`` draws. PyTorch has
none for elu, gelu and softplus (and ``kaiming_*`` then raises), and a gain of 1 would make He equal LeCun:
for them the gain is derived as the one that keeps the second moment, the g with E[f(g u)^2] = 1 for
u ~ N(0, 1). Then a layer whose inputs have second moment 1 (standardized data, or the previous layer's
activations) gives pre-activations z of variance g^2 and activations f(z) of second moment 1 again, in the
wide-network limit. For a homogeneous f (ReLU, leaky ReLU, linear) this g is 1 / sqrt(E[f(u)^2]), PyTorch's
own sqrt(2) and sqrt(2 / (1 + slope^2)). PyTorch's tanh 5/3, sigmoid 1 and selu 3/4 are kept although they
are not that gain (tanh and sigmoid have none: E[f^2] < 1 at every scale; for SELU it is 1, LeCun's).
"""
from __future__ import annotations

import functools
import math
import mmap
from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.i18n import N_, _


def _special():
    """scipy.special, imported on first use: it adds 26 MB to a process, and a training worker needs it only
    for sigmoid and GELU."""
    import scipy.special
    return scipy.special


SELU_ALPHA = 1.6732632423543772
SELU_LAMBDA = 1.0507009873554805
LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0
# A unit is saturated on a sample, or "nearly off", when its slope f'(z) is under this share of its peak.
SATURATION_THRESHOLD = 0.05


@dataclass(frozen=True)
class Activation:
    name: str
    forward: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (z, out) -> out
    derivative: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (z, a, out) -> f'(z) in out
    pytorch_gain: float | None  # PyTorch's calculate_gain; None where PyTorch defines none
    # How a unit counts as inactive on the probe batch (dead, nearly_off or saturated: see inactive_fraction),
    # None where no notion applies
    inactivity: str | None
    description: str  # marked for translation: show it with _()
    peak_slope: float | None = None  # max of f', for the inactivity notions that compare slopes with it

    @property
    def gain(self) -> float:
        """He's gain: PyTorch's where it has one, else the derived one (see the module docstring)."""
        return self.pytorch_gain if self.pytorch_gain is not None else derived_gain(self.name)

    @property
    def gain_source(self) -> str:
        return "pytorch" if self.pytorch_gain is not None else "derived"


@functools.lru_cache(maxsize=None)
def derived_gain(name: str) -> float:
    """The g with E[f(g u)^2] = 1, u ~ N(0, 1), by quadrature (core.measure.meanfield); ValueError where none exists
    (tanh, sigmoid: E[f^2] < 1 at every scale)."""
    from scipy.optimize import brentq

    from core.measure.meanfield import second_moment
    act = get(name)
    gap = lambda g: float(second_moment(act, 0.0, g * g)) - 1.0  # noqa: E731
    lo, hi = 0.25, 8.0
    if not gap(lo) < 0 < gap(hi):
        raise ValueError(f"activation {name!r}: no gain g gives E[f(g u)^2] = 1")
    return brentq(gap, lo, hi, xtol=1e-15, rtol=1e-15)


def _linear(z, out):
    out[...] = z
    return out


def _linear_d(z, a, out):
    out.fill(1)
    return out


_ZEROS: dict[np.dtype, np.ndarray] = {}  # dtype -> a read-only flat array of zeros, grown on demand


def _zero_pages(nbytes: int):
    """``nbytes`` of zeros that use no memory: a private read-only anonymous mapping, whose pages all read as
    the kernel's one shared zero page (np.zeros would take heap memory once the process has freed a large
    array, and keep it). Plain zeros where the platform has no such mapping (Windows)."""
    try:
        return mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
    except (AttributeError, TypeError, ValueError, OSError):
        return bytearray(nbytes)


def zeros_like(z: np.ndarray) -> np.ndarray:
    """A read-only array of zeros of z's shape and dtype, a view of one shared buffer per dtype (threads may
    race to grow it: each keeps the buffer it got, and views keep theirs alive)."""
    buf = _ZEROS.get(z.dtype)
    if buf is None or buf.size < z.size:
        size = max(z.size, 1 << 16)
        buf = np.frombuffer(_zero_pages(size * z.dtype.itemsize), z.dtype, count=size)
        buf.flags.writeable = False
        _ZEROS[z.dtype] = buf
    return buf[:z.size].reshape(z.shape)


def _relu(z, out):
    # Against an array of zeros rather than the scalar 0: NumPy's SIMD loop for maximum works on two arrays,
    # and with a scalar operand it falls back to a much slower one. The same numbers: maximum(z, 0) elementwise,
    # NaN kept, -0.0 to 0.0 (tests/test_core_gradients.py checks them bit for bit).
    return np.maximum(z, zeros_like(z), out=out)


def _relu_d(z, a, out):
    return np.greater(z, 0, out=out)


def _leaky(z, out):
    # z*slope where negative; np.where allocates, but this is not the hot default
    out[...] = np.where(z > 0, z, z * z.dtype.type(LEAKY_SLOPE))
    return out


def _leaky_d(z, a, out):
    out[...] = np.where(z > 0, z.dtype.type(1), z.dtype.type(LEAKY_SLOPE))
    return out


def _elu(z, out):
    out[...] = np.where(z > 0, z, ELU_ALPHA * np.expm1(np.minimum(z, 0)))
    return out


def _elu_d(z, a, out):
    out[...] = np.where(z > 0, z.dtype.type(1), a + z.dtype.type(ELU_ALPHA))
    return out


def _selu(z, out):
    lam, alpha = z.dtype.type(SELU_LAMBDA), z.dtype.type(SELU_ALPHA)
    out[...] = lam * np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0)))
    return out


def _selu_d(z, a, out):
    lam, alpha = z.dtype.type(SELU_LAMBDA), z.dtype.type(SELU_ALPHA)
    out[...] = np.where(z > 0, lam, a + lam * alpha)
    return out


_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _gelu(z, out):
    # exact erf form, as PyTorch's default nn.GELU
    out[...] = 0.5 * z * (1.0 + _special().erf(z * z.dtype.type(_SQRT1_2)))
    return out


def _gelu_d(z, a, out):
    cdf = 0.5 * (1.0 + _special().erf(z * z.dtype.type(_SQRT1_2)))
    out[...] = cdf + z * z.dtype.type(_INV_SQRT_2PI) * np.exp(-0.5 * z * z)
    return out


def _tanh(z, out):
    return np.tanh(z, out=out)


def _tanh_d(z, a, out):
    np.multiply(a, a, out=out)
    return np.subtract(1, out, out=out)


def _sigmoid(z, out):
    return _special().expit(z, out=out)


def _sigmoid_d(z, a, out):
    np.subtract(1, a, out=out)
    return np.multiply(out, a, out=out)


def _softplus(z, out):
    return np.logaddexp(0, z, out=out)


def _softplus_d(z, a, out):
    return _special().expit(z, out=out)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in [
        Activation("linear", _linear, _linear_d, 1.0, None, N_("identity: the network is one linear map")),
        Activation("relu", _relu, _relu_d, math.sqrt(2.0), "dead",
                   N_("max(0, z): halves the second moment of a zero-mean symmetric input"), 1.0),
        Activation("leaky_relu", _leaky, _leaky_d, math.sqrt(2.0 / (1 + LEAKY_SLOPE**2)), "nearly_off",
                   N_("max(0.01 z, z): a ReLU whose slope is never 0, so no unit is ever exactly dead"), 1.0),
        Activation("elu", _elu, _elu_d, None, "nearly_off",
                   N_("z if z > 0 else exp(z) - 1: slope exp(z) > 0, never exactly dead"), 1.0),
        Activation("selu", _selu, _selu_d, 0.75, None,
                   N_("scaled ELU that self-normalizes with LeCun normal weights")),
        Activation("gelu", _gelu, _gelu_d, None, None, N_("z * Phi(z), exact erf form")),
        Activation("tanh", _tanh, _tanh_d, 5.0 / 3.0, "saturated", N_("tanh(z): saturates at -1 and +1"), 1.0),
        Activation("sigmoid", _sigmoid, _sigmoid_d, 1.0, "saturated",
                   N_("1 / (1 + exp(-z)): saturates at 0 and 1"), 0.25),
        Activation("softplus", _softplus, _softplus_d, None, None, N_("log(1 + exp(z)): smooth ReLU")),
    ]
}

# What the dead_or_saturated column counts, per notion (the column keeps its name: CSV columns are a contract).
INACTIVITY = {
    "dead": N_("dead: the share of units whose pre-activation is at most 0 (slope exactly 0) on every probe "
               "sample"),
    "nearly_off": N_("nearly off: the share of units whose slope is under 5% of its peak on every probe sample; "
                     "such a unit still learns, slowly (leaky ReLU keeps slope 0.01, ELU has exp(z) > 0)"),
    "saturated": N_("saturated: the share of unit-sample pairs whose slope is under 5% of its peak"),
}


# Why the activations without an inactivity notion count nothing, each in what is true of its slope.
NOT_COUNTED = {
    "linear": N_("Not defined for linear: its slope is 1 everywhere, so no unit is ever off."),
    "softplus": N_("Not counted for softplus: its slope, sigmoid(z), is never 0 but fades towards 0 as z falls, "
                   "as ELU's does; no share of units is drawn for it."),
    "selu": N_("Not counted for SELU: below 0 its slope, a constant times exp(z), is never 0 but fades towards 0 as "
               "z falls, as ELU's does; no share of units is drawn for it."),
    "gelu": N_("Not counted for GELU: its slope is 0 at z ≈ −0.75, slightly negative below it and back towards 0 "
               "as z falls further, so no threshold on it means off; no share of units is drawn for it."),
}
assert set(NOT_COUNTED) == {a.name for a in ACTIVATIONS.values() if a.inactivity is None}


def inactivity_caption(name: str) -> str:
    """What the dead_or_saturated column means for this activation, translated, for a page caption."""
    act = get(name)
    if act.inactivity is None:
        return _(NOT_COUNTED[name])
    return _(INACTIVITY[act.inactivity])


def inactive_fraction(activation: Activation, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Per model (leading axis) fraction of inactive units (or unit-sample pairs) on a batch.

    z, a: (K, batch, units). Dead: the unit's pre-activation is <= 0 on every
    sample of the batch. Nearly off: its slope is below SATURATION_THRESHOLD of
    the peak on every sample. Saturated: the fraction of (sample, unit) pairs
    whose slope is below SATURATION_THRESHOLD of the peak. NaN where the
    activation has no such notion.
    """
    k = z.shape[0]
    if activation.inactivity == "dead":
        return (z <= 0).all(axis=1).mean(axis=1)
    if activation.inactivity is None:
        return np.full(k, np.nan)
    low = activation.derivative(z, a, np.empty_like(z)) < SATURATION_THRESHOLD * activation.peak_slope
    if activation.inactivity == "nearly_off":
        return low.all(axis=1).mean(axis=1)
    return low.reshape(k, -1).mean(axis=1)


def get(name: str) -> Activation:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"activation: unknown value {name!r}; allowed: {', '.join(ACTIVATIONS)}"
        ) from None
