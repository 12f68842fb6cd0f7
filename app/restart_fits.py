"""Restart fits for the Restarts-beyond-networks page: one bounded cache shared by every session of the
server, and the fits run as jobs of the server's scheduler (app.results), like any training run.

So they wait their turn behind shorter runs, show their place and progress, and stop between two fits once
nobody waits for them (the tab closed, or the page asked for other settings); a second session asking for the
same settings while they run waits for the same job.
"""
from __future__ import annotations

from functools import partial

from core import export, restarts
from app.cache import ResultCache
from core.i18n import _
from core.restarts import RestartResults, RestartSettings
from app.scheduler import JobSpec

from .results import anonymous_result, stored_work, wait_for, whole_seconds


FITS: ResultCache[RestartResults] = ResultCache(
    max_entries=16, max_bytes=100_000_000,
    size_of=lambda r: sum(int(df.memory_usage(deep=True).sum()) for df in r.frames.values()))
MEMORY_MB = 150  # a fit's data and models are small next to a training run's; the page's cap bounds samples


def _key(settings: RestartSettings) -> tuple[str, str]:
    """The fits' job key: apart from every training run's (a run's key is its ExperimentConfig)."""
    return "restarts", settings.to_query()


def _status_text(status, settings: RestartSettings) -> str:
    # no seconds left: the scheduler's estimate is the worst case (every fit to its iteration cap), far above
    # the usual time
    if status.state == "queued":
        return _("Waiting for the server's cores: place {place} in the queue, about {wait} s before the fits "
                 "start.").format(place=status.place, wait=whole_seconds(status.wait_s))
    if status.state == "paused":
        return _("Paused while shorter runs go first: place {place} in the queue; {percent}% of the fits "
                 "done.").format(place=status.place, percent=int(100 * status.progress))
    return _("Fitting {n} restarts of each method and init: {percent}% done.").format(
        n=settings.restarts, percent=int(100 * status.progress))


def _spec(settings: RestartSettings) -> JobSpec:
    # the worst case, as the queue's estimate: the fits' usual time is not modelled (core.restarts)
    work = stored_work(FITS, _key(settings), f"restarts {settings.run_id}",
                       lambda job: restarts.fit_restarts(settings, progress=job.report, control=job.control))
    return JobSpec(work, restarts.worst_case_seconds(settings), MEMORY_MB, 1)


def csv_for(settings: RestartSettings, name: str) -> bytes:
    """One frame of the fits as CSV, for a download made after the script run: from the cache, or fitted
    again if the cache dropped them meanwhile. A download button holds this function and its two
    arguments, never the frames: Streamlit keeps a button's data as long as the session shows the page."""
    res = anonymous_result(FITS, _key(settings), lambda: _spec(settings))
    return export.csv_bytes(res.frames[name], settings.run_id)


def restart_results(settings: RestartSettings) -> RestartResults:
    """The fits of ``settings``: from the cache, or run by the server's scheduler while this session waits.
    Raises app.results.TrainingStopped (with the message to show) if the server stopped them."""
    return wait_for(FITS, _key(settings), lambda: _spec(settings), partial(_status_text, settings=settings),
                    _("Fewer restarts, clusters, components or samples make it shorter."))
