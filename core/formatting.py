"""Numbers as a reader sees them, in the current language (``core.i18n``): "0,086" and "2 424" in French,
"0.086" and "2,424" in English.

Python's format spec chooses the digits (``.3g``, ``.0%``, ``,``), so a number has the same digits in every
language; Babel's locale data (CLDR) chooses the symbols: the decimal sign, the thousands separator (a narrow
no-break space in French), the percent sign and its spacing. English is Python's own output, unchanged.
Only what a reader reads goes through here: links, CSV, JSON and the CLI keep plain ASCII numbers
(``core.numbers``).
"""
from __future__ import annotations

import functools
import numbers

from babel import Locale

from core.i18n import DEFAULT, language


@functools.lru_cache(maxsize=None)
def symbols(code: str) -> dict[str, str]:
    """The language's decimal sign, thousands separator and percent sign (with its spacing), from CLDR."""
    locale = Locale.parse(code)
    pattern = locale.percent_formats[None]
    return {".": locale.number_symbols["latn"]["decimal"], ",": locale.number_symbols["latn"]["group"],
            "%": pattern.prefix[0] + pattern.suffix[0]}


def localize(text: str, code: str | None = None) -> str:
    """``text``, the output of Python's ``format`` for a number, with the symbols of ``code`` (default: the
    current language)."""
    code = code or language()
    if code == DEFAULT:
        return text
    marks = symbols(code)
    return "".join(marks.get(ch, ch) for ch in text)


def number_text(value, spec: str = "") -> str:
    """``format(value, spec)`` in the current language."""
    return localize(format(value, spec))


def percent_sign() -> str:
    """What follows a number of percent: '%' in English, a no-break space and '%' in French."""
    return localize("%")


def is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def vega_locale(code: str | None = None) -> dict | None:
    """The number locale of a Vega-Lite spec's ``config.locale`` (d3-format's), or None for English (Vega's
    default is English)."""
    code = code or language()
    if code == DEFAULT:
        return None
    marks = symbols(code)
    return {"decimal": marks["."], "thousands": marks[","], "grouping": [3], "currency": ["", ""],
            "percent": marks["%"]}


def number_list(values) -> str:
    """Numbers (or texts holding numbers already written for the reader) as a list a reader reads and types
    back: '0.5, 1, 2' in English; in French, whose decimal sign is the comma, '0,5; 1; 2' (core.config reads
    either)."""
    texts = [number_text(v, "g") if is_number(v) else str(v) for v in values]
    return ("; " if symbols_of_language()["."] == "," else ", ").join(texts)


def symbols_of_language() -> dict[str, str]:
    code = language()
    return {".": ".", ",": ",", "%": "%"} if code == DEFAULT else symbols(code)
