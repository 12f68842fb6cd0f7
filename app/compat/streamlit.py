"""Streamlit internals (pinned: requirements.txt). Each function names the private detail it reads and why no
public API serves; tests/test_compat.py checks every one against the installed Streamlit."""
from __future__ import annotations

import sys

# The function of streamlit/runtime/scriptrunner/script_runner.py that runs a pages/ folder as a v1 multipage
# app, in lieu of the entry file.
LEGACY_RUNNER = "_mpa_v1"


def legacy_pages_flag() -> bool:
    """True once Streamlit has decided, process-wide, that this app is a pages/ folder app (run by
    ``_mpa_v1``). ``PagesManager.uses_pages_directory`` is internal; no public API tells an app which runner
    it is under, nor lets it pick st.navigation when a pages/ folder sits beside the entry file."""
    from streamlit.runtime.pages_manager import PagesManager
    return bool(PagesManager.uses_pages_directory)


def clear_legacy_pages_flag() -> None:
    """Tell Streamlit this is not a pages/ folder app: the next run goes through the entry file and its
    st.navigation (st.navigation itself sets the same flag to False when it runs)."""
    from streamlit.runtime.pages_manager import PagesManager
    PagesManager.uses_pages_directory = False


def inside_legacy_runner() -> bool:
    """True when Streamlit's legacy pages-folder runner (``_mpa_v1``) is on the calling stack. Sessions that
    start together can all be run by it before the flag above is set; nothing public says which runner runs a
    script, so we look at the stack (``sys._getframe``: CPython's frame walk)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == LEGACY_RUNNER:
            return True
        frame = frame.f_back
    return False


def session_id() -> str | None:
    """The id of the session whose script run is this thread, or None outside a script run.
    ``get_script_run_ctx`` is not in Streamlit's documented API (st.context has no session id), yet it is
    the one way to tell sessions apart across threads."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


def session_active(session: str) -> bool:
    """Whether the session's browser tab is still connected. ``Runtime.is_active_session`` is internal; no
    public API or callback tells an app that a tab closed."""
    from streamlit import runtime
    return runtime.get_instance().is_active_session(session)


def real_runtime() -> bool:
    """True under ``streamlit run``; False under AppTest, whose runtime is a stand-in (a mock). The runtime
    singleton and its class are internal; nothing public tells a script that it runs in a test."""
    from streamlit import runtime
    return runtime.exists() and type(runtime.get_instance()) is runtime.Runtime
