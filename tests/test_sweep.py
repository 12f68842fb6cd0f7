"""Sweeps (core.sweeps.sweep): the grid and its tasks, the round trips, resumable runs on loky, in this process and on a
real Dask LocalCluster (the same frame exactly), the measures against their definitions on the dashboard's own
frames, two mean-field facts measured at epoch 0, bad input, the map's chart and its sentence."""
from __future__ import annotations

import math
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from core import run
from core.runtime.control import Control, Stopped
from core.config import MAX_SCHEMES, SWEEP_AXES, ExperimentConfig
from core.sweeps.sweep import (AXES, CLUSTER_CONFIG, MAX_GRID_POINTS, SweepConfig, axis_values, local_cluster, run_sweep,
                        task_path)
from core.views.scale_depth import THEORY_COLUMNS, cell_edges, map_data, reach, sweep_map, what_to_notice
from core.sweeps.sweep_task import growth_slope

ROOT = Path(__file__).resolve().parents[1]
SMALL = ExperimentConfig(schemes=("he_normal", "zeros"), seeds=2, epochs=4, n_samples=120, width=(6,),
                         activation="relu", record_epochs=3)
SWEEP = SweepConfig(SMALL, (("sigma_w", "0.7,1.4"), ("depth", "1,2,3")))


@pytest.fixture(scope="module")
def small():
    """SWEEP trained in this process: the reference frame."""
    return run_sweep(SWEEP, workers=1)


# ------------------------------------------------------------------ the grid
def test_points_differing_only_in_scheme_parameters_share_a_stack():
    assert SWEEP.schemes == ("he_normal",)  # zeros has no sigma_w
    assert SWEEP.notes == ["schemes without σ_w (weight std × √fan-in) left out of the sweep: zeros"]
    assert [t.config.depth for t in SWEEP.tasks] == [1, 2, 3]
    for task in SWEEP.tasks:
        assert task.config.schemes == ("he_normal:gain=0.7", "he_normal:gain=1.4")
        assert task.config.seeds == 2 and task.run_id == ExperimentConfig.from_query(task.query).run_id
    assert len(SWEEP.points) == 6 and SWEEP.models == 12
    for p in SWEEP.points:  # a point's link: the base with its depth and its scheme entry alone
        c = ExperimentConfig.from_query(p.query)
        assert (c.depth, c.schemes) == (p.y, (f"he_normal:gain={p.x}",))
        assert p.task == next(t.run_id for t in SWEEP.tasks if t.config.depth == p.y)
    # 13 values of a scheme parameter: two stacks per depth (at most MAX_SCHEMES schemes in one configuration)
    many = SweepConfig(SMALL, (("sigma_w", ",".join(str(0.5 + i / 10) for i in range(13))), ("depth", "2")))
    assert [len(t.config.schemes) for t in many.tasks] == [MAX_SCHEMES, 1]
    # two field axes: one task per combination, every scheme of the base in each
    fields = SweepConfig(SMALL, (("lr", "0.01,0.1"), ("width", "4,8")))
    assert len(fields.tasks) == 4 and all(t.config.schemes == SMALL.schemes for t in fields.tasks)
    assert {(t.config.lr, t.config.width) for t in fields.tasks} == {(a, (b,)) for a in (0.01, 0.1) for b in (4, 8)}


def test_a_scheme_axis_no_base_scheme_takes_uses_its_own_scheme():
    s = SweepConfig(ExperimentConfig(schemes=("zeros", "xavier_normal")), (("std", "0.1,1"), ("depth", "2")))
    assert s.schemes == ("normal",) and "uses normal" in s.notes[0]
    assert s.tasks[0].config.schemes == ("normal:std=0.1", "normal:std=1.0")
    fan_out = SweepConfig(ExperimentConfig(schemes=("he_normal:mode=fan_out", "he_uniform")),
                          (("sigma_w", "1"), ("depth", "2")))
    assert fan_out.schemes == ("he_uniform",)  # sigma_w is the gain of a fan-in-scaled scheme only


def test_every_axis_default_is_valid_for_its_axis():
    assert set(AXES) == set(SWEEP_AXES)
    for axis in AXES.values():
        assert axis_values(axis, axis.defaults), axis.name
        SweepConfig(ExperimentConfig(schemes=(axis.own_scheme,) if axis.param else ("he_normal",)),
                    ((axis.name, axis.defaults), ("epochs" if axis.name != "epochs" else "depth", "2")))


axis_names = st.sampled_from(sorted(AXES))


@st.composite
def sweeps(draw):
    x = draw(axis_names)
    y = draw(axis_names.filter(lambda n: n != x))
    values = []
    for name in (x, y):
        defaults = AXES[name].defaults.split(",")
        picked = draw(st.lists(st.sampled_from(defaults), min_size=1, max_size=len(defaults), unique=True))
        values.append(",".join(picked))
    own = {AXES[n].own_scheme for n in (x, y) if AXES[n].param}
    schemes = tuple(own) if len(own) == 1 else ("he_normal",)
    base = ExperimentConfig(schemes=schemes + draw(st.sampled_from([(), ("zeros",)])),
                            seeds=draw(st.integers(1, 3)), activation=draw(st.sampled_from(["relu", "tanh"])))
    return x, y, values, base


@settings(max_examples=60, deadline=None)
@given(sweeps())
def test_query_and_json_round_trip(drawn):
    x, y, values, base = drawn
    try:
        s = SweepConfig(base, ((x, values[0]), (y, values[1])))
    except ValueError as e:  # two scheme axes no scheme has together (std and limit, say): said as such
        assert str(e).startswith("axes:") or "become the same entry" in str(e), e
        return
    assert SweepConfig.from_query(s.to_query()) == s
    assert SweepConfig.from_json(s.to_json()) == s
    assert SweepConfig.from_query(s.to_query()).to_query() == s.to_query()
    assert SweepConfig.from_query(s.to_query()).run_id == s.run_id
    assert [p.query for p in SweepConfig.from_query(s.to_query()).points] == [p.query for p in s.points]


@pytest.mark.parametrize("axes, message", [
    ((("bogus", "1"), ("depth", "1")), r"^sweep_x: got 'bogus'; allowed: depth, width"),
    ((("sigma_w", "1"), ("depth", "1,999")), r"^axis depth: got '999'; allowed: a whole number in \[1, 50\]$"),
    ((("sigma_w", "1,-2"), ("depth", "1")), r"^axis sigma_w: scheme 'he_normal', parameter 'gain': got '-2'; "
                                            r"allowed: \(0\.0, 100\.0\]"),
    ((("lr", "0.1,abc"), ("depth", "1")), r"^axis lr: got 'abc'; allowed: a number in \[1e-06, 10\]$"),
    ((("width", "8,16,8"), ("depth", "1")), r"^axis width: got '8' twice; allowed: each value once"),
    ((("depth", "1"), ("depth", "2")), r"^sweep_y: got 'depth', the same axis as sweep_x"),
    ((("sigma_w", ",".join(str(1 + i / 100) for i in range(50))), ("width", ",".join(map(str, range(1, 51))))),
     r"^grid: got 5,000 points \(2 schemes x 50 sigma_w x 50 width values\); allowed: at most 2,500$"),
])
def test_bad_input_is_one_error_naming_it(axes, message):
    base = ExperimentConfig(schemes=("he_normal", "he_uniform"))
    with pytest.raises(ValueError, match=message):
        SweepConfig(base, axes)


def test_the_grid_limit_counts_schemes_and_values():
    assert MAX_GRID_POINTS == 2500
    fifty = ",".join(map(str, range(1, 51)))
    SweepConfig(ExperimentConfig(schemes=("he_normal",)), (("width", fifty), ("depth", fifty)))  # 2,500: admitted
    with pytest.raises(ValueError, match=r"^grid: got 5,000 points \(2 schemes x 50 width x 50 depth values\); "
                                         r"allowed: at most 2,500$"):
        SweepConfig(ExperimentConfig(schemes=("he_normal", "zeros")), (("width", fifty), ("depth", fifty)))


def test_page_keys_are_lenient_each_bad_one_named():
    base = ExperimentConfig(schemes=("he_normal",))
    s, warnings = SweepConfig.lenient(base, {"sweep_x": "bogus", "sweep_x_values": "1,2", "sweep_y": "depth",
                                             "sweep_y_values": "1,0.5"})
    assert s.x.name == "sigma_w" and s.x_values == (1.0, 2.0)  # the values were fine for the default axis
    assert s.y_values == (1, 2, 4, 8, 16)  # depth's defaults, not 0.5
    assert [w.split(":")[0] for w in warnings] == ["sweep_x", "sweep_y_values"], warnings
    assert "0.5" in warnings[1]
    s, warnings = SweepConfig.lenient(base, {"sweep_x": "depth", "sweep_y": "depth"})
    assert (s.x.name, s.y.name) == ("depth", "sigma_w") and warnings[0].startswith("sweep_y:")
    assert SweepConfig.lenient(base, {})[0] == SweepConfig(base)


# ------------------------------------------------------------------ running
@pytest.mark.cluster
def test_a_real_local_cluster_loky_and_this_process_give_the_same_frame(small):
    import dask
    from dask.distributed import Client
    loky = run_sweep(SWEEP, workers=2)
    pd.testing.assert_frame_equal(loky.frame, small.frame, check_exact=True)
    with local_cluster(2) as cluster:
        on_dask = run_sweep(SWEEP, backend="dask", scheduler=cluster.scheduler_address)
        ran = [name for name in cluster.scheduler.task_prefixes if "run_task" in name]
        # the sweep's settings reached the workers (no statistical profiler in them, slower background checks)
        with Client(cluster, set_as_default=False) as client:
            settings = client.run(lambda: {key: dask.config.get(key) for key in CLUSTER_CONFIG})
        assert len(settings) == 2 and all(s == CLUSTER_CONFIG for s in settings.values()), settings
    assert ran, "the tasks did not go through the cluster"
    pd.testing.assert_frame_equal(on_dask.frame, small.frame, check_exact=True)
    assert sorted(on_dask.computed) == sorted(t.run_id for t in SWEEP.tasks) and not on_dask.reused


def test_rerun_after_deleting_one_task_file_trains_only_that_task(small, tmp_path):
    seen = []
    first = run_sweep(SWEEP, out=tmp_path, workers=1, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    pd.testing.assert_frame_equal(first.frame, small.frame, check_exact=True)
    again = run_sweep(SWEEP, out=tmp_path, workers=1)
    assert again.computed == [] and sorted(again.reused) == sorted(t.run_id for t in SWEEP.tasks)
    gone = SWEEP.tasks[1].run_id
    task_path(tmp_path, gone).unlink()
    task_path(tmp_path, SWEEP.tasks[2].run_id).write_text("task,entry\n")  # not a finished task's rows
    with pytest.warns(UserWarning, match="training this task again"):
        third = run_sweep(SWEEP, out=tmp_path, workers=1)
    assert sorted(third.computed) == sorted([gone, SWEEP.tasks[2].run_id])
    assert third.reused == [SWEEP.tasks[0].run_id]
    pd.testing.assert_frame_equal(third.frame, small.frame, check_exact=True)  # read back: the same numbers
    written = pd.read_csv(tmp_path / "sweep.csv")
    assert list(written.columns[:5]) == ["run_id", "scheme", "sigma_w", "depth", "seed"]
    assert set(written["run_id"]) == {SWEEP.run_id}


@pytest.mark.parametrize("workers", [1, 2], ids=["this process", "its own loky pool"])
@pytest.mark.slow
def test_a_stopped_sweep_raises_stopped_inside_its_tasks(workers, tmp_path):
    """The server stops a sweep nobody waits for through its control block, which the tasks' training checks
    in this process or in the sweep's loky processes. Stopped before any task trains, none finishes: a task
    file would be written (before the check between tasks) had a task not seen the block."""
    control = Control()
    seen = []

    def progress(done, total):
        seen.append(done)
        control.stop()

    with pytest.raises(Stopped):
        run_sweep(SWEEP, workers=workers, control=control, progress=progress, out=tmp_path)
    assert seen == [0]
    assert not list((tmp_path / "tasks").glob("*.csv"))
    control.close()


def _new_processes(before: set[int]) -> list:
    import psutil
    return [c for c in psutil.Process().children(recursive=True)
            if c.pid not in before and c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


def _gone(before: set[int]) -> bool:
    for _ in range(100):
        if not _new_processes(before):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("stop", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["to the end", "stopped"])
def test_a_loky_sweep_runs_on_a_pool_of_its_own_that_ends_with_it(stop, small):
    """The tasks' rows and the progress over tasks come back from the sweep's own processes, the frame is this
    process's to the bit, and once the sweep has returned or raised Stopped none of its processes is left; the
    training pool's workers are not touched."""
    import psutil
    from core.runtime import workers
    workers.warm()
    training = set(workers.pids())
    before = {c.pid for c in psutil.Process().children(recursive=True)}
    control, seen, started = Control(), [], []

    def progress(done, total):
        seen.append(done)
        started.extend(_new_processes(before))
        if stop and done == 1:
            control.stop()  # the tasks in flight see it

    if stop:
        with pytest.raises(Stopped):
            run_sweep(SWEEP, workers=2, control=control, progress=progress)
        assert seen == [0, 1]
    else:
        pd.testing.assert_frame_equal(run_sweep(SWEEP, workers=2, control=control, progress=progress).frame,
                                      small.frame, check_exact=True)
        assert seen == [0, 1, 2, 3]
    assert started, "the sweep started no process of its own"
    assert _gone(before), _new_processes(before)
    assert set(workers.pids()) == training and workers.run(workers.imported, [()])
    control.close()


def test_sweeps_without_a_control_block_reuse_one_pool_that_is_not_the_training_pool(small):
    """A script's or a notebook's sweeps one after another do not each start processes, nor take the training
    pool's."""
    from core.runtime import workers
    from core.sweeps import sweep
    workers.warm()
    training = set(workers.pids())
    pd.testing.assert_frame_equal(run_sweep(SWEEP, workers=2).frame, small.frame, check_exact=True)
    first = set(sweep._SHARED.pids())
    pd.testing.assert_frame_equal(run_sweep(SWEEP, workers=2).frame, small.frame, check_exact=True)
    assert len(first) == 2 and set(sweep._SHARED.pids()) == first and not first & training
    assert set(workers.pids()) == training


def test_a_paused_sweep_trains_nothing_until_resumed_and_gives_the_same_frame(small):
    control = Control()
    during_pause = []

    def resume_later():
        time.sleep(1.0)  # several of SWEEP's tasks' time: an ignored pause would let one finish meanwhile
        during_pause.append(list(seen))
        control.resume()

    seen = []

    def progress(done, total):
        seen.append(done)
        if done == 1:
            control.pause()
            threading.Thread(target=resume_later).start()

    paused = run_sweep(SWEEP, workers=1, control=control, progress=progress)
    assert during_pause == [[0, 1]], during_pause
    assert seen == [0, 1, 2, 3]
    pd.testing.assert_frame_equal(paused.frame, small.frame, check_exact=True)
    control.close()


@pytest.mark.slow
def test_a_sweep_job_whose_last_subscriber_leaves_stops_inside_its_tasks_and_caches_nothing():
    """The dashboard's sweeps are scheduler jobs (app.sweeps.job_spec): a closed tab drops its ticket, and the
    job stops within the scheduler's grace, inside its tasks, instead of training on for nobody."""
    from app import sweeps
    from app.scheduler import JobStopped, Scheduler

    big = SweepConfig(replace(SMALL, epochs=5000, n_samples=3000, width=(32,)), (("sigma_w", "0.7,1.4"),
                                                                                 ("depth", "3,4")))
    assert big.processes() == 2 and big.wall_seconds() > 60  # so that 30 s can only be a stop
    scheduler = Scheduler(cores=2, memory_mb=float("inf"), max_started=2)
    ticket = scheduler.subscribe(sweeps._key(big), "a tab", lambda: sweeps.job_spec(big))
    job = ticket.job
    time.sleep(2)  # its pool started, its tasks training
    ticket.close()  # the tab is gone
    assert job.done.wait(30), "the sweep trained on for nobody"
    assert isinstance(job.error, JobStopped) and job.error.reason == "cancelled"
    assert job.progress == 0  # no task finished: they stopped inside
    assert sweeps.SWEEPS.get(sweeps._key(big)) is None


@pytest.mark.slow
def test_the_command_line_resumes_and_writes_the_same_frame(small, tmp_path):
    cmd = [sys.executable, "-m", "core.sweeps.sweep", "--query", SWEEP.to_query(), "--out", str(tmp_path), "--workers", "1"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "3/3 tasks" in out.stderr and "3 tasks trained, 0 read" in out.stderr
    task_path(tmp_path, SWEEP.tasks[0].run_id).unlink()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and "1 tasks trained, 2 read" in out.stderr, out.stderr
    cli = pd.read_csv(tmp_path / "sweep.csv").drop(columns="run_id")
    ours = pd.read_csv(pd.io.common.StringIO(small.frame.to_csv(index=False)))
    pd.testing.assert_frame_equal(cli, ours, check_exact=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("query, extra, named", [
    ("sweep_x=bogus", [], "sweep_x: got 'bogus'"),
    ("sweep_x=sigma_w&sweep_x_values=1,200", [], "axis sigma_w: scheme 'he_normal', parameter 'gain': got '200'"),
    ("sweep_x=width&sweep_x_values=" + ",".join(map(str, range(1, 51))) + "&sweep_y_values="
     + ",".join(map(str, range(1, 51))) + "&schemes=he_uniform", [], "grid: got 5,000 points"),
    ("epochs=2", ["--backend", "dask", "--scheduler", "tcp://127.0.0.1:{port}"], "scheduler: got 'tcp://127.0.0.1:"),
])
@pytest.mark.slow
def test_bad_command_line_input_is_one_line_exit_2_and_nothing_runs(tmp_path, query, extra, named):
    out_dir = tmp_path / "never"
    extra = [e.format(port=_free_port()) for e in extra]
    got = subprocess.run([sys.executable, "-m", "core.sweeps.sweep", "--query", "schemes=he_normal&" + query,
                          "--out", str(out_dir), *extra], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert got.returncode == 2
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], got.stderr
    assert "Traceback" not in got.stderr and got.stdout == ""
    assert not out_dir.exists()


# ------------------------------------------------------------------ the measures
def test_each_row_is_the_dashboard_of_its_link(small):
    frame = small.frame
    for point in SWEEP.points:
        rows = frame[(frame["sigma_w"] == point.x) & (frame["depth"] == point.y)].reset_index(drop=True)
        f = run(ExperimentConfig.from_query(point.query)).frames  # the dashboard's numbers for the link
        summary = f["summary"]
        for col in ("final_train_loss", "final_train_accuracy", "final_test_loss", "final_test_accuracy"):
            assert rows[col].tolist() == summary[col].tolist(), (point, col)
        stats = f["layer_stats"][f["layer_stats"]["epoch"] == 0]
        for _, row in rows.iterrows():
            seed = row["seed"]
            pre = stats[(stats["kind"] == "preactivation") & (stats["seed"] == seed)].sort_values("layer")
            q = pre["second_moment"].to_numpy()
            assert len(q) == point.y + 1
            assert row["signal_growth"] == pytest.approx(np.polyfit(np.arange(1, len(q) + 1), np.log(q), 1)[0],
                                                         rel=1e-12, abs=1e-12)
            assert (row["first_layer_second_moment"], row["last_layer_second_moment"]) == (q[0], q[point.y - 1])
            g = stats[(stats["kind"] == "gradient") & (stats["seed"] == seed)].set_index("layer")["second_moment"]
            assert row["gradient_ratio"] == g[1] / g[point.y]
            d = f["distinct_units"]
            last = d[(d["epoch"] == SMALL.epochs) & (d["seed"] == seed) & (d["layer"] <= point.y)]
            column = "functional_distinct_units" if "functional_distinct_units" in d.columns else "distinct_units"
            assert row["min_distinct_units"] == last[column].min()


DIVERGING = dict(schemes=("normal:std=5", "he_normal"), seeds=3, epochs=4, n_samples=120, width=(8,), depth=4,
                 lr=10.0, record_epochs=3)


@pytest.mark.parametrize("case", [dict(DIVERGING, activation="relu"), dict(DIVERGING, activation="tanh"),
                                  # a stack whose lean records once left a probe row alone in its chunk
                                  dict(schemes=("he_normal",), seeds=4, width=(100,), depth=2, epochs=1,
                                       n_samples=200, activation="relu")],
                         ids=["relu-diverging", "tanh", "relu-width-100"])
@pytest.mark.slow
def test_a_tasks_lean_probes_give_its_links_numbers_diverged_models_included(case):
    """A task probes only what its measures read (Prober.for_sweep); every measure must still be the one each
    entry's own link (what a grid point opens) gives with full probes, for models that diverge (no last record:
    NA) as for the others, and for layers whose probe rows pass NumPy's 8192-value buffer (width 100: without
    core.measure.probes.row_squares, seed 3's gradient ratio differed from its link's in the last bits)."""
    from core.sweeps.sweep_task import run_task
    config = ExperimentConfig(**case)
    rows = run_task(config.to_query())
    if case == dict(DIVERGING, activation="relu"):  # the case this test is for: some models diverge, others train
        assert rows["status"].str.startswith("diverged").sum() in range(1, len(rows))
    for entry in config.schemes:
        f = run(replace(config, schemes=(entry,))).frames
        stats = f["layer_stats"][f["layer_stats"]["epoch"] == 0]
        d = f["distinct_units"]
        for _, row in rows[rows["entry"] == entry].iterrows():
            model = stats["seed"] == row["seed"]
            q = stats[model & (stats["kind"] == "preactivation")].sort_values("layer")["second_moment"].to_numpy()
            g = stats[model & (stats["kind"] == "gradient")].set_index("layer")["second_moment"]
            want = growth_slope(q)
            assert row["signal_growth"] == want or (math.isnan(row["signal_growth"]) and math.isnan(want))
            assert (row["first_layer_second_moment"], row["last_layer_second_moment"]) == (q[0], q[config.depth - 1])
            assert row["gradient_ratio"] == g[1] / g[config.depth]
            last = d[(d["epoch"] == config.epochs) & (d["seed"] == row["seed"]) & (d["layer"] <= config.depth)]
            if len(last):
                assert row["min_distinct_units"] == last["functional_distinct_units"].min()
            else:
                assert row["status"].startswith("diverged") and pd.isna(row["min_distinct_units"])
            summary = f["summary"].set_index("seed").loc[row["seed"]]
            for col in ("final_train_loss", "final_test_loss", "final_train_accuracy", "last_finite_epoch"):
                assert row[col] == summary[col] or (pd.isna(row[col]) and pd.isna(summary[col])), col


def test_a_task_does_not_compute_the_decision_boundary_no_measure_reads(monkeypatch):
    from core.measure import probes
    from core.sweeps.sweep_task import run_task
    calls = []
    real = probes.ProbeSession._grid_boundary
    monkeypatch.setattr(probes.ProbeSession, "_grid_boundary", lambda self, flat: calls.append(1) or real(self, flat))
    config = replace(SMALL, depth=2)
    assert run(config).frames["boundaries"] is not None and calls  # the link's run draws it (2-D data)
    calls.clear()
    rows = run_task(config.to_query())
    assert len(rows) == len(config.models) and not calls
    # nor does the sweep's estimate of the task count it
    from core.runtime import budget
    from core.sweeps.sweep import Task, task_estimate
    task, link = task_estimate(Task(config)), budget.estimate(replace(config, record_epochs=2))
    assert task.frame_rows < link.frame_rows and task.seconds < link.seconds



def test_the_sweeps_cost_figures_are_each_tasks_own_estimate():
    """SweepConfig keeps each task's estimate once (``costs``); what it reports must be those of the tasks as
    core.sweeps.sweep_task trains them: the order, the process count, the wall time and the summed estimate."""
    import core.sweeps.sweep as sweep_mod
    from core.runtime import budget
    from core.sweeps.sweep import task_config, task_estimate
    s = SweepConfig(replace(SMALL, schemes=("he_normal",)), (("lr", "0.05,0.1"), ("depth", "1,3,6")))
    fresh = {t.run_id: task_estimate(t) for t in s.tasks}
    assert [t.run_id for t in s.todo()] == sorted(fresh, key=lambda r: -fresh[r].layer_steps)
    steps = sum(e.layer_steps for e in fresh.values())
    assert s.processes() == (1 if steps < sweep_mod.IN_PROCESS_MAX_LAYER_STEPS
                             else max(1, min(sweep_mod.cpu_count(), len(s.tasks))))
    one_core = sum(budget.seconds(budget.time_terms(task_config(t), budget.shape(task_config(t), grid=False)), 1)
                   for t in s.tasks)
    assert s.wall_seconds() == pytest.approx(one_core / s.processes())
    e = s.estimate()
    assert (e.seconds, e.memory_mb, e.layer_steps) == pytest.approx(
        (sum(x.seconds for x in fresh.values()), max(x.memory_mb for x in fresh.values()), steps))
    # a configuration keeps its id; a changed copy has its own, the one its link gives
    c = s.tasks[0].config
    first, other = c.run_id, replace(c, depth=c.depth + 1)
    assert other.run_id != first == ExperimentConfig.from_query(c.to_query()).run_id
    assert other.run_id == ExperimentConfig.from_query(other.to_query()).run_id

def test_zero_weights_have_one_distinct_unit_and_no_signal_slope():
    s = SweepConfig(ExperimentConfig(schemes=("zeros", "he_normal"), seeds=1, epochs=2, n_samples=100, width=(5,)),
                    (("lr", "0.1"), ("depth", "2")))
    frame = run_sweep(s, workers=1).frame.set_index("scheme")
    assert frame.loc["zeros", "min_distinct_units"] == 1 and frame.loc["he_normal", "min_distinct_units"] == 5
    assert math.isnan(frame.loc["zeros", "signal_growth"])  # the second moment is 0 past layer 1: no log
    assert np.isfinite(frame.loc["he_normal", "signal_growth"])


def test_growth_slope_is_the_least_squares_slope_of_the_log():
    q = np.exp(0.3 * np.arange(1, 8) + 0.1 * np.sin(np.arange(7)))
    assert growth_slope(q) == pytest.approx(np.polyfit(np.arange(1, 8), np.log(q), 1)[0], rel=1e-12)
    assert growth_slope(np.array([2.0, 0.0, np.inf, 8.0])) == pytest.approx(math.log(4) / 3)  # layers 1 and 4
    assert math.isnan(growth_slope(np.array([1.0, 0.0, 0.0])))


@pytest.mark.slow
def test_relu_signal_growth_changes_sign_at_sigma_w_squared_2():
    # He et al. (2015): with Var(W) = sigma_w^2 / fan_in, ReLU multiplies the pre-activations' second moment by
    # sigma_w^2 / 2 per layer in expectation: just below 2 the slope of its log is negative, just above positive.
    # One seed's slope wanders by about 0.03 at this width and depth (finite width): the mean of four is tested.
    base = ExperimentConfig(schemes=("he_normal",), activation="relu", seeds=4, epochs=1, n_samples=200, width=(96,),
                            batch_size=0, dtype="float64", record_epochs=2)
    s = SweepConfig(base, (("sigma_w", f"{math.sqrt(1.9)!r},{math.sqrt(2.1)!r}"), ("depth", "48")))
    slopes = run_sweep(s).frame.groupby("sigma_w")["signal_growth"].mean()
    below, above = slopes.iloc[0], slopes.iloc[1]
    assert below < 0 < above, slopes
    assert below == pytest.approx(math.log(1.9 / 2), abs=0.03) and above == pytest.approx(math.log(2.1 / 2), abs=0.03)


@pytest.mark.slow
def test_tanh_deep_second_moment_falls_towards_zero_for_sigma_w_at_most_1():
    # tanh with zero biases: for sigma_w <= 1 the only fixed point of the second moment is 0 (Poole et al. 2016),
    # so it falls with depth; for sigma_w > 1 it settles at a positive value.
    base = ExperimentConfig(schemes=("he_normal",), activation="tanh", seeds=2, epochs=1, n_samples=200, width=(128,),
                            batch_size=0, dtype="float64", record_epochs=2)
    s = SweepConfig(base, (("sigma_w", "0.5,0.8,1,2"), ("depth", "5,15,40")))
    q = run_sweep(s).frame.groupby(["sigma_w", "depth"])["last_layer_second_moment"].mean().unstack()
    for sigma in (0.5, 0.8, 1.0):
        assert q.loc[sigma, 5] > q.loc[sigma, 15] > q.loc[sigma, 40], q
        assert q.loc[sigma, 40] < 0.2 * q.loc[sigma, 5], q  # at sigma_w = 1 slowly (about 1/depth), below fast
    assert q.loc[0.5, 40] < 1e-20 and q.loc[1.0, 40] < 0.05, q
    assert q.loc[2.0].min() > 0.5 and q.loc[2.0, 40] == pytest.approx(q.loc[2.0, 15], rel=0.1), q


TRAINABLE = 0.8  # mean final test accuracy over the seeds (moons: chance is 0.5)
DEPTH_TOLERANCE = 2.0  # one step of a depth grid that doubles


@pytest.mark.parametrize("activation, bias, sigma_ws, depths", [
    # ReLU needs biases for a finite xi: with sigma_b = 0 its q* is 0 or infinite, and so is xi
    ("relu", "normal:std=0.5", (0.5, 0.8, 1.0, 1.2), (2, 4, 8, 16, 30)),
    ("tanh", "zeros", (4.0, 6.0, 8.0), (4, 8, 16, 50)),  # the chaotic side, where xi is finite without biases
])
@pytest.mark.parametrize("data_seed", [0, 1, 2])
@pytest.mark.slow
def test_the_trainable_region_lies_inside_the_6_xi_curve(activation, bias, sigma_ws, depths, data_seed):
    # Schoenholz et al. (2017): a network trains only if its depth is below about 6 xi. Here, within a factor
    # DEPTH_TOLERANCE: every grid point that trains (SGD, 20 epochs) is at most that many times 6 xi deep; and
    # the grid reaches past that line in every column where it can, where nothing trains, so the check could
    # fail both ways (a xi too small flags trained points; one too large leaves no point past the line).
    from core.nn import activations, initializers
    from core.config import parse_bias
    from core.measure.meanfield import order_chaos_frame

    base = ExperimentConfig(activation=activation, bias=bias, schemes=("lecun_normal",), seeds=2, epochs=20,
                            width=(32,), optimizer="sgd", lr=0.1, data_seed=data_seed)
    s = SweepConfig(base, (("sigma_w", ",".join(map(str, sigma_ws))), ("depth", ",".join(map(str, depths)))))
    accuracy = run_sweep(s).frame.groupby(["sigma_w", "depth"])["final_test_accuracy"].mean()
    name, params = parse_bias(bias)
    variance = initializers.BIASES[name].variance(**initializers.resolve_bias_params(name, **params))
    theory = order_chaos_frame(activations.get(activation), sigma_ws, variance).set_index("sigma_w")
    past = 0
    for (sigma_w, depth), acc in accuracy.items():
        line = DEPTH_TOLERANCE * theory.loc[sigma_w, "depth_6xi"]
        assert np.isfinite(line), (sigma_w, theory)
        if depth > line:
            past += 1
            assert acc < TRAINABLE, (sigma_w, depth, acc, line)
    assert past >= 3, accuracy
    assert (accuracy.groupby(level="sigma_w").max() >= TRAINABLE).all(), accuracy  # the shallow end trains


# ------------------------------------------------------------------ the map
# axis values as a person types them (two decimals): two floats one rounding apart have no midpoint between them
@given(st.lists(st.integers(1, 10_000).map(lambda i: i / 100), min_size=1, max_size=8, unique=True), st.booleans())
def test_cells_tile_the_axis_around_their_values(values, log):
    v = np.sort(np.array(values))
    lo, hi = cell_edges(v, log)
    assert (lo < v).all() and (v < hi).all()
    assert np.allclose(hi[:-1], lo[1:])  # no gap, no overlap


def test_map_data_is_the_seed_mean_with_its_spread(small):
    data = map_data(small.frame, "sigma_w", "depth", "final_test_loss", "he_normal", link=lambda q: "/x?" + q)
    f = small.frame
    for row in data.itertuples():
        seeds = f[(f["sigma_w"] == row.x) & (f["depth"] == row.y)]["final_test_loss"]
        assert (row.mean, row.low, row.high, row.seeds) == (seeds.mean(), seeds.min(), seeds.max(), 2)
        assert row.url == "/x?" + SWEEP.points[[(p.x, p.y) for p in SWEEP.points].index((row.x, row.y))].query
        assert row.x_lo < row.x < row.x_hi and row.y_lo < row.y < row.y_hi


def test_the_map_draws_a_theory_frame_over_the_cells(small):
    theory = pd.DataFrame({"sigma_w": [0.5, 0.7, 1.0, 1.4, 2.0], "chi_1": [0.3, 0.6, 1.0, 1.5, 2.2],
                           "xi": [0.5, 1.2, np.inf, 1.8, 0.9], "depth_6xi": [3.0, 7.2, np.inf, 10.8, 5.4],
                           "boundary": [False, False, True, False, False]})
    assert tuple(theory.columns) == THEORY_COLUMNS
    spec = sweep_map(small.frame, "sigma_w", "depth", "final_test_accuracy", "he_normal", theory=theory).to_dict()
    layers = spec["layer"]
    assert spec["height"] >= 280 and len(layers) == 3
    cells, line, rule = layers
    assert cells["encoding"]["href"]["field"] == "url"
    assert cells["encoding"]["x"]["title"] == AXES["sigma_w"].title and "depth" in cells["encoding"]["y"]["title"]
    data = spec["datasets"]
    assert [r["depth_6xi"] for r in data[line["data"]["name"]]] == [3.0, 7.2, 10.8, 5.4]  # infinite 6 xi left out
    assert line["encoding"]["x"]["field"] == "sigma_w" and line["encoding"]["y"]["field"] == "depth_6xi"
    assert [r["sigma_w"] for r in data[rule["data"]["name"]]] == [1.0] and rule["mark"]["type"] == "rule"
    # the theory is only drawn where sigma_w is an axis
    assert len(sweep_map(small.frame, "sigma_w", "depth", "signal_growth", "he_normal").to_dict()["layer"]) == 1


def _frame(acc: dict) -> pd.DataFrame:
    """A sweep frame with these mean accuracies {(sigma_w, depth): accuracy} (two seeds each)."""
    rows = [{"scheme": "he_normal", "sigma_w": x, "depth": y, "seed": s, "final_test_accuracy": a + (0.01 if s else -0.01)}
            for (x, y), a in acc.items() for s in (0, 1)]
    return pd.DataFrame(rows)


def test_the_sentences_name_an_axis_value_in_words_or_by_its_symbol():
    from core.views.scale_depth import _fmt
    assert [_fmt("sigma_w", 2 ** 0.5), _fmt("depth", 4), _fmt("lr", 0.1), _fmt("k", 15)] == [
        "σ_w = 1.41", "depth 4", "learning rate 0.1", "k = 15"]


def test_what_to_notice_names_the_deepest_and_shallowest_trainable_points():
    sq2 = math.sqrt(2)
    acc = {(1.0, 1): 0.95, (1.0, 4): 0.92, (1.0, 20): 0.6, (sq2, 1): 0.97, (sq2, 4): 0.96, (sq2, 20): 0.93,
           (3.0, 1): 0.95, (3.0, 4): 0.5, (3.0, 20): 0.97}
    f = _frame(acc)
    assert reach(f, "sigma_w", "depth", "he_normal") == {1.0: 4, sq2: 20, 3.0: 1}
    sentence = what_to_notice(f, "sigma_w", "depth", "he_normal", "relu")
    # at sigma_w^2 = 9 depth 20 trains again (0.97): the sentence names the first depth that fails, no more
    assert sentence == ("relu, he_normal: trains (mean test accuracy ≥ 0.9) up to depth 20, the end of the map, at "
                        "σ_w = 1.41; at σ_w = 3 the first that does not is depth 4.")
    none = what_to_notice(_frame({k: 0.5 for k in acc}), "sigma_w", "depth", "he_normal", "relu")
    assert none == "relu, he_normal: trains (mean test accuracy ≥ 0.9) at no point of this map, not even at depth 1."
    from core import i18n
    try:  # its own sentence in French too, where the negation reaches the verb ("ne s'entraîne … en aucun point")
        i18n.set_language("fr")
        french = what_to_notice(_frame({k: 0.5 for k in acc}), "sigma_w", "depth", "he_normal", "relu")
    finally:
        i18n.set_language(i18n.DEFAULT)
    assert french.startswith("relu, he_normal\u00a0: ne s'entraîne (") and "en aucun point de cette carte" in french
    assert french.endswith("pas même à profondeur 1.")  # the axis in words of the page's language
    acc[(3.0, 1)] = 0.7
    assert what_to_notice(_frame(acc), "sigma_w", "depth", "he_normal", "relu").endswith(
        "; at σ_w = 3 the first that does not is depth 1.")
    # no sigma_w trains at depth 1, but deeper points do (a small tanh map did this): never "at no point"
    shallow_fails = {k: (0.8 if k[1] == 1 else 0.95) for k in acc}
    assert what_to_notice(_frame(shallow_fails), "sigma_w", "depth", "he_normal", "tanh") == (
        "tanh, he_normal: trains (mean test accuracy ≥ 0.9) at 6 of 9 points of this map, none of them at depth 1.")
