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


def scheme_legend() -> alt.Legend:
    """The schemes' legend under the chart. Channels that share it (colour, dash) are merged into one by
    Vega-Lite when their legends are equal."""
    return alt.Legend(title=_("scheme"), orient="bottom", columns=2, symbolOpacity=1, labelLimit=0,
                      symbolStrokeWidth=3, symbolType="stroke")


def scheme_color(schemes, legend=True) -> alt.Color:
    """The scheme colour channel. In a layered chart give every layer the same legend (Vega-Lite merges
    the layers' legends of a shared scale, and one layer without a legend removes it for all)."""
    return alt.Color("scheme:N", scale=scheme_scale(schemes), sort=list(schemes),
                     legend=scheme_legend() if legend else None)


# Stroke patterns of the lines that may lie on one another (schemes with equal units keep the same count): the
# first scheme solid, each next one dashed differently, so that a line drawn over another leaves it visible.
DASHES = ([1, 0], [8, 4], [4, 2], [10, 3, 2, 3], [2, 2], [12, 6])


def scheme_dash(schemes) -> alt.StrokeDash:
    """The scheme stroke-dash channel, with the colour's legend (Vega-Lite merges the two into one)."""
    schemes = list(schemes)
    dashes = [DASHES[i % len(DASHES)] for i in range(len(schemes))]
    return alt.StrokeDash("scheme:N", sort=schemes, legend=scheme_legend(),
                          scale=alt.Scale(domain=schemes, range=dashes))


def tip(field: str, title: str, fmt: str | None = None) -> alt.Tooltip:
    return alt.Tooltip(field, title=title, format=fmt) if fmt else alt.Tooltip(field, title=title)


def scheme_tip() -> alt.Tooltip:
    return tip("scheme:N", _("scheme"))


def lines(title: str, width: int = 24) -> list[str] | str:
    """An axis title broken into lines of at most ``width`` characters: Vega counts a y-axis title's full length
    in the chart's height, so a vertical title longer than the plot would squeeze the plot to make room for it,
    and one centred on a short plot runs past the canvas's top (French titles, at 1280 px: 30 characters did);
    a centred x-axis title wider than a small multiple's panel runs past its canvas's edges."""
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


def scale_domain(domain):
    """A scale domain, or Vega's own (from the data) where there is none."""
    return alt.Undefined if domain is None else domain


def sized(chart, height: int = HEIGHT):
    """``chart`` as wide as its container and ``height`` tall. Set in place: Altair's ``properties`` deep-copies
    and validates the chart, and the builders own the object they size."""
    chart.width, chart.height = "container", max(height, MIN_HEIGHT)
    return chart


def titled_panel(chart, title: str | None = None, height: int = PANEL_HEIGHT):
    """The plot ``height`` tall, its width fitted to the page's column (Streamlit's default "fit" would
    count the legend and axis titles into the height and squash the plot). Set in place, as charts.sized:
    Altair's ``properties`` deep-copies the chart and its data."""
    chart.width, chart.height = "container", height
    chart.autosize = alt.AutoSizeParams(type="fit-x", contains="padding")
    if title is not None:  # in lines of at most 36 characters: Vega cuts a longer line at a phone's width
        chart.title = textwrap.wrap(title, 36)
    return chart


def filtered(chart, expr: str):
    """``chart`` with a filter transform appended, in place (``transform_filter`` deep-copies)."""
    chart.transform = [*(chart.transform if chart.transform is not alt.Undefined else []),
                       alt.FilterTransform(filter=expr)]
    return chart


def seed_band(df: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Mean, min, max and count of ``value`` over seeds, per ``by`` group."""
    g = df.groupby(by, sort=False)[value]
    return g.agg(mean="mean", low="min", high="max", seeds="count").reset_index()


def finite_rows(df: pd.DataFrame, cols) -> pd.DataFrame:
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


def scrub_filter() -> str:
    return f"datum.shown_from <= {SCRUB} && {SCRUB} < datum.shown_to"


def epoch_frames(frames: list[pd.DataFrame], epochs, epoch: int, scrub: bool) -> tuple[list[pd.DataFrame], bool]:
    """``frames`` (with an epoch column) for a chart at ``epoch``: every epoch with its scrub window if
    ``scrub`` and their rows stay under the limit, else only ``epoch``. Returns the frames and whether the
    chart scrubs."""
    if scrub and len(epochs) > 1 and sum(len(f) for f in frames) <= SCRUB_ROW_LIMIT:
        w = scrub_windows(epochs)
        return [f.merge(w, on="epoch", how="left") for f in frames], True
    return [f[f["epoch"] == epoch] for f in frames], False


def epoch_label(epochs, epoch: int, scrubbing: bool) -> alt.Chart:
    """'epoch N' in the top-left corner: the epoch drawn (under a scrub, the one the slider points at)."""
    rows = scrub_windows(epochs) if scrubbing else pd.DataFrame({"epoch": [int(epoch)]})
    rows = rows.assign(label=[_("epoch {epoch}").format(epoch=e) for e in rows["epoch"]])
    text = alt.Chart(rows).mark_text(align="left", baseline="top", fontSize=13, fontWeight="bold", dx=4, dy=4).encode(
        x=alt.XValue(0), y=alt.YValue(0), text=alt.Text("label:N"), tooltip=[tip("epoch:Q", _("epoch shown"))])
    return filtered(text, scrub_filter()) if scrubbing else text


def layered(charts: list, scrubbing: bool, epochs, epoch: int):
    """The layers in one chart, with the scrub parameter when it scrubs (its filters refer to it)."""
    chart = alt.LayerChart(layer=charts)
    if scrubbing:
        chart.params = [_scrub_param(epochs, epoch).param]  # the schema object alt.param wraps
    return chart


# ---------------------------------------------------------------- overview


def metric_title(metric: str, task: str = "classification") -> str:
    if metric == "loss":
        return _("loss (cross-entropy)") if task == "classification" else _("loss (mean squared error)")
    return _(METRIC_WORDS[metric])




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


def with_cell_bounds(data: pd.DataFrame, field: str, half: float = 0.5) -> pd.DataFrame:
    """Rect edges around an integer field (a layer, a unit, an epoch): heatmap rows and columns on a
    quantitative scale, which fills a container-wide chart (a discrete scale keeps its own step size)."""
    return data.assign(**{f"{field}_lo": data[field] - half, f"{field}_hi": data[field] + half})


def int_axis(**kwargs) -> alt.Axis:
    return alt.Axis(tickMinStep=1, format="d", **kwargs)


def epoch_axis(epochs) -> alt.Axis:
    """Ticks at recorded epochs (every second or third one when there are many)."""
    e = sorted(int(x) for x in epochs)
    step = max(1, math.ceil(len(e) / 11))
    return alt.Axis(values=e[::step], format="d")


def layer_density_panel(dens: pd.DataFrame, scheme: str, index: int, axis: ValueAxis, layers: list[int],
                        kind: str, share_max: float) -> alt.Chart:
    """One scheme's layer × value density at one epoch: each row a layer (the first on top), the colour the
    share of that layer's probe values in each value bin, on the value axis every scheme shares."""
    data = with_cell_bounds(dens[dens["scheme"] == scheme], "layer")
    height = min(560, max(PANEL_HEIGHT, 10 * len(layers) + 150))
    return sized(alt.Chart(data).mark_rect().encode(
        x=alt.X("lo:Q", title=lines(value_title(kind, axis)),
                scale=alt.Scale(domain=list(axis.domain), nice=False, zero=False), axis=_value_axis(axis)),
        x2=alt.X2("hi:Q"),
        y=alt.Y("layer_lo:Q", title=lines(_("layer (last = output layer)"), 22), axis=int_axis(),
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
    data = with_cell_bounds(dens[dens["scheme"] == scheme], "epoch", half)
    domain = [min(epochs) - half, max(epochs) + half]
    return sized(alt.Chart(data).mark_rect().encode(
        x=alt.X("epoch_lo:Q", title=_("training epoch"), scale=alt.Scale(domain=domain, nice=False, zero=False),
                axis=epoch_axis(epochs)),
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
    return sized(alt.Chart(data).mark_rect(color=colours(among or [scheme])[scheme]).encode(
        x=alt.X("bin_left:Q", title=_(KIND_WORDS[kind]), axis=alt.Axis(format="~g", tickCount=5),
                scale=alt.Scale(zero=False, nice=False)),
        x2=alt.X2("bin_right:Q"),
        y=alt.Y("count:Q", title=lines(_("probe values in the bin"))), y2=alt.Y2Datum(0),
        tooltip=[scheme_tip(), tip("layer:Q", _("layer")), tip("bin_left:Q", _("values from"), NUM),
                 tip("bin_right:Q", _("values to"), NUM), tip("count:Q", _("values in the bin"))],
    ), MIN_HEIGHT)








