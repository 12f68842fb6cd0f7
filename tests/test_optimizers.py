"""core.nn.optimizers: each optimizer equals a plain reference written here, step by step, in float64 and float32,
updates the stacked weights in place, keeps each model to its own row, and clears the state of stopped models.
Their agreement with torch.optim, a bench-only dependency, is checked by ``python -m bench.torch_optimizers``."""
import numpy as np
import pytest

from core.nn import optimizers
from core.config import FIELDS
from core.nn.optimizers import ADAM_BETAS, ADAM_EPS, OPTIMIZERS, SGD, Adam, Momentum

K, P, STEPS = 4, 37, 6
DTYPES = [np.float64, np.float32]


def problem(dtype, seed=0):
    """Initial weights and a gradient per step, (K, P) each."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(K, P)).astype(dtype)
    gs = [rng.normal(scale=s, size=(K, P)).astype(dtype) for s in np.geomspace(1.0, 1e-2, STEPS)]
    return w, gs


def decay_of(dtype, wd=0.01):
    """A decay vector as the trainer builds it: wd on weights, 0 on biases (here every third parameter)."""
    mask = np.arange(P) % 3 != 2
    return mask.astype(dtype) * dtype(wd)


# The references: one obviously correct line per formula, fresh arrays every step, in the weights' dtype.

def ref_sgd(w, gs, lr, decay=None):
    w = w.copy()
    for g in gs:
        g = g if decay is None else g + decay * w
        w = w - lr * g
    return w


def ref_momentum(w, gs, lr, mu, decay=None):
    w, v = w.copy(), np.zeros_like(w)
    for g in gs:
        g = g if decay is None else g + decay * w
        v = mu * v + g
        w = w - lr * v
    return w


def ref_adam(w, gs, lr, betas=ADAM_BETAS, eps=ADAM_EPS, decay=None):
    b1, b2 = betas
    w, m, v = w.copy(), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(gs, start=1):
        g = g if decay is None else g + decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


def run(opt_cls, w, gs, lr, decay=None, **kw):
    params = w.copy()
    opt = opt_cls(params, lr, decay, **kw)
    for g in gs:
        opt.step(g.copy())  # step may overwrite its gradient
    return params, opt


CASES = [(SGD, ref_sgd, 0.1, {}), (Momentum, ref_momentum, 0.05, {"momentum": 0.9}), (Adam, ref_adam, 0.01, {})]
IDS = ["sgd", "momentum", "adam"]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("with_decay", [False, True], ids=["no-decay", "decay"])
@pytest.mark.parametrize("opt_cls,ref,lr,kw", CASES, ids=IDS)
def test_optimizer_equals_the_plain_reference(opt_cls, ref, lr, kw, dtype, with_decay):
    w, gs = problem(dtype)
    decay = decay_of(dtype) if with_decay else None
    got, _ = run(opt_cls, w, gs, lr, decay, **kw)
    ref_kw = {"mu": kw["momentum"]} if "momentum" in kw else {}
    want = ref(w, gs, lr, decay=decay, **ref_kw)
    assert got.dtype == want.dtype == dtype
    # the same operations in the same order, in place or not: the same bits
    np.testing.assert_array_equal(got, want)
    assert not np.array_equal(got, w)


@pytest.mark.parametrize("opt_cls,ref,lr,kw", CASES, ids=IDS)
def test_updates_in_place_and_keeps_the_dtype(opt_cls, ref, lr, kw):
    w, gs = problem(np.float32)
    params = w.copy()
    opt = opt_cls(params, lr, **kw)
    opt.step(gs[0].copy())
    assert opt.params is params and params.dtype == np.float32
    assert all(s.dtype == np.float32 and s.shape == (K, P) for s in opt.state)
    assert not np.array_equal(params, w)


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-6)], ids=["float64", "float32"])
def test_adam_first_step_is_lr_times_the_sign_of_the_gradient(dtype, rtol):
    # At t = 1 the bias corrections give m_hat = g and v_hat = g^2: the step is lr g / (|g| + eps).
    rng = np.random.default_rng(1)
    g = (rng.choice([-1, 1], size=(K, P)) * rng.uniform(0.5, 50, size=(K, P))).astype(dtype)
    lr = 0.01
    params = np.zeros((K, P), dtype)  # from zero: the step is read without a subtraction's rounding
    Adam(params, lr).step(g.copy())
    step = -params.astype(np.float64) / lr
    # without the corrections the first step would be (1 - b1) / sqrt(1 - b2) = 3.16 times smaller
    np.testing.assert_allclose(step, np.sign(g), rtol=max(rtol, 10 * ADAM_EPS / 0.5), atol=0)


@pytest.mark.parametrize("opt_cls,ref,lr,kw", CASES, ids=IDS)
def test_each_model_only_meets_its_own_row(opt_cls, ref, lr, kw):
    w, gs = problem(np.float64)
    stacked, _ = run(opt_cls, w, gs, lr, **kw)
    alone, _ = run(opt_cls, w[2:3], [g[2:3] for g in gs], lr, **kw)
    np.testing.assert_array_equal(stacked[2:3], alone)


@pytest.mark.parametrize("opt_cls,ref,lr,kw", CASES, ids=IDS)
def test_reset_clears_the_state_of_stopped_models_only(opt_cls, ref, lr, kw):
    w, gs = problem(np.float64)
    params, opt = run(opt_cls, w, gs[:3], lr, **kw)
    before = [s.copy() for s in opt.state]
    stopped = np.array([False, True, False, True])
    opt.reset(stopped)
    for s, b in zip(opt.state, before):
        assert not s[stopped].any()
        np.testing.assert_array_equal(s[~stopped], b[~stopped])
    # What the trainer then does with a stopped model: zero weights, zero gradients. It stays at zero (no
    # leftover velocity or moment moves it) while the others go on exactly as if nothing had happened.
    params[stopped] = 0
    for g in gs[3:]:
        g = g.copy()
        g[stopped] = 0
        opt.step(g)
    assert not params[stopped].any()
    for s in opt.state:
        assert not s[stopped].any()
    untouched, _ = run(opt_cls, w, gs, lr, **kw)
    np.testing.assert_array_equal(params[~stopped], untouched[~stopped])


def test_momentum_reset_restarts_the_velocity():
    # after a reset the next step is a first step again: v = g
    w, gs = problem(np.float64)
    params, opt = run(Momentum, w, gs[:3], 0.05, momentum=0.9)
    opt.reset(np.ones(K, bool))
    start = params.copy()
    opt.step(gs[3].copy())
    np.testing.assert_array_equal(params, start - 0.05 * gs[3])


def test_registry_names_are_the_configs_choices():
    assert set(OPTIMIZERS) == {"sgd", "momentum", "adam"}
    assert FIELDS["optimizer"].choices == tuple(OPTIMIZERS)
    assert all(issubclass(c, optimizers.Optimizer) for c in OPTIMIZERS.values())


def test_make_takes_only_the_settings_an_optimizer_uses():
    w = np.zeros((K, P))
    assert isinstance(optimizers.make("sgd", w.copy(), 0.1, momentum=0.5), SGD)
    m = optimizers.make("momentum", w.copy(), 0.1, momentum=0.5)
    assert isinstance(m, Momentum) and m.momentum == 0.5
    assert isinstance(optimizers.make("adam", w.copy(), 0.1, momentum=0.5), Adam)
    with pytest.raises(KeyError):
        optimizers.make("lbfgs", w, 0.1)
