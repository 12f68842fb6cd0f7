import streamlit as st

from core import charts
from core.probes import MAX_UNITS
from app.context import current
from app.navigation import ensure_navigation
from app.widgets import downloads, epoch_picker, seed_picker, show_chart

ensure_navigation()
ctx = current()
f = ctx.frames

st.title("Weight distances")
st.caption(f"Each unit is its column of incoming weights plus its bias. The heatmap shows the distance between "
           f"every pair of units of one layer (the first {MAX_UNITS} units of wider layers). "
           "Identical units — broken symmetry never happened — show as one flat block of zeros.")

c1, c2, c3 = st.columns(3)
with c1:
    epoch = epoch_picker(ctx, key="w_epoch", default_last=True)
with c2:
    layers = sorted(f["unit_distances"]["layer"].unique().tolist())
    layer = st.selectbox("Layer", layers, key="w_layer", format_func=lambda l: f"{l} (output)" if l == layers[-1] else str(l))
with c3:
    seed = seed_picker(ctx, key="w_seed")
show_chart(charts.unit_distance_heatmap, f["unit_distances"], ctx.schemes, epoch, seed, layer)

st.subheader("How far training moved the weights")
relative = st.toggle("Relative to the initial norm", value=True, key="w_rel",
                     help="‖W − W₀‖ / ‖W₀‖; undefined (blank) where W₀ = 0")
show_chart(charts.init_distance_heatmap, f["init_distances"], ctx.schemes, relative)

downloads(ctx, ("Unit distances", "unit_distances"), ("Distance from init", "init_distances"))
