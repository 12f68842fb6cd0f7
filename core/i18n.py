"""Translations: every user-visible string goes through ``_`` (or is marked with ``N_`` and translated where
it is shown), and comes from a gettext message catalog.

The language is a context variable, set once at the start of every dashboard script run (``set_language``):
Streamlit runs each session's script on its own thread, so two visitors reading two languages never see
each other's. The CLI and the Python API never set it and speak English, the default.

Catalogs live in ``core/locales/<lang>/LC_MESSAGES/initlab.po`` (the source a translator edits) and ``.mo``
(compiled from it, what ``gettext`` reads). ``python -m core.i18n`` extracts every marked string from the
code with Babel, merges it into each ``.po`` and compiles the ``.mo`` files; ``tests/test_i18n.py`` fails when
a string has no translation or a ``.mo`` is older than its ``.po``.

Numbers and CSV column names are never translated: the export schema is a contract.
"""
from __future__ import annotations

import contextvars
import gettext as _gettext
import functools
from pathlib import Path

DOMAIN = "initlab"
LOCALES = Path(__file__).resolve().parent / "locales"
DEFAULT = "en"
# code -> the language's own name, as the language selector shows it
LANGUAGES = {"en": "English", "fr": "Français"}

_language: contextvars.ContextVar[str] = contextvars.ContextVar("initlab_language", default=DEFAULT)


def set_language(code: str) -> None:
    """Use ``code`` for the rest of this thread's (or context's) work; an unknown code means the default."""
    _language.set(code if code in LANGUAGES else DEFAULT)


def language() -> str:
    return _language.get()


@functools.lru_cache(maxsize=None)
def _catalog(code: str) -> _gettext.NullTranslations:
    if code == DEFAULT:
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, LOCALES, languages=[code], fallback=True)


def gettext(message: str) -> str:
    """``message`` in the current language (itself where the catalog has no translation)."""
    return _catalog(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _catalog(_language.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a string for extraction without translating it now (module-level texts, translated when shown)."""
    return message


_ = gettext
