import streamlit as st

from core import export
from app.context import current
from app.navigation import ensure_navigation, page_url
from app.widgets import download_csv

ensure_navigation()
ctx = current()
results = ctx.results
rid = ctx.config.run_id

st.title("Export")
st.subheader("Share this configuration")
st.caption("This link encodes every value, so it reproduces these exact numbers even if the defaults change. "
           "`python -m core --query '…' --out DIR` computes the same frames from the part after the '?'.")
st.code(page_url("overview", ctx.config.to_query()), language=None, wrap_lines=True)

st.subheader("Everything at once")
c1, c2, c3 = st.columns(3)
with c1:
    st.download_button("⬇ All frames + config + weights (zip)", data=lambda: export.zip_bytes(results),
                       file_name=f"initlab_{rid}.zip", mime="application/zip", on_click="ignore", key="dl_zip")
with c2:
    st.download_button("⬇ config.json", data=export.config_json(results), file_name=f"initlab_{rid}_config.json",
                       mime="application/json", on_click="ignore", key="dl_config")
with c3:
    st.download_button("⬇ Initial and final weights (.npz)", data=results.npz_bytes,
                       file_name=f"initlab_{rid}_weights.npz", mime="application/octet-stream", on_click="ignore",
                       key="dl_npz")

st.subheader("One frame at a time")
st.caption(f"Tidy CSV, one row per observation. Every file starts with a run_id column ({rid}) that matches "
           "config.json. Columns are documented in the README.")
for name, df in results.frames.items():
    c1, c2 = st.columns([2, 3])
    c1.markdown(f"**{name}** — {len(df):,} rows")
    c1.caption(", ".join(df.columns))
    with c2:
        download_csv(name, name, ctx, key=f"dl_export_{name}")
