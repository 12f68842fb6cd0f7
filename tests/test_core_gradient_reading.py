"""What the gradients page may say, measured: the per-weight RMS of dL/dW, and the two ways the norm of
dL/dW per layer misreads a deep ReLU network at epoch 0 (moons, depth 10, width 64, float64, 4 seeds, on
data seeds 0-3)."""
import math

import numpy as np
import pytest

from core import ExperimentConfig, run

pytestmark = pytest.mark.slow  # every test reads the four trained runs of deep_relu
DEPTH = 10


@pytest.fixture(scope="module", params=[0, 1, 2, 3], ids=lambda s: f"data_seed={s}")
def deep_relu(request):
    c = ExperimentConfig(schemes=("he_normal", "xavier_normal"), seeds=4, activation="relu", depth=DEPTH,
                         width=(64,), epochs=1, record_epochs=2, data_seed=request.param, dtype="float64")
    return c, run(c)


def _per_seed(frame, scheme, column, kind=None):
    """(seeds, hidden layers) of ``column`` at epoch 0."""
    f = frame[(frame["epoch"] == 0) & (frame["scheme"] == scheme) & (frame["layer"] <= DEPTH)]
    if kind:
        f = f[f["kind"] == kind]
    table = f.pivot_table(index="seed", columns="layer", values=column)
    assert table.shape == (4, DEPTH)
    return table.to_numpy()


def test_rms_is_the_norm_over_the_root_of_the_parameter_count(deep_relu):
    c, r = deep_relu
    g = r.frames["gradient_norms"]
    sizes = r.layout.sizes
    weights = np.array([sizes[l - 1] * sizes[l] for l in g["layer"]])
    biases = np.array([sizes[l] for l in g["layer"]])
    np.testing.assert_allclose(g["weight_grad_rms"], g["weight_grad_norm"] / np.sqrt(weights), rtol=1e-15)
    np.testing.assert_allclose(g["bias_grad_rms"], g["bias_grad_norm"] / np.sqrt(biases), rtol=1e-15)
    assert (g["weight_grad_rms"] > 0).all()


def test_he_back_propagated_gradient_stays_level_and_xavier_vanishes_toward_the_input(deep_relu):
    """dL/dz's second moment changes by fan_out Var(W) E[f'(z)^2] per layer going down (He et al. 2015,
    eq. 13 with equal widths): 64 x 2/64 x 1/2 = 1 for He, 64 x 2/128 x 1/2 = 1/2 for Xavier, so from layer
    10 down to layer 1 Xavier's falls by 2^9 = 512 in expectation."""
    _, r = deep_relu
    s = r.frames["layer_stats"]
    he = _per_seed(s, "he_normal", "second_moment", "gradient")
    xavier = _per_seed(s, "xavier_normal", "second_moment", "gradient")
    # He: level within a factor 4 over the ten layers in every seed (measured at most 2.3)
    assert (he.max(axis=1) / he.min(axis=1) < 4).all(), he
    # Xavier: layer 10 over layer 1 above 100 in every seed (measured 297-808), 512 on average over seeds
    fall = xavier[:, -1] / xavier[:, 0]
    assert (fall > 100).all(), fall
    assert 256 < math.exp(np.log(fall).mean()) < 1024


def test_norm_of_dw_shows_he_vanishing_at_the_first_layer_where_the_rms_does_not(deep_relu):
    """Layer 1 from 2 inputs has 2 x 64 = 128 weights against 64 x 64 = 4096: at an equal RMS its norm is
    sqrt(128 / 4096) = 0.18 of a hidden layer's. The per-weight RMS removes that."""
    _, r = deep_relu
    g = r.frames["gradient_norms"]
    norm = _per_seed(g, "he_normal", "weight_grad_norm")
    rms = _per_seed(g, "he_normal", "weight_grad_rms")
    assert (norm[:, 0] / norm[:, 1:].min(axis=1) < 0.4).all()  # measured 0.18-0.28
    assert (rms.max(axis=1) / rms.min(axis=1) < 4).all()  # measured at most 2.5


def test_norm_of_dw_looks_level_for_xavier_while_its_back_propagated_gradient_vanishes(deep_relu):
    """dL/dW = (activation below) x (dL/dz above): Xavier with ReLU halves the forward second moment per
    layer going up as it halves dL/dz going down, so the product stays level while dL/dz vanishes."""
    _, r = deep_relu
    norm = _per_seed(r.frames["gradient_norms"], "xavier_normal", "weight_grad_norm")
    dz = _per_seed(r.frames["layer_stats"], "xavier_normal", "second_moment", "gradient")
    assert (norm.max(axis=1) / norm.min(axis=1) < 6).all()  # measured 1.4-4.1
    assert (dz[:, -1] / dz[:, 0] > 100).all()
