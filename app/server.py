"""What the server does once, as early as it can: start the training workers and the default run.

Streamlit runs no code of the app before a first session opens it, so the first session's script run is
the earliest moment. dashboard.py imports this module before anything heavy: the training workers start
then (each imports the trainer in its own process) while this process imports scikit-learn, pandas and
Altair, and the default configuration starts training on a background thread (app.results.prefetch), so
the first visitor's default page finds its run under way or done.
"""
from __future__ import annotations

import gc
import logging
import sys
import threading
import traceback

import streamlit as st

from core.runtime import workers

LOG = logging.getLogger("initlab")


def _log_with_time() -> None:
    """The initlab log lines (runs started, paused, trained, stopped) with their time, so an operator can
    follow the queue; Streamlit formats only its own loggers."""
    if not LOG.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s initlab %(levelname)s: %(message)s"))
        LOG.addHandler(handler)
        LOG.setLevel(logging.INFO)
        LOG.propagate = False


def _warm_workers() -> None:
    try:
        workers.warm()
    except Exception:  # noqa: BLE001 - training then starts them itself, or runs in this process
        LOG.warning("could not start the training workers:\n%s", traceback.format_exc())


def _train_default() -> None:
    try:
        from core.config import ExperimentConfig

        from . import story
        from .results import admitted, prefetch
        story.warm()  # the landing page's runs first: every new visitor sees them
        config, _note, refused = admitted(ExperimentConfig())  # what the default page trains (app.results)
        if refused is None:
            prefetch(config)
    except Exception:  # noqa: BLE001 - the first visitor then trains it; the page shows any error
        LOG.warning("could not train the default configuration ahead:\n%s", traceback.format_exc())


@st.cache_resource(show_spinner=False)
def start() -> None:
    """Once per server: the workers, then the default run, each on a background thread. (The default run
    only on a real server, not under AppTest, whose tests count the runs they cause.)"""
    _log_with_time()
    from .links import watch_dropped_links
    watch_dropped_links()
    if workers.available():
        from .results import MAX_STARTED
        # The queue keeps up to MAX_STARTED runs' workers (a paused run keeps its own), so the pool holds that
        # many, all warmed now: loky starts a pool's processes together, and a pool of another size is a new one.
        workers.set_pool_size(workers.workers() * MAX_STARTED)
        threading.Thread(target=_warm_workers, name="initlab-workers", daemon=True).start()
    if real_server():
        threading.Thread(target=_train_default, name="initlab-default-run", daemon=True).start()


_freeze_lock = threading.Lock()
_modules_at_freeze = 0  # module state, not st.cache_resource: a client's "clear cache" must not refreeze


def freeze_long_lived() -> None:
    """At the end of a script run that imported modules (the server's first run, a page's first visit in
    this process): move every object alive (modules, classes, the libraries' tables) out of the garbage
    collector's reach.

    Streamlit ends every script run with a full collection (``runner.postScriptGC``, on by default), and a
    full collection walks every tracked object, most of them the libraries' (bench/RESULTS.md has the
    measured pause). It holds the GIL, so it stalled every session's next run, a page switch included.
    Frozen objects are never scanned (``gc.freeze``), though reference counting still frees them; the
    collection after each run then walks what the runs made. Collected first, so no garbage is frozen, and
    only when the process has imported something since the last freeze: a handful of times per server (the
    modules it can import are finite), so the live session objects frozen with the imports, never collected
    if they die in a cycle, stay a bounded few. Only on a real server: under AppTest it would freeze the test
    process's objects for the rest of the tests."""
    global _modules_at_freeze
    if not real_server():
        return
    with _freeze_lock:
        if len(sys.modules) == _modules_at_freeze:
            return
        gc.collect()
        gc.freeze()
        _modules_at_freeze = len(sys.modules)


def real_server() -> bool:
    """True under `streamlit run`; False under AppTest, whose runtime is a stand-in (a mock)."""
    from .compat.streamlit import real_runtime
    return real_runtime()
