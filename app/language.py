"""The visitor's language: the `lang` link key, and the selector that writes it.

The link carries the code (``lang=fr``), the selector shows the language's own name ("Français"). A selector
bound to the URL by Streamlit (``bind="query-params"``) would write, and only accept, the name it shows, so
a shared ``lang=fr`` link would be dropped as invalid: the selector keeps its own state and this module keeps
the ``lang`` key of the address bar in step with it.
"""
from __future__ import annotations

import streamlit as st

from core.i18n import DEFAULT, LANGUAGES, set_language

KEY = "lang"  # the link key
WIDGET = "_language"  # the selector's session state


def use_visitor_language() -> str:
    """Set this script run's language from the selector (or, before it exists, the link) and return it.
    Call before anything is written, so that the navigation and the page are in that language."""
    code = st.session_state.get(WIDGET) or st.query_params.get(KEY) or DEFAULT
    code = code if code in LANGUAGES else DEFAULT
    set_language(code)
    return code


def _write_link(code: str) -> None:
    """The address bar carries ``lang`` unless the language is the default (as bound widgets do)."""
    if code == DEFAULT:
        if KEY in st.query_params:
            del st.query_params[KEY]
    elif st.query_params.get(KEY) != code:
        st.query_params[KEY] = code


def language_selector() -> None:
    codes = list(LANGUAGES)
    current = use_visitor_language()
    # the label is the same in every language: it must be findable by someone who cannot read the current one
    st.selectbox("Language · Langue", codes, index=codes.index(current), format_func=LANGUAGES.get, key=WIDGET,
                 on_change=lambda: _write_link(st.session_state[WIDGET]))
    _write_link(current)
