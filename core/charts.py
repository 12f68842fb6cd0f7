"""Tidy frame -> Altair chart. Pure functions; the dashboard only places them.

One colour per scheme everywhere: every chart takes the ordered scheme list
and builds its colour scale from ``scheme_scale``. Frames are aggregated
over seeds (mean with a min-max band) and filtered to one epoch before they
reach a chart, so the browser gets summaries, never raw samples.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2",
           "#eeca3b", "#9d755d", "#ff9da6", "#bab0ac", "#17becf", "#7f7f7f"]
FACET_WIDTH = 180


def scheme_scale(schemes) -> alt.Scale:
    return alt.Scale(domain=list(schemes), range=PALETTE[: len(schemes)])


def scheme_color(schemes, legend=True) -> alt.Color:
    return alt.Color("scheme:N", scale=scheme_scale(schemes), sort=list(schemes),
                     legend=alt.Legend(title="scheme", orient="bottom", columns=4) if legend else None)


def seed_band(df: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Mean, min, max and count of ``value`` over seeds, per ``by`` group."""
    g = df.groupby(by, sort=False)[value]
    out = g.agg(mean="mean", low="min", high="max", seeds="count").reset_index()
    return out


def _finite(df: pd.DataFrame, cols) -> pd.DataFrame:
    vals = df[cols].to_numpy(dtype=float)
    return df[np.isfinite(vals).all(axis=1)]


# ---------------------------------------------------------------- overview
def curve_data(curves: pd.DataFrame, metric: str) -> pd.DataFrame:
    return seed_band(curves.dropna(subset=[metric]), ["scheme", "split", "epoch"], metric)


def loss_curves(curves: pd.DataFrame, summary: pd.DataFrame, schemes, metric: str = "loss",
                log: bool = False) -> alt.Chart:
    data = curve_data(curves, metric)
    if log:
        data = data[(data["low"] > 0)]
    yscale = alt.Scale(type="log") if log else alt.Scale(zero=False)
    base = alt.Chart(data).encode(x=alt.X("epoch:Q", title="epoch"), color=scheme_color(schemes))
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("low:Q", title=metric, scale=yscale), y2="high:Q")
    line = base.mark_line().encode(
        y=alt.Y("mean:Q", scale=yscale),
        tooltip=["scheme", "split", "epoch", alt.Tooltip("mean:Q", format=".4g"), "seeds"])
    layers = [band, line]
    marks = divergence_marks(curves, summary, metric)
    if len(marks):
        layers.append(alt.Chart(marks).mark_point(shape="cross", size=120, strokeWidth=3, filled=True).encode(
            x="epoch:Q", y=alt.Y(f"{metric}:Q", scale=yscale), color=scheme_color(schemes),
            tooltip=["scheme", "seed", "status", "split"]))
    return _facet_layers(layers, "split", ["train", "test"], width=FACET_WIDTH * 1.6)


def _facet_layers(layers, field, order, width=FACET_WIDTH, height=220):
    """Facet a layered chart whose layers have different data frames."""
    charts = []
    for value in order:
        parts = [l.transform_filter(alt.datum[field] == value) for l in layers]
        charts.append(alt.layer(*parts).properties(title=str(value), width=width, height=height))
    return alt.hconcat(*charts).resolve_scale(y="shared")


def divergence_marks(curves: pd.DataFrame, summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Last finite point of every diverged model's curve, labelled with its epoch."""
    bad = summary[summary["diverged_epoch"].notna()][["scheme", "seed", "status"]]
    if bad.empty:
        return pd.DataFrame(columns=["scheme", "seed", "split", "epoch", metric, "status"])
    c = curves.merge(bad, on=["scheme", "seed"])
    last = c.sort_values("epoch").groupby(["scheme", "seed", "split"], sort=False).tail(1)
    return last[["scheme", "seed", "split", "epoch", metric, "status"]].reset_index(drop=True)


# ------------------------------------------------------------- activations
def histogram_chart(hist: pd.DataFrame, schemes, epoch: int, seed: int, kind: str) -> alt.FacetChart:
    data = hist[(hist["epoch"] == epoch) & (hist["seed"] == seed) & (hist["kind"] == kind)]
    data = data[["scheme", "layer", "bin_left", "bin_right", "count"]]
    # rect with an explicit zero baseline: pre-binned bars, no stacking
    return alt.Chart(data).mark_rect(opacity=0.85).encode(
        x=alt.X("bin_left:Q", title=kind, axis=alt.Axis(format="~g", tickCount=4)), x2="bin_right:Q",
        y=alt.Y("count:Q", title=None, axis=alt.Axis(tickCount=3)), y2=alt.datum(0),
        color=scheme_color(schemes, legend=False),
        tooltip=["scheme", "layer", alt.Tooltip("bin_left:Q", format=".3g"),
                 alt.Tooltip("bin_right:Q", format=".3g"), "count"],
    ).properties(width=FACET_WIDTH, height=90).facet(
        row=alt.Row("layer:O", title="layer"), column=alt.Column("scheme:N", sort=list(schemes), title=None),
    ).resolve_scale(x="independent", y="independent")


def moments_chart(layer_stats: pd.DataFrame, theory: pd.DataFrame, schemes, epoch: int, kind: str,
                  stat: str) -> alt.LayerChart:
    data = layer_stats[(layer_stats["epoch"] == epoch) & (layer_stats["kind"] == kind)]
    data = _finite(seed_band(data, ["scheme", "layer"], stat), ["mean"])
    # second moments span orders of magnitude: log scale, leaving out exact zeros (zero init)
    log = stat in ("second_moment", "std")
    if log:
        data = data[data["mean"] > 0]
    yscale = alt.Scale(type="log") if log else alt.Scale(zero=False)
    measured = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("layer:Q", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("mean:Q", title=f"{stat} of {kind}s" + (" (log)" if log else ""), scale=yscale),
        color=scheme_color(schemes), tooltip=["scheme", "layer", alt.Tooltip("mean:Q", format=".3g"), "seeds"])
    layers = [measured]
    if stat == "second_moment" and kind == "preactivation" and epoch == 0 and len(theory):
        layers.append(alt.Chart(theory.assign(source="theory")).mark_line(strokeDash=[5, 4], opacity=0.8).encode(
            x="layer:Q", y=alt.Y("second_moment:Q", scale=yscale), color=scheme_color(schemes),
            tooltip=["scheme", "layer", alt.Tooltip("second_moment:Q", format=".3g", title="predicted")]))
    return alt.layer(*layers).properties(width=520, height=260)


def dead_chart(layer_stats: pd.DataFrame, schemes, epoch: int) -> alt.Chart:
    data = layer_stats[(layer_stats["epoch"] == epoch) & (layer_stats["kind"] == "activation")]
    data = _finite(seed_band(data, ["scheme", "layer"], "dead_or_saturated"), ["mean"])
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("layer:O"), xOffset=alt.XOffset("scheme:N", sort=list(schemes)),
        y=alt.Y("mean:Q", title="dead or saturated fraction", scale=alt.Scale(domain=[0, 1])),
        color=scheme_color(schemes), tooltip=["scheme", "layer", alt.Tooltip("mean:Q", format=".2f")],
    ).properties(width=520, height=200)


# --------------------------------------------------------------- gradients
def grad_vs_layer_chart(grad: pd.DataFrame, schemes, epoch: int) -> alt.Chart:
    data = _finite(seed_band(grad[grad["epoch"] == epoch], ["scheme", "layer"], "weight_grad_norm"), ["mean"])
    data = data[data["mean"] > 0]
    return alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("layer:Q", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("mean:Q", title="||dL/dW|| (log)", scale=alt.Scale(type="log")),
        color=scheme_color(schemes), tooltip=["scheme", "layer", alt.Tooltip("mean:Q", format=".3g")],
    ).properties(width=520, height=240)


def grad_over_training_chart(grad: pd.DataFrame, schemes) -> alt.FacetChart:
    data = _finite(seed_band(grad, ["scheme", "layer", "epoch"], "weight_grad_norm"), ["mean"])
    data = data[data["mean"] > 0]
    return alt.Chart(data).mark_line(point=True).encode(
        x="epoch:Q", y=alt.Y("mean:Q", title="||dL/dW|| (log)", scale=alt.Scale(type="log")),
        color=alt.Color("layer:O", scale=alt.Scale(scheme="viridis")),
        tooltip=["scheme", "layer", "epoch", alt.Tooltip("mean:Q", format=".3g")],
    ).properties(width=FACET_WIDTH, height=160).facet(
        column=alt.Column("scheme:N", sort=list(schemes), title=None))


# --------------------------------------------------------- weight distances
def unit_distance_heatmap(ud: pd.DataFrame, schemes, epoch: int, seed: int, layer: int) -> alt.FacetChart:
    data = ud[(ud["epoch"] == epoch) & (ud["seed"] == seed) & (ud["layer"] == layer)]
    data = data[["scheme", "unit_i", "unit_j", "distance"]]
    return alt.Chart(data).mark_rect().encode(
        x=alt.X("unit_j:O", axis=None), y=alt.Y("unit_i:O", axis=None),
        # one scale from 0 for all schemes, so identical units (distance 0) look the same everywhere
        color=alt.Color("distance:Q", scale=alt.Scale(scheme="viridis", domainMin=0), title="distance"),
        tooltip=["scheme", "unit_i", "unit_j", alt.Tooltip("distance:Q", format=".3g")],
    ).properties(width=FACET_WIDTH, height=FACET_WIDTH).facet(
        column=alt.Column("scheme:N", sort=list(schemes), title=None))


def init_distance_heatmap(init_d: pd.DataFrame, schemes, relative: bool = True) -> alt.FacetChart:
    value = "relative_distance" if relative else "distance"
    data = seed_band(init_d, ["scheme", "layer", "epoch"], value)
    return alt.Chart(data).mark_rect().encode(
        x=alt.X("epoch:O"), y=alt.Y("layer:O"),
        color=alt.Color("mean:Q", scale=alt.Scale(scheme="magma"), title=value.replace("_", " ")),
        tooltip=["scheme", "layer", "epoch", alt.Tooltip("mean:Q", format=".3g"), "seeds"],
    ).properties(width=FACET_WIDTH, height=160).facet(
        column=alt.Column("scheme:N", sort=list(schemes), title=None))


# -------------------------------------------------------- symmetry/restarts
def distinct_units_chart(distinct: pd.DataFrame, schemes) -> alt.FacetChart:
    data = seed_band(distinct, ["scheme", "layer", "epoch"], "distinct_units")
    return alt.Chart(data).mark_line(point=True).encode(
        x="epoch:Q", y=alt.Y("mean:Q", title="distinct units"), color=scheme_color(schemes),
        tooltip=["scheme", "layer", "epoch", "mean"],
    ).properties(width=FACET_WIDTH, height=160).facet(column=alt.Column("layer:O", title="layer"))


def restarts_chart(summary: pd.DataFrame, schemes, metric: str = "final_test_loss") -> alt.LayerChart:
    data = _finite(summary[["scheme", "seed", metric, "status"]], [metric])
    points = alt.Chart(data).mark_circle(size=70, opacity=0.8).encode(
        x=alt.X("scheme:N", sort=list(schemes), title=None), y=alt.Y(f"{metric}:Q", scale=alt.Scale(zero=False)),
        color=scheme_color(schemes, legend=False), tooltip=["scheme", "seed", metric, "status"],
        xOffset=alt.XOffset("jitter:Q")).transform_calculate(jitter="random()")
    means = alt.Chart(data).mark_tick(thickness=2, size=30, color="black").encode(
        x=alt.X("scheme:N", sort=list(schemes)), y=f"mean({metric}):Q")
    return alt.layer(points, means).properties(width=max(300, 70 * len(schemes)), height=260)


# ------------------------------------------------------- decision boundary
def boundary_data(bnd: pd.DataFrame, epoch: int, seed: int) -> pd.DataFrame:
    data = bnd[(bnd["epoch"] == epoch) & (bnd["seed"] == seed)].copy()
    xs, ys = np.unique(data["x1"]), np.unique(data["x2"])
    dx = (xs[1] - xs[0]) if len(xs) > 1 else 1.0
    dy = (ys[1] - ys[0]) if len(ys) > 1 else 1.0
    data["x1_hi"], data["x2_hi"] = data["x1"] + dx, data["x2"] + dy
    data["x1"], data["x2"] = data["x1"] - dx / 2, data["x2"] - dy / 2
    data["x1_hi"] -= dx / 2
    data["x2_hi"] -= dy / 2
    data["p_class_1"] = np.where(data["predicted"] == 1, data["probability"], 1 - data["probability"])
    return data.drop(columns=["epoch", "seed"])


def boundary_chart(bnd: pd.DataFrame, points: pd.DataFrame, schemes, epoch: int, seed: int,
                   n_classes: int) -> alt.ConcatChart:
    cells = boundary_data(bnd, epoch, seed)
    pts = points[points["split"] == "train"]
    x = alt.X("x1:Q", scale=alt.Scale(zero=False, nice=False), title="x1")
    y = alt.Y("x2:Q", scale=alt.Scale(zero=False, nice=False), title="x2")
    if n_classes == 2:
        fill = alt.Color("p_class_1:Q", scale=alt.Scale(scheme="redblue", domain=[0, 1]), title="P(class 1)")
        opacity = alt.value(0.75)
    else:
        fill = alt.Color("predicted:N", scale=alt.Scale(scheme="category10"), title="predicted")
        opacity = alt.Opacity("probability:Q", scale=alt.Scale(domain=[0, 1]), legend=None)
    charts = []
    for scheme in schemes:
        heat = alt.Chart(cells[cells["scheme"] == scheme]).mark_rect().encode(
            x=x, x2="x1_hi:Q", y=y, y2="x2_hi:Q", color=fill, opacity=opacity,
            tooltip=[alt.Tooltip("predicted:N"), alt.Tooltip("probability:Q", format=".2f")])
        # binary: points in the colours of the probability scale's ends (class 0 red, class 1 blue)
        point_scale = (alt.Scale(domain=[0, 1], range=["#b2182b", "#2166ac"]) if n_classes == 2
                       else alt.Scale(scheme="category10"))
        dots = alt.Chart(pts).mark_circle(size=16, stroke="white", strokeWidth=0.6, opacity=1).encode(
            x="x1:Q", y="x2:Q", fill=alt.Fill("label:N", scale=point_scale, title="class"))
        charts.append(alt.layer(heat, dots).properties(title=scheme, width=FACET_WIDTH, height=FACET_WIDTH))
    return alt.concat(*charts, columns=4).resolve_scale(color="shared")
