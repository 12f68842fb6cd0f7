"""Grouped training (model groups on worker processes) changes speed only: every number is the same."""
import threading
import os
from dataclasses import replace

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from core import experiment
from core.runtime import workers
from core.config import ExperimentConfig
from core.nn.trainer import PARALLEL_MIN_MFLOP, auto_groups, curve_epochs, step_mflop, steps, train, train_group


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
        for name in ("stats", "counts", "bin_start", "bin_width", "init_distance", "relative_distance", "grad_norm",
                     "grad_rms", "distinct", "functional", "predicted", "probability", "alive"):
            x, y = getattr(ra, name), getattr(rb, name)
            assert (x is None) == (y is None), name
            if x is not None:
                assert np.array_equal(x, y, equal_nan=True), name
        for x, y in zip(ra.unit_pairs, rb.unit_pairs):
            assert np.array_equal(x, y, equal_nan=True)


SCHEMES8 = ("zeros", "normal:std=1", "xavier_normal", "he_normal", "xavier_uniform", "he_uniform", "lecun_normal",
            "orthogonal")
# a stack with models that explode (normal:std=10, ReLU), symmetric ones (zeros, constant) and ordinary ones
MIXED = dict(schemes=("zeros", "constant:value=0.3", "normal:std=10", "he_normal", "xavier_uniform"), seeds=2,
             n_samples=240, depth=4, width=(32,), activation="relu", epochs=8, record_epochs=4, lr=0.05)


@pytest.mark.parametrize("batch_size", [16, 0], ids=["minibatch", "fullbatch"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.slow
def test_any_grouping_gives_bit_identical_results(optimizer, batch_size):
    init, layout, data, act, settings, prober = setup(**MIXED, optimizer=optimizer, batch_size=batch_size,
                                                      dtype="float32")
    whole = train(init, layout, data, act, replace(settings, groups=1), prober)
    if optimizer == "sgd":  # the stack mixes diverged and trained models (Adam's bounded steps do not diverge)
        assert (whole.diverged_epoch >= 0).any() and (whole.diverged_epoch < 0).any()
    for groups in (2, 3, 10):
        assert_outputs_identical(whole, train(init, layout, data, act, replace(settings, groups=groups), prober))


def test_grouping_leaves_the_probes_of_wide_layers_unchanged():
    """A probe row of a layer of 100 units holds 12,800 values, past NumPy's 8192-value buffer, where einsum once
    summed a row alone in its chunk in another order: a 1/2/1 split of 4 models changed the second moments of
    the models left alone (core.measure.probes.row_squares)."""
    init, layout, data, act, settings, prober = setup(schemes=("he_normal",), seeds=4, width=(100,), depth=2,
                                                      epochs=1, n_samples=200, activation="relu")
    whole = train(init, layout, data, act, replace(settings, groups=1), prober)
    assert_outputs_identical(whole, train(init, layout, data, act, replace(settings, groups=3), prober))


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


def test_auto_groups_split_only_runs_worth_a_round_trip():
    # version 2's default configuration (four schemes, tanh, depth 3), and a tenth of it
    v2 = dict(schemes=("zeros", "normal:std=1", "xavier_normal", "he_normal"), activation="tanh", depth=3)
    default = experiment.prepare(ExperimentConfig(**v2))
    j1 = experiment.prepare(ExperimentConfig(dataset="moons", n_samples=1000, schemes=SCHEMES8, seeds=3,
                                             depth=3, width=(64,), epochs=30))
    short = experiment.prepare(ExperimentConfig(**v2, epochs=10))
    for p, split in ((default, True), (j1, True), (short, False)):
        work = steps(p.settings, len(p.data.X_train)) * step_mflop(len(p.init), p.layout.sizes, 32)
        assert (work >= PARALLEL_MIN_MFLOP) == split  # 6.5, 29 and 0.65 GFLOP
        assert auto_groups(len(p.init), p.layout.sizes, 32, steps(p.settings, len(p.data.X_train))) == (
            min(2, workers.workers()) if split else 1)
    assert auto_groups(1, (2, 512, 512, 2), 4000, 10 ** 6) == 1  # one model cannot be split


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


def test_a_test_process_runs_blas_on_its_share_of_the_cpus():
    """tests/conftest.py: under pytest-xdist (the README's command), each process's share of the CPUs; its limit
    once took no effect, because BLAS loaded after it. (With -n 0, BLAS keeps its default: nothing to check.)"""
    from core.runtime.blas import cpu_count
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers is not None:
        assert set(_blas_threads()) == {max(1, cpu_count() // int(workers))}


def test_training_runs_blas_single_threaded_and_gives_the_count_back():
    init, layout, data, act, settings, _ = setup(**MIXED, batch_size=16)
    seen = []
    with threadpool_limits(limits=2, user_api="blas"):  # the test process's own count is 1 (tests/conftest.py)
        # in this process (one small group), and as a worker runs a group
        train(init, layout, data, act, replace(settings, progress=lambda *_: seen.append(_blas_threads())))
        train_group(init, layout, data, act, settings, None, 64, progress=lambda *_: seen.append(_blas_threads()))
        assert set(_blas_threads()) == {2}
    assert len(seen) == 2 * (settings.epochs + 1) and all(set(s) == {1} for s in seen)


def _report_then_wait(seconds, marker, progress):
    import pathlib
    import time
    progress(1, 2)
    time.sleep(seconds)
    progress(2, 2)  # raises workers.Cancelled once the caller has stopped waiting
    if marker:
        pathlib.Path(marker).write_text("finished")
    return "finished"


@pytest.mark.slow
def test_an_interrupted_caller_stops_its_calls_and_the_workers_carry_on(tmp_path):
    class Interrupt(Exception):  # as a Streamlit rerun interrupts the script thread
        pass

    def progress(epoch, total):
        raise Interrupt

    markers = [tmp_path / "a", tmp_path / "b"]
    with pytest.raises(Interrupt):
        workers.run(_report_then_wait, [(1.0, str(m)) for m in markers], progress)
    assert workers.run(_report_then_wait, [(0.0, "")] * 3) == ["finished"] * 3
    import time
    time.sleep(2.0)  # the interrupted calls reach their second report and stop there
    assert not any(m.exists() for m in markers)


def _fail(progress):
    raise KeyError("inside")


def _die(progress):
    import os
    os._exit(3)


@pytest.mark.slow
def test_errors_and_dead_workers_reach_the_caller_and_the_next_call_gets_fresh_workers():
    def local(progress):
        return 1
    local.__module__ = "__main__"  # as a function of a script run directly: a worker cannot import it
    with pytest.raises(ValueError, match="__main__"):
        workers.run(local, [()])
    with pytest.raises(KeyError, match="inside"):
        workers.run(_fail, [()])
    with pytest.raises(workers.WorkerDied):
        workers.run(_die, [()])
    assert workers.run(_report_then_wait, [(0.0, "")] * 2) == ["finished"] * 2


def test_a_worker_loads_only_what_training_needs():
    # what a fresh worker holds once it has trained stays off pandas, scikit-learn, Altair, SciPy and Streamlit,
    # whatever its caller imported (this test process has them all): 187 MB a worker with them, 52 MB without
    init, layout, data, act, settings, prober = setup(**MIXED, batch_size=16)
    workers.training.shutdown()  # a fresh pool: earlier tests' calls imported this test module into the old one
    train(init, layout, data, act, replace(settings, groups=2), prober)
    heavy = {"pandas", "sklearn", "altair", "scipy", "streamlit"}
    loaded = workers.run(workers.imported, [()] * workers.workers())
    assert all("core" in m and not heavy & set(m) for m in loaded), [heavy & set(m) for m in loaded]


def _report_until_stopped(progress):
    import time
    for i in range(500):  # 5 s unless stopped
        progress(i, 500)
        time.sleep(0.01)
    return "ran to the end"


def test_a_call_whose_caller_left_before_it_started_stops_at_its_first_report():
    board = workers.Board(1)
    board.cancel()  # the caller stopped waiting while the call was still queued
    try:
        future = workers.training.executor().submit(workers._call, _report_until_stopped, (), board, 0, False)
        with pytest.raises(workers.Cancelled):
            future.result(timeout=4)  # well before the 5 s it runs unless stopped
    finally:
        board.close()


class _Picky(Exception):
    def __init__(self, a, b):  # pickles, but does not unpickle (Exception's pickle passes args only)
        super().__init__(a)


def _raise_picky(progress):
    raise _Picky(1, 2)


@pytest.mark.slow
def test_arguments_or_errors_that_do_not_travel_are_reported_and_the_workers_stay_usable():
    import pickle
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        workers.run(_report_then_wait, [(0.0, threading.Lock())])  # a lock does not pickle
    with pytest.raises(workers.WorkerDied, match="un-serialize"):
        workers.run(_raise_picky, [()])
    assert workers.run(_report_then_wait, [(0.0, "")] * 2) == ["finished"] * 2


def test_training_falls_back_to_this_process_when_no_worker_can_start(monkeypatch):
    init, layout, data, act, settings, prober = setup(**MIXED, batch_size=16)
    whole = train(init, layout, data, act, replace(settings, groups=1), prober)

    def cannot_start(*args, **kwargs):
        raise OSError(11, "Resource temporarily unavailable")

    workers.training.shutdown()  # no pool left to reuse: the next call must start one
    monkeypatch.setattr("joblib.externals.loky.ProcessPoolExecutor", cannot_start)
    with pytest.warns(RuntimeWarning, match="training workers failed"):
        fallback = train(init, layout, data, act, replace(settings, groups=2), prober)
    assert_outputs_identical(whole, fallback)


def _write_to_stdout(progress):
    import os
    import sys
    print("a stray print")
    sys.stdout.flush()
    os.write(1, b"\x00" * 64)  # as a C library writing to its stdout would
    return "intact"


@pytest.mark.slow
def test_output_to_stdout_in_a_worker_does_not_corrupt_its_replies():
    assert workers.run(_write_to_stdout, [()] * 2) == ["intact"] * 2
    assert workers.run(_report_then_wait, [(0.0, "")] * 2) == ["finished"] * 2


# ---- pools of their own (a sweep's) beside the training pool
def _sleep_then_pid(seconds, progress):
    import os
    import time
    progress(0, 1)
    time.sleep(seconds)
    return os.getpid()


def _handshake(folder, first, progress):
    """The first call reports, then finishes only once the second has; the second waits for the first to start."""
    import pathlib
    import time

    def wait_for(name):
        for _ in range(3000):
            if pathlib.Path(folder, name).exists():
                return
            time.sleep(0.01)
        raise TimeoutError(name)

    if first:
        progress(1, 2)
        pathlib.Path(folder, "started").touch()
        wait_for("second finished")
        # the second call returns right after its file appears, but its result still has to travel back: without
        # a margin the first's could overtake it (seen once in 4 runs under load)
        time.sleep(1.0)
        progress(2, 2)
        return "first"
    wait_for("started")
    time.sleep(0.3)  # the first call's report is passed on meanwhile
    pathlib.Path(folder, "second finished").touch()
    return "second"


def test_a_pool_gives_results_as_they_finish_and_the_first_call_s_progress(tmp_path):
    seen = []
    with workers.Pool(2, name="sweep") as pool:
        pool.warm()  # both workers up: one call on each
        got = list(pool.unordered(_handshake, [(str(tmp_path), True), (str(tmp_path), False)],
                                  lambda *p: seen.append(p)))
    assert got == [(1, "second"), (0, "first")]
    assert seen == [(1, 2), (2, 2)]


@pytest.mark.slow
def test_killing_one_pool_s_calls_leaves_the_other_pool_working():
    """A sweep's pool is not the training pool: the scheduler's kill of one (its control block's) ends only its
    own calls' processes, and the other's calls go on."""
    from core.runtime.control import Control
    with workers.Pool(1, name="sweep") as sweep:
        pools = {"training": workers.training, "sweep": sweep}
        for victim, survivor in (("sweep", "training"), ("training", "sweep")):
            controls = {name: Control() for name in pools}
            running = {name: threading.Event() for name in pools}
            outcome = {}

            def call(name):
                try:
                    outcome[name] = pools[name].run(_sleep_then_pid, [(3.0,)], lambda *_: running[name].set(),
                                                    control=controls[name])[0]
                except workers.WorkerDied as e:
                    outcome[name] = e

            threads = [threading.Thread(target=call, args=(name,)) for name in pools]
            for t in threads:
                t.start()
            assert all(running[name].wait(30) for name in pools)
            alive = set(pools[survivor].pids())
            controls[victim].kill()
            for t in threads:
                t.join(30)
            assert isinstance(outcome[victim], workers.WorkerDied), victim
            assert outcome[survivor] in alive and set(pools[survivor].pids()) == alive
            for control in controls.values():
                control.close()
    workers.training.shutdown()  # killed last, it is broken until its next call: ended here, not at exit


def test_a_stop_signal_while_a_pool_spawns_interrupts_once_every_worker_has_its_data(capfd, monkeypatch):
    """SIGTERM (Ctrl-C, SIGHUP) raises KeyboardInterrupt in the command line's main thread (core.__main__). Raised
    between loky's start of a worker and its sending the worker's start-up data, it left that worker waiting for
    the data, outside the pool, and printing loky's 'Ran out of input' traceback once the command had ended."""
    import os
    import signal
    import time

    import psutil
    from joblib.externals.loky.backend import fork_exec as loky_fork_exec

    from core.__main__ import stopped_like_ctrl_c
    real = loky_fork_exec.fork_exec

    def started_then_signalled(*args, **kwargs):
        pid = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # the worker runs; its data is not sent yet
        return pid

    before = {c.pid for c in psutil.Process().children(recursive=True)}
    monkeypatch.setattr(loky_fork_exec, "fork_exec", started_then_signalled)
    pool = workers.Pool(2, name="test")
    try:
        with stopped_like_ctrl_c(), pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            pool.run(_report_then_wait, [(0.0, "")] * 2)
        assert len(pool.pids()) == 2  # both started before the interrupt
    finally:
        pool.shutdown(wait=True)
    def started():  # by this test: its workers (loky's resource tracker stays)
        return [c for c in psutil.Process().children(recursive=True) if c.pid not in before and c.is_running()
                and c.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(c.cmdline())]

    for _ in range(100):  # every worker ended: one left with half its data prints as it ends
        if not started():
            break
        time.sleep(0.1)
    assert not started()
    out, err = capfd.readouterr()
    assert "Ran out of input" not in out + err
