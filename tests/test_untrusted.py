"""Untrusted input: numbers in odd spellings are refused, and whatever a link or a text box puts on a page
renders as its literal characters (no link, image, emphasis, HTML or request to another host).

The browser part runs its own fresh server and Chromium (Debian's), logging every request the page makes.
"""
from __future__ import annotations

import math
import re
import string
from urllib.parse import quote, urlparse

import pytest
from hypothesis import given, strategies as st

from app.text import clean, literal
from core.config import ExperimentConfig
from core.numbers import plain_number

# ------------------------------------------------------------------ numbers


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_float_python_writes_is_a_plain_number(x):
    assert plain_number(repr(x)) == x


@given(st.text(max_size=12))
def test_plain_number_takes_only_ascii_decimal_or_scientific(text):
    ok = re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", text) is not None
    if ok:
        assert plain_number(text) == float(text)
    else:
        with pytest.raises(ValueError):
            plain_number(text)


@pytest.mark.parametrize("spelling", ["1_0", "１０", "١٠", " 10", "10\n", "0x10", "1e", "infinity", "nan", "½"])
def test_odd_spellings_of_numbers_are_named_warnings_in_links_and_errors_in_the_api(spelling):
    config, warnings = ExperimentConfig.from_query_lenient({"epochs": [spelling], "lr": ["0.05"]})
    assert config.epochs == 100 and config.lr == 0.05
    assert len(warnings) == 1 and warnings[0].startswith("epochs:"), warnings
    with pytest.raises(ValueError, match="^epochs:"):
        ExperimentConfig(epochs=spelling)
    if spelling.strip() != spelling:  # a scheme's parts are trimmed (the label is the trimmed entry)
        return
    with pytest.raises(ValueError, match="^schemes: scheme 'normal', parameter 'std'"):
        ExperimentConfig(schemes=(f"normal:std={spelling}",))


@given(st.sampled_from(["-", "+", ""]), st.sampled_from(["0", "0.", ".0", "0.000", "00"]),
       st.sampled_from(["", "e0", "e-5", "E+300"]))
def test_negative_zero_is_zero_wherever_a_number_is_read(sign, digits, exponent):
    text = sign + digits + exponent
    assert math.copysign(1.0, plain_number(text)) == 1.0
    config, warnings = ExperimentConfig.from_query_lenient({"noise": [text], "weight_decay": [text],
                                                            "schemes": [f"constant:value={text}"],
                                                            "bias": [f"constant:value={text}"]})
    assert not warnings and math.copysign(1.0, config.noise) == 1.0 and config.weight_decay == 0.0
    assert ExperimentConfig.from_json('{"noise": -0.0}').noise == 0.0


def test_a_negative_zero_noise_trains_as_zero():
    """The issue: noise=-0 passed validation, then NumPy refused it ("scale < 0") on every page and the CLI."""
    from core import experiment
    from core.config import replace
    config = ExperimentConfig.from_query("noise=-0&schemes=constant%3Avalue%3D-0.0&schemes=he_normal&seeds=1&epochs=2"
                                         "&width=4&depth=1&record_epochs=2&n_samples=60")
    results = experiment.run(config)
    zero = experiment.run(replace(config, noise=0.0))
    assert (results.frames["summary"]["final_test_accuracy"].values
            == zero.frames["summary"]["final_test_accuracy"].values).all()
    W, _b = results.weights("constant:value=-0.0", seed=0, which="initial")[0]
    assert not W.any() and not math.copysign(1.0, W.flat[0]) < 0


def test_a_repeated_v_is_warned_about_like_any_repeated_key():
    from core.config import SCHEMA_VERSION
    config, warnings = ExperimentConfig.from_query_lenient({"v": ["1", "2"], "epochs": ["7"]})
    assert config.epochs == 7
    assert warnings == [f"v: given 2 times; allowed: once; read as version {SCHEMA_VERSION}"]
    with pytest.raises(ValueError, match="^v: given 2 times"):
        ExperimentConfig.from_query("v=1&v=2")


def test_a_query_string_streamlit_drops_reaches_the_page_as_a_warning():
    from streamlit.runtime.state.query_params import CLIENT_STATE_QUERY_STRING_MAX_FIELDS, sanitize_query_string

    from app.links import DROPPED_KEY, dropped_warning, dropping_check
    check = dropping_check(sanitize_query_string)
    long = "&".join(["seeds=2"] * (CLIENT_STATE_QUERY_STRING_MAX_FIELDS + 1))
    assert sanitize_query_string(long) == ""  # Streamlit's own: the whole link gone, without a word
    kept = check(long)
    assert kept == f"{DROPPED_KEY}={CLIENT_STATE_QUERY_STRING_MAX_FIELDS + 1}%3A{len(long)}"
    assert check("seeds=2&epochs=3") == "seeds=2&epochs=3" and check("") == ""
    (warning,) = dropped_warning([f"{CLIENT_STATE_QUERY_STRING_MAX_FIELDS + 1}:{len(long)}"])
    assert "1001 fields" in warning and "1,000 fields" in warning and "defaults" in warning


def _repair_link_page():
    import streamlit as st

    from app.links import repair_link
    for warning in repair_link():
        st.warning(warning)


def test_a_dropped_link_warns_and_leaves_the_address_bar():
    from streamlit.testing.v1 import AppTest

    from app.links import DROPPED_KEY
    at = AppTest.from_function(_repair_link_page, default_timeout=60)
    at.query_params[DROPPED_KEY] = "1500:9000"
    at.run()
    assert not at.exception
    assert [w.value for w in at.warning if "1500 fields" in w.value and "defaults" in w.value]
    assert DROPPED_KEY not in at.query_params


def test_scheme_labels_are_trimmed_and_refuse_control_characters():
    assert ExperimentConfig(schemes=(" normal : std = 0.5 ",)).schemes == ("normal:std=0.5",)
    for bad in ("normal:std=1\nhe_normal", "normal\u202e:std=1", "he_normal\x00"):
        with pytest.raises(ValueError, match="control characters"):
            ExperimentConfig(schemes=(bad,))


# ------------------------------------------------------------------ literal()


def shown(markdown: str) -> str:
    """What CommonMark shows for the only markup literal() writes: backslash escapes of ASCII punctuation,
    and whole words as code spans (fenced by a run of backticks, padded by one space where the word starts
    or ends with a backtick)."""
    out, i = [], 0
    while i < len(markdown):
        fence = re.match(r"`+", markdown[i:])
        if fence:  # a code span: up to the next run of exactly as many backticks
            n = len(fence.group())
            end = re.compile(rf"(?<!`)`{{{n}}}(?!`)").search(markdown, i + n)
            assert end, markdown
            inner = markdown[i + n:end.start()]
            if inner.startswith(" ") and inner.endswith(" ") and inner.strip(" "):
                inner = inner[1:-1]
            out.append(inner)
            i = end.end()
            continue
        if markdown[i] == "\\":
            assert markdown[i + 1] in string.punctuation, markdown
            out.append(markdown[i + 1])
            i += 2
            continue
        # outside code spans no punctuation mark is left unescaped, so no markdown or HTML construct starts
        assert markdown[i] not in string.punctuation, markdown
        out.append(markdown[i])
        i += 1
    return "".join(out)


@given(st.text())
def test_literal_shows_exactly_the_text(text):
    md = literal(text)
    assert shown(md) == clean(text)
    assert not any(ch in md for ch in "\n\r\t\x00\u202e")


@given(st.text(alphabet="ab:/.@w`[]() ", max_size=40))
def test_literal_shows_url_like_text_too(text):
    assert shown(literal(text)) == clean(text)


# ------------------------------------------------------------------ in the browser

HOSTILE = {
    "link": "[click me](https://evil.example/login)",
    "image": "![x](https://evil.example/t.png)",
    "bold": "**bold** and `code` and $x^2$",
    "html": "<img src=https://evil.example/h.png onerror=alert(1)><b>html</b>",
    "control": "a\nb\u202ec\x1b[31m",
    "color": ":red[red] :material/home:",
}


@pytest.fixture(scope="module")
def browser_page(server, browser):
    """The browser tests' server and Chromium (tests/conftest.py), and one context that records every request."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    yield server["base"], context, requests
    context.close()


def _alerts(page) -> list[str]:
    return [t.strip() for t in page.locator("[data-testid=stAlert]").all_inner_texts()]


@pytest.mark.parametrize("name", list(HOSTILE))
@pytest.mark.browser
def test_hostile_link_values_show_as_literal_text_and_fetch_nothing(browser_page, name):
    from playwright.sync_api import expect

    base, context, requests = browser_page
    value = HOSTILE[name]
    page = context.new_page()
    try:
        page.goto(f"{base}/overview?dataset={quote(value, safe='')}&{quote(value, safe='')}=1&epochs=5&seeds=1")
        expect(page.locator("h1").filter(has_text="Overview")).to_be_visible(timeout=120_000)
        shown = clean(value)
        expect(page.locator("[data-testid=stAlert]").filter(has_text="dataset: got")).to_have_count(1, timeout=60_000)
        text = "\n".join(_alerts(page))
        assert shown in text, (shown, text)  # the value itself, character for character, in the dataset warning
        assert text.count(shown) >= 2, text  # and as the unknown key's name
        alerts = page.locator("[data-testid=stAlert]")
        assert alerts.locator("a").count() == 0
        assert alerts.locator("img, strong, em, b, .katex").count() == 0  # a code span shows text as it is
        assert page.locator("[href*='evil.example'], [src*='evil.example']").count() == 0
        page.wait_for_timeout(500)
        foreign = [u for u in requests if urlparse(u).hostname not in ("127.0.0.1", None) and not u.startswith("data:")]
        assert not foreign, foreign
    finally:
        page.close()


@pytest.mark.browser
def test_a_typed_scheme_is_shown_literally(browser_page):
    from playwright.sync_api import expect

    base, context, requests = browser_page
    page = context.new_page()
    try:
        page.goto(f"{base}/overview?schemes=he_normal&epochs=5&seeds=1")
        expect(page.locator("h1").filter(has_text="Overview")).to_be_visible(timeout=120_000)
        box = page.locator("[data-testid=stSidebar] [data-testid=stMultiSelect] input").first
        typed = "[x](https://evil.example/s) **b**"
        box.fill(typed)
        box.press("Enter")
        warning = page.locator("[data-testid=stSidebar] [data-testid=stAlert]").filter(has_text="evil.example")
        expect(warning).to_have_count(1, timeout=60_000)
        assert typed in warning.inner_text()
        assert warning.locator("a, strong").count() == 0
        foreign = [u for u in requests if urlparse(u).hostname not in ("127.0.0.1", None) and not u.startswith("data:")]
        assert not foreign, foreign
    finally:
        page.close()
