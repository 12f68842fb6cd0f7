import pandas as pd
import streamlit as st

from core import charts, initializers
from core.config import parse_scheme
from app.context import current
from app.navigation import ensure_navigation
from app.text import literal
from app.widgets import downloads, scheme_badge, show_chart

ensure_navigation()
ctx = current()
f = ctx.frames

st.title("Overview")
st.caption("Every scheme trains the same network on the same minibatches in the same order; "
           "only the initial weights differ. Bands span the seeds, lines are their mean.")

with st.expander("The schemes compared", expanded=True):
    cols = st.columns(min(4, len(ctx.schemes)))
    for i, label in enumerate(ctx.schemes):
        name, params = parse_scheme(label)
        init = initializers.INITIALIZERS[name]
        with cols[i % len(cols)]:
            st.markdown(scheme_badge(i, label), unsafe_allow_html=True)
            st.latex(init.formula)
            resolved = initializers.resolve_params(name, ctx.config.activation, **params)
            extra = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in resolved.items())
            st.caption(init.description + (f" ({extra})" if extra else ""))

summary = f["summary"]
agg = summary.groupby("scheme", sort=False).agg(
    train_loss=("final_train_loss", "mean"), test_loss=("final_test_loss", "mean"),
    test_accuracy=("final_test_accuracy", "mean"), test_accuracy_sd=("final_test_accuracy", "std"),
    diverged=("diverged_epoch", lambda s: int(s.notna().sum())), seeds=("seed", "count"))
hidden = [f"distinct_units_layer_{i}" for i in range(1, ctx.config.depth + 1)]
if all(c in summary.columns for c in hidden):
    agg["fewest distinct hidden units"] = summary.groupby("scheme", sort=False)[hidden].min().min(axis=1)
st.subheader("Summary")
st.dataframe(agg.reset_index(), hide_index=True, width="stretch")
bad = summary[summary["diverged_epoch"].notna()]
if len(bad):
    st.warning(literal("Diverged (NaN or inf), stopped and marked ✚ on the curves: "
                       + "; ".join(f"{r.scheme} seed {r.seed}: {r.status}" for r in bad.itertuples())),
               icon=":material/error:")
with st.expander("Per seed"):
    st.dataframe(summary, hide_index=True, width="stretch")

st.subheader("Training curves")
c1, c2 = st.columns([1, 1])
metric = c1.radio("Metric", ["loss", "accuracy"] if ctx.results.data.task == "classification" else ["loss"],
                  horizontal=True, key="ov_metric")
log = c2.toggle("Log scale", value=metric == "loss", key="ov_log")
show_chart(charts.loss_curves, f["curves"], summary, ctx.schemes, metric, log)

downloads(ctx, ("Curves", "curves"), ("Summary", "summary"))
