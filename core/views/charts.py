"""Tidy frame -> Altair chart. Pure functions; the dashboard only places them.

Every chart is as wide as its container (``width="container"``) and at least ``MIN_HEIGHT`` tall. Small
multiples are one chart per scheme (``*_panel`` builders), which the page lays out in columns that wrap and
stack on a phone: Vega-Lite facets and concatenations cannot be container-wide. Scales that must agree across
the panels (a value range, a colour range) are computed here in Python and passed to every panel.

One colour per scheme everywhere, the scheme's own (core.views.colours), whatever list it is in. Frames are summarized
before they reach a chart (mean over seeds with a min–max band, one epoch, one seed, re-binned densities), so
the browser gets summaries, never raw samples. Axis titles are words with units, never column names, and
every mark has a tooltip whose fields are titled in words.

Epoch scrubbing: charts that take ``scrub=True`` carry every recorded epoch and a Vega-Lite parameter bound
to a range input under the chart, so moving it redraws in the browser without a round trip to the server; a
chart whose data would pass ``SCRUB_ROW_LIMIT`` rows with every epoch shows only the page's epoch instead.
"""
from __future__ import annotations

import hashlib
import math
import textwrap
from functools import reduce

import altair as alt
import numpy as np
import pandas as pd

from core.views.colours import colours
from core.measure.density import ValueAxis
from core.formatting import vega_locale
from core.i18n import N_, _

HEIGHT = 440  # a page's main chart
PANEL_HEIGHT = 320  # one panel of small multiples, or a secondary chart
MIN_HEIGHT = 280
# Above this many rows with every epoch, a chart shows one epoch and the page's slider moves it (a server
# round trip): Streamlit ships the rows to the browser as Arrow, and Vega redraws them at every step.
SCRUB_ROW_LIMIT = 20_000
SCRUB = "scrub_epoch"  # the Vega-Lite parameter's name
NUM = ".6~g"  # tooltip numbers: six significant digits

STAT_WORDS = {"second_moment": N_("second moment (mean square)"), "std": N_("standard deviation"), "mean": N_("mean")}
KIND_WORDS = {"preactivation": N_("pre-activations z"), "activation": N_("activations f(z)"),
              "gradient": N_("back-propagated gradients ∂L/∂z")}
GRAD_WORDS = {"dz_second_moment": N_("E[(∂L/∂z)²], second moment of the back-propagated gradient"),
              "weight_grad_norm": N_("‖∂L/∂W‖, Frobenius norm of the weight gradient"),
              "bias_grad_norm": N_("‖∂L/∂b‖, norm of the bias gradient"),
              "weight_grad_rms": N_("RMS of ∂L/∂W, per weight"),
              "bias_grad_rms": N_("RMS of ∂L/∂b, per bias")}
METRIC_WORDS = {"loss": N_("loss"), "accuracy": N_("accuracy (fraction correct)")}


def to_spec(chart, links: bool = False) -> dict:
    """``chart``'s Vega-Lite spec, its data frames under ``datasets`` by content hash (Streamlit ships them to
    the browser as Arrow). Altair's schema validation is skipped: it cost more than building the chart (about
    40 ms a chart, a second on a page of small multiples); the tests validate every spec a page draws."""
    frames: dict[str, pd.DataFrame] = {}

    def name_data(c):
        if isinstance(getattr(c, "data", None), pd.DataFrame):
            df = c.data
            digest = hashlib.sha1(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
            digest.update(repr(list(df.columns)).encode())
            name = "data-" + digest.hexdigest()[:20]
            frames[name] = df
            c.data = alt.NamedData(name=name)
        for sub in getattr(c, "layer", None) or []:
            name_data(sub)

    name_data(chart)
    spec = chart.to_dict(validate=False)
    spec["datasets"] = frames
    # Drawn on a canvas, not as SVG: a heatmap is thousands of rects, and as SVG nodes the browser spent
    # seconds painting a page of them. Streamlit passes usermeta.embedOptions on to vega-embed. No ARIA label
    # per mark: Vega computes one for every cell of a heatmap (Streamlit turns them off only past 5,000 rows),
    # and that was a quarter of the Boundaries page's switch time; the axes and legends keep theirs.
    # ``links``: a chart of a few dozen marks that are links (the Scale x depth map) is SVG with its labels, so
    # each mark is an element of the page, named, that a pointer or a screen reader finds.
    spec["usermeta"] = {"embedOptions": {"renderer": "svg" if links else "canvas"}}
    if not links:
        spec.setdefault("config", {}).setdefault("mark", {})["aria"] = False
    number_locale = vega_locale()  # axes, legends and tooltips in the reader's language (None: English)
    if number_locale:
        spec.setdefault("config", {})["locale"] = {"number": number_locale}
    return spec


def scheme_scale(schemes) -> alt.Scale:
    palette = colours(schemes)
    return alt.Scale(domain=list(palette), range=list(palette.values()))


def scheme_color(schemes, legend=True) -> alt.Color:
    """The scheme colour channel. In a layered chart give every layer the same legend (Vega-Lite merges
    the layers' legends of a shared scale, and one layer without a legend removes it for all)."""
    leg = alt.Legend(title=_("scheme"), orient="bottom", columns=2, symbolOpacity=1, labelLimit=0,
                     symbolStrokeWidth=3, symbolType="stroke") if legend else None
    return alt.Color("scheme:N", scale=scheme_scale(schemes), sort=list(schemes), legend=leg)


def tip(field: str, title: str, fmt: str | None = None) -> alt.Tooltip:
    return alt.Tooltip(field, title=title, format=fmt) if fmt else alt.Tooltip(field, title=title)


def scheme_tip() -> alt.Tooltip:
    return tip("scheme:N", _("scheme"))


def lines(title: str, width: int = 30) -> list[str] | str:
    """A y-axis title broken into lines: Vega counts an axis title's full length in the chart's height, so a
    vertical title longer than the plot would squeeze the plot to make room for it."""
    parts = textwrap.wrap(title, width)
    return parts if len(parts) > 1 else title


def log_axis(*values, **kwargs) -> alt.Axis:
    """A log scale's axis over the positive finite ``values``: ticks at powers of ten (every second or third
    one over a wide range), labelled as plain numbers near 1 and as 1e-12, 1e+09 far from it. Over less than a
    decade, Vega's own ticks."""
    v = np.concatenate([np.ravel(np.asarray(x, dtype=float)) for x in values]) if values else np.array([])
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) == 0 or v.max() / v.min() < 10:
        return alt.Axis(format="~g", **kwargs)
    lo, hi = math.floor(math.log10(v.min())), math.ceil(math.log10(v.max()))
    step = max(1, math.ceil((hi - lo) / 8))
    ticks = [10.0 ** k for k in range(lo, hi + 1, step)]
    return alt.Axis(values=ticks, labelExpr="abs(datum.value) >= 0.001 && abs(datum.value) < 10000 ? "
                                            "format(datum.value, '~g') : format(datum.value, '.0e')", **kwargs)


def positive_domain(*values) -> list[float] | None:
    """[min, max] of the positive finite ``values`` (a log scale's domain), None if there are none."""
    v = np.concatenate([np.ravel(np.asarray(x, dtype=float)) for x in values]) if values else np.array([])
    v = v[np.isfinite(v) & (v > 0)]
    return [float(v.min()), float(v.max())] if len(v) else None


def finite_domain(*values) -> list[float] | None:
    v = np.concatenate([np.ravel(np.asarray(x, dtype=float)) for x in values]) if values else np.array([])
    v = v[np.isfinite(v)]
    return [float(v.min()), float(v.max())] if len(v) and v.max() > v.min() else None


def _dom(domain):
    """A scale domain, or Vega's own (from the data) where there is none."""
    return alt.Undefined if domain is None else domain


def _size(chart, height: int = HEIGHT):
    """``chart`` as wide as its container and ``height`` tall. Set in place: Altair's ``properties`` deep-copies
    and validates the chart, and the builders own the object they size."""
    chart.width, chart.height = "container", max(height, MIN_HEIGHT)
    return chart


def _filtered(chart, expr: str):
    """``chart`` with a filter transform appended, in place (``transform_filter`` deep-copies)."""
    chart.transform = [*(chart.transform if chart.transform is not alt.Undefined else []),
                       alt.FilterTransform(filter=expr)]
    return chart


def seed_band(df: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Mean, min, max and count of ``value`` over seeds, per ``by`` group."""
    g = df.groupby(by, sort=False)[value]
    return g.agg(mean="mean", low="min", high="max", seeds="count").reset_index()


def _finite(df: pd.DataFrame, cols) -> pd.DataFrame:
    vals = df[cols].to_numpy(dtype=float)
    return df[np.isfinite(vals).all(axis=1)]


# ------------------------------------------------------------- epoch scrub
def scrub_windows(epochs) -> pd.DataFrame:
    """Per recorded epoch, the slider positions [shown_from, shown_to) at which it is the one shown: from
    itself up to the next recorded epoch (the slider moves in steps of their greatest common divisor, which
    is the recording interval when the epochs are evenly spaced)."""
    e = sorted(int(x) for x in epochs)
    return pd.DataFrame({"epoch": e, "shown_from": e, "shown_to": e[1:] + [e[-1] + 1]})


def scrub_step(epochs) -> int:
    e = sorted(int(x) for x in epochs)
    return max(1, reduce(math.gcd, np.diff(e).tolist(), 0)) if len(e) > 1 else 1


def _scrub_param(epochs, start: int) -> alt.Parameter:
    e = sorted(int(x) for x in epochs)
    # the space parts the label from the slider Vega draws after it: layout, not part of the message
    return alt.param(name=SCRUB, value=int(start),
                     bind=alt.binding_range(min=e[0], max=e[-1], step=scrub_step(e), name=_("epoch shown") + " "))


def _scrub_filter() -> str:
    return f"datum.shown_from <= {SCRUB} && {SCRUB} < datum.shown_to"


def _epoch_frames(frames: list[pd.DataFrame], epochs, epoch: int, scrub: bool) -> tuple[list[pd.DataFrame], bool]:
    """``frames`` (with an epoch column) for a chart at ``epoch``: every epoch with its scrub window if
    ``scrub`` and their rows stay under the limit, else only ``epoch``. Returns the frames and whether the
    chart scrubs."""
    if scrub and len(epochs) > 1 and sum(len(f) for f in frames) <= SCRUB_ROW_LIMIT:
        w = scrub_windows(epochs)
        return [f.merge(w, on="epoch", how="left") for f in frames], True
    return [f[f["epoch"] == epoch] for f in frames], False


def _epoch_label(epochs, epoch: int, scrubbing: bool) -> alt.Chart:
    """'epoch N' in the top-left corner: the epoch drawn (under a scrub, the one the slider points at)."""
    rows = scrub_windows(epochs) if scrubbing else pd.DataFrame({"epoch": [int(epoch)]})
    rows = rows.assign(label=[_("epoch {epoch}").format(epoch=e) for e in rows["epoch"]])
    text = alt.Chart(rows).mark_text(align="left", baseline="top", fontSize=13, fontWeight="bold", dx=4, dy=4).encode(
        x=alt.XValue(0), y=alt.YValue(0), text=alt.Text("label:N"), tooltip=[tip("epoch:Q", _("epoch shown"))])
    return _filtered(text, _scrub_filter()) if scrubbing else text


def _layer(charts: list, scrubbing: bool, epochs, epoch: int):
    """The layers in one chart, with the scrub parameter when it scrubs (its filters refer to it)."""
    chart = alt.LayerChart(layer=charts)
    if scrubbing:
        chart.params = [_scrub_param(epochs, epoch).param]  # the schema object alt.param wraps
    return chart


# ---------------------------------------------------------------- overview
def curve_data(curves: pd.DataFrame, metric: str) -> pd.DataFrame:
    return seed_band(curves.dropna(subset=[metric]), ["scheme", "split", "epoch"], metric)


def curve_domain(curves: pd.DataFrame, metric: str, log: bool) -> list[float] | None:
    """The y range both splits' panels share: every seed's values, positive ones on a log scale."""
    v = curves[metric].to_numpy(dtype=float)
    v = v[np.isfinite(v) & (v > 0)] if log else v[np.isfinite(v)]
    if not len(v):
        return None
    return [float(v.min()), float(v.max())]


def metric_title(metric: str, task: str = "classification") -> str:
    if metric == "loss":
        return _("loss (cross-entropy)") if task == "classification" else _("loss (mean squared error)")
    return _(METRIC_WORDS[metric])


def loss_curve_panel(curves: pd.DataFrame, summary: pd.DataFrame, schemes, split: str, metric: str = "loss",
                     log: bool = False, domain=None, task: str = "classification") -> alt.LayerChart:
    """One split's curves: seed mean per scheme with its min–max band, ✚ where a model diverged."""
    data = curve_data(curves[curves["split"] == split], metric)
    if log:
        data = data[data["low"] > 0]
    yscale = alt.Scale(type="log", domain=_dom(domain)) if log else alt.Scale(zero=False, domain=_dom(domain))
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
    return _size(chart, HEIGHT - 40)


def divergence_marks(curves: pd.DataFrame, summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Last finite point of every diverged model's curve, labelled with its epoch."""
    bad = summary[summary["diverged_epoch"].notna()][["scheme", "seed", "status"]]
    if bad.empty:
        return pd.DataFrame(columns=["scheme", "seed", "split", "epoch", metric, "status"])
    c = curves.merge(bad, on=["scheme", "seed"])
    last = c.sort_values("epoch").groupby(["scheme", "seed", "split"], sort=False).tail(1)
    return last[["scheme", "seed", "split", "epoch", metric, "status"]].reset_index(drop=True)


# ------------------------------------------------------------- activations
def signal_data(layer_stats: pd.DataFrame, kind: str, stat: str) -> pd.DataFrame:
    """Mean over seeds with the min–max band of ``stat`` per (scheme, epoch, layer); on the log scales
    (second moment, std) only positive means, and a band edge at or below zero left open."""
    data = layer_stats[layer_stats["kind"] == kind]
    band = _finite(seed_band(data, ["scheme", "epoch", "layer"], stat), ["mean"])
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
    (measured, theory), scrubbing = _epoch_frames([measured, theory], epochs, epoch, scrub)
    # the y range of every epoch the chart holds, so that it stays put while the slider moves
    values = [measured["mean"], measured["low"].dropna(), measured["high"], theory["second_moment"]]
    yscale = (alt.Scale(type="log", domain=_dom(positive_domain(*values))) if log
              else alt.Scale(zero=False, domain=_dom(finite_domain(*values))))
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
        layers = [_filtered(l, _scrub_filter()) for l in layers]
    layers.append(_epoch_label(epochs, epoch, scrubbing))
    return _size(_layer(layers, scrubbing, epochs, epoch), HEIGHT)


def dead_chart(layer_stats: pd.DataFrame, schemes, epoch: int) -> alt.Chart:
    data = layer_stats[(layer_stats["epoch"] == epoch) & (layer_stats["kind"] == "activation")]
    data = _finite(seed_band(data, ["scheme", "layer"], "dead_or_saturated"), ["mean"])
    return _size(alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=60), strokeWidth=2).encode(
        x=alt.X("layer:Q", title=_("layer (1 = first hidden layer)"), axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("mean:Q", title=lines(_("share of units dead or saturated")), scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        color=scheme_color(schemes),
        tooltip=[scheme_tip(), tip("layer:Q", _("layer")), tip("mean:Q", _("share, mean over seeds"), ".4~%"),
                 tip("low:Q", _("lowest seed"), ".4~%"), tip("high:Q", _("highest seed"), ".4~%")]),
        PANEL_HEIGHT)


# ------------------------------------------------------------- densities
def _value_axis(axis: ValueAxis) -> alt.Axis:
    if not axis.symlog:
        return alt.Axis(format="~g", tickCount=6)
    expr = "''"
    for t, label in zip(reversed(axis.ticks), reversed(axis.labels)):
        expr = f"abs(datum.value - ({t!r})) < 1e-9 ? '{label}' : {expr}"
    return alt.Axis(values=list(axis.ticks), labelExpr=expr)


def value_title(kind: str, axis: ValueAxis) -> str:
    words = _(KIND_WORDS[kind])
    return (_("{values}, symmetric log scale").format(values=words) if axis.symlog else words)


def gradient_legend(title, top: float, fmt: str = "~g", values=None, length: int = 150) -> alt.Legend:
    """A colour-gradient legend under the plot, its title above it: beside it, title and gradient were wider
    than a phone's panel (390 px), which cut the gradient's end."""
    return alt.Legend(title=title, orient="bottom", titleOrient="top", gradientLength=length, gradientThickness=10,
                      format=fmt, values=values or [0, top / 4, top], titleLimit=160)


def share_top(dens: pd.DataFrame) -> float:
    """The top of the density colour scale every panel shares: the 98th percentile of the bins' shares, so
    that a point mass (every value of a zero-initialized layer in one bin) does not wash out the others;
    shares above it are drawn in the darkest colour."""
    return float(np.quantile(dens["share"], 0.98)) if len(dens) else 1.0


def density_colour(top: float) -> alt.Color:
    top = max(top, 1e-9)
    return alt.Color("share:Q", scale=alt.Scale(scheme="blues", type="sqrt", domain=[0, top], clamp=True),
                     legend=gradient_legend(_("share of the values"), top, ".0%"))


def _cells(data: pd.DataFrame, field: str, half: float = 0.5) -> pd.DataFrame:
    """Rect edges around an integer field (a layer, a unit, an epoch): heatmap rows and columns on a
    quantitative scale, which fills a container-wide chart (a discrete scale keeps its own step size)."""
    return data.assign(**{f"{field}_lo": data[field] - half, f"{field}_hi": data[field] + half})


def _int_axis(**kwargs) -> alt.Axis:
    return alt.Axis(tickMinStep=1, format="d", **kwargs)


def _epoch_axis(epochs) -> alt.Axis:
    """Ticks at recorded epochs (every second or third one when there are many)."""
    e = sorted(int(x) for x in epochs)
    step = max(1, math.ceil(len(e) / 11))
    return alt.Axis(values=e[::step], format="d")


def layer_density_panel(dens: pd.DataFrame, scheme: str, index: int, axis: ValueAxis, layers: list[int],
                        kind: str, share_max: float) -> alt.Chart:
    """One scheme's layer × value density at one epoch: each row a layer (the first on top), the colour the
    share of that layer's probe values in each value bin, on the value axis every scheme shares."""
    data = _cells(dens[dens["scheme"] == scheme], "layer")
    height = min(560, max(PANEL_HEIGHT, 10 * len(layers) + 150))
    return _size(alt.Chart(data).mark_rect().encode(
        x=alt.X("lo:Q", title=value_title(kind, axis), scale=alt.Scale(domain=list(axis.domain), nice=False,
                                                                       zero=False), axis=_value_axis(axis)),
        x2=alt.X2("hi:Q"),
        y=alt.Y("layer_lo:Q", title=lines(_("layer (last = output layer)")), axis=_int_axis(),
                scale=alt.Scale(domain=[max(layers) + 0.5, min(layers) - 0.5], nice=False, zero=False)),
        y2=alt.Y2("layer_hi:Q"),
        color=density_colour(share_max),
        tooltip=[scheme_tip(), tip("layer:Q", _("layer")), tip("value_lo:Q", _("values from"), NUM),
                 tip("value_hi:Q", _("values to"), NUM), tip("share:Q", _("share of the layer's values"), ".4~%")],
    ), height)


def epoch_density_panel(dens: pd.DataFrame, scheme: str, index: int, axis: ValueAxis, epochs, kind: str,
                        share_max: float) -> alt.Chart:
    """One scheme's epoch × value density of one layer over training (as TensorBoard's distributions)."""
    half = scrub_step(epochs) / 2 if len(epochs) > 1 else 0.5
    data = _cells(dens[dens["scheme"] == scheme], "epoch", half)
    domain = [min(epochs) - half, max(epochs) + half]
    return _size(alt.Chart(data).mark_rect().encode(
        x=alt.X("epoch_lo:Q", title=_("training epoch"), scale=alt.Scale(domain=domain, nice=False, zero=False),
                axis=_epoch_axis(epochs)),
        x2=alt.X2("epoch_hi:Q"),
        y=alt.Y("lo:Q", title=lines(value_title(kind, axis)), axis=_value_axis(axis),
                scale=alt.Scale(domain=list(axis.domain), nice=False, zero=False)),
        y2=alt.Y2("hi:Q"),
        color=density_colour(share_max),
        tooltip=[scheme_tip(), tip("epoch:Q", _("epoch")), tip("value_lo:Q", _("values from"), NUM),
                 tip("value_hi:Q", _("values to"), NUM), tip("share:Q", _("share of the layer's values"), ".4~%")],
    ), PANEL_HEIGHT)


def histogram_panel(hist: pd.DataFrame, scheme: str, index: int, kind: str, among=None) -> alt.Chart:
    """The probe's own histogram of one (scheme, layer, epoch, seed), on its own range: the exact counts, in
    the scheme's colour among the schemes ``among`` (the page's)."""
    data = hist[hist["scheme"] == scheme][["scheme", "layer", "bin_left", "bin_right", "count"]]
    # rect with an explicit zero baseline: pre-binned bars, no stacking
    return _size(alt.Chart(data).mark_rect(color=colours(among or [scheme])[scheme]).encode(
        x=alt.X("bin_left:Q", title=_(KIND_WORDS[kind]), axis=alt.Axis(format="~g", tickCount=5),
                scale=alt.Scale(zero=False, nice=False)),
        x2=alt.X2("bin_right:Q"),
        y=alt.Y("count:Q", title=lines(_("probe values in the bin"))), y2=alt.Y2Datum(0),
        tooltip=[scheme_tip(), tip("layer:Q", _("layer")), tip("bin_left:Q", _("values from"), NUM),
                 tip("bin_right:Q", _("values to"), NUM), tip("count:Q", _("values in the bin"))],
    ), MIN_HEIGHT)


# --------------------------------------------------------------- gradients
def grad_vs_layer_chart(grad: pd.DataFrame, schemes, epochs, epoch: int, column: str = "weight_grad_norm",
                        scrub: bool = True) -> alt.LayerChart:
    """``column`` of the gradient per layer (seed mean, min–max band, log scale) at one epoch, scrubbable."""
    data = _finite(seed_band(grad, ["scheme", "epoch", "layer"], column), ["mean"])
    data = data[data["mean"] > 0].copy()
    data.loc[data["low"] <= 0, "low"] = np.nan
    (data,), scrubbing = _epoch_frames([data], epochs, epoch, scrub)
    values = [data["mean"], data["low"].dropna(), data["high"]]
    yscale = alt.Scale(type="log", domain=_dom(positive_domain(*values)))
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
        layers = [_filtered(l, _scrub_filter()) for l in layers]
    layers.append(_epoch_label(epochs, epoch, scrubbing))
    return _size(_layer(layers, scrubbing, epochs, epoch), HEIGHT)


def grad_over_training_data(grad: pd.DataFrame, column: str) -> pd.DataFrame:
    data = _finite(seed_band(grad, ["scheme", "layer", "epoch"], column), ["mean"])
    return data[data["mean"] > 0]





GRAD_SHORT = {"dz_second_moment": N_("E[(∂L/∂z)²]"), "weight_grad_norm": N_("‖∂L/∂W‖"),
              "bias_grad_norm": N_("‖∂L/∂b‖"), "weight_grad_rms": N_("RMS of ∂L/∂W"), "bias_grad_rms": N_("RMS of ∂L/∂b")}


def grad_over_training_panel(data: pd.DataFrame, scheme: str, index: int, column: str, layers: list[int],
                             epochs, domain) -> alt.Chart:
    """One scheme's gradient ``column`` over training, one line per layer (the colour goes from the first
    layer to the output layer). ``domain``: the y range every scheme's panel shares."""
    d = data[data["scheme"] == scheme]
    return _size(alt.Chart(d).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title=_("training epoch"), scale=alt.Scale(domain=[min(epochs), max(epochs)], nice=False)),
        y=alt.Y("mean:Q", title=lines(_(GRAD_SHORT[column]) + _(", log scale"), 24),
                scale=alt.Scale(type="log", domain=_dom(domain)), axis=log_axis(domain or [])),
        color=alt.Color("layer:Q", scale=alt.Scale(scheme="viridis", domain=[min(layers), max(layers)]),
                        legend=gradient_legend(_("layer"), max(layers), "d",
                                               values=sorted({min(layers), max(layers)}))),
        detail=alt.Detail("layer:O"),
        tooltip=[scheme_tip(), tip("layer:Q", _("layer")), tip("epoch:Q", _("epoch")),
                 tip("mean:Q", _("mean over seeds"), NUM)],
    ), PANEL_HEIGHT)


# --------------------------------------------------------- weight distances
def unit_distance_panel(ud: pd.DataFrame, scheme: str, index: int, domain_max: float) -> alt.Chart:
    """Distances between every pair of units of one layer, one scheme, each pair once: the lower triangle
    with the diagonal (the matrix is symmetric, and every mark costs the browser: see ``boundary_runs``). The
    colour scale runs from 0 to the largest distance of any scheme shown, so identical units (0) look the
    same everywhere."""
    one = ud[(ud["scheme"] == scheme) & (ud["unit_j"] <= ud["unit_i"])]
    data = _cells(_cells(one[["scheme", "unit_i", "unit_j", "distance"]], "unit_i"), "unit_j")
    n = int(ud["unit_i"].max()) if len(ud) else 1
    scale = alt.Scale(domain=[0.5, n + 0.5], nice=False, zero=False)
    return _size(alt.Chart(data).mark_rect().encode(
        x=alt.X("unit_j_lo:Q", title=_("unit"), scale=scale, axis=_int_axis()), x2=alt.X2("unit_j_hi:Q"),
        y=alt.Y("unit_i_lo:Q", title=_("unit"), scale=alt.Scale(domain=[n + 0.5, 0.5], nice=False, zero=False),
                axis=_int_axis()),
        y2=alt.Y2("unit_i_hi:Q"),
        color=alt.Color("distance:Q", title=_("distance between two units"),
                        scale=alt.Scale(scheme="viridis", domain=[0, max(domain_max, 1e-12)]),
                        legend=gradient_legend(_("distance between two units"), max(domain_max, 1e-12))),
        tooltip=[scheme_tip(), tip("unit_i:Q", _("unit")), tip("unit_j:Q", _("other unit")),
                 tip("distance:Q", _("distance (Euclidean, incoming weights and bias)"), NUM)],
    ), PANEL_HEIGHT + 40)


def init_distance_data(init_d: pd.DataFrame, relative: bool) -> pd.DataFrame:
    value = "relative_distance" if relative else "distance"
    return _finite(seed_band(init_d, ["scheme", "layer", "epoch"], value), ["mean"])


def init_distance_panel(data: pd.DataFrame, scheme: str, index: int, relative: bool, epochs,
                        domain_max: float) -> alt.Chart:
    """How far one scheme's weights moved from their initial values, layer × epoch (seed mean)."""
    title = _("distance from the initial weights, relative to their norm") if relative else \
        _("distance from the initial weights (Frobenius norm)")
    half = scrub_step(epochs) / 2 if len(epochs) > 1 else 0.5
    d = _cells(_cells(data[data["scheme"] == scheme], "epoch", half), "layer")
    layers = data["layer"]
    return _size(alt.Chart(d).mark_rect().encode(
        x=alt.X("epoch_lo:Q", title=_("training epoch"), axis=_epoch_axis(epochs),
                scale=alt.Scale(domain=[min(epochs) - half, max(epochs) + half], nice=False, zero=False)),
        x2=alt.X2("epoch_hi:Q"),
        y=alt.Y("layer_lo:Q", title=lines(_("layer (last = output layer)")), axis=_int_axis(),
                scale=alt.Scale(domain=[layers.max() + 0.5, layers.min() - 0.5], nice=False, zero=False)),
        y2=alt.Y2("layer_hi:Q"),
        color=alt.Color("mean:Q", scale=alt.Scale(scheme="magma", reverse=True, domain=[0, max(domain_max, 1e-12)]),
                        legend=gradient_legend(lines(title, 24), max(domain_max, 1e-12), ".3~g")),
        tooltip=[scheme_tip(), tip("layer:Q", _("layer")), tip("epoch:Q", _("epoch")),
                 tip("mean:Q", _("mean over seeds"), NUM), tip("seeds:Q", _("seeds"))],
    ), PANEL_HEIGHT)


# -------------------------------------------------------- symmetry/restarts
def distinct_units_chart(distinct: pd.DataFrame, schemes, epochs, epoch: int, column: str = "distinct_units",
                         scrub: bool = True) -> alt.LayerChart:
    """Distinct units per layer (seed mean, min–max band), on a log₂ scale from 1 to the widest layer."""
    data = seed_band(distinct, ["scheme", "epoch", "layer"], column)
    (data,), scrubbing = _epoch_frames([data], epochs, epoch, scrub)
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
        x=x, y=alt.Y("mean:Q", title=ytitle, scale=yscale), color=scheme_color(schemes), tooltip=tips)
    layers = [band, line]
    if scrubbing:
        layers = [_filtered(l, _scrub_filter()) for l in layers]
    layers.append(_epoch_label(epochs, epoch, scrubbing))
    return _size(_layer(layers, scrubbing, epochs, epoch), PANEL_HEIGHT + 40)


def summary_column(metric: str, split: str) -> str:
    return f"final_{split}_{metric}"


def restarts_chart(summary: pd.DataFrame, schemes, metric: str = "loss", split: str = "test",
                   task: str = "classification") -> alt.LayerChart:
    """Each seed's final value as a dot per scheme, the seed mean as a black tick. Diverged seeds are left out
    (their last finite value is not where the start led; the page's notice counts them)."""
    col = summary_column(metric, split)
    if "diverged_epoch" in summary:
        summary = summary[summary["diverged_epoch"].isna()]
    data = _finite(summary[["scheme", "seed", col, "status"]], [col]).rename(columns={col: "value"})
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
    return _size(alt.LayerChart(layer=[points, means]), PANEL_HEIGHT + 40)


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
    return _size(alt.LayerChart(layer=layers), PANEL_HEIGHT + 40)


# ------------------------------------------------------- decision boundary
def boundary_data(bnd: pd.DataFrame, epoch: int, seed: int) -> pd.DataFrame:
    """The decision-boundary grid at one epoch and seed, as the rects a panel draws (``boundary_runs``)."""
    data = bnd[(bnd["epoch"] == epoch) & (bnd["seed"] == seed)]
    x1, x2 = data["x1"].to_numpy(), data["x2"].to_numpy()
    xs, ys = np.unique(x1), np.unique(x2)
    dx = (xs[1] - xs[0]) if len(xs) > 1 else 1.0
    dy = (ys[1] - ys[0]) if len(ys) > 1 else 1.0
    cells = pd.DataFrame({"scheme": data["scheme"].to_numpy(), "x1": x1 - dx / 2, "x1_hi": x1 + dx / 2,
                          "x2": x2 - dy / 2, "x2_hi": x2 + dy / 2, "predicted": data["predicted"].to_numpy(),
                          "probability": data["probability"].to_numpy()})
    return boundary_runs(cells)


SHADES = 255  # neighbouring cells whose probabilities round to the same 1/SHADES share a rect


def boundary_runs(cells: pd.DataFrame) -> pd.DataFrame:
    """Along each row of the grid, neighbouring cells that predict the same class with a probability that
    rounds to the same 1/SHADES are drawn as one rect, coloured by their mean probability (a cell differs from
    it by less than 1/SHADES: a step or two of one colour channel); the tooltip gives their exact range,
    ``probability_range``.

    Far from the boundary a trained model is sure of itself and most of a row is one rect: the default
    run's final epoch draws about a quarter as many marks. The marks are what the browser pays for: every one
    is encoded through Vega's expression interpreter (Streamlit's, safe under a strict CSP), and the page's
    switch time grew with the number of cells (bench/RESULTS.md). The CSV keeps every cell."""
    if cells.empty:  # every model of this seed diverged before this epoch
        return cells.assign(probability_range=pd.Series(dtype=str), p_class_1=pd.Series(dtype=float))
    scheme = pd.factorize(cells["scheme"])[0]
    row, x1 = cells["x2"].to_numpy(), cells["x1"].to_numpy()
    order = np.lexsort((x1, row, scheme))  # scheme by scheme, row by row, left to right
    scheme, row = scheme[order], row[order]
    predicted, p = cells["predicted"].to_numpy()[order], cells["probability"].to_numpy()[order]
    shade = np.round(p * SHADES)
    same = np.zeros(len(p), bool)
    same[1:] = ((scheme[1:] == scheme[:-1]) & (row[1:] == row[:-1]) & (predicted[1:] == predicted[:-1])
                & (shade[1:] == shade[:-1]))
    first = np.flatnonzero(~same)  # each rect's first cell
    last = np.append(first[1:], len(p)) - 1
    low, high = np.minimum.reduceat(p, first), np.maximum.reduceat(p, first)
    mean = np.add.reduceat(p, first) / (last - first + 1)
    pick = order[first]
    return pd.DataFrame({
        "scheme": cells["scheme"].to_numpy()[pick], "x1": x1[pick], "x1_hi": cells["x1_hi"].to_numpy()[order[last]],
        "x2": row[first], "x2_hi": cells["x2_hi"].to_numpy()[pick], "predicted": predicted[first],
        "probability": mean,
        "probability_range": [f"{lo:.6g}" if lo == hi or np.isnan(hi) else f"{lo:.6g} – {hi:.6g}"
                              for lo, hi in zip(low, high)],
        "p_class_1": np.where(predicted[first] == 1, mean, 1 - mean)})


def boundary_panel(cells: pd.DataFrame, points: pd.DataFrame, scheme: str, index: int, n_classes: int) -> alt.LayerChart:
    """One scheme's predicted class over the input plane, with the training points."""
    pts = points[points["split"] == "train"]
    lo1, hi1 = float(cells["x1"].min()), float(cells["x1_hi"].max())
    lo2, hi2 = float(cells["x2"].min()), float(cells["x2_hi"].max())
    x = alt.X("x1:Q", scale=alt.Scale(domain=[lo1, hi1], nice=False, zero=False), title=_("input feature 1 (standardized)"))
    y = alt.Y("x2:Q", scale=alt.Scale(domain=[lo2, hi2], nice=False, zero=False), title=_("input feature 2 (standardized)"))
    if n_classes == 2:
        fill = alt.Color("p_class_1:Q", scale=alt.Scale(scheme="redblue", domain=[0, 1]),
                         # shorter than other gradients: the true class's legend shares the row under the plot
                         legend=gradient_legend(lines(_("predicted probability of class 1"), 20), 1.0,
                                                values=[0, 0.5, 1], length=90))
        opacity = alt.OpacityValue(0.75)
        point_scale = alt.Scale(domain=[0, 1], range=["#b2182b", "#2166ac"])  # the probability scale's ends
    else:
        fill = alt.Color("predicted:N", scale=alt.Scale(scheme="category10", domain=list(range(n_classes))),
                         title=_("predicted class"), legend=alt.Legend(orient="bottom", symbolOpacity=1))
        opacity = alt.Opacity("probability:Q", scale=alt.Scale(domain=[0, 1]), legend=None)
        point_scale = alt.Scale(scheme="category10", domain=list(range(n_classes)))
    heat = alt.Chart(cells[cells["scheme"] == scheme]).mark_rect().encode(
        x=x, x2=alt.X2("x1_hi:Q"), y=y, y2=alt.Y2("x2_hi:Q"), color=fill, opacity=opacity,
        tooltip=[scheme_tip(), tip("predicted:N", _("predicted class")),
                 tip("probability_range:N", _("probability of that class"))])
    dots = alt.Chart(pts).mark_circle(size=18, stroke="white", strokeWidth=0.6, opacity=1).encode(
        x=x, y=y, fill=alt.Fill("label:N", scale=point_scale, title=_("true class"),
                                # two classes: one a row, else they run past a narrow panel's edge beside the
                                # gradient, cut short; more classes stay in a row (a column would take the plot's height)
                                legend=alt.Legend(orient="bottom", symbolOpacity=1,
                                                  direction="vertical" if n_classes == 2 else "horizontal")),
        tooltip=[tip("label:N", _("true class")), tip("x1:Q", _("feature 1"), NUM), tip("x2:Q", _("feature 2"), NUM)])
    return _size(alt.LayerChart(layer=[heat, dots]), PANEL_HEIGHT + 40)
