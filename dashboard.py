"""initlab: why weights start random, and which random. `streamlit run dashboard.py`"""
import logging
import traceback
from pathlib import Path

import streamlit as st

from app import server  # first: it starts the training workers while the imports below run

server.start()

from app.context import Context, set_context  # noqa: E402
from app.language import language_selector, use_visitor_language  # noqa: E402
from app.links import repair_link  # noqa: E402
from app.navigation import ensure_navigation  # noqa: E402
from app.registry import DEFAULT_PAGE, PAGES  # noqa: E402
from app.results import admitted  # noqa: E402
from app.sidebar import sidebar  # noqa: E402
from app.text import literal  # noqa: E402
from core.config import SCHEMA_VERSION, ExperimentConfig  # noqa: E402
from core.i18n import _  # noqa: E402

# A file served by the app itself: a ":material/...:" page icon makes every visitor's browser fetch it from
# fonts.gstatic.com (seen in Chromium's request log).
ICON = str(Path(__file__).resolve().parent / "app" / "icon.png")

use_visitor_language()
st.set_page_config(page_title=_("initlab: weight initialization, side by side"), page_icon=ICON,
                   layout="wide")
ensure_navigation()

page = st.navigation([st.Page(p.file, title=_(p.title), icon=p.icon, url_path=p.path, default=p.path == DEFAULT_PAGE)
                      for p in PAGES])

link_warnings = repair_link()
if st.query_params.get("v") != str(SCHEMA_VERSION):
    st.query_params["v"] = str(SCHEMA_VERSION)  # links carry the schema they were made under

st.sidebar.title("initlab")
st.sidebar.caption(_("Why should weights start random, and which random? Pick schemes, train, compare."))
with st.sidebar:
    language_selector()
values, notes = sidebar()
config, problems = ExperimentConfig.from_query_lenient(values)

for w in link_warnings:
    st.warning(_("Link parameter ignored — {warning}").format(warning=literal(w)), icon=":material/warning:")
for w in notes + problems:
    st.sidebar.warning(literal(w), icon=":material/warning:")

config, less_detail, too_big = admitted(config)
if too_big:
    st.error(literal(too_big), icon=":material/block:")
elif less_detail:
    st.info(literal(less_detail), icon=":material/info:")
ctx = Context(config, link_warnings + notes + problems, blocked=too_big, shown=bool(too_big))
set_context(ctx)

try:
    page.run()
except Exception as e:  # noqa: BLE001 - a broken page must leave the sidebar and other pages usable
    logging.getLogger("initlab").error("page %s failed:\n%s", page.title, traceback.format_exc())
    st.error(literal(_("This page failed ({error}). The sidebar and the other pages still work.").format(
        error=f"{type(e).__name__}: {e}")))
finally:
    ctx.release()  # the session keeps its configuration, not its results (the shared cache does)
    server.freeze_long_lived()  # after a run that imported modules: see its docstring
