"""The sweep frame -> the Scale x depth map: cells averaged over seeds, the theory drawn over them, and the
sentence that says what the map shows.

A cell is a grid point: its colour is the mean of the chosen measure over the seeds, its tooltip the exact
mean, the spread (min to max) and the seeds, and selecting it opens the point's own dashboard (Vega-Lite's
``href`` channel). Axes are quantitative, each cell spanning the half-way points to its neighbours (in log
space for an axis that spans a factor 10 or more, like depth 1 ... 16), so that curves can be drawn over the
map: ``theory`` is an optional frame with one row per sigma_w (``THEORY_COLUMNS``), and where sigma_w is an
axis its order/chaos boundary (chi_1 = 1) is drawn as a rule and, where the other axis is depth, the depth
6 xi below which mean-field theory expects a network to train (Schoenholz et al. 2017) as a line.
"""
from __future__ import annotations

import textwrap
from typing import Callable

import altair as alt
import numpy as np
import pandas as pd

from core.formatting import number_list, number_text
from core.i18n import N_, _
from core.sweeps.sweep import AXES

# measure -> (title in words with units, legend title, colour scale)
METRICS = {
    # accuracy on a fixed 0-1 scale: an automatic one would paint 0.85 against 0.87 as failure against success
    "final_test_accuracy": (N_("test accuracy after the last epoch (fraction correct)"), N_("test accuracy"),
                            dict(scheme="viridis", domain=[0, 1])),
    "final_test_loss": (N_("test loss after the last epoch (log scale)"), N_("test loss"),
                        dict(scheme="viridis", type="log", reverse=True)),
    "signal_growth": (N_("signal growth at epoch 0: ln of the pre-activations' second-moment factor per layer"),
                      N_("signal growth (ln factor per layer)"), dict(scheme="redblue", reverse=True, domainMid=0)),
    "gradient_ratio": (N_("gradient ratio at epoch 0: second moment of dLoss/dz, first ÷ last hidden layer "
                          "(log scale)"), N_("gradient ratio (first ÷ last)"),
                       dict(scheme="purpleorange", type="log", domainMid=1)),
}
# measure -> its name, as the page's choice of measure shows it
METRIC_NAMES = {"final_test_accuracy": N_("final test accuracy"), "final_test_loss": N_("final test loss"),
                "signal_growth": N_("signal growth per layer (at initialization)"),
                "gradient_ratio": N_("gradient ratio, first ÷ last layer (at initialization)")}
# A theory frame: one row per sigma_w; boundary marks the rows where chi_1 = 1 (the order/chaos boundary).
THEORY_COLUMNS = ("sigma_w", "chi_1", "xi", "depth_6xi", "boundary")
HEIGHT = 400  # the whole chart; its plot area is about 280 px of it
TRAINS_AT = 0.9  # mean test accuracy from which the sentence says a point trains


def log_axis(values) -> bool:
    """An axis is drawn on a log scale when its values are positive and span a factor 10 or more."""
    v = np.asarray(values, dtype=float)
    return bool((v > 0).all() and v.max() >= 10 * v.min())


def cell_edges(values, log: bool) -> tuple[np.ndarray, np.ndarray]:
    """For sorted distinct values: each cell's low and high edge, half-way (geometrically on a log axis) to
    its neighbours; the outer cells as wide as their inner half."""
    v = np.log(np.asarray(values, dtype=float)) if log else np.asarray(values, dtype=float)
    if len(v) == 1:
        half = np.log(2) / 2 if log else 0.5
        lo, hi = v - half, v + half
    else:
        mid = (v[1:] + v[:-1]) / 2
        lo = np.concatenate([[2 * v[0] - mid[0]], mid])
        hi = np.concatenate([mid, [2 * v[-1] - mid[-1]]])
    return (np.exp(lo), np.exp(hi)) if log else (lo, hi)


def map_data(frame: pd.DataFrame, x: str, y: str, metric: str, scheme: str,
             link: Callable[[str], str] | None = None) -> pd.DataFrame:
    """One row per grid point of ``scheme``: x, y, the mean of ``metric`` over seeds whose value is finite
    (and positive on a log colour scale), its min and max, the seeds counted, the diverged seeds, the cell's
    edges, and the point's link (``link(query)``, or the query itself)."""
    df = frame[frame["scheme"] == scheme]
    log_color = METRICS[metric][2].get("type") == "log"
    value = df[metric].astype(float)
    ok = np.isfinite(value) & ((value > 0) if log_color else True)
    g = df.assign(_v=value.where(ok)).groupby([x, y], sort=True)
    out = g.agg(mean=("_v", "mean"), low=("_v", "min"), high=("_v", "max"), seeds=("seed", "count"),
                counted=("_v", "count"), diverged=("diverged_epoch", "count"), query=("query", "first")).reset_index()
    for axis, lo_name, hi_name in ((x, "x_lo", "x_hi"), (y, "y_lo", "y_hi")):
        values = np.sort(out[axis].unique())
        lo, hi = cell_edges(values, log_axis(values))
        where = np.searchsorted(values, out[axis].to_numpy())
        out[lo_name], out[hi_name] = lo[where], hi[where]
    out["url"] = [link(q) for q in out["query"]] if link else out["query"]
    return out.rename(columns={x: "x", y: "y"})


def _scale(values, edges_lo, edges_hi) -> alt.Scale:
    log = log_axis(values)
    return alt.Scale(type="log" if log else "linear", domain=[float(edges_lo.min()), float(edges_hi.max())],
                     nice=False, zero=False)


def sweep_map(frame: pd.DataFrame, x: str, y: str, metric: str, scheme: str, *,
              theory: pd.DataFrame | None = None, link: Callable[[str], str] | None = None) -> alt.LayerChart:
    """The heatmap of ``metric`` over axes ``x`` and ``y`` for one scheme, with the theory over it."""
    data = map_data(frame, x, y, metric, scheme, link)
    title, legend, color = METRICS[metric]
    xs, ys = np.sort(data["x"].unique()), np.sort(data["y"].unique())
    x_title, y_title = _(AXES[x].title), _(AXES[y].title)
    enc_x = alt.X("x_lo:Q", title=x_title, scale=_scale(xs, data["x_lo"], data["x_hi"]),
                  axis=alt.Axis(values=[float(v) for v in xs], format="~g", labelFlush=False))
    enc_y = alt.Y("y_lo:Q", title=y_title, scale=_scale(ys, data["y_lo"], data["y_hi"]),
                  axis=alt.Axis(values=[float(v) for v in ys], format="~g"))
    tooltip = [alt.Tooltip("x:Q", title=x_title, format="~g"), alt.Tooltip("y:Q", title=y_title, format="~g"),
               alt.Tooltip("mean:Q", title=_("mean over seeds"), format=".4g"),
               alt.Tooltip("low:Q", title=_("lowest seed"), format=".4g"),
               alt.Tooltip("high:Q", title=_("highest seed"), format=".4g"),
               alt.Tooltip("counted:Q", title=_("seeds with a value")),
               alt.Tooltip("seeds:Q", title=_("seeds")),
               alt.Tooltip("diverged:Q", title=_("seeds that diverged"))]
    has = data["mean"].notna()
    cells = alt.Chart(data[has]).mark_rect(stroke="white", strokeWidth=0.5, opacity=1).encode(
        x=enc_x, x2="x_hi:Q", y=enc_y, y2="y_hi:Q",
        # the legend's title in lines of a phone's legend width: one line of it was cut at 390 px
        color=alt.Color("mean:Q", title=textwrap.wrap(_(legend), 22), scale=alt.Scale(**color),
                        # about the plot's height: as long as the chart, the bar ran over the theory's legend
                        # under the plot on a phone
                        legend=alt.Legend(orient="right", gradientLength=160)),
        href="url:N", tooltip=tooltip)
    layers = [cells]
    if (~has).any():  # no finite value for any seed (every seed diverged, or zero weights): grey, still a link
        layers.append(alt.Chart(data[~has]).mark_rect(stroke="white", strokeWidth=0.5, color="#bbbbbb").encode(
            x=enc_x, x2="x_hi:Q", y=enc_y, y2="y_hi:Q", href="url:N", tooltip=tooltip))
    if theory is not None and len(theory):
        layers += theory_layers(theory, x, y, scheme)
    chart = alt.layer(*layers)  # sized in place: ``properties`` would deep-copy every layer and its data
    # a title in lines of at most 45 characters: Vega cuts a longer line to the chart's width (390 px phones)
    chart.width, chart.height = "container", HEIGHT
    chart.title = alt.TitleParams(textwrap.wrap(_(title), 45), anchor="start")
    return chart


def theory_layers(theory: pd.DataFrame, x: str, y: str, scheme: str) -> list[alt.Chart]:
    """The theory over a map whose axes include sigma_w: a rule at each boundary row's sigma_w, and where the
    other axis is depth, the 6 xi line. A ``scheme`` column, if the frame has one, picks this scheme's rows."""
    if "sigma_w" not in (x, y):
        return []
    t = theory[theory["scheme"] == scheme] if "scheme" in theory.columns else theory
    line, rule = _("6ξ: trainable depth (mean-field theory)"), _("χ₁ = 1: order/chaos boundary")
    t = t.sort_values("sigma_w")
    along, across = ("x", "y") if x == "sigma_w" else ("y", "x")
    other = y if x == "sigma_w" else x
    channel = {"x": alt.X, "y": alt.Y}
    # one dash scale for both marks: the legend shows each as drawn
    dash = alt.StrokeDash("what:N", scale=alt.Scale(domain=[line, rule], range=[[6, 3], [1, 0]]),
                          legend=alt.Legend(title=_("theory"), orient="bottom", symbolStrokeColor="black",
                                            # whole labels, one a row: they are sentences, cut at 200 px before
                                            labelLimit=0, columns=1))
    tips = [alt.Tooltip("sigma_w:Q", title=_(AXES["sigma_w"].title), format=".4g"),
            alt.Tooltip("chi_1:Q", title=_("χ₁ (slope of the correlation map at 1)"), format=".4g"),
            alt.Tooltip("xi:Q", title=_("ξ (depth scale, layers)"), format=".4g"),
            alt.Tooltip("depth_6xi:Q", title=_("6ξ (layers)"), format=".4g")]
    layers = []
    if other == "depth":
        finite = t[np.isfinite(t["depth_6xi"].astype(float))].assign(what=line)
        layers.append(alt.Chart(finite).mark_line(color="black", strokeWidth=2, clip=True).encode(
            **{along: channel[along]("sigma_w:Q", title=_(AXES["sigma_w"].title)),
               across: channel[across]("depth_6xi:Q", title=_(AXES[other].title))},
            order="sigma_w:Q", strokeDash=dash, tooltip=tips))
    edges = t[t["boundary"].astype(bool)].assign(what=rule)
    if len(edges):
        layers.append(alt.Chart(edges).mark_rule(color="black", strokeWidth=2, clip=True).encode(
            **{along: channel[along]("sigma_w:Q", title=_(AXES["sigma_w"].title))}, strokeDash=dash,
            tooltip=tips))
    return layers


# ------------------------------------------------------------------------------------------------ the sentence
def _fmt(axis: str, value) -> str:
    """An axis value as the sentence says it: sigma_w as the axis shows it ("σ_w = 1.41"), an experiment field by
    the word its title starts with ("depth 4", "profondeur 4"), a scheme parameter by its symbol ("k = 15")."""
    if axis == "sigma_w":
        return _("σ_w = {v}").format(v=number_text(float(value), ".3g"))
    if AXES[axis].field is not None:
        return f"{_(AXES[axis].title).split(' (')[0]} {number_text(float(value), 'g')}"
    return f"{axis} = {number_text(float(value), 'g')}"


def reach(frame: pd.DataFrame, x: str, y: str, scheme: str, threshold: float = TRAINS_AT) -> dict:
    """For each x value: the largest y up to which every smaller y of the grid trains (mean test accuracy
    over seeds at least ``threshold``), or None if the smallest does not."""
    df = frame[frame["scheme"] == scheme]
    acc = df.groupby([x, y])["final_test_accuracy"].mean()
    out = {}
    for xv in sorted(df[x].unique()):
        best = None
        for yv in sorted(df[y].unique()):
            if not acc.loc[(xv, yv)] >= threshold:  # NaN (no finite value) does not train
                break
            best = yv
        out[xv] = best
    return out


def what_to_notice(frame: pd.DataFrame, x: str, y: str, scheme: str, activation: str,
                   threshold: float = TRAINS_AT) -> str | None:
    """One sentence computed from the map: at which x values the network trains deepest along y and at which
    least deep. None without accuracies (regression)."""
    df = frame[frame["scheme"] == scheme]
    if df.empty or df["final_test_accuracy"].isna().all():
        return None
    r = reach(frame, x, y, scheme, threshold)
    ys = sorted(df[y].unique())
    head = _("{activation}, {scheme}: trains (mean test accuracy ≥ {t:g})").format(
        activation=activation, scheme=scheme, t=threshold)
    reached = [v for v in r.values() if v is not None]
    if not reached:  # no x trains at the smallest y; deeper points may still train
        acc = df.groupby([x, y])["final_test_accuracy"].mean()
        trained = int((acc >= threshold).sum())
        if trained == 0:
            # a sentence of its own, not built on ``head``: in French the negation reaches the verb
            return _("{activation}, {scheme}: trains (mean test accuracy ≥ {t:g}) at no point of this map, not "
                     "even at {y}.").format(activation=activation, scheme=scheme, t=threshold, y=_fmt(y, ys[0]))
        return _("{head} at {k} of {n} points of this map, none of them at {y}.").format(
            head=head, k=trained, n=len(acc), y=_fmt(y, ys[0]))
    top = max(reached, key=ys.index)
    best = [xv for xv, v in r.items() if v == top]
    where_best = number_list(_fmt(x, v) for v in best)
    if top == ys[-1]:
        first = _("{head} up to {y}, the end of the map, at {where}").format(head=head, y=_fmt(y, top),
                                                                           where=where_best)
    else:
        first = _("{head} up to {y} at {where}").format(head=head, y=_fmt(y, top), where=where_best)
    low = min(r.values(), key=lambda v: -1 if v is None else ys.index(v))
    if low == top:
        return first + "."
    worst = number_list(_fmt(x, v) for v, got in r.items() if got == low)
    # the first y that does not train there, and nothing about deeper ones: a deeper point may train again
    fails = ys[0] if low is None else ys[ys.index(low) + 1]
    return _("{first}; at {where} the first that does not is {y}.").format(first=first, where=worst,
                                                                          y=_fmt(y, fails))


def growth_sign_change(frame: pd.DataFrame, x: str, y: str, scheme: str) -> dict:
    """For each y value: the pair of neighbouring x values between which the mean signal growth over seeds goes
    from below 0 to above 0 (None where it does not, or does so more than once)."""
    mean = frame[frame["scheme"] == scheme].groupby([y, x])["signal_growth"].mean()
    out = {}
    for yv in sorted(mean.index.get_level_values(0).unique()):
        row = mean.loc[yv].sort_index()
        sign = np.sign(row.to_numpy())
        ups = [i for i in range(len(sign) - 1) if sign[i] < 0 < sign[i + 1]]
        downs = [i for i in range(len(sign) - 1) if sign[i] > 0 > sign[i + 1]]
        out[yv] = (row.index[ups[0]], row.index[ups[0] + 1]) if len(ups) == 1 and not downs else None
    return out


def growth_notice(frame: pd.DataFrame, x: str, y: str, scheme: str, activation: str) -> str | None:
    """One sentence computed from a signal-growth map: between which two neighbouring x values the signal goes
    from shrinking to growing layer by layer, at how many of the map's y values (the most common pair)."""
    crossings = growth_sign_change(frame, x, y, scheme)
    found = [c for c in crossings.values() if c is not None]
    if not found:
        return None
    lo, hi = max(set(found), key=found.count)
    return _("{activation}, {scheme}: the signal's second moment goes from shrinking layer by layer to growing "
             "between {lo} and {hi} at {k} of the {n} values of {axis} in this map.").format(
        activation=activation, scheme=scheme, lo=_fmt(x, lo), hi=_fmt(x, hi), k=found.count((lo, hi)),
        n=len(crossings), axis=_(AXES[y].title).split(" (")[0])
