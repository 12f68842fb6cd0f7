"""The story page's runs, computed once per server and kept: the page only reads them.

Each step's configuration (core.views.story.STEPS) is trained by the server's scheduler like any run (or only
drawn and probed, for a step that shows epoch 0); what the page draws of it (a few small frames) is kept in
``KEPT``, which holds exactly the story's entries, so no other visitor's run can push them out. ``warm`` computes
them all on a background thread when the server starts (app.server), so a visitor arriving after the warm-up
waits only for the browser; one arriving during it waits for the step's job, as for any run.
"""
from __future__ import annotations

import logging
import traceback
from functools import cache

import numpy as np
import pandas as pd

from app.cache import ResultCache
from core import restarts
from core.measure import meanfield, theory
from core.nn import activations
from core.runtime import budget
from core.views import story
from core.i18n import _
from core.restarts import RestartSettings
from app.scheduler import JobSpec
from core.sweeps.sweep_init import init_map, seconds as init_seconds

from .results import anonymous_result, stored_work, wait_for, whole_seconds

LOG = logging.getLogger("initlab")


class Kept:
    """What one step draws: a few small frames (a few thousand rows each). An object, not a dict: the kept
    chart specs (app.spec_memo) are tied to it, and find its frames by name in ``frames``."""

    def __init__(self, frames: dict[str, pd.DataFrame]):
        self.frames = frames

    @property
    def nbytes(self) -> int:
        return sum(int(df.memory_usage(deep=True).sum()) for df in self.frames.values())


# holds exactly the story's entries, so no other run can push them out
KEPT: ResultCache[Kept] = ResultCache(max_entries=len(story.STEPS) + 2, max_bytes=400_000_000,
                                      size_of=lambda kept: kept.nbytes)
RESTART_MEMORY_MB = 150


def _step_frames(slug: str) -> Kept:
    results = story.compute(story.STEPS[slug], enforce_budget=False)
    f = results.frames  # a step drawn at initialization has no summary nor distinct units: it shows epoch 0
    return Kept({**{name: f[name] for name in ("summary", "distinct_units", "layer_stats") if name in f},
                 "prediction": theory.second_moment_prediction(results)})


def _step_spec(slug: str) -> JobSpec:
    config = story.STEPS[slug].config
    est = budget.estimate(config)  # a step drawn at initialization costs a fraction of it: the bound holds
    work = stored_work(KEPT, ("story", slug), f"story step {slug}", lambda job: _step_frames(slug))
    return JobSpec(work, est.seconds, est.memory_mb, est.cores)


def _restart_settings() -> RestartSettings:
    return RestartSettings.from_config(story.STEPS["restarts"].config)


def _restart_spec() -> JobSpec:
    settings = _restart_settings()
    work = stored_work(KEPT, ("story", "restart fits"), "story k-means and EM restarts",
                       lambda job: Kept({"runs": restarts.fit_restarts(settings, control=job.control).frames["restart_runs"]}))
    return JobSpec(work, restarts.worst_case_seconds(settings), RESTART_MEMORY_MB, 1)


@cache
def sweep():
    """Step 5's sweep (core.views.story.story_map), made once: parsing its link and laying out its grid is a
    noticeable part of the page's script run, on every visit."""
    return story.story_map()


def _map_spec() -> JobSpec:
    sweep_ = sweep()
    work = stored_work(KEPT, ("story", "map"), "story map at initialization",
                       lambda job: Kept({"map": init_map(sweep_, progress=job.report, control=job.control).frame,
                                         "theory": _map_theory(sweep_)}))
    return JobSpec(work, init_seconds(sweep_), sweep_.estimate().memory_mb, 1)


def _map_theory(sweep_) -> pd.DataFrame:
    """The order/chaos boundary and depth scales drawn over step 5's map, on a fine grid of sigma_w: the mean-field
    quadrature is the costliest thing the page would compute, so it is kept with the map."""
    values = sweep_.x_values
    grid = np.union1d(np.linspace(min(values), max(values), 60), values)
    return meanfield.order_chaos_frame(activations.get("relu"), grid, 0.0)


def _status(status) -> str:
    if status.state in ("queued", "paused"):
        return _("Waiting for the server's cores: about {wait} s.").format(wait=whole_seconds(status.wait_s))
    return _("Computing this step once for every visitor of this server…")


def step(slug: str) -> Kept:
    """What step ``slug`` draws: kept, or computed while this session waits."""
    return wait_for(KEPT, ("story", slug), lambda: _step_spec(slug), _status)


def restart_runs() -> Kept:
    return wait_for(KEPT, ("story", "restart fits"), _restart_spec, _status)


def story_map() -> Kept:
    return wait_for(KEPT, ("story", "map"), _map_spec, _status)


def warm() -> None:
    """Every step's frames, computed ahead (a background thread at the server's start)."""
    jobs = [(("story", slug), lambda slug=slug: _step_spec(slug)) for slug in story.STEPS]
    jobs += [(("story", "restart fits"), _restart_spec), (("story", "map"), _map_spec)]
    for key, spec in jobs:
        try:
            anonymous_result(KEPT, key, spec)
        except Exception:  # noqa: BLE001 - the page then computes it, and shows any error
            LOG.warning("could not compute %s ahead:\n%s", key, traceback.format_exc())
