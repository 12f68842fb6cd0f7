"""The Activations page: the signal's second moment (or std, mean) per layer against the mean-field prediction, dead
or saturated units, and what to notice in them.
"""
from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from core.i18n import _, clauses
from core.views.charts import (HEIGHT, KIND_WORDS, NUM, PANEL_HEIGHT, STAT_WORDS, epoch_frames, epoch_label,
                               filtered, finite_domain, finite_rows, layered, lines, log_axis, positive_domain,
                               scale_domain, scheme_color, scheme_tip, scrub_filter, seed_band, sized, tip)
from core.views.phrases import depth_factors, diverged_by, extremes, factor, number, percent


def signal_data(layer_stats: pd.DataFrame, kind: str, stat: str) -> pd.DataFrame:
    """Mean over seeds with the min–max band of ``stat`` per (scheme, epoch, layer); on the log scales
    (second moment, std) only positive means, and a band edge at or below zero left open."""
    data = layer_stats[layer_stats["kind"] == kind]
    band = finite_rows(seed_band(data, ["scheme", "epoch", "layer"], stat), ["mean"])
    if stat in ("second_moment", "std"):
        band = band[band["mean"] > 0].copy()
        band.loc[band["low"] <= 0, "low"] = np.nan
    return band


def signal_chart(layer_stats: pd.DataFrame, prediction: pd.DataFrame, schemes, epochs, epoch: int, kind: str,
                 stat: str, scrub: bool = True) -> alt.LayerChart:
    """How the signal changes with depth: measured ``stat`` of ``kind`` per layer (seed mean, min–max band),
    and where given the predicted second moment (dashed, same colour; at epoch 0, where it holds)."""
    log = stat in ("second_moment", "std")
    measured = signal_data(layer_stats, kind, stat).assign(source=_("measured"))
    show_theory = stat == "second_moment" and kind == "preactivation" and len(prediction) > 0
    theory = (prediction.assign(epoch=0, source=_("predicted")) if show_theory
              else pd.DataFrame(columns=["scheme", "layer", "second_moment", "epoch", "source"]))
    (measured, theory), scrubbing = epoch_frames([measured, theory], epochs, epoch, scrub)
    # the y range of every epoch the chart holds, so that it stays put while the slider moves
    values = [measured["mean"], measured["low"].dropna(), measured["high"], theory["second_moment"]]
    yscale = (alt.Scale(type="log", domain=scale_domain(positive_domain(*values))) if log
              else alt.Scale(zero=False, domain=scale_domain(finite_domain(*values))))
    ytitle = lines(_("{stat} of {kind}").format(stat=_(STAT_WORDS[stat]), kind=_(KIND_WORDS[kind])) + (
        _(", log scale") if log else ""))
    yaxis = log_axis(*values) if log else alt.Axis()
    x = alt.X("layer:Q", title=_("layer (1 = first hidden, last = output)"),
              axis=alt.Axis(tickMinStep=1, format="d"), scale=alt.Scale(nice=False))
    dash = alt.StrokeDash("source:N", title=None, scale=alt.Scale(domain=[_("measured"), _("predicted")],
                                                                  range=[[1, 0], [7, 4]]),
                          legend=None)  # the page's caption says which line is which
    tips = [scheme_tip(), tip("layer:Q", _("layer")), tip("epoch:Q", _("epoch")),
            tip("mean:Q", _("mean over seeds"), NUM), tip("low:Q", _("lowest seed"), NUM),
            tip("high:Q", _("highest seed"), NUM), tip("seeds:Q", _("seeds"))]
    band = alt.Chart(measured).mark_area(opacity=0.18).encode(
        x=x, y=alt.Y("low:Q", title=ytitle, scale=yscale, axis=yaxis), y2=alt.Y2("high:Q"),
        color=scheme_color(schemes), tooltip=tips)
    line = alt.Chart(measured).mark_line(point=True, strokeWidth=2).encode(
        x=x, y=alt.Y("mean:Q", title=ytitle, scale=yscale, axis=yaxis), color=scheme_color(schemes),
        strokeDash=dash,
        tooltip=tips)
    layers = [band, line]
    if show_theory and len(theory):
        layers.append(alt.Chart(theory).mark_line(strokeWidth=2).encode(
            x=x, y=alt.Y("second_moment:Q", title=ytitle, scale=yscale, axis=yaxis), color=scheme_color(schemes),
            strokeDash=dash,
            tooltip=[scheme_tip(), tip("layer:Q", _("layer")),
                     tip("second_moment:Q", _("predicted second moment"), NUM)]))
    if scrubbing:
        layers = [filtered(l, scrub_filter()) for l in layers]
    layers.append(epoch_label(epochs, epoch, scrubbing))
    return sized(layered(layers, scrubbing, epochs, epoch), HEIGHT)


def dead_chart(layer_stats: pd.DataFrame, schemes, epoch: int) -> alt.Chart:
    data = layer_stats[(layer_stats["epoch"] == epoch) & (layer_stats["kind"] == "activation")]
    data = finite_rows(seed_band(data, ["scheme", "layer"], "dead_or_saturated"), ["mean"])
    return sized(alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=60), strokeWidth=2).encode(
        x=alt.X("layer:Q", title=_("layer (1 = first hidden layer)"), axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("mean:Q", title=lines(_("share of units dead or saturated")), scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        color=scheme_color(schemes),
        tooltip=[scheme_tip(), tip("layer:Q", _("layer")), tip("mean:Q", _("share, mean over seeds"), ".4~%"),
                 tip("low:Q", _("lowest seed"), ".4~%"), tip("high:Q", _("highest seed"), ".4~%")]),
        PANEL_HEIGHT)


def notices(layer_stats: pd.DataFrame, prediction: pd.DataFrame, schemes, epoch: int, kind: str,
                n_hidden: int, stat: str = "second_moment", summary: pd.DataFrame | None = None) -> list[str]:
    """The table's factors (the pre-activations' second moment, said so), the most inactive layer, and what the
    chart shows: the selected statistic ``stat`` of the selected quantity ``kind`` from layer 1 to the last."""
    out = []
    f = depth_factors(layer_stats, prediction, schemes, epoch, n_hidden).set_index("scheme")
    span = _("per hidden layer") if n_hidden >= 2 else _("from the hidden to the output layer")
    named = extremes(f["measured"].dropna()) if f["measured"].notna().any() else []
    parts = []
    for scheme in f.index:
        row = f.loc[scheme]
        if row["all_zero"]:
            parts.append(_("{scheme}: every pre-activation is 0").format(scheme=scheme))
        elif scheme in named:
            if math.isfinite(row["predicted"]):
                parts.append(_("{scheme}: second moment {measured} {span}, predicted {predicted}").format(
                    scheme=scheme, measured=factor(row["measured"]), span=span, predicted=factor(row["predicted"])))
            else:
                parts.append(_("{scheme}: second moment {measured} {span}").format(
                    scheme=scheme, measured=factor(row["measured"]), span=span))
    if parts:
        out.append(_("At epoch {epoch}, the pre-activations' second moment (the table beside the chart): "
                     "{clauses}.").format(epoch=epoch, clauses=clauses(parts)))
    gone = diverged_by(summary, schemes, epoch) if summary is not None else None
    if gone:
        out.append(gone)
    chart = _chart_sentence(layer_stats, schemes, epoch, kind, stat)
    if chart:
        out.append(chart)
    s = layer_stats[(layer_stats["epoch"] == epoch) & (layer_stats["kind"] == "activation")]
    dead = s.groupby(["scheme", "layer"])["dead_or_saturated"].mean().dropna()
    if len(dead) and dead.max() > 0:
        scheme, layer = dead.idxmax()
        out.append(_("The most dead or saturated: {scheme}, {share} of layer {layer} (mean over seeds).").format(
            scheme=scheme, share=percent(dead.max()), layer=layer))
    return out[:3]


def _chart_sentence(layer_stats: pd.DataFrame, schemes, epoch: int, kind: str, stat: str) -> str | None:
    """What the signal chart shows (its quantity and statistic, mean over seeds), from layer 1 to the last: the
    smallest and the largest factor for a second moment or a std; the lowest and the highest last-layer value
    for a mean."""
    s = layer_stats[(layer_stats["epoch"] == epoch) & (layer_stats["kind"] == kind)]
    m = s.groupby(["scheme", "layer"])[stat].mean()
    ends = []
    for scheme in schemes:
        if scheme not in m.index.get_level_values(0):
            continue
        q = m[scheme]
        first, last = q.iloc[0], q.iloc[-1]
        if math.isfinite(first) and math.isfinite(last) and (stat == "mean" or (first > 0 and last > 0)):
            ends.append((scheme, last if stat == "mean" else last / first, q.index[-1]))
    if not ends:
        return None
    lo, hi = min(ends, key=lambda e: e[1]), max(ends, key=lambda e: e[1])
    if stat == "mean":
        if lo[0] == hi[0]:
            return None
        return _("At layer {last}, the mean of the {kind} runs from {low} for {low_scheme} to {high} for "
                 "{high_scheme}.").format(last=lo[2], kind=_kind_words(kind), low=number(lo[1]), low_scheme=lo[0],
                                          high=number(hi[1]), high_scheme=hi[0])
    if lo[0] == hi[0]:
        return None
    words = {"second_moment": _("second moment"), "std": _("standard deviation")}[stat]
    return _("From layer 1 to layer {last}, the {stat} of the {kind} is multiplied by {low} for {low_scheme} and by "
             "{high} for {high_scheme}.").format(last=lo[2], stat=words, kind=_kind_words(kind), low=factor(lo[1]),
                                                  low_scheme=lo[0], high=factor(hi[1]), high_scheme=hi[0])


def _kind_words(kind: str) -> str:
    return {"preactivation": _("pre-activations"), "activation": _("activations"),
            "gradient": _("back-propagated gradients")}[kind]
