"""What dashboard.py prepares for the page it runs: the configuration, its results, the warnings.

The results are fetched on first use, so pages that draw none (lessons) never wait for a training run, and
held only for the script run that fetched them: dashboard.py calls ``release`` when the run ends, so the
Context left in the session's state holds no results. The shared cache (app.results) is the one place
results live between runs, and what it drops is freed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from core.config import ExperimentConfig
from core.experiment import Results
from core.i18n import _

CTX_KEY = "_initlab_ctx"


@dataclass
class Context:
    config: ExperimentConfig
    warnings: list[str] = field(default_factory=list)
    blocked: str | None = None  # why this configuration cannot train (over the budget, say)
    shown: bool = False  # ``blocked`` is on the page already (dashboard.py showed the refusal)
    _results: Results | None = None

    @property
    def results(self) -> Results | None:
        if self._results is None and self.blocked is None:
            from .results import TrainingStopped, results_for
            try:
                self._results = results_for(self.config)
            except TrainingStopped as e:  # the server's time cap
                self.blocked = str(e)
            except ValueError as e:  # a configuration the data cannot support, e.g. too few samples per class
                self.blocked = _("Cannot train this configuration: {error}").format(error=e)
        return self._results

    def release(self) -> None:
        """Let go of the results at the end of the script run (the cache keeps them while it can)."""
        self._results = None

    @property
    def schemes(self) -> list[str]:
        return list(self.config.schemes)

    @property
    def frames(self):
        return self.results.frames

    @property
    def epochs(self) -> list[int]:
        return sorted(self.frames["layer_stats"]["epoch"].unique().tolist())


def set_context(ctx: Context) -> None:
    st.session_state[CTX_KEY] = ctx


def current(needs_results: bool = True) -> Context:
    """The context dashboard.py prepared for this run. With ``needs_results``, trains (or takes from the
    cache) and stops the page with a message if there are no results."""
    ctx = st.session_state.get(CTX_KEY)
    if ctx is None:
        st.info(_("No results to show: see the message above or in the sidebar."))
        st.stop()
    if needs_results and ctx.results is None:
        from .text import literal
        if ctx.blocked and not ctx.shown:
            st.error(literal(ctx.blocked), icon=":material/block:")
        st.info(_("No results to show: see the message above or in the sidebar."))
        st.stop()
    return ctx
