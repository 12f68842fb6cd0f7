from functools import partial

import streamlit as st

from app.context import current
from app.navigation import ensure_navigation
from app.restart_fits import csv_for, restart_results
from app.results import TrainingStopped
from app.spec_memo import derived
from app.text import literal
from app.widgets import in_rows, show_chart, what_to_notice
from core import restarts
from core.config import RESTART_FIELDS
from core.i18n import _
from core.restarts import GMM_TOL, MAX_ITER, MAX_SECONDS, METHODS, RestartSettings
from core.views import restarts as page_view

BIND = "query-params"


def number(key: str, label: str, help: str) -> int:
    f = RESTART_FIELDS[key]
    return st.number_input(label, min_value=int(f.lo), max_value=int(f.hi), value=int(f.default), step=1,
                           key=key, bind=BIND, help=help)


ensure_navigation()
ctx = current(needs_results=False)

st.title(_("Restarts beyond networks"))
st.caption(_("A network is not the only fit whose result depends on where it starts. k-means and EM (for a "
             "Gaussian mixture) can end in different local optima: every restart below is the same fit on the same "
             "data from a new random start (restart r uses random_state r). Logistic regression (scikit-learn's "
             "default L2 penalty, C = 1) is the contrast: its loss is convex, so every start heads for the same "
             "minimum. The data are the sidebar's dataset settings, training and test samples together, "
             "standardized."))

# the key picture first (drawn into this container once the fits are done), the rest in sections that open;
# a section whose keys the link set opens at the session's first run (and stays as the visitor leaves it)
key_picture = st.container()
opened = st.session_state.setdefault("_restarts_opened", {
    "settings": any(k in st.query_params for k in ("restarts", "clusters", "components")),
    "fit": "fit" in st.query_params})
with st.expander(_("Restarts, clusters and components"), expanded=opened["settings"]):
    c1, c2, c3 = st.columns(3)
    with c1:
        n_restarts = number("restarts", _("Restarts per init"), _("How many times each method and init is fitted."))
    with c2:
        clusters = number("clusters", _("k-means clusters"), _("k, the number of k-means centres."))
    with c3:
        components = number("components", _("Mixture components (EM)"),
                             _("Gaussians in the mixture fitted by EM."))

settings = RestartSettings.from_config(ctx.config, restarts=n_restarts, clusters=clusters, components=components)
try:
    restarts.check(settings)
except ValueError as e:
    st.error(literal(e), icon=":material/block:")
    st.stop()
try:
    res = restart_results(settings)
except TrainingStopped as e:  # the server's time cap
    st.error(literal(e), icon=":material/block:")
    st.stop()
f = res.frames
runs = f["restart_runs"]

with key_picture:
    what_to_notice(derived(res, ("notices",), lambda: page_view.notices(res)))

    st.subheader(_("Where each restart ends"))
    st.caption(_("One dot per restart: its final objective against the iterations it took; the dashed line is the "
                 "best found by any init. Lower inertia and log-loss are better, higher log-likelihood is better. A "
                 "restart counts in the best group within {pct}% of the best inertia, or within {nats} nats per "
                 "sample of the best log-likelihood.").format(pct=f"{100 * METHODS['kmeans'].near:g}",
                                                              nats=f"{METHODS['gmm'].near:g}"))
    methods = [m.name for m in res.methods()]
    cols = st.columns(len(methods))
    for col, name in zip(cols, methods):
        with col:
            if name == "logistic":
                show_chart(page_view.convex_chart, runs, owner=res)
            else:
                show_chart(page_view.outcomes_chart, runs, name, owner=res)
    if "logistic" not in methods:
        st.caption(_("The logistic regression contrast needs class labels: this dataset is a regression."))

with st.expander(_("How many restarts?")):
    st.caption(_("The expected best objective when you keep the best of k restarts, computed exactly from the "
                 "restarts above as if k of them were drawn at random without replacement. Which init starts "
                 "better depends on the data: read it off these restarts below."))
    cols = st.columns(2)
    for col, name in zip(cols, ("kmeans", "gmm")):
        with col:
            show_chart(page_view.best_of_k_chart, f["restart_best_of_k"], runs, name, owner=res)
    for sentence in derived(res, ("started_better",), lambda: page_view.which_init_started_better(res)):
        st.caption(literal(sentence))
    for sentence in derived(res, ("how_many",), lambda: page_view.how_many(res)):
        st.caption(literal(sentence))

with st.expander(_("The best and the worst restart"), expanded=opened["fit"]):
    options = list(RESTART_FIELDS["fit"].choices)
    # the options as written in the link and the CSV (method.init): a bound widget writes what it shows
    shown = st.selectbox(_("Fit shown (method.init)"), options, index=options.index(RESTART_FIELDS["fit"].default),
                         key="fit", bind=BIND, help=_("kmeans is k-means, gmm is EM on a Gaussian mixture; the init "
                                                      "names are scikit-learn's."))
    method, init = shown.split(".", 1)
    if res.n_features < 2:
        st.caption(_("Centres are drawn over two features; this dataset has one."))
    else:
        if res.n_features > 2:
            st.caption(_("Drawn over the first two of the {d} features: centres and ellipses are projected onto "
                         "them.").format(d=res.n_features))
        st.caption(_("Grey dots are the data, crosses the fitted centres; for EM each ellipse is a fitted "
                     "Gaussian's 2-standard-deviation contour, holding 86% of its mass over these two features."))
        cols = st.columns(2)
        for col, which in zip(cols, ("best", "worst")):
            with col:
                show_chart(page_view.centres_chart, f["restart_points"], f["restart_centres"],
                           f["restart_ellipses"], runs, method, init, which, owner=res)

st.caption(_("Bounds: at most {max_restarts} restarts; each fit stops after {kmeans} iterations (k-means) or "
             "{logistic} (logistic regression), scikit-learn's defaults. EM is compared at convergence: it stops "
             "once an iteration raises the mean log-likelihood by less than {tol} nats per sample, or after {gmm} "
             "iterations (scikit-learn's default tolerance, 1e-3, can stop EM from random responsibilities before it "
             "has left its start). A link may ask for at most {limit} CPU seconds if every "
             "fit ran to its cap; this one about {seconds} in that worst case.").format(
    max_restarts=int(RESTART_FIELDS["restarts"].hi), kmeans=MAX_ITER["kmeans"], gmm=MAX_ITER["gmm"],
    tol=page_view.short_exp(GMM_TOL), logistic=MAX_ITER["logistic"], limit=f"{MAX_SECONDS:g}",
    seconds=f"{restarts.worst_case_seconds(settings):.0f}"))

DOWNLOADS = [(_("Restarts"), "restart_runs"), (_("Best of k"), "restart_best_of_k"),
             (_("Centres"), "restart_centres"), (_("Ellipses"), "restart_ellipses"),
             (_("Points"), "restart_points")]
for label, name in in_rows(DOWNLOADS):
    st.download_button(_("⬇ {label} (CSV, {rows} rows)").format(label=label, rows=f"{len(f[name]):,}"),
                       data=partial(csv_for, settings, name),
                       file_name=f"initlab_{name}_{settings.run_id}.csv", mime="text/csv",
                       on_click="ignore", key=f"dl_{name}")
