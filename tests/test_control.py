"""core.runtime.control: the stop and pause flags a run checks, in this process and in the training workers.

A stopped run ends at its next check (a bounded number of checks, counted); a paused and resumed run gives
bit-identical numbers to an uninterrupted one, trained here or by the worker processes.
"""
from __future__ import annotations

import os
import pickle
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from core import experiment
from core.runtime import workers
from core.config import ExperimentConfig
from core.runtime.control import Control, Stopped
from core.nn.trainer import steps, train

SMALL = ExperimentConfig(schemes=("he_normal", "xavier_normal"), seeds=2, depth=2, width=(8,), epochs=12,
                         record_epochs=4, batch_size=16, n_samples=200)


class CountingControl(Control):
    """A control block that counts the checks made on it, and stops (or pauses) itself at a given one."""

    def __init__(self, stop_at=None, pause_at=None, resume_after_s=0.05):
        super().__init__()
        self.checks, self.stop_at, self.pause_at, self.resume_after_s = 0, stop_at, pause_at, resume_after_s
        self.waited = False

    def check(self):
        self.checks += 1
        if self.checks == self.stop_at:
            self.stop()
        if self.checks == self.pause_at:
            self.pause()
            threading.Timer(self.resume_after_s, self.resume).start()
            self.waited = True
        super().check()


def prepared(config=SMALL, control=None, groups=1):
    p = experiment.prepare(config, control=control)
    return p, replace(p.settings, groups=groups)


def test_flags_reach_a_copy_made_by_pickling_as_a_worker_gets_it():
    c = Control()
    try:
        other = pickle.loads(pickle.dumps(c))
        other.check()  # nothing set: returns
        c.pause()
        assert other.paused and not other.stopped
        c.resume()
        c.stop()
        with pytest.raises(Stopped):
            other.check()
        other.close()
    finally:
        c.close()


def test_a_call_that_starts_after_its_run_ended_stops_and_the_pool_keeps_working():
    """A call still queued when its run ends (the owner closes the block and removes its file) unpickles in its
    worker as a stopped run. Failing to unpickle would break the whole loky pool, and every other run's calls in
    it: the CI failure of 749a177, where a later run's workers died with "A task has failed to un-serialize"."""
    c = Control()
    c.close()  # the run has ended: its file is gone
    copy = pickle.loads(pickle.dumps(c))
    assert copy.stopped
    with pytest.raises(Stopped):
        copy.check()
    ex = workers.training.executor()
    with pytest.raises(Stopped):
        ex.submit(c.check).result(timeout=60)  # unpickled in a worker, where the file is missing too
    assert ex.submit(os.getpid).result(timeout=60) in workers.pids()  # the same pool still runs calls


def test_a_paused_check_waits_for_resume_and_a_stop_ends_the_wait():
    c = Control()
    c.pause()
    done = threading.Event()

    def waiter():
        try:
            c.check()
        except Stopped:
            done.set()

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.1)
    assert not done.is_set() and t.is_alive()  # still waiting while paused
    c.stop()
    t.join(10)
    assert done.is_set()
    c.close()


def test_training_checks_at_least_once_per_step():
    control = CountingControl()
    p, settings = prepared(control=control)
    train(p.init, p.layout, p.data, p.act, replace(settings, control=control), p.prober)
    assert control.checks >= steps(settings, len(p.data.X_train))
    control.close()


@pytest.mark.parametrize("stop_at", [1, 7, 40])
def test_a_stopped_run_ends_at_the_next_check(stop_at):
    control = CountingControl(stop_at=stop_at)
    p, settings = prepared(control=control)
    with pytest.raises(Stopped):
        train(p.init, p.layout, p.data, p.act, replace(settings, control=control), p.prober)
    assert control.checks == stop_at  # the check that saw the flag raised: not one step more
    control.close()


def test_a_stopped_run_builds_no_frames(monkeypatch):
    control = Control()
    built = []
    monkeypatch.setattr(experiment.frames, "summary", lambda *a, **k: built.append(1))

    def progress(epoch, total):
        if epoch == total:
            control.stop()  # training ends as the stop comes

    with pytest.raises(Stopped):
        experiment.run(SMALL, progress=progress, control=control)
    assert built == []
    control.close()


def same_output(a, b):
    assert np.array_equal(a.final, b.final)
    for split in a.loss:
        assert np.array_equal(a.loss[split], b.loss[split], equal_nan=True)
        assert np.array_equal(a.accuracy[split], b.accuracy[split], equal_nan=True)
    assert len(a.records) == len(b.records)
    for ra, rb in zip(a.records, b.records):
        assert np.array_equal(ra.stats, rb.stats, equal_nan=True)
        assert np.array_equal(ra.counts, rb.counts)
        assert np.array_equal(ra.init_distance, rb.init_distance, equal_nan=True)


def test_a_paused_and_resumed_run_is_bit_identical_in_this_process():
    p, settings = prepared()
    plain = train(p.init, p.layout, p.data, p.act, settings, p.prober)
    control = CountingControl(pause_at=30)
    paused = train(p.init, p.layout, p.data, p.act, replace(settings, control=control), p.prober)
    assert control.waited
    same_output(plain, paused)
    control.close()


@pytest.mark.skipif(not workers.available(), reason="worker processes need POSIX pipes")
def test_a_paused_and_resumed_run_is_bit_identical_in_the_workers():
    p, settings = prepared(groups=2)
    plain = train(p.init, p.layout, p.data, p.act, settings, p.prober)
    control = Control()
    paused_once = threading.Event()

    def progress(epoch, total):  # relayed from a worker: pause it mid-run, resume it a little later
        if epoch >= 2 and not paused_once.is_set():
            paused_once.set()
            control.pause()
            threading.Timer(0.2, control.resume).start()

    paused = train(p.init, p.layout, p.data, p.act, replace(settings, control=control, progress=progress), p.prober)
    assert paused_once.is_set()
    same_output(plain, paused)
    control.close()


@pytest.mark.skipif(not workers.available(), reason="worker processes need POSIX pipes")
def test_a_run_in_the_workers_stops_and_the_workers_serve_the_next_run():
    config = replace(SMALL, epochs=5000)  # far longer than the test waits
    control = Control()
    p, settings = prepared(config, groups=2)

    def progress(epoch, total):
        if epoch >= 1:
            control.stop()

    with pytest.raises(Stopped):
        train(p.init, p.layout, p.data, p.act, replace(settings, control=control, progress=progress), p.prober)
    control.close()
    small, small_settings = prepared(groups=2)
    out = train(small.init, small.layout, small.data, small.act, small_settings, small.prober)
    assert np.isfinite(out.final).all()


@pytest.mark.skipif(not workers.available(), reason="worker processes need POSIX pipes")
def test_kill_ends_a_run_in_the_workers_without_training_it_again_here():
    config = replace(SMALL, epochs=5000)
    control = Control()
    p, settings = prepared(config, groups=2)

    def progress(epoch, total):
        if epoch >= 1:
            threading.Thread(target=control.kill).start()  # as the scheduler's fallback does

    with pytest.raises(Stopped):
        train(p.init, p.layout, p.data, p.act, replace(settings, control=control, progress=progress), p.prober)
    control.close()


def _stopped_call(kept: list, progress):
    big = np.ones(1000)
    kept.append(__import__("weakref").ref(big))
    raise Stopped("the run was stopped")


def test_a_stopped_worker_call_keeps_none_of_its_arrays():
    """loky keeps the exception a call raised until the worker's next call: after a stop, that exception must
    not hold the call's frames (and the arrays in them), or the worker keeps the stopped run's memory."""
    kept: list = []
    board = workers.Board(1)
    try:
        with pytest.raises(Stopped) as info:
            workers._call(_stopped_call, (kept,), board, 0, False)
    finally:
        board.close()
    error = info.value  # what loky would hold
    assert error is not None and kept[0]() is None


def test_a_run_stopped_by_the_time_cap_shows_the_stop_message_alone(monkeypatch):
    from urllib.parse import parse_qsl

    from streamlit.testing.v1 import AppTest

    from app import results as app_results
    monkeypatch.setenv("INITLAB_RUN_SECONDS", "1")
    monkeypatch.setattr(app_results, "_limits", None)
    monkeypatch.setattr(app_results, "_scheduler", None)  # a queue with this cap
    app_results.RESULTS.clear()
    at = AppTest.from_file("../dashboard.py", default_timeout=120)
    for key, value in parse_qsl("depth=6&width=64&epochs=400"):  # about 15 s estimated
        at.query_params[key] = value
    at.switch_page("pages/overview.py")  # a page that trains the link's configuration
    at.run()
    assert not at.exception
    assert any("was stopped after 1 s of training" in e.value for e in at.error)
    assert not at.get("progress")  # no "Training … % done" left under it
