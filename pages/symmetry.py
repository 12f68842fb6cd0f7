import streamlit as st

from core import restarts
from core.i18n import N_, _
from app.context import current
from app.navigation import ensure_navigation
from app.spec_memo import derived
from app.views import PageView
from app.widgets import download_csv, downloads, show_chart, what_to_notice
from core.views import symmetry as page_view

ensure_navigation()
ctx = current()
f = ctx.frames
distinct = f["distinct_units"]
task = ctx.results.data.task

st.title(_("Symmetry & restarts"))
view = PageView("symmetry", ("epoch", "count", "metric", "split"))
opening = st.container()

st.subheader(_("Distinct units per layer"))
c1, c2 = st.columns([2, 1])
with c1:
    epoch = view.epoch(ctx.epochs, ctx.epochs[-1])
with c2:
    count = view.choice("count", {"functional": N_("by function"), "weights": N_("by incoming weights")},
                        "functional", _("Count units"))
column = "functional_distinct_units" if count == "functional" else "distinct_units"
st.caption(_("By function: two units are one when their activations agree on every sample of the probe batch; by "
             "incoming weights: when their weights and bias agree. Both within 2^14 machine epsilons of the "
             "layer's scale, so rounding noise does not split a unit. Copies that differ only in their outgoing "
             "weights count once by function, and so do units that are never active. Zero or constant weights "
             "with equal biases give every unit of a layer the same gradient, so they stay one unit however long "
             "you train; biases drawn at random make the units differ from the start."))
show_chart(page_view.distinct_units_chart, distinct, ctx.schemes, ctx.epochs, epoch, column, owner=ctx.results)
st.caption(_("Drag “epoch shown” under the chart to scrub through the recorded epochs in the browser."))

st.subheader(_("Spread of the final result over seeds"))
st.caption(_("Same data, same batches, only the initial draw differs: each dot is one seed, the bar their mean. "
             "Deterministic schemes put every seed on one dot; diverged seeds are left out (the notice above counts "
             "them)."))
c1, c2 = st.columns(2)
with c1:
    metric = view.metric(task)
with c2:
    split = view.choice("split", {"test": N_("test set"), "train": N_("training set")}, "test", _("Data"))
show_chart(page_view.restarts_chart, f["summary"], ctx.schemes, metric, split, task, owner=ctx.results)
with opening:
    what_to_notice(derived(ctx.results, ("symmetry.notices", metric, split), lambda: page_view.notices(
        distinct, f["summary"], ctx.schemes, ctx.config.depth, metric, split)))

st.subheader(_("How many restarts?"))
best_of_k = derived(ctx.results, ("best_of_k", split, metric),
                    lambda: restarts.best_of_k_frame(f["summary"], f"final_{split}_{metric}"))
st.caption(_("If you trained k of these seeds and kept the best, what would you get? The curve is the expected best "
             "over k seeds drawn without replacement from the {n} seeds run here, computed exactly from their sorted "
             "results (order statistics); at k = {n} it is the best seed. Dots: each finished seed's own result. A curve "
             "that keeps improving with k means some starts get stuck and another start escapes; a flat one, "
             "that restarts buy nothing. A diverged seed counts as the worst result.").format(n=ctx.config.seeds))
show_chart(page_view.network_best_of_k_chart, best_of_k, f["summary"], ctx.schemes, owner=ctx.results)

downloads(ctx, (_("Distinct units"), "distinct_units"), (_("Summary"), "summary"))
download_csv(_("Best of k"), "best_of_k", ctx, frame=best_of_k)
