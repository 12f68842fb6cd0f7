"""The dashboard as a user drives it, through streamlit.testing.v1.AppTest.

Charts come back as UnknownElement carrying the Vega-Lite spec and the Arrow
data Streamlit ships to the browser; the tests read that data and compare it
with Results.frames of the same configuration.
"""
from __future__ import annotations

import json
import re
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
from app import spec_memo
from app.registry import PAGES as PAGE_SPECS
from app.results import RESULTS
from app.views import widget_key
from core import ExperimentConfig
from core.config import FIELDS
from core.views.lessons import LESSONS
from core.views import restarts as restarts_view
from tests.test_charts import check_spec

pytestmark = pytest.mark.slow  # every test runs the whole dashboard through AppTest, most of them train

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard.py")
PAGES = [p.path for p in PAGE_SPECS]
# The pages that draw the sidebar's configuration (the story draws runs of its own: tests/test_story.py)
CONFIG_PAGES = [p for p in PAGES if p != "story"]
# Charts each page draws for the default configuration (5 schemes, relu, 8 hidden layers): single charts, plus
# one panel per scheme for small multiples, in the first tab of a page's tabs (the others are built when
# opened). The Gradients page shows E[(dL/dz)^2] by default: under zero weights it is 0 in the hidden layers but
# not at the output, so every scheme has a panel. Lessons and export draw none; the story draws its own runs
# (one chart per step, two in step 4); Scale x depth draws its default map at initialization (he_normal alone
# takes sigma_w).
# Weight distances and Decision boundaries show the last recorded epoch, where normal:std=1 (diverged at epoch 1)
# has no panel.
EXPECTED_CHARTS = {"story": 6, "overview": 2, "activations": 1 + 5 + 1, "gradients": 1 + 5, "weights": 4,
                   "symmetry": 3, "boundaries": 4, "lessons": 0, "export": 0, "scale_depth": 1, "restarts": 7}
SMALL = "v=1&schemes=zeros&schemes=normal%3Astd%3D1&schemes=he_normal&seeds=2&epochs=15&width=8&record_epochs=4"


@pytest.fixture(autouse=True)
def fresh_cache():
    RESULTS.clear()
    yield
    RESULTS.clear()


def app(query: str = "", run: bool = True, page: str = "overview") -> AppTest:
    """A session opened on ``page`` (by default the Overview, the first page that trains the link's
    configuration; the landing page is the story, whose runs are its own) with the query's parameters."""
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in parse_qsl(query, keep_blank_values=True):
        existing = at.query_params.get(key)
        at.query_params[key] = (existing if isinstance(existing, list) else [existing] if existing else []) + [value]
    at.switch_page(f"pages/{page}.py")
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


def chart_specs(at: AppTest) -> list[dict]:
    """Per chart on the page, the Vega-Lite spec the browser gets, its datasets (by name) as frames."""
    out = []
    for el in at.get("vega_lite_chart"):
        spec = json.loads(el.proto.spec)
        spec["datasets"] = {d.name: pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in el.proto.datasets}
        out.append(spec)
    return out


def notice_text(at: AppTest) -> str:
    """The page's "What to notice" sentences, unescaped."""
    found = [m.value for m in at.markdown if "What to notice" in m.value]
    assert len(found) == 1, [m.value for m in at.markdown][:5]
    return re.sub(r"\\(.)", r"\1", found[0])


def open_at(page: str, query: str) -> AppTest:
    """A session whose first run is ``page`` (as a link to it opens), with the query's parameters."""
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in parse_qsl(query, keep_blank_values=True):
        existing = at.query_params.get(key)
        at.query_params[key] = (existing if isinstance(existing, list) else [existing] if existing else []) + [value]
    at.switch_page(f"pages/{page}.py")
    return at.run()


def link_warnings(at: AppTest) -> list[str]:
    return [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning if "Link parameter ignored" in w.value]


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
        # the default's normal:std=1 diverges at epoch 1 (its lesson): pages say so; nothing else warns
        warned = [w.value for w in at.warning if not w.value.startswith("Diverged")]
        assert not warned, (page, warned)
        charts = chart_frames(at)
        assert len(charts) == EXPECTED_CHARTS[page], page
        for frames in charts if page in CONFIG_PAGES else []:
            found = schemes_in(frames)
            if found:  # every scheme-coloured chart shows exactly the selected schemes
                assert found <= set(ctx.schemes), (page, found)
        for spec in chart_specs(at):  # valid Vega-Lite, container-wide, tall enough, titled axes and tooltips
            check_spec(spec)
        if page != "story":  # each of its steps has its own sentences: tests/test_story.py
            assert notice_text(at)  # every page opens with "What to notice"
    assert context(at).config == ExperimentConfig()  # switching pages never changed the experiment


def test_chart_data_matches_results_frames():
    at = app(SMALL)
    ctx = context(at)
    f = ctx.results.frames
    # Overview: each split's panel draws the seed mean of the curves frame
    for panel, split in zip(chart_frames(at), ("train", "test")):
        data = pd.concat([d for d in panel if "mean" in d.columns])
        expect = f["curves"][f["curves"]["split"] == split].groupby(["scheme", "epoch"])["loss"].mean()
        got = data.drop_duplicates(["scheme", "epoch"]).set_index(["scheme", "epoch"])["mean"]
        pd.testing.assert_series_equal(got.sort_index(), expect.loc[got.index].sort_index(), check_names=False)
        assert set(got.index.get_level_values(0)) == set(ctx.schemes)  # every scheme has a curve (losses > 0)
    # Activations: the layer × value densities hold every probe value of the epoch's histograms, per scheme
    # and layer; the recorded histograms (their tab) are the frame's own bins
    goto(at, "activations")
    no_errors(at)
    h = f["histograms"]
    want = h[(h["epoch"] == 0) & (h["seed"] == 0) & (h["kind"] == "preactivation")]
    dens = [d for frames in chart_frames(at) for d in frames if {"share", "layer", "lo"} <= set(d.columns)]
    assert len(dens) == len(ctx.schemes)
    got = pd.concat(dens).groupby(["scheme", "layer"])["count"].sum()
    total = want.groupby(["scheme", "layer"])["count"].sum()
    pd.testing.assert_series_equal(got.sort_index(), total[total > 0].astype(float).sort_index(), check_names=False,
                                   rtol=1e-9)
    at.session_state["tabs_preactivation"] = "Recorded histograms"
    at.run()
    hist = pd.concat([d for frames in chart_frames(at) for d in frames if "bin_left" in d.columns])
    assert set(hist["scheme"]) == set(ctx.schemes)
    layer = ctx.config.depth  # the layer followed by default: the last hidden layer
    one = want[want["layer"] == layer]
    assert hist["count"].sum() == one["count"].sum() and len(hist) == len(one)


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
    for page in CONFIG_PAGES:
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
    assert ctx.config.depth == FIELDS["depth"].default and ctx.config.lr == 0.1 and ctx.config.dataset == "moons"
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
    refusals = [e.value for e in at.error if "too large" in e.value]
    assert len(refusals) == 1 and "GFLOP" not in refusals[0]  # shown once, in plain words
    assert RESULTS.computed == 0 and len(RESULTS) == 0
    goto(at, "activations")
    assert not at.exception


def test_a_broken_chart_leaves_the_page_and_the_app_usable(monkeypatch):
    from core.views import overview

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(overview, "loss_curve_panel", broken)
    at = app(SMALL)
    assert not at.exception
    assert sum("could not be drawn" in e.value and "boom" in e.value for e in at.error) == 2  # train and test
    assert len(at.dataframe) >= 1  # the summary table is still there
    goto(at, "activations")
    no_errors(at)
    assert len(at.get("vega_lite_chart")) == 1 + 3 + 1


def test_switching_pages_and_options_never_retrains():
    at = app(SMALL)
    assert RESULTS.computed == 1
    at.toggle(key=widget_key("overview", "log")).set_value(False).run()  # the overview's chart options
    at.radio(key=widget_key("overview", "metric")).set_value("accuracy").run()
    no_errors(at)
    assert len(at.get("vega_lite_chart")) == 2
    for page in PAGES:
        goto(at, page)
    goto(at, "activations")
    at.select_slider(key=widget_key("activations", "epoch")).set_value(context(at).epochs[-1]).run()
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
@pytest.mark.parametrize("page", ["overview", "export", "restarts"])
def test_a_session_keeps_no_results_after_its_script_run(page):
    """Not the page, not its download buttons (whose data is made when clicked): once the shared cache drops
    the results, nothing of the session keeps them alive."""
    import gc
    import weakref

    from app.restart_fits import FITS

    FITS.clear()  # other tests' fits
    at = app(SMALL + "&n_samples=150")  # 150 points: less for the Restarts page to fit; the fact needs no size
    if page != "overview":
        goto(at, page)
    no_errors(at)
    assert context(at)._results is None  # released when the script run ended
    cache = FITS if page == "restarts" else RESULTS
    assert len(cache) == 1
    held = weakref.ref(next(iter(cache._items.values()))[0])
    cache.clear()  # the cache drops them: nothing else may keep them alive
    gc.collect()
    assert held() is None


def _endless_first(monkeypatch, endless_epochs: int):
    """Make the configuration with ``endless_epochs`` epochs train until it is stopped (a fake run that only
    checks its control block); every other configuration trains for real. Returns what the fake saw."""
    from app import results as app_results
    from core.runtime.control import Stopped

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
    from core.runtime import budget

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

def test_a_link_over_the_rows_limit_trains_with_fewer_recorded_epochs_and_says_so(monkeypatch):
    from app import results as app_results
    from core.runtime import budget

    small = ExperimentConfig.from_query(SMALL)
    monkeypatch.setenv("INITLAB_FRAME_ROWS", str(budget.estimate(small).frame_rows - 1))
    monkeypatch.setattr(app_results, "_limits", None)
    at = app(SMALL)
    no_errors(at)
    notes = [i.value for i in at.info if "instead of 4" in i.value]
    assert len(notes) == 1 and "records 3 epochs" in notes[0]
    from core.config import replace
    assert context(at).config == replace(small, record_epochs=3) and RESULTS.computed == 1


# ------------------------------------------------------------------ views in the link
VIEWED = SMALL + "&epoch=10&layer=2&seed=1"  # recorded epochs of SMALL: 0, 5, 10, 15


def test_boundaries_at_an_epoch_where_this_seeds_every_model_diverged_says_so():
    """Seed 2 of this link diverges at its first epoch while the other seeds record epoch 6: the view
    (epoch 6, seed 2) has no grid to draw, and each panel says why instead of the page failing."""
    link = ("schemes=normal%3Astd%3D0.3&seeds=4&depth=6&width=64&activation=relu&lr=0.1&epochs=30"
            "&record_epochs=6&epoch=6&seed=2")
    at = open_at("boundaries", link)
    no_errors(at)
    bnd = context(at).results.frames["boundaries"]
    assert bnd[bnd["seed"] == 2]["epoch"].max() < 6 <= bnd["epoch"].max()  # the case this test is about
    assert not at.get("vega_lite_chart")
    assert any("diverged before this epoch" in c.value for c in at.caption)


def test_a_link_with_view_keys_opens_the_page_in_that_view():
    at = open_at("weights", VIEWED)
    no_errors(at)
    assert not at.warning, [w.value for w in at.warning]
    assert at.title[0].value == "Weight distances"
    assert at.select_slider(key=widget_key("weights", "epoch")).value == 10
    assert at.selectbox(key=widget_key("weights", "layer")).value == 2
    assert at.selectbox(key=widget_key("weights", "seed")).value == 1
    assert (at.query_params["epoch"], at.query_params["layer"], at.query_params["seed"]) == ("10", "2", "1")
    # the charts show that view: layer 2's unit distances at epoch 10, seed 1
    ud = context(at).results.frames["unit_distances"]
    want = ud[(ud["epoch"] == 10) & (ud["seed"] == 1) & (ud["layer"] == 2)]
    for _scheme, one in want.groupby("scheme"):  # symmetric: the chart draws each pair once
        matrix = one.pivot(index="unit_i", columns="unit_j", values="distance").to_numpy()
        assert (matrix == matrix.T).all()
    want = want[want["unit_j"] <= want["unit_i"]]
    drawn = pd.concat([d for frames in chart_frames(at) for d in frames if "unit_i" in d.columns])
    assert len(drawn) == len(want)
    assert sorted(drawn["distance"]) == pytest.approx(sorted(want["distance"]))
    # a control moved writes the view into the link; the page's default leaves it out
    at.selectbox(key=widget_key("weights", "layer")).set_value(3).run()
    assert at.query_params["layer"] == "3"
    at.select_slider(key=widget_key("weights", "epoch")).set_value(15).run()  # the default: the last epoch
    assert "epoch" not in at.query_params


def test_switching_pages_drops_the_previous_pages_view():
    at = open_at("weights", VIEWED)
    goto(at, "activations")
    no_errors(at)
    assert not {"epoch", "layer", "seed"} & set(at.query_params), dict(at.query_params)
    assert at.select_slider(key=widget_key("activations", "epoch")).value == 0  # this page's default
    at.radio(key=widget_key("activations", "quantity")).set_value("activation").run()
    assert at.query_params["quantity"] == "activation"
    goto(at, "weights")
    assert "quantity" not in at.query_params
    assert at.select_slider(key=widget_key("weights", "epoch")).value == 15  # back at its default
    assert not at.warning


@pytest.mark.parametrize("view, named", [
    ("epoch=7", ["epoch: got 7"]),  # 7 was not recorded
    ("layer=9", ["layer: got 9"]),  # 3 layers here
    ("seed=4", ["seed: got 4"]),  # 2 seeds
    ("epoch=abc&layer=-1", ["epoch: got 'abc'", "layer: got '-1'"]),  # refused by the view table
    ("quantity=gradient", ["quantity: not a view of this page"]),
    ("epoch=5&epoch=10", ["epoch: got ['5', '10']; allowed: once"]),
])
def test_a_bad_view_value_warns_naming_it_and_the_default_is_used(view, named):
    at = open_at("weights", SMALL + "&" + view)
    assert not at.exception
    warnings = link_warnings(at)
    for name in named:
        assert any(name in w for w in warnings), (name, warnings)
    assert at.select_slider(key=widget_key("weights", "epoch")).value == 15
    assert at.selectbox(key=widget_key("weights", "layer")).value == 1
    assert at.selectbox(key=widget_key("weights", "seed")).value == 0
    for key in ("epoch", "layer", "seed", "quantity"):
        assert key not in at.query_params
    at.run()  # the warnings stay on the page while it is shown
    assert len(link_warnings(at)) == len(warnings)


def test_a_hostile_view_value_is_shown_literally():
    at = open_at("activations", SMALL + "&quantity=" + "%5Bx%5D(javascript%3Aalert(1))%3Cb%3E")
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    assert "quantity" in text and "\\[x\\]\\(javascript" in text  # escaped: no link, no HTML


def test_every_view_control_is_in_the_link_and_back():
    """Each page's controls, moved off their defaults, write their keys; the link reopens the same view."""
    moves = {
        "overview": {"metric": "accuracy", "log": True},
        "activations": {"epoch": 10, "quantity": "activation", "seed": 1, "stat": "std", "layer": 1, "log": False},
        "gradients": {"epoch": 5, "norm": "bias_grad_norm", "seed": 1, "layer": 2, "log": False},
        "weights": {"epoch": 5, "layer": 3, "seed": 1, "relative": False},
        "symmetry": {"epoch": 0, "metric": "accuracy", "split": "train"},
        "boundaries": {"epoch": 5, "seed": 1},
    }
    at = app(SMALL)
    for page, view in moves.items():
        goto(at, page)
        for key, value in view.items():
            wk = widget_key(page, key)
            widget = next(w for w in at.get("select_slider") + at.get("selectbox") + at.get("radio") + at.get("toggle")
                          if getattr(w, "key", None) == wk)
            widget.set_value(value).run()
        no_errors(at)
        query = dict(at.query_params)
        link = {k: query[k] for k in view}
        expect = {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in view.items()}
        if page == "overview":  # log scale is the loss's default, accuracy's is linear
            expect["log"] = "true"
        assert link == expect, (page, link)
        again = open_at(page, SMALL + "&" + "&".join(f"{k}={v}" for k, v in link.items()))
        no_errors(again)
        assert not again.warning, (page, [w.value for w in again.warning])
        for key, value in view.items():
            assert again.session_state[widget_key(page, key)] == value, (page, key)


def test_the_export_link_carries_the_last_pages_view():
    at = open_at("weights", VIEWED)
    goto(at, "export")
    no_errors(at)
    assert at.selectbox(key="_share_page").value == "weights"
    link = at.code[0].value
    assert "/weights?" in link and ExperimentConfig.from_query(link.split("?", 1)[1]) == context(at).config
    params = dict(parse_qsl(link.split("?", 1)[1]))
    assert (params["epoch"], params["layer"], params["seed"]) == ("10", "2", "1")
    at.selectbox(key="_share_page").set_value("overview").run()
    link = at.code[0].value
    assert "epoch=" not in link and link.split("?")[0].endswith("/overview")


# ------------------------------------------------------------------ what to notice
def test_what_to_notice_follows_the_configuration():
    at = app("v=1&schemes=xavier_normal&schemes=he_normal&activation=relu&depth=4&width=32&seeds=2&epochs=6"
             "&record_epochs=3")
    goto(at, "activations")
    first = notice_text(at)
    assert "xavier_normal: second moment" in first and "predicted ×0.50" in first
    assert "zeros" not in first
    at2 = app("v=1&schemes=zeros&schemes=he_normal&activation=relu&depth=4&width=32&seeds=2&epochs=6"
              "&record_epochs=3")
    goto(at2, "activations")
    second = notice_text(at2)
    assert second != first and "zeros: every pre-activation is 0" in second and "xavier_normal" not in second
    goto(at2, "symmetry")
    assert "zeros: 1 functional unit out of 32 in every hidden layer, at every recorded epoch" in notice_text(at2)
    # the view changes it too: at the last epoch the prediction (at initialization) is not quoted
    goto(at, "activations")
    at.select_slider(key=widget_key("activations", "epoch")).set_value(6).run()
    assert "At epoch 6" in notice_text(at) and "predicted" not in notice_text(at)


# ------------------------------------------------------------------ Scale x depth
SWEEP_BASE = ExperimentConfig(schemes=("zeros", "he_normal"), seeds=2, epochs=4, n_samples=120, width=(6,),
                              activation="relu", record_epochs=3)


def sweep_link(**keys) -> str:
    from core.sweeps.sweep import SweepConfig
    sweep = SweepConfig(SWEEP_BASE, (("sigma_w", "0.7,1.4"), ("depth", "1,2")))
    return sweep.to_query() + "".join(f"&{k}={v}" for k, v in keys.items())


@pytest.fixture
def fresh_sweeps():
    from app.sweeps import SWEEPS
    SWEEPS.clear()
    yield SWEEPS
    SWEEPS.clear()


def test_scale_depth_map_at_initialization_draws_at_once_and_trains_nothing(fresh_sweeps):
    from app.sweeps import INIT_MAPS
    INIT_MAPS.clear()
    at = app(sweep_link())  # the default measure, signal growth, is read at epoch 0
    goto(at, "scale_depth")
    no_errors(at)
    assert len(at.get("vega_lite_chart")) == 1 and fresh_sweeps.computed == 0 and INIT_MAPS.computed == 1
    assert any("at initialization" in c.value for c in at.caption)
    assert not at.toggle  # nothing to train


def test_scale_depth_page_shows_the_cost_and_trains_only_when_asked(fresh_sweeps):
    at = app(sweep_link(sweep_metric="final_test_accuracy"))
    goto(at, "scale_depth")
    no_errors(at)
    assert not at.get("vega_lite_chart") and fresh_sweeps.computed == 0
    captions = " ".join(c.value for c in at.caption)
    assert "8 trainings" in captions and "limit" in captions and "left out of the sweep" in captions
    at.toggle(key="sweep").set_value(True).run()
    no_errors(at)
    assert len(at.get("vega_lite_chart")) == 1 and fresh_sweeps.computed == 1  # (the browser test: sweep=true)


def test_scale_depth_link_reproduces_the_map(fresh_sweeps):
    from core.sweeps.sweep import SweepConfig, run_sweep
    from core.views.scale_depth import map_data
    link = sweep_link(sweep="true", sweep_metric="final_test_loss")
    at = app(link)
    goto(at, "scale_depth")
    no_errors(at)
    assert not at.warning
    charts = chart_frames(at)
    assert len(charts) == 1
    shown = pd.concat([d for d in charts[0] if "mean" in d.columns]).sort_values(["x", "y"]).reset_index(drop=True)
    sweep = SweepConfig.from_query(link)
    frame = run_sweep(sweep, workers=1).frame
    want = map_data(frame, "sigma_w", "depth", "final_test_loss", "he_normal", link=lambda q: f"/overview?{q}")
    want = want.sort_values(["x", "y"]).reset_index(drop=True)
    for col in ("x", "y", "mean", "low", "high", "seeds", "url"):
        assert shown[col].tolist() == want[col].tolist(), col
    # every cell links to its point's full dashboard: the configuration with that scheme entry and depth
    for url, x, y in zip(shown["url"], shown["x"], shown["y"]):
        c = ExperimentConfig.from_query(url.split("?", 1)[1])
        assert c.schemes == (f"he_normal:gain={x}",) and c.depth == y and c.epochs == 4
    notice = [m.value for m in at.markdown if "What to notice" in m.value]
    assert len(notice) == 1 and "he\\_normal" in notice[0]
    assert any(f"CSV, {len(frame)} rows" in b.proto.label for b in at.get("download_button"))
    code = at.get("code")[0].proto.code_text
    assert code == f'python -m core sweep --query "{sweep.to_query()}" --out sweep-results'


def test_scale_depth_bad_sweep_keys_warn_name_the_key_and_fall_back(fresh_sweeps):
    at = app(sweep_link().replace("sweep_x_values=0.7%2C1.4", "sweep_x_values=1%2Cabc")
             .replace("sweep_y_values=1%2C2", "sweep_y_values=1%2C0.5") + "&sweep_metric=bogus")
    goto(at, "scale_depth")
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    assert "sweep\\_x\\_values" in text and "abc" in text  # refused by the link check: not numbers
    assert "sweep\\_metric" in text and "bogus" in text
    assert "sweep\\_y\\_values" in text and "0\\.5" in text  # numbers, but not depths: refused by the page
    code = at.get("code")[0].proto.code_text
    assert "sweep_x_values=0.5%2C1.0%2C1.5%2C2.0%2C3.0" in code and "sweep_y_values=1%2C2%2C4%2C8%2C16" in code
    assert fresh_sweeps.computed == 0


def test_scale_depth_over_the_budget_shows_the_command_that_runs_it(fresh_sweeps):
    from core.sweeps.sweep import SweepConfig
    big = dataclasses_replace(SWEEP_BASE, epochs=2000, n_samples=5000, width=(64,))
    link = SweepConfig(big, (("sigma_w", "0.5,1,2"), ("depth", "10,20,30"))).to_query() + "&sweep=true&sweep_metric=final_test_accuracy"
    at = app(link)
    goto(at, "scale_depth")
    assert not at.exception
    assert any("larger than this server runs" in w.value and "s on this server" in w.value for w in at.warning)
    code = at.get("code")[0].proto.code_text
    query = code.split('--query "', 1)[1].split('"', 1)[0]
    assert SweepConfig.from_query(query) == SweepConfig.from_query(link)
    assert not at.get("vega_lite_chart") and fresh_sweeps.computed == 0


def dataclasses_replace(config, **changes):
    import dataclasses
    return dataclasses.replace(config, **changes)


# ------------------------------------------------------------------ restarts beyond networks
RESTARTS_LINK = ("v=1&dataset=circles&noise=0.1&data_seed=2&schemes=he_normal&seeds=1&epochs=3&width=4"
                 "&restarts=5&clusters=4&components=3&fit=gmm.random_from_data")


def test_restarts_page_draws_core_restarts_for_its_link():
    from core import restarts
    from core.restarts import RestartSettings

    at = goto(app(RESTARTS_LINK), "restarts")
    no_errors(at)
    assert not at.warning
    settings = RestartSettings(dataset="circles", noise=0.1, data_seed=2, restarts=5, clusters=4, components=3)
    expected = restarts.fit_restarts(settings)
    assert at.number_input(key="restarts").value == 5 and at.selectbox(key="fit").value == "gmm.random_from_data"
    charts = chart_frames(at)
    assert len(charts) == EXPECTED_CHARTS["restarts"]
    runs = expected.frames["restart_runs"]
    drawn = pd.concat([d for frames in charts for d in frames if {"objective", "iterations"} <= set(d.columns)])
    want = runs[runs["method"] != "logistic"]
    pd.testing.assert_frame_equal(
        drawn.sort_values(["init", "restart", "objective"])[["init", "restart", "objective", "iterations"]]
        .reset_index(drop=True),
        want.sort_values(["init", "restart", "objective"])[["init", "restart", "objective", "iterations"]]
        .reset_index(drop=True), check_dtype=False)
    # the chosen fit's ellipses: EM from random data points, best and worst restart
    ellipses = [d for frames in charts for d in frames if "point" in d.columns]
    e = expected.frames["restart_ellipses"].query("init == 'random_from_data'")
    assert sum(len(d) for d in ellipses) == len(e) and len(e) > 0
    # what to notice: the sentences core.restarts reads off these frames
    shown = " ".join(m.value for m in at.markdown).replace("\\", "")
    for sentence in restarts_view.notices(expected):
        assert sentence in shown, sentence
    captions = " ".join(c.value for c in at.caption).replace("\\", "")
    for sentence in restarts_view.how_many(expected):
        assert sentence in captions, sentence
    labels = [b.label for b in at.get("download_button")]
    assert f"⬇ Restarts (CSV, {len(runs)} rows)" in labels and len(runs) == 5 * 6, labels


def test_restarts_page_bad_keys_warn_name_the_default_and_fall_back():
    at = goto(app("v=1&seeds=1&epochs=3&width=4&n_samples=150&restarts=999&fit=nope&components=3"), "restarts")
    assert not at.exception
    text = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "restarts: got '999'" in text and "using the default 20" in text
    assert "fit: got 'nope'" in text and "using the default kmeans.random" in text
    assert at.number_input(key="restarts").value == 20 and at.number_input(key="components").value == 3
    assert "restarts" not in at.query_params and "fit" not in at.query_params
    assert at.query_params["components"] == "3"


def test_restarts_page_refuses_more_work_than_its_bound():
    at = goto(app("v=1&seeds=1&epochs=3&width=4&restarts=50&clusters=12&components=12"), "restarts")
    assert not at.exception
    assert any("CPU seconds" in e.value for e in at.error), [e.value for e in at.error]
    assert len(at.get("vega_lite_chart")) == 0


def test_a_real_server_freezes_what_it_has_imported_once_per_new_import_and_apptest_does_not():
    """Streamlit's full collection after every script run must not walk the libraries' objects (see
    app.server.freeze_long_lived); in a fresh process, as a server's first runs."""
    code = """
import gc, sys
from app import server
from core.views import charts  # a page's imports: Altair, pandas
server.freeze_long_lived()
print(gc.get_freeze_count())  # no Streamlit runtime: not a real server
server.real_server = lambda: True
server.freeze_long_lived()
frozen = gc.get_freeze_count()
print(frozen, len(gc.get_objects()))  # what a full collection still walks
junk = [[i] for i in range(1000)]
server.freeze_long_lived()  # nothing imported since: no new freeze
print(gc.get_freeze_count() - frozen)
import types
sys.modules["a_pages_module"] = types.ModuleType("a_pages_module")  # a page's first visit imports one
server.freeze_long_lived()
print(gc.get_freeze_count() - frozen)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout.split()
    not_real, frozen, walked, again, after_import = map(int, out[-5:])
    assert not_real == 0
    assert frozen > 50_000 and walked < 1_000
    assert again == 0 and after_import > 1_000  # the junk list's 1,001 lists, alive, frozen with the import


def drawn(at: AppTest) -> list:
    """Every chart exactly as the browser gets it (its spec and its datasets' Arrow bytes), then the page's
    text (What to notice among it)."""
    return [(el.proto.spec, [(d.name, bytes(d.data.data)) for d in el.proto.datasets])
            for el in at.get("vega_lite_chart")] + [m.value for m in at.markdown] + [c.value for c in at.caption]


LAYER_TAB = {"tabs_preactivation": "One layer over training", "tabs_activation": "One layer over training"}
HISTOGRAM_TAB = {"tabs_preactivation": "Recorded histograms", "tabs_activation": "Recorded histograms"}
GRADIENT_TABS = {"tabs_gradient": "Every layer"}
MOVED_TAB = {"tabs_weights": "How far training moved the weights"}


@pytest.mark.parametrize("page, views", [
    ("overview", ["", "metric=accuracy", "metric=accuracy&log=true"]),
    ("activations", ["", "epoch=10", "epoch=10&quantity=activation", "epoch=10&quantity=activation&stat=std",
                     "epoch=10&quantity=activation&stat=std&log=false", ("epoch=10&log=false", LAYER_TAB),
                     ("epoch=10&log=false&layer=2", LAYER_TAB), ("epoch=10&log=false&layer=2&seed=1", LAYER_TAB),
                     ("epoch=10&log=false&layer=2&seed=1&quantity=activation", LAYER_TAB),
                     ("epoch=10&layer=2&seed=1&quantity=activation", HISTOGRAM_TAB),
                     ("epoch=10&layer=2&seed=1", HISTOGRAM_TAB), ("epoch=5&layer=2&seed=1", HISTOGRAM_TAB),
                     ("epoch=5&layer=1&seed=1", HISTOGRAM_TAB), ("epoch=5&layer=1", HISTOGRAM_TAB)]),
    ("gradients", ["", "epoch=5", "epoch=5&norm=weight_grad_rms", ("epoch=5&norm=weight_grad_rms", GRADIENT_TABS),
                   ("epoch=5&norm=weight_grad_rms&seed=1", GRADIENT_TABS)]),
    ("weights", ["", "epoch=10", "epoch=10&layer=2", "epoch=10&layer=2&seed=1", ("epoch=10", MOVED_TAB),
                 ("epoch=10&relative=false", MOVED_TAB)]),
    ("symmetry", ["", "epoch=5", "epoch=5&split=train", "epoch=5&split=train&metric=accuracy",
                  "epoch=5&split=train&metric=accuracy&count=weights"]),
    ("boundaries", ["", "epoch=5", "epoch=5&seed=1", "seed=1"]),
    # the restart fits on 150 points: less work than the default's 500, and the memo's keys are the same
    ("restarts", ["n_samples=150", "n_samples=150&fit=gmm.random", "n_samples=150&fit=gmm.random&clusters=4"])])
def test_kept_chart_specs_draw_exactly_what_a_fresh_build_draws(page, views, monkeypatch):
    """app.spec_memo: a rerun draws from kept specs (and kept derived frames), byte for byte what a build from
    nothing draws. The views (a link's view keys, and the tab open) are opened one after another on one
    result, each changing one thing from the one before, so a kept chart, frame or sentence whose key missed a
    view key would be shown in a view it does not belong to; each change changes what is shown."""
    def show(view):
        query, tabs = view if isinstance(view, tuple) else (view, {})
        at = open_at(page, SMALL + "&" + query)
        if tabs:
            for key, label in tabs.items():
                at.session_state[key] = label
            at.run()
        no_errors(at)
        return at

    hits = []
    real_get = spec_memo._get

    def counted_get(owner, key):
        value = real_get(owner, key)
        hits.append(value is not None and key[0] != "derived")
        return value

    monkeypatch.setattr(spec_memo, "_get", counted_get)
    spec_memo.STORE.clear()
    kept = []
    for view in views:
        at = show(view)
        kept.append(drawn(at))
        hits.clear()
        assert drawn(at.run()) == kept[-1]
        assert sum(hits) == len(at.get("vega_lite_chart"))  # the rerun drew every chart from the memo
    assert at.get("vega_lite_chart") and len(spec_memo.STORE) > 0
    assert all(a != b for a, b in zip(kept, kept[1:]))
    fresh = []
    for view in views:
        spec_memo.STORE.clear()
        fresh.append(drawn(show(view)))
    assert kept == fresh
