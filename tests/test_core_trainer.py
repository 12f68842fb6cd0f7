"""The stacked trainer: models are independent, divergence is masked and flagged, runs are deterministic."""
import dataclasses

import numpy as np
import pandas as pd
import pytest

from core import ExperimentConfig, run
from core.config import replace

FRAMES_PER_MODEL = ["curves", "layer_stats", "histograms", "gradient_norms", "init_distances", "unit_distances",
                    "distinct_units", "boundaries", "summary"]


def model_rows(results, name, scheme, seed):
    df = results.frames[name]
    return df[(df["scheme"] == scheme) & (df["seed"] == seed)].reset_index(drop=True)


def assert_frames_close(a: pd.DataFrame, b: pd.DataFrame, rtol=1e-12, what=""):
    assert list(a.columns) == list(b.columns), what
    assert len(a) == len(b) and len(a) > 0, what
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if pd.api.types.is_float_dtype(a[col]) or pd.api.types.is_float_dtype(b[col]):
            x, y = x.astype(float), y.astype(float)
            assert np.array_equal(np.isnan(x), np.isnan(y)), (what, col)
            ok = ~np.isnan(x)
            scale = max(1.0, np.abs(x[ok]).max(initial=0))
            assert np.allclose(x[ok], y[ok], rtol=rtol, atol=rtol * scale), (what, col)
        else:
            pd.testing.assert_series_equal(a[col], b[col], check_exact=True, obj=f"{what}.{col}")


def assert_same_model(r1, r2, scheme, seed, rtol=1e-12):
    for which in ("initial", "final"):
        for (W1, b1), (W2, b2) in zip(r1.weights(scheme, seed, which), r2.weights(scheme, seed, which)):
            assert np.allclose(W1, W2, rtol=rtol, atol=rtol * max(1, np.abs(W1).max()))
            assert np.allclose(b1, b2, rtol=rtol, atol=rtol * max(1, np.abs(b1).max()))
    for name in FRAMES_PER_MODEL:
        if name in r1.frames:
            assert_frames_close(model_rows(r1, name, scheme, seed), model_rows(r2, name, scheme, seed), rtol, name)


BASE = dict(dataset="moons", n_samples=160, depth=2, width=(12,), activation="tanh", epochs=6,
            record_epochs=3, dtype="float64", weight_decay=0.01)
OTHERS = ("xavier_normal", "normal:std=0.5", "orthogonal", "lsuv")


@pytest.mark.parametrize("batch_size", [16, 0], ids=["minibatch", "fullbatch"])
@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.1), ("momentum", 0.05), ("adam", 0.01)])
def test_model_trajectory_same_alone_or_stacked_with_seven_others(optimizer, lr, batch_size):
    alone = ExperimentConfig(schemes=("he_normal",), seeds=1, optimizer=optimizer, lr=lr, batch_size=batch_size,
                             **BASE)
    stacked = replace(alone, schemes=(*OTHERS[:3], "he_normal"), seeds=2)
    assert len(stacked.models) == 8
    r1, r8 = run(alone), run(stacked)
    assert_same_model(r1, r8, "he_normal", 0)
    # and the model did train: its weights moved
    w0, w1 = r1.weights("he_normal", 0, "initial")[0][0], r1.weights("he_normal", 0, "final")[0][0]
    assert np.abs(w1 - w0).max() > 1e-3


def test_every_model_of_a_stack_equals_its_solo_run():
    stacked = ExperimentConfig(schemes=("he_normal", "lsuv", "torch_default", "zeros"), seeds=2,
                               optimizer="adam", lr=0.01, batch_size=32, **BASE)
    r = run(stacked)
    for scheme, seed in stacked.models:
        if seed == 1:  # seed s alone: seeds=2 run of that scheme
            solo = run(replace(stacked, schemes=(scheme,), seeds=2))
            assert_same_model(r, solo, scheme, 1)


DIVERGE = dict(dataset="moons", n_samples=200, depth=4, width=(32,), activation="relu", optimizer="sgd",
               lr=0.05, epochs=10, record_epochs=4, dtype="float64")


@pytest.mark.parametrize("batch_size", [32, 0], ids=["minibatch", "fullbatch"])
def test_diverging_model_is_flagged_frozen_and_leaves_others_alone(batch_size):
    base = ExperimentConfig(schemes=("xavier_normal",), seeds=2, batch_size=batch_size, **DIVERGE)
    with_bad = replace(base, schemes=("xavier_normal", "normal:std=10"))
    r_ok, r_bad = run(base), run(with_bad)
    s = r_bad.frames["summary"]
    bad = s[(s["scheme"] == "normal:std=10") & s["diverged_epoch"].notna()]
    assert len(bad), s
    for _, row in bad.iterrows():
        n = int(row["diverged_epoch"])
        assert 1 <= n <= base.epochs
        assert row["status"] == f"diverged at epoch {n}"
        curves = model_rows(r_bad, "curves", row["scheme"], row["seed"])
        assert curves["epoch"].max() < n
        assert np.isfinite(curves["loss"]).all()
        assert row["last_finite_epoch"] == curves["epoch"].max()
        stats = model_rows(r_bad, "layer_stats", row["scheme"], row["seed"])
        assert stats["epoch"].max() < n
        # frozen: the final weights are finite
        for W, b in r_bad.weights(row["scheme"], row["seed"], "final"):
            assert np.isfinite(W).all() and np.isfinite(b).all()
    good = s[s["scheme"] == "xavier_normal"]
    assert good["diverged_epoch"].isna().all() and (good["status"] == "trained").all()
    for seed in range(2):
        assert_same_model(r_ok, r_bad, "xavier_normal", seed, rtol=0)  # bit-identical, not just close


def _diverging_full_batch():
    c = ExperimentConfig(schemes=("normal:std=10",), seeds=2, batch_size=0,
                         **{**DIVERGE, "width": (64,), "lr": 5.0, "epochs": 12, "record_epochs": 2})
    r = run(c)
    n = r.frames["summary"]["diverged_epoch"]
    assert n.notna().all() and (n >= 2).all()
    return c, r, [int(e) for e in n]


def test_diverged_model_stops_updating():
    c, r, _ = _diverging_full_batch()
    longer = run(replace(c, epochs=c.epochs + 5))
    assert longer.frames["summary"]["diverged_epoch"].tolist() == r.frames["summary"]["diverged_epoch"].tolist()
    for seed in range(2):
        for (W, b), (W2, b2) in zip(r.weights("normal:std=10", seed, "final"),
                                    longer.weights("normal:std=10", seed, "final")):
            assert np.array_equal(W, W2) and np.array_equal(b, b2)


def test_diverged_model_keeps_its_last_weights_with_a_finite_loss():
    # Full batch: one step per epoch. "Diverged at epoch N" with curves ending at N-1 means the weights after
    # epoch N no longer have a finite loss; the model is frozen "as it was" (trainer docstring), i.e. with the
    # weights of epoch N-1, the last ones whose loss the curves show. Its exported final weights must be those.
    c, r, epochs = _diverging_full_batch()
    for seed, ep in enumerate(epochs):
        before = run(replace(c, epochs=ep - 1))
        assert before.frames["summary"]["diverged_epoch"].isna().all()
        for (W, b), (W2, b2) in zip(r.weights("normal:std=10", seed, "final"),
                                    before.weights("normal:std=10", seed, "final")):
            assert np.array_equal(W, W2) and np.array_equal(b, b2)


def test_same_config_gives_bit_identical_frames_twice_in_one_process():
    c = ExperimentConfig(schemes=("he_normal", "lsuv", "sparse"), seeds=2, epochs=5, n_samples=150, depth=2,
                         width=(8,), record_epochs=3)
    a, b = run(c), run(c)
    assert set(a.frames) == set(b.frames)
    for name in a.frames:
        pd.testing.assert_frame_equal(a.frames[name], b.frames[name], check_exact=True)
    assert np.array_equal(a.final, b.final) and np.array_equal(a.initial, b.initial)


def test_paired_minibatches_seed_changes_only_initial_weights():
    # zeros is deterministic: its two seeds must train identically (same batches, same order)
    c = ExperimentConfig(schemes=("zeros", "he_normal"), seeds=2, epochs=4, n_samples=150, depth=2, width=(8,),
                         activation="sigmoid", batch_size=16, dtype="float64")
    r = run(c)
    assert np.array_equal(r.final[0], r.final[1])
    assert not np.array_equal(r.initial[2], r.initial[3])


def test_sgd_step_with_weight_decay_matches_hand_computation():
    # One full-batch SGD step by hand, from the model's initial weights
    from core.nn import activations, network
    c = ExperimentConfig(schemes=("he_normal",), seeds=1, epochs=1, batch_size=0, lr=0.3, weight_decay=0.1,
                         n_samples=100, depth=2, width=(5,), dtype="float64")
    r = run(c)
    layout = r.layout
    flat = r.initial.copy()
    params = layout.views(flat)
    act = activations.get(c.activation)
    logits, zs, as_ = network.forward(params, r.data.X_train, act, keep=True)
    _, dz = network.loss_and_grad(logits, r.data.y_train, "classification")
    g = np.zeros_like(flat)
    network.backward(params, r.data.X_train, zs, as_, dz, act, layout.views(g))
    g += 0.1 * layout.weight_mask() * flat  # L2 on weights only, not biases
    assert np.allclose(r.final, flat - 0.3 * g, rtol=1e-12, atol=1e-14)


def test_progress_callback_sees_every_epoch():
    seen = []
    c = ExperimentConfig(schemes=("he_normal",), seeds=1, epochs=7, n_samples=100, depth=1, width=(4,))
    run(c, progress=lambda e, t: seen.append((e, t)))
    assert seen == [(e, 7) for e in range(8)]


def test_float32_by_default_float64_on_request():
    c = ExperimentConfig(schemes=("he_normal",), seeds=1, epochs=1, n_samples=100, depth=1, width=(4,))
    assert run(c).final.dtype == np.float32
    assert run(replace(c, dtype="float64")).final.dtype == np.float64


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_full_batch_curve_points_taken_from_the_next_step_equal_a_separate_evaluation(dtype):
    # Full batch: an epoch's train loss/accuracy comes from the next step's forward pass, except at the last
    # epoch, which is evaluated separately. A run cut short at epoch e therefore evaluates epoch e the other
    # way, on the same weights: the numbers must agree bit for bit (the trainer's loss and the evaluator's).
    from core import experiment
    from core.nn.trainer import train
    cfg = ExperimentConfig(dataset="moons", n_samples=200, schemes=("he_normal", "xavier_uniform"), seeds=2,
                           depth=2, width=(16,), classes=2, batch_size=0, epochs=6, dtype=dtype)
    p = experiment.prepare(cfg)
    whole = train(p.init, p.layout, p.data, p.act, p.settings)
    for e in (1, 3, 5):
        short = train(p.init, p.layout, p.data, p.act, dataclasses.replace(p.settings, epochs=e))
        for what in ("loss", "accuracy"):
            assert np.array_equal(getattr(whole, what)["train"][e], getattr(short, what)["train"][e]), (e, what)
            assert np.array_equal(getattr(whole, what)["test"][e], getattr(short, what)["test"][e]), (e, what)


@pytest.mark.parametrize("query", [
    "schemes=zeros&schemes=he_normal&schemes=lsuv&seeds=3&depth=3&width=12&epochs=2&bias=normal%3Astd%3D0.5",
    "dataset=classification&features=6&schemes=orthogonal&schemes=normal%3Astd%3D3&seeds=2&depth=2&width=40"
    "&activation=tanh&dtype=float64&batch_size=16&epochs=1",
])
def test_at_initialization_gives_run_s_epoch_0_frames_without_training(query):
    """Same numbers, bit for bit, as the trained run's epoch-0 rows (a run's models are probed in worker groups,
    with the boundary grid; at_initialization probes the whole stack once, without)."""
    from core import at_initialization
    config = ExperimentConfig.from_query(f"v=3&{query}")
    trained, drawn = run(config), at_initialization(config)
    assert set(drawn.frames) == {"layer_stats", "histograms", "gradient_norms", "init_distances", "unit_distances",
                                 "distinct_units"}
    for name, frame in drawn.frames.items():
        want = trained.frames[name]
        want = want[want["epoch"] == 0].reset_index(drop=True)
        assert len(frame) == len(want) > 0, name
        pd.testing.assert_frame_equal(frame, want, check_exact=True, obj=name)
    np.testing.assert_array_equal(drawn.initial, trained.initial)
    np.testing.assert_array_equal(drawn.final, drawn.initial)


def test_records_at_initialization_run_on_one_blas_thread(monkeypatch):
    """at_initialization's record and a scale x depth map's (core.sweeps.sweep_init) run on one BLAS thread,
    whatever the process had, and give the count back."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from core import at_initialization
    from core.measure import probes
    from core.sweeps import sweep_init

    def blas_threads():
        return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}

    seen = []
    record = probes.ProbeSession.record

    def recording(self, *args, **kwargs):
        seen.append(blas_threads())
        return record(self, *args, **kwargs)
    monkeypatch.setattr(probes.ProbeSession, "record", recording)
    config = ExperimentConfig(schemes=("he_normal",), seeds=1, depth=2, width=(8,))
    with threadpool_limits(limits=2, user_api="blas"):
        at_initialization(config)
        sweep_init.init_rows(config)
        assert blas_threads() == {2}
    assert seen == [{1}, {1}]
