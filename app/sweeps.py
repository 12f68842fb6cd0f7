"""Sweeps for the Scale × depth page: one bounded cache shared by every session of the server, and sweeps
trained as jobs of the server's scheduler (app.results), like any run.

So a sweep waits its turn behind shorter runs, shows its place and progress, is paused while shorter runs go
first, stops when its time cap passes, and stops within about a second of the moment nobody waits for it (its
tab closed, or the page asked for another sweep): its training checks the job's control block at every step,
in this process or in the loky processes that train its tasks. A second session asking for a sweep while it
trains waits for the same job.
"""
from __future__ import annotations

from functools import partial

from core import export
from app.cache import ResultCache
from core.i18n import _
from app.scheduler import JobSpec
from core.sweeps.sweep import SweepConfig, SweepResults, run_sweep
from core.sweeps.sweep_init import init_map, seconds as init_seconds

from .results import anonymous_result, queue_text, stored_work, wait_for, whole_seconds


SWEEPS: ResultCache[SweepResults] = ResultCache(max_entries=8, max_bytes=100_000_000,
                                                size_of=lambda r: int(r.frame.memory_usage(deep=True).sum()))


# Maps at initialization (core.sweeps.sweep_init): small frames, each a few seconds of work at most
INIT_MAPS: ResultCache[SweepResults] = ResultCache(max_entries=16, max_bytes=50_000_000,
                                                   size_of=lambda r: int(r.frame.memory_usage(deep=True).sum()))


def _key(sweep: SweepConfig) -> tuple[str, str]:
    """The sweep's job key: apart from every configuration's (a run's key is its ExperimentConfig)."""
    return "sweep", sweep.to_query()


def _status_text(status, sweep: SweepConfig) -> str:
    waiting = queue_text(status)
    if waiting is not None:
        return waiting
    if status.progress >= 1:
        return _("Building the map…")
    return _("Training the sweep ({tasks} tasks): {percent}% done, about {seconds} s left.").format(
        tasks=len(sweep.tasks), percent=int(100 * status.progress), seconds=whole_seconds(status.remaining_s))


def job_spec(sweep: SweepConfig) -> JobSpec:
    """The scheduler's job for ``sweep``: run_sweep's default processes, each task's memory on each."""
    processes = sweep.processes()
    work = stored_work(SWEEPS, _key(sweep), f"sweep {sweep.run_id}",
                       lambda job: run_sweep(sweep, progress=job.report, control=job.control),
                       size=f"{len(sweep.tasks)} tasks, {sweep.models} models")
    return JobSpec(work, sweep.wall_seconds(), sweep.estimate().memory_mb * processes, processes)


def sweep_results(sweep: SweepConfig) -> SweepResults:
    """The results of ``sweep``: from the cache, or trained by the server's scheduler while this session
    waits. Raises app.results.TrainingStopped (with the message to show) if the server stopped it."""
    return wait_for(SWEEPS, _key(sweep), lambda: job_spec(sweep), partial(_status_text, sweep=sweep),
                    _("Fewer axis values, seeds or epochs make it shorter; the command line below runs it on "
                      "your machine."))


def sweep_csv(sweep: SweepConfig) -> bytes:
    """The sweep frame as CSV, for a download made after the script run: from the cache, or trained again if
    the cache dropped it meanwhile (a button holds this function and the sweep, never the frame)."""
    return export.csv_bytes(anonymous_result(SWEEPS, _key(sweep), lambda: job_spec(sweep)).frame, sweep.run_id)


def _init_key(sweep: SweepConfig) -> tuple[str, str]:
    return "init map", sweep.to_query()


def init_job_spec(sweep: SweepConfig) -> JobSpec:
    work = stored_work(INIT_MAPS, _init_key(sweep), f"map at initialization {sweep.run_id}",
                       lambda job: init_map(sweep, progress=job.report, control=job.control),
                       size=f"{len(sweep.tasks)} tasks, {sweep.models} models")
    return JobSpec(work, init_seconds(sweep), sweep.estimate().memory_mb, 1)


def _init_status_text(status, sweep: SweepConfig) -> str:
    waiting = queue_text(status)
    if waiting is not None:
        return waiting
    return _("Drawing and probing {models} models at initialization: {percent}% done.").format(
        models=f"{sweep.models:,}", percent=int(100 * status.progress))


def init_map_results(sweep: SweepConfig) -> SweepResults:
    """``sweep``'s map at initialization (nothing trained): from the cache, or computed by the server's
    scheduler while this session waits."""
    return wait_for(INIT_MAPS, _init_key(sweep), lambda: init_job_spec(sweep),
                    partial(_init_status_text, sweep=sweep), _("Fewer axis values or seeds make it shorter."))


def init_map_csv(sweep: SweepConfig) -> bytes:
    return export.csv_bytes(anonymous_result(INIT_MAPS, _init_key(sweep), lambda: init_job_spec(sweep)).frame,
                            sweep.run_id)
