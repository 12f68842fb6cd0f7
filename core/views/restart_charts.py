"""Altair charts of restarts (core.restarts' frames): where each restart ends, the expected best of k restarts,
and the best and the worst fit drawn over the data.

Every chart is one view (no facets), so the page can stretch it to its column's width; tooltips carry the
exact values, axis titles say what is measured and in which unit.
"""
from __future__ import annotations

import textwrap

import altair as alt
import numpy as np
import pandas as pd

from core.views.charts import scheme_color
from core.views.colours import INIT_COLOURS, OKABE_ITO
from core.formatting import number_text
from core.i18n import N_, _
from core.restarts import METHODS

HEIGHT = 320


def _sized(chart, title: str | None = None, height: int = HEIGHT):
    """The plot ``height`` tall, its width fitted to the page's column (Streamlit's default "fit" would
    count the legend and axis titles into the height and squash the plot). Set in place, as charts._size:
    Altair's ``properties`` deep-copies the chart and its data."""
    chart.width, chart.height = "container", height
    chart.autosize = alt.AutoSizeParams(type="fit-x", contains="padding")
    if title is not None:  # in lines of at most 36 characters: Vega cuts a longer line at a phone's width
        chart.title = textwrap.wrap(title, 36)
    return chart


def init_color(inits) -> alt.Color:
    inits = list(inits)
    return alt.Color("init:N", sort=inits, title=_("init"),
                     scale=alt.Scale(domain=inits, range=[INIT_COLOURS[i] for i in inits]),
                     # one entry a row: three charts share a row, and a second column of labels as long as
                     # "random_from_data" runs past a chart a third of the page wide, where Vega clips it
                     legend=alt.Legend(orient="bottom", symbolOpacity=1, columns=1, labelLimit=0))


def _domain(values, floor: float) -> list[float]:
    """An axis range holding ``values``, at least ``floor`` wide: a spread of rounding noise must not fill the
    whole axis."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    lo, hi = float(v.min()), float(v.max())
    width = max(hi - lo, floor)
    mid = (lo + hi) / 2
    return [mid - 0.55 * width, mid + 0.55 * width]


def outcomes_chart(runs: pd.DataFrame, method: str) -> alt.LayerChart:
    """One dot per restart of k-means or EM: its final objective against the iterations it took, coloured by
    init; the dashed line is the best found."""
    m = METHODS[method]
    data = runs[runs["method"] == method][["init", "restart", "objective", "iterations", "converged", "gap",
                                           "near_best"]]
    best = data["objective"].min() if m.better == "lower" else data["objective"].max()
    y_title = _(m.axis)
    y = alt.Y("objective:Q", title=y_title,
              scale=alt.Scale(domain=_domain(data["objective"], 0.02 * abs(best) + 1e-9), zero=False))
    # restarts that end identically would hide each other: spread them a little along x (the tooltip keeps
    # the exact iteration count)
    dots = alt.Chart(data).transform_calculate(
        shown="datum.iterations + ((datum.restart % 7) - 3) * 0.08").mark_point(
        filled=True, size=70, opacity=0.75).encode(
        x=alt.X("shown:Q", title=_("iterations until it stopped")), y=y, color=init_color(m.inits),
        tooltip=[alt.Tooltip("init:N", title=_("init")), alt.Tooltip("restart:Q", title=_("restart")),
                 alt.Tooltip("objective:Q", title=_(m.noun), format=".10g"),
                 alt.Tooltip("iterations:Q", title=_("iterations")),
                 alt.Tooltip("converged:N", title=_("converged")),
                 alt.Tooltip("near_best:N", title=_("in the best group"))])
    rule = alt.Chart(pd.DataFrame({"best": [best]})).mark_rule(strokeDash=[5, 4], color="black").encode(
        y=alt.Y("best:Q", title=y_title), tooltip=[alt.Tooltip("best:Q", title=_("best found"), format=".10g")])
    return _sized(alt.layer(dots, rule), _(m.title))


def convex_chart(runs: pd.DataFrame) -> alt.LayerChart:
    """Logistic regression: every restart's starting and final log-loss, one restart per column."""
    data = runs[runs["method"] == "logistic"]
    m = METHODS["logistic"]
    long = pd.concat([
        pd.DataFrame({"restart": data["restart"], "stage": _("start"), "log_loss": data["start_objective"],
                      "iterations": 0}),
        pd.DataFrame({"restart": data["restart"], "stage": _("end"), "log_loss": data["objective"],
                      "iterations": data["iterations"]})], ignore_index=True)
    stages = [_("start"), _("end")]
    color = alt.Color("stage:N", sort=stages, title=None,
                      scale=alt.Scale(domain=stages, range=[OKABE_ITO["grey"], OKABE_ITO["green"]]),
                      legend=alt.Legend(orient="bottom", symbolOpacity=1))
    base = alt.Chart(long).encode(
        x=alt.X("restart:Q", title=_("restart (its random_state)"),
                  axis=alt.Axis(tickMinStep=1, labelFlush=True)),
        y=alt.Y("log_loss:Q", title=_(m.axis), scale=alt.Scale(zero=True)),
        tooltip=[alt.Tooltip("restart:Q", title=_("restart")), alt.Tooltip("stage:N", title=_("stage")),
                 alt.Tooltip("log_loss:Q", title=_(m.noun), format=".10g"),
                 alt.Tooltip("iterations:Q", title=_("iterations"))])
    links = base.mark_rule(color="#bbbbbb").encode(detail="restart:Q")
    dots = base.mark_point(filled=True, size=70, opacity=0.9).encode(color=color)
    return _sized(alt.layer(links, dots), _(m.title))


def best_of_k_chart(best_of_k: pd.DataFrame, runs: pd.DataFrame, method: str) -> alt.LayerChart:
    """The expected best objective of k restarts (exact, drawn without replacement from the N run), per init;
    the dashed line is the best found."""
    m = METHODS[method]
    data = best_of_k[best_of_k["method"] == method]
    found = runs[runs["method"] == method]["objective"]
    best = found.min() if m.better == "lower" else found.max()
    y_title = [_("expected best of k"), _(m.axis)]
    y = alt.Y("expected_best:Q", title=y_title,
              scale=alt.Scale(domain=_domain(np.r_[data["expected_best"], best], 0.02 * abs(best) + 1e-9),
                              zero=False))
    lines = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("k:Q", title=_("restarts kept (k): the best of k is used"),
                  axis=alt.Axis(tickMinStep=1, labelFlush=True)),
        y=y, color=init_color(m.inits),
        tooltip=[alt.Tooltip("init:N", title=_("init")), alt.Tooltip("k:Q", title=_("restarts")),
                 alt.Tooltip("expected_best:Q", title=_("expected best"), format=".10g"),
                 alt.Tooltip("chance_near_best:Q", title=_("chance of one in the best group"), format=".1%")])
    rule = alt.Chart(pd.DataFrame({"best": [best]})).mark_rule(strokeDash=[5, 4], color="black").encode(
        y=alt.Y("best:Q", title=y_title), tooltip=[alt.Tooltip("best:Q", title=_("best found"), format=".10g")])
    return _sized(alt.layer(lines, rule), _(m.title))


def centres_chart(points: pd.DataFrame, centres: pd.DataFrame, ellipses: pd.DataFrame, runs: pd.DataFrame,
                  method: str, init: str, which: str) -> alt.LayerChart:
    """The data (first two features) with the centres of one restart, and for EM its Gaussians' ellipses
    (2 standard deviations: the Mahalanobis radius holding 86% of a 2-D Gaussian)."""
    m = METHODS[method]
    c = centres[(centres["method"] == method) & (centres["init"] == init) & (centres["which"] == which)]
    restart = int(c["restart"].iloc[0])
    objective = runs[(runs["method"] == method) & (runs["init"] == init) & (runs["restart"] == restart)]
    objective = float(objective["objective"].iloc[0])
    title = (_("best restart ({restart}): {objective} {value}") if which == "best" else
             _("worst restart ({restart}): {objective} {value}")).format(
        restart=restart, objective=_(m.noun), value=number_text(objective, ".6g"))
    x = alt.X("x1:Q", title=_("feature 1 (standardized)"), scale=alt.Scale(zero=False))
    y = alt.Y("x2:Q", title=_("feature 2 (standardized)"), scale=alt.Scale(zero=False))
    layers = [alt.Chart(points).mark_circle(size=14, color="#9a9a9a", opacity=0.45).encode(
        x=x, y=y, tooltip=[alt.Tooltip("x1:Q", title=_("feature 1"), format=".4g"),
                           alt.Tooltip("x2:Q", title=_("feature 2"), format=".4g"),
                           alt.Tooltip("label:N", title=_("label"))])]
    e = ellipses[(ellipses["method"] == method) & (ellipses["init"] == init) & (ellipses["which"] == which)]
    if len(e):
        layers.append(alt.Chart(e).mark_line(color=INIT_COLOURS[init], strokeWidth=2).encode(
            x=x, y=y, detail="cluster:N", order="point:Q",
            tooltip=[alt.Tooltip("cluster:N", title=_("component"))]))
    layers.append(alt.Chart(c).mark_point(shape="cross", size=220, filled=True, color="black", opacity=1).encode(
        x=x, y=y,
        tooltip=[alt.Tooltip("cluster:N", title=_("cluster")), alt.Tooltip("x1:Q", title=_("feature 1"), format=".6g"),
                 alt.Tooltip("x2:Q", title=_("feature 2"), format=".6g"), alt.Tooltip("weight:Q", title=_("weight"), format=".4f")]))
    return _sized(alt.layer(*layers), title, HEIGHT + 40)


# the summary columns a network's best-of-k curve is drawn for, in words
FINAL_METRIC_WORDS = {"final_train_loss": N_("final training loss"), "final_test_loss": N_("final test loss"),
                      "final_train_accuracy": N_("final training accuracy"),
                      "final_test_accuracy": N_("final test accuracy")}


def network_best_of_k_chart(best_of_k: pd.DataFrame, summary: pd.DataFrame, schemes) -> alt.LayerChart:
    """For a network run (core.restarts.best_of_k_frame): the expected best final metric of k seeds per
    scheme, with every finished seed's observed value as a dot at k = 1 (where the curve is their mean). A
    diverged seed is in the curve as the worst result (no curve while k cannot avoid it), not as a dot."""
    metric = str(best_of_k["metric"].iloc[0])
    title = _(FINAL_METRIC_WORDS[metric]) if metric in FINAL_METRIC_WORDS else metric.replace("_", " ")
    data = best_of_k[np.isfinite(best_of_k["expected_best"].to_numpy(dtype=float))]
    if "diverged_epoch" in summary:
        summary = summary[summary["diverged_epoch"].isna()]
    seen = summary[["scheme", "seed", metric]].assign(k=1)
    seen = seen[np.isfinite(seen[metric].to_numpy(dtype=float))]
    # values orders of magnitude apart (an exploding scheme beside a fitted one): a log axis
    values = pd.concat([data["expected_best"], seen[metric]]).to_numpy(dtype=float)
    log = len(values) > 0 and values.min() > 0 and values.max() > 100 * values.min()
    scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
    x = alt.X("k:Q", title=_("seeds kept (k): the best of k is used"), axis=alt.Axis(tickMinStep=1))
    y_title = _("expected best {metric}").format(metric=title)
    lines = alt.Chart(data).mark_line(point=True).encode(
        x=x, y=alt.Y("expected_best:Q", title=y_title, scale=scale),
        color=scheme_color(schemes),
        tooltip=[alt.Tooltip("scheme:N", title=_("scheme")), alt.Tooltip("k:Q", title=_("seeds")),
                 alt.Tooltip("expected_best:Q", title=_("expected best"), format=".10g")])
    dots = alt.Chart(seen).mark_circle(size=45, opacity=0.6).encode(
        # the same legend as the lines': a layer without one removes it for both (core.views.charts.scheme_color)
        x=x, y=alt.Y(f"{metric}:Q", title=y_title, scale=scale), color=scheme_color(schemes),
        tooltip=[alt.Tooltip("scheme:N", title=_("scheme")), alt.Tooltip("seed:Q", title=_("seed")),
                 alt.Tooltip(f"{metric}:Q", title=_("observed {metric}").format(metric=title), format=".10g")])
    return _sized(alt.layer(dots, lines))
