import streamlit as st

from core.nn import activations
from core.views import phrases
from core.measure import theory
from core.i18n import N_, _
from app.context import current
from app.navigation import ensure_navigation
from app.spec_memo import derived
from app.text import literal
from app.views import PageView
from app.widgets import (density_section, downloads, factor_table, second_moment_prediction, show_chart,
                         what_to_notice)
from core.views import activations as page_view

ensure_navigation()
ctx = current()
f = ctx.frames

st.title(_("Activations"))
view = PageView("activations", ("epoch", "quantity", "seed", "stat", "layer", "log", "tab"))
opening = st.container()
st.caption(_("What each layer passes on, measured on a fixed probe batch of training samples. Too small weights "
             "shrink the signal layer by layer, too large ones blow it up or saturate it."))

c1, c2, c3 = st.columns([2, 2, 1])
with c1:
    epoch = view.epoch(ctx.epochs, ctx.epochs[0])
with c2:
    kind = view.choice("quantity", {"preactivation": N_("pre-activations z = a·W + b"),
                                    "activation": N_("activations f(z)")}, "preactivation", _("Quantity"))
with c3:
    seed = view.seed(ctx.config.seeds)

prediction = second_moment_prediction(ctx)

st.subheader(_("How the signal changes with depth"))
stat = view.choice("stat", {"second_moment": N_("second moment E[x²]"), "std": N_("standard deviation"),
                            "mean": N_("mean")}, "second_moment", _("Statistic"),
                   help=_("The second moment E[z²] is what He et al.'s variance argument tracks."))
with opening:  # written above, once the chart's quantity and statistic are known
    what_to_notice(derived(ctx.results, ("activations.notices", epoch, kind, stat), lambda: page_view.notices(
        f["layer_stats"], prediction, ctx.schemes, epoch, kind, ctx.config.depth, stat, f["summary"])))
chart_col, table_col = st.columns([2, 1])
with chart_col:
    show_chart(page_view.signal_chart, f["layer_stats"], prediction, ctx.schemes, ctx.epochs, epoch, kind, stat,
               owner=ctx.results)
with table_col:
    factors = derived(ctx.results, ("depth_factors", epoch), lambda: phrases.depth_factors(
        f["layer_stats"], prediction, ctx.schemes, epoch, ctx.config.depth))
    st.markdown(factor_table(factors), unsafe_allow_html=True)
    st.caption(_("Second moment of pre-activations, multiplied per layer: the geometric mean of the ratio between "
                 "consecutive hidden layers at epoch {epoch}, seed mean. Predicted at epoch 0 only.").format(
        epoch=epoch))
if stat == "second_moment" and kind == "preactivation":
    st.caption(literal(theory.prediction_caption(ctx.schemes, ctx.config.bias)))
st.caption(_("Drag “epoch shown” under the chart to scrub through the recorded epochs in the browser; the Epoch "
             "control above sets where it starts, the other charts and the link."))

st.subheader(_("Distributions"))
density_section(ctx, view, kind, epoch, seed)

st.subheader(_("Dead or saturated units"))
dead = f["layer_stats"]["dead_or_saturated"]
if dead.notna().any():
    st.caption(_("ReLU family: share of units that are off on every probe sample. tanh/sigmoid: share of "
                 "unit-sample pairs whose slope is under 5% of its peak."))
    show_chart(page_view.dead_chart, f["layer_stats"], ctx.schemes, epoch, owner=ctx.results)
else:
    st.caption(activations.inactivity_caption(ctx.config.activation))

downloads(ctx, (_("Layer statistics"), "layer_stats"), (_("Histograms"), "histograms"))
