"""View controls: what a page shows of the results (epoch, layer, seed, quantity, ...), each kept in the link
under its view key (``core.config.VIEWS``), so a link reopens the same page in the same view.

Why the binding is done here and not with ``bind="query-params"``: a bound Streamlit widget writes the label
it displays into the URL (its serde stores the formatted option, see streamlit/elements/widgets/radio.py), so
a translated label ("pré-activations") would make links depend on the language, and ``VIEWS`` could not
check them. Here the URL holds the stable token (``quantity=preactivation``) and the widget shows words.
This module gives view keys the rules Streamlit gives bound keys:

- a control's first render on a page takes its value from the link. ``app.links.repair_link`` has already
  dropped values ``VIEWS`` refuses (with a warning); here a value the results do not hold (epoch 7 when 7 was
  not recorded, layer 9 of a 4-layer network) gets a warning naming it, and the page's default is used;
- then the widget rules, and its value is written to the URL, left out when it is the page's default;
- a page switch drops the view keys the previous page wrote (Streamlit drops params bound on another page:
  streamlit/runtime/state/query_params.py, ``populate_from_query_string`` with ``valid_script_hashes``).
  A view key in a link that the page has no control for gets a warning and is dropped.

Every page creates one ``PageView`` (pages without controls too: that is what drops the previous page's keys).
The view each page last showed is kept for the session, so the Export page can share a page with its view.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence
from urllib.parse import urlencode

import streamlit as st

from core.config import VIEWS
from core.i18n import N_, _

from .links import url_value
from .text import literal

OWNERS = "_view_owners"  # view key -> the page that wrote it into the URL
WARNINGS = "_view_warnings"  # warnings of the page shown now
PAGE = "_view_page"  # the page that ran last
PREVIOUS = "_view_previous_page"  # the page before it (the Export page offers it as the page to share)
SHOWN = "_view_shown"  # page -> {view key: URL value} of the non-default view it last showed
# 'lang' belongs to the language selector (every page), not to a page's view.
PAGE_KEYS = tuple(k for k in VIEWS if k != "lang")


def widget_key(page: str, key: str) -> str:
    """The session-state key of a page's control; also how tests and AppTest find it."""
    return f"view_{page}_{key}"


class PageView:
    """The view controls of one page run. Create it right after the page title."""

    def __init__(self, page: str, keys: Sequence[str] = ()):
        self.page = page
        self.keys = tuple(keys)
        state = st.session_state
        owners: dict[str, str] = state.setdefault(OWNERS, {})
        if state.get(PAGE) != page:  # arrived from another page (or the session's first run)
            for key, owner in list(owners.items()):
                if owner != page:
                    if key in st.query_params:
                        del st.query_params[key]
                    del owners[key]
            if state.get(PAGE) is not None:
                state[PREVIOUS] = state.get(PAGE)
            state[PAGE] = page
            state[WARNINGS] = []
        self._slot = st.container()
        for w in state[WARNINGS]:
            self._show(w)
        for key in PAGE_KEYS:  # view keys of a link that this page does not show
            if key in st.query_params and key not in self.keys and owners.get(key) != page:
                self.warn(_("{key}: not a view of this page; ignored").format(key=key))
                del st.query_params[key]
        state.setdefault(SHOWN, {})[page] = {}

    # ------------------------------------------------------------ warnings
    def _show(self, warning: str) -> None:
        self._slot.warning(_("Link parameter ignored — {warning}").format(warning=literal(warning)),
                           icon=":material/warning:")

    def warn(self, warning: str) -> None:
        st.session_state[WARNINGS].append(warning)
        self._show(warning)

    # ------------------------------------------------------------ binding
    def _start(self, key: str, options: Sequence, default, describe: Callable[[Any], str] = str) -> str:
        """The control's session-state key, holding its value before the widget is drawn: the link's value
        on its first render (checked against ``options``), else the widget's own."""
        assert key in self.keys, f"{key} is not declared by the page {self.page}"
        wkey = widget_key(self.page, key)
        state = st.session_state
        if wkey in state and state[wkey] in options:
            return wkey
        value = default
        if wkey not in state and key in st.query_params:
            value = self._from_link(key, options, default, describe)
        state[wkey] = value
        return wkey

    def _from_link(self, key: str, options: Sequence, default, describe) -> Any:
        raw = st.query_params.get_all(key)
        try:
            if len(raw) != 1:
                raise ValueError(_("{key}: got {value}; allowed: once").format(key=key, value=repr(raw)))
            parsed = VIEWS[key].parse(raw[0])
        except ValueError as e:
            self.warn(_("{error}; using the page's default {default}").format(error=e, default=describe(default)))
            return default
        for option in options:
            if url_value(key, option) == url_value(key, parsed):
                return option
        shown = ", ".join(describe(o) for o in options)
        self.warn(_("{key}: got {value}; these results hold {options}; using the page's default {default}").format(
            key=key, value=raw[0], options=shown, default=describe(default)))
        return default

    def _record(self, key: str, value, default) -> None:
        """Write the control's value into the URL (left out at the page's default) and remember it."""
        owners = st.session_state[OWNERS]
        shown = st.session_state[SHOWN][self.page]
        if value == default:
            if key in st.query_params:
                del st.query_params[key]
            shown.pop(key, None)
        else:
            token = url_value(key, value)
            if st.query_params.get_all(key) != [token]:
                st.query_params[key] = token
            shown[key] = token
        owners[key] = self.page

    def fixed(self, key: str, value, options: Sequence | None = None):
        """A view value with no widget (a single seed, say): a link may still name it, and is checked."""
        options = list(options) if options is not None else [value]
        wkey = self._start(key, options, value)
        chosen = st.session_state[wkey]
        self._record(key, chosen, value)
        return chosen

    # ------------------------------------------------------------ controls
    def epoch(self, epochs: Sequence[int], default: int, label: str | None = None, help: str | None = None) -> int:
        epochs = [int(e) for e in epochs]
        wkey = self._start("epoch", epochs, int(default))
        value = st.select_slider(label or _("Epoch"), epochs, key=wkey, help=help)
        self._record("epoch", value, int(default))
        return value

    def layer(self, layers: Sequence[int], default: int, label: str | None = None, help: str | None = None) -> int:
        layers = [int(l) for l in layers]
        last = layers[-1]

        def describe(l):
            return _("{layer} (output)").format(layer=l) if l == last else str(l)

        wkey = self._start("layer", layers, int(default), describe)
        value = st.selectbox(label or _("Layer"), layers, key=wkey, format_func=describe, help=help)
        self._record("layer", value, int(default))
        return value

    def seed(self, seeds: int, label: str | None = None) -> int:
        if seeds == 1:
            return self.fixed("seed", 0)
        options = list(range(seeds))
        wkey = self._start("seed", options, 0)
        value = st.selectbox(label or _("Seed"), options, key=wkey)
        self._record("seed", value, 0)
        return value

    def metric(self, task: str) -> str:
        """Loss or accuracy (key ``metric``); a regression has only the loss."""
        if task == "classification":
            return self.choice("metric", {"loss": N_("loss"), "accuracy": N_("accuracy")}, "loss", _("Metric"))
        return self.fixed("metric", "loss")

    def choice(self, key: str, options: dict[str, str], default: str, label: str, help: str | None = None,
               horizontal: bool = True) -> str:
        """A radio over ``options`` (URL token -> words, marked with N_; shown translated)."""
        tokens = list(options)

        def describe(t):
            return _(options[t])

        wkey = self._start(key, tokens, default, lambda t: t)
        value = st.radio(label, tokens, key=wkey, format_func=describe, horizontal=horizontal, help=help)
        self._record(key, value, default)
        return value

    def flag(self, key: str, default: bool, label: str, help: str | None = None) -> bool:
        wkey = self._start(key, [False, True], bool(default), lambda b: "true" if b else "false")
        value = st.toggle(label, key=wkey, help=help)
        self._record(key, value, bool(default))
        return value

    def tabs(self, key: str, options: dict[str, str], widget: str) -> list:
        """Streamlit's stateful tabs (a click reruns the page, and each tab's ``.open`` says whether to build
        it) whose open tab is the view key ``key``: ``options`` maps URL tokens to words (marked with N_), the
        first is the default. ``widget`` is the tabs' session-state key; it holds the open tab's label, so
        the token is kept beside it, and a language switch reopens the same tab under its new label."""
        assert key in self.keys, f"{key} is not declared by the page {self.page}"
        tokens = list(options)
        labels = {t: _(options[t]) for t in tokens}
        state = st.session_state
        kept = widget + "_token"
        current = state.get(widget)
        if current in labels.values():
            token = next(t for t in tokens if labels[t] == current)
        elif current is not None and state.get(kept) in labels:  # the same tabs, their labels in a new language
            token = state[kept]
        elif current is None and key in st.query_params:  # the page's first run
            token = self._from_link(key, tokens, tokens[0], lambda t: t)
        else:
            token = tokens[0]
        if current != labels[token]:
            state[widget] = labels[token]
        state[kept] = token
        # on a phone the row of tabs wraps instead of scrolling behind an arrow that hides the last ones
        st.html(f"<style>@media (max-width: 640px) {{ .st-key-{widget} [role=tablist] {{ flex-wrap: wrap; "
                f"row-gap: 0.25rem; }} .st-key-{widget} [role=tab] {{ height: 2rem; }} }}</style>")
        containers = st.tabs(list(labels.values()), key=widget, on_change="rerun")
        self._record(key, token, tokens[0])
        return containers


def own_link_key(page: str, key: str, value: str, default: str) -> None:
    """A link key that ``page`` binds itself, where a bound widget would write the words it shows (the Scale
    × depth page's axes and measure): ``value`` goes into the URL, left out at ``default``, and is dropped
    when the visitor goes to another page, as the view keys are."""
    if value == default:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get_all(key) != [value]:
        st.query_params[key] = value
    st.session_state.setdefault(OWNERS, {})[key] = page


def shown_view(page: str) -> dict[str, str]:
    """The non-default view keys ``page`` last showed in this session (empty if never shown)."""
    return dict(st.session_state.get(SHOWN, {}).get(page, {}))


def previous_page() -> str | None:
    return st.session_state.get(PREVIOUS)


def view_query(view: dict[str, str]) -> str:
    return urlencode(sorted(view.items()))
