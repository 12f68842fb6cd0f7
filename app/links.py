"""The address bar: every control is bound to a query key, so the URL is always a shareable link.

``repair_link`` checks a link once per session, before any widget binds to it: Streamlit drops a bound
parameter it cannot use without a word, and accepts some we must refuse (free text, typed scheme names, a
repeated key, digits in odd spellings). If any parameter is wrong it rewrites the URL to the values actually
used and reruns; the warnings (escaped: they quote the link) stay on screen for the session.
"""
from __future__ import annotations

import streamlit as st

from core.config import (FIELDS, SCHEMA_VERSION, ExperimentConfig, format_value, link_version, older_defaults,
                         parse_page_keys)

WARNINGS_KEY = "_link_warnings"


def url_value(key: str, value) -> list[str] | str:
    """How a bound widget writes ``value`` into the URL."""
    if key == "schemes":
        return list(value)
    if key == "width":
        return ",".join(map(str, value))
    return format_value(value)


def repair_link() -> list[str]:
    if WARNINGS_KEY in st.session_state:
        return st.session_state[WARNINGS_KEY]
    raw = {k: st.query_params.get_all(k) for k in st.query_params.keys()}
    config, warnings = ExperimentConfig.from_query_lenient(raw)
    page_keys, page_warnings = parse_page_keys(raw)
    warnings = warnings + page_warnings
    st.session_state[WARNINGS_KEY] = warnings
    # a link of an older version that leaves out a key whose default changed since meant the older default:
    # the URL says so explicitly before the widgets bind to it (core.config.DEFAULTS_BEFORE)
    older = {key: value for key, value in older_defaults(link_version(raw)).items() if key not in raw}
    if warnings or older:
        fixed = {"v": str(SCHEMA_VERSION)}
        for key in FIELDS:
            value = getattr(config, key)
            if (key in raw or key in older) and value != FIELDS[key].parse(FIELDS[key].default):
                fixed[key] = url_value(key, value)
        # every valid page key the link gave stays (a view's default may differ from page to page)
        fixed.update({key: url_value(key, value) for key, value in page_keys.items()})
        fixed.update({key: url_value(key, value) for key, value in older.items() if key not in FIELDS})
        st.query_params.clear()
        st.query_params.update(fixed)
        st.rerun()
    return warnings
