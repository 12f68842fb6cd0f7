"""Streamlit glue shared by dashboard.py and the pages.

It lives in ``pages/__init__.py`` on purpose: neither Streamlit's legacy
pages-folder mode nor ``st.navigation`` ever treats ``__init__.py`` as a page,
and every page can ``from pages import ...`` it.

Data flow: URL -> ``sidebar()`` (widgets bound to query params, validated by
core.config) -> ExperimentConfig -> ``results_for()`` (one shared, bounded
cache) -> ``Context`` -> pages draw frames with core.charts.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from core import budget, charts, export, initializers, workers
from core.cache import ResultCache
from core.config import FIELDS, SCHEMA_VERSION, ExperimentConfig, format_value, parse_scheme
from core.datasets import DATASETS
from core.experiment import Results, run

BIND = "query-params"
LOG = logging.getLogger("initlab")
CTX_KEY = "_initlab_ctx"

# Variants offered in the scheme picker besides the plain names; any other
# "name:key=value" can be typed in.
SCHEME_VARIANTS = ["normal:std=0.01", "normal:std=1", "normal:std=10", "constant:value=0.5",
                   "uniform:limit=0.05", "orthogonal:gain=1.4142135623730951", "xavier_normal:gain=1.6666666666666667"]


def _inside_legacy_runner() -> bool:
    """True when Streamlit's legacy pages-folder runner (_mpa_v1) is running this script."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "_mpa_v1":
            return True
        frame = frame.f_back
    return False


def ensure_navigation() -> None:
    """Work around Streamlit's pages/ trap (see DESIGN.md, Known traps).

    With a pages/ folder beside the entry file, sessions that start before
    any st.navigation call has run in this server process are run by the
    legacy pages-folder runner: a deep link runs the page file alone, without
    dashboard.py, so the sidebar and its URL-bound state are lost. Several
    sessions opened at once (a classroom) can all start that way, so checking
    the process-wide flag is not enough: we also look for the legacy runner
    on the stack. Clearing the flag and rerunning puts st.navigation in
    charge at once, keeping the URL. Private Streamlit details: re-check on
    upgrades (tests/test_browser.py and bench/many_users.py catch a regression).
    """
    if PagesManager.uses_pages_directory or _inside_legacy_runner():
        PagesManager.uses_pages_directory = False
        st.rerun()


# ------------------------------------------------------------------- results
@st.cache_resource(show_spinner=False)
def start_workers() -> None:
    """Start the training workers in the background once per server (about 2 s), so the first large run
    does not wait for them."""
    def warm():
        try:
            workers.warm()
        except Exception:  # noqa: BLE001 - training then starts them itself, or runs in this process
            LOG.warning("could not start the training workers:\n%s", traceback.format_exc())

    if workers.available():
        threading.Thread(target=warm, name="initlab-workers", daemon=True).start()


def _nbytes(results: Results) -> int:
    frames = sum(int(df.memory_usage(deep=True).sum()) for df in results.frames.values())
    return frames + results.initial.nbytes + results.final.nbytes


RESULTS: ResultCache[Results] = ResultCache(max_entries=8, max_bytes=600_000_000, size_of=_nbytes)


def results_for(config: ExperimentConfig) -> Results:
    cached = RESULTS.get(config)
    if cached is not None:
        return cached
    bar = st.progress(0.0, text="Training…")

    def progress(epoch: int, total: int):
        if epoch == total or epoch % max(1, total // 50) == 0:
            bar.progress(epoch / max(total, 1), text=f"Training {len(config.models)} models: epoch {epoch}/{total}")

    def train() -> Results:
        start = time.perf_counter()
        results = run(config, progress=progress)
        LOG.warning("trained run %s (%d models) in %.2f s", config.run_id, len(config.models),
                    time.perf_counter() - start)
        return results

    try:
        return RESULTS.get_or_compute(config, train)
    finally:
        bar.empty()


# ------------------------------------------------------------------- the URL
def url_value(key: str, value) -> list[str] | str:
    """How a bound widget writes ``value`` into the URL."""
    if key == "schemes":
        return list(value)
    if key == "width":
        return ",".join(map(str, value))
    return format_value(value)


def repair_link() -> list[str]:
    """Validate the link once per session, before any widget binds to it.

    Streamlit drops a bound parameter it cannot use without a word, and it
    accepts some we must refuse (free text, typed scheme names, a repeated
    key). So the first run checks every parameter with core.config; if any
    is wrong it rewrites the URL to the values actually used and reruns, and
    the warnings stay on screen for the session.
    """
    if "_link_warnings" in st.session_state:
        return st.session_state["_link_warnings"]
    raw = {k: st.query_params.get_all(k) for k in st.query_params.keys()}
    config, warnings = ExperimentConfig.from_query_lenient(raw)
    st.session_state["_link_warnings"] = warnings
    if warnings:
        fixed = {"v": str(SCHEMA_VERSION)}
        for key in FIELDS:
            value = getattr(config, key)
            if key in raw and value != FIELDS[key].parse(FIELDS[key].default):
                fixed[key] = url_value(key, value)
        st.query_params.clear()
        st.query_params.update(fixed)
        st.rerun()
    return warnings


# ------------------------------------------------------------------ sidebar
def _on_schemes_change():
    keep, dropped = [], []
    for entry in st.session_state.get("schemes", []):
        try:
            parse_scheme(entry)
            keep.append(entry.strip())
        except ValueError as e:
            dropped.append(str(e))
    if dropped:
        st.session_state["schemes"] = keep or list(FIELDS["schemes"].default)
        st.session_state["_scheme_errors"] = dropped


def _add_variant():
    name = st.session_state["_variant_name"]
    init = initializers.INITIALIZERS[name]
    parts = [f"{p.name}={format_value(st.session_state[f'_variant_{p.name}'])}" for p in init.params]
    entry = name + (":" + ",".join(parts) if parts else "")
    current = list(st.session_state.get("schemes", []))
    if entry not in current:
        st.session_state["schemes"] = current + [entry]


def _number(key: str, label: str, step=None, fmt=None, disabled=False):
    f = FIELDS[key]
    kind = int if f.integer else float
    return st.number_input(label, min_value=kind(f.lo), max_value=kind(f.hi), value=kind(f.default),
                           step=kind(step) if step is not None else None, format=fmt, key=key, bind=BIND,
                           help=f.help, disabled=disabled)


def _select(key: str, label: str):
    f = FIELDS[key]
    return st.selectbox(label, f.choices, index=f.choices.index(f.default), key=key, bind=BIND, help=f.help)


def sidebar() -> tuple[dict, list[str]]:
    """All experiment controls, each bound to its query key. Returns raw values and notes."""
    notes = list(st.session_state.pop("_scheme_errors", []))
    values = {}
    sb = st.sidebar
    with sb:
        options = list(dict.fromkeys([*initializers.INITIALIZERS, *SCHEME_VARIANTS]))
        values["schemes"] = st.multiselect(
            "Schemes compared", options, default=list(FIELDS["schemes"].default), key="schemes", bind=BIND,
            accept_new_options=True, on_change=_on_schemes_change, max_selections=12,
            help="A scheme name, or a name with parameters typed as name:key=value,key=value "
                 "(e.g. normal:std=0.05). Each entry is one side of the comparison.")
        with st.expander("Add a scheme with parameters"):
            name = st.selectbox("Scheme", [n for n, i in initializers.INITIALIZERS.items() if i.params],
                                key="_variant_name")
            for p in initializers.INITIALIZERS[name].params:
                if p.choices:
                    st.selectbox(p.name, p.choices, key=f"_variant_{p.name}")
                else:
                    st.number_input(p.name, value=p.default, min_value=p.lo if not p.lo_open else None,
                                    max_value=p.hi, key=f"_variant_{p.name}", format="%g",
                                    step=1 if p.integer else None)
            st.button("Add to the comparison", on_click=_add_variant, width="stretch")
        values["seeds"] = _number("seeds", "Seeds per scheme")
        with st.expander("Data", expanded=False):
            values["dataset"] = _select("dataset", "Dataset")
            spec = DATASETS[values["dataset"]]
            st.caption(spec.description)
            values["n_samples"] = _number("n_samples", "Samples", step=50, disabled=False)
            values["noise"] = _number("noise", "Noise", step=0.05, disabled=not spec.uses_noise)
            values["test_size"] = _number("test_size", "Test fraction", step=0.05)
            values["features"] = _number("features", "Features", disabled=not spec.uses_features)
            values["classes"] = _number("classes", "Classes", disabled=not spec.uses_classes)
            values["data_seed"] = _number("data_seed", "Data seed")
        with st.expander("Network", expanded=False):
            values["depth"] = _number("depth", "Hidden layers")
            values["width"] = st.text_input("Width", value="32", key="width", bind=BIND, help=FIELDS["width"].help)
            values["activation"] = _select("activation", "Activation")
        with st.expander("Training", expanded=False):
            values["optimizer"] = _select("optimizer", "Optimizer")
            values["lr"] = _number("lr", "Learning rate", step=0.01, fmt="%g")
            values["momentum"] = _number("momentum", "Momentum", step=0.05, fmt="%g",
                                         disabled=values["optimizer"] != "momentum")
            values["batch_size"] = _number("batch_size", "Batch size (0 = full batch)")
            values["epochs"] = _number("epochs", "Epochs", step=10)
            values["weight_decay"] = _number("weight_decay", "Weight decay (L2)", step=0.0001, fmt="%g")
        with st.expander("Probes and precision", expanded=False):
            values["record_epochs"] = _number("record_epochs", "Recorded epochs")
            values["dtype"] = _select("dtype", "Precision")
    return values, notes


# ------------------------------------------------------------------ context
@dataclass
class Context:
    config: ExperimentConfig
    results: Results | None
    warnings: list[str] = field(default_factory=list)

    @property
    def schemes(self) -> list[str]:
        return list(self.config.schemes)

    @property
    def frames(self):
        return self.results.frames

    @property
    def epochs(self) -> list[int]:
        return sorted(self.frames["layer_stats"]["epoch"].unique().tolist())


def set_context(ctx: Context) -> None:
    st.session_state[CTX_KEY] = ctx


def current() -> Context:
    """The context dashboard.py prepared for this run; stops the page if there are no results."""
    ctx = st.session_state.get(CTX_KEY)
    if ctx is None or ctx.results is None:
        st.info("No results to show: see the message above or in the sidebar.")
        st.stop()
    return ctx


def show_chart(build, *args, **kwargs) -> None:
    """Draw one chart; if building it fails, say so briefly and let the page go on."""
    try:
        chart = build(*args, **kwargs)
        st.altair_chart(chart, width="content")
    except Exception as e:  # noqa: BLE001 - one broken chart must not take the page down
        LOG.error("chart %s failed:\n%s", getattr(build, "__name__", build), traceback.format_exc())
        st.error(f"This chart could not be drawn ({type(e).__name__}: {e}). The rest of the page still works.")


def download_csv(label: str, frame_name: str, ctx: Context, key: str | None = None) -> None:
    df = ctx.frames[frame_name]
    st.download_button(f"⬇ {label} (CSV, {len(df):,} rows)",
                       data=lambda: export.csv_bytes(df, ctx.config.run_id),
                       file_name=f"initlab_{frame_name}_{ctx.config.run_id}.csv", mime="text/csv",
                       on_click="ignore", key=key or f"dl_{frame_name}")


def downloads(ctx: Context, *items: tuple[str, str]) -> None:
    """A row of CSV download buttons, one per (label, frame name): the data of the page's charts."""
    for col, (label, frame_name) in zip(st.columns(len(items)), items):
        with col:
            download_csv(label, frame_name, ctx)


def epoch_picker(ctx: Context, label: str = "Epoch", key: str = "epoch", default_last: bool = False) -> int:
    epochs = ctx.epochs
    return st.select_slider(label, epochs, value=epochs[-1] if default_last else epochs[0], key=key)


def seed_picker(ctx: Context, key: str = "seed") -> int:
    if ctx.config.seeds == 1:
        return 0
    return st.selectbox("Seed", list(range(ctx.config.seeds)), key=key)


# url_path of the default page. Streamlit serves the default page only at the app root: "/overview" is
# answered with a "Page not found" dialog (then the root page runs), so links to it must point at "/".
DEFAULT_PAGE = "overview"


def page_url(page: str, query: str) -> str:
    """Absolute link to a page of this app with a query string (relative if the host is unknown).

    The default page is linked as the root ("/?..."), the only address Streamlit serves it at.
    """
    page = "" if page == DEFAULT_PAGE else page
    base = ""
    try:
        url = st.context.url or ""
        if "://" in url:
            scheme, rest = url.split("://", 1)
            base = f"{scheme}://{rest.split('/', 1)[0]}"
    except Exception:  # noqa: BLE001 - no request context (e.g. in AppTest)
        base = ""
    return f"{base}/{page}?{query}"


def scheme_badge(i: int, label: str) -> str:
    return f"<span style='color:{charts.PALETTE[i % len(charts.PALETTE)]}'>■</span> **{label}**"


def over_budget_message(config: ExperimentConfig) -> str | None:
    try:
        budget.check(config)
    except ValueError as e:
        return str(e)
    return None


__all__ = ["BIND", "DEFAULT_PAGE", "Context", "charts", "current", "download_csv", "downloads", "ensure_navigation",
           "epoch_picker", "page_url", "repair_link", "results_for", "scheme_badge", "seed_picker", "set_context", "show_chart",
           "sidebar"]
