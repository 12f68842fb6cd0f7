"""Training runs for the dashboard: one bounded results cache shared by every session of the server.

A configuration trains once: a second session asking for it while it trains waits for the same run (a
classroom opening one link trains it once). ``results_for`` shows a progress bar while it waits.
"""
from __future__ import annotations

import logging
import threading
import time
import traceback

import streamlit as st

from core import budget, workers
from core.cache import ResultCache
from core.config import ExperimentConfig
from core.experiment import Results, run
from core.i18n import _

LOG = logging.getLogger("initlab")


@st.cache_resource(show_spinner=False)
def start_workers() -> None:
    """Start the training workers in the background once per server (about 2 s), so the first large run
    does not wait for them."""
    def warm():
        try:
            workers.warm()
        except Exception:  # noqa: BLE001 - training then starts them itself, or runs in this process
            LOG.warning("could not start the training workers:\n%s", traceback.format_exc())

    if workers.available():
        threading.Thread(target=warm, name="initlab-workers", daemon=True).start()


def _nbytes(results: Results) -> int:
    frames = sum(int(df.memory_usage(deep=True).sum()) for df in results.frames.values())
    return frames + results.initial.nbytes + results.final.nbytes


RESULTS: ResultCache[Results] = ResultCache(max_entries=8, max_bytes=600_000_000, size_of=_nbytes)


def over_budget_message(config: ExperimentConfig) -> str | None:
    try:
        budget.check(config)
    except ValueError as e:
        return str(e)
    return None


def results_for(config: ExperimentConfig) -> Results:
    cached = RESULTS.get(config)
    if cached is not None:
        return cached
    bar = st.progress(0.0, text=_("Training…"))

    def progress(epoch: int, total: int):
        if epoch == total or epoch % max(1, total // 50) == 0:
            bar.progress(epoch / max(total, 1),
                         text=_("Training {models} models: epoch {epoch}/{total}").format(
                             models=len(config.models), epoch=epoch, total=total))

    def train() -> Results:
        start = time.perf_counter()
        results = run(config, progress=progress)
        LOG.warning("trained run %s (%d models) in %.2f s", config.run_id, len(config.models),
                    time.perf_counter() - start)
        return results

    try:
        return RESULTS.get_or_compute(config, train)
    finally:
        bar.empty()
