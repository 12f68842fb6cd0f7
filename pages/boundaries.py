import streamlit as st

from core import charts
from app.context import current
from app.navigation import ensure_navigation
from app.widgets import downloads, epoch_picker, seed_picker, show_chart

ensure_navigation()
ctx = current()
f = ctx.frames

st.title("Decision boundaries")
if "boundaries" not in f:
    st.info(f"Decision boundaries need a 2-D classification dataset; {ctx.config.dataset} with these settings "
            "has other inputs. Try moons, circles, xor, spirals, or blobs with 2 features.")
    st.stop()
st.caption("The predicted class over the input plane, one panel per scheme, with the training points. "
           "Move the epoch slider to watch each boundary form.")
c1, c2 = st.columns(2)
with c1:
    epoch = epoch_picker(ctx, key="b_epoch", default_last=True)
with c2:
    seed = seed_picker(ctx, key="b_seed")
show_chart(charts.boundary_chart, f["boundaries"], f["data_points"], ctx.schemes, epoch, seed,
           ctx.results.data.n_classes)

downloads(ctx, ("Boundaries", "boundaries"), ("Data points", "data_points"))
