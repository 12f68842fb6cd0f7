"""Colour is identity: a scheme's colour comes from the scheme, not from its place in a list."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from core.views import charts, colours
from core.i18n import set_language
from core.nn.initializers import INITIALIZERS
from core.views.lessons import LESSONS
from core.views import overview as overview_view
from core.views import symmetry as symmetry_view


def _scale_of(spec: dict) -> dict[str, str]:
    """label -> colour of every scheme colour scale in a Vega-Lite spec."""
    out = {}

    def walk(node):
        if isinstance(node, dict):
            color = node.get("encoding", {}).get("color", {}) if isinstance(node.get("encoding"), dict) else {}
            if color.get("field") == "scheme" and "scale" in color:
                out.update(zip(color["scale"]["domain"], color["scale"]["range"]))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(spec)
    return out


def test_every_catalogue_scheme_has_a_fixed_colour_and_those_compared_by_default_differ():
    """22 schemes, 16 colours: some schemes share one (colours() separates them when they meet in a chart),
    but the default configuration's and every lesson's schemes each keep a colour of their own."""
    from core.config import ExperimentConfig
    assert set(INITIALIZERS) <= set(colours.FIXED)
    for schemes in [ExperimentConfig().schemes] + [lesson.config.schemes for lesson in LESSONS]:
        assert len({colours.colour(s) for s in schemes}) == len(schemes), schemes
    assert len(set(colours.PALETTE)) == len(colours.PALETTE)
    assert set(colours.FIXED.values()) <= set(colours.PALETTE)


def test_a_scheme_keeps_its_colour_whatever_list_it_is_in():
    lists = [lesson.config.schemes for lesson in LESSONS] + [
        ("zeros", "normal:std=0.01", "normal:std=1", "xavier_normal", "he_normal"), ("he_normal",),
        ("he_normal", "xavier_normal"), ("xavier_normal", "he_normal")]
    seen: dict[str, set] = {}
    for schemes in lists:
        for label, c in colours.colours(schemes).items():
            seen.setdefault(label, set()).add(c)
    assert {label: cs for label, cs in seen.items() if len(cs) > 1} == {}
    assert seen["he_normal"] == {colours.FIXED["he_normal"]}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*INITIALIZERS, "normal:std=0.5", "normal:std=2", "he_normal:gain=3",
                                 "constant:value=0.1", "uniform:limit=0.3", "orthogonal:gain=2"]),
                min_size=1, max_size=12, unique=True))
def test_one_chart_never_shows_two_schemes_in_one_colour(labels):
    palette = colours.colours(labels)
    assert list(palette) == labels
    assert len(set(palette.values())) == len(labels)
    # the order of the list decides nothing
    assert colours.colours(list(reversed(labels))) == palette


def test_chart_specs_agree_across_lessons_and_languages():
    """The Vega-Lite colour scales of two pages' charts (the Overview's curves, the Symmetry page's final
    values per seed), for three lessons, in English and French, give each scheme one colour."""
    def curves(schemes):
        rows = [(s, seed, split, e, 1.0 / (1 + e), 0.5) for s in schemes for seed in (0, 1)
                for split in ("train", "test") for e in (0, 1, 2)]
        return pd.DataFrame(rows, columns=["scheme", "seed", "split", "epoch", "loss", "accuracy"])

    def summary(schemes):
        return pd.DataFrame({"scheme": list(schemes) * 2, "seed": [0] * len(schemes) + [1] * len(schemes),
                             "diverged_epoch": [pd.NA] * 2 * len(schemes), "status": ["ok"] * 2 * len(schemes),
                             "final_test_loss": [0.5] * 2 * len(schemes)})

    found: dict[str, set] = {}
    pages: dict[str, set] = {}  # the marks each label's colour was read from: both charts'
    try:
        for lang in ("en", "fr"):
            set_language(lang)
            for lesson in LESSONS[:3]:
                schemes = list(lesson.config.schemes)
                for chart in (overview_view.loss_curve_panel(curves(schemes), summary(schemes), schemes, "test"),
                              symmetry_view.restarts_chart(summary(schemes), schemes)):
                    spec = charts.to_spec(chart)
                    for label, c in _scale_of(json.loads(json.dumps(spec, default=str))).items():
                        found.setdefault(label, set()).add(c)
                        pages.setdefault(label, set()).add(chart.to_dict()["layer"][0]["mark"]["type"])
    finally:
        set_language("en")
    assert "he_normal" in found and all(len(cs) == 1 for cs in found.values()), found
    assert len(pages["he_normal"]) == 2, pages


@pytest.mark.parametrize("label", ["he_normal", "xavier_normal", "zeros"])
def test_badge_and_chart_use_one_colour(label):
    schemes = ["normal:std=1", label]
    assert colours.colours(schemes)[label] == dict(zip(charts.scheme_scale(schemes).domain,
                                                       charts.scheme_scale(schemes).range))[label]
