"""Every lesson's fact holds on data seeds 0 to 7, its link opens its configuration and view, and its check
fails on a configuration that does not show the fact."""
from urllib.parse import parse_qsl, urlparse

import pytest
from tests.lesson_runs import LESSON_SEEDS, lesson_frames

from core import run
from core.config import VIEWS, ExperimentConfig, parse_views, query_to_dict, replace
from core.views.lessons import BY_SLUG, LESSONS

# The restarts lesson opens no chart view of its own; its longer run is tested in tests/test_core_restarts.py.
OURS = [lesson for lesson in LESSONS if lesson.slug != "restarts"]


@pytest.mark.parametrize("data_seed", LESSON_SEEDS)
@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.slug)
@pytest.mark.slow
def test_lesson_fact_holds_on_every_data_seed(lesson, data_seed):
    assert lesson.check(lesson_frames(lesson.slug, data_seed)), (lesson.slug, data_seed)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.slug)
def test_lesson_link_reopens_its_configuration_and_view(lesson):
    path = lesson.url(default_page="overview")
    parsed = urlparse(path)
    assert parsed.path == ("/" if lesson.page == "overview" else f"/{lesson.page}")
    assert ExperimentConfig.from_query(parsed.query) == lesson.config
    views, warnings = parse_views(query_to_dict(parsed.query), strict=True)
    assert views == {k: VIEWS[k].parse(v) for k, v in
                     ((k, "true" if v is True else "false" if v is False else str(v)) for k, v in lesson.view.items())}
    assert not warnings
    keys = [k for k, _ in parse_qsl(parsed.query)]
    assert keys[0] == "v" and keys[-len(lesson.view):] == [k for k in VIEWS if k in lesson.view] or not lesson.view


def test_every_lesson_but_restarts_names_a_view():
    for lesson in OURS:
        assert lesson.view, lesson.slug
        if "epoch" in lesson.view:  # a recorded epoch, or the page has nothing to show there
            from core.nn.trainer import record_epochs
            assert lesson.view["epoch"] in record_epochs(lesson.config.epochs, lesson.config.record_epochs)


def test_a_lesson_refuses_an_unknown_view_key():
    lesson = BY_SLUG["selu"]
    with pytest.raises(ValueError, match="view key 'zoom'"):
        type(lesson)(lesson.slug, lesson.title, lesson.text, lesson.page, lesson.config, lesson.check, {"zoom": 2})
    with pytest.raises(ValueError, match="quantity"):
        type(lesson)(lesson.slug, lesson.title, lesson.text, lesson.page, lesson.config, lesson.check,
                     {"quantity": "weights"})


# ---------------------------------------------------------------- each check fails where its fact does not hold

BROKEN = [
    # (lesson, a change to its configuration that removes the fact)
    ("symmetry", dict(schemes=("zeros", "constant:value=0.5", "he_normal"), bias="normal:std=0.5")),  # units differ
    ("symmetry", dict(activation="sigmoid")),  # f(0) = 0.5: zero weights move
    ("vanish-explode", dict(width=(32,))),  # the factors are width x std^2 / 2 for width 64 only
    ("deep-relu", dict(optimizer="adam", lr=0.001, epochs=20)),  # Adam rescues Xavier on some seeds
    ("restarts", dict(width=(16,))),  # wide enough that no start gets stuck
    ("tanh-standard", dict(activation="relu")),
    ("selu", dict(activation="elu")),
]


@pytest.mark.parametrize("slug,change", BROKEN, ids=[f"{s}-{i}" for i, (s, _) in enumerate(BROKEN)])
@pytest.mark.slow
def test_lesson_check_fails_when_the_fact_does_not_hold(slug, change):
    lesson = BY_SLUG[slug]
    assert not lesson.check(run(replace(lesson.config, **change), enforce_budget=False).frames)
