from functools import partial

import streamlit as st

from core import export
from core.formatting import number_text
from core.i18n import _, ngettext
from app.context import current
from app.navigation import ensure_navigation, page_url
from app.registry import DEFAULT_PAGE, PAGES, page_title
from app.results import npz_for, zip_for
from app.views import PageView, previous_page, shown_view, view_query
from app.widgets import download_csv, what_to_notice
from core.views import export as page_view

ensure_navigation()
ctx = current()
results = ctx.results
rid = ctx.config.run_id

st.title(_("Export"))
PageView("export")
what_to_notice(page_view.notices(results.frames, len(ctx.schemes), ctx.config.seeds))

st.subheader(_("Share this configuration"))
# The Export page has no view of its own: the link opens the page chosen here, in the view it last showed in
# this session (by default the page visited just before this one).
shareable = [p.path for p in PAGES if p.path != "export"]
before = previous_page()
page = st.selectbox(_("Page the link opens"), shareable,
                    index=shareable.index(before) if before in shareable else shareable.index(DEFAULT_PAGE),
                    format_func=page_title, key="_share_page")
view = shown_view(page)
query = ctx.config.to_query() + ("&" + view_query(view) if view else "")
if "lang" in st.query_params:
    query += "&" + view_query({"lang": st.query_params["lang"]})
st.code(page_url(page, query), language=None, wrap_lines=True)
st.caption(_("This link encodes every value, so it reproduces these exact numbers even if the defaults change, and "
             "the page's view as you last left it (epoch, layer, seed, …). `python -m core --query '…' --out DIR` "
             "computes the same frames from the part after the '?'."))

st.subheader(_("Everything at once"))
c1, c2, c3 = st.columns(3)
with c1:
    st.download_button(_("⬇ All frames + config + weights (zip)"), data=partial(zip_for, ctx.config),
                       file_name=f"initlab_{rid}.zip", mime="application/zip", on_click="ignore", key="dl_zip")
with c2:
    st.download_button(_("⬇ config.json"), data=export.config_json(results), file_name=f"initlab_{rid}_config.json",
                       mime="application/json", on_click="ignore", key="dl_config")
with c3:
    st.download_button(_("⬇ Initial and final weights (.npz)"), data=partial(npz_for, ctx.config),
                       file_name=f"initlab_{rid}_weights.npz", mime="application/octet-stream", on_click="ignore",
                       key="dl_npz")

st.subheader(_("One frame at a time"))
st.caption(_("Tidy CSV, one row per observation. Every file starts with a run_id column ({rid}) that matches "
             "config.json. Columns are documented in the README.").format(rid=rid))
for name, df in results.frames.items():
    c1, c2 = st.columns([2, 3])
    c1.markdown(ngettext("**{name}** — {n} row", "**{name}** — {n} rows", len(df)).format(
        name=name, n=number_text(len(df), ",")))
    c1.caption(", ".join(df.columns))
    with c2:
        download_csv(name, name, ctx, key=f"dl_export_{name}")
