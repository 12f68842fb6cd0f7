"""Initializer formulas (the papers and torch.nn.init), checked on 512x512 draws in our (fan_in, fan_out) storage."""
import math

import numpy as np
import pytest
from scipy.stats import truncnorm

from core.nn import activations, initializers, network
from core.config import ExperimentConfig
from core.experiment import initial_weights, load_data

N = 512
RANDOM = [n for n, i in initializers.INITIALIZERS.items() if i.random and not i.data_dependent]
DETERMINISTIC = [n for n, i in initializers.INITIALIZERS.items() if not i.random]


def draw(name, fan_in=N, fan_out=N, seed=0, **kw):
    return initializers.sample(name, fan_in, fan_out, rng=np.random.default_rng(seed), **kw)


# Each formula written out here from its paper, independently of the registry's ``std``.
def _trunc_std(mean, std, a, b):
    return truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std).std()


FORMULAS = [
    # (scheme, params, activation, fan_in, fan_out, std from the formula)
    ("uniform", {"limit": 0.3}, None, N, N, 0.3 / math.sqrt(3)),
    ("normal", {"std": 0.05}, None, N, N, 0.05),
    ("truncated_normal", {}, None, N, N, _trunc_std(0, 1, -2, 2)),
    ("truncated_normal", {"mean": 0.5, "std": 2.0, "a": -1.0, "b": 3.0}, None, N, N, _trunc_std(0.5, 2, -1, 3)),
    ("xavier_uniform", {}, "relu", N, 256, math.sqrt(2 / (N + 256))),
    ("xavier_normal", {}, "tanh", N, 256, math.sqrt(2 / (N + 256))),
    ("xavier_normal", {"gain": 2.0}, None, N, N, 2 * math.sqrt(2 / (2 * N))),
    ("he_normal", {}, "relu", N, 256, math.sqrt(2 / N)),
    ("he_normal", {}, "tanh", N, 256, (5 / 3) / math.sqrt(N)),
    ("he_normal", {"mode": "fan_out"}, "relu", N, 256, math.sqrt(2 / 256)),
    ("he_normal", {"gain": 1.0}, "relu", N, N, 1 / math.sqrt(N)),
    ("he_uniform", {}, "relu", N, 256, math.sqrt(2 / N)),
    ("he_uniform", {}, "leaky_relu", 256, N, math.sqrt(2 / (1 + 0.01 ** 2)) / math.sqrt(256)),
    ("lecun_uniform", {}, None, N, 256, math.sqrt(1 / N)),
    ("lecun_normal", {}, None, 256, N, math.sqrt(1 / 256)),
    ("orthogonal", {}, None, N, N, 1 / math.sqrt(N)),
    ("torch_default", {}, None, N, 256, 1 / math.sqrt(3 * N)),
    ("glorot_standard", {}, None, 256, N, 1 / math.sqrt(3 * 256)),
    ("sparse", {"sparsity": 0.25, "std": 0.5}, None, N, N, 0.5 * math.sqrt(1 - math.ceil(0.25 * N) / N)),
    ("sparse_martens", {}, None, N, N, math.sqrt(15 / N)),
    ("sparse_martens", {"k": 40, "scale": 0.5}, None, N, 256, 0.5 * math.sqrt(40 / N)),
    ("he_normal", {}, "gelu", N, N, activations.derived_gain("gelu") / math.sqrt(N)),
]


def test_every_random_scheme_promises_a_std_and_the_formulas_here_are_registered_schemes():
    assert [n for n in RANDOM if initializers.INITIALIZERS[n].std is None] == []
    assert {f[0] for f in FORMULAS} <= set(RANDOM)


@pytest.mark.parametrize("name", [n for n, i in initializers.INITIALIZERS.items() if i.std is not None])
@pytest.mark.parametrize("fan_in,fan_out", [(N, 256), (256, N)])
def test_every_promised_std_is_what_the_scheme_draws(name, fan_in, fan_out):
    promised = initializers.expected_std(name, fan_in, fan_out, activation="relu")
    assert draw(name, fan_in, fan_out, activation="relu").std() == pytest.approx(promised, rel=0.02, abs=1e-12)


@pytest.mark.parametrize("name,params,act,fi,fo,std", FORMULAS,
                         ids=[f"{f[0]}-{i}" for i, f in enumerate(FORMULAS)])
def test_random_scheme_std_matches_formula(name, params, act, fi, fo, std):
    assert initializers.expected_std(name, fi, fo, activation=act, **params) == pytest.approx(std, rel=1e-12)
    w = draw(name, fi, fo, activation=act, **params)
    assert w.shape == (fi, fo) and w.dtype == np.float64
    assert w.std() == pytest.approx(std, rel=0.02)
    if name != "truncated_normal" or "mean" not in params:
        assert abs(w.mean()) < 0.02 * std + 3 * std / math.sqrt(w.size)


def test_he_gain_comes_from_activation():
    for act in activations.ACTIVATIONS:
        g = activations.get(act).gain
        assert initializers.expected_std("he_normal", 100, 10, activation=act) == pytest.approx(g / 10)
    # PyTorch's calculate_gain, kept where PyTorch defines one
    assert activations.get("relu").gain == pytest.approx(math.sqrt(2))
    assert activations.get("tanh").gain == pytest.approx(5 / 3)
    assert activations.get("sigmoid").gain == 1.0 and activations.get("linear").gain == 1.0
    assert activations.get("selu").gain == 0.75
    assert activations.get("leaky_relu").gain == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    # derived where PyTorch has none (test_core_theory checks that it keeps the second moment)
    for act, g in {"elu": 1.27796, "gelu": 1.46801, "softplus": 1.08312}.items():
        assert activations.get(act).gain_source == "derived"
        assert activations.get(act).gain == pytest.approx(g, abs=1e-5)


UNIFORM_BOUNDS = [
    ("uniform", {"limit": 0.3}, None, 0.3),
    ("xavier_uniform", {}, None, math.sqrt(6 / (2 * N))),
    ("xavier_uniform", {"gain": 5 / 3}, None, 5 / 3 * math.sqrt(6 / (2 * N))),
    ("he_uniform", {}, "relu", math.sqrt(3) * math.sqrt(2) / math.sqrt(N)),
    ("lecun_uniform", {}, None, math.sqrt(3 / N)),
    ("torch_default", {}, None, 1 / math.sqrt(N)),
    ("glorot_standard", {}, None, 1 / math.sqrt(N)),
]


@pytest.mark.parametrize("name,params,act,bound", UNIFORM_BOUNDS, ids=[u[0] for u in UNIFORM_BOUNDS])
def test_uniform_schemes_reach_but_never_pass_their_bound(name, params, act, bound):
    w = draw(name, activation=act, **params)
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.999 * bound
    assert w.max() > 0.999 * bound and w.min() < -0.999 * bound


def test_torch_default_bias_is_uniform_in_one_over_sqrt_fan_in():
    b = initializers.sample_bias("torch_default", 64, 4096, rng=np.random.default_rng(1))
    assert b.shape == (4096,)
    assert np.abs(b).max() <= 1 / 8 and np.abs(b).max() > 0.99 / 8
    assert b.std() == pytest.approx(1 / math.sqrt(3 * 64), rel=0.05)
    for name in ("he_normal", "zeros", "orthogonal", "glorot_standard"):
        assert not initializers.sample_bias(name, 64, 16, rng=np.random.default_rng(1)).any()


def test_truncated_normal_stays_inside_absolute_interval():
    w = draw("truncated_normal", mean=0.5, std=2.0, a=-1.0, b=3.0)
    assert w.min() >= -1.0 and w.max() <= 3.0
    assert w.min() < -0.99 and w.max() > 2.99
    assert w.mean() == pytest.approx(truncnorm(-0.75, 1.25, loc=0.5, scale=2).mean(), abs=0.01)


@pytest.mark.parametrize("shape", [(256, 256), (1024, 1024), (1024, 64), (64, 512)])
def test_orthogonal_draws_the_same_bits_on_one_blas_thread_as_on_several(shape):
    """core.experiment.initial_weights draws on one BLAS thread (a busy server's second thread waits for a core):
    the weights a link gives must not depend on that."""
    from threadpoolctl import threadpool_limits
    draws = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            draws.append(initializers.sample("orthogonal", *shape, rng=np.random.default_rng(7)))
    assert np.array_equal(draws[0], draws[1])


def test_initial_weights_are_drawn_on_one_blas_thread(monkeypatch):
    from threadpoolctl import threadpool_info, threadpool_limits
    seen = []
    sample = initializers.sample

    def recording(*args, **kwargs):
        seen.append({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})
        return sample(*args, **kwargs)
    monkeypatch.setattr(initializers, "sample", recording)
    c = ExperimentConfig(schemes=("orthogonal",), seeds=1, depth=2, width=(8,))
    data = load_data(c)
    with threadpool_limits(limits=2, user_api="blas"):  # the test process's own count is 1 (tests/conftest.py)
        initial_weights(c, network.Layout((data.n_features, *c.widths, data.n_outputs)), data)
    assert seen and all(s == {1} for s in seen), seen


@pytest.mark.parametrize("shape", [(64, 64), (40, 100), (100, 40), (1, 7), (7, 1)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_is_orthogonal_to_rounding(shape, gain):
    fi, fo = shape
    w = draw("orthogonal", fi, fo, gain=gain, seed=3)
    assert w.shape == shape and w.dtype == np.float64
    small = min(fi, fo)
    gram = w.T @ w if fi >= fo else w @ w.T  # the smaller Gram matrix is gain^2 I
    assert np.abs(gram - gain ** 2 * np.eye(small)).max() < 1e-10
    sv = np.linalg.svd(w, compute_uv=False)
    assert np.allclose(sv, gain, atol=1e-10)


def test_orthogonal_columns_are_units_like_pytorch():
    # PyTorch (out, in) with out < in has orthonormal rows = our columns (one unit's incoming weights).
    w = draw("orthogonal", 100, 40)
    assert np.allclose(np.linalg.norm(w, axis=0), 1.0, atol=1e-12)


def test_orthogonal_sign_fix_makes_it_haar():
    # Without the sign fix, QR's Q has a positive-diagonal R bias: the diagonal of Q leans positive.
    diag = np.array([np.diag(draw("orthogonal", 8, 8, seed=s)) for s in range(2000)])
    assert abs(diag.mean()) < 0.02


@pytest.mark.parametrize("name", DETERMINISTIC)
@pytest.mark.parametrize("shape", [(16, 16), (10, 24), (24, 10)])
def test_deterministic_schemes_identical_across_seeds(name, shape):
    a = draw(name, *shape, seed=0)
    for seed in (1, 12345):
        assert np.array_equal(a, draw(name, *shape, seed=seed))


def test_deterministic_values():
    assert not draw("zeros", 5, 7).any()
    assert (draw("constant", 5, 7, value=0.5) == 0.5).all()
    assert np.array_equal(draw("identity", 3, 5, gain=2.0), 2.0 * np.eye(3, 5))
    # ZerO on the (out, in) layout: identity when out <= in, Hadamard-based when it expands
    assert np.array_equal(draw("zero_hadamard", 8, 4), np.eye(4, 8).T)
    w = draw("zero_hadamard", 3, 6)  # out=6 > in=3: p = 8
    h = initializers.sylvester_hadamard(8)
    assert np.array_equal(w, (np.eye(6, 8) @ (h / math.sqrt(8)) @ np.eye(8, 3)).T)  # the formula's very bits
    big = initializers.sylvester_hadamard(1024) / math.sqrt(1024)  # 1000 > 2: p = 1024
    assert np.array_equal(draw("zero_hadamard", 2, 1000), (np.eye(1000, 1024) @ big @ np.eye(1024, 2)).T)
    assert np.allclose(h @ h.T, 8 * np.eye(8))


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.25, 0.5, 0.999])
@pytest.mark.parametrize("shape", [(512, 512), (37, 11), (11, 37)])
def test_sparse_zeroes_exactly_ceil_s_rows_per_column(sparsity, shape):
    w = draw("sparse", *shape, sparsity=sparsity, std=1.0, seed=5)
    fan_in = shape[0]
    zeros_per_column = (w == 0).sum(axis=0)
    assert (zeros_per_column == math.ceil(sparsity * fan_in)).all()


@pytest.mark.parametrize("shape,k", [((512, 512), 15), ((37, 11), 15), ((11, 37), 15), ((8, 5), 3), ((1, 4), 15)])
def test_sparse_martens_gives_each_unit_exactly_k_nonzero_incoming_weights(shape, k):
    fan_in, fan_out = shape
    w = draw("sparse_martens", fan_in, fan_out, k=k, scale=2.0, seed=7)
    nonzero = w != 0
    assert (nonzero.sum(axis=0) == min(k, fan_in)).all()
    # the non-zero entries are N(0, scale^2), and each unit draws its own inputs
    if nonzero.sum() > 1000:
        assert w[nonzero].std() == pytest.approx(2.0, rel=0.05)
        assert len({tuple(np.flatnonzero(col)) for col in nonzero.T}) > fan_out // 2


def test_sparse_martens_defaults_are_the_paper_s():
    p = initializers.resolve_params("sparse_martens")
    assert p == {"k": 15, "scale": 1.0}
    with pytest.raises(ValueError, match="whole number"):
        initializers.resolve_params("sparse_martens", k="2.5")


def test_sparse_keeps_its_parameters_and_numbers():
    """Old links with sparse:sparsity=...,std=... still mean the same draw."""
    w = draw("sparse", 6, 4, sparsity=0.5, std=0.1, seed=3)
    rng = np.random.default_rng(3)
    want = 0.1 * rng.standard_normal((6, 4))
    rows = np.argsort(rng.random((6, 4)), axis=0)[:3]
    want[rows, np.arange(4)] = 0.0
    assert np.array_equal(w, want)


def _lsuv_config(activation, widths, **kw):
    return ExperimentConfig(schemes=("lsuv", "lsuv:tol=0.02,max_iter=20"), seeds=2, depth=len(widths),
                            width=widths, activation=activation, dtype="float64", **kw)


@pytest.mark.parametrize("activation", ["relu", "tanh", "selu", "sigmoid"])
def test_lsuv_every_layer_output_variance_within_tolerance(activation):
    c = _lsuv_config(activation, (64, 32, 16), dataset="blobs", features=5)
    data = load_data(c)
    layout = network.Layout((data.n_features, *c.widths, data.n_outputs))
    flat = initial_weights(c, layout, data)
    assert flat.dtype == np.float64
    act = activations.get(activation)
    X = data.X_train[:512]
    for i, (label, seed) in enumerate(c.models):
        tol = 0.02 if "tol=0.02" in label else 0.1
        a = X
        for layer, (W, b) in enumerate(layout.views(flat[i:i + 1])):
            z = a @ W[0] + b[0]
            assert abs(z.var() - 1) < tol, (label, seed, layer)
            a = act.forward(z, z.copy())
        # LSUV starts orthogonal: only a rescaling of it
        start = initializers.sample("orthogonal", data.n_features, 64, rng=np.random.default_rng([seed, 0]))
        W1 = layout.views(flat[i:i + 1])[0][0][0]
        ratio = W1 / start
        assert np.allclose(ratio, ratio.flat[0], rtol=1e-9)


def test_lsuv_through_network_lsuv_directly():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 10)) * 3.0
    layout = network.Layout((10, 50, 50, 3))
    flat = np.zeros((2, layout.n_params))
    for k in range(2):
        for layer, (W, b) in enumerate(layout.views(flat[k:k + 1])):
            W[0] = initializers.sample("orthogonal", *W.shape[1:], rng=np.random.default_rng([k, layer]))
    act = activations.get("relu")
    network.lsuv(layout.views(flat), X, act, tol=0.05, max_iter=10)
    a = X
    for W, b in layout.views(flat):
        z = np.matmul(a, W) + b
        assert (np.abs(z.reshape(2, -1).var(axis=1) - 1) < 0.05).all()
        a = act.forward(z, z.copy())


def test_sample_rejects_bad_parameters_with_a_clear_message():
    with pytest.raises(ValueError, match=r"std.*-1.*allowed"):
        draw("normal", 4, 4, std=-1)
    with pytest.raises(ValueError, match=r"unknown parameter 'sd'.*allowed: std"):
        draw("normal", 4, 4, sd=1)
    with pytest.raises(ValueError, match=r"nope.*allowed"):
        draw("nope", 4, 4)
    with pytest.raises(ValueError, match=r"shape"):
        draw("normal", 0, 4)


@pytest.mark.parametrize("name", initializers.INITIALIZERS)
def test_every_scheme_has_formula_and_description(name):
    i = initializers.INITIALIZERS[name]
    assert i.name == name and i.formula.strip() and i.description.strip()
