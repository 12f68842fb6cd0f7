"""Theoretical predictions drawn beside the measurements: the second moment of every layer's pre-activations
at epoch 0, from the mean-field recursion (core.measure.meanfield; Poole et al. 2016)

    q_{l+1} = n_l Var(W) E[f(z)^2] + Var(b) (+ E[b]^2),    z ~ N(E[b], q_l - E[b]^2),

for every activation, started from the probe batch's own inputs: layer 1's pre-activation of an input x has
variance Var(W) ||x||^2 + Var(b). It is a prediction in expectation over the random draw, exact for wide
layers: He et al.'s (2015) q_{l+1} = n Var(W) q_l / 2 is its ReLU case.

A scheme gets a prediction when its weights are i.i.d. with zero mean and a known variance. Orthogonal
matrices are not i.i.d., but each entry has variance g^2 / max(n_in, n_out), and for a square layer the
recursion is then the same (||x W||^2 = g^2 ||x||^2 exactly). Deterministic schemes (zeros, constant,
identity, ZerO) and data-dependent ones (LSUV) get none, nor does an off-centre truncated normal.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.nn import activations, initializers
from core.measure import meanfield
from core.config import parse_bias, parse_scheme
from core.i18n import _

COLUMNS = ["scheme", "layer", "second_moment"]


def weight_variance(scheme: str, fan_in: int, fan_out: int, activation: str) -> float | None:
    """Var(W) of one entry, None where the recursion does not apply (see the module docstring)."""
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


def bias_moments(scheme: str, bias: str, fan_in: int) -> tuple[float, float]:
    """(E[b], Var(b)) of one layer's biases: the scheme's own bias if it has one (torch_default:
    U(+-1/sqrt n_in), variance 1/(3 n_in)), else the run's bias scheme."""
    if initializers.INITIALIZERS[parse_scheme(scheme)[0]].bias is not None:
        return 0.0, 1.0 / (3.0 * fan_in)
    bias_name, params = parse_bias(bias)
    p = initializers.resolve_bias_params(bias_name, **params)
    b = initializers.BIASES[bias_name]
    return float(b.mean(**p)), float(b.variance(**p))


def predict(schemes, sizes: tuple[int, ...], activation: str, inputs: np.ndarray, bias: str = "zeros") -> pd.DataFrame:
    """Predicted second moment of the pre-activations of every layer (1 = first hidden layer, the last is the
    output layer) per scheme with a prediction, for the inputs ``inputs`` (samples, n_in)."""
    act = activations.get(activation)
    sq_norms = np.square(np.asarray(inputs, np.float64)).sum(axis=1)
    rows = []
    for scheme in schemes:
        variances = [weight_variance(scheme, fi, fo, activation) for fi, fo in zip(sizes[:-1], sizes[1:])]
        if any(v is None for v in variances):
            continue
        moments = [bias_moments(scheme, bias, fi) for fi in sizes[:-1]]
        q = meanfield.propagate(act, sq_norms, sizes, variances, [m for m, _ in moments], [v for _, v in moments])
        rows += [(scheme, layer, value) for layer, value in enumerate(q, start=1)]
    return pd.DataFrame(rows, columns=COLUMNS)


def second_moment_prediction(results) -> pd.DataFrame:
    """``predict`` for a run's results, from its probe batch (the first PROBE_SIZE training samples) and its
    bias scheme."""
    from core.measure.probes import PROBE_SIZE
    c = results.config
    return predict(c.schemes, results.layout.sizes, c.activation, results.data.X_train[:PROBE_SIZE], c.bias)


def without_prediction(schemes) -> list[str]:
    """The schemes ``predict`` gives nothing for (their weights are not i.i.d. zero-mean draws)."""
    return [scheme for scheme in schemes if weight_variance(scheme, 4, 4, "linear") is None]


def prediction_caption(schemes, bias: str = "zeros") -> str:
    """The caption under the predicted and measured second moments, translated."""
    text = _("Dashed: the mean-field prediction q(l+1) = n·Var(W)·E[f(z)²] + Var(b), z ~ N(0, q(l)) (Poole et "
             "al. 2016; for ReLU it is He et al.'s n·Var(W)·q(l)/2), computed by quadrature for this activation "
             "and started from the probe inputs themselves: q(1) = Var(W)·mean ‖x‖² + Var(b). It holds in "
             "expectation over the random draw, for wide layers: a single narrow network strays from it. Solid: "
             "measured, mean over seeds.")
    if parse_bias(bias)[0] == "constant":
        text += " " + _("With constant biases c, z is centred on c and q counts c² as well.")
    missing = without_prediction(schemes)
    if missing:
        text += " " + _("No prediction for {schemes}: deterministic or data-dependent weights, or an off-centre "
                        "truncated normal, are not i.i.d. zero-mean draws.").format(schemes=", ".join(missing))
    return text
