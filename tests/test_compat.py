"""The library internals of app/compat/ and core/compat/, checked against the installed versions: after an
upgrade, a failure here names the internal that moved and what depends on it."""
import inspect
import os
import signal

import pytest

from app.compat import altair as altair_compat
from app.compat import streamlit as st_compat
from core.compat import loky as loky_compat


def has(obj, attr: str, library: str, what: str):
    """``getattr(obj, attr)``, or a failure naming the internal and its user."""
    if not hasattr(obj, attr):
        pytest.fail(f"{library} no longer has {getattr(obj, '__name__', obj)}.{attr}, which {what} uses: "
                    f"see its compat module and find the version's replacement")
    return getattr(obj, attr)


def streamlit_has(obj, attr, what):
    import streamlit
    return has(obj, attr, f"Streamlit {streamlit.__version__}", what)


# ------------------------------------------------------------------------------------------------ Streamlit
def test_the_legacy_pages_flag_is_the_one_streamlit_s_runner_reads():
    from streamlit.runtime import pages_manager
    from streamlit.runtime.scriptrunner import script_runner
    manager = streamlit_has(pages_manager, "PagesManager", "app.navigation's legacy-pages fix")
    streamlit_has(manager, "uses_pages_directory", "app.navigation's legacy-pages fix")
    runner = inspect.getsource(script_runner)
    assert "PagesManager.uses_pages_directory" in runner and f"{st_compat.LEGACY_RUNNER}(" in runner, \
        "Streamlit's script runner no longer picks the legacy pages runner from PagesManager.uses_pages_directory"
    before = manager.uses_pages_directory
    try:
        manager.uses_pages_directory = True
        assert st_compat.legacy_pages_flag()
        st_compat.clear_legacy_pages_flag()
        assert manager.uses_pages_directory is False and not st_compat.legacy_pages_flag()
    finally:
        manager.uses_pages_directory = before


def test_the_legacy_runner_is_found_on_the_stack_by_its_name():
    from streamlit.runtime.scriptrunner import script_runner
    streamlit_has(script_runner, st_compat.LEGACY_RUNNER, "app.navigation's legacy-pages fix (a stack walk)")
    namespace = {"probe": st_compat.inside_legacy_runner}
    exec(f"def {st_compat.LEGACY_RUNNER}():\n    return (lambda: probe())()", namespace)
    assert namespace[st_compat.LEGACY_RUNNER]()
    assert not st_compat.inside_legacy_runner()


def test_a_script_run_has_a_session_id_and_other_threads_none():
    from streamlit.runtime import scriptrunner
    from streamlit.testing.v1 import AppTest
    get = streamlit_has(scriptrunner, "get_script_run_ctx", "app.results (who asked for a run)")
    assert "suppress_warning" in inspect.signature(get).parameters
    assert st_compat.session_id() is None

    def script():
        import streamlit as st

        from app.compat.streamlit import real_runtime, session_id
        st.write(f"session {session_id()!r} real {real_runtime()}")

    at = AppTest.from_function(script).run()
    shown = at.markdown[0].value
    assert shown.startswith("session '") and shown.endswith("' real False"), shown  # AppTest: a stand-in runtime


def test_the_runtime_tells_a_real_server_and_whether_a_session_is_connected():
    from streamlit import runtime
    for name in ("exists", "get_instance", "Runtime"):
        streamlit_has(runtime, name, "app.server.real_server")
    active = streamlit_has(runtime.Runtime, "is_active_session", "app.results (a closed tab stops its run)")
    assert list(inspect.signature(active).parameters) == ["self", "session_id"]
    assert not st_compat.real_runtime()  # no server in this process


# ------------------------------------------------------------------------------------------------ Altair
def test_altair_checks_nothing_while_unchecked(monkeypatch):
    import altair as alt
    from altair.utils import schemapi
    has(schemapi, "debug_mode", f"Altair {alt.__version__}", "app.widgets.show_chart")
    checked = []
    real = schemapi.SchemaBase.to_dict
    monkeypatch.setattr(schemapi.SchemaBase, "to_dict",
                        lambda self, *a, **k: checked.append(1) or real(self, *a, **k))

    def build():
        return alt.Chart().mark_line().encode(x=alt.X("a:Q", scale=alt.Scale(type="log")), y="b:Q")

    build()
    assert checked, "Altair no longer validates objects as they are made: app.compat.altair.unchecked is moot"
    checked.clear()
    with altair_compat.unchecked():
        build()
    assert not checked, "Altair's debug_mode(False) no longer turns off the checks as objects are made"
    build()
    assert checked  # on again after


# ------------------------------------------------------------------------------------------------ loky
def test_a_loky_pool_says_its_size_its_workers_and_when_it_broke():
    from joblib.externals.loky import ProcessPoolExecutor, __version__
    from joblib.externals.loky.process_executor import BrokenProcessPool
    pool = ProcessPoolExecutor(max_workers=1)
    try:
        for attr in ("_flags", "_max_workers", "_processes", "_work_ids"):
            has(pool, attr, f"loky {__version__}", "core.runtime.workers (its pool)")
        has(pool._flags, "broken", f"loky {__version__}", "core.runtime.workers (a dead worker)")
        for attr in ("shutdown_lock", "shutdown", "kill_workers"):
            has(pool._flags, attr, f"loky {__version__}", "core.compat.loky.kill")
        pid = pool.submit(os.getpid).result()
        assert loky_compat.max_workers(pool) == 1
        assert loky_compat.pids(pool) == [pid]
        assert not loky_compat.broken(pool)
        future = pool.submit(os.kill, pid, signal.SIGKILL)
        with pytest.raises(BrokenProcessPool):
            future.result(timeout=60)
        assert loky_compat.broken(pool)
    finally:
        pool.shutdown(wait=True, kill_workers=True)


def _manager_thread_errors(shutdown) -> tuple[list, list]:
    """Six calls on a pool of one worker, half a second in (one running, one queued for the worker, four waiting
    behind them), then ``shutdown(pool)``: the exceptions loky's threads raised meanwhile, and the futures."""
    import threading
    import time
    from joblib.externals.loky import ProcessPoolExecutor
    raised, before = [], threading.excepthook
    threading.excepthook = lambda hook: raised.append(hook.exc_type)
    try:
        pool = ProcessPoolExecutor(max_workers=1)
        futures = [pool.submit(time.sleep, 5) for _ in range(6)]
        time.sleep(0.5)
        shutdown(pool)
    finally:
        threading.excepthook = before
    return raised, futures


def test_killing_a_loky_pool_with_calls_waiting_crashes_no_thread():
    from joblib.externals.loky import __version__
    raised, _ = _manager_thread_errors(lambda pool: pool.shutdown(wait=True, kill_workers=True))
    assert raised == [KeyError], (f"loky {__version__}: shutdown(kill_workers=True) no longer crashes its manager "
                                  f"thread ({raised}); core.compat.loky.kill can become that call")
    raised, futures = _manager_thread_errors(lambda pool: loky_compat.kill(pool, wait=True))
    assert raised == []
    assert all(f.done() and f.exception() is not None for f in futures)  # none left waiting, none ran to its end
