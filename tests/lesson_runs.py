"""Lesson runs shared by the tests of one session (test_lessons, test_claims): each (lesson, data seed) trains
once."""
import functools

from core import run
from core.config import replace
from core.views.lessons import BY_SLUG

DATA_SEEDS = (0, 1, 2, 3)  # the claims' runs
LESSON_SEEDS = tuple(range(8))  # every lesson's check and numbers hold on each of these


@functools.lru_cache(maxsize=None)
def lesson_frames(slug: str, data_seed: int) -> dict:
    return run(replace(BY_SLUG[slug].config, data_seed=data_seed)).frames


def holds_on_every_data_seed(slug: str) -> list[int]:
    """The data seeds on which the lesson's check fails (empty: its fact holds on all of them)."""
    return [seed for seed in LESSON_SEEDS if not BY_SLUG[slug].check(lesson_frames(slug, seed))]
