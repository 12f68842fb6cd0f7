"""The dashboard as a user drives it, through streamlit.testing.v1.AppTest.

Charts come back as UnknownElement carrying the Vega-Lite spec and the Arrow
data Streamlit ships to the browser; the tests read that data and compare it
with Results.frames of the same configuration.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from app import context as app_context
from app.registry import PAGES as PAGE_SPECS
from app.results import RESULTS
from core import ExperimentConfig, run
from core.lessons import LESSONS

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard.py")
PAGES = [p.path for p in PAGE_SPECS]
# Charts each page must show with a 2-D classification config (lessons/export draw none).
EXPECTED_CHARTS = {"overview": 1, "activations": 3, "gradients": 3, "weights": 2, "symmetry": 2, "boundaries": 1,
                   "lessons": 0, "export": 0}
SMALL = "v=1&schemes=zeros&schemes=normal%3Astd%3D1&schemes=he_normal&seeds=2&epochs=15&width=8&record_epochs=4"


@pytest.fixture(autouse=True)
def fresh_cache():
    RESULTS.clear()
    yield
    RESULTS.clear()


def app(query: str = "", run: bool = True) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in parse_qsl(query, keep_blank_values=True):
        existing = at.query_params.get(key)
        at.query_params[key] = (existing if isinstance(existing, list) else [existing] if existing else []) + [value]
    if run:
        at.run()
    return at


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py")
    return at.run()


def chart_frames(at: AppTest) -> list[list[pd.DataFrame]]:
    """Per chart on the page, the data frames Streamlit sends to the browser."""
    out = []
    for el in at.get("vega_lite_chart"):
        out.append([pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in el.proto.datasets])
    return out


def schemes_in(frames: list[pd.DataFrame]) -> set[str]:
    return set().union(*[set(df["scheme"]) for df in frames if "scheme" in df.columns])


def context(at: AppTest):
    return at.session_state[app_context.CTX_KEY]


def no_errors(at: AppTest):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_every_page_with_the_default_configuration():
    at = app()
    no_errors(at)
    ctx = context(at)
    assert ctx.config == ExperimentConfig()
    for page in PAGES:
        goto(at, page)
        no_errors(at)
        charts = chart_frames(at)
        assert len(charts) == EXPECTED_CHARTS[page], page
        for frames in charts:
            found = schemes_in(frames)
            if found:  # every scheme-coloured chart shows exactly the selected schemes
                assert found <= set(ctx.schemes), (page, found)
    assert context(at).config == ExperimentConfig()  # switching pages never changed the experiment


def test_chart_data_matches_results_frames():
    at = app(SMALL)
    ctx = context(at)
    f = ctx.results.frames
    # Overview: the loss chart's mean line is the seed mean of the curves frame
    charts = chart_frames(at)
    data = pd.concat([d for d in charts[0] if "mean" in d.columns])
    expect = f["curves"].groupby(["scheme", "split", "epoch"])["loss"].mean()
    got = data.drop_duplicates(["scheme", "split", "epoch"]).set_index(["scheme", "split", "epoch"])["mean"]
    pd.testing.assert_series_equal(got.sort_index(), expect.loc[got.index].sort_index(), check_names=False)
    assert set(got.index.get_level_values(0)) == set(ctx.schemes)  # every scheme has a curve (losses > 0)
    # Activations: one histogram facet column per selected scheme, counts equal the frame's
    goto(at, "activations")
    hist = [d for frames in chart_frames(at) for d in frames if "count" in d.columns][0]
    assert set(hist["scheme"]) == set(ctx.schemes)
    h = f["histograms"]
    want = h[(h["epoch"] == 0) & (h["seed"] == 0) & (h["kind"] == "preactivation")]
    assert hist["count"].sum() == want["count"].sum()
    assert len(hist) == len(want)


def test_symmetry_page_shows_constant_units_as_one():
    at = app("v=1&schemes=constant%3Avalue%3D0.5&schemes=he_normal&seeds=1&epochs=10&width=6&record_epochs=3")
    goto(at, "symmetry")
    no_errors(at)
    data = [d for frames in chart_frames(at) for d in frames if "mean" in d.columns and "layer" in d.columns][0]
    const = data[data["scheme"] == "constant:value=0.5"]
    he = data[data["scheme"] == "he_normal"]
    assert (const[const["layer"] <= 3]["mean"] == 1).all()
    assert (he[he["layer"] <= 3]["mean"] == 6).all()


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.slug)
def test_every_lesson_preset_runs_on_every_page_and_shows_its_fact(lesson):
    at = app(lesson.query)
    no_errors(at)
    ctx = context(at)
    assert ctx.config == lesson.config
    assert not ctx.warnings
    assert lesson.check(ctx.results.frames)
    for page in PAGES:
        goto(at, page)
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        for frames in chart_frames(at):
            found = schemes_in(frames)
            assert found <= set(lesson.config.schemes)


def test_exploding_lesson_says_diverged_on_the_overview():
    lesson = next(l for l in LESSONS if l.slug == "vanish-explode")
    at = app(lesson.query)
    assert any("diverged at epoch" in w.value for w in at.warning)
    marks = [d for frames in chart_frames(at) for d in frames if "status" in d.columns]
    assert marks and all(s.startswith("diverged at epoch") for s in pd.concat(marks)["status"])


def test_bad_link_warns_names_each_parameter_and_falls_back():
    at = app("v=1&depth=999&lr=abc&schemes=nonsense&schemes=he_normal&bogus=1&dataset=mnist&epochs=10")
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    for name in ("depth", "lr", "nonsense", "bogus", "dataset"):
        assert name in text, name
    ctx = context(at)
    assert ctx.config.depth == 3 and ctx.config.lr == 0.1 and ctx.config.dataset == "moons"
    assert ctx.config.schemes == ("he_normal",) and ctx.config.epochs == 10  # valid values survive
    # the rewritten link holds only what is in force
    assert "bogus" not in at.query_params and "depth" not in at.query_params
    for page in PAGES:
        goto(at, page)
        assert not at.exception, page


def test_over_budget_config_trains_nothing_and_says_why():
    q = "v=1&" + "&".join(f"schemes=normal%3Astd%3D{s}" for s in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)) + \
        "&seeds=20&depth=20&width=512&epochs=1000&n_samples=5000"
    at = app(q)
    assert not at.exception
    assert any("too large" in e.value and "GFLOP" in e.value for e in at.error)
    assert RESULTS.computed == 0 and len(RESULTS) == 0
    goto(at, "activations")
    assert not at.exception


def test_a_broken_chart_leaves_the_page_and_the_app_usable(monkeypatch):
    from core import charts

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(charts, "loss_curves", broken)
    at = app(SMALL)
    assert not at.exception
    assert any("could not be drawn" in e.value and "boom" in e.value for e in at.error)
    assert len(at.dataframe) >= 1  # the summary table is still there
    goto(at, "activations")
    no_errors(at)
    assert len(at.get("vega_lite_chart")) == 3


def test_switching_pages_and_options_never_retrains():
    at = app(SMALL)
    assert RESULTS.computed == 1
    at.toggle(key="ov_log").set_value(False).run()  # the overview's chart options
    at.radio(key="ov_metric").set_value("accuracy").run()
    no_errors(at)
    assert len(at.get("vega_lite_chart")) == 1
    for page in PAGES:
        goto(at, page)
    goto(at, "activations")
    at.select_slider(key="act_epoch").set_value(context(at).epochs[-1]).run()
    no_errors(at)
    assert RESULTS.computed == 1


def test_link_numbers_equal_the_cli(tmp_path):
    at = app(SMALL)
    frames = context(at).results.frames
    query = context(at).config.to_query()
    subprocess.run([sys.executable, "-m", "core", "--query", query, "--out", str(tmp_path), "--quiet"],
                   cwd=ROOT, check=True, capture_output=True)
    for name in ("curves", "summary", "layer_stats", "unit_distances"):
        cli = pd.read_csv(tmp_path / f"{name}.csv").drop(columns="run_id")
        app_frame = pd.read_csv(pd.io.common.StringIO(frames[name].to_csv(index=False)))
        pd.testing.assert_frame_equal(cli, app_frame, check_exact=True)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["query"] == query


def test_sidebar_scheme_variant_is_added_with_its_parameters():
    at = app(SMALL)
    at.selectbox(key="_variant_name").set_value("normal").run()
    at.number_input(key="_variant_std").set_value(0.05).run()
    at.button[0].click().run()
    no_errors(at)
    assert "normal:std=0.05" in context(at).config.schemes


# ------------------------------------------------------------------ runs, sessions and the shared cache
def test_a_session_keeps_no_results_after_its_script_run():
    import gc
    import weakref

    at = app(SMALL)
    no_errors(at)
    assert context(at)._results is None  # released when the script run ended
    held = weakref.ref(RESULTS.get(context(at).config))
    RESULTS.clear()  # the cache drops them: nothing else may keep them alive
    gc.collect()
    assert held() is None


def _endless_first(monkeypatch, endless_epochs: int):
    """Make the configuration with ``endless_epochs`` epochs train until it is stopped (a fake run that only
    checks its control block); every other configuration trains for real. Returns what the fake saw."""
    from app import results as app_results
    from core.control import Stopped

    real_run = app_results.run
    seen = {"started": threading.Event(), "stopped": threading.Event()}

    def run_or_wait(config, progress=None, enforce_budget=True, control=None):
        if config.epochs != endless_epochs:
            return real_run(config, progress=progress, enforce_budget=enforce_budget, control=control)
        seen["started"].set()
        try:
            while True:
                control.check()
                time.sleep(0.002)
        except Stopped:
            seen["stopped"].set()
            raise

    monkeypatch.setattr(app_results, "run", run_or_wait)
    return seen


def test_a_configuration_change_stops_the_previous_run(monkeypatch):
    from app import results as app_results

    seen = _endless_first(monkeypatch, 777)
    # Only the one-run-per-session rule may stop the first run here, not the grace after its last subscriber.
    monkeypatch.setattr(app_results.scheduler(), "grace_s", 1000.0)
    first = app(SMALL.replace("epochs=15", "epochs=777"), run=False)
    waiting = threading.Thread(target=first.run)  # its script waits for the endless run
    waiting.start()
    assert seen["started"].wait(120)
    # The same session (AppTest's sessions share one id) now asks for another configuration, as a rerun after a
    # sidebar change does.
    second = app(SMALL)
    assert seen["stopped"].wait(20)
    waiting.join(60)
    no_errors(second)
    assert len(second.get("vega_lite_chart")) == EXPECTED_CHARTS["overview"]
    assert any("stopped before it finished" in e.value for e in first.error)
    assert RESULTS.get(context(second).config) is not None and len(RESULTS) == 1


def test_a_closed_session_stops_its_run_after_the_grace(monkeypatch):
    seen = _endless_first(monkeypatch, 778)
    app(SMALL)  # the imports are done: the next script reaches its run quickly
    at = app(SMALL.replace("epochs=15", "epochs=778"), run=False)
    with pytest.raises(RuntimeError, match="timed out"):
        at.run(timeout=10)  # AppTest then stops the script, as Streamlit does when a tab closes
    assert seen["started"].is_set()
    assert seen["stopped"].wait(20)


def test_the_limits_are_a_setting_of_the_server(monkeypatch):
    from app import results as app_results
    from core import budget

    small = ExperimentConfig.from_query(SMALL)
    monkeypatch.setenv("INITLAB_SECONDS", str(budget.estimate(small).seconds / 2))
    monkeypatch.setattr(app_results, "_limits", None)  # read again, as a server starting with this setting does
    at = app(SMALL)
    assert any("too large" in e.value for e in at.error)
    assert RESULTS.computed == 0
    monkeypatch.setenv("INITLAB_SECONDS", "none")
    monkeypatch.setattr(app_results, "_limits", None)
    at = app(SMALL)
    no_errors(at)
    assert RESULTS.computed == 1
