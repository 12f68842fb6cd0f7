import streamlit as st

from core import charts, notice
from core.i18n import N_, _
from app.context import current
from app.navigation import ensure_navigation
from app.views import PageView
from app.widgets import downloads, show_chart, what_to_notice

ensure_navigation()
ctx = current()
f = ctx.frames
distinct = f["distinct_units"]
task = ctx.results.data.task

st.title(_("Symmetry & restarts"))
view = PageView("symmetry", ("epoch", "metric", "split"))
opening = st.container()

st.subheader(_("Distinct units per layer"))
# functionally distinct units (same outgoing behaviour) where the frames hold them, else distinct incoming weights
column = "functional_distinct_units" if "functional_distinct_units" in distinct.columns else "distinct_units"
st.caption(_("Units whose incoming weights and bias agree within 1e-9 count as one. Zero or constant weights give "
             "every unit of a layer the same gradient, so they stay one unit however long you train."))
epoch = view.epoch(ctx.epochs, ctx.epochs[-1])
show_chart(charts.distinct_units_chart, distinct, ctx.schemes, ctx.epochs, epoch, column)
st.caption(_("Drag “epoch shown” under the chart to scrub through the recorded epochs in the browser."))

st.subheader(_("Spread of the final result over seeds"))
st.caption(_("Same data, same batches, only the initial draw differs: each dot is one seed, the bar their mean. "
             "Deterministic schemes put every seed on one dot."))
c1, c2 = st.columns(2)
with c1:
    if task == "classification":
        metric = view.choice("metric", {"loss": N_("loss"), "accuracy": N_("accuracy")}, "loss", _("Metric"))
    else:
        metric = view.fixed("metric", "loss")
with c2:
    split = view.choice("split", {"test": N_("test set"), "train": N_("training set")}, "test", _("Data"))
show_chart(charts.restarts_chart, f["summary"], ctx.schemes, metric, split, task)
with opening:
    what_to_notice(notice.symmetry(distinct, f["summary"], ctx.schemes, ctx.config.depth, metric, split))

downloads(ctx, (_("Distinct units"), "distinct_units"), (_("Summary"), "summary"))
