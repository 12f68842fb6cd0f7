"""The Gradients page: gradient size per layer and over training, and what to notice in them."""
from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from core.i18n import N_, _, clauses
from core.views.charts import (GRAD_WORDS, HEIGHT, NUM, PANEL_HEIGHT, epoch_frames, epoch_label, filtered,
                               finite_rows, gradient_legend, layered, lines, log_axis, positive_domain,
                               scale_domain, scheme_color, scheme_tip, scrub_filter, seed_band, sized, tip)
from core.views.phrases import extremes, factor, measure_words, with_divergence


def grad_vs_layer_chart(grad: pd.DataFrame, schemes, epochs, epoch: int, column: str = "weight_grad_norm",
                        scrub: bool = True) -> alt.LayerChart:
    """``column`` of the gradient per layer (seed mean, min–max band, log scale) at one epoch, scrubbable."""
    data = finite_rows(seed_band(grad, ["scheme", "epoch", "layer"], column), ["mean"])
    data = data[data["mean"] > 0].copy()
    data.loc[data["low"] <= 0, "low"] = np.nan
    (data,), scrubbing = epoch_frames([data], epochs, epoch, scrub)
    values = [data["mean"], data["low"].dropna(), data["high"]]
    yscale = alt.Scale(type="log", domain=scale_domain(positive_domain(*values)))
    ytitle = lines(_(GRAD_WORDS[column]) + _(", log scale"))
    x = alt.X("layer:Q", title=_("layer (1 = first hidden, last = output)"),
              axis=alt.Axis(tickMinStep=1, format="d"), scale=alt.Scale(nice=False))
    tips = [scheme_tip(), tip("layer:Q", _("layer")), tip("epoch:Q", _("epoch")),
            tip("mean:Q", _("mean over seeds"), NUM), tip("low:Q", _("lowest seed"), NUM),
            tip("high:Q", _("highest seed"), NUM)]
    band = alt.Chart(data).mark_area(opacity=0.18).encode(
        x=x, y=alt.Y("low:Q", title=ytitle, scale=yscale, axis=log_axis(*values)), y2=alt.Y2("high:Q"),
        color=scheme_color(schemes), tooltip=tips)
    line = alt.Chart(data).mark_line(point=True, strokeWidth=2).encode(
        x=x, y=alt.Y("mean:Q", title=ytitle, scale=yscale, axis=log_axis(*values)),
        color=scheme_color(schemes),
        tooltip=tips)
    layers = [band, line]
    if scrubbing:
        layers = [filtered(l, scrub_filter()) for l in layers]
    layers.append(epoch_label(epochs, epoch, scrubbing))
    return sized(layered(layers, scrubbing, epochs, epoch), HEIGHT)


def grad_over_training_data(grad: pd.DataFrame, column: str) -> pd.DataFrame:
    data = finite_rows(seed_band(grad, ["scheme", "layer", "epoch"], column), ["mean"])
    return data[data["mean"] > 0]


GRAD_SHORT = {"dz_second_moment": N_("E[(∂L/∂z)²]"), "weight_grad_norm": N_("‖∂L/∂W‖"),
              "bias_grad_norm": N_("‖∂L/∂b‖"), "weight_grad_rms": N_("RMS of ∂L/∂W"), "bias_grad_rms": N_("RMS of ∂L/∂b")}


def grad_over_training_panel(data: pd.DataFrame, scheme: str, index: int, column: str, layers: list[int],
                             epochs, domain) -> alt.Chart:
    """One scheme's gradient ``column`` over training, one line per layer (the colour goes from the first
    layer to the output layer). ``domain``: the y range every scheme's panel shares."""
    d = data[data["scheme"] == scheme]
    return sized(alt.Chart(d).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title=_("training epoch"), scale=alt.Scale(domain=[min(epochs), max(epochs)], nice=False)),
        y=alt.Y("mean:Q", title=lines(_(GRAD_SHORT[column]) + _(", log scale"), 24),
                scale=alt.Scale(type="log", domain=scale_domain(domain)), axis=log_axis(domain or [])),
        color=alt.Color("layer:Q", scale=alt.Scale(scheme="viridis", domain=[min(layers), max(layers)]),
                        legend=gradient_legend(_("layer"), max(layers), "d",
                                               values=sorted({min(layers), max(layers)}))),
        detail=alt.Detail("layer:O"),
        tooltip=[scheme_tip(), tip("layer:Q", _("layer")), tip("epoch:Q", _("epoch")),
                 tip("mean:Q", _("mean over seeds"), NUM)],
    ), PANEL_HEIGHT)


def gradient_frame(gradient_norms: pd.DataFrame, layer_stats: pd.DataFrame) -> pd.DataFrame:
    """``gradient_norms`` with a ``dz_second_moment`` column: layer_stats' second moment of the back-propagated
    gradient dL/dz of the layer's pre-activations (the same layer numbering: W_l makes z_l)."""
    dz = layer_stats[layer_stats["kind"] == "gradient"][["scheme", "seed", "epoch", "layer", "second_moment"]]
    return gradient_norms.merge(dz.rename(columns={"second_moment": "dz_second_moment"}),
                                on=["scheme", "seed", "epoch", "layer"], how="left")


# What "layer 1's value is layer L's times r" means for each measure: only the per-element measures compare
# layers of different sizes; a norm also counts how many weights the layer has. L is the last hidden layer:
# the output layer narrows to the classes, which changes the backward second moment by itself (He et al.
# 2015's backward condition is on fan-out).
_RATIO_SENTENCES = {
    "dz_second_moment": N_("At epoch {epoch}, the back-propagated gradient's second moment at layer 1 is layer "
                           "{last}'s multiplied by: {clauses}."),
    "weight_grad_rms": N_("At epoch {epoch}, layer 1's RMS of ∂L/∂W per weight is layer {last}'s multiplied by: "
                          "{clauses}."),
    "bias_grad_rms": N_("At epoch {epoch}, layer 1's RMS of ∂L/∂b per bias is layer {last}'s multiplied by: "
                        "{clauses}."),
    "weight_grad_norm": N_("At epoch {epoch}, layer 1's weight-gradient norm is layer {last}'s multiplied by: "
                           "{clauses}. A norm also grows with the number of weights in the layer: compare layers by "
                           "the RMS per weight."),
    "bias_grad_norm": N_("At epoch {epoch}, layer 1's bias-gradient norm is layer {last}'s multiplied by: "
                         "{clauses}. A norm also grows with the number of biases in the layer: compare layers by "
                         "the RMS per bias."),
}


def notices(grad: pd.DataFrame, schemes, epoch: int, column: str, n_hidden: int,
              optimizer: str = "sgd", summary: pd.DataFrame | None = None) -> list[str]:
    """Sentences for the Gradients page: layers that get no gradient, and layer 1 against the last hidden layer in
    ``column`` (a column of ``gradient_frame``). The reading of an extreme ratio depends on the measure: for
    dL/dz it is the gradient signal vanishing or growing on its way back; for the per-weight RMS under plain
    SGD it is the ratio of step sizes (lr x gradient; momentum and Adam change that)."""
    out = []
    g = grad[grad["epoch"] == epoch].groupby(["scheme", "layer"])[column].mean()
    last_layer = n_hidden if n_hidden >= 2 else n_hidden + 1
    ratios, frozen = {}, []
    for scheme in schemes:
        if scheme not in g.index.get_level_values(0):
            continue
        q = g[scheme]
        hidden = q[q.index <= n_hidden]
        if len(hidden) and (hidden == 0).all():
            frozen.append(scheme)
        first, last = q.get(1, math.nan), q.get(last_layer, math.nan)
        if first > 0 and last > 0 and math.isfinite(first) and math.isfinite(last):
            ratios[scheme] = first / last
    if ratios:
        r = pd.Series(ratios)
        parts = [_("{scheme} {factor}").format(scheme=s, factor=factor(r[s])) for s in extremes(r)]
        out.append(_(_RATIO_SENTENCES[column]).format(epoch=epoch, clauses=clauses(parts), last=last_layer))
        if r.min() < 0.01 or r.max() > 100:
            worst = r.idxmin() if abs(math.log10(r.min())) >= abs(math.log10(r.max())) else r.idxmax()
            if column == "dz_second_moment":
                out.append((_("{scheme}: the gradient signal vanishes on its way back to the input.") if r[worst] < 1
                            else _("{scheme}: the gradient signal grows on its way back to the input.")).format(
                    scheme=worst))
            elif column == "weight_grad_rms" and optimizer == "sgd":
                out.append(_("{scheme}: with plain SGD, a weight of layer 1 takes steps {factor} the size of a "
                             "weight of layer {last}.").format(scheme=worst, factor=factor(r[worst]), last=last_layer))
    if frozen:
        out.insert(0, _("{schemes}: {measure} is exactly 0 in every hidden layer at epoch {epoch}: the loss gives "
                        "those layers no update.").format(schemes=", ".join(frozen), measure=measure_words(column),
                                                          epoch=epoch))
    return with_divergence(out, summary, schemes, epoch)
