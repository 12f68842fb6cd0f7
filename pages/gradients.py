import streamlit as st

from core import charts
from app.context import current
from app.navigation import ensure_navigation
from app.widgets import downloads, epoch_picker, seed_picker, show_chart

ensure_navigation()
ctx = current()
f = ctx.frames

st.title("Gradients")
st.caption("Back-propagated gradients on the probe batch. A slope across layers means vanishing (falling "
           "towards the input) or exploding (rising) gradients: the early layers then learn far slower or far "
           "faster than the late ones.")

epoch = epoch_picker(ctx, key="grad_epoch")
st.subheader(f"Gradient norm per layer at epoch {epoch}")
show_chart(charts.grad_vs_layer_chart, f["gradient_norms"], ctx.schemes, epoch)

st.subheader("Gradient norms over training")
show_chart(charts.grad_over_training_chart, f["gradient_norms"], ctx.schemes)

st.subheader("Histograms of back-propagated gradients")
seed = seed_picker(ctx, key="grad_seed")
show_chart(charts.histogram_chart, f["histograms"], ctx.schemes, epoch, seed, "gradient")

downloads(ctx, ("Gradient norms", "gradient_norms"), ("Histograms", "histograms"))
