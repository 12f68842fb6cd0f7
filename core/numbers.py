"""Numbers written as text (links, JSON strings, the CLI): plain ASCII decimal or scientific notation only.

Python's float() also takes '1_0' (10), full-width and Arabic-Indic digits, 'infinity' and surrounding
whitespace of any kind. A shared link should mean what it shows, so a number in any other spelling is
refused here, and the caller names the field.
"""
from __future__ import annotations

import re

_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def plain_number(text: str) -> float:
    """``text`` as a float if it is written in plain ASCII digits ('3', '-0.5', '1e-3', '2.'); else ValueError.
    '-0' is 0: a negative zero passes a ">= 0" check and then fails NumPy's (``scale < 0``)."""
    if not isinstance(text, str) or not _PLAIN.fullmatch(text):
        raise ValueError(f"not a plain number: {text!r}")
    return float(text) + 0.0
