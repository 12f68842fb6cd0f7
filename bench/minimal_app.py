"""The smallest Streamlit page with one Altair chart: bench/page_switch.py --baseline times its first chart
under the same conditions as the dashboard's, to tell Streamlit's own start-up from the dashboard's work."""
import altair as alt
import pandas as pd
import streamlit as st

st.title("Baseline")
st.altair_chart(alt.Chart(pd.DataFrame({"x": [1, 2, 3], "y": [1.0, 3.0, 2.0]})).mark_line().encode(x="x", y="y"),
                width="stretch")
