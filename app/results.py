"""Training runs for the dashboard: one scheduler and one bounded results cache per server.

- ``RESULTS``: every session's results, bounded in entries and bytes. Sessions keep none of their own (see
  ``context``): a page asks ``results_for`` on every script run, and what the cache dropped trains again.
- ``scheduler()``: the server's queue (app.scheduler). ``results_for`` subscribes the session to its
  configuration's run and, while it waits, redraws the run's place in the queue, its estimate and its
  progress every REDRAW_S. Each redraw is where Streamlit raises its rerun (the configuration changed) or
  stop (the tab closed) exception into the waiting script; the ``finally`` then unsubscribes, and a run
  nobody waits for any more stops (app.scheduler). A closed tab is also noticed between redraws (every
  POLL_S). A classroom opening one link shares one run.
- ``limits()``: the server's limits (core.runtime.budget.Limits): the public ones, unless the environment
  (INITLAB_SECONDS, INITLAB_MEMORY_MB, INITLAB_FRAME_ROWS, INITLAB_RUN_SECONDS, INITLAB_JOBS_MB) or the
  ``[initlab]`` section of .streamlit/secrets.toml (seconds, memory_mb, frame_rows, run_seconds, jobs_mb)
  says otherwise; the environment wins. "none" lifts a limit.
"""
from __future__ import annotations

import logging
import threading
import time
from functools import partial
from typing import Callable

import streamlit as st

from core.runtime import budget, memory, workers
from app.cache import ResultCache
from core.config import ExperimentConfig
from core.runtime.control import Stopped
from core.experiment import Results, run
from core.formatting import number_text
from core.i18n import _
from app.scheduler import Job, JobSpec, JobStopped, Scheduler

LOG = logging.getLogger("initlab")
POLL_S = 0.2  # how often a waiting session looks whether its run ended or its tab closed
# How often it redraws its status (and so notices a rerun). Each redraw is a message every waiting browser
# renders: at 5 per second, six waiting tabs kept more than a core of the bench machine busy in Chromium.
REDRAW_S = 1.0
# Runs holding memory at once (running or paused); the worker pool grows to this many runs' workers.
MAX_STARTED = 3
CACHE_ENTRIES, CACHE_BYTES = 8, 600_000_000


class TrainingStopped(Exception):
    """The server stopped this run (its time cap): the message says why, for the page."""


def _nbytes(results: Results) -> int:
    frames = sum(int(df.memory_usage(deep=True).sum()) for df in results.frames.values())
    return frames + results.initial.nbytes + results.final.nbytes


RESULTS: ResultCache[Results] = ResultCache(max_entries=CACHE_ENTRIES, max_bytes=CACHE_BYTES, size_of=_nbytes)

_lock = threading.Lock()
_limits: budget.Limits | None = None
_scheduler: Scheduler | None = None


def _secret_limits() -> dict:
    try:
        section = st.secrets.get("initlab", {})
    except Exception:  # noqa: BLE001 - no secrets file, or one Streamlit cannot read: the defaults
        return {}
    return dict(section)


def limits() -> budget.Limits:
    """The server's limits, read once: environment over secrets over the public defaults."""
    global _limits
    with _lock:
        if _limits is None:
            try:
                _limits = budget.limits_from_env(base=budget.limits_from(_secret_limits()))
            except ValueError as e:  # a setting the owner mistyped: say so in the log, keep the public limits
                LOG.error("ignoring the limits settings: %s", e)
                _limits = budget.PUBLIC
        return _limits


def scheduler() -> Scheduler:
    global _scheduler
    lim = limits()
    with _lock:
        if _scheduler is None:
            # a paused run keeps its workers: the pool holds MAX_STARTED runs' worth (app.server sets it first)
            _scheduler = Scheduler(cores=workers.workers(), memory_mb=lim.jobs_mb or float("inf"),
                                   max_started=MAX_STARTED, run_seconds=lim.run_seconds,
                                   alive=lambda session: not _session_gone(session))
            workers.set_pool_size(workers.workers() * MAX_STARTED)
        return _scheduler


def admitted(config: ExperimentConfig) -> tuple[ExperimentConfig, str | None, str | None]:
    """(what this server trains for ``config``, the sentence saying it records less detail than asked or
    None, the refusal or None): core.runtime.budget.admit under the server's limits."""
    try:
        admission = budget.admit(config, limits())
    except budget.Refused as e:
        return config, None, str(e)
    return admission.config, admission.note, None


def stored_work(cache: ResultCache, key, label: str, work: Callable[[Job], object],
                size: str | None = None) -> Callable[[Job], object]:
    """``work(job)`` as a scheduler job's work, on the job's own thread: its start (with its ``size``), stop
    and end in the log under ``label`` (an operator, and tests/test_browser.py, read these lines), its result
    stored in ``cache`` under ``key`` for every session, and the memory it freed (temporaries, results the
    cache just dropped) given back. Runs, sweeps and restart fits use it."""
    def run_job(job: Job):
        start = time.perf_counter()
        LOG.info("%s%s: started", label, f" ({size})" if size else "")
        try:
            value = work(job)
            cache.put(key, value, cost=time.perf_counter() - start)  # the cache keeps what cost most per byte
        except Stopped:
            LOG.info("%s: stopped after %.2f s", label, time.perf_counter() - start)
            raise
        finally:
            memory.trim()
        LOG.info("%s: trained in %.2f s", label, time.perf_counter() - start)
        return value
    return run_job


def _run_spec(config: ExperimentConfig) -> JobSpec:
    est = budget.estimate(config)
    work = stored_work(RESULTS, config, f"run {config.run_id}",
                       lambda job: run(config, progress=job.report, control=job.control, enforce_budget=False),
                       size=f"{len(config.models)} models")
    return JobSpec(work, est.seconds, est.memory_mb, est.cores)


def _session() -> str | None:
    from .compat.streamlit import session_id
    return session_id()


def _session_gone(session) -> bool:
    """True once the session's browser tab is gone. Streamlit then stops the session's script too, but the
    scheduler's monitor asks this as well: it does not wait for that thread. (Only sessions of a real
    server: an anonymous subscriber, or a session under AppTest, is never gone.)"""
    from .compat.streamlit import session_active
    from .server import real_server
    return isinstance(session, str) and real_server() and not session_active(session)


def whole_seconds(s: float) -> str:
    return number_text(max(1, round(s)), ",")


def _status_text(status, config: ExperimentConfig) -> str:
    waiting = queue_text(status)
    if waiting is not None:
        return waiting
    if status.progress >= 1:
        return _("Building the tables of {models} models…").format(models=len(config.models))
    return _("Training {models} models: {percent}% done, about {seconds} s left.").format(
        models=len(config.models), percent=int(100 * status.progress), seconds=whole_seconds(status.remaining_s))


def queue_text(status) -> str | None:
    """Where a job waits, for its subscribers (None while it runs)."""
    if status.state == "queued":
        return _("Waiting for the server's cores: place {place} in the queue, about {wait} s before this run "
                 "starts, then about {seconds} s of training.").format(
            place=status.place, wait=whole_seconds(status.wait_s), seconds=whole_seconds(status.remaining_s))
    if status.state == "paused":
        return _("Paused while shorter runs go first: place {place} in the queue, about {wait} s before it goes "
                 "on; {percent}% done, about {seconds} s left.").format(
            place=status.place, wait=whole_seconds(status.wait_s), percent=int(100 * status.progress),
            seconds=whole_seconds(status.remaining_s))
    return None


def stopped_message(error: JobStopped, shorter: str | None = None) -> str:
    """What a page says when the server stopped its job; ``shorter``: how to make that page's work shorter
    (default: a training run's)."""
    if error.reason == "time":
        return _("This run was stopped after {seconds} s of training, the most this server gives one run (time "
                 "spent waiting in the queue or paused does not count).").format(
            seconds=whole_seconds(error.limit_s)) + " " + (
            shorter or _("Fewer seeds, schemes, epochs or samples make it shorter."))
    return _("This run was stopped before it finished. Reload the page to train it again.")


def results_for(config: ExperimentConfig) -> Results:
    """The results of ``config``: from the cache, or trained by the scheduler while this session waits and
    watches. Raises TrainingStopped (with the message to show) if the server stopped the run."""
    return wait_for(RESULTS, config, lambda: _run_spec(config), partial(_status_text, config=config))


def wait_for(cache: ResultCache, key, spec: Callable[[], JobSpec], status_text: Callable[[object], str],
             shorter: str | None = None):
    """``cache``'s entry ``key``, or the result of the scheduler's job ``key`` (made from ``spec()`` if none
    is live) while this session waits and watches its place in the queue, its estimate and its progress
    (``status_text(status)``). The session leaves the job when its script stops (a rerun, a closed tab); a
    job nobody waits for stops. Raises TrainingStopped (with the message to show, ending with ``shorter``:
    how to make the work shorter) if the server stopped the job."""
    cached = cache.get(key)
    if cached is not None:
        return cached
    session = _session()
    ticket = scheduler().subscribe(key, session, spec)
    box = st.empty()
    cap = limits().run_seconds
    drawn = -REDRAW_S
    try:
        while not ticket.wait(POLL_S):
            if _session_gone(session):
                break
            if time.monotonic() - drawn < REDRAW_S:
                continue
            drawn = time.monotonic()
            status = ticket.status()
            with box.container():
                st.progress(min(1.0, status.progress), text=status_text(status))
                if cap is not None:
                    st.caption(_("A run may train for at most {seconds} s on this server; time in the queue or "
                                 "paused does not count.").format(seconds=whole_seconds(cap)))
        if not ticket.job.done.is_set():
            st.stop()
        try:
            result = ticket.result()
        except JobStopped as e:
            box.empty()  # the stop message alone: no progress bar left under it
            raise TrainingStopped(stopped_message(e, shorter)) from None
    finally:
        ticket.close()
    box.empty()
    return result


def prefetch(config: ExperimentConfig) -> Results:
    """``config``'s results without a page to draw on: from the cache, or trained by the scheduler."""
    return anonymous_result(RESULTS, config, lambda: _run_spec(config))


def anonymous_result(cache: ResultCache, key, spec: Callable[[], JobSpec]):
    """``cache``'s entry ``key``, or job ``key``'s result (made from ``spec()`` if no job is live), for a
    caller with no page (a download after the script run): an anonymous subscriber never leaves before the
    end, so the job is not stopped for want of one."""
    cached = cache.get(key)
    if cached is not None:
        return cached
    ticket = scheduler().subscribe(key, None, spec)
    try:
        return ticket.result()
    finally:
        ticket.close()


def zip_for(config: ExperimentConfig) -> bytes:
    """The Export page's zip, made when clicked from the shared cache (a button holds no results)."""
    from core import export
    return export.zip_bytes(prefetch(config))


def npz_for(config: ExperimentConfig) -> bytes:
    return prefetch(config).npz_bytes()


def frame_for(config: ExperimentConfig, name: str):
    """One frame of ``config``'s results, for a download made after the script run: from the cache, or
    trained again if the cache dropped it meanwhile. Download buttons call this rather than holding a
    frame, so a session keeps no results the cache has dropped."""
    return prefetch(config).frames[name]
