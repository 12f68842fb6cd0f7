"""Translations: every marked string has a French translation, the compiled catalog matches its source,
placeholders survive translation, and every page in French shows no English sentence of the catalog.

The page tours run through streamlit.testing.v1.AppTest (as tests/test_app.py); one test opens a French
lesson link in Chromium (as tests/test_browser.py).
"""
from __future__ import annotations

import ast
import gettext
import io
import json
import re
import string
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from app.registry import BY_PATH, PAGES as PAGE_SPECS
from core import i18n
from core.config import FIELDS
from core.views.lessons import BY_SLUG
from tests.test_app import SMALL, app, goto

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = i18n.extract()
FRENCH = i18n.read_catalog("fr")
PAGES = [p.path for p in PAGE_SPECS]


def _ids(catalog):
    return {m.id for m in catalog if m.id}


def _forms(value) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


def _french(message_id) -> str | tuple[str, ...]:
    with open(i18n.po_path("fr").with_suffix(".mo"), "rb") as f:
        return gettext.GNUTranslations(f).gettext(message_id)


# ------------------------------------------------------------------ the catalog
def test_every_marked_string_has_a_french_translation():
    missing = [mid for mid in _ids(TEMPLATE) if not (FRENCH.get(mid) and all(_forms(FRENCH.get(mid).string))
                                                         and not FRENCH.get(mid).fuzzy)]
    assert not missing, f"{len(missing)} strings have no French translation (run python -m core.i18n): {missing[:10]}"


def test_the_catalog_holds_only_marked_strings():
    # python -m core.i18n drops what the code no longer marks; a stale catalog means it was not run
    assert _ids(FRENCH) == _ids(TEMPLATE)


def test_the_compiled_catalog_is_the_source_catalog():
    with open(i18n.po_path("fr").with_suffix(".mo"), "rb") as f:
        installed = gettext.GNUTranslations(f)._catalog
    fresh = gettext.GNUTranslations(io.BytesIO(i18n.compiled(FRENCH)))._catalog
    assert installed == fresh, "core/locales/fr/LC_MESSAGES/initlab.mo is stale: run python -m core.i18n"


def test_no_message_ends_with_a_space():
    """A trailing space is layout ('epoch shown ' before a slider): a translator cannot see it and a sentence
    is cut where it stands. Layout goes outside the message; a list is joined by a whole message ('{first};
    {second}', where French puts a non-breaking space before the semicolon)."""
    spaced = [mid for mid in _ids(TEMPLATE) for piece in _forms(mid) if piece != piece.rstrip()]
    assert not spaced, spaced


def _fields(text: str) -> list[tuple[str, str]]:
    """The str.format fields of ``text``, with their format specs ({t:g} must stay {t:g})."""
    return sorted((f, spec) for _, f, spec, _ in string.Formatter().parse(text) if f is not None)


def test_placeholders_survive_translation():
    for m in FRENCH:
        if m.id and m.string:
            ids, strs = _forms(m.id), _forms(m.string)
            for s in strs:
                # a plural form may say "1" where the English singular has {n}, never the reverse
                assert _fields(s) in (_fields(ids[0]), _fields(ids[-1])), (m.id, s)
                s.format(**{f: 1.0 for f, _ in _fields(s)})  # well formed: no stray brace


def english_numbers(french: str) -> str:
    """French prose's numbers ("0,693", "5 %", "2 424") as the English source writes them."""
    french = re.sub(r"(\d)[\u00a0\u202f]%", r"\1%", french)
    french = re.sub(r"(\d)\u202f(\d{3})", r"\1,\2", french)
    return re.sub(r"(?<![\w.])(\d+),(\d+)(?!\d*[,.]?\d)", r"\1.\2", french)


def test_translations_keep_numbers_formulas_and_code():
    """Numbers are checked against runs and code spans are typed by users: both stay as the source writes them
    (in French prose, with a decimal comma and a space before %)."""
    number = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:e-?\d+)?%?")
    for m in FRENCH:
        if not m.id or not m.string:
            continue
        for source, translated in zip(_forms(m.id), _forms(m.string)):
            assert re.findall(r"`[^`]*`", translated) == re.findall(r"`[^`]*`", source), (source, translated)
            assert sorted(number.findall(english_numbers(translated))) == sorted(number.findall(source)), (
                source, translated)


def test_plural_forms_exist_where_ngettext_is_used():
    plurals = [m.id for m in TEMPLATE if isinstance(m.id, tuple)]
    assert plurals, "no ngettext in the code: this test no longer tests anything"
    with open(i18n.po_path("fr").with_suffix(".mo"), "rb") as f:
        french = gettext.GNUTranslations(f)
    for singular, plural in plurals:
        forms = FRENCH.get((singular, plural)).string
        assert len(forms) == FRENCH.num_plurals and all(forms), (singular, forms)
        one, two = french.ngettext(singular, plural, 1), french.ngettext(singular, plural, 2)
        assert one != two, (singular, one)  # French says "1 graine" but "2 graines"
        assert one == forms[0] and two == forms[-1]
        assert french.ngettext(singular, plural, 0) == one  # in French, 0 takes the singular


def _marked_literals():
    """(file, line, text) of every string literal passed to _, N_ or ngettext, found by Python's own parser:
    also inside f-strings, where Babel's extractor (before Python 3.12) does not look."""
    for source in i18n.SOURCES:
        path = ROOT / source
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            for node in ast.walk(ast.parse(file.read_text(), str(file))):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in i18n.KEYWORDS:
                    for arg in node.args[:2]:
                        yield file.relative_to(ROOT).as_posix(), node.lineno, arg


def test_every_marked_literal_is_extracted_and_none_is_an_f_string():
    extracted = {piece for mid in _ids(TEMPLATE) for piece in _forms(mid)}
    for file, line, arg in _marked_literals():
        # _(f"...") would look its message up after formatting: never found, never translated
        assert not isinstance(arg, ast.JoinedStr), f"{file}:{line}: an f-string inside a translation call"
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            assert arg.value in extracted, f"{file}:{line}: {arg.value!r} is marked but Babel does not extract it"


# ------------------------------------------------------------------ the pages in French
def _english_pieces(min_len: int = 20) -> set[str]:
    """Text an English page shows that its French version must not: the literal parts of every catalog message
    (between its placeholders) longer than ``min_len`` characters, unless the French translation keeps them
    (a formula, a scheme name)."""
    pieces = set()
    for m in FRENCH:
        if not m.id:
            continue
        french = " ".join(_forms(m.string))
        for text in _forms(m.id):
            for literal, *_ in string.Formatter().parse(text):
                for piece in re.split(r"\s*\n\s*", literal.strip()):
                    if len(piece) > min_len and piece not in french:
                        pieces.add(piece)
    return pieces


ENGLISH = _english_pieces()


def _strings(value):
    """Every string of a Vega-Lite spec (a title split into lines is joined back)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        if value and all(isinstance(v, str) for v in value):
            yield " ".join(value)
        for v in value:
            yield from _strings(v)


def shown_texts(at) -> list[str]:
    """What a visitor reads on the page: text elements, widget labels and help, chart titles and tooltips."""
    out = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "warning", "info", "error", "success"):
        out += [str(el.value) for el in getattr(at, kind)]
    for kind in ("button", "selectbox", "radio", "toggle", "checkbox", "number_input", "text_input", "multiselect",
                 "slider", "select_slider", "expander", "tabs", "download_button"):
        for el in at.get(kind):
            label = getattr(el.proto, "label", "") or getattr(el, "label", "")
            out += [str(label), str(getattr(el.proto, "help", "") or "")]
            out += [str(o) for o in getattr(el, "options", None) or []]
    for el in at.get("vega_lite_chart"):
        out += list(_strings(json.loads(el.proto.spec)))
    # markdown shown literally escapes punctuation with backslashes (app.text.literal)
    return [re.sub(r"\\(.)", r"\1", t) for t in out]


def english_left(at) -> list[str]:
    return sorted({piece for text in shown_texts(at) for piece in ENGLISH if piece in text})


def chart_rows(at) -> list[list[int]]:
    """Per chart, the row count of each of its datasets: what it draws, whatever the language."""
    return [[pa.ipc.open_stream(d.data.data).read_all().num_rows for d in el.proto.datasets]
            for el in at.get("vega_lite_chart")]


@pytest.fixture
def speak():
    """AppTest computes a radio's or selectbox's state in the test's own thread, with the format_func the page
    gave it: that function translates, so the test thread must speak the page's language too."""
    yield i18n.set_language
    i18n.set_language(i18n.DEFAULT)


def test_the_english_pieces_are_real_english():
    # the check below is only as good as this list: it must hold the long sentences, not just a few
    assert len(ENGLISH) > 250
    assert any(p.startswith("What each layer passes on, measured on a fixed probe batch") for p in ENGLISH)


@pytest.mark.slow
def test_every_page_in_french_shows_no_english_sentence_and_the_same_charts(speak):
    speak("en")
    english = app(SMALL)
    drawn = {}
    for page in PAGES:
        goto(english, page)
        drawn[page] = chart_rows(english)
        assert english_left(english), f"{page}: the check finds no English on the English page"
    speak("fr")
    at = app(SMALL + "&lang=fr")
    for page in PAGES:
        goto(at, page)
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        assert at.title[0].value == _french(BY_PATH[page].title), page
        assert english_left(at) == [], page
        assert chart_rows(at) == drawn[page], page  # the same charts, drawing the same data
        # the story's steps carry their own sentences; Scale x depth speaks when its map crosses
        if page not in ("scale_depth", "story"):
            assert any(m.value.startswith("**Ce qu'il faut remarquer**") for m in at.markdown), page
        assert at.query_params.get("lang") in ("fr", ["fr"]), page  # the link keeps its language


@pytest.mark.slow
def test_the_language_selector_switches_back_to_english_and_drops_the_key(speak):
    speak("fr")
    at = app(SMALL + "&lang=fr")
    goto(at, "lessons")
    assert at.title[0].value == "Leçons"
    speak("en")
    at.selectbox(key="_language").select("en").run()
    assert at.title[0].value == "Lessons"
    assert "lang" not in at.query_params
    assert english_left(at), "the check finds no English on the English page"


@pytest.mark.slow
def test_an_unknown_language_is_english_with_a_warning(speak):
    at = app(SMALL + "&lang=xx")
    assert at.title[0].value == "Overview"
    assert any("lang" in w.value for w in at.warning), [w.value for w in at.warning]


# ------------------------------------------------------------------ a French lesson link in Chromium
@pytest.mark.browser
def test_a_french_lesson_link_opens_in_french(server, browser):
    """On the browser tests' server, in their Chromium (tests/conftest.py)."""
    from playwright.sync_api import expect

    from tests.test_browser import LOAD_TIMEOUT, VIEWPORT, goto_via_sidebar, query, wait_ready

    lesson = BY_SLUG["vanish-explode"]
    view = getattr(lesson, "view", None) or {}
    path = "" if lesson.page == PAGES[0] else lesson.page
    link = f"/{path}?{lesson.query}" + ("&" + urlencode(sorted(view.items())) if view else "") + "&lang=fr"
    page_title = _french(BY_PATH[lesson.page].title)
    lessons_title = _french(BY_PATH["lessons"].title)
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(server["base"] + link)
        wait_ready(page, page_title, timeout=LOAD_TIMEOUT)
        expect(page.get_by_text("Ce qu'il faut remarquer").first).to_be_visible()
        expect(page.locator("[data-testid=stSidebarNav] a").filter(has_text=lessons_title)).to_have_count(1)
        goto_via_sidebar(page, lessons_title)
        expect(page.get_by_role("heading", name=_french(lesson.title))).to_be_visible()
        expect(page.get_by_text("Votre configuration actuelle est la leçon").first).to_be_visible()
        assert query(page).get("lang") == ["fr"]
    finally:
        context.close()


@pytest.mark.slow
def test_a_bad_link_is_explained_in_french():
    """The link warnings a French visitor reads: the value refused, what is allowed and the default used, in
    French; the parameter names and values stay as written in the link."""
    at = app("lang=fr&depth=999&bogus=1&seeds=2&epochs=3&width=4")
    warnings = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "depth\u00a0: reçu '999'" in warnings and "un nombre entier dans [1, 50]" in warnings, warnings
    assert f"valeur par défaut utilisée\u00a0: {FIELDS['depth'].default}" in warnings, warnings
    assert "bogus\u00a0: paramètre inconnu" in warnings, warnings
    assert "got" not in warnings and "using the default" not in warnings
    english = app("depth=999&seeds=2&epochs=3&width=4")
    assert "depth: got '999'; allowed: a whole number in [1, 50]" in " ".join(
        w.value for w in english.warning).replace("\\", "")


@pytest.mark.slow
def test_the_work_limit_is_explained_in_french():
    """A link past the server's limits: the estimate, the limits and the advice in French, the numbers as
    computed (core.runtime.budget.Estimate)."""
    from core import ExperimentConfig
    from core.runtime import budget
    query = "lang=fr&" + "&".join(f"schemes=normal%3Astd%3D{s}" for s in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)) + \
        "&seeds=20&epochs=5000&n_samples=20000&width=256&depth=8"
    at = app(query)
    errors = " ".join(e.value for e in at.error).replace("\\", "")
    config = ExperimentConfig.from_query(query.replace("lang=fr&", ""))
    e = budget.estimate(budget.replace(config, record_epochs=budget.LEAST_RECORDS))  # the least detail's
    assert "Cette configuration est trop grande pour ce serveur" in errors, errors
    assert f"environ {e.seconds:,.0f} s d'entraînement (limite 35 s)" in errors, errors
    assert "Mo de mémoire (limite 650 Mo)" in errors and "MB" not in errors, errors
    assert "too large" not in errors and "about" not in errors


def _warning_text(at) -> str:
    return " ".join(w.value for w in at.warning).replace("\\", "")


# one bad value of each kind a link can carry: scheme parameters (out of range, unknown, a after b), a repeated
# scheme, a bias parameter that is no number, and two rules between fields (a width per layer for another depth,
# more classes than make_classification can place); v=1 with ELU and he_normal adds the version notes
BAD_LINK = ("v=1&activation=elu&seeds=1&epochs=3&n_samples=100&schemes=normal%3Astd%3D-1&schemes=he_normal%3Abogus%3D1"
            "&schemes=truncated_normal%3Aa%3D1%2Cb%3D0&schemes=he_normal&schemes=he_normal&bias=normal%3Astd%3Dx"
            "&depth=2&width=8,8,8&dataset=classification&features=1&classes=3")


@pytest.mark.slow
def test_bad_scheme_parameters_and_field_conflicts_are_explained_in_french():
    """The warnings of core.config, core.nn.initializers and the cross-field rules: French words around the link's
    own names and values; the same link in English keeps the English text (the CLI and the API speak it)."""
    warnings = _warning_text(app("lang=fr&" + BAD_LINK))
    nb = "\u00a0"
    for french in (f"schéma 'normal', paramètre 'std'{nb}: reçu '-1'{nb}; accepté{nb}: (0.0, 100.0]{nb}; entrée ignorée",
                   f"schéma 'he_normal'{nb}: paramètre inconnu 'bogus'",
                   "paramètres 'a' et 'b'", "accepté\u00a0: a inférieur à b",
                   f"'he_normal' donné deux fois{nb}; gardé une seule fois",
                   f"biais 'normal', paramètre 'std'{nb}: reçu 'x'{nb}; accepté{nb}: un nombre écrit en chiffres",
                   f"width{nb}: reçu '8,8,8'{nb}; accepté{nb}: un seul nombre, ou exactement depth=2 nombres",
                   f"classes{nb}: reçu 3{nb}; accepté{nb}: au plus 2**features = 2 avec dataset=classification",
                   f"v{nb}: ce lien a été créé avec la version 1", "le gain de He pour elu est dérivé depuis la version 2",
                   "dead_or_saturated compte désormais les unités ELU"):
        assert french in warnings, (french, warnings)
    for english in ("got", "allowed", "entry dropped", "unknown parameter", "given twice", "using the default",
                    "this link was made", "derived since", " and "):
        assert english not in warnings, (english, warnings)
    english = _warning_text(app(BAD_LINK))
    for text in ("schemes: scheme 'normal', parameter 'std': got '-1'; allowed: (0.0, 100.0]; entry dropped",
                 "scheme 'truncated_normal', parameters 'a' and 'b': got a=1.0, b=0.0; allowed: a below b",
                 "width: got '8,8,8'; allowed: one number, or exactly depth=2 numbers; using the default width 32",
                 "classes: got 3; allowed: at most 2**features = 2 with dataset=classification and features=1",
                 "v: this link was made with version 1 (now 3): He's gain for elu is derived since version 2"):
        assert text in english, (text, english)


@pytest.mark.slow
def test_sweep_settings_and_notes_are_explained_in_french(speak):
    """The Scale × depth page's warnings come from core.sweeps.sweep: a repeated value, a depth out of range (whose
    French message starts "depth\u00a0:", which the axis drops as it does "depth:") and the note on the schemes
    a sigma_w axis leaves out."""
    from tests.test_app import sweep_link
    # a map of training (its estimate is the caption checked below): the default measure needs none
    query = sweep_link(sweep_metric="final_test_accuracy").replace(
        "sweep_x_values=0.7%2C1.4", "sweep_x_values=0.7%2C0.7").replace(
        "sweep_y_values=1%2C2", "sweep_y_values=0%2C1")
    assert "0.7%2C0.7" in query and "0%2C1" in query, query
    speak("fr")
    at = goto(app(query + "&lang=fr"), "scale_depth")
    assert not at.exception and not at.error, ([e.value for e in at.exception], [e.value for e in at.error])
    warnings, captions = _warning_text(at), " ".join(c.value for c in at.caption).replace("\\", "")
    assert "axe sigma_w\u00a0: reçu '0.7' deux fois\u00a0; accepté\u00a0: chaque valeur une seule fois" in warnings, warnings
    assert "valeurs par défaut de sigma_w utilisées\u00a0: 0.5,1,1.5,2,3" in warnings, warnings
    assert "axe depth\u00a0: reçu '0'\u00a0; accepté\u00a0: un nombre entier dans [1, 50]" in warnings, warnings
    assert "got" not in warnings and "using the defaults" not in warnings, warnings
    assert "schémas sans σ_w (écart type des poids × √fan-in) écartés du balayage\u00a0: zeros" in captions, captions
    assert "(limite 650 Mo)" in captions and "MB" not in captions, captions  # the sweep's estimate
    assert "left out" not in captions
    speak("en")
    english = goto(app(query), "scale_depth")
    assert "axis depth: got '0'; allowed: a whole number in [1, 50]; using the defaults of depth" in _warning_text(
        english)


@pytest.mark.slow
def test_the_export_row_counts_and_the_summary_headers_are_french(speak):
    speak("fr")
    at = app(SMALL + "&lang=fr")
    assert "unités cachées distinctes (minimum)" in at.dataframe[0].value.columns
    goto(at, "export")
    counts = [m.value for m in at.markdown if m.value.startswith("**summary**")]
    assert len(counts) == 1 and re.fullmatch(r"\*\*summary\*\* — 6 lignes", counts[0]), counts
    speak("en")
    english = goto(app(SMALL), "export")
    assert "**summary** — 6 rows" in [m.value for m in english.markdown]


@pytest.mark.slow
def test_no_function_hides_the_translation_function():
    """``name, _, rest = ...`` makes ``_`` a local of the whole function: a ``_("...")`` in that function then
    calls the string it unpacked (TypeError), or fails before the assignment (UnboundLocalError)."""
    for source in i18n.SOURCES:
        path = ROOT / source
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            for fn in ast.walk(ast.parse(file.read_text(), str(file))):
                if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                names = [n for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id == "_"]
                if any(isinstance(n.ctx, ast.Load) for n in names):
                    assert not any(isinstance(n.ctx, ast.Store) for n in names), f"{file}:{fn.lineno}: {fn.name}"


def test_clauses_follow_the_language_and_no_code_joins_them_by_hand():
    try:
        i18n.set_language("fr")
        assert i18n.clauses(["a", "b", "c"]) == "a\u00a0; b\u00a0; c"  # French: a non-breaking space before ";"
    finally:
        i18n.set_language("en")
    assert i18n.clauses(["a", "b"]) == "a; b" and i18n.clauses([]) == ""
    # every list of clauses a page shows goes through i18n.clauses, so none keeps the English semicolon
    by_hand = [f"{p.relative_to(ROOT)}:{n}" for d in ("core", "app", "pages") for p in (ROOT / d).rglob("*.py")
               for n, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"""["']; ["']\s*\.join""", line)]
    assert by_hand == []


def test_the_formulas_words_are_marked_and_in_french_the_maths_unchanged(speak):
    from core.nn import initializers
    formulas = ([i.formula for i in initializers.INITIALIZERS.values()]
                + [b.formula for b in initializers.BIASES.values()])
    words = {w for f in formulas for w in initializers.formula_words(f)}
    assert words and words <= set(initializers.FORMULA_WORDS)  # each one in the catalogs
    speak("fr")
    no_words = re.compile(r"\\text\{[^{}]*\}")
    for f in formulas:
        assert f.count(r"\text") == len(initializers.formula_words(f)), f  # every word group is one it reads
        french = initializers.formula_in_language(f)
        assert words.isdisjoint(initializers.formula_words(french)), french  # no English word left
        assert no_words.sub("", french) == no_words.sub("", f)  # and the same maths
    he = initializers.formula_in_language(initializers.INITIALIZERS["he_normal"].formula)
    assert r"n_{in}\ \text{ou}\ n_{out}" in he


# ------------------------------------------------------------------ numbers in the reader's language
def test_numbers_take_the_languages_symbols_and_keep_their_digits(speak):
    from core.views import phrases
    from core.formatting import number_text

    speak("fr")
    assert phrases.number(0.086421) == "0,0864" and phrases.factor(0.5) == "×0,50"
    assert phrases.percent(0.985) == "98\u00a0%" and number_text(2424, ",") == "2\u202f424"
    # a translated message writes its number fields, NumPy's too, the French way; text fields as they are
    message = i18n.gettext("{share:.0%} of {n:,} at {x}, {label}, {raw!r}")
    assert message.format(share=np.float64(0.5), n=np.int64(1234567), x=np.float32(0.25), label="std=0.5",
                          raw=0.5) == "50\u00a0% of 1\u202f234\u202f567 at 0,25, std=0.5, 0.5"
    speak("en")
    assert phrases.number(0.086421) == "0.0864" and phrases.percent(0.985) == "98%"
    assert message.format(share=0.5, n=1234567, x=0.25, label="std=0.5", raw=0.5) == \
        "50% of 1,234,567 at 0.25, std=0.5, 0.5"


# An ASCII number a French page may still show: a link's or a parameter's value (key=0.5, a URL), and the
# formulas' constants. pages/restarts.py formats its own numbers (its sentences are another change's).
LINK_VALUE = re.compile(r"[=/]\d*\.\d|\(\d+\.\d+,|\d+\.\d+\s*z\b")


def french_sentences(at) -> list[str]:
    out = []
    for kind in ("markdown", "caption", "warning", "info", "subheader"):
        out += [str(el.value) for el in getattr(at, kind) if "<table" not in str(el.value)]
    out += [el.proto.label for el in at.get("download_button")]
    # a markdown link's address is a link; markdown shown literally escapes punctuation (app.text.literal)
    return [re.sub(r"\\(.)", r"\1", re.sub(r"\]\([^)]*\)", "]", t)) for t in out]


@pytest.mark.slow  # drives every page in French
def test_french_pages_write_decimal_commas_and_thin_spaces(speak):
    speak("fr")
    at = app(SMALL + "&lang=fr")
    seen = ""
    for page in PAGES:
        goto(at, page)
        text = "\n".join(french_sentences(at))
        seen += text
        if page != "restarts":
            ascii_numbers = [m.group() for m in re.finditer(r"\S*\d\.\d\S*", text)
                             if not LINK_VALUE.search(m.group())]
            assert not ascii_numbers, (page, ascii_numbers)
        for el in at.get("vega_lite_chart"):  # axes, legends and tooltips
            assert json.loads(el.proto.spec)["config"]["locale"]["number"]["decimal"] == ",", page
        if page == "overview":  # the summary table's numbers, as text in French
            shown = at.dataframe[0].value
            assert any(re.fullmatch(r"0,\d+", str(v)) for v in shown.iloc[:, 1]), shown
        if page == "activations":
            assert re.search(r"\d,\d", text), page
    assert re.search(r"\d\u202f\d{3} lignes", seen)  # thousands: the export page's row counts
    # the CSV a French page downloads, written while the thread speaks French, keeps plain ASCII numbers
    from core import ExperimentConfig, export, run
    summary = run(ExperimentConfig.from_query(SMALL)).frames["summary"]
    data = export.csv_bytes(summary, "r")
    assert data.decode("ascii") and re.search(rb",0\.\d", data)
    back = pd.read_csv(io.BytesIO(data))  # numbers read back as numbers: '.' decimals, no grouping
    pd.testing.assert_series_equal(back["final_test_loss"], summary["final_test_loss"].astype(float), rtol=1e-12)


# ------------------------------------------------------------------ the Scale × depth page in words
def link_names_shown(at) -> list[str]:
    """Axis and measure link keys (sigma_w, final_test_accuracy, ...) a visitor reads on the page; the command
    line it offers (a code block) is a link's text and may hold them."""
    from core.config import SWEEP_AXES, SWEEP_METRICS
    names = [n for n in SWEEP_AXES + SWEEP_METRICS if "_" in n]
    specs = [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]
    fields = {t for spec in specs for t in _strings(spec)} - {t for spec in specs for t in chart_words(spec)}
    texts = [t for t in shown_texts(at) if t not in fields]  # a chart's field names are not shown
    return sorted({n for text in texts for n in names if n in text})


def chart_words(value, key=None):
    """The words a chart shows: its titles (chart, axes, legends, tooltips) and its text marks."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from chart_words(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from chart_words(v, key)
    elif isinstance(value, str) and key in ("title", "text", "subtitle"):
        yield value


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_scale_depth_page_names_axes_and_measures_in_words(speak, lang):
    from app.sweeps import SWEEPS
    from tests.test_app import sweep_link

    SWEEPS.clear()
    speak(lang)
    at = goto(app(sweep_link(sweep="true") + f"&lang={lang}"), "scale_depth")
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    assert at.get("vega_lite_chart")  # the map is drawn, with its axes and legend
    assert link_names_shown(at) == []
    words = {"en": "final test accuracy", "fr": "exactitude de test finale"}[lang]
    assert at.radio(key="sweep_metric").options[0] == words
    # the link holds the measure's key, whatever the words
    at.radio(key="sweep_metric").set_value("gradient_ratio").run()
    assert at.query_params.get("sweep_metric") in ("gradient_ratio", ["gradient_ratio"])
    assert link_names_shown(at) == []
    SWEEPS.clear()


def test_axis_values_take_semicolons_and_french_decimal_commas(speak):
    from core.config import parse_sweep_keys
    from tests.test_app import sweep_link

    good, problems = parse_sweep_keys({"sweep_x_values": "0,7; 1,4", "sweep_y_values": "1 2"})
    assert not problems and good == {"sweep_x_values": "0.7,1.4", "sweep_y_values": "1,2"}
    assert parse_sweep_keys({"sweep_x_values": "0.7, 1.4"})[0] == {"sweep_x_values": "0.7,1.4"}
    speak("fr")
    at = goto(app(sweep_link().replace("sweep_x_values=0.7%2C1.4", "sweep_x_values=0%2C7%3B+1%2C4")
                  + "&lang=fr"), "scale_depth")
    assert not at.warning, [w.value for w in at.warning]
    assert "sweep_x_values=0.7%2C1.4" in at.get("code")[0].proto.code_text  # the same sweep
    assert at.text_input(key="sweep_y_values").proto.placeholder == "1; 2; 4; 8; 16"
    assert at.text_input(key="sweep_x_values").proto.placeholder == "0,5; 1; 1,5; 2; 3"


@pytest.mark.slow  # trains the default configuration
def test_french_overview_says_who_diverged_in_french():
    """The default run's normal:std=1 diverges: the Overview's warning names the models in French, not with
    the CSV's English status ("diverged at epoch 1")."""
    from tests.test_app import app
    at = app("lang=fr")
    warned = [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning if "✚" in w.value]  # shown literally
    assert len(warned) == 1 and "a divergé à l'époque" in warned[0] and "diverged" not in warned[0], warned
