import streamlit as st

from core import charts, theory
from app.context import current
from app.navigation import ensure_navigation
from app.widgets import downloads, epoch_picker, seed_picker, show_chart

ensure_navigation()
ctx = current()
f = ctx.frames

st.title("Activations")
st.caption("What each layer passes on, measured on a fixed probe batch of training samples. "
           "Too small weights shrink the signal layer by layer, too large ones blow it up or saturate it.")

c1, c2, c3 = st.columns(3)
with c1:
    epoch = epoch_picker(ctx, key="act_epoch")
with c2:
    kind = st.radio("Quantity", ["preactivation", "activation"], horizontal=True, key="act_kind",
                    help="pre-activation z = a W + b; activation f(z)")
with c3:
    seed = seed_picker(ctx, key="act_seed")

st.subheader("How the signal changes with depth")
stat = st.radio("Statistic", ["second_moment", "std", "mean"], horizontal=True, key="act_stat",
                help="second moment E[z²] is what He et al.'s variance argument tracks")
prediction = theory.second_moment_prediction(f["layer_stats"], ctx.results.layout.sizes, ctx.config.activation)
show_chart(charts.moments_chart, f["layer_stats"], prediction, ctx.schemes, epoch, kind, stat)
if stat == "second_moment" and kind == "preactivation":
    if epoch != 0:
        st.caption("The dashed theoretical line is drawn at epoch 0 only: training breaks its independence assumptions.")
    elif prediction.empty:
        st.caption(f"No closed-form prediction for {ctx.config.activation} (it exists for relu, leaky_relu, linear), "
                   "nor for deterministic or data-dependent schemes.")
    else:
        st.caption("Dashed: q(l+1) = n·Var(W)·c·q(l), c = ½ for ReLU (He et al. 2015), anchored at the measured "
                   "layer 1, mean over seeds. Solid: measured.")

st.subheader(f"Histograms at epoch {epoch} (seed {seed})")
st.caption("One row per layer (the last is the output layer), one column per scheme; each panel has its own x range.")
show_chart(charts.histogram_chart, f["histograms"], ctx.schemes, epoch, seed, kind)

st.subheader("Dead or saturated units")
st.caption("ReLU family: share of units that are off on every probe sample. tanh/sigmoid: share of "
           "unit-sample pairs whose slope is under 5% of its peak. Not defined for other activations.")
show_chart(charts.dead_chart, f["layer_stats"], ctx.schemes, epoch)

downloads(ctx, ("Layer statistics", "layer_stats"), ("Histograms", "histograms"))
