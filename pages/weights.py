import streamlit as st

from core.i18n import N_, _
from core.measure.probes import MAX_UNITS
from app.context import current
from app.navigation import ensure_navigation
from app.spec_memo import derived
from app.views import PageView
from app.widgets import downloads, small_multiples, what_to_notice
from core.views import weights as page_view

ensure_navigation()
ctx = current()
f = ctx.frames
ud_all = f["unit_distances"]

st.title(_("Weight distances"))
view = PageView("weights", ("epoch", "layer", "seed", "relative", "tab"))
opening = st.container()
st.caption(_("Each unit is its column of incoming weights plus its bias. The heatmap shows the distance between "
             "every pair of units of one layer, each pair once (the first {units} units of wider layers). Identical "
             "units — broken symmetry never happened — show as one flat triangle of zeros.").format(units=MAX_UNITS))

c1, c2, c3 = st.columns([2, 1, 1])
with c1:
    epoch = view.epoch(ctx.epochs, ctx.epochs[-1])
with c2:
    layers = sorted(ud_all["layer"].unique().tolist())
    layer = view.layer(layers, layers[0])
with c3:
    seed = view.seed(ctx.config.seeds)
with opening:
    what_to_notice(derived(ctx.results, ("weights.notices", epoch, seed, layer), lambda: page_view.notices(
        ud_all, f["init_distances"], ctx.schemes, epoch, seed, layer, f["summary"])))

between, moved = view.tabs("tab", {"between_units": N_("Between the units of a layer"),
                                   "moved": N_("How far training moved the weights")}, "tabs_weights")
if between.open:
    with between:
        st.subheader(_("Distances between the units of layer {layer} at epoch {epoch} (seed {seed})").format(
            layer=layer, epoch=epoch, seed=seed))
        ud = derived(ctx.results, ("unit_distances", epoch, seed, layer), lambda: ud_all[
            (ud_all["epoch"] == epoch) & (ud_all["seed"] == seed) & (ud_all["layer"] == layer)])
        top = float(ud["distance"].max()) if len(ud) else 1.0
        small_multiples(ctx.schemes, page_view.unit_distance_panel, ud, domain_max=top, data=ud, owner=ctx.results,
                        empty=_("No values: the model diverged before this epoch."))
with moved:
    relative = view.flag("relative", True, _("Relative to the initial norm"),
                         help=_("‖W − W₀‖ / ‖W₀‖; undefined (blank) where W₀ = 0"))
    if moved.open:
        st.subheader(_("How far training moved the weights, every layer and epoch"))
        data = derived(ctx.results, ("init_distance_data", relative),
                       lambda: page_view.init_distance_data(f["init_distances"], relative))
        top_moved = float(data["mean"].max()) if len(data) else 1.0
        small_multiples(ctx.schemes, page_view.init_distance_panel, data, relative=relative, epochs=ctx.epochs,
                        domain_max=top_moved, data=data, owner=ctx.results,
                        empty=_("No values: the relative distance is undefined when the initial weights are 0 (turn "
                                "off “Relative to the initial norm”), or the model diverged at once."))

downloads(ctx, (_("Unit distances"), "unit_distances"), (_("Distance from init"), "init_distances"))
