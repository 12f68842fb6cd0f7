import streamlit as st

from core.nn import initializers
from core.config import parse_bias, parse_scheme
from core.i18n import _, clauses
from app.context import current
from app.navigation import ensure_navigation
from app.spec_memo import derived
from app.text import literal
from app.views import PageView
from app.widgets import downloads, scheme_badge, show_chart, stacked, table, what_to_notice
from core.views import overview as page_view

ensure_navigation()
ctx = current()
f = ctx.frames
task = ctx.results.data.task

st.title(_("Overview"))
view = PageView("overview", ("metric", "log"))
what_to_notice(derived(ctx.results, ("overview.notices",), lambda: page_view.notices(f, ctx.schemes, ctx.config.depth,
                                                                                  task)))
st.caption(_("Every scheme trains the same network on the same minibatches in the same order; only the initial "
             "weights differ. Bands span the seeds, lines are their mean."))

summary = f["summary"]
st.subheader(_("Training curves"))
c1, c2 = st.columns([1, 1])
with c1:
    metric = view.metric(task)
with c2:
    log = view.flag("log", metric == "loss", _("Log scale"))
domain = page_view.curve_domain(f["curves"], metric, log)
left, right = st.columns(2)
for col, split in ((left, "train"), (right, "test")):
    with col:
        show_chart(page_view.loss_curve_panel, f["curves"], summary, ctx.schemes, split, metric, log, domain, task,
                   owner=ctx.results)

agg = summary.groupby("scheme", sort=False).agg(
    train_loss=("final_train_loss", "mean"), test_loss=("final_test_loss", "mean"),
    test_accuracy=("final_test_accuracy", "mean"), test_accuracy_sd=("final_test_accuracy", "std"),
    diverged=("diverged_epoch", lambda s: int(s.notna().sum())), seeds=("seed", "count"))
# this table is only shown (the summary frame is what the CSV exports): its added columns' headers are words,
# translated; the frame's own column names stay as the export schema writes them
hidden = [f"distinct_units_layer_{i}" for i in range(1, ctx.config.depth + 1)]
if all(c in summary.columns for c in hidden):
    agg[_("fewest distinct hidden units")] = summary.groupby("scheme", sort=False)[hidden].min().min(axis=1)
functional = [f"functional_{c}" for c in hidden]  # where the frames count units by what they compute too
if all(c in summary.columns for c in functional):
    agg[_("fewest functional hidden units")] = summary.groupby("scheme", sort=False)[functional].min().min(axis=1)
agg = agg.rename(columns={
    "train_loss": _("training loss"), "test_loss": _("test loss"), "test_accuracy": _("test accuracy"),
    "test_accuracy_sd": _("test accuracy sd"), "diverged": _("seeds diverged"), "seeds": _("seeds")})
st.subheader(_("Summary"))
st.caption(_("Losses and accuracies at the last epoch (the last finite one for a model that diverged), the mean "
             "over seeds, sd their standard deviation; units: the fewest of any hidden layer and seed at the last "
             "recorded epoch."))
table(agg.reset_index().rename(columns={"scheme": _("scheme")}))
bad = summary[summary["diverged_epoch"].notna()]
if len(bad):
    st.warning(literal(_("Diverged (NaN or inf), stopped and marked ✚ on the curves: {models}").format(
        models=clauses(_("{scheme} seed {seed}: diverged at epoch {epoch}").format(
            scheme=r.scheme, seed=r.seed, epoch=int(r.diverged_epoch)) for r in bad.itertuples()))),
        icon=":material/error:")
with st.expander(_("Per seed")):
    table(summary)

with st.expander(_("The schemes compared"), expanded=False):
    # at most three side by side: four columns leave a formula about 190 px at 1280 px, which clips Xavier's
    cols = st.columns(min(3, len(ctx.schemes)))
    for i, label in enumerate(ctx.schemes):
        name, params = parse_scheme(label)
        init = initializers.INITIALIZERS[name]
        with cols[i % len(cols)]:
            st.markdown(scheme_badge(label, ctx.schemes), unsafe_allow_html=True)
            st.latex(stacked(initializers.formula_in_language(init.formula)))
            resolved = initializers.resolve_params(name, ctx.config.activation, **params)
            extra = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in resolved.items())
            st.caption(_(init.description) + (f" ({extra})" if extra else ""))
    bias_name, bias_params = parse_bias(ctx.config.bias)
    bias = initializers.BIASES[bias_name]
    own = [label for label in ctx.schemes if initializers.INITIALIZERS[parse_scheme(label)[0]].bias is not None]
    st.markdown(_("**Biases** (link key `bias`):"))
    st.latex(initializers.formula_in_language(initializers.bias_formula(bias_name, **bias_params)))
    st.caption(_(bias.description) + (" " + _("Except {schemes}, which draw their own biases.").format(
        schemes=", ".join(literal(s) for s in own)) if own else ""))

downloads(ctx, (_("Curves"), "curves"), (_("Summary"), "summary"))
