"""core.runtime.budget: the cost model counts what the trainer does, the limits are settings, check names them.

How well the model predicts measured times is bench/adversarial.py's business (timings never go in tests);
here: its counts equal the trainer's, its terms grow with what really costs, and the configuration the
issue measured at 79-82 s is refused.
"""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.runtime import budget, workers
from core import experiment
from core.nn import trainer
from core.config import ExperimentConfig, replace


def test_limits_from_settings_and_environment():
    lim = budget.limits_from({"seconds": "90", "memory_mb": 2000, "frame_rows": "5e6", "run_seconds": "none"})
    assert lim.seconds == 90 and lim.memory_mb == 2000 and lim.frame_rows == 5_000_000 and lim.run_seconds is None
    assert lim.jobs_mb == budget.PUBLIC.jobs_mb  # untouched settings keep the base's
    env = {"INITLAB_SECONDS": "30", "INITLAB_JOBS_MB": "off", "PATH": "/bin"}
    from_env = budget.limits_from_env(env, base=lim)
    assert from_env.seconds == 30 and from_env.jobs_mb is None and from_env.memory_mb == 2000
    assert budget.limits_from_env({}) == budget.PUBLIC


@pytest.mark.parametrize("settings_, name", [({"secondz": 1}, "secondz"), ({"seconds": "-1"}, "seconds"),
                                             ({"seconds": "nan"}, "seconds"), ({"memory_mb": "lots"}, "memory_mb"),
                                             ({"frame_rows": True}, "frame_rows")])
def test_a_bad_limit_setting_is_refused_by_name(settings_, name):
    with pytest.raises(ValueError, match=name):
        budget.limits_from(settings_)


def test_check_names_what_is_over_in_plain_words_and_none_lifts_the_limits():
    big = ExperimentConfig(seeds=20, depth=30, width=(256,), epochs=3000)
    with pytest.raises(ValueError) as info:
        budget.check(big)
    msg = str(info.value)
    assert msg.startswith("work:") and f"limit {budget.PUBLIC.seconds:,.0f} s" in msg and "MB" in msg
    assert "GFLOP" not in msg and "layer-steps" not in msg
    assert budget.check(big, budget.NONE).seconds > budget.PUBLIC.seconds
    e = budget.estimate(ExperimentConfig())
    for field, value in (("seconds", e.seconds * 0.9), ("memory_mb", e.memory_mb * 0.9),
                         ("frame_rows", e.frame_rows - 1)):
        with pytest.raises(ValueError, match="too large"):
            budget.check(ExperimentConfig(), dataclasses.replace(budget.NONE, **{field: value}))


# The default today, and the one the lead plans (issue 23): built explicitly, so these hold for both.
DEFAULTS = {"today": ExperimentConfig(schemes=("zeros", "normal:std=1", "xavier_normal", "he_normal"), seeds=3,
                                      epochs=100, width=(32,), record_epochs=11),
            "planned": ExperimentConfig(schemes=("zeros", "normal:std=0.01", "normal:std=1", "xavier_normal",
                                                 "he_normal"), seeds=3, epochs=100, width=(32,), record_epochs=11,
                                        activation="relu", depth=8)}


@pytest.mark.parametrize("default", DEFAULTS)
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("depth", [20, 30])
def test_deep_networks_are_admitted_recording_fewer_epochs(default, activation, depth):
    asked = replace(DEFAULTS[default], activation=activation, depth=depth)
    assert budget.over(budget.estimate(asked), budget.PUBLIC)  # the case: over a limit as asked
    a = budget.admit(asked)
    assert not budget.over(a.estimate, budget.PUBLIC) and a.estimate == budget.estimate(a.config)
    assert a.config == replace(asked, record_epochs=a.config.record_epochs)  # only the recorded detail changed
    assert budget.LEAST_RECORDS <= a.config.record_epochs < asked.record_epochs
    # the most epochs that fit: one more is over
    assert budget.over(budget.estimate(replace(asked, record_epochs=a.config.record_epochs + 1)), budget.PUBLIC)
    n = len(trainer.record_epochs(asked.epochs, a.config.record_epochs))
    assert f"records {n} epochs instead of 11" in a.note


def test_a_deep_admitted_configuration_trains_and_records_what_was_admitted():
    a = budget.admit(replace(DEFAULTS["planned"], depth=30))
    cheap = replace(a.config, epochs=4, seeds=1)  # the same network and records, fewer steps
    results = experiment.run(cheap)
    stats = results.frames["layer_stats"]
    assert stats["epoch"].nunique() == len(trainer.record_epochs(4, a.config.record_epochs))
    assert stats["layer"].nunique() == 31
    assert budget.admit(ExperimentConfig()).note is None  # a configuration within the limits is left alone


def test_a_refusal_is_one_plain_message_naming_controls_whose_values_fit():
    over_time = ExperimentConfig(depth=6, width=(64,), epochs=5000)
    e = budget.estimate(over_time)
    assert e.seconds > budget.PUBLIC.seconds and e.memory_mb < budget.PUBLIC.memory_mb
    with pytest.raises(budget.Refused) as info:
        budget.admit(over_time)
    msg = str(info.value)
    assert "\n" not in msg and "GFLOP" not in msg and "layer-steps" not in msg
    assert msg.count("too large") == 1 and "s of training (limit 35 s)" in msg and "MB of memory" not in msg
    changes = budget.suggestions(over_time, budget.PUBLIC)
    assert 1 <= len(changes) <= 2
    fields = {label: field for field, label, _d in budget.CONTROLS}
    for change in changes:
        for label, value in change:
            assert f"{label} to {value:,}" in msg
        fixed = replace(over_time, **{fields[label]: (value,) if fields[label] == "width" else value
                                      for label, value in change})
        assert budget.fits(fixed, budget.PUBLIC)


def test_when_no_single_control_fits_a_pair_is_named():
    big = ExperimentConfig(seeds=20, depth=30, width=(256,), epochs=3000)
    (change,) = budget.suggestions(big, budget.PUBLIC)
    assert len(change) == 2
    fields = {label: field for field, label, _d in budget.CONTROLS}
    for label, value in change:  # neither alone
        assert not budget.fits(replace(big, **{fields[label]: (value,) if fields[label] == "width" else value}),
                               budget.PUBLIC)
    assert budget.fits(replace(big, **{fields[label]: (value,) if fields[label] == "width" else value
                                       for label, value in change}), budget.PUBLIC)


def test_the_configuration_the_issue_timed_at_80_s_is_refused():
    # 176 models, batch 1, 64 features, gelu, float64, near every old limit at once: 79-82 s measured
    schemes = ("zeros", "normal:std=1", "xavier_normal", "he_normal", "xavier_uniform", "he_uniform",
               "lecun_normal", "orthogonal", "lecun_uniform", "torch_default", "truncated_normal")
    issue = ExperimentConfig(dataset="blobs", features=64, classes=3, n_samples=15300, schemes=schemes, seeds=16,
                             batch_size=1, activation="gelu", dtype="float64", record_epochs=2, depth=3, width=(64,),
                             epochs=1)
    with pytest.raises(ValueError, match="too large"):
        budget.check(issue)


CONFIGS = [
    # the default's shape without its normal:std=1, which diverges at epoch 1 (a diverged model records fewer rows)
    ExperimentConfig(schemes=("zeros", "normal:std=0.01", "xavier_normal", "he_normal")),
    ExperimentConfig(dataset="regression", features=5, epochs=7, batch_size=0, record_epochs=5, width=(4, 40),
                     depth=2, schemes=("zeros", "normal:std=0.01", "xavier_normal", "he_normal")),
    ExperimentConfig(dataset="digits", n_samples=300, seeds=1, schemes=("he_normal", "zeros"), epochs=3, width=(70,),
                     record_epochs=51),
    ExperimentConfig(dataset="blobs", features=3, classes=4, n_samples=200, batch_size=7, epochs=4, depth=1),
]


@pytest.mark.parametrize("config", CONFIGS, ids=["default", "regression", "digits", "blobs"])
def test_the_counts_are_the_trainers(config, monkeypatch):
    monkeypatch.setattr(workers, "workers", lambda: budget.REFERENCE_CORES)
    p = experiment.prepare(config)
    sh = budget.shape(config)
    n_train = len(p.data.X_train)
    assert (sh.n_train, sh.n_test) == (n_train, len(p.data.X_test))
    assert sh.sizes == p.layout.sizes and sh.params == p.layout.n_params
    assert sh.batch == trainer.batch_size(p.settings, n_train)
    assert sh.steps == trainer.steps(p.settings, n_train)
    assert sh.curve_points == len(trainer.curve_epochs(config.epochs))
    assert sh.records == len(p.settings.record_epochs)
    assert sh.groups == trainer.groups_for(sh.k, sh.sizes, p.settings, n_train)


@pytest.mark.parametrize("config", CONFIGS, ids=["default", "regression", "digits", "blobs"])
def test_the_rows_are_the_frames_rows(config):
    results = experiment.run(config)
    assert (results.frames["summary"]["status"] == "trained").all()  # no diverged rows left out
    assert budget.estimate(config).frame_rows == sum(len(df) for df in results.frames.values())


BASE = ExperimentConfig(schemes=("he_normal", "xavier_normal"), seeds=4, depth=3, width=(64,), epochs=20,
                        activation="relu", batch_size=32, dataset="blobs", features=16)


@pytest.mark.parametrize("change", [dict(activation="gelu"), dict(activation="softplus"), dict(activation="elu"),
                                    dict(dtype="float64"), dict(batch_size=1), dict(seeds=16),
                                    dict(optimizer="adam"), dict(record_epochs=51), dict(depth=12)],
                         ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_what_really_costs_costs_more(change):
    assert budget.estimate(replace(BASE, **change)).seconds > budget.estimate(BASE).seconds


def test_elementwise_work_depends_on_the_activation():
    # the same shapes: only the activation's per-element cost and its NumPy calls differ, and the elements are
    # a large share for gelu
    relu, gelu = (budget.time_terms(replace(BASE, activation=a)) for a in ("relu", "gelu"))
    same = set(relu) - {"activation_s", "numpy_calls"}
    assert {k: relu[k] for k in same} == {k: gelu[k] for k in same}
    assert gelu["activation_s"] > 10 * relu["activation_s"] and gelu["numpy_calls"] > relu["numpy_calls"]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5000), st.integers(1, 20), st.sampled_from([0, 1, 16, 512]), st.sampled_from(["float32", "float64"]))
def test_more_epochs_never_cost_less(epochs, seeds, batch, dtype):
    c = ExperimentConfig(epochs=epochs, seeds=seeds, batch_size=batch, dtype=dtype)
    a, b = budget.estimate(c), budget.estimate(replace(c, epochs=min(5000, epochs + 1)))
    assert b.gflop >= a.gflop and b.memory_mb >= a.memory_mb and b.frame_rows >= a.frame_rows
    # the time may drop only where the longer run is split over more worker groups (cores in parallel)
    assert b.seconds >= a.seconds or b.groups > a.groups


# ---------------------------------------------------------------- what a link controls (issue 26)

def _plain_greedy(rows, scale, rtol):
    """core.measure.probes._greedy_count as it was: every first row left compared with every row left."""
    from core.measure import probes
    count = 0
    while len(rows):
        same = probes._same_as(rows, rows[:1], scale, scale[:1], rtol)
        count += 1
        rows, scale = rows[~same], scale[~same]
    return count


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.integers(1, 5), st.integers(1, 5), st.sampled_from([1e-3, 1.0, 100.0]),
       st.sampled_from([0.0, 1e-3, 2e-3, 3e-3]), st.sampled_from(["float32", "float64"]), st.integers(0, 2**31))
def test_the_windowed_greedy_count_is_the_greedy_count(m, d, n_centers, size, jitter, dtype, seed):
    import numpy as np

    from core.measure import probes
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_centers, d)) * size
    u = centers[rng.integers(0, n_centers, m)] * (1 + jitter * rng.standard_normal((m, 1)))
    u = (u + jitter * rng.standard_normal((m, d)) * np.abs(u).max()).astype(dtype)
    rtol = probes.same_unit_tolerance(np.float32)
    scale = probes._scales(u)
    assert probes._greedy_count(u, scale, rtol) == _plain_greedy(u, scale, rtol)


@settings(max_examples=120, deadline=None)
@given(st.integers(17, 90), st.integers(65, 300), st.sampled_from(["centers", "identity", "sparse", "one column"]),
       st.sampled_from([0.0, 0.5, 5.0]), st.sampled_from([0.3, 1.0, 3.0]), st.sampled_from(["float32", "float64"]),
       st.integers(0, 2**31))
def test_the_staged_greedy_count_is_the_greedy_count_on_wide_rows(m, d, kind, bias, spread, dtype, seed):
    """Rows wide enough for the staged comparison (a first row's lead columns, then blocks), in windows of
    many rows: units near-copies of one another at the tolerance's scale, identity rows and sparse rows under
    a constant bias (one column of every row alike, the costly cases), and copies of one row apart in a
    single column, anywhere."""
    import numpy as np

    from core.measure import probes
    rng = np.random.default_rng(seed)
    rtol = probes.same_unit_tolerance(np.float32)
    scale = max(bias, 1.0)
    if kind == "centers":  # a few units, each copied with differences around the tolerance
        centers = rng.standard_normal((3, d)) * scale
        u = centers[rng.integers(0, 3, m)] + rng.standard_normal((m, d)) * spread * rtol * scale
    elif kind == "identity":
        u = np.eye(m, d) * spread * rtol * scale * rng.integers(0, 3, (m, 1))
    elif kind == "sparse":
        u = rng.standard_normal((m, d)) * (rng.random((m, d)) < 0.02) * spread * rtol * scale
    else:
        u = np.repeat(rng.standard_normal((1, d)), m, axis=0)
        u[np.arange(m), rng.integers(0, d, m)] += rng.integers(0, 3, m) * spread * rtol * scale
    u[:, rng.integers(0, d - 1) if kind != "one column" else 0] = bias
    u = u.astype(dtype)
    s = probes._scales(u)
    assert probes._greedy_count(u, s, rtol) == _plain_greedy(u, s, rtol)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6), st.integers(2, 40), st.integers(1, 50), st.sampled_from(["centers", "identity", "equal"]),
       st.sampled_from([0.0, 5.0]), st.sampled_from(["float32", "float64"]), st.integers(0, 2**31))
def test_every_model_s_small_layer_counted_at_once_is_its_greedy_count(k, m, d, kind, bias, dtype, seed):
    """Small layers (``probes.PAIRS_AT_ONCE``) count every model's units at once: each model's count is its
    own greedy count, near-copies, identity rows and equal rows alike, with a NaN now and then."""
    import numpy as np

    from core.measure import probes
    rng = np.random.default_rng(seed)
    rtol = probes.same_unit_tolerance(np.float32)
    if kind == "centers":
        u = rng.standard_normal((k, 3, d))[:, rng.integers(0, 3, m)] * (1 + rng.integers(0, 3, (k, m, 1)) * rtol)
    elif kind == "identity":
        u = np.broadcast_to(np.eye(m, d) * rng.integers(0, 3, (m, 1)) * rtol, (k, m, d)).copy()
    else:
        u = np.repeat(rng.standard_normal((k, 1, d)), m, axis=1)
    u[..., -1] += bias
    if seed % 7 == 0:
        u[0, rng.integers(0, m), rng.integers(0, d)] = np.nan
    u = u.astype(dtype)
    want = [_plain_greedy(x, probes._scales(x), rtol) for x in u]
    assert probes.distinct_units_stack(u, rtol).tolist() == want
    assert probes._stacked_greedy_count(u, rtol).tolist() == want


def costly_layer(kind: str, m: int):
    """(m, m + 1) unit rows (incoming weights, bias) whose count costs the most (bench/adversarial.py's
    count_layers): the issue's near-copies (tiny weights, biases N(0, 10^2)), identity weights and weights at
    the tolerance's scale under a constant bias (every row in every other row's window)."""
    import numpy as np
    rng = np.random.default_rng(m)
    u = np.empty((m, m + 1))
    if kind == "near copies":
        u[:, :m], u[:, m] = rng.standard_normal((m, m)) * 1e-4, rng.standard_normal(m) * 10
    elif kind == "identity":
        u[:, :m], u[:, m] = np.eye(m), 5.0
    else:
        u[:, :m], u[:, m] = rng.standard_normal((m, m)) * 0.03, 50.0
    return u.astype(np.float32).astype(np.float64)


@pytest.mark.parametrize("kind", ["near copies", "identity", "tolerance-scale weights"])
def test_a_wide_layer_s_count_compares_a_few_values_a_pair_whatever_its_units(kind, monkeypatch):
    """The greedy count of a wide layer's rows, all let through by the screen: the values it compares stay
    within the window pairs' LEAD_COLUMNS-odd columns and every row's values a few times over (what
    budget.count_terms charges, by pairs and by values), where comparing whole rows took m^2 d / 2."""
    import numpy as np

    from core.measure import probes
    m = 512
    u = costly_layer(kind, m)
    rtol = probes.same_unit_tolerance(np.float32)
    assert probes._twins(u[None], rtol).all()  # every row reaches the greedy count
    compared = []

    def counting(real, values):
        return lambda *a: compared.append(values(*a)) or real(*a)
    monkeypatch.setattr(probes, "_same_as", counting(probes._same_as, lambda rows, *a: rows.size))
    for name in ("_close_on", "_within"):  # (columns (c, r), near, ...): c values of each row near
        monkeypatch.setattr(probes, name, counting(getattr(probes, name),
                                                   lambda cols, near, *a: len(cols) * len(near)))
    count = probes._greedy_count(u, probes._scales(u), rtol)
    assert count > 0.7 * m and (kind != "identity" or count == m)
    assert sum(compared) <= (probes.LEAD_COLUMNS + 8) * m * m / 2 + 3 * m * (m + 1)
    assert sum(compared) < m * m * (m + 1) / 2 / 10


def test_the_count_terms_are_the_calls_the_probes_make(monkeypatch):
    """budget.unit_terms counts the distinct-unit calls a run's records make: models x units x values per
    call (by weights, padded to the group's widest input, and by function), units^2, units per step."""
    from core.measure import probes
    calls = []
    real = probes.distinct_units_stack
    monkeypatch.setattr(probes, "distinct_units_stack", lambda u, rtol: calls.append(u.shape) or real(u, rtol))
    for widths in [(40, 12, 40, 40), (100, 100, 30)]:
        calls.clear()
        config = ExperimentConfig(dataset="moons", n_samples=300, depth=len(widths), width=widths, seeds=2,
                                  schemes=("he_normal", "normal:std=0.0001"), epochs=4, record_epochs=3,
                                  bias="normal:std=10")
        experiment.run(config, enforce_budget=False)
        sh = budget.shape(config)
        assert sh.groups == 1
        want = budget.count_terms(0, 0, 0, 0, True)
        for k, m, d in calls:
            for name, v in budget.count_terms(k, m, d, 1, d != min(probes.PROBE_SIZE, sh.n_train)).items():
                want[name] += v
        assert budget.unit_terms(sh) == pytest.approx(want)
        assert want["unit_stacked"] > 0 and want["unit_steps"] > 0  # small layers at once, wide ones greedily


@pytest.mark.parametrize("scheme, terms", [
    ("orthogonal", ["init_qr_gflop"]), ("lsuv", ["init_qr_gflop", "init_gflop", "init_outputs", "init_weights"]),
    ("zero_hadamard", ["init_draw_s"])])
def test_structured_and_data_dependent_starts_are_charged_by_their_work(scheme, terms):
    base = ExperimentConfig(schemes=(scheme,), seeds=2, depth=4, width=(64,), activation="relu")
    for term in terms:
        t = budget.time_terms(base)[term]
        plain = budget.time_terms(replace(base, schemes=("identity",)))[term]
        assert t > plain and budget.time_terms(replace(base, seeds=4))[term] == pytest.approx(2 * t)
    if scheme == "zero_hadamard":  # a layer that widens builds a Hadamard matrix of the next power of two
        wide = budget.time_terms(replace(base, width=(64, 200, 64, 64)))["init_draw_s"] - t
        assert wide == pytest.approx(2 * 256 ** 2 * budget.HADAMARD_NS * 1e-9, rel=0.05)
    if scheme == "orthogonal":  # the Householder count, 2 (2 m n^2 - 2 n^3 / 3), and more for narrow ones
        assert budget.qr_gflop(1024, 1024) == pytest.approx(8 / 3 * 1024 ** 3 * (1 + budget.QR_NARROW / 1024) / 1e9)
        assert budget.time_terms(replace(base, width=(128,)))["init_qr_gflop"] > 4 * t
    if scheme == "lsuv":  # each layer rescaled up to max_iter times, then a last product, on its batch
        more = budget.time_terms(replace(base, schemes=("lsuv:max_iter=20",)))
        assert more["init_gflop"] == pytest.approx(budget.time_terms(base)["init_gflop"] * 21 / 11)
        fewer = budget.time_terms(replace(base, n_samples=100))  # 80 training samples, fewer than 512
        assert fewer["init_outputs"] == pytest.approx(budget.time_terms(base)["init_outputs"] * 80 / 400)


def test_the_stacks_that_travel_to_the_workers_are_charged_their_memory():
    """Over worker groups the initial weights go out and the final ones come back, each held pickled on both
    sides and unpickled: 3 bytes a byte each way; none in one process."""
    wide = ExperimentConfig(schemes=("orthogonal",), seeds=4, depth=4, width=(1024,), epochs=3, activation="tanh")
    sh = budget.shape(wide)
    assert sh.groups == 2
    assert budget.memory_terms(wide)["transfer"] == 2 * sh.k * sh.params * sh.item
    one = replace(wide, seeds=1)
    assert budget.shape(one).groups == 1 and budget.memory_terms(one)["transfer"] == 0


# Measured by `python -m bench.adversarial --measure QUERY` (a fresh process, one BLAS thread), the mean of two
# runs: quiet seconds (the server's CPU before and after training plus the training's over the worker groups)
# and MB of server and workers above their idle baseline; bench/results/adversarial.md has the runs. The
# issue's near-copy link (66 s against 10 s estimated before), LSUV with large biases, orthogonal (2 groups),
# ZerO and identity weights under a constant bias (units in every other's window: 246 s against 21 s before).
MEASURED = {
    "depth=12&width=1024&schemes=normal%3Astd%3D0.0001&seeds=1&bias=normal%3Astd%3D10&epochs=5&activation=relu":
        (11.7, 578),
    "depth=6&width=1024&schemes=lsuv&seeds=1&bias=normal%3Astd%3D10&epochs=3&activation=relu": (5.3, 292),
    "depth=4&width=1024&schemes=orthogonal&seeds=4&epochs=3&activation=tanh": (6.15, 952),
    "depth=4&width=1024&schemes=zero_hadamard&seeds=4&epochs=3&activation=tanh&bias=constant%3Avalue%3D5":
        (4.5, 1013),
    "depth=12&width=1024&schemes=identity&seeds=1&bias=constant%3Avalue%3D5&epochs=5&activation=relu&lr=0.000001":
        (11.5, 567),
}


@pytest.mark.parametrize("query", MEASURED)
def test_the_issue_s_links_are_estimated_within_1_5x_of_their_measured_time(query):
    seconds, mb = MEASURED[query]
    est = budget.estimate(ExperimentConfig.from_query(query))
    assert seconds / 1.5 <= est.seconds <= 1.5 * seconds
    assert mb / budget.ESTIMATE_ERROR["memory"] <= est.memory_mb <= 1.5 * mb


def test_the_public_limits_keep_the_promise_by_the_estimate_s_stated_error():
    seconds, mb = budget.promise(budget.PUBLIC)
    assert seconds < 60 and mb < 1500
    assert budget.promise(budget.NONE) == (float("inf"), float("inf"))


def test_a_refusal_is_in_the_visitor_s_language_each_time():
    from core import i18n
    over_time = ExperimentConfig(depth=6, width=(64,), epochs=5000)
    english = budget.refusal(over_time)
    i18n.set_language("fr")
    try:
        french = budget.refusal(over_time)
    finally:
        i18n.set_language("en")
    assert "Epochs to" in english and "Époques à" in french and "too large" not in french
    assert budget.refusal(over_time) == english
