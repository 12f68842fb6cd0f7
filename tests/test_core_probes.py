"""Known facts of initialization (He et al. 2015, Glorot & Bengio 2010, Saxe et al. 2014), measured through run() and the
probes."""
import math

import numpy as np
import pytest

from core import ExperimentConfig, run
from core.nn import initializers
from core.measure.probes import distinct_units, pairwise_distances, same_unit_tolerance

# not 2-D: no decision-boundary grid, whose forward pass through 10 x 256 x 256 would dominate the run
DEEP = dict(dataset="gaussian_quantiles", features=16, n_samples=200, depth=10, width=(256,), activation="relu", epochs=1, batch_size=0,
            record_epochs=2)


@pytest.fixture(scope="module")
def relu_depth_run():
    c = ExperimentConfig(schemes=("he_normal", "xavier_normal", "glorot_standard"), seeds=2, **DEEP)
    return c, run(c)


def _slope(stats, scheme, kind="preactivation"):
    s = stats[(stats["epoch"] == 0) & (stats["kind"] == kind) & (stats["scheme"] == scheme) & (stats["layer"] <= 10)]
    logs = s.groupby("layer")["second_moment"].apply(lambda v: np.log(v).mean())
    assert list(logs.index) == list(range(1, 11))
    return np.polyfit(logs.index.to_numpy(float), logs.to_numpy(), 1)[0]


@pytest.mark.parametrize("scheme,factor", [("he_normal", 1.0), ("xavier_normal", 0.5), ("glorot_standard", 1 / 6)])
@pytest.mark.slow
def test_relu_second_moment_per_layer_follows_he_et_al(relu_depth_run, scheme, factor):
    _, r = relu_depth_run
    slope = _slope(r.frames["layer_stats"], scheme)
    # the three predictions are log 1 = 0, log 1/2 = -0.69, log 1/6 = -1.79; measured within ~0.03 of them
    assert slope == pytest.approx(math.log(factor), abs=0.1), slope


def test_glorot_standard_weights_really_are_uniform_one_over_sqrt_fan_in(relu_depth_run):
    _, r = relu_depth_run
    W = r.weights("glorot_standard", 0, "initial")[3][0]
    assert W.shape == (256, 256) and np.abs(W).max() <= 1 / 16 + 1e-7
    assert W.std() == pytest.approx(1 / math.sqrt(3 * 256), rel=0.02)


def test_random_schemes_give_distinct_units_from_epoch_0(relu_depth_run):
    c, r = relu_depth_run
    d = r.frames["distinct_units"]
    d0 = d[d["epoch"] == 0]
    assert len(d0) == len(c.models) * 11
    assert (d0["distinct_units"] == d0["units"]).all()
    assert set(d0[d0["layer"] <= 10]["units"]) == {256}


SYM = dict(dataset="moons", n_samples=200, depth=3, width=(16,), epochs=15, batch_size=32, record_epochs=4,
           dtype="float64", lr=0.3)


def _hidden(df, c):
    return df[df["layer"] <= c.depth]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_constant_init_never_breaks_symmetry(optimizer, activation):
    c = ExperimentConfig(schemes=("constant:value=0.3", "constant:value=-0.2"), seeds=1, optimizer=optimizer,
                         activation=activation, weight_decay=0.001, **{**SYM, "lr": 0.05 if optimizer == "adam" else 0.3})
    r = run(c)
    ud = _hidden(r.frames["unit_distances"], c)
    assert sorted(ud["epoch"].unique()) == [0, 5, 10, 15]
    assert (ud["distance"] == 0).all()
    du = _hidden(r.frames["distinct_units"], c)
    assert (du["distinct_units"] == 1).all()
    # and the weights did move (the lesson is about symmetry, not about being stuck)
    for scheme in c.schemes:
        W0 = r.weights(scheme, 0, "initial")[0][0]
        W1 = r.weights(scheme, 0, "final")[0][0]
        assert np.abs(W1 - W0).max() > 1e-4
        for W, b in r.weights(scheme, 0, "final")[:-1]:
            assert (W == W[:, :1]).all() and (b == b[0]).all()


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_zeros_leave_hidden_weights_exactly_zero_and_only_output_bias_learns(activation, optimizer):
    c = ExperimentConfig(schemes=("zeros",), seeds=1, activation=activation, optimizer=optimizer,
                         weight_decay=0.01, **SYM)
    r = run(c)
    final = r.weights("zeros", 0, "final")
    for W, b in final[:-1]:
        assert not W.any() and not b.any()
    W_out, b_out = final[-1]
    assert not W_out.any()
    assert np.abs(b_out).max() > 1e-3
    g = r.frames["gradient_norms"]
    assert (g[g["layer"] <= c.depth][["weight_grad_norm", "bias_grad_norm"]] == 0).all().all()


def test_sigmoid_zeros_and_constant_move_weights_but_units_stay_identical():
    c = ExperimentConfig(schemes=("zeros", "constant:value=0.2"), seeds=1, activation="sigmoid",
                         **{**SYM, "depth": 2, "lr": 1.0})
    r = run(c)
    for scheme in c.schemes:
        for layer, ((W0, b0), (W, b)) in enumerate(zip(r.weights(scheme, 0, "initial"), r.weights(scheme, 0, "final"))):
            assert np.abs(W - W0).max() > 1e-6, (scheme, layer)
            if layer < c.depth:
                assert (W == W[:, :1]).all() and (b == b[0]).all()
    assert (_hidden(r.frames["unit_distances"], c)["distance"] == 0).all()
    assert (_hidden(r.frames["distinct_units"], c)["distinct_units"] == 1).all()
    s = r.frames["summary"]
    assert (s[[f"distinct_units_layer_{i}" for i in range(1, c.depth + 1)]] == 1).all().all()


def test_orthogonal_products_keep_singular_values_gaussian_ones_do_not():
    n, depth = 64, 20
    rng = np.random.default_rng(0)
    P_orth, P_gauss = np.eye(n), np.eye(n)
    for _ in range(depth):
        P_orth = P_orth @ initializers.sample("orthogonal", n, n, rng=rng)
        P_gauss = P_gauss @ initializers.sample("normal", n, n, rng=rng, std=1 / math.sqrt(n))
    s_orth = np.linalg.svd(P_orth, compute_uv=False)
    s_gauss = np.linalg.svd(P_gauss, compute_uv=False)
    assert np.abs(s_orth - 1).max() < 1e-10
    assert s_gauss.max() / s_gauss.min() > 1e6


@pytest.mark.slow
def test_selu_with_lecun_normal_self_normalizes_through_20_layers():
    c = ExperimentConfig(schemes=("lecun_normal", "he_normal"), seeds=2, depth=20, width=(256,), activation="selu",
                         dataset="gaussian_quantiles", features=32, n_samples=200, epochs=1, batch_size=0, record_epochs=2)
    stats = run(c).frames["layer_stats"]
    s = stats[(stats["epoch"] == 0) & (stats["kind"] == "activation") & (stats["layer"] <= 20)]
    lecun = s[s["scheme"] == "lecun_normal"]
    assert len(lecun) == 40  # 20 layers x 2 seeds
    assert lecun["mean"].abs().max() < 0.15
    assert (lecun["std"] ** 2).between(0.8, 1.2).all(), lecun[["layer", "std"]]
    # He's gain 3/4 for SELU is not self-normalizing: its variance drifts away from 1 with depth
    he = s[(s["scheme"] == "he_normal") & (s["layer"] == 20)]
    assert ((he["std"] ** 2) < 0.5).all()


def test_pairwise_distances_and_distinct_units_helpers():
    u = np.array([[[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]]])
    d = pairwise_distances(u)
    assert np.array_equal(d[0], [[0, 5, 0], [5, 0, 5], [0, 5, 0]])
    tol = same_unit_tolerance(np.float64)  # 3.6e-12 relative to the larger unit's largest |value|
    assert distinct_units(u[0], tol) == 2
    assert distinct_units(np.array([[1.0, 2.0], [1.0 + 1e-12, 2.0], [1.0 + 1e-10, 2.0]]), tol) == 2
    rng = np.random.default_rng(0)
    assert distinct_units(rng.standard_normal((100, 5)), tol) == 100


def test_segment_stats_follow_moments_and_histograms_on_hard_sets():
    from core.measure.probes import StatsWork, bin_edges, histograms, moments, segment_stats
    rng = np.random.default_rng(3)
    k = 4
    sets = [rng.standard_normal((k, 500)).astype(np.float32),
            (rng.standard_normal((k, 500)) * 1e-4 + 1e3).astype(np.float32),  # mean dominates: cancellation
            np.zeros((k, 500), np.float32),  # zero start
            np.full((k, 500), 0.25, np.float32),  # constant
            np.array([[-3e38, 3e38, 1.0] * 100] * k, np.float32),  # a float32 span past float32's range
            rng.standard_normal((k, 70000)).astype(np.float32),  # more than one chunk of rows
            rng.standard_normal((k, 300000)).astype(np.float32)]  # a row longer than the work arrays
    # float64 values of an exploding network: a span past float64's range, and bins so narrow that their
    # inverse overflows (a link reached the first: relu, constant:value=10, 30 layers, lr 10)
    sets += [np.array([[-1.5e308, 1.5e308, 1.0] * 101] * k), np.array([[0.0, 1e-310, 5e-311] * 67] * k)]
    mixed = rng.standard_normal((k, 300)).astype(np.float32)
    mixed[0, 7], mixed[1, :], mixed[2, 3] = np.inf, np.nan, -np.inf  # non-finite rows beside finite ones
    sets.append(mixed)
    for work in (None, StatsWork()):
        for _ in range(2):  # work arrays reused
            stats, counts, start, width = segment_stats(sets, work=work)
            left, right = bin_edges(start, width)
            for i, v in enumerate(sets):
                ref_counts, ref_left, ref_right = histograms(v)
                np.testing.assert_allclose(stats[i], moments(v), rtol=1e-9, atol=1e-300)
                assert np.array_equal(counts[i], ref_counts), i
                np.testing.assert_allclose(left[i], ref_left, rtol=1e-12)
                np.testing.assert_allclose(right[i], ref_right, rtol=1e-12)
    assert counts[2].sum(axis=1).tolist() == [500] * k and (counts[2][:, 15] == 500).all()


@pytest.mark.parametrize("n", [10_000, 70_000])
def test_a_rows_moments_do_not_depend_on_the_rows_it_is_stacked_with(n):
    """segment_stats reduces rows in chunks; a row's moments must have the same bits alone, in a chunk of
    several, or last and alone in its chunk, for rows past NumPy's 8192-value buffer as well (einsum reduced a
    lone long row in another order): otherwise a model's probe numbers would depend on its stack's grouping,
    that is on the machine's core count, and a sweep's records on the value sets recorded beside them."""
    from core.measure.probes import StatsWork, segment_stats
    rng = np.random.default_rng(5)
    rows = rng.standard_normal((7, n)) * rng.uniform(0.01, 50, (7, 1))
    rows[5] = 3.0 + 1e-9 * rng.standard_normal(n)  # nearly constant: the variance from the deviations
    per_chunk = StatsWork().rows_per_chunk(n)
    # 10,000 values: full chunks of 6 rows and a last row alone; 70,000: every row alone (past the work arrays)
    assert (n < StatsWork.CAPACITY) == (7 % per_chunk == 1 and per_chunk > 1)
    together = segment_stats([rows], work=StatsWork())[0][0]
    for i in range(7):
        alone = segment_stats([rows[i:i + 1]], work=StatsWork())[0][0]
        assert np.array_equal(alone, together[i:i + 1]), i
    beside = segment_stats([rows[::-1], rows], work=StatsWork())[0]  # the same rows at other places in chunks
    assert np.array_equal(beside[1], together) and np.array_equal(beside[0], together[::-1])


def test_pairwise_distances_are_exact_where_units_coincide():
    rng = np.random.default_rng(4)
    u = rng.standard_normal((5, 20, 9)) * 3
    u[1] = u[1, :1]  # every unit the same
    u[2, 4] = u[2, 11]  # one identical pair
    u[3, 6] = u[3, 2] + 1e-7  # one nearly identical pair
    u[4] *= 1e6  # large norms
    d = pairwise_distances(u)
    ref = np.sqrt(((u[:, :, None, :] - u[:, None, :, :]) ** 2).sum(-1))
    np.testing.assert_allclose(d, ref, rtol=1e-9, atol=0)
    assert (d[1] == 0).all() and d[2, 4, 11] == d[2, 11, 4] == 0
    assert d[3, 6, 2] == pytest.approx(ref[3, 6, 2], rel=1e-9)
    assert np.array_equal(d, d.transpose(0, 2, 1)) and (np.diagonal(d, axis1=1, axis2=2) == 0).all()


def test_decision_boundary_is_each_models_own_prediction_on_the_grid():
    # float64 so that a tie between two logits cannot flip the predicted class by rounding
    c = ExperimentConfig(dataset="blobs", classes=3, n_samples=200, schemes=("he_normal", "xavier_uniform"), seeds=2,
                         depth=2, width=(8,), activation="tanh", epochs=4, record_epochs=2, dtype="float64")
    r = run(c)
    b = r.frames["boundaries"]
    for scheme in c.schemes:
        for seed in range(c.seeds):
            for epoch, which in ((0, "initial"), (c.epochs, "final")):
                rows = b[(b["scheme"] == scheme) & (b["seed"] == seed) & (b["epoch"] == epoch)]
                a = rows[["x1", "x2"]].to_numpy()
                layers = r.weights(scheme, seed, which)
                for i, (W, bias) in enumerate(layers):
                    a = a @ W + bias
                    if i < len(layers) - 1:
                        a = np.tanh(a)
                p = np.exp(a - a.max(axis=1, keepdims=True))
                p /= p.sum(axis=1, keepdims=True)
                assert len(rows) == 40 * 40
                assert np.array_equal(rows["predicted"].to_numpy(), p.argmax(axis=1))
                np.testing.assert_allclose(rows["probability"].to_numpy(), p.max(axis=1), rtol=1e-12)


def test_boundary_class_is_argmax_even_for_ties_nan_and_inf():
    """The grid's class loop stands in for argmax: the first of tied logits (a zero start ties them all), and
    argmax's own answer where a logit is NaN (a blown-up start). Compared with argmax of the logits of the
    grid's own products: where NaN appears in a blown-up model depends on how the product was computed."""
    from core import experiment
    from core.nn import network
    from core.measure.probes import Prober
    p = experiment.prepare(ExperimentConfig(dataset="blobs", classes=4, n_samples=200, depth=2, width=(8,),
                                            activation="relu", schemes=("he_normal", "zeros", "normal:std=1"),
                                            seeds=1))
    flat = p.init.copy()
    flat[2] *= np.float32(1e20)  # hidden layers overflow to inf, and inf - inf is NaN in most logits
    grid = experiment.boundary_grid(p.data)
    prober = Prober(p.data.X_train, p.data.y_train, p.act, p.data.task, grid, flat.dtype)
    with np.errstate(all="ignore"):  # as record() calls it
        two = prober.session(p.layout, p.init[:2])
        finite = two.grid_logits(flat[:2])
        loop, _ = two._grid_boundary(flat[:2])  # no NaN: the class loop
        three = prober.session(p.layout, p.init)
        logits = three.grid_logits(flat)
        predicted, probability = three._grid_boundary(flat)  # a NaN: argmax
        reference = network.forward(p.layout.views(flat[:2]), grid.astype(flat.dtype), p.act)
    assert np.isnan(logits[2]).any() and not np.isnan(finite).any()
    np.testing.assert_allclose(network.swap(finite), reference, rtol=1e-4, atol=1e-5)  # the network's logits
    assert (loop[1] == 0).all() and (finite[1] == 0).all()  # every logit of the zero start ties
    assert np.array_equal(loop, finite.argmax(axis=1))
    assert np.array_equal(predicted, logits.argmax(axis=1))
    assert predicted.dtype == np.int8 and probability.dtype == flat.dtype


def test_a_record_is_the_same_whatever_the_unit_groups_hold(monkeypatch):
    """Layers of one width share a pairwise/distinct call up to UNIT_GROUP_VALUES, padded to the group's widest
    input: a cap that forces one layer per call must give the same record."""
    from core import experiment
    from core.measure.probes import ProbeSession
    p = experiment.prepare(ExperimentConfig(dataset="moons", n_samples=200, depth=4, width=(40, 12, 40, 40),
                                            schemes=("he_normal", "zeros", "constant:value=0.3"), seeds=2))
    flat = p.init * np.float32(1.5)
    grouped = p.prober.session(p.layout, p.init)
    assert any(len(layers) > 1 for layers, _ in grouped.unit_groups)
    monkeypatch.setattr(ProbeSession, "UNIT_GROUP_VALUES", 1)
    alone = p.prober.session(p.layout, p.init)
    assert all(len(layers) == 1 for layers, _ in alone.unit_groups)
    a, b = grouped.record(1, flat), alone.record(1, flat)
    assert np.array_equal(a.distinct, b.distinct) and np.array_equal(a.functional, b.functional)
    for x, y in zip(a.unit_distances(), b.unit_distances()):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=0)
        assert np.array_equal(x == 0, y == 0)  # exact zeros (identical units) stay exact


def test_a_network_that_explodes_within_float64_still_gets_its_histograms():
    # Reached from a link: constant weights of 10 through 30 ReLU layers, lr 10: finite values whose span is
    # past float64's range, which once crashed the histograms' bin arithmetic.
    from core import ExperimentConfig, run
    config = ExperimentConfig(schemes=("constant:value=10",), depth=30, width=(64,), activation="relu", epochs=3,
                              lr=10, seeds=1, dtype="float64", n_samples=200, optimizer="sgd")
    frames = run(config).frames
    hist, stats = frames["histograms"], frames["layer_stats"]
    keys = ["scheme", "seed", "epoch", "layer", "kind"]
    assert len(hist) and np.isfinite(hist[["bin_left", "bin_right"]].to_numpy()).all()
    counted = hist.groupby(keys)["count"].sum().rename("counted").reset_index().merge(stats, on=keys)
    # every histogram counts all its finite values: those of the epoch-0 set of the same layer, less the
    # non-finite fraction layer_stats reports
    full = counted[counted["epoch"] == 0].set_index(["layer", "kind"])["counted"]
    expected = full.loc[list(zip(counted["layer"], counted["kind"]))].to_numpy() * (1 - counted["nonfinite_fraction"])
    assert np.allclose(counted["counted"], expected) and counted["nonfinite_fraction"].max() > 0
