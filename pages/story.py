from urllib.parse import urlencode

import streamlit as st

from app import story as kept
from app.context import current
from app.navigation import ensure_navigation, page_url
from app.registry import page_title
from app.results import TrainingStopped
from app.spec_memo import derived
from app.text import literal
from app.views import PageView
from app.widgets import show_chart
from core import restarts
from core.views import story
from core.i18n import DEFAULT, _, language
from core.views import activations as activations_view
from core.views import scale_depth as scale_depth_view
from core.views import symmetry as symmetry_view

ensure_navigation()
current(needs_results=False)  # the sidebar's configuration is not this page's: each step has its own

st.title(page_title("story"))
PageView("story")
st.markdown(_("**Why should weights start random, and which random?** Five steps, each computed by this "
              "server from real networks, trained or measured at initialization, with sentences read off its "
              "numbers; each link opens the full page with the same configuration."))


def link(page: str, query: str) -> None:
    query += "" if language() == DEFAULT else f"&lang={language()}"
    st.markdown("[" + _("Open it on the {page} page →").format(page=page_title(page)) + f"]({page_url(page, query)})")


def step_link(slug: str) -> None:
    s = story.STEPS[slug]
    view = urlencode({k: str(v) for k, v in s.view.items()})
    link(s.page, s.config.to_query() + ("&" + view if view else ""))


def sentences(lines) -> None:
    st.markdown("\n".join(f"- {literal(line)}" for line in lines))


def header(number: int, slug: str) -> None:
    st.subheader(f"{number}. {_(story.STEPS[slug].title)}")


def columns():
    """A chart beside its sentences at 1280 px; stacked, chart first, on a phone."""
    return st.columns([3, 2], vertical_alignment="center")


try:
    # 1. symmetry
    header(1, "symmetry")
    s1 = story.STEPS["symmetry"]
    sym = kept.step("symmetry")
    epochs = sorted(sym.frames["distinct_units"]["epoch"].unique().tolist())
    chart, text = columns()
    with chart:
        show_chart(symmetry_view.distinct_units_chart, sym.frames["distinct_units"], list(s1.config.schemes), epochs,
                   epochs[-1], "functional_distinct_units", False, owner=sym)
    with text:
        sentences(story.symmetry_sentences(sym.frames["distinct_units"], s1.config))
        step_link("symmetry")

    # 2. restarts
    header(2, "restarts")
    s2 = story.STEPS["restarts"]
    rs = kept.step("restarts")
    fits = kept.restart_runs()
    # kept with the step's result (app.spec_memo), so that the chart drawn from it is kept too
    best = derived(rs, ("story.best_of_k",), lambda: restarts.best_of_k_frame(rs.frames["summary"], "final_train_loss"))
    chart, text = columns()
    with chart:
        show_chart(symmetry_view.network_best_of_k_chart, best, rs.frames["summary"], list(s2.config.schemes),
                   owner=rs)
    with text:
        sentences(story.restart_sentences(rs.frames["summary"], s2.config.schemes, fits.frames["runs"]))
        step_link("restarts")
        link("restarts", restarts.RestartSettings.from_config(s2.config).to_query())

    # 3. too small, too large
    header(3, "vanish")
    s3 = story.STEPS["vanish"]
    van = kept.step("vanish")
    chart, text = columns()
    with chart:
        show_chart(activations_view.signal_chart, van.frames["layer_stats"], van.frames["prediction"], list(s3.config.schemes),
                   [0], 0, "preactivation", "second_moment", False, owner=van)
    with text:
        facts = derived(van, ("story.depth_factor_facts",), lambda: story.depth_factor_facts(
            van.frames["layer_stats"], van.frames["prediction"], s3.config))
        sentences(story.vanish_sentences(facts, s3.config))
        st.caption(_("Solid: measured, mean over seeds; dashed: the mean-field prediction."))
        step_link("vanish")

    # 4. which random
    header(4, "which-relu")
    relu, tanh = kept.step("which-relu"), kept.step("which-tanh")
    s4r, s4t = story.STEPS["which-relu"], story.STEPS["which-tanh"]
    left, right = st.columns(2)
    with left:
        st.markdown("**ReLU**")
        show_chart(activations_view.signal_chart, relu.frames["layer_stats"], relu.frames["prediction"],
                   list(s4r.config.schemes), [0], 0, "preactivation", "second_moment", False, owner=relu)
        step_link("which-relu")
    with right:
        st.markdown("**tanh**")
        show_chart(activations_view.signal_chart, tanh.frames["layer_stats"], tanh.frames["prediction"],
                   list(s4t.config.schemes), [0], 0, "preactivation", "second_moment", False, owner=tanh)
        step_link("which-tanh")
    sentences(story.which_sentences(
        derived(relu, ("story.depth_factor_facts",), lambda: story.depth_factor_facts(
            relu.frames["layer_stats"], relu.frames["prediction"], s4r.config)),
        derived(tanh, ("story.depth_factor_facts",), lambda: story.depth_factor_facts(
            tanh.frames["layer_stats"], tanh.frames["prediction"], s4t.config))))

    # 5. the map at initialization
    st.subheader("5. " + _("Scale × depth"))
    sweep = kept.sweep()
    m = kept.story_map()
    # the whole width: a map and its two legends need it
    show_chart(scale_depth_view.sweep_map, m.frames["map"], "sigma_w", "depth", "signal_growth", "he_normal",
               theory=m.frames["theory"], owner=m)
    sentence = scale_depth_view.growth_notice(m.frames["map"], "sigma_w", "depth", "he_normal", "relu")
    sentences([sentence] if sentence else [])
    st.caption(_("Measured at initialization, nothing trained: red, the signal's second moment grows layer by "
                 "layer; blue, it shrinks. The black rule is mean-field theory's order/chaos boundary, σ_w = √2 "
                 "for ReLU (He's value)."))
    link("scale_depth", sweep.to_query())
except TrainingStopped as e:  # the server's time cap
    st.error(literal(e), icon=":material/block:")
