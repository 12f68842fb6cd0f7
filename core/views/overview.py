"""The Overview page: loss and accuracy curves per scheme, and what to notice in them."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.i18n import _
from core.views.charts import (HEIGHT, NUM, lines, log_axis, metric_title, scale_domain, scheme_color, scheme_tip,
                               seed_band, sized, tip)
from core.views.phrases import (divergence_sentence, finished_models, number, percent, seeds_words,
                                  symmetry_sentence)


def curve_data(curves: pd.DataFrame, metric: str) -> pd.DataFrame:
    return seed_band(curves.dropna(subset=[metric]), ["scheme", "split", "epoch"], metric)


def curve_domain(curves: pd.DataFrame, metric: str, log: bool) -> list[float] | None:
    """The y range both splits' panels share: every seed's values, positive ones on a log scale."""
    v = curves[metric].to_numpy(dtype=float)
    v = v[np.isfinite(v) & (v > 0)] if log else v[np.isfinite(v)]
    if not len(v):
        return None
    return [float(v.min()), float(v.max())]


def loss_curve_panel(curves: pd.DataFrame, summary: pd.DataFrame, schemes, split: str, metric: str = "loss",
                     log: bool = False, domain=None, task: str = "classification") -> alt.LayerChart:
    """One split's curves: seed mean per scheme with its min–max band, ✚ where a model diverged."""
    data = curve_data(curves[curves["split"] == split], metric)
    if log:
        data = data[data["low"] > 0]
    yscale = alt.Scale(type="log", domain=scale_domain(domain)) if log else alt.Scale(zero=False, domain=scale_domain(domain))
    ytitle = metric_title(metric, task) + (_(", log scale") if log else "")
    yaxis = log_axis(domain if domain else data[["low", "high"]].to_numpy()) if log else alt.Axis()
    x = alt.X("epoch:Q", title=_("training epoch"))
    tips = [scheme_tip(), tip("epoch:Q", _("epoch")), tip("mean:Q", _("mean over seeds"), NUM),
            tip("low:Q", _("lowest seed"), NUM), tip("high:Q", _("highest seed"), NUM), tip("seeds:Q", _("seeds"))]
    band = alt.Chart(data).mark_area(opacity=0.2).encode(
        x=x, y=alt.Y("low:Q", title=lines(ytitle), scale=yscale, axis=yaxis), y2=alt.Y2("high:Q"),
        color=scheme_color(schemes), tooltip=tips)
    line = alt.Chart(data).mark_line(strokeWidth=2).encode(
        x=x, y=alt.Y("mean:Q", title=lines(ytitle), scale=yscale, axis=yaxis), color=scheme_color(schemes),
        tooltip=tips)
    layers = [band, line]
    marks = divergence_marks(curves[curves["split"] == split], summary, metric)
    if log:
        marks = marks[marks[metric] > 0]
    if len(marks):
        layers.append(alt.Chart(marks).mark_point(shape="cross", size=140, strokeWidth=3, filled=True).encode(
            x=x, y=alt.Y(f"{metric}:Q", title=lines(ytitle), scale=yscale, axis=yaxis), color=scheme_color(schemes),
            tooltip=[scheme_tip(), tip("seed:Q", _("seed")), tip("status:N", _("status")),
                     tip("epoch:Q", _("last finite epoch")), tip(f"{metric}:Q", _("last finite value"), NUM)]))
    title = _("training set") if split == "train" else _("test set")
    chart = alt.LayerChart(layer=layers)
    chart.title = title
    return sized(chart, HEIGHT - 40)


def divergence_marks(curves: pd.DataFrame, summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Last finite point of every diverged model's curve, labelled with its epoch."""
    bad = summary[summary["diverged_epoch"].notna()][["scheme", "seed", "status"]]
    if bad.empty:
        return pd.DataFrame(columns=["scheme", "seed", "split", "epoch", metric, "status"])
    c = curves.merge(bad, on=["scheme", "seed"])
    last = c.sort_values("epoch").groupby(["scheme", "seed", "split"], sort=False).tail(1)
    return last[["scheme", "seed", "split", "epoch", metric, "status"]].reset_index(drop=True)


def notices(frames: dict[str, pd.DataFrame], schemes, n_hidden: int, task: str) -> list[str]:
    summary = frames["summary"]
    out = []
    metric, words = ("final_test_loss", _("final test loss"))
    finished = finished_models(summary)
    mean = finished.groupby("scheme", sort=False)[metric].mean().reindex(list(schemes)).dropna()
    if len(mean) >= 2:
        best, worst = mean.idxmin(), mean.idxmax()
        seeds = int((finished["scheme"] == best).sum())  # the seeds behind the best mean
        out.append(_("{best} reached the lowest {metric}, {low} (mean of {seeds}); {worst} the highest, {high}.").format(
            best=best, metric=words, low=number(mean[best]), seeds=seeds_words(seeds), worst=worst,
            high=number(mean[worst])))
    elif len(mean) == 1:
        s = finished[finished["scheme"] == mean.index[0]][metric].dropna()
        out.append(_("{scheme}: {metric} {value} (mean of {seeds}), from {low} to {high}.").format(
            scheme=mean.index[0], metric=words, value=number(mean.iloc[0]), seeds=seeds_words(len(s)),
            low=number(s.min()), high=number(s.max())))
    if task == "classification":
        acc = finished.groupby("scheme", sort=False)["final_test_accuracy"].mean().reindex(list(schemes)).dropna()
        if len(acc) >= 2 and acc.max() > acc.min():
            out.append(_("Test accuracy ranges from {low} ({worst}) to {high} ({best}).").format(
                low=percent(acc.min()), worst=acc.idxmin(), high=percent(acc.max()), best=acc.idxmax()))
    extras = [e for e in (divergence_sentence(summary, schemes),
                          symmetry_sentence(frames["distinct_units"], schemes, n_hidden)) if e]
    return (out[:1] + extras + out[1:])[:3]
