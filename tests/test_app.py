"""The dashboard as a user drives it, through streamlit.testing.v1.AppTest.

Charts come back as UnknownElement carrying the Vega-Lite spec and the Arrow
data Streamlit ships to the browser; the tests read that data and compare it
with Results.frames of the same configuration.
"""
from __future__ import annotations

import json
import subprocess
import sys
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
                   "scale_depth": 0, "lessons": 0, "export": 0,  # scale_depth trains its sweep when asked (sweep=true)
                   "restarts": 7}
SMALL = "v=1&schemes=zeros&schemes=normal%3Astd%3D1&schemes=he_normal&seeds=2&epochs=15&width=8&record_epochs=4"


@pytest.fixture(autouse=True)
def fresh_cache():
    RESULTS.clear()
    yield
    RESULTS.clear()


def app(query: str = "") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in parse_qsl(query, keep_blank_values=True):
        existing = at.query_params.get(key)
        at.query_params[key] = (existing if isinstance(existing, list) else [existing] if existing else []) + [value]
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


# ------------------------------------------------------------------ Scale x depth
SWEEP_BASE = ExperimentConfig(schemes=("zeros", "he_normal"), seeds=2, epochs=4, n_samples=120, width=(6,),
                              activation="relu", record_epochs=3)


def sweep_link(**keys) -> str:
    from core.sweep import SweepConfig
    sweep = SweepConfig(SWEEP_BASE, (("sigma_w", "0.7,1.4"), ("depth", "1,2")))
    return sweep.to_query() + "".join(f"&{k}={v}" for k, v in keys.items())


@pytest.fixture
def fresh_sweeps():
    from app.sweeps import SWEEPS
    SWEEPS.clear()
    yield SWEEPS
    SWEEPS.clear()


def test_scale_depth_page_shows_the_cost_and_trains_only_when_asked(fresh_sweeps):
    at = app(sweep_link())
    goto(at, "scale_depth")
    no_errors(at)
    assert not at.get("vega_lite_chart") and fresh_sweeps.computed == 0
    captions = " ".join(c.value for c in at.caption)
    assert "8 trainings" in captions and "limit" in captions and "left out of the sweep" in captions
    at.toggle(key="sweep").set_value(True).run()
    no_errors(at)
    assert len(at.get("vega_lite_chart")) == 1 and fresh_sweeps.computed == 1  # (the browser test: sweep=true)


def test_scale_depth_link_reproduces_the_map(fresh_sweeps):
    from core.sweep import SweepConfig, run_sweep
    from core.sweep_charts import map_data
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
    want = map_data(frame, "sigma_w", "depth", "final_test_loss", "he_normal", link=lambda q: f"/?{q}")
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
    from core.sweep import SweepConfig
    big = dataclasses_replace(SWEEP_BASE, epochs=2000, n_samples=5000, width=(64,))
    link = SweepConfig(big, (("sigma_w", "0.5,1,2"), ("depth", "10,20,30"))).to_query() + "&sweep=true"
    at = app(link)
    goto(at, "scale_depth")
    assert not at.exception
    assert any("larger than this server runs" in w.value and "GFLOP" in w.value for w in at.warning)
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
    for sentence in restarts.notices(expected):
        assert sentence in shown, sentence
    labels = [b.label for b in at.get("download_button")]
    assert f"⬇ Restarts (CSV, {len(runs)} rows)" in labels and len(runs) == 5 * 6, labels


def test_restarts_page_bad_keys_warn_name_the_default_and_fall_back():
    at = goto(app("v=1&seeds=1&epochs=3&width=4&restarts=999&fit=nope&components=3"), "restarts")
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
