"""Untrusted text on the page: one helper for everything a link or a text box can put there.

Streamlit renders markdown (links, images, bold, code, LaTeX between dollars, ``:color[...]`` directives) in
st.markdown, st.caption, alerts and widget labels. ``literal`` makes a string render as exactly its
characters: every ASCII punctuation mark gets a backslash (CommonMark lets any of them be escaped, and the
escaped mark is plain text, so no link, image, emphasis, code span, HTML tag or math survives), and control
characters become visible escapes. Use it on any value that came from outside: link values and keys, typed
schemes, and messages that quote them.

Escapes do not stop GFM's autolinks: remark-gfm turns ``https://…``, ``www.…`` and ``a@b.c`` in the text
into links after the escapes are resolved (seen in Chromium). A word that could become one is set as a code
span instead, which shows its characters as they are (in a monospace font) and is never linked.
"""
from __future__ import annotations

import re
import string
import unicodedata

_PUNCT = frozenset(string.punctuation)
# What remark-gfm's autolink literal looks for in text: a protocol, "www.", or an e-mail address (its "@")
_LINKABLE = re.compile(r"(?i)(https?://|ftp://|mailto:|xmpp:|www\.|@)")


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


def _code_span(word: str) -> str:
    """``word`` as an inline code span: a fence longer than any run of backticks in it, and a space inside
    the fence where the word starts or ends with a backtick (CommonMark strips one such space each side)."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", word)), default=0) + 1)
    pad = " " if word.startswith("`") or word.endswith("`") else ""
    return f"{fence}{pad}{word}{pad}{fence}"


def literal(value) -> str:
    """``value`` as markdown that renders exactly as its characters."""
    out = []
    for part in re.split(r"(\s+)", clean(str(value))):
        if _LINKABLE.search(part):
            out.append(_code_span(part))
        else:
            out.append("".join("\\" + ch if ch in _PUNCT else ch for ch in part))
    return "".join(out)
