"""Sweeps for the Scale × depth page: one bounded cache shared by every session of the server, and a
progress bar over the sweep's tasks while one trains.

A sweep trains once per server: a second session asking for it while it trains waits for the same run.
"""
from __future__ import annotations

import logging
import threading
import time

import streamlit as st

from core.cache import ResultCache
from core.i18n import _
from core.sweep import SweepConfig, SweepResults, run_sweep

LOG = logging.getLogger("initlab")

SWEEPS: ResultCache[SweepResults] = ResultCache(max_entries=8, max_bytes=100_000_000,
                                                size_of=lambda r: int(r.frame.memory_usage(deep=True).sum()))
# One lock per sweep in training: a second session asking for it waits, then finds it in the cache.
_training: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def sweep_results(sweep: SweepConfig) -> SweepResults:
    key = sweep.to_query()
    cached = SWEEPS.get(key)
    if cached is not None:
        return cached
    bar = st.progress(0.0, text=_("Training the sweep…"))

    def progress(done: int, total: int):
        bar.progress(done / max(total, 1), text=_("Training the sweep: {done} of {total} tasks done").format(
            done=done, total=total))

    def train() -> SweepResults:
        start = time.perf_counter()
        results = run_sweep(sweep, progress=progress)
        LOG.warning("trained sweep %s (%d tasks, %d models) in %.2f s", sweep.run_id, len(sweep.tasks),
                    sweep.models, time.perf_counter() - start)
        return results

    with _guard:
        lock = _training.setdefault(key, threading.Lock())
    try:
        with lock:
            cached = SWEEPS.get(key)
            if cached is not None:
                return cached
            results = train()
            SWEEPS.put(key, results)
            return results
    finally:
        with _guard:
            _training.pop(key, None)
        bar.empty()
