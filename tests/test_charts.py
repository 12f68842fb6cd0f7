"""Chart builders and the density re-binning, without Streamlit.

Specs are checked as the browser gets them (``core.views.charts.to_spec``): valid Vega-Lite, container-wide, tall
enough, axis titles in words (never a column name of the chart's data), a titled tooltip on every mark.
The re-binning is checked against exact sums and brute-force histograms.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from altair.utils.schemapi import validate_jsonschema
from altair.vegalite.v6.schema import load_schema

from core import ExperimentConfig, run
from core.views import charts
from core.measure import density, theory
from core.views import activations as activations_view
from core.views import boundaries as boundaries_view
from core.views import gradients as gradients_view
from core.views import overview as overview_view
from core.views import symmetry as symmetry_view
from core.views import weights as weights_view

SMALL = ExperimentConfig(schemes=("zeros", "xavier_normal", "he_normal"), activation="relu", depth=3, width=(16,),
                         seeds=2, epochs=8, record_epochs=5)


@pytest.fixture(scope="module")
def results():
    return run(SMALL)


# ------------------------------------------------------------------ spec checks (shared with test_app)
def layers_of(spec: dict):
    """Every unit spec (one mark) of a spec, layered or not."""
    if "layer" in spec:
        for sub in spec["layer"]:
            yield from layers_of(sub)
    elif "mark" in spec:
        yield spec


def axis_titles(spec: dict) -> list:
    out = []
    for unit in layers_of(spec):
        for channel in ("x", "y"):
            enc = unit.get("encoding", {}).get(channel)
            if enc and "field" in enc:
                out.append((channel, enc.get("title"), enc["field"]))
    return out


def check_spec(spec: dict, min_height: int = charts.MIN_HEIGHT) -> None:
    """The presentation rules every chart of the dashboard keeps (spec as Streamlit sends it)."""
    validate_jsonschema({k: v for k, v in spec.items() if k != "datasets"}, load_schema())
    assert spec.get("width") == "container", spec.get("width")
    assert spec.get("height", 0) >= min_height, spec.get("height")
    # (the Scale x depth map, whose cells are links, is SVG with its labels: to_spec(links=True), checked by
    # tests/test_browser.py finding a named cell under the pointer)
    # drawn on a canvas without per-mark ARIA labels: as SVG, or with a label computed for each of a heatmap's
    # thousands of cells, the browser spends most of a page switch on them (bench/page_switch.py)
    if spec["usermeta"]["embedOptions"]["renderer"] == "svg":  # only a chart whose marks are links
        assert any("href" in (layer.get("encoding") or {}) for layer in spec.get("layer", [spec])), spec
    else:
        assert spec["usermeta"]["embedOptions"]["renderer"] == "canvas"
        assert spec["config"]["mark"]["aria"] is False
    columns = set()
    for df in (spec.get("datasets") or {}).values():
        columns |= set(getattr(df, "columns", []))
    titles = axis_titles(spec)
    assert titles, "no x or y axis"
    for channel, title, field in titles:
        text = " ".join(title) if isinstance(title, list) else title
        assert text, f"{channel} axis over {field} has no title"
        assert text not in columns and text != field, f"{channel} axis titled with a column name: {text!r}"
    for unit in layers_of(spec):
        tips = unit.get("encoding", {}).get("tooltip")
        assert tips, f"a {unit['mark']} mark without a tooltip"
        for t in tips if isinstance(tips, list) else [tips]:
            assert t.get("title"), f"tooltip field {t.get('field')} without a title"
    for enc in (u.get("encoding", {}) for u in layers_of(spec)):
        legend = (enc.get("color") or {}).get("legend")
        if isinstance(legend, dict) and "symbolOpacity" in legend:
            assert legend["symbolOpacity"] == 1


def all_specs(results) -> dict[str, dict]:
    f, schemes = results.frames, list(SMALL.schemes)
    epochs = sorted(f["layer_stats"]["epoch"].unique().tolist())
    pred = theory.second_moment_prediction(results)
    hist = f["histograms"]
    at = hist[(hist["epoch"] == 0) & (hist["seed"] == 0) & (hist["kind"] == "preactivation")]
    axis = density.value_axis(at)
    dens = density.density(at, f["layer_stats"], axis, "layer")
    over = hist[(hist["layer"] == 2) & (hist["seed"] == 0) & (hist["kind"] == "preactivation")]
    axis_t = density.value_axis(over)
    dens_t = density.density(over, f["layer_stats"], axis_t, "epoch")
    grad = gradients_view.grad_over_training_data(f["gradient_norms"], "weight_grad_norm")
    ud = f["unit_distances"]
    ud = ud[(ud["epoch"] == epochs[-1]) & (ud["seed"] == 0) & (ud["layer"] == 1)]
    moved = weights_view.init_distance_data(f["init_distances"], False)
    cells = boundaries_view.boundary_data(f["boundaries"], epochs[-1], 0)
    layers = sorted(hist["layer"].unique().tolist())
    built = {
        "loss_train": overview_view.loss_curve_panel(f["curves"], f["summary"], schemes, "train", "loss", True,
                                              overview_view.curve_domain(f["curves"], "loss", True)),
        "accuracy_test": overview_view.loss_curve_panel(f["curves"], f["summary"], schemes, "test", "accuracy", False),
        "signal": activations_view.signal_chart(f["layer_stats"], pred, schemes, epochs, 0, "preactivation", "second_moment"),
        "signal_mean": activations_view.signal_chart(f["layer_stats"], pred, schemes, epochs, epochs[-1], "activation", "mean"),
        "dead": activations_view.dead_chart(f["layer_stats"], schemes, 0),
        "layer_density": charts.layer_density_panel(dens, "he_normal", 2, axis, layers, "preactivation", 0.2),
        "epoch_density": charts.epoch_density_panel(dens_t, "he_normal", 2, axis_t, epochs, "preactivation", 0.2),
        "histogram": charts.histogram_panel(at[at["layer"] == 1], "he_normal", 2, "preactivation"),
        "grad_layers": gradients_view.grad_vs_layer_chart(f["gradient_norms"], schemes, epochs, 0),
        "grad_epochs": gradients_view.grad_over_training_panel(grad, "he_normal", 2, "weight_grad_norm", layers, epochs,
                                                       charts.positive_domain(grad["mean"])),
        "unit_distances": weights_view.unit_distance_panel(ud, "he_normal", 2, float(ud["distance"].max())),
        "init_distances": weights_view.init_distance_panel(moved, "he_normal", 2, False, epochs, 1.0),
        "distinct": symmetry_view.distinct_units_chart(f["distinct_units"], schemes, epochs, epochs[-1]),
        "restarts": symmetry_view.restarts_chart(f["summary"], schemes, "accuracy", "train"),
        "boundary": boundaries_view.boundary_panel(cells, f["data_points"], "he_normal", 2, results.data.n_classes),
        "best_of_k": symmetry_view.best_of_k_chart(pd.DataFrame({"scheme": ["he_normal"] * 3, "k": [1, 2, 3],
                                                          "loss": [0.5, 0.4, 0.35]}), ["he_normal"], "loss",
                                            "expected best final test loss"),
    }
    return {name: charts.to_spec(c) for name, c in built.items()}


def test_every_chart_spec_keeps_the_presentation_rules(results):
    for name, spec in all_specs(results).items():
        try:
            check_spec(spec)
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}") from None


def test_the_spec_check_catches_what_it_checks(results):
    """The checker itself fails on a column-name title, a short chart and a mark without tooltip."""
    spec = all_specs(results)["dead"]
    bad = json.loads(json.dumps({k: v for k, v in spec.items() if k != "datasets"}))
    bad["datasets"] = spec["datasets"]
    bad["encoding"]["y"]["title"] = "mean"
    with pytest.raises(AssertionError, match="column name"):
        check_spec(bad)
    bad["encoding"]["y"]["title"] = "share"
    bad["height"] = 120
    with pytest.raises(AssertionError):
        check_spec(bad)
    bad["height"] = 300
    del bad["encoding"]["tooltip"]
    with pytest.raises(AssertionError, match="tooltip"):
        check_spec(bad)


def test_to_spec_ships_every_frame_by_content(results):
    chart = activations_view.signal_chart(results.frames["layer_stats"], pd.DataFrame(columns=["scheme", "layer", "second_moment"]),
                                list(SMALL.schemes), [0, 2], 0, "preactivation", "std", scrub=False)
    spec = charts.to_spec(chart)
    names = [u["data"]["name"] for u in layers_of(spec)]
    assert set(names) == set(spec["datasets"])
    assert all(isinstance(df, pd.DataFrame) for df in spec["datasets"].values())
    # the same frame content gives the same name (Streamlit's element identity hashes the names)
    again = charts.to_spec(activations_view.signal_chart(results.frames["layer_stats"],
                                               pd.DataFrame(columns=["scheme", "layer", "second_moment"]),
                                               list(SMALL.schemes), [0, 2], 0, "preactivation", "std", scrub=False))
    assert set(again["datasets"]) == set(spec["datasets"])


# ------------------------------------------------------------------ epoch scrub
def test_signal_chart_scrubs_every_recorded_epoch_in_the_browser(results):
    f = results.frames
    epochs = sorted(f["layer_stats"]["epoch"].unique().tolist())
    spec = charts.to_spec(activations_view.signal_chart(f["layer_stats"], pd.DataFrame(columns=["scheme", "layer", "second_moment"]),
                                              list(SMALL.schemes), epochs, epochs[1], "preactivation", "second_moment"))
    (param,) = spec["params"]
    assert param["name"] == charts.SCRUB and param["value"] == epochs[1]
    assert param["bind"]["input"] == "range"
    assert (param["bind"]["min"], param["bind"]["max"]) == (epochs[0], epochs[-1])
    assert param["bind"]["step"] == charts.scrub_step(epochs)
    data = [df for df in spec["datasets"].values() if "mean" in df.columns][0]
    assert sorted(data["epoch"].unique().tolist()) == epochs
    # at every slider position exactly one recorded epoch is shown: the latest at or before it
    w = charts.scrub_windows(epochs)
    for position in range(epochs[0], epochs[-1] + 1):
        shown = w[(w["shown_from"] <= position) & (position < w["shown_to"])]["epoch"].tolist()
        assert shown == [max(e for e in epochs if e <= position)]
    assert all(charts.SCRUB in u["transform"][-1]["filter"] for u in layers_of(spec) if u.get("transform"))


def test_past_the_row_limit_a_chart_shows_one_epoch(results, monkeypatch):
    f = results.frames
    epochs = sorted(f["layer_stats"]["epoch"].unique().tolist())
    monkeypatch.setattr(charts, "SCRUB_ROW_LIMIT", 10)
    spec = charts.to_spec(activations_view.signal_chart(f["layer_stats"], pd.DataFrame(columns=["scheme", "layer", "second_moment"]),
                                              list(SMALL.schemes), epochs, epochs[2], "preactivation", "std"))
    assert "params" not in spec
    data = [df for df in spec["datasets"].values() if "mean" in df.columns][0]
    assert data["epoch"].unique().tolist() == [epochs[2]]


def test_scrub_step_is_the_recording_interval():
    assert charts.scrub_step([0, 10, 20, 30]) == 10
    assert charts.scrub_step([0, 33, 67, 100]) == 1
    assert charts.scrub_step([5]) == 1


def test_signal_chart_draws_the_prediction_dashed_at_epoch_zero(results):
    f = results.frames
    pred = theory.second_moment_prediction(results)
    assert len(pred)
    spec = charts.to_spec(activations_view.signal_chart(f["layer_stats"], pred, list(SMALL.schemes), [0, 2, 4, 6, 8], 0,
                                              "preactivation", "second_moment"))
    theory_layer = [u for u in layers_of(spec) if u["encoding"].get("y", {}).get("field") == "second_moment"]
    assert len(theory_layer) == 1
    data = spec["datasets"][theory_layer[0]["data"]["name"]]
    pd.testing.assert_series_equal(data["second_moment"].reset_index(drop=True),
                                   pred["second_moment"].reset_index(drop=True), check_names=False)
    assert set(data["epoch"]) == {0} and set(data["shown_to"]) == {2}  # shown only while epoch 0 is
    dash = theory_layer[0]["encoding"]["strokeDash"]["scale"]["range"]
    assert dash[0] == [1, 0] and dash[1] != [1, 0]  # measured solid, predicted dashed


# ------------------------------------------------------------------ density re-binning
def test_distinct_unit_lines_that_coincide_stay_apart_by_their_dashes(results):
    """zeros and a constant keep one unit per layer alike: their lines lie on one another, so every scheme's line
    has a dash pattern of its own, and the legend is one (colour and dash merged under one title)."""
    f = results.frames
    schemes = ["zeros", "xavier_normal", "he_normal"]
    spec = charts.to_spec(symmetry_view.distinct_units_chart(f["distinct_units"], schemes, [0], 0))
    lines = [u for u in layers_of(spec) if (u["mark"]["type"] if isinstance(u["mark"], dict) else u["mark"]) == "line"]
    dash = lines[0]["encoding"]["strokeDash"]
    assert dash["scale"]["domain"] == schemes
    assert len({json.dumps(d) for d in dash["scale"]["range"]}) == len(schemes)
    assert dash["legend"]["title"] == lines[0]["encoding"]["color"]["legend"]["title"]


def test_symlog_round_trips_and_is_linear_near_zero():
    x = np.array([-1e9, -3.0, -1e-3, -1e-9, 0.0, 2e-7, 0.5, 7.0, 1e12])
    np.testing.assert_allclose(density.symlog_inverse(density.symlog(x)), x, rtol=1e-9, atol=1e-15)
    assert np.all(np.diff(density.symlog(x)) > 0)
    small = np.array([1e-7, 2e-7])
    ratio = density.symlog(small[1]) / density.symlog(small[0])
    assert ratio == pytest.approx(2.0, rel=1e-3)  # linear within EPS of zero


def test_rebin_onto_coarser_edges_sums_exactly():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 50, size=(5, 30)).astype(float)
    lo = rng.normal(size=5)
    width = rng.uniform(0.1, 2, size=5)
    left = lo[:, None] + width[:, None] * np.arange(30)
    right = left + width[:, None]
    for r in range(5):  # target edges: every third source edge of row r
        edges = np.concatenate([left[r, ::3], [right[r, -1]]])
        out = density.rebin(left[r:r + 1], right[r:r + 1], counts[r:r + 1], edges)
        np.testing.assert_allclose(out[0], counts[r].reshape(10, 3).sum(axis=1))


def test_rebin_matches_a_brute_force_histogram_of_uniform_bins():
    """Samples spread evenly within each source bin: re-binning equals binning the samples themselves."""
    left = np.array([[-1.0, 0.0, 1.0]])
    right = left + 1.0
    counts = np.array([[4000.0, 2000.0, 6000.0]])
    samples = np.concatenate([np.linspace(l, r, int(c), endpoint=False) + (r - l) / (2 * c)
                              for l, r, c in zip(left[0], right[0], counts[0])])
    edges = np.array([-1.0, -0.3, 0.25, 0.9, 1.7, 2.0])
    brute, _ = np.histogram(samples, edges)
    np.testing.assert_allclose(density.rebin(left, right, counts, edges)[0], brute, atol=1.0)


def test_rebin_keeps_mass_outside_the_edges_and_point_masses():
    left, right = np.array([[-10.0, 0.0]]), np.array([[0.0, 10.0]])
    counts = np.array([[5.0, 5.0]])
    out = density.rebin(left, right, counts, np.array([-1.0, 0.0, 1.0]))
    assert out.sum() == pytest.approx(10.0) and out[0, 0] == pytest.approx(5.0)
    point = density.rebin(left, right, counts, np.array([-1.0, 0.0, 1.0, 2.0]), point=np.array([1.5]))
    np.testing.assert_allclose(point[0], [0.0, 0.0, 10.0])


def test_density_keeps_every_histogram_total_and_shares_sum_to_one(results):
    f = results.frames
    hist = f["histograms"]
    at = hist[(hist["epoch"] == 0) & (hist["seed"] == 1) & (hist["kind"] == "activation")]
    for symlog_axis in (True, False):
        axis = density.value_axis(at, symlog_axis=symlog_axis)
        d = density.density(at, f["layer_stats"], axis, "layer")
        got = d.groupby(["scheme", "layer"])["count"].sum()
        want = at.groupby(["scheme", "layer"])["count"].sum()
        want = want[want > 0]
        pd.testing.assert_series_equal(got.sort_index(), want.astype(float).sort_index(), check_names=False)
        np.testing.assert_allclose(d.groupby(["scheme", "layer"])["share"].sum(), 1.0)
        assert (d["value_lo"] >= axis.edges[0] - 1e-12).all() and (d["value_hi"] <= axis.edges[-1] + 1e-12).all()
    # zero weights: every pre-activation of a hidden layer is 0, so its whole histogram is the bin holding 0
    pre = hist[(hist["epoch"] == 0) & (hist["seed"] == 0) & (hist["kind"] == "preactivation")]
    axis = density.value_axis(pre)
    d = density.density(pre, f["layer_stats"], axis, "layer")
    zeros = d[(d["scheme"] == "zeros") & (d["layer"] <= SMALL.depth)]
    assert (zeros.groupby("layer").size() == 1).all()
    assert ((zeros["value_lo"] <= 0) & (0 < zeros["value_hi"])).all()


def test_value_axis_is_shared_and_covers_every_filled_bin(results):
    hist = results.frames["histograms"]
    at = hist[(hist["epoch"] == 0) & (hist["kind"] == "preactivation")]
    axis = density.value_axis(at)
    full = at[at["count"] > 0]
    assert axis.edges[0] <= full["bin_left"].min() + 1e-12 and axis.edges[-1] >= full["bin_right"].max() - 1e-12
    assert len(axis.ticks) == len(axis.labels) <= 9 and "0" in axis.labels
    lin = density.value_axis(at, symlog_axis=False)
    assert lin.domain == (min(0.0, full["bin_left"].min()), max(0.0, full["bin_right"].max()))


# ------------------------------------------------------------------ decision-boundary rects
def _cell_in_rect(cells: pd.DataFrame, rects: pd.DataFrame) -> pd.DataFrame:
    """Every grid cell with the rects of its scheme and row whose x range holds the cell's centre."""
    both = cells.merge(rects.reset_index(), on=["scheme", "row"], suffixes=("", "_rect"))
    centre = both["x1"]
    return both[(both["x1_rect"] <= centre) & (centre <= both["x1_hi"])]


def test_boundary_rects_cover_every_cell_once_with_its_class_and_probability():
    config = ExperimentConfig(schemes=("zeros", "he_normal", "xavier_normal"), seeds=1, depth=2, width=16,
                              epochs=30, record_epochs=3, n_samples=300)
    bnd = run(config).frames["boundaries"]
    for epoch in sorted(bnd["epoch"].unique()):
        rects = boundaries_view.boundary_data(bnd, epoch, 0)
        cells = bnd[(bnd["epoch"] == epoch) & (bnd["seed"] == 0)].rename(columns={"x2": "row_centre"})
        step = np.diff(np.unique(cells["row_centre"]))[0]
        rects = rects.assign(row=np.round((rects["x2"] + step / 2) / step).astype(int))
        cells = cells.assign(row=np.round(cells["row_centre"] / step).astype(int))
        hits = _cell_in_rect(cells, rects)
        assert hits.groupby(["scheme", "row", "x1"]).size().eq(1).all() and len(hits) == len(cells)
        assert (hits["predicted"] == hits["predicted_rect"]).all()
        assert (hits["probability"] - hits["probability_rect"]).abs().max() <= 1 / boundaries_view.SHADES
        # the two-class colour: the probability of class 1, whatever the class predicted
        class_1 = np.where(hits["predicted"] == 1, hits["probability"], 1 - hits["probability"])
        assert np.abs(class_1 - hits["p_class_1"]).max() <= 1 / boundaries_view.SHADES
        # the tooltip's range holds every cell's exact probability
        ends = hits["probability_range"].str.split(" – ")
        low, high = ends.str[0].astype(float), ends.str[-1].astype(float)
        assert ((low - 1e-6 <= hits["probability"]) & (hits["probability"] <= high + 1e-6)).all()
        # the rects tile the plane: their areas add up to the grid's
        dx = np.diff(np.unique(cells["x1"]))[0]
        area = ((rects["x1_hi"] - rects["x1"]) * (rects["x2_hi"] - rects["x2"])).sum()
        assert area == pytest.approx(len(cells) * dx * step)
        if epoch == 0:  # zeros: every grid point gets the same prediction, one rect a row
            assert (rects["scheme"] == "zeros").sum() == cells["row"].nunique()
    # trained, most of the plane is far from the boundary: far fewer marks than cells
    assert len(rects) < len(cells) / 2


def test_boundary_rects_keep_cells_apart_when_their_probabilities_differ():
    grid = [(x1, x2) for x2 in range(4) for x1 in range(5)]
    cells = pd.DataFrame({"scheme": "s", "x1": [a - 0.5 for a, _ in grid], "x1_hi": [a + 0.5 for a, _ in grid],
                          "x2": [b - 0.5 for _, b in grid], "x2_hi": [b + 0.5 for _, b in grid],
                          "predicted": 1, "probability": [0.5 + 0.02 * i for i in range(len(grid))]})
    rects = boundaries_view.boundary_runs(cells)
    assert len(rects) == len(cells)
    assert list(rects["probability_range"]) == [f"{p:.6g}" for p in cells["probability"]]
    # in any order the cells come, the same rects
    shuffled = boundaries_view.boundary_runs(cells.sample(frac=1, random_state=0))
    pd.testing.assert_frame_equal(shuffled, rects)
    # the same probabilities in another class stay apart, and equal ones in a row merge
    cells["predicted"] = [i % 2 for i in range(len(grid))]
    cells["probability"] = 0.9
    assert len(boundaries_view.boundary_runs(cells)) == len(cells)
    cells["predicted"] = 1
    assert len(boundaries_view.boundary_runs(cells)) == 4
    # no cells (every model of the seed diverged before the epoch): no rects, the columns a panel reads
    none = boundaries_view.boundary_runs(cells.iloc[:0])
    assert none.empty and {"probability_range", "p_class_1", "x1_hi"} <= set(none.columns)
