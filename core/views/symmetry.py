"""The Symmetry & restarts page: distinct units per layer, the spread of outcomes over seeds, best of k, and what to
notice in them.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.i18n import N_, _
from core.views.charts import (NUM, PANEL_HEIGHT, epoch_frames, epoch_label, filtered, finite_rows, layered, lines,
                               metric_title, scheme_color, scheme_dash, scheme_tip, scrub_filter, seed_band, sized, tip,
                               titled_panel)
from core.views.phrases import divergence_sentence, finished_models, number, seeds_words, symmetry_sentence


def distinct_units_chart(distinct: pd.DataFrame, schemes, epochs, epoch: int, column: str = "distinct_units",
                         scrub: bool = True) -> alt.LayerChart:
    """Distinct units per layer (seed mean, min–max band), on a log₂ scale from 1 to the widest layer."""
    data = seed_band(distinct, ["scheme", "epoch", "layer"], column)
    (data,), scrubbing = epoch_frames([data], epochs, epoch, scrub)
    top = max(2, int(distinct["units"].max())) if len(distinct) else 2
    yscale = alt.Scale(type="log", base=2, domain=[1, top])
    ytitle = lines(_("functionally distinct units, log₂ scale") if column.startswith("functional") else
                   _("distinct units, log₂ scale"))
    x = alt.X("layer:Q", title=_("layer (1 = first hidden, last = output)"),
              axis=alt.Axis(tickMinStep=1, format="d"), scale=alt.Scale(nice=False))
    tips = [scheme_tip(), tip("layer:Q", _("layer")), tip("epoch:Q", _("epoch")),
            tip("mean:Q", _("distinct units, mean over seeds"), NUM), tip("low:Q", _("fewest (a seed)")),
            tip("high:Q", _("most (a seed)")), tip("seeds:Q", _("seeds"))]
    band = alt.Chart(data).mark_area(opacity=0.18).encode(
        x=x, y=alt.Y("low:Q", title=ytitle, scale=yscale), y2=alt.Y2("high:Q"), color=scheme_color(schemes),
        tooltip=tips)
    line = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=70), strokeWidth=2).encode(
        x=x, y=alt.Y("mean:Q", title=ytitle, scale=yscale), color=scheme_color(schemes),
        strokeDash=scheme_dash(schemes), tooltip=tips)
    layers = [band, line]
    if scrubbing:
        layers = [filtered(l, scrub_filter()) for l in layers]
    layers.append(epoch_label(epochs, epoch, scrubbing))
    return sized(layered(layers, scrubbing, epochs, epoch), PANEL_HEIGHT + 40)


def summary_column(metric: str, split: str) -> str:
    return f"final_{split}_{metric}"


def restarts_chart(summary: pd.DataFrame, schemes, metric: str = "loss", split: str = "test",
                   task: str = "classification") -> alt.LayerChart:
    """Each seed's final value as a dot per scheme, the seed mean as a black tick. Diverged seeds are left out
    (their last finite value is not where the start led; the page's notice counts them)."""
    col = summary_column(metric, split)
    if "diverged_epoch" in summary:
        summary = summary[summary["diverged_epoch"].isna()]
    data = finite_rows(summary[["scheme", "seed", col, "status"]], [col]).rename(columns={col: "value"})
    # a fixed jitter per seed (not random()): the picture is the same at every redraw
    seeds = max(1, int(summary["seed"].max()) + 1) if len(summary) else 1
    data = data.assign(jitter=(data["seed"] + 0.5) / seeds - 0.5)
    ytitle = _("final {metric}, {split}").format(
        metric=metric_title(metric, task), split=_("training set") if split == "train" else _("test set"))
    x = alt.X("scheme:N", sort=list(schemes), title=_("initialization scheme"), axis=alt.Axis(labelAngle=0, labelLimit=160))
    points = alt.Chart(data).mark_circle(size=80, opacity=0.85).encode(
        x=x, xOffset=alt.XOffset("jitter:Q", scale=alt.Scale(domain=[-1, 1])),
        y=alt.Y("value:Q", title=lines(ytitle), scale=alt.Scale(zero=False)),
        color=scheme_color(schemes, legend=False),
        tooltip=[scheme_tip(), tip("seed:Q", _("seed")), tip("value:Q", ytitle, NUM), tip("status:N", _("status"))])
    means = alt.Chart(data).mark_tick(thickness=3, size=40, color="black").encode(
        x=x, y=alt.Y("mean(value):Q", title=lines(ytitle)),
        tooltip=[scheme_tip(), tip("mean(value):Q", _("mean over seeds"), NUM),
                 tip("count(value):Q", _("seeds"))])
    return sized(alt.LayerChart(layer=[points, means]), PANEL_HEIGHT + 40)


def best_of_k_chart(frame: pd.DataFrame, schemes, value: str, value_title: str, k: str = "k") -> alt.LayerChart:
    """The expected best of k restarts against k, one line per scheme: for the restarts frame (columns
    scheme, ``k`` and ``value``; optional ``low``/``high`` for a band)."""
    x = alt.X(f"{k}:Q", title=_("restarts kept (best of k)"), axis=alt.Axis(tickMinStep=1, format="d"))
    tips = [scheme_tip(), tip(f"{k}:Q", _("restarts")), tip(f"{value}:Q", value_title, NUM)]
    layers = []
    if {"low", "high"} <= set(frame.columns):
        layers.append(alt.Chart(frame).mark_area(opacity=0.18).encode(
            x=x, y=alt.Y("low:Q", title=lines(value_title)), y2=alt.Y2("high:Q"), color=scheme_color(schemes),
            tooltip=tips + [tip("low:Q", _("low"), NUM), tip("high:Q", _("high"), NUM)]))
    layers.append(alt.Chart(frame).mark_line(point=True, strokeWidth=2).encode(
        x=x, y=alt.Y(f"{value}:Q", title=lines(value_title), scale=alt.Scale(zero=False)),
        color=scheme_color(schemes),
        tooltip=tips))
    return sized(alt.LayerChart(layer=layers), PANEL_HEIGHT + 40)


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
    return titled_panel(alt.layer(dots, lines))


def notices(distinct: pd.DataFrame, summary: pd.DataFrame, schemes, n_hidden: int, metric: str,
             split: str) -> list[str]:
    out = []
    collapsed = symmetry_sentence(distinct, schemes, n_hidden)
    if collapsed:
        out.append(collapsed)
    column = "functional_distinct_units" if "functional_distinct_units" in distinct.columns else "distinct_units"
    hidden = distinct[(distinct["layer"] <= n_hidden) & (distinct["epoch"] == distinct["epoch"].max())]
    full = [s for s in schemes if len(hidden[hidden["scheme"] == s])
            and (hidden[hidden["scheme"] == s][column] == hidden[hidden["scheme"] == s]["units"]).all()]
    if full:
        out.append(_("{schemes}: every unit of every hidden layer is distinct at epoch {epoch}, in every seed.").format(
            schemes=", ".join(full), epoch=int(hidden["epoch"].max())))
    col = f"final_{split}_{metric}"
    words = {("loss", "test"): _("final test loss"), ("loss", "train"): _("final training loss"),
             ("accuracy", "test"): _("final test accuracy"), ("accuracy", "train"): _("final training accuracy")}
    diverged = divergence_sentence(summary, schemes)
    if diverged:
        out.append(diverged)
    finished = finished_models(summary)
    v = finished[["scheme", col]].dropna()
    span = v.groupby("scheme", sort=False)[col].agg(["min", "max", "count"]).reindex(list(schemes)).dropna()
    multi = span[span["count"] >= 2]
    if len(multi):
        width = multi["max"] - multi["min"]
        widest = width.idxmax()
        same = [s for s in multi.index if width[s] == 0]
        sentence = _("{scheme}: {metric} from {low} to {high} over {seeds}").format(
            scheme=widest, metric=words[(metric, split)], low=number(multi.loc[widest, "min"]),
            high=number(multi.loc[widest, "max"]), seeds=seeds_words(int(multi.loc[widest, "count"])))
        if same:
            sentence += _("; the same value for every seed: {schemes}").format(schemes=", ".join(same))
        out.append(sentence + ".")
    return out[:3]
