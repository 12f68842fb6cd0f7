"""Untrusted text on the page: one helper for everything a link or a text box can put there.

Streamlit renders markdown (links, images, bold, code, LaTeX between dollars, ``:color[...]`` directives) in
st.markdown, st.caption, alerts and widget labels. ``literal`` makes a string render as exactly its
characters: every ASCII punctuation mark gets a backslash (CommonMark lets any of them be escaped, and the
escaped mark is plain text, so no link, image, emphasis, code span, HTML tag or math survives), and control
characters become visible escapes. Use it on any value that came from outside: link values and keys, typed
schemes, and messages that quote them.
"""
from __future__ import annotations

import string
import unicodedata

_PUNCT = frozenset(string.punctuation)


def clean(value: str) -> str:
    """``value`` with control and format characters (newlines, tabs, bidi overrides, zero-width) shown as
    escapes: they must not break a line, reorder text or hide in it."""
    out = []
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def literal(value) -> str:
    """``value`` as markdown that renders exactly as its characters."""
    text = clean(str(value))
    return "".join("\\" + ch if ch in _PUNCT else ch for ch in text)
