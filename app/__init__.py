"""The dashboard's glue: everything between the URL and a page, in small modules.

Data flow: URL -> ``links.repair_link`` (checks a link once per session) -> ``sidebar.sidebar`` (widgets
bound to query keys) -> ``ExperimentConfig`` (validated by core.config) -> ``context.Context`` -> a page,
which asks for the results (``results.results_for``: one shared, bounded cache) and draws frames with
core.views.charts through ``widgets``.

- ``server``: what the server does once at start (the training workers, the default run)
- ``registry``: the list of pages (dashboard.py and the tests read it)
- ``navigation``: Streamlit's pages/ trap, links to a page
- ``language``: the visitor's language (the ``lang`` link key and its selector)
- ``links``: the address bar, checked once per session
- ``sidebar``: the experiment controls
- ``context``: what dashboard.py hands a page
- ``views``: a page's view controls (epoch, layer, seed, ...), each kept in the link
- ``results``: training runs and the results cache
- ``scheduler``: which runs train now, which wait or pause, and the stop of a closed tab's run
- ``cache``: the results cache, bounded in bytes, evicting what was cheapest to compute (GreedyDual-Size)
- ``sweeps``: the Scale × depth page's sweeps and their cache
- ``restart_fits``: the Restarts page's fits and their cache
- ``story``: the landing page's runs, computed once per server and kept
- ``widgets``: charts, downloads, pickers
- ``spec_memo``: chart specs kept for the cached result they draw
- ``text``: untrusted text shown literally
- ``compat``: the Streamlit and Altair internals the app relies on, each checked by tests/test_compat.py
"""
