"""Translations: every user-visible string goes through ``_`` (or is marked with ``N_`` and translated where
it is shown), and comes from a gettext message catalog.

The language is a context variable, set once at the start of every dashboard script run (``set_language``):
Streamlit runs each session's script on its own thread, so two visitors reading two languages never see
each other's. The CLI and the Python API never set it and speak English, the default.

Catalogs live in ``core/locales/<lang>/LC_MESSAGES/initlab.po`` (the source a translator edits) and ``.mo``
(compiled from it, what ``gettext`` reads). ``python -m core.i18n`` extracts every marked string from the
code with Babel, merges it into each ``.po`` and compiles the ``.mo`` files; ``tests/test_i18n.py`` fails when
a string has no translation or a ``.mo`` is older than its ``.po``.

CSV column names are never translated: the export schema is a contract. Numbers keep their digits and take
the language's symbols ("0,086", "2 424" in French): ``Message.format`` writes the number fields of a
translated message that way (core.formatting); CSV, JSON and links keep plain ASCII numbers.

Writing a message: one whole sentence, its facts as placeholders (``_("{field}: got {raw}").format(...)``), never
an f-string inside ``_`` (it would be looked up after formatting, never found), no layout space at its end,
and no variable named ``_`` in a function that translates (it would hide this function). Validation errors
(core.config, core.nn.initializers, core.sweeps.sweep) are messages too: a page shows them in the visitor's language,
the CLI and the API in English. ``tests/test_i18n.py`` checks each of these rules.
"""
from __future__ import annotations

import contextvars
import gettext as _gettext
import functools
import string
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


class _NumberFormatter(string.Formatter):
    """``str.format`` whose number fields (int, float, NumPy's) follow the current language's conventions."""

    def format_field(self, value, format_spec):
        from core.formatting import is_number, number_text

        return number_text(value, format_spec) if is_number(value) else format(value, format_spec)


_FORMATTER = _NumberFormatter()


class Message(str):
    """A translated message: its ``format`` writes number fields ("{share:.0%}", "{n:,}", "{x}") with the
    language's decimal sign and thousands separator (core.formatting), so a call site passes numbers, not
    text made of them. The result is a plain str."""

    __slots__ = ()

    def format(self, *args, **kwargs) -> str:
        if _language.get() == DEFAULT:
            return str.format(self, *args, **kwargs)
        return _FORMATTER.vformat(str(self), args, kwargs)


def gettext(message: str) -> Message:
    """``message`` in the current language (itself where the catalog has no translation)."""
    return Message(_catalog(_language.get()).gettext(message))


def ngettext(singular: str, plural: str, n: int) -> Message:
    return Message(_catalog(_language.get()).ngettext(singular, plural, n))


def N_(message: str) -> str:
    """Marks a string for extraction without translating it now (module-level texts, translated when shown)."""
    return message


_ = gettext


def clauses(parts) -> str:
    """Clauses one after the other, parted by the language's semicolon ("a; b"; French puts a non-breaking
    space before it)."""
    parts = list(parts)
    if not parts:
        return ""
    separator = gettext("{first}; {second}").format(first="", second="")
    return separator.join(parts)


# ---------------------------------------------------------------- maintenance: python -m core.i18n
SOURCES = ("core", "app", "pages", "dashboard.py")  # where marked strings live, relative to the repository
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}
STABLE_DATE = __import__("datetime").datetime(2026, 11, 30, tzinfo=__import__("datetime").timezone.utc)


def extract():
    """Every marked string of the sources, as a Babel catalog (the template every language is merged with)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_file

    root = LOCALES.parents[1]
    template = Catalog(project="initlab", domain=DOMAIN)
    files = []
    for source in SOURCES:
        path = root / source
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    for path in files:
        rel = path.relative_to(root).as_posix()
        for lineno, message, comments, context in extract_from_file("python", str(path), keywords=KEYWORDS):
            template.add(message, locations=[(rel, lineno)], auto_comments=comments, context=context)
    return template


def po_path(code: str) -> Path:
    return LOCALES / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(code: str):
    from babel.messages.pofile import read_po

    path = po_path(code)
    if not path.exists():
        from babel.messages.catalog import Catalog
        return Catalog(locale=code, project="initlab", domain=DOMAIN)
    with open(path, "rb") as f:
        return read_po(f, locale=code, domain=DOMAIN)


def compiled(catalog) -> bytes:
    import io

    from babel.messages.mofile import write_mo

    buf = io.BytesIO()
    write_mo(buf, catalog)
    return buf.getvalue()


def main() -> int:
    """Extract the marked strings, merge them into every language's .po, compile each .mo; list what is
    left untranslated."""
    from babel.messages.pofile import write_po

    template = extract()
    missing = 0
    for code in LANGUAGES:
        if code == DEFAULT:
            continue
        catalog = read_catalog(code)
        catalog.update(template, update_header_comment=False)
        # a stable header: the files change only when a message does
        catalog.creation_date = catalog.revision_date = STABLE_DATE
        catalog.fuzzy = False
        catalog.obsolete.clear()
        path = po_path(code)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            write_po(f, catalog, width=120, no_location=True, include_previous=False)
        path.with_suffix(".mo").write_bytes(compiled(catalog))
        # a plural message's string is a tuple of forms, each of which must be filled
        untranslated = [m.id for m in catalog if m.id and (not all(m.string if isinstance(m.string, tuple)
                                                                   else (m.string,)) or m.fuzzy)]
        missing += len(untranslated)
        for m in untranslated:
            print(f"{code}: untranslated: {m!r}")
        print(f"{code}: {len(catalog)} messages, {len(untranslated)} untranslated -> {path}")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
