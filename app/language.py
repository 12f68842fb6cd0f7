"""The visitor's language: the `lang` link key, and the selector bound to it."""
from __future__ import annotations

import streamlit as st

from core.i18n import DEFAULT, LANGUAGES, set_language

KEY = "lang"


def use_visitor_language() -> str:
    """Set this script run's language from the selector (or, before it exists, the link) and return it.
    Call before anything is written, so that the navigation and the page are in that language."""
    code = st.session_state.get(KEY) or st.query_params.get(KEY) or DEFAULT
    code = code if code in LANGUAGES else DEFAULT
    set_language(code)
    return code


def language_selector() -> None:
    codes = list(LANGUAGES)
    # the label is the same in every language: it must be findable by someone who cannot read the current one
    st.selectbox("Language · Langue", codes, index=codes.index(DEFAULT), format_func=LANGUAGES.get, key=KEY,
                 bind="query-params")
