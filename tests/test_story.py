"""The story page: every fact its sentences state holds on several data seeds, and the page renders first, in
both languages."""
from __future__ import annotations

import numpy as np
import pytest

from core import restarts
from core.views import story
from core.measure import theory
from core.sweeps.sweep_init import init_map
from core.views import scale_depth as scale_depth_view

DATA_SEEDS = [0, 1, 2, 3]


@pytest.fixture(scope="module", params=DATA_SEEDS)
def runs(request):
    seed = request.param
    steps = {slug: story.with_data_seed(s, seed) for slug, s in story.STEPS.items()}
    results = {slug: story.compute(s) for slug, s in steps.items()}  # as app.story computes them
    return seed, steps, results


def test_the_steps_that_show_epoch_0_are_drawn_at_initialization():
    """Their numbers are a run's epoch 0, bit for bit (tests/test_core_trainer.py); the others are trained."""
    drawn = {slug for slug, s in story.STEPS.items() if s.at_initialization}
    assert drawn == {"vanish", "which-relu", "which-tanh"}
    results = story.compute(story.with_data_seed(story.STEPS["vanish"], 1))
    assert set(results.frames["layer_stats"]["epoch"]) == {0} and "summary" not in results.frames


def _factors(steps, results, slug):
    r = results[slug]
    return story.depth_factor_facts(r.frames["layer_stats"], theory.second_moment_prediction(r), steps[slug].config)


@pytest.mark.slow
def test_step1_equal_starts_stay_one_unit_random_ones_do_not(runs):
    _seed, steps, results = runs
    facts = story.symmetry_facts(results["symmetry"].frames["distinct_units"], steps["symmetry"].config)
    assert facts["zeros"] == (1, 1) and facts["constant:value=0.5"] == (1, 1)
    assert facts["he_normal"][0] > 1
    said = " ".join(story.symmetry_sentences(results["symmetry"].frames["distinct_units"], steps["symmetry"].config))
    assert "zeros, constant:value=0.5" in said


@pytest.mark.slow
def test_step2_some_random_starts_get_stuck(runs):
    _seed, steps, results = runs
    summary = results["restarts"].frames["summary"]
    facts = story.restart_facts(summary, steps["restarts"].config.schemes)
    for scheme, f in facts.items():
        assert f["groups"] and 0 < f["stuck"] < f["seeds"], (scheme, f)
        assert f["stuck_min"] > 5 * f["fit_max"]  # stuck and fitted are apart, not two ends of one spread
    runs_frame = restarts.fit_restarts(restarts.RestartSettings.from_config(steps["restarts"].config)).frames[
        "restart_runs"]
    km = runs_frame[(runs_frame["method"] == "kmeans") & (runs_frame["init"] == "random")]
    assert 0 < km["near_best"].sum() < len(km)  # some k-means restarts miss the best clustering, as networks do
    assert "k-means" in story.kmeans_sentence(runs_frame)


@pytest.mark.slow
def test_step3_too_small_vanishes_too_large_explodes_he_stays(runs):
    _seed, steps, results = runs
    f = _factors(steps, results, "vanish").set_index("scheme")
    assert f.loc["normal:std=0.05", "overall"] < 1e-10 and f.loc["normal:std=0.5", "overall"] > 1e10
    assert 0.1 < f.loc["he_normal", "overall"] < 10
    # the measured factors per layer are the theory's (width x s^2 / 2) within 10%
    assert np.allclose(f["measured"], f["predicted"], rtol=0.1)


@pytest.mark.slow
def test_step4_the_gain_that_keeps_the_signal_depends_on_the_activation(runs):
    _seed, steps, results = runs
    relu = _factors(steps, results, "which-relu").set_index("scheme")
    assert 0.9 < relu.loc["he_normal", "measured"] < 1.1
    assert relu.loc["xavier_normal", "measured"] < 0.6
    tanh = _factors(steps, results, "which-tanh").set_index("scheme")
    assert tanh.loc["lecun_normal", "measured"] < 0.95 and tanh.loc["xavier_normal", "measured"] < 0.95
    # gain 5/3: near mean-field theory's fixed point q*, which the prediction has reached by mid-depth: the
    # deeper half's measured second moment (seed mean) averages within 10% of it, no layer beyond 30%
    r = results["which-tanh"]
    ls, pred = r.frames["layer_stats"], theory.second_moment_prediction(r)
    q = ls[(ls["kind"] == "preactivation") & (ls["epoch"] == 0) & (ls["scheme"] == "he_normal")].groupby(
        "layer")["second_moment"].mean().loc[story.DEPTH // 2:story.DEPTH]
    p = pred[pred["scheme"] == "he_normal"].set_index("layer")["second_moment"].loc[story.DEPTH // 2:story.DEPTH]
    assert p.max() / p.min() < 1.01
    assert abs(q.mean() / p.mean() - 1) < 0.1 and (abs(q / p - 1) < 0.3).all()
    assert len(story.which_sentences(relu.reset_index(), tanh.reset_index())) == 2


@pytest.mark.slow  # maps to depth 50
@pytest.mark.parametrize("data_seed", [0, 3])
def test_step5_the_map_crosses_at_relus_boundary(data_seed):
    frame = init_map(story.story_map(data_seed)).frame
    assert frame["depth"].max() >= 50
    crossings = scale_depth_view.growth_sign_change(frame, "sigma_w", "depth", "he_normal")
    assert all(c is not None and c[0] < np.sqrt(2) < c[1] for c in crossings.values()), crossings
    assert scale_depth_view.growth_notice(frame, "sigma_w", "depth", "he_normal", "relu")


def test_every_step_links_to_a_page_with_its_view():
    from app.registry import BY_PATH
    from core.config import VIEWS
    for s in story.STEPS.values():
        assert s.page in BY_PATH and set(s.view) <= set(VIEWS)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_story_is_the_landing_page_in_both_languages(lang):
    """The app's root opens the story: five numbered steps, six charts, a link per step, in the language asked."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from app.registry import PAGES
    assert PAGES[0].path == "story"
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboard.py"), default_timeout=300)
    if lang == "fr":
        at.query_params["lang"] = "fr"
    at.run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    assert at.title[0].value == {"en": "Why random?", "fr": "Pourquoi le hasard\u00a0?"}[lang]
    heads = [h.value for h in at.subheader]
    assert [h.split(".")[0] for h in heads] == ["1", "2", "3", "4", "5"], heads
    assert heads[0] == {"en": "1. Same start, same units", "fr": "1. Même départ, mêmes unités"}[lang]
    assert len(at.get("vega_lite_chart")) == 6
    text = " ".join(m.value for m in at.markdown)
    opener = {"en": "Open it on the", "fr": "L'ouvrir sur la page"}[lang]
    assert text.count(opener) >= 6 and ("Open it on the" in text) == (lang == "en")
    assert ("lang=fr" in text) == (lang == "fr")  # the links keep the visitor's language
