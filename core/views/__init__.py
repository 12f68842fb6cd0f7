"""What the pages draw and say: Altair charts and the sentences under them, with no Streamlit."""
