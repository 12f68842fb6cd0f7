import streamlit as st

from core.views import charts
from core.views.charts import GRAD_WORDS
from core.i18n import N_, _
from app.context import current
from app.navigation import ensure_navigation
from app.spec_memo import derived
from app.views import PageView
from app.widgets import density_section, downloads, show_chart, small_multiples, what_to_notice
from core.views import gradients as page_view

ensure_navigation()
ctx = current()
f = ctx.frames
grad = derived(ctx.results, ("gradient_frame",),
               lambda: page_view.gradient_frame(f["gradient_norms"], f["layer_stats"]))

st.title(_("Gradients"))
view = PageView("gradients", ("epoch", "norm", "seed", "layer", "log", "tab"))
opening = st.container()
st.caption(_("Back-propagated gradients on the probe batch, per layer. A slope of E[(∂L/∂z)²] across layers means "
             "the gradient signal vanishes (falling towards the input) or explodes (rising) on its way back; with "
             "plain SGD, the RMS of ∂L/∂W per weight says how large each layer's steps are."))

measures = {c: GRAD_WORDS[c] for c in ("dz_second_moment", "weight_grad_rms", "bias_grad_rms", "weight_grad_norm",
                                      "bias_grad_norm")}
# How to read what is plotted: only per-element measures compare layers of different sizes.
READING = {
    "dz_second_moment": N_("Read: E[(∂L/∂z)²] per unit of each layer. Falling from the output layer towards layer 1 "
                           "is a vanishing gradient signal, rising is an exploding one; a flat line means every "
                           "layer hears the loss equally loudly."),
    "weight_grad_rms": N_("Read: the typical size of one weight's gradient in each layer. With plain SGD a weight's "
                          "step is the learning rate times its gradient, so the ratio between layers is the ratio "
                          "of their step sizes (momentum averages steps over time; Adam divides the size out)."),
    "bias_grad_rms": N_("Read: the typical size of one bias's gradient in each layer."),
    "weight_grad_norm": N_("Read with care: ‖∂L/∂W‖ sums over every weight of the layer, so a layer with more "
                           "weights has a larger norm at the same per-weight gradient (the first hidden layer of a "
                           "2-input net has few). Compare layers by the RMS per weight or by E[(∂L/∂z)²]."),
    "bias_grad_norm": N_("Read with care: ‖∂L/∂b‖ grows with the number of units of the layer; compare layers by "
                         "the RMS per bias."),
}
c1, c2 = st.columns([1, 1])
with c1:
    epoch = view.epoch(ctx.epochs, ctx.epochs[0])
with c2:
    column = view.choice("norm", measures, "dz_second_moment", _("Measure"), horizontal=False)
with opening:
    what_to_notice(derived(ctx.results, ("gradients.notices", epoch, column), lambda: page_view.notices(
        grad, ctx.schemes, epoch, column, ctx.config.depth, ctx.config.optimizer, f["summary"])))

st.subheader(_("Gradient per layer"))
show_chart(page_view.grad_vs_layer_chart, grad, ctx.schemes, ctx.epochs, epoch, column, owner=ctx.results)
st.caption(_(READING[column]))
st.caption(_("Drag “epoch shown” under the chart to scrub through the recorded epochs in the browser. Exact zeros "
             "(a layer that receives no gradient) cannot be drawn on the log scale."))


def norms_over_training():
    data = derived(ctx.results, ("grad_over_training", column),
                   lambda: page_view.grad_over_training_data(grad, column))
    domain = charts.positive_domain(data["mean"])
    layers = sorted(grad["layer"].unique().tolist())
    st.caption(_("Each scheme's {measure} per layer over training (seed mean); the colour goes from the first layer "
                 "to the output layer.").format(measure=_(GRAD_WORDS[column])))
    small_multiples(ctx.schemes, page_view.grad_over_training_panel, data, column=column, layers=layers,
                    epochs=ctx.epochs, domain=domain, data=data, owner=ctx.results,
                    empty=_("No values: every gradient is 0, which a log scale cannot draw, or the model diverged "
                            "at once."))


st.subheader(_("Over training, and the distributions of back-propagated gradients ∂L/∂z"))
seed = view.seed(ctx.config.seeds)
density_section(ctx, view, "gradient", epoch, seed,
                first_tab=("over_training", N_("Norms over training"), norms_over_training))

downloads(ctx, (_("Gradient norms"), "gradient_norms"), (_("Layer statistics"), "layer_stats"),
          (_("Histograms"), "histograms"))
