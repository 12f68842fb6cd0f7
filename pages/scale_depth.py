from functools import partial

import numpy as np
import streamlit as st

from app.context import current
from app.navigation import ensure_navigation, page_url
from app.results import TrainingStopped
from app.sweeps import init_map_csv, init_map_results, sweep_csv, sweep_results
from app.text import literal
from app.views import PageView, own_link_key
from app.widgets import show_chart, what_to_notice
from core.nn import activations, initializers
from core import export
from core.measure import meanfield
from core.config import SWEEP_AXES, SWEEP_FIELDS, SWEEP_METRICS, parse_bias
from core.formatting import number_list, number_text
from core.i18n import _
from core.sweeps.sweep import AXES, SweepConfig
from core.sweeps.sweep_init import INIT_MEASURES, affordable
from core.views import scale_depth as page_view

BIND = "query-params"

ensure_navigation()
ctx = current(needs_results=False)  # the sidebar's configuration is the base; its own run is not needed

st.title(_("Scale × depth"))
PageView("scale_depth")  # no view keys of its own; it drops those of the page before
st.caption(_("Each cell is the sidebar's configuration with the two axes set to the cell's values: one model per "
             "seed, the cell's colour their mean. Select a cell to open that configuration's full dashboard. σ_w "
             "scales a fan-in-scaled scheme (he_normal, he_uniform): Var(W) = σ_w² / fan-in."))


def _clear(key: str):
    """A new axis starts from its own default values."""
    st.session_state[key] = ""


def linked_choice(widget, key: str, label: str, options, words, **kwargs) -> str:
    """A choice among link tokens that shows words: the link holds the token (a bound widget would write the
    words it shows, so a link would depend on the language), read on the page's first run."""
    default = SWEEP_FIELDS[key].default
    if key not in st.session_state:
        raw = st.query_params.get(key)  # app.links.repair_link has dropped values the table refuses
        st.session_state[key] = raw if raw in options else default
    value = widget(label, options, format_func=words, key=key, **kwargs)
    own_link_key("scale_depth", key, value, default)
    return value


def axis_controls(axis_key: str, values_key: str, label: str):
    # the box shows the axis's name, the caption under it the whole title (a narrow box cuts long words)
    name = linked_choice(st.selectbox, axis_key, label, SWEEP_AXES, lambda n: _(AXES[n].title).split(" (")[0],
                         on_change=_clear, args=(values_key,))
    st.caption(_(AXES[name].title))
    defaults = number_list(float(v) for v in AXES[name].defaults.split(","))
    st.text_input(_("Values (separated by commas or semicolons)"), value="", key=values_key, bind=BIND,
                  placeholder=defaults, help=_("Empty: {defaults}").format(defaults=defaults))


c1, c2, c3 = st.columns([2, 2, 3])
with c1:
    axis_controls("sweep_x", "sweep_x_values", _("Horizontal axis"))
with c2:
    axis_controls("sweep_y", "sweep_y_values", _("Vertical axis"))
with c3:
    metric = linked_choice(st.radio, "sweep_metric", _("Map of"), SWEEP_METRICS,
                           lambda m: _(page_view.METRIC_NAMES[m]))
    st.caption(_(page_view.METRICS[metric][0]))

keys = {k: st.session_state.get(k) for k in ("sweep_x", "sweep_x_values", "sweep_y", "sweep_y_values")}
try:
    sweep, warnings = SweepConfig.lenient(ctx.config, keys)
except ValueError as e:
    st.error(literal(_("This configuration cannot be swept: {error}").format(error=e)), icon=":material/block:")
    st.stop()
for w in warnings:
    st.warning(literal(_("Sweep setting ignored — {warning}").format(warning=w)), icon=":material/warning:")
for note in sweep.notes:
    st.caption(literal(note))

estimate = sweep.estimate()
command = f'python -m core sweep --query "{sweep.to_query()}" --out sweep-results'


def command_line():
    with st.expander(_("Run this sweep from the command line")):
        st.markdown(_("The same numbers on your machine, with a progress bar; rerunning the command resumes an "
                      "interrupted sweep. Add `--backend dask --scheduler ADDRESS` to run it on a Dask cluster."))
        st.code(command, language="bash", wrap_lines=True)


# Signal growth and the gradient ratio are measured at epoch 0: their map needs no training (core.sweeps.sweep_init)
at_init = metric in INIT_MEASURES and affordable(sweep)
if at_init:
    st.caption(_("Measured at initialization, before any training: each model is drawn and probed once, so "
                 "this map is drawn at once. The measures of training (accuracy, loss) train every cell."))
    try:
        results = init_map_results(sweep)
    except TrainingStopped as e:  # the server's time cap
        st.error(literal(e), icon=":material/block:")
        st.stop()
else:
    if not estimate.admitted():
        st.warning(literal(_("This sweep is larger than this server runs: {estimate}.").format(
            estimate=estimate.describe())), icon=":material/block:")
        st.markdown(_("Run it on your own machine (add `--backend dask --scheduler ADDRESS` for a Dask cluster); "
                      "rerunning the command resumes an interrupted sweep:"))
        st.code(command, language="bash", wrap_lines=True)
        st.stop()
    st.caption(literal(_("Work: {estimate}.").format(estimate=estimate.describe())))
    draw = st.toggle(_("Train and draw the map"), value=False, key="sweep", bind=BIND,
                     help=_("Trains every model of the grid (once per server: later visits are instant). The "
                            "link then carries the map."))
    if not draw:
        st.caption(_("Switch on “Train and draw the map” to train these {models} models.").format(
            models=number_text(sweep.models, ",")))
        command_line()
        st.stop()

    try:
        results = sweep_results(sweep)
    except TrainingStopped as e:  # the server's time cap
        st.error(literal(e), icon=":material/block:")
        command_line()
        st.stop()
frame = results.frame
if metric == "final_test_accuracy" and frame["final_test_accuracy"].isna().all():
    st.info(_("This dataset is a regression: no accuracy, the map shows the test loss."))
    metric = "final_test_loss"


theory = None
if "sigma_w" in (sweep.x.name, sweep.y.name):
    bias_name, bias_params = parse_bias(sweep.base.bias)
    bias = initializers.BIASES[bias_name]
    resolved = initializers.resolve_bias_params(bias_name, **bias_params)
    if bias.mean(**resolved) == 0:  # Poole et al.'s picture is for zero-mean biases
        values = sweep.x_values if sweep.x.name == "sigma_w" else sweep.y_values
        grid = np.union1d(np.linspace(min(values), max(values), 60), values)
        theory = meanfield.order_chaos_frame(activations.get(sweep.base.activation), grid,
                                             bias.variance(**resolved))


def show_map(scheme: str):
    show_chart(page_view.sweep_map, frame, sweep.x.name, sweep.y.name, metric, scheme, theory=theory,
               link=partial(page_url, "overview"), links=True)


for scheme in sweep.schemes:
    if len(sweep.schemes) > 1:
        st.subheader(literal(scheme))
    show_map(scheme)
    notice = page_view.growth_notice if metric == "signal_growth" else page_view.what_to_notice
    sentence = notice(frame, sweep.x.name, sweep.y.name, scheme, sweep.base.activation)
    if sentence:
        what_to_notice([sentence])

st.caption(_("Signal growth: at epoch 0, the slope of ln E[z²] of the pre-activations over the layers, the log "
             "of the factor by which the signal's second moment grows per layer (0 keeps it). For ReLU, "
             "σ_w² = 2 (He et al. 2015) keeps it in expectation. Gradient ratio: at epoch 0, the second moment "
             "of the back-propagated gradient at the first hidden layer over that at the last: below 1 it "
             "shrinks on its way back to the input, above 1 it grows."))
if theory is not None:
    st.caption(_("Black lines, mean-field theory at initialization (Poole et al. 2016; Schoenholz et al. 2017), "
                 "for wide layers and zero-mean biases: the solid rule is the order-to-chaos boundary χ₁ = 1 "
                 "(for ReLU with zero biases, σ_w² = 2, He's value); the dashed line is 6ξ, about the depth to "
                 "which signals between inputs survive, where ξ is finite."))
    st.download_button(_("⬇ {label} (CSV, {rows} rows)").format(label=_("Theory"), rows=number_text(len(theory), ",")),
                       data=partial(export.csv_bytes, theory, sweep.run_id),
                       file_name=f"initlab_sweep_theory_{sweep.run_id}.csv", mime="text/csv", on_click="ignore",
                       key="dl_sweep_theory")
st.download_button(_("⬇ {label} (CSV, {rows} rows)").format(label=_("Sweep"), rows=number_text(len(frame), ",")),
                   data=partial(init_map_csv if at_init else sweep_csv, sweep),
                   file_name=f"initlab_sweep_{sweep.run_id}.csv", mime="text/csv", on_click="ignore", key="dl_sweep")
command_line()
