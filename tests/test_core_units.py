"""Distinct units, by weights and by function, up to rounding: against brute force, and the facts the
symmetry lessons state, on data seeds 0-3, in float32 and float64."""
import math

import numpy as np
import pytest

from core import ExperimentConfig, experiment, run
from core.measure.probes import PROBE_SIZE, SAME_UNIT_EPS, distinct_units, distinct_units_stack, same_unit_tolerance

F32, F64 = same_unit_tolerance(np.float32), same_unit_tolerance(np.float64)


def brute_force(u: np.ndarray, rtol: float) -> int:
    """The definition, pair by pair: the first row left takes every row within rtol x the larger of the two
    rows' largest finite |value| in every coordinate (a NaN or inf must be the same NaN or inf)."""
    u = np.asarray(u, np.float64)  # float32 values and their differences are exact in float64
    finite = np.where(np.isfinite(u), np.abs(u), 0)
    scale = finite.max(axis=1) if u.shape[1] else np.zeros(len(u))
    a, b = u[:, None, :], u[None, :, :]
    tol = rtol * np.maximum(scale[:, None], scale[None, :])[..., None]
    with np.errstate(invalid="ignore"):
        same = ((np.abs(a - b) <= tol) | (a == b) | (np.isnan(a) & np.isnan(b))).all(axis=2)
    left, count = list(range(len(u))), 0
    while left:
        first, count = left[0], count + 1
        left = [j for j in left if not same[first, j]]
    return count


def test_the_tolerance_is_stated_in_machine_epsilons():
    assert F32 == SAME_UNIT_EPS * np.finfo(np.float32).eps and F64 == SAME_UNIT_EPS * np.finfo(np.float64).eps
    assert 1e-4 < F32 < 1e-2 and 1e-13 < F64 < 1e-10  # 2^14 eps: 2.0e-3 and 3.6e-12


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_units_apart_by_rounding_are_one_and_units_apart_by_more_are_not(dtype):
    rtol = same_unit_tolerance(dtype)
    eps = np.finfo(dtype).eps
    rng = np.random.default_rng(0)
    base = rng.standard_normal(33)
    for scale in (1e-30 if dtype == np.float64 else 1e-15, 1e-3, 1.0, 1e12):
        row = (base * scale).astype(dtype)
        # rounding noise of up to 1,000 eps of the row's scale, in every coordinate
        noisy = row + (rng.uniform(-1000, 1000, (16, 33)) * eps * np.abs(row).max()).astype(dtype)
        assert distinct_units(noisy, rtol) == 1
        # apart by twice the tolerance in one coordinate: distinct
        apart = np.repeat(row[None], 4, axis=0)
        apart[np.arange(4), np.arange(4)] += (2 * rtol * np.abs(row).max() * np.arange(1, 5)).astype(dtype)
        assert distinct_units(apart, rtol) == 4
        # every coordinate just inside the tolerance: the case the Euclidean screen must still let through
        edge = np.stack([row, (row + 0.9 * rtol * np.abs(row).max()).astype(dtype)])
        assert distinct_units(edge, rtol) == 1
    if dtype == np.float32:  # (in float64 the case is finer than the rounding of 1 - d)
        # the larger of the two units' scales sets the tolerance: 1 and 1 - d with rtol (1 - d) < d < rtol are one
        d = rtol * (1 - rtol / 4)
        pair = np.array([[1.0], [1.0 - d]], dtype)
        assert distinct_units(pair, rtol) == brute_force(pair, rtol) == 1


def _planted(rng, dtype, rtol, m, d):
    """A random model of m units of d values: a few prototype units, copies of them moved by 0 to 10x the
    tolerance, sometimes a NaN or inf row, sometimes every coordinate moved (the Euclidean screen's worst
    case)."""
    protos = rng.standard_normal((int(rng.integers(1, 6)), d)) * 10.0 ** rng.uniform(-8, 8)
    u = protos[rng.integers(0, len(protos), m)]
    scale = np.abs(u).max(axis=1, keepdims=True)
    moved = rng.choice([0.0, 0.3, 0.9, 0.99, 1.01, 1.5, 10.0], (m, 1))
    every = rng.random((m, 1)) < 0.5
    step = np.where(every, np.sign(rng.standard_normal((m, d))), np.eye(m, d))
    u = (u + moved * rtol * scale * step).astype(dtype)
    if m > 3 and rng.random() < 0.2:
        u[rng.integers(0, m, 2), rng.integers(0, d, 2)] = rng.choice([np.nan, np.inf, -np.inf], 2)
    return u


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("wide", [False, True], ids=["narrow", "wide"])  # wide: the screen projects the rows
def test_distinct_units_equal_brute_force_on_planted_copies(dtype, wide):
    rtol = same_unit_tolerance(dtype)
    rng = np.random.default_rng(1)
    for _ in range(10 if wide else 40):
        m, d = (int(rng.integers(60, 150)), int(rng.integers(100, 300))) if wide else (
            int(rng.integers(1, 40)), int(rng.integers(1, 20)))
        models = [_planted(rng, dtype, rtol, m, d) for _ in range(5)]
        want = [brute_force(u, rtol) for u in models]
        assert distinct_units_stack(np.stack(models), rtol).tolist() == want
        assert [distinct_units(u, rtol) for u in models] == want
    assert distinct_units(np.zeros((0, 3)), rtol) == 0
    blown = np.array([[np.nan, 1.0], [np.nan, 1.0], [np.inf, 2.0], [np.inf, 2.0], [np.inf, 3.0]], dtype)
    assert distinct_units(blown, rtol) == brute_force(blown, rtol) == 3  # the same NaN or inf is the same


def _counts(r, column):
    d = r.frames["distinct_units"]
    return d[d["layer"] <= r.config.depth].set_index(["scheme", "seed", "epoch", "layer"])[column]


SMALL = dict(dataset="moons", n_samples=200, depth=3, width=(16,), seeds=1, epochs=40, batch_size=32,
             record_epochs=5)


@pytest.mark.parametrize("data_seed", [0, 1, 2, 3])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_zero_and_constant_starts_are_one_unit_per_hidden_layer_at_every_epoch(activation, data_seed):
    counts = {}
    for dtype in ("float32", "float64"):
        c = ExperimentConfig(schemes=("zeros", "constant:value=0.5", "constant:value=-0.2"), activation=activation,
                             data_seed=data_seed, dtype=dtype, **SMALL)
        r = run(c)
        f, w = _counts(r, "functional_distinct_units"), _counts(r, "distinct_units")
        assert len(f) == 3 * 5 * c.depth
        assert (f == 1).all() and (w == 1).all(), (dtype, f[f != 1], w[w != 1])
        s = r.frames["summary"]
        for layer in range(1, c.depth + 1):
            assert (s[f"functional_distinct_units_layer_{layer}"] == 1).all()
            assert (s[f"distinct_units_layer_{layer}"] == 1).all()
        counts[dtype] = f
    pd_equal(counts["float32"], counts["float64"])


def pd_equal(a, b):
    assert a.index.equals(b.index) and (a.to_numpy() == b.to_numpy()).all()


@pytest.mark.parametrize("data_seed", [0, 1, 2, 3])
def test_sigmoid_constant_start_moves_its_weights_yet_stays_one_unit(data_seed):
    c = ExperimentConfig(schemes=("constant:value=0.2", "zeros"), activation="sigmoid", lr=1.0, data_seed=data_seed,
                         **SMALL)
    r = run(c)
    assert (_counts(r, "functional_distinct_units") == 1).all()
    assert (_counts(r, "distinct_units") == 1).all()
    W0, W1 = r.weights("constant:value=0.2", 0, "initial")[0][0], r.weights("constant:value=0.2", 0, "final")[0][0]
    assert np.abs(W1 - W0).max() > 1e-3  # it learned, and its units moved together


@pytest.mark.parametrize("data_seed", [0, 1, 2, 3])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_identity_from_two_inputs_leaves_at_most_three_functional_units(activation, data_seed):
    """eye(2, 32) copies x1 and x2 into units 1 and 2 and gives the other 30 units zero weights and bias:
    with f(0) = 0 they output 0, pass no gradient to their weights (the activations feeding those are 0)
    and none back (their outgoing weights are 0), so they stay 0. The square identity layers above copy
    each unit to the same unit, so every hidden layer holds the x1 path, the x2 path and 30 zeros: at most
    3 functions, although by weights the copies e_j of layers 2 and 3 are 32 different units."""
    counts = {}
    for dtype in ("float32", "float64"):
        c = ExperimentConfig(schemes=("identity",), activation=activation, data_seed=data_seed, dtype=dtype,
                             **{**SMALL, "width": (32,), "epochs": 60})
        r = run(c)
        f = _counts(r, "functional_distinct_units")
        assert (f <= 3).all() and (f.xs(0, level="epoch") == 3).all(), f
        w = _counts(r, "distinct_units").xs(0, level="epoch")
        assert w.tolist() == [3, 32, 32]
        counts[dtype] = f
    pd_equal(counts["float32"], counts["float64"])


@pytest.mark.parametrize("data_seed", [0, 1, 2, 3])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.slow
def test_zero_hadamard_gives_few_distinct_functions_from_two_inputs(activation, data_seed):
    """ZerO's first layer from 2 inputs to 32 units is the first 2 columns of a 32 x 32 Sylvester Hadamard
    matrix: its rows are (1, 1) or (1, -1) (scaled), so at most 2^ceil(log2 2) = 2 distinct units; training
    100 epochs on moons separates them into a few groups of copies, far below the 32 units."""
    counts = {}
    for dtype in ("float64", "float32"):
        c = ExperimentConfig(schemes=("zero_hadamard",), activation=activation, data_seed=data_seed, dtype=dtype,
                             **{**SMALL, "width": (32,), "epochs": 100, "n_samples": 500})
        r = run(c)
        f = _counts(r, "functional_distinct_units")
        first = f.xs(1, level="layer")
        assert first.xs(0, level="epoch").item() <= 2 ** math.ceil(math.log2(2))
        assert f.max() <= 8, f  # measured: 4 groups after 100 epochs (tanh and relu, seeds 0-3)
        counts[dtype] = f
    pd_equal(counts["float32"], counts["float64"])


@pytest.mark.parametrize("features", [3, 5])
def test_zero_hadamard_first_layer_has_at_most_a_power_of_two_distinct_units(features):
    """Column c < 2^b of a Sylvester Hadamard matrix is (-1)^popcount(j & c) in row j: it depends on the low b
    bits of j only, so n inputs give at most 2^ceil(log2 n) distinct units (3 -> 4, 5 -> 8), by weights and so
    by function."""
    c = ExperimentConfig(schemes=("zero_hadamard",), dataset="blobs", features=features, classes=3, n_samples=200,
                         depth=2, width=(32,), seeds=1, epochs=1, record_epochs=2, dtype="float64")
    r = run(c)
    bound = 2 ** math.ceil(math.log2(features))
    assert _counts(r, "distinct_units").loc[("zero_hadamard", 0, 0, 1)] == bound
    assert 1 < _counts(r, "functional_distinct_units").loc[("zero_hadamard", 0, 0, 1)] <= bound


@pytest.mark.parametrize("data_seed", [0, 1, 2, 3])
def test_he_units_are_all_distinct_and_relu_dead_units_are_one_function(data_seed):
    c = ExperimentConfig(schemes=("he_normal",), activation="tanh", data_seed=data_seed,
                         **{**SMALL, "seeds": 2, "width": (32,)})
    f = _counts(run(c), "functional_distinct_units")
    assert (f == 32).all()
    # ReLU units off on every probe sample all output 0 there: one function, the others each their own
    c = ExperimentConfig(schemes=("he_normal",), activation="relu", data_seed=data_seed,
                         **{**SMALL, "seeds": 2, "width": (32,), "depth": 4})
    r = run(c)
    f = _counts(r, "functional_distinct_units")
    s = r.frames["layer_stats"]
    s = s[(s["kind"] == "activation") & (s["layer"] <= c.depth)].set_index(["scheme", "seed", "epoch", "layer"])
    dead = (s["dead_or_saturated"] * 32).round().astype(int).loc[f.index]
    assert (f == 32 - dead + (dead > 0)).all()
    assert (f.xs(1, level="layer") == 32).all()  # a unit of the first layer is on for half the plane


def test_functional_count_sees_copies_the_weights_do_not():
    """A hand-made network: layer 1 has units computing 3 functions (one of them twice, one zero), layer 2
    permutes layer 1's units. By weights layer 2 has 6 different units, as functions only 3; the counts
    equal brute force over activations computed here, independently of the probes."""
    p = experiment.prepare(ExperimentConfig(dataset="moons", n_samples=300, depth=2, width=(6,), seeds=1,
                                            schemes=("zeros",), dtype="float64"))
    flat = np.zeros_like(p.init)
    (W1, b1), (W2, b2), (W3, b3) = p.layout.views(flat)
    W1[0][:, :3] = [[1.0, -2.0, 1.0], [0.5, 0.3, 0.5]]  # units 1 and 3 the same; units 4-6 zero
    b1[0, 0, :3] = [0.1, 0.0, 0.1]
    W2[0] = np.eye(6)[[2, 0, 1, 5, 4, 3]]  # a permutation: each unit copies another
    W3[0] = np.arange(12).reshape(6, 2)
    rec = p.prober.session(p.layout, flat).record(0, flat)
    X = p.data.X_train[:PROBE_SIZE]
    a1 = np.tanh(X @ W1[0] + b1[0, 0])
    a2 = np.tanh(a1 @ W2[0] + b2[0, 0])
    rtol = same_unit_tolerance(np.float64)
    assert rec.functional[:2, 0].tolist() == [brute_force(a1.T, rtol), brute_force(a2.T, rtol)] == [3, 3]
    assert rec.distinct[:2, 0].tolist() == [3, 6]


def test_csv_columns_are_added_never_renamed():
    c = ExperimentConfig(schemes=("he_normal",), **{**SMALL, "depth": 2, "epochs": 2, "record_epochs": 2})
    f = run(c).frames
    assert list(f["distinct_units"].columns) == ["scheme", "seed", "epoch", "layer", "distinct_units", "units",
                                                 "functional_distinct_units"]
    assert list(f["gradient_norms"].columns) == ["scheme", "seed", "epoch", "layer", "weight_grad_norm",
                                                 "bias_grad_norm", "weight_grad_rms", "bias_grad_rms"]
    assert list(f["summary"].columns)[9:] == ["distinct_units_layer_1", "distinct_units_layer_2",
                                              "distinct_units_layer_3", "functional_distinct_units_layer_1",
                                              "functional_distinct_units_layer_2", "functional_distinct_units_layer_3"]
    d = f["distinct_units"]
    last = d[d["epoch"] == c.epochs].set_index("layer")
    s = f["summary"].iloc[0]
    for layer in (1, 2, 3):
        assert s[f"functional_distinct_units_layer_{layer}"] == last.loc[layer, "functional_distinct_units"]
        assert s[f"distinct_units_layer_{layer}"] == last.loc[layer, "distinct_units"]
