"""Activation derivatives and the stacked network's backward pass against central finite differences (float64)."""
import math

import numpy as np
import pytest
from scipy.special import erf

from core.nn import activations, network
from core.nn.activations import ACTIVATIONS

NAMES = list(ACTIVATIONS)
REFERENCE_FORWARD = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.exp(z) - 1),
    "selu": lambda z: 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * (np.exp(z) - 1)),
    "gelu": lambda z: 0.5 * z * (1 + erf(z / math.sqrt(2))),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "softplus": lambda z: np.log1p(np.exp(z)),
}


def _points():
    z = np.random.default_rng(0).uniform(-4, 4, size=(2, 50, 7))
    z[np.abs(z) < 0.05] += 0.1  # keep clear of the kinks at 0
    return z


def test_every_activation_has_a_reference():
    assert set(REFERENCE_FORWARD) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_forward_matches_formula_and_works_in_place(name):
    act = activations.get(name)
    z = _points()
    want = REFERENCE_FORWARD[name](z)
    out = act.forward(z, np.empty_like(z))
    assert np.allclose(out, want, rtol=1e-12, atol=1e-14)
    zz = z.copy()
    res = act.forward(zz, zz)
    assert np.allclose(zz, want, rtol=1e-12, atol=1e-14) and np.allclose(res, want, rtol=1e-12, atol=1e-14)
    z32 = z.astype(np.float32)
    assert act.forward(z32, np.empty_like(z32)).dtype == np.float32
    buf32 = np.full_like(z32, np.nan)
    d32 = act.derivative(z32, act.forward(z32, np.empty_like(z32)), buf32)
    assert d32 is buf32 and d32.dtype == np.float32 and np.isfinite(buf32).all()  # written into the buffer


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_is_maximum_with_zero_bit_for_bit(dtype):
    """ReLU runs maximum against a shared array of zeros (NumPy's fast two-array loop), not the scalar 0: a link
    promises the same numbers, so it must be np.maximum(z, 0) to the bit, NaN, infinities and -0.0 included,
    on views and in place, and must never write to the shared zeros."""
    relu = activations.get("relu")
    rng = np.random.default_rng(1)
    special = np.array([-0.0, 0.0, np.nan, -np.nan, np.inf, -np.inf, 1e-45, -1e-45, 5e-324, -5e-324, -1.0, 2.5])
    for z in (rng.standard_normal((3, 70, 9)).astype(dtype), special.astype(dtype),
              rng.standard_normal((4, 60_000)).astype(dtype)[:, ::3],  # a strided view past the first buffer
              np.array(-2.0, dtype), np.empty((3, 0), dtype)):
        want = np.maximum(z, 0)
        got = relu.forward(z, np.empty_like(z))
        assert got.dtype == dtype and np.array_equal(got.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}"))
        inplace = z.copy()
        relu.forward(inplace, inplace)
        assert np.array_equal(inplace.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}"))
    assert activations._ZEROS[np.dtype(dtype)].size >= 80_000  # grown for the view
    zeros = activations.zeros_like(np.empty((5, 7), dtype))
    assert zeros.shape == (5, 7) and not zeros.flags.writeable and not activations._ZEROS[np.dtype(dtype)].any()


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_central_differences(name):
    act = activations.get(name)
    z = _points()
    a = act.forward(z, np.empty_like(z))
    d = act.derivative(z, a, np.full_like(z, np.nan))
    h = 1e-6
    f = lambda t: act.forward(t, np.empty_like(t))  # noqa: E731
    fd = (f(z + h) - f(z - h)) / (2 * h)
    rel = np.abs(d - fd) / np.maximum(np.abs(fd), 1e-3)
    assert rel.max() < 1e-6, rel.max()
    assert np.linalg.norm(d - fd) / np.linalg.norm(fd) < 1e-6


def _net(sizes, k, seed):
    rng = np.random.default_rng(seed)
    layout = network.Layout(sizes)
    flat = rng.standard_normal((k, layout.n_params)) * 0.7
    return layout, flat


def _loss(layout, flat, X, y, act, task):
    logits = network.forward(layout.views(flat), X, act)
    return network.loss_and_grad(logits, y, task, want_grad=False)[0]


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("name", NAMES)
def test_network_backward_matches_finite_differences(name, task):
    act = activations.get(name)
    k, sizes = 3, (3, 5, 4, 3)
    rng = np.random.default_rng(42)
    X = rng.standard_normal((11, sizes[0]))
    y = rng.integers(0, sizes[-1], 11) if task == "classification" else rng.standard_normal((11, sizes[-1]))
    layout, flat = _net(sizes, k, seed=7)
    params = layout.views(flat)
    logits, zs, as_ = network.forward(params, X, act, keep=True)
    for z in zs:  # finite differences need every pre-activation clear of a kink
        assert np.abs(z).min() > 1e-4
    loss, dz = network.loss_and_grad(logits, y, task)
    assert loss.shape == (k,)
    grad_flat = np.zeros_like(flat)
    network.backward(params, X, zs, as_, dz, act, layout.views(grad_flat))
    # numerical: models are independent, so one perturbation of parameter p in all K models at once
    h = 1e-6
    num = np.zeros_like(flat)
    for p in range(layout.n_params):
        up, down = flat.copy(), flat.copy()
        up[:, p] += h
        down[:, p] -= h
        num[:, p] = (_loss(layout, up, X, y, act, task) - _loss(layout, down, X, y, act, task)) / (2 * h)
    for (gW, gb), (nW, nb) in zip(layout.views(grad_flat), layout.views(num)):
        for g, n in ((gW, nW), (gb, nb)):
            for m in range(k):
                assert np.linalg.norm(n[m]) > 0
                rel = np.linalg.norm(g[m] - n[m]) / max(np.linalg.norm(g[m]), np.linalg.norm(n[m]))
                assert rel < 1e-6, (name, task, m, rel)


def test_losses_are_mean_cross_entropy_and_mse():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((2, 6, 4)) * 3
    y = rng.integers(0, 4, 6)
    loss, _ = network.loss_and_grad(logits.copy(), y, "classification")
    p = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    assert np.allclose(loss, -np.log(p[:, np.arange(6), y]).mean(axis=1), rtol=1e-12)
    t = rng.standard_normal((6, 4))
    loss, _ = network.loss_and_grad(logits.copy(), t, "regression")
    assert np.allclose(loss, ((logits - t) ** 2).mean(axis=(1, 2)), rtol=1e-12)
    # huge logits do not overflow the softmax
    big = np.full((1, 2, 3), 1e4)
    big[0, :, 0] = 2e4
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, _ = network.loss_and_grad(big, np.array([0, 1]), "classification")
    assert loss[0] == pytest.approx(5e3)
