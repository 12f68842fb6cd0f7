"""A Streamlit app that sends, unchanged, the messages one script run of another app sent: bench/first_chart.py
records a new visitor's run of a dashboard page and serves it with this app, to time what Streamlit alone
costs to draw that page (the same elements, charts, tables and sidebar) with none of the app's Python work.

    INITLAB_REPLAY=recorded.pkl streamlit run bench/replay_app.py

``recorded.pkl``: a pickled list of serialized ForwardMsg, as the browser received them. Only the page's own
messages are sent again (elements and blocks, the page configuration, the navigation); the session's (its
start, status, end) are this app's own.
"""
import os
import pickle

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.scriptrunner import get_script_run_ctx

KEEP = {"delta", "page_config_changed", "navigation"}

ctx = get_script_run_ctx()
with open(os.environ["INITLAB_REPLAY"], "rb") as f:
    recorded = pickle.load(f)
for raw in recorded:
    msg = ForwardMsg.FromString(raw)
    if msg.WhichOneof("type") in KEEP:
        ctx.enqueue(msg)  # stamps the message with this app's script, as its own
