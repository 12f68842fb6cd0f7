"""Activation functions: a registry name -> Activation.

Forward and derivative both write into a buffer the caller gives (``out``), so
the trainer's hot loop allocates nothing, and each derivative is written in
terms of (z, a) so that the cheap form is used where one exists
(tanh' = 1 - a**2 needs no second tanh). A new activation is two such
functions and one line in ACTIVATIONS.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

def _special():
    """scipy.special, imported on first use: it adds 26 MB to a process, and a training worker needs it only
    for sigmoid and GELU."""
    import scipy.special
    return scipy.special


SELU_ALPHA = 1.6732632423543772
SELU_LAMBDA = 1.0507009873554805
LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0


@dataclass(frozen=True)
class Activation:
    name: str
    forward: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (z, out) -> out
    derivative: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (z, a, out) -> f'(z) in out
    gain: float  # PyTorch calculate_gain; 1 where PyTorch defines none
    # How a unit counts as "dead" (never active on the probe batch) or
    # "saturated" (|f'| tiny); None where neither idea applies.
    inactivity: str | None
    description: str


def _linear(z, out):
    out[...] = z
    return out


def _linear_d(z, a, out):
    out.fill(1)
    return out


def _relu(z, out):
    return np.maximum(z, 0, out=out)


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
        Activation("linear", _linear, _linear_d, 1.0, None, "identity: the network is one linear map"),
        Activation("relu", _relu, _relu_d, math.sqrt(2.0), "dead", "max(0, z): halves the second moment"),
        Activation("leaky_relu", _leaky, _leaky_d, math.sqrt(2.0 / (1 + LEAKY_SLOPE**2)), "dead",
                   "max(0.01 z, z): ReLU that never fully dies"),
        Activation("elu", _elu, _elu_d, 1.0, "dead", "z if z > 0 else exp(z) - 1"),
        Activation("selu", _selu, _selu_d, 0.75, None,
                   "scaled ELU that self-normalizes with LeCun normal weights"),
        Activation("gelu", _gelu, _gelu_d, 1.0, None, "z * Phi(z), exact erf form"),
        Activation("tanh", _tanh, _tanh_d, 5.0 / 3.0, "saturated", "tanh(z): saturates at +-1"),
        Activation("sigmoid", _sigmoid, _sigmoid_d, 1.0, "saturated", "1 / (1 + exp(-z)): saturates at 0 and 1"),
        Activation("softplus", _softplus, _softplus_d, 1.0, None, "log(1 + exp(z)): smooth ReLU"),
    ]
}

SATURATION_THRESHOLD = 0.05  # a unit is saturated on a sample when f'(z) < 5% of its peak


def inactive_fraction(activation: Activation, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Per model (leading axis) fraction of dead or saturated units on a batch.

    z, a: (K, batch, units). Dead: the unit's pre-activation is <= 0 on every
    sample of the batch. Saturated: the fraction of (sample, unit) pairs whose
    derivative is below SATURATION_THRESHOLD of the function's peak slope.
    NaN where the activation has neither notion.
    """
    k = z.shape[0]
    if activation.inactivity == "dead":
        return (z <= 0).all(axis=1).mean(axis=1)
    if activation.inactivity == "saturated":
        d = activation.derivative(z, a, np.empty_like(z))
        peak = 1.0 if activation.name == "tanh" else 0.25
        return (d < SATURATION_THRESHOLD * peak).reshape(k, -1).mean(axis=1)
    return np.full(k, np.nan)


def get(name: str) -> Activation:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"activation: unknown value {name!r}; allowed: {', '.join(ACTIVATIONS)}"
        ) from None
