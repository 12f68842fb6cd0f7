"""Theoretical predictions drawn beside the measurements.

He et al. (2015): with zero-mean i.i.d. weights of variance s^2 and zero-mean
biases of variance s_b^2, the second moment of pre-activations obeys
    q_{l+1} = n_l * s^2 * c * q_l + s_b^2,
with c = E[f(z)^2] / E[z^2] for a symmetric z: 1/2 for ReLU, (1 + a^2)/2 for
leaky ReLU with slope a, 1 for the identity. No such closed form holds for
saturating activations, deterministic or data-dependent schemes, so they get
no prediction (rather than a wrong one).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import activations, initializers
from .config import parse_scheme

RATIO = {"relu": 0.5, "leaky_relu": (1 + activations.LEAKY_SLOPE**2) / 2, "linear": 1.0}


def weight_variance(scheme: str, fan_in: int, fan_out: int, activation: str) -> float | None:
    name, params = parse_scheme(scheme)
    init = initializers.INITIALIZERS[name]
    if not init.random or init.data_dependent:
        return None
    if name == "truncated_normal":
        p = initializers.resolve_params(name, activation, **params)
        if p["mean"] != 0 or p["a"] != -p["b"]:
            return None
    std = initializers.expected_std(name, fan_in, fan_out, activation, **params)
    return None if std is None else std * std


def bias_variance(scheme: str, fan_in: int) -> float:
    name, _ = parse_scheme(scheme)
    return 1.0 / (3.0 * fan_in) if initializers.INITIALIZERS[name].bias is not None else 0.0


def second_moment_prediction(layer_stats: pd.DataFrame, sizes: tuple[int, ...], activation: str) -> pd.DataFrame:
    """Predicted second moment of pre-activations per scheme and layer at epoch 0.

    Anchored at the measured layer-1 value (mean over seeds), then propagated
    with the recursion above. Empty for activations without a prediction.
    """
    cols = ["scheme", "layer", "second_moment"]
    if activation not in RATIO or layer_stats.empty:
        return pd.DataFrame(columns=cols)
    c = RATIO[activation]
    at0 = layer_stats[(layer_stats["epoch"] == 0) & (layer_stats["kind"] == "preactivation")]
    rows = []
    for scheme, df in at0.groupby("scheme", sort=False):
        q = df[df["layer"] == 1]["second_moment"].mean()
        if not np.isfinite(q):
            continue
        variances = [weight_variance(scheme, fi, fo, activation) for fi, fo in zip(sizes[:-1], sizes[1:])]
        if any(v is None for v in variances):
            continue
        rows.append((scheme, 1, q))
        for layer in range(2, len(sizes)):
            fan_in = sizes[layer - 1]
            q = fan_in * variances[layer - 1] * c * q + bias_variance(scheme, fan_in)
            rows.append((scheme, layer, q))
    return pd.DataFrame(rows, columns=cols)
