import streamlit as st

from core import charts
from app.context import current
from app.navigation import ensure_navigation
from app.widgets import downloads, show_chart

ensure_navigation()
ctx = current()
f = ctx.frames

st.title("Symmetry & restarts")
st.subheader("Distinct units per layer")
st.caption("Units whose incoming weights and bias agree within 1e-9 count as one. Zero or constant weights give "
           "every unit of a layer the same gradient, so they stay one unit however long you train.")
show_chart(charts.distinct_units_chart, f["distinct_units"], ctx.schemes)

st.subheader("Spread of the final loss over seeds")
st.caption("Same data, same batches, only the initial draw differs: each dot is one seed, the bar their mean. "
           "Deterministic schemes put every seed on one dot.")
metric = st.radio("Metric", ["final_test_loss", "final_train_loss", "final_test_accuracy"], horizontal=True,
                  key="sym_metric")
show_chart(charts.restarts_chart, f["summary"], ctx.schemes, metric)

downloads(ctx, ("Distinct units", "distinct_units"), ("Summary", "summary"))
