"""Every user-visible text that names a number is checked against a run or a formula.

CLAIMS maps each such text (activation, initializer and bias descriptions, the theory caption, lesson titles
and texts) to the numbers it names and a check of what it says about them. The scan
fails when a text names a number that its entry does not list, or when a text with a number has no entry:
a new figure in a text needs a check here.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from tests.lesson_runs import DATA_SEEDS, LESSON_SEEDS, holds_on_every_data_seed

from core import ExperimentConfig, at_initialization, run
from core.nn import activations, initializers
from core.measure import meanfield, theory
from core.config import replace
from core.experiment import LSUV_SAMPLES
from core.views.lessons import BY_SLUG, LESSONS

NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?")
ACT = activations.ACTIVATIONS


def texts() -> dict[tuple[str, str], str]:
    """Every user-visible text that may state a fact, by (kind, name)."""
    out = {("activation", n): a.description for n, a in ACT.items()}
    out.update({("initializer", n): i.description for n, i in initializers.INITIALIZERS.items()})
    out.update({("bias", n): b.description for n, b in initializers.BIASES.items()})
    out.update({("lesson", lesson.slug): lesson.title + "\n" + lesson.text for lesson in LESSONS})
    out[("caption", "prediction")] = theory.prediction_caption(["he_normal", "zeros"], "constant:value=1")
    out.update({("inactivity", n): t for n, t in activations.INACTIVITY.items()})
    out.update({("not_counted", n): t for n, t in activations.NOT_COUNTED.items()})
    return out


@dataclass(frozen=True)
class Claim:
    numbers: tuple[str, ...]  # every number the text names
    check: Callable[[], None]  # raises AssertionError where the text is not true
    slow: bool = False  # its check trains for more than a few seconds (pytest -m slow)


@functools.lru_cache(maxsize=None)
def frames(config: ExperimentConfig) -> dict:
    return run(config, enforce_budget=False).frames


def on_data_seeds(config: ExperimentConfig):
    return [frames(replace(config, data_seed=seed)) for seed in DATA_SEEDS]


def at_init_on_data_seeds(config: ExperimentConfig):
    """The epoch-0 frames on every data seed, nothing trained (``at_initialization``: run's epoch-0 rows)."""
    return [at_initialization(replace(config, data_seed=seed)).frames for seed in DATA_SEEDS]


def epoch0(f, kind):
    s = f["layer_stats"]
    return s[(s["epoch"] == 0) & (s["kind"] == kind)]


def functional_units(results, scheme, which, tol=1e-9):
    """Distinct activation columns per hidden layer on the probe batch, within tol of the layer's scale."""
    act = activations.get(results.config.activation)
    a = results.data.X_train[:128]
    counts = []
    for W, b in results.weights(scheme, 0, which)[:-1]:
        z = a @ W + b
        a = act.forward(z, np.empty_like(z))
        cols, scale, n = list(a.T), max(np.abs(a).max(), 1e-300), 0
        while cols:
            same = [np.abs(c - cols[0]).max() <= tol * scale for c in cols]
            cols = [c for c, s in zip(cols, same) if not s]
            n += 1
        counts.append(n)
    return counts


# ---------------------------------------------------------------- activations

def _grid():
    return np.linspace(-30, 30, 6001)


def _f(name, z):
    return ACT[name].forward(z, np.empty_like(z))


def _df(name, z):
    return ACT[name].derivative(z, _f(name, z), np.empty_like(z))


def check_relu():
    z = _grid()
    assert np.array_equal(_f("relu", z), np.maximum(0, z))
    for q in (0.1, 1.0, 30.0):  # halves the second moment of z ~ N(0, q)
        assert meanfield.second_moment(ACT["relu"], 0.0, q) == pytest.approx(q / 2, rel=1e-12)


def check_leaky():
    z = _grid()
    assert activations.LEAKY_SLOPE == 0.01
    assert np.allclose(_f("leaky_relu", z), np.maximum(0.01 * z, z))
    assert _df("leaky_relu", z).min() == pytest.approx(0.01) and (_df("leaky_relu", z) > 0).all()


def check_elu():
    z = _grid()
    assert np.allclose(_f("elu", z), np.where(z > 0, z, np.exp(z) - 1))
    d = _df("elu", z)
    assert np.allclose(d[z <= 0], np.exp(z[z <= 0])) and (d > 0).all()


def check_tanh():
    assert _f("tanh", np.array([-40.0, 40.0])).tolist() == [-1.0, 1.0]
    assert _df("tanh", np.array([10.0]))[0] < 1e-8


def check_sigmoid():
    z = np.linspace(-30, 30, 601)
    assert np.allclose(_f("sigmoid", z), 1 / (1 + np.exp(-z)))
    assert _f("sigmoid", np.array([-800.0, 800.0])).tolist() == [0.0, 1.0]


def check_softplus():
    z = np.linspace(-30, 30, 601)
    assert np.allclose(_f("softplus", z), np.log(1 + np.exp(z)))


# ---------------------------------------------------------------- inactivity notions

def _fraction(name, z):
    z = np.asarray(z, float)[None]
    return activations.inactive_fraction(ACT[name], z, _f(name, z))[0]


def check_dead():
    assert _df("relu", np.array([-1.0, 0.0])).tolist() == [0.0, 0.0]
    # units (columns) off on every sample are dead; one positive sample is enough to be alive
    assert _fraction("relu", [[-1.0, 0.0, 2.0], [-3.0, -1.0, -1.0]]) == pytest.approx(2 / 3)


def check_nearly_off():
    assert activations.SATURATION_THRESHOLD == 0.05 and activations.LEAKY_SLOPE == 0.01
    # leaky ReLU: slope 0.01 < 5% wherever z <= 0; ELU: exp(z) < 5% only below ln 0.05 = -3.0
    assert _fraction("leaky_relu", [[-1.0, 0.5], [-2.0, -0.1]]) == pytest.approx(1 / 2)
    assert _fraction("elu", [[-2.9, -3.1], [-5.0, -3.2]]) == pytest.approx(1 / 2)


def check_saturated():
    assert activations.SATURATION_THRESHOLD == 0.05
    # tanh' = 1 - tanh^2 < 0.05 beyond |z| = atanh(sqrt 0.95) = 2.18; sigmoid' < 0.05 x 0.25 beyond 4.37
    assert _fraction("tanh", [[2.1, 2.3], [0.0, -3.0]]) == pytest.approx(2 / 4)
    assert _fraction("sigmoid", [[4.3, 4.5], [0.0, -6.0]]) == pytest.approx(2 / 4)


def check_not_counted():
    """What is true of each slope without an inactivity notion. The old caption, "neither dead units nor a
    saturating slope", was false for softplus, SELU and GELU: their slopes fade to 0 as z falls."""
    z = _grid()
    assert (_df("linear", z) == 1).all()
    for name in ("softplus", "selu"):
        d = _df(name, z)
        assert (d > 0).all() and d[0] < 1e-10 * d.max()  # never 0, fading to 0 at z = -30
    d = _df("gelu", z)
    assert activations.get("gelu").inactivity is None
    near = (z > -3) & (z < 0)
    zero = z[near][np.argmin(np.abs(d[near]))]
    assert round(zero, 2) == -0.75 and d[z < -0.76].max() < 0 and abs(d[0]) < 1e-10
    assert _df("gelu", np.array([-0.74]))[0] > 0


def check_he_normal():
    """The gain rule used: E[f(g u)^2] = 1, u ~ N(0, 1) (not 1 / sqrt(E[f(u)^2]), which gives other numbers);
    GELU's balance is unstable, ELU's and softplus' stable; PyTorch's tanh, sigmoid and selu gains keep no
    second moment. Then He's own claims (eq. 10 and 14) on ReLU."""
    check_he()
    for name in ("elu", "gelu", "softplus"):
        act = ACT[name]
        g = act.gain
        assert meanfield.second_moment(act, 0.0, g * g) == pytest.approx(1.0, abs=1e-12)
        other_rule = 1 / math.sqrt(meanfield.second_moment(act, 0.0, 1.0))
        assert abs(other_rule - g) > 0.03, name
        ends = []
        for start in (0.9, 1.1):  # the second moment q of the pre-activations, relative to the balance g^2
            q = start * g * g
            for _ in range(30):
                q = meanfield.q_map(act, q, g * g, 0.0)
            ends.append(q / (g * g))
        if name == "gelu":
            assert ends[0] < 0.2 and ends[1] > 2, ends  # "by layer 30, below 0.2 or above 2 times the balance"
        else:
            assert all(abs(e - 1) < 0.01 for e in ends), (name, ends)
    assert (ACT["tanh"].gain, ACT["sigmoid"].gain, ACT["selu"].gain) == (5 / 3, 1.0, 0.75)

    def after(name, gain, layers, q=1.0):
        for _ in range(layers):
            q = meanfield.q_map(ACT[name], q, gain ** 2, 0.0)
        return q
    assert round(after("tanh", 5 / 3, 200), 1) == 1.2 and after("tanh", 1.0, 200) < 0.05  # 1 fades to 0
    assert round(after("sigmoid", 1.0, 200), 2) == 0.26
    assert after("selu", 0.75, 10) < 0.1 and abs(after("selu", 1.0, 10) - 1) < 0.01  # 3/4 shrinks it; LeCun keeps it
    for name in ("tanh", "sigmoid", "selu"):  # none keeps the second moment of a unit input
        assert abs(after(name, ACT[name].gain, 1) - 1) > 0.05, name


# ---------------------------------------------------------------- initializers

def _draw(name, fan_in, fan_out, seed=0, **params):
    return initializers.sample(name, fan_in, fan_out, rng=np.random.default_rng(seed), **params)


def check_zeros():
    """f(0) = 0: every weight gradient is exactly 0 and the weights stay 0; the network learns the prior.
    With sigmoid the weights move but the units of a layer stay one unit."""
    base = ExperimentConfig(schemes=("zeros",), seeds=1, depth=2, width=(16,), optimizer="momentum", lr=0.05,
                            epochs=30, dtype="float64")
    for activation in ("tanh", "relu"):
        for f in on_data_seeds(replace(base, activation=activation)):
            assert (f["gradient_norms"]["weight_grad_norm"] == 0).all()
            d = f["init_distances"]
            assert (d[d["layer"] <= 2]["distance"] == 0).all()
            assert abs(f["summary"]["final_train_loss"].iloc[0] - math.log(2)) < 1e-3  # balanced moons
    for f in on_data_seeds(replace(base, activation="sigmoid")):
        d = f["init_distances"]
        assert (d[(d["layer"] <= 2) & (d["epoch"] > 0)]["distance"] > 0).all()
        u = f["distinct_units"]
        assert (u[u["layer"] <= 2]["distinct_units"] == 1).all()


def check_uniform():
    assert initializers.expected_std("uniform", 64, 64, limit=0.6) == pytest.approx(0.6 / math.sqrt(3))
    assert _draw("uniform", 512, 512, limit=0.6).var() == pytest.approx(0.36 / 3, rel=0.02)


def check_truncated_normal():
    p = initializers.resolve_params("truncated_normal")
    assert (p["mean"], p["std"], p["a"], p["b"]) == (0.0, 1.0, -2.0, 2.0)  # the defaults: cut at +-2 sigma
    assert round(initializers.truncated_normal_std(0, 1, -2, 2), 2) == 0.88
    w = _draw("truncated_normal", 512, 512, std=0.5, a=-1.0, b=1.0)  # +-2 sigma with sigma = 0.5
    assert w.std() == pytest.approx(0.88 * 0.5, rel=0.01)


def xavier_tanh_factors() -> list[float]:
    """Geometric mean of the activations' std ratio per layer, layers 2 to 10 of equal width, tanh."""
    out = []
    for width in (16, 64, 256):
        c = ExperimentConfig(schemes=("xavier_uniform", "xavier_normal"), seeds=3, activation="tanh", depth=10,
                             width=(width,), dtype="float64")
        for f in at_init_on_data_seeds(c):
            std = epoch0(f, "activation").groupby(["scheme", "layer"])["std"].mean()
            out += [(std[s].to_numpy()[9] / std[s].to_numpy()[1]) ** (1 / 8) for s in c.schemes]
    return out


def check_xavier_uniform():
    check_xavier_normal()
    assert initializers.expected_std("xavier_uniform", 30, 90) ** 2 == pytest.approx(2 / 120)
    factors = xavier_tanh_factors()  # the text gives two decimals
    assert round(min(factors), 2) == 0.93 and round(max(factors), 2) == 0.99, factors


def check_xavier_normal():
    """Var(W) = 2/(n_in + n_out): between the forward 1/n_in and the backward 1/n_out (their harmonic mean)."""
    for fi, fo in ((30, 90), (64, 64), (100, 10)):
        v = initializers.expected_std("xavier_normal", fi, fo) ** 2
        assert v == pytest.approx(2 / (fi + fo)) and v == pytest.approx(2 / (1 / (1 / fi) + 1 / (1 / fo)))
        assert min(1 / fi, 1 / fo) <= v <= max(1 / fi, 1 / fo)


@functools.lru_cache(maxsize=None)
def he_profiles() -> dict:
    """Second moments per hidden layer relative to layer 1, forward and backward, He fan_in and fan_out, ReLU,
    widths that change from layer to layer."""
    c = ExperimentConfig(dataset="classification", features=32, schemes=("he_normal", "he_uniform:mode=fan_out"),
                         seeds=6, activation="relu", depth=5, width=(64, 256, 32, 128, 64), dtype="float64")
    out = {}
    for seed, f in zip(DATA_SEEDS, at_init_on_data_seeds(c)):
        for kind in ("preactivation", "gradient"):
            q = epoch0(f, kind).groupby(["scheme", "layer"])["second_moment"].mean()
            for s in c.schemes:
                v = q[s].to_numpy()[:5]
                out[seed, kind, s] = v / v[0]
    return out


def check_he():
    """eq. 10 (fan_in) keeps the forward second moment, eq. 14 (fan_out) the backward one; gain sqrt 2 for ReLU."""
    assert ACT["relu"].gain == pytest.approx(math.sqrt(2))
    for (seed, kind, scheme), ratios in he_profiles().items():
        kept = (kind == "preactivation") == (scheme == "he_normal")
        if kept:
            assert np.all(np.abs(np.log(ratios)) < np.log(1.25)), (seed, kind, scheme, ratios)
        else:  # the other direction follows the widths: 64 -> 256 -> 32 changes it by 4 and 8
            assert np.abs(np.log(ratios)).max() > np.log(3), (seed, kind, scheme, ratios)


def check_lecun():
    for fi, fo in ((10, 30), (300, 7)):
        for name in ("lecun_uniform", "lecun_normal"):
            assert initializers.expected_std(name, fi, fo) ** 2 == pytest.approx(1 / fi)


@functools.lru_cache(maxsize=None)
def deterministic_runs(activation: str):
    c = ExperimentConfig(schemes=("zero_hadamard", "identity"), seeds=1, activation=activation, depth=3,
                         width=(32,), optimizer="momentum", lr=0.05, epochs=100, dtype="float64")
    return [run(replace(c, data_seed=seed)) for seed in DATA_SEEDS]


def check_identity():
    """A layer wider than its input: the extra units' incoming weights are 0 and stay exactly 0 (tanh, f(0) = 0,
    identity layers after them)."""
    assert np.array_equal(_draw("identity", 2, 5), np.eye(2, 5))
    for results in deterministic_runs("tanh"):
        W, b = results.weights("identity", 0, "final")[0]
        assert not W[:, 2:].any() and not b[2:].any()
        assert W[:, :2].any()


def check_sparse():
    for s in (0.1, 0.5):
        w = _draw("sparse", 40, 12, sparsity=s, std=1.0)
        assert ((w == 0).sum(axis=0) == math.ceil(s * 40)).all()


def check_sparse_martens():
    assert initializers.resolve_params("sparse_martens") == {"k": 15, "scale": 1.0}  # the paper's k = 15, N(0, 1)
    w = _draw("sparse_martens", 200, 300)
    assert ((w != 0).sum(axis=0) == 15).all() and w[w != 0].std() == pytest.approx(1.0, rel=0.05)
    assert ((_draw("sparse_martens", 9, 4) != 0).sum(axis=0) == 9).all()  # fan_in <= k: all of them
    assert initializers.BIASES["zeros"].sampler(None, 3).tolist() == [0, 0, 0]


def check_torch_default():
    # kaiming_uniform with a = sqrt 5: gain sqrt(2 / (1 + a^2)), bound gain sqrt(3 / n_in) = 1 / sqrt(n_in)
    n = 400
    gain = math.sqrt(2 / (1 + 5))
    assert gain * math.sqrt(3 / n) == pytest.approx(1 / math.sqrt(n))
    rng = np.random.default_rng(0)
    w = initializers.sample("torch_default", n, 600, rng=rng)
    b = initializers.sample_bias("torch_default", n, 50000, rng=rng)
    for v in (w, b):
        assert np.abs(v).max() <= 1 / math.sqrt(n) and v.var() == pytest.approx(1 / (3 * n), rel=0.02)


def check_glorot_standard():
    assert initializers.expected_std("glorot_standard", 50, 80) ** 2 == pytest.approx(1 / 150)
    # n Var(W) = 1/3 and E[tanh(z)^2] < E[z^2]: at most a third of the variance, in expectation
    for q in (0.01, 0.3, 1.0, 5.0):
        assert meanfield.q_map(ACT["tanh"], q, 1 / 3, 0.0) <= q / 3


def check_lsuv():
    assert LSUV_SAMPLES == 512
    c = ExperimentConfig(schemes=("lsuv",), seeds=2, activation="tanh", depth=3, width=(32,), epochs=1,
                         dtype="float64", n_samples=1000)
    results = run(c)
    tol = initializers.resolve_params("lsuv")["tol"]
    for seed in range(2):
        a = results.data.X_train[:512]
        for W, b in results.weights("lsuv", seed, "initial"):
            z = a @ W + b
            assert abs(z.var() - 1) < tol
            a = np.tanh(z)


def check_zero_hadamard():
    """At most 2^ceil(log2 n_in) distinct units in a widening layer; 2 from 2 inputs; 4 groups after 100 epochs
    on moons, 32 units per layer (tanh and ReLU, float64, data seeds 0 to 3)."""
    for n_in in range(1, 10):
        for width in (n_in + 1, 16, 40):
            w = _draw("zero_hadamard", n_in, width)
            distinct = len({tuple(col) for col in w.T})
            assert distinct == min(width, 2 ** math.ceil(math.log2(n_in))) if n_in > 1 else distinct == 1
    for activation in ("tanh", "relu"):
        for results in deterministic_runs(activation):
            assert results.config.width == (32,) and results.config.epochs == 100
            assert functional_units(results, "zero_hadamard", "initial") == [2, 2, 2]
            assert functional_units(results, "zero_hadamard", "final") == [4, 4, 4]


def check_bias_zeros():
    assert not initializers.sample_bias_init("zeros", 7, rng=np.random.default_rng(0)).any()


def check_bias_normal():
    b = initializers.sample_bias_init("normal", 40000, rng=np.random.default_rng(0), std=2.0)
    assert abs(b.mean()) < 0.03 and b.std() == pytest.approx(2.0, rel=0.02)


def check_prediction_caption():
    """q(l+1) = n Var(W) E[f(z)^2] + Var(b), z ~ N(0, q(l)) (Poole et al. 2016); for ReLU n Var(W) q(l) / 2;
    q(1) = Var(W) mean ||x||^2 + Var(b)."""
    x = np.random.default_rng(0).standard_normal((50, 3))
    p = theory.predict(["normal:std=0.2"], (3, 40, 40, 2), "relu", x, "normal:std=0.1")["second_moment"].to_numpy()
    q1 = 0.04 * np.square(x).sum(axis=1).mean() + 0.01
    assert p[0] == pytest.approx(q1, rel=1e-12)
    assert p[1] == pytest.approx(40 * 0.04 * q1 / 2 + 0.01, rel=1e-12)


# ---------------------------------------------------------------- lessons

def lesson_claim(slug: str, numbers: tuple[str, ...], **config) -> Claim:
    """A lesson's numbers: those of its configuration (checked here) and those its check measures, on data
    seeds 0 to 7 (the runs are shared with test_lessons); ``more`` checks what its check cannot see."""
    more = config.pop("more", noop)

    def check():
        c = BY_SLUG[slug].config
        for key, value in config.items():
            assert getattr(c, key) == value, (slug, key)
        assert holds_on_every_data_seed(slug) == []
        more()
    return Claim(numbers, check, slow=True)


def check_deep_relu_spread():
    """"Over 20 draws, layer 30's second moment ranges from under 0.01 to over 1 times layer 1's, and the median
    draw keeps about 0.3 of it": 20 He draws of the lesson's network at epoch 0, on data seeds 0 to 7. (The old
    "more than a factor 100 across these four seeds" held only for the four draws every data seed shares.)"""
    c = replace(BY_SLUG["deep-relu"].config, schemes=("he_normal",), seeds=20)
    for seed in LESSON_SEEDS:
        s = epoch0(at_initialization(replace(c, data_seed=seed)).frames, "preactivation")
        q = s.pivot_table(index="seed", columns="layer", values="second_moment")
        r = (q[30] / q[1]).to_numpy()
        assert len(r) == 20 and r.min() < 0.01 and r.max() > 1 and 0.2 < np.median(r) < 0.4, (seed, r)


def noop():
    pass


CLAIMS: dict[tuple[str, str], Claim] = {
    ("inactivity", "dead"): Claim(("0",), check_dead),
    ("inactivity", "nearly_off"): Claim(("0", "0.01", "5"), check_nearly_off),
    ("inactivity", "saturated"): Claim(("5",), check_saturated),
    ("activation", "relu"): Claim(("0",), check_relu),
    ("activation", "leaky_relu"): Claim(("0", "0.01"), check_leaky),
    ("activation", "elu"): Claim(("0", "1"), check_elu),
    ("activation", "tanh"): Claim(("1",), check_tanh),
    ("activation", "sigmoid"): Claim(("0", "1"), check_sigmoid),
    ("activation", "softplus"): Claim(("1",), check_softplus),
    ("initializer", "zeros"): Claim(("0",), check_zeros),
    ("initializer", "uniform"): Claim(("3",), check_uniform),
    ("initializer", "truncated_normal"): Claim(("0.88", "2"), check_truncated_normal),
    ("initializer", "xavier_uniform"): Claim(("0.93", "0.99", "1", "2", "2010"), check_xavier_uniform,
                                             slow=True),
    ("initializer", "xavier_normal"): Claim(("2", "2010"), check_xavier_normal),
    ("initializer", "he_uniform"): Claim(("10", "14", "2015"), check_he),
    ("initializer", "he_normal"): Claim(("0", "0.2", "0.26", "1", "1.2", "10", "14", "2", "2015", "3", "30", "4",
                                                "5"),
                                        check_he_normal),
    ("initializer", "lecun_uniform"): Claim(("1",), check_lecun),
    ("initializer", "lecun_normal"): Claim(("1",), check_lecun),
    ("initializer", "identity"): Claim(("0",), check_identity, slow=True),
    ("initializer", "sparse"): Claim(("0",), check_sparse),
    ("initializer", "sparse_martens"): Claim(("0", "1", "15", "2010", "5"), check_sparse_martens),
    ("initializer", "torch_default"): Claim(("1", "3", "5"), check_torch_default),
    ("initializer", "glorot_standard"): Claim(("1", "3"), check_glorot_standard),
    ("initializer", "lsuv"): Claim(("1", "2016", "512"), check_lsuv),
    ("initializer", "zero_hadamard"): Claim(("100", "2", "2022", "32", "4"), check_zero_hadamard, slow=True),
    ("bias", "zeros"): Claim(("0",), check_bias_zeros),
    ("bias", "normal"): Claim(("0",), check_bias_normal),
    ("caption", "prediction"): Claim(("0", "1", "2", "2016"), check_prediction_caption),
    ("not_counted", "linear"): Claim(("1",), check_not_counted),
    ("not_counted", "softplus"): Claim(("0",), check_not_counted),
    ("not_counted", "selu"): Claim(("0",), check_not_counted),
    ("not_counted", "gelu"): Claim(("0", "0.75"), check_not_counted),
    ("lesson", "symmetry"): lesson_claim("symmetry", ("0", "0.693", "2"), activation="tanh"),
    ("lesson", "vanish-explode"): lesson_claim("vanish-explode", ("0.0032", "0.01", "1", "1e-20", "2", "32", "64"),
                                               width=(64,), activation="relu", depth=10,
                                               schemes=("normal:std=0.01", "he_normal", "normal:std=1")),
    ("lesson", "deep-relu"): lesson_claim("deep-relu", ("0.01", "0.2", "0.3", "0.6", "0.693", "1", "2", "20", "2018",
                                                        "30", "32"), depth=30, width=(32,), seeds=4, activation="relu",
                                          optimizer="momentum", more=check_deep_relu_spread),
    ("lesson", "tanh-standard"): lesson_claim("tanh-standard", ("0.58", "1", "2010", "3"), activation="tanh"),
    ("lesson", "selu"): lesson_claim("selu", ("0", "0.2", "1", "10", "20"), depth=20, activation="selu"),
    # the counts, losses and accuracies per data seed: its check; the 3x-epochs run: tests/test_core_restarts.py
    ("lesson", "restarts"): lesson_claim("restarts", ("0", "0.05", "0.15", "0.3", "12", "3", "4", "5", "6", "7",
                                                      "80", "9", "95"), seeds=12, width=(3,), depth=1,
                                         activation="relu", dataset="moons"),
}


def test_every_text_that_names_a_number_has_a_claim_listing_exactly_its_numbers():
    for key, text in texts().items():
        numbers = set(NUMBER.findall(text))
        if numbers:
            assert key in CLAIMS, f"{key} names {sorted(numbers)} but has no entry in CLAIMS: {text!r}"
            assert numbers == set(CLAIMS[key].numbers), (key, sorted(numbers), text)


def test_every_claim_is_about_a_text_that_exists():
    assert set(CLAIMS) <= set(texts())


@pytest.mark.parametrize("key", [pytest.param(k, marks=pytest.mark.slow) if c.slow else k for k, c in CLAIMS.items()],
                         ids=lambda k: f"{k[0]}-{k[1]}")
def test_claim_holds(key):
    CLAIMS[key].check()


def test_the_scan_catches_a_number_without_a_check(monkeypatch):
    """The scan itself: a description that gains a figure fails until the table lists it."""
    init = initializers.INITIALIZERS["orthogonal"]
    patched = type(init)(init.name, init.sampler, init.formula, init.description + " (3x faster)", init.params,
                         init.random, init.gain_from_activation, init.bias, init.data_dependent)
    monkeypatch.setitem(initializers.INITIALIZERS, "orthogonal", patched)
    with pytest.raises(AssertionError, match="no entry in CLAIMS"):
        test_every_text_that_names_a_number_has_a_claim_listing_exactly_its_numbers()


def test_zero_weights_stay_one_unit_only_with_equal_biases():
    """The Symmetry page's caption and the README: zero weights "with equal biases" stay one unit per layer; with
    biases drawn at random (the old wording's "however long you train" without the condition is false) the units
    of a layer differ."""
    c = ExperimentConfig(schemes=("zeros", "constant:value=0.5"), seeds=1, activation="tanh", depth=2, width=(16,),
                         optimizer="momentum", lr=0.05, epochs=30, record_epochs=2)
    for bias, one in (("zeros", True), ("normal:std=0.1", False)):
        d = frames(replace(c, bias=bias))["distinct_units"]
        last = d[(d["epoch"] == d["epoch"].max()) & (d["layer"] <= 2)]
        assert ((last["functional_distinct_units"] == 1).all() if one else
                (last["functional_distinct_units"] > 8).all()), (bias, last["functional_distinct_units"].tolist())
