"""The dashboard's pages, in navigation order: the one list the entry file and the tests read.

``needs_results``: the page draws the trained configuration's frames, so the run is trained (or taken from
the cache) before the page runs; the others (lessons) never wait for a training run.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.i18n import N_, _


@dataclass(frozen=True)
class PageSpec:
    path: str  # url path, and the file pages/<path>.py
    title: str  # marked for translation; the navigation label and the page's h1
    icon: str
    needs_results: bool = True

    @property
    def file(self) -> str:
        return f"pages/{self.path}.py"


PAGES: list[PageSpec] = [
    PageSpec("story", N_("Why random?"), ":material/auto_stories:", needs_results=False),
    PageSpec("overview", N_("Overview"), ":material/show_chart:"),
    PageSpec("activations", N_("Activations"), ":material/bar_chart:"),
    PageSpec("gradients", N_("Gradients"), ":material/waves:"),
    PageSpec("weights", N_("Weight distances"), ":material/grid_on:"),
    PageSpec("symmetry", N_("Symmetry & restarts"), ":material/flip:"),
    PageSpec("restarts", N_("Restarts beyond networks"), ":material/replay:", needs_results=False),
    PageSpec("boundaries", N_("Decision boundaries"), ":material/map:"),
    PageSpec("scale_depth", N_("Scale × depth"), ":material/grid_view:", needs_results=False),
    PageSpec("lessons", N_("Lessons"), ":material/school:", needs_results=False),
    PageSpec("export", N_("Export"), ":material/download:"),
]
BY_PATH = {p.path: p for p in PAGES}
# Streamlit serves the default page only at the app root: "/overview" is answered with a "Page not found"
# dialog (then the root page runs), so links to it must point at "/".
DEFAULT_PAGE = PAGES[0].path


def page_title(path: str) -> str:
    """A page's title in the visitor's language. (A widget's format_func lives as long as the session: a
    lambda written in a page would keep that page's globals, results included, alive with it.)"""
    return _(BY_PATH[path].title)
