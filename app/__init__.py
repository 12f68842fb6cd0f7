"""The dashboard's glue: everything between the URL and a page, in small modules.

Data flow: URL -> ``links.repair_link`` (checks a link once per session) -> ``sidebar.sidebar`` (widgets
bound to query keys) -> ``ExperimentConfig`` (validated by core.config) -> ``context.Context`` -> a page,
which asks for the results (``results.results_for``: one shared, bounded cache) and draws frames with
core.charts through ``widgets``.

- ``registry``: the list of pages (dashboard.py and the tests read it)
- ``navigation``: Streamlit's pages/ trap, links to a page
- ``links``: the address bar, checked once per session
- ``sidebar``: the experiment controls
- ``context``: what dashboard.py hands a page
- ``results``: training runs and the results cache
- ``widgets``: charts, downloads, pickers
- ``text``: untrusted text shown literally
"""
