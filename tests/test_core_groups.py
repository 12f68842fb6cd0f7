"""Grouped training (model groups on parallel threads) changes speed only: every number is the same."""
import threading
from dataclasses import replace

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from core import blas, experiment
from core.config import ExperimentConfig
from core.trainer import auto_groups, curve_epochs, train


def setup(**overrides):
    p = experiment.prepare(ExperimentConfig(**overrides))
    return p.init, p.layout, p.data, p.act, p.settings, p.prober


def assert_outputs_identical(a, b):
    assert np.array_equal(a.final, b.final)
    assert np.array_equal(a.diverged_epoch, b.diverged_epoch)
    assert np.array_equal(a.curve_epochs, b.curve_epochs)
    for split in a.loss:
        assert np.array_equal(a.loss[split], b.loss[split], equal_nan=True)
        assert np.array_equal(a.accuracy[split], b.accuracy[split], equal_nan=True)
    assert len(a.records) == len(b.records) > 0
    for ra, rb in zip(a.records, b.records):
        assert ra.epoch == rb.epoch
        for name in ("stats", "counts", "left", "right", "init_distance", "relative_distance", "grad_norm",
                     "distinct", "boundary", "alive"):
            x, y = getattr(ra, name), getattr(rb, name)
            assert (x is None) == (y is None), name
            if x is not None:
                assert np.array_equal(x, y, equal_nan=True), name
        for x, y in zip(ra.unit_distances, rb.unit_distances):
            assert np.array_equal(x, y, equal_nan=True)


# a stack with models that explode (normal:std=10, ReLU), symmetric ones (zeros, constant) and ordinary ones
MIXED = dict(schemes=("zeros", "constant:value=0.3", "normal:std=10", "he_normal", "xavier_uniform"), seeds=2,
             n_samples=240, depth=4, width=(32,), activation="relu", epochs=8, record_epochs=4, lr=0.05)


@pytest.mark.parametrize("batch_size", [16, 0], ids=["minibatch", "fullbatch"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_any_grouping_gives_bit_identical_results(optimizer, batch_size):
    init, layout, data, act, settings, prober = setup(**MIXED, optimizer=optimizer, batch_size=batch_size,
                                                      dtype="float32")
    whole = train(init, layout, data, act, replace(settings, groups=1), prober)
    if optimizer == "sgd":  # the stack mixes diverged and trained models (Adam's bounded steps do not diverge)
        assert (whole.diverged_epoch >= 0).any() and (whole.diverged_epoch < 0).any()
    for groups in (2, 3, 10):
        assert_outputs_identical(whole, train(init, layout, data, act, replace(settings, groups=groups), prober))


def test_grouped_progress_reaches_the_end_on_the_callers_thread():
    init, layout, data, act, settings, _ = setup(**MIXED, batch_size=16)
    seen, threads = [], set()

    def progress(epoch, total):
        seen.append((epoch, total))
        threads.add(threading.get_ident())

    train(init, layout, data, act, replace(settings, groups=2, progress=progress))
    assert threads == {threading.get_ident()}
    assert seen[-1] == (settings.epochs, settings.epochs)
    assert seen == sorted(seen)


def test_auto_groups_split_only_large_steps():
    assert auto_groups(12, (2, 32, 32, 32, 3), 32) == 1  # the dashboard's default: 5 MFLOP a step
    assert auto_groups(1, (2, 512, 512, 2), 4000) == 1  # one model cannot be split
    assert auto_groups(24, (2, 64, 64, 64, 2), 32) == min(2, blas.cpu_count())  # bench J1: 39 MFLOP


def test_curve_points_only_thin_the_evaluations():
    # (no diverging model here: a loss that is infinite only on the whole split is caught at evaluations)
    calm = dict(MIXED, schemes=("zeros", "constant:value=0.3", "he_normal", "xavier_uniform"))
    for batch_size in (16, 0):
        init, layout, data, act, settings, _ = setup(**calm, batch_size=batch_size, dtype="float64")
        every = train(init, layout, data, act, settings)
        ends = train(init, layout, data, act, replace(settings, curve_points=1))
        assert list(ends.curve_epochs) == [0, settings.epochs]
        assert np.array_equal(every.final, ends.final)
        assert np.array_equal(every.diverged_epoch, ends.diverged_epoch)
        for split in every.loss:
            assert np.array_equal(every.loss[split][[0, -1]], ends.loss[split], equal_nan=True)
    assert list(curve_epochs(10, 4)) == [0, 2, 5, 8, 10]
    assert list(curve_epochs(0)) == [0]


def _blas_threads():
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_training_runs_blas_single_threaded_and_gives_the_count_back():
    before = _blas_threads()
    init, layout, data, act, settings, _ = setup(**MIXED, batch_size=16)
    seen = []
    train(init, layout, data, act, replace(settings, groups=2, progress=lambda *_: seen.append(_blas_threads())))
    assert seen and all(set(s) == {1} for s in seen)
    assert _blas_threads() == before
