"""The open tab is a view key (``tab``): a link opens the tab it names, a click writes it into the link, and
a language switch keeps it. Through AppTest, as a visitor's session runs the pages."""
from __future__ import annotations

import pytest

from app.results import RESULTS
from core import i18n
from tests.test_app import SMALL, link_warnings, no_errors, open_at

# page -> the tabs' session-state key, then each token with its English label, the first being the default
TABS = {
    "gradients": ("tabs_gradient", {"over_training": "Norms over training", "every_layer": "Every layer",
                                    "one_layer": "One layer over training", "histograms": "Recorded histograms"}),
    "activations": ("tabs_preactivation", {"every_layer": "Every layer", "one_layer": "One layer over training",
                                           "histograms": "Recorded histograms"}),
    "weights": ("tabs_weights", {"between_units": "Between the units of a layer",
                                 "moved": "How far training moved the weights"}),
}
# a caption only the tab's own content writes (the open tab is the only one built)
SHOWN_BY = {"over_training": "over training (seed mean)", "every_layer": "each row is a layer",
            "one_layer": "each column a recorded epoch", "histograms": "as the probe recorded it",
            "between_units": "Distances between the units of layer", "moved": "every layer and epoch"}


@pytest.fixture(autouse=True)
def fresh_cache():
    RESULTS.clear()
    yield
    RESULTS.clear()
    i18n.set_language(i18n.DEFAULT)


def texts(at) -> str:
    return "\n".join([c.value for c in at.caption] + [s.value for s in at.subheader])


def params(at) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


@pytest.mark.parametrize("page", list(TABS))
def test_a_link_opens_the_tab_it_names(page):
    widget, tabs = TABS[page]
    default = next(iter(tabs))
    for token, label in list(tabs.items())[1:]:
        at = open_at(page, f"{SMALL}&tab={token}")
        no_errors(at)
        assert not link_warnings(at)
        assert at.session_state[widget] == label
        assert at.query_params.get("tab") in (token, [token])  # the link keeps it
        if SHOWN_BY[token]:
            assert SHOWN_BY[token] in texts(at), (page, token)
        others = [SHOWN_BY[t] for t in tabs if t != token and SHOWN_BY[t]]
        assert not any(o in texts(at) for o in others), (page, token)
    at = open_at(page, SMALL)
    assert at.session_state[widget] == tabs[default] and "tab" not in at.query_params


def test_a_click_writes_the_tab_into_the_link_and_the_default_drops_it():
    at = open_at("gradients", SMALL)
    at.session_state["tabs_gradient"] = "Recorded histograms"
    at.run()
    no_errors(at)
    assert at.query_params.get("tab") in ("histograms", ["histograms"])
    assert SHOWN_BY["histograms"] in texts(at)
    at.session_state["tabs_gradient"] = "Norms over training"
    at.run()
    assert "tab" not in at.query_params


def test_a_tab_of_another_page_warns_and_opens_the_default():
    at = open_at("weights", f"{SMALL}&tab=histograms")
    no_errors(at)
    assert any("tab: got histograms" in w for w in link_warnings(at)), link_warnings(at)
    assert at.session_state["tabs_weights"] == "Between the units of a layer"
    assert "tab" not in at.query_params


def test_switching_language_keeps_the_open_tab():
    at = open_at("gradients", f"{SMALL}&tab=one_layer")
    assert at.session_state["tabs_gradient"] == "One layer over training"
    at.selectbox(key="_language").select("fr").run()
    no_errors(at)
    i18n.set_language("fr")
    french = i18n.gettext("One layer over training")
    assert french != "One layer over training"
    assert at.session_state["tabs_gradient"] == french
    assert at.query_params.get("tab") in ("one_layer", ["one_layer"])
    assert [t.label for t in at.tabs][:4] == [i18n.gettext(l) for l in TABS["gradients"][1].values()]
