import streamlit as st

from core.formatting import number_text
from core.i18n import _
from app.context import current
from app.navigation import ensure_navigation
from app.spec_memo import derived
from app.views import PageView
from app.widgets import downloads, small_multiples, what_to_notice
from core.views import boundaries as page_view

ensure_navigation()
ctx = current()
f = ctx.frames

st.title(_("Decision boundaries"))
view = PageView("boundaries", ("epoch", "seed"))
if "boundaries" not in f:
    st.info(_("Decision boundaries need a 2-D classification dataset; {dataset} with these settings has other "
              "inputs. Try moons, circles, xor, spirals, or blobs with 2 features.").format(dataset=ctx.config.dataset))
    st.stop()
opening = st.container()
st.caption(_("The predicted class over the input plane, one panel per scheme, with the training points. Move the "
             "epoch slider to watch each boundary form."))
c1, c2 = st.columns([3, 1])
with c1:
    epoch = view.epoch(ctx.epochs, ctx.epochs[-1])
with c2:
    seed = view.seed(ctx.config.seeds)
with opening:
    what_to_notice(derived(ctx.results, ("boundaries.notices", epoch, seed), lambda: page_view.notices(
        f["boundaries"], f["summary"], ctx.schemes, epoch, seed, ctx.results.data.n_classes)))
cells = derived(ctx.results, ("boundary_data", epoch, seed),
                lambda: page_view.boundary_data(f["boundaries"], epoch, seed))
points = f["data_points"]
n_classes = ctx.results.data.n_classes
small_multiples(ctx.schemes, page_view.boundary_panel, cells, points, n_classes=n_classes, data=cells,
                empty=_("No values: the model diverged before this epoch."), owner=ctx.results)
flat = page_view.undecided(f["boundaries"], ctx.schemes, epoch, seed, n_classes)
if flat:  # their panels shade near-ties: say what they show
    st.caption(_("Panels of {schemes}: a constant prediction. The top class gets at most {hi} anywhere, nearly "
                 "1/{classes}: the shading is a near-tie, not a boundary.").format(
        schemes=", ".join(flat), hi=number_text(max(v[1] for v in flat.values()), ".3f"), classes=n_classes))

downloads(ctx, (_("Boundaries"), "boundaries"), (_("Data points"), "data_points"))
