"""Streamlit's pages/ trap, and links to the pages of this app.

With a pages/ folder beside the entry file, sessions that start before any st.navigation call has run in
this server process are run by the legacy pages-folder runner: a deep link runs the page file alone, without
dashboard.py, so the sidebar and its URL-bound state are lost. Several sessions opened at once (a classroom)
can all start that way, so checking the process-wide flag is not enough: we also look for the legacy runner
on the stack. Clearing the flag and rerunning puts st.navigation in charge at once, keeping the URL. Both
are private Streamlit details, in app/compat/streamlit.py (tests/test_compat.py checks them; tests/test_browser.py
and bench/many_users.py catch a regression).
"""
from __future__ import annotations

import streamlit as st

from .compat import streamlit as compat
from .registry import DEFAULT_PAGE


def ensure_navigation() -> None:
    """Call first in the entry file and in every page: reruns under st.navigation if the legacy runner has
    this session."""
    if compat.legacy_pages_flag() or compat.inside_legacy_runner():
        compat.clear_legacy_pages_flag()
        st.rerun()


def page_url(page: str, query: str) -> str:
    """Absolute link to a page of this app with a query string (relative if the host is unknown).
    The default page is linked as the root ("/?..."), the only address Streamlit serves it at.
    """
    page = "" if page == DEFAULT_PAGE else page
    base = ""
    try:
        url = st.context.url or ""
        if "://" in url:
            scheme, rest = url.split("://", 1)
            base = f"{scheme}://{rest.split('/', 1)[0]}"
    except Exception:  # noqa: BLE001 - no request context (e.g. in AppTest)
        base = ""
    return f"{base}/{page}?{query}"
