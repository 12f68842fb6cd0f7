"""initlab: why weights start random, and which random. `streamlit run dashboard.py`"""
import logging
import traceback

import streamlit as st

from pages import (DEFAULT_PAGE, Context, ensure_navigation, over_budget_message, repair_link, results_for,
                   set_context, sidebar, start_workers)
from core.config import SCHEMA_VERSION, ExperimentConfig

st.set_page_config(page_title="initlab: weight initialization, side by side", page_icon=":material/casino:", layout="wide")
ensure_navigation()
start_workers()

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/show_chart:", default=True,
            url_path=DEFAULT_PAGE),  # served at "/" only: page_url() links it there
    st.Page("pages/activations.py", title="Activations", icon=":material/bar_chart:", url_path="activations"),
    st.Page("pages/gradients.py", title="Gradients", icon=":material/waves:", url_path="gradients"),
    st.Page("pages/weights.py", title="Weight distances", icon=":material/grid_on:", url_path="weights"),
    st.Page("pages/symmetry.py", title="Symmetry & restarts", icon=":material/flip:", url_path="symmetry"),
    st.Page("pages/boundaries.py", title="Decision boundaries", icon=":material/map:", url_path="boundaries"),
    st.Page("pages/lessons.py", title="Lessons", icon=":material/school:", url_path="lessons"),
    st.Page("pages/export.py", title="Export", icon=":material/download:", url_path="export"),
]
page = st.navigation(PAGES)

link_warnings = repair_link()
if st.query_params.get("v") != str(SCHEMA_VERSION):
    st.query_params["v"] = str(SCHEMA_VERSION)  # links carry the schema they were made under

st.sidebar.title("initlab")
st.sidebar.caption("Why should weights start random, and which random? Pick schemes, train, compare.")
values, notes = sidebar()
config, problems = ExperimentConfig.from_query_lenient(values)

for w in link_warnings:
    st.warning(f"Link parameter ignored — {w}", icon=":material/warning:")
for w in notes + problems:
    st.sidebar.warning(w, icon=":material/warning:")

results = None
too_big = over_budget_message(config)
if too_big:
    st.error(too_big, icon=":material/block:")
else:
    try:
        results = results_for(config)
    except ValueError as e:  # a configuration the data cannot support, e.g. too few samples per class
        st.error(f"Cannot train this configuration: {e}", icon=":material/block:")
set_context(Context(config, results, link_warnings + notes + problems))

try:
    page.run()
except Exception as e:  # noqa: BLE001 - a broken page must leave the sidebar and other pages usable
    logging.getLogger("initlab").error("page %s failed:\n%s", page.title, traceback.format_exc())
    st.error(f"This page failed ({type(e).__name__}: {e}). The sidebar and the other pages still work.")

