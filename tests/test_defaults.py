"""Defaults are the product: what a visitor who touches no control sees must make its point by itself, on
several data seeds. And a link made before the defaults changed keeps its meaning."""
from __future__ import annotations

import numpy as np
import pytest

from core import ExperimentConfig, run
from core.config import DEFAULTS_BEFORE, FIELDS, SCHEMA_VERSION, SWEEP_FIELDS, link_version, older_defaults
from core.sweeps.sweep import SweepConfig
from core.sweeps.sweep_init import affordable, init_map
from core.views import scale_depth as scale_depth_view

NAIVE = ("zeros", "normal:std=0.01", "normal:std=1")
SCALED = ("xavier_normal", "he_normal")


def test_the_default_compares_naive_and_scaled_starts():
    assert set(ExperimentConfig().schemes) == set(NAIVE + SCALED)


@pytest.mark.slow
@pytest.mark.parametrize("data_seed", [0, 1, 2, 3])
def test_default_scaled_schemes_beat_every_naive_one_by_20_points(data_seed):
    summary = run(ExperimentConfig(data_seed=data_seed)).frames["summary"]
    acc = summary.groupby("scheme")["final_test_accuracy"].mean()
    # a model that diverged keeps its last finite accuracy: chance, as for the others that never train
    worst_scaled, best_naive = min(acc[s] for s in SCALED), max(acc[s] for s in NAIVE)
    assert worst_scaled - best_naive >= 0.20, acc.to_dict()


def test_version_2_links_keep_the_defaults_they_were_made_with():
    old = ExperimentConfig.from_query("v=2&seeds=2")
    assert (old.activation, old.depth, old.schemes) == ("tanh", 3, ("zeros", "normal:std=1", "xavier_normal",
                                                                      "he_normal"))
    # what the link says wins over the older default, and a link of this version reads today's defaults
    assert ExperimentConfig.from_query("v=2&activation=relu").activation == "relu"
    new = ExperimentConfig.from_query(f"v={SCHEMA_VERSION}&seeds=2")
    assert (new.activation, new.depth) == (FIELDS["activation"].default, FIELDS["depth"].default)
    assert ExperimentConfig.from_query("seeds=2") == new  # no v: the current version


def test_older_defaults_name_only_what_changed():
    assert older_defaults(SCHEMA_VERSION) == {}
    before = older_defaults(2)
    assert before == DEFAULTS_BEFORE[3]
    for key, value in before.items():
        if key in FIELDS:
            assert FIELDS[key].parse(value if not isinstance(value, tuple) else list(value)) != FIELDS[key].default
    assert link_version({"v": ["2"]}) == 2 and link_version({}) == SCHEMA_VERSION
    assert link_version({"v": ["99"]}) == SCHEMA_VERSION  # unknown: _build warns; read as current


@pytest.mark.parametrize("data_seed", [0, 1, 2])
def test_default_scale_depth_map_changes_sign_inside(data_seed):
    sweep = SweepConfig.lenient(ExperimentConfig(data_seed=data_seed), {})[0]
    assert (sweep.x.name, sweep.y.name) == ("sigma_w", "depth") and affordable(sweep)
    assert SWEEP_FIELDS["sweep_metric"].default == "signal_growth"
    frame = init_map(sweep).frame
    growth = frame.groupby(["sigma_w", "depth"])["signal_growth"].mean()
    assert growth.min() < -0.5 and growth.max() > 0.5
    # every row of the map crosses zero once, from shrinking to growing, around ReLU's sigma_w = sqrt 2
    crossings = scale_depth_view.growth_sign_change(frame, "sigma_w", "depth", "he_normal")
    assert all(c is not None and c[0] <= np.sqrt(2) * 1.3 and c[1] >= np.sqrt(2) / 1.3
               for c in crossings.values()), crossings
