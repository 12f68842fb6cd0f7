"""Streamlit's pages/ trap, and links to the pages of this app.

With a pages/ folder beside the entry file, sessions that start before any st.navigation call has run in
this server process are run by the legacy pages-folder runner: a deep link runs the page file alone, without
dashboard.py, so the sidebar and its URL-bound state are lost. Several sessions opened at once (a classroom)
can all start that way, so checking the process-wide flag is not enough: we also look for the legacy runner
on the stack. Clearing the flag and rerunning puts st.navigation in charge at once, keeping the URL. Private
Streamlit details: re-check on upgrades (tests/test_browser.py and bench/many_users.py catch a regression).
"""
from __future__ import annotations

import sys

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from .registry import DEFAULT_PAGE


def _inside_legacy_runner() -> bool:
    """True when Streamlit's legacy pages-folder runner (_mpa_v1) is running this script."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "_mpa_v1":
            return True
        frame = frame.f_back
    return False


def ensure_navigation() -> None:
    """Call first in the entry file and in every page: reruns under st.navigation if the legacy runner has
    this session."""
    if PagesManager.uses_pages_directory or _inside_legacy_runner():
        PagesManager.uses_pages_directory = False
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
