"""Adding a weight scheme is one registry entry: a name, a sampler, a formula, a description (and the std its
formula promises). Registered here in a scratch test, with no other file changed, it must appear in the
sidebar, in the Overview's formulas, in the CSV frames and in the theory drawn beside the measurements, and
the budget must price its draw."""
from __future__ import annotations

import numpy as np
import pytest

from core import ExperimentConfig, run
from core.measure import theory
from core.nn import initializers
from core.nn.initializers import Initializer

NAME = "half_lecun"
FORMULA = r"W_{ij} \sim \mathcal{N}\!\left(0, \tfrac{1}{4\,n_\text{in}}\right)"


def _half_lecun(rng, fan_in, fan_out):
    return rng.normal(0.0, 0.5 / np.sqrt(fan_in), size=(fan_in, fan_out))


@pytest.fixture
def scratch_scheme(monkeypatch):
    entry = Initializer(NAME, _half_lecun, FORMULA, "LeCun's normal at half the std (a scratch test's scheme)",
                        std=lambda fan_in, fan_out, p: 0.5 / np.sqrt(fan_in))
    monkeypatch.setitem(initializers.INITIALIZERS, NAME, entry)
    return entry


def test_a_new_scheme_trains_and_reaches_the_csv_frames(scratch_scheme, tmp_path):
    config = ExperimentConfig(schemes=(NAME, "he_normal"), activation="linear", depth=3, width=(64,), seeds=2,
                              epochs=2, record_epochs=2)
    results = run(config)
    for name, frame in results.frames.items():
        if "scheme" in frame.columns:
            assert NAME in set(frame["scheme"]), name
    first = results.weights(NAME, seed=0, which="initial")[0][0]
    assert abs(first.std() - 0.5 / np.sqrt(first.shape[0])) < 0.1 * 0.5 / np.sqrt(first.shape[0])
    assert initializers.expected_std(NAME, 64, 64) == pytest.approx(0.5 / 8)


def test_a_new_scheme_has_its_theory_line(scratch_scheme):
    """Linear layers of n units with Var(W) = 1/(4n) and zero biases: the predicted second moment falls by
    exactly 4 per layer (the mean-field recursion q' = n Var(W) q)."""
    config = ExperimentConfig(schemes=(NAME,), activation="linear", depth=4, width=(64,), seeds=1, epochs=1,
                              record_epochs=2)
    pred = theory.second_moment_prediction(run(config))
    q = pred[pred["scheme"] == NAME].sort_values("layer")["second_moment"].to_numpy()
    assert len(q) >= 4 and np.all(np.isfinite(q))
    np.testing.assert_allclose(q[2:4] / q[1:3], 0.25, rtol=1e-9)


def test_a_new_scheme_is_priced_by_what_its_sampler_draws(scratch_scheme):
    """The budget prices a draw by the Generator methods its sampler calls and what it computes from their
    values (core.runtime.budget.draw_ns): no table names the scheme."""
    from core.runtime import budget
    per_weight, factorizes = budget.draw_ns(NAME, {})
    assert per_weight == pytest.approx(budget.DRAW_NS["normal"]) and not factorizes
    config = ExperimentConfig(schemes=(NAME,), depth=3, width=(64,), seeds=2, epochs=2)
    assert budget.time_terms(config)["init_draw_s"] == pytest.approx(2 * budget.shape(config).weights * per_weight
                                                                     * 1e-9)


@pytest.mark.slow  # drives the dashboard
def test_a_new_scheme_is_in_the_sidebar_and_the_formulas(scratch_scheme):
    from tests.test_app import app
    at = app(f"schemes={NAME}&schemes=he_normal&depth=2&width=16&seeds=1&epochs=5")
    assert not at.exception
    assert not [w.value for w in at.warning if NAME in w.value]  # the link's scheme was taken
    schemes = at.sidebar.multiselect[0]
    assert NAME in schemes.options and NAME in schemes.value
    shown = " ".join(m.value for m in at.markdown) + " ".join(getattr(l, "value", "") for l in at.get("latex"))
    assert "4\\,n_\\text{in}" in shown
