"""app.spec_memo: a chart's spec is kept only under a key made of everything it is built from, so a rerun
draws what a fresh build would, never a stale chart."""
from __future__ import annotations

import gc
import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from app import spec_memo
from core.measure.density import ValueAxis
from core.i18n import language, set_language


@dataclass(eq=False)
class Owner:
    frames: dict = field(default_factory=dict)


def chart(frame, n, *, title="t"):  # a stand-in builder: the memo keys it by module and name
    return {"rows": len(frame), "n": n, "title": title}


@pytest.fixture
def owner():
    spec_memo.STORE.clear()
    return Owner({"curves": pd.DataFrame({"x": range(5)}), "summary": pd.DataFrame({"y": range(3)})})


class Counter:
    def __init__(self):
        self.calls = 0

    def make(self, value):
        def make():
            self.calls += 1
            return dict(value)
        return make


def test_the_same_owner_and_arguments_give_the_kept_spec_and_any_change_builds_anew(owner):
    c = Counter()
    first = spec_memo.spec_for(owner, chart, (owner.frames["curves"], 1), {"title": "a"}, c.make({"v": 1}))
    again = spec_memo.spec_for(owner, chart, (owner.frames["curves"], 1), {"title": "a"}, c.make({"v": 2}))
    assert again is first and c.calls == 1
    # another frame of the owner, another scalar, another keyword: each is another chart
    spec_memo.spec_for(owner, chart, (owner.frames["summary"], 1), {"title": "a"}, c.make({}))
    spec_memo.spec_for(owner, chart, (owner.frames["curves"], 2), {"title": "a"}, c.make({}))
    spec_memo.spec_for(owner, chart, (owner.frames["curves"], 1), {"title": "b"}, c.make({}))
    assert c.calls == 4
    # a tuple and a list; 1, 1.0 and True (equal in Python, printed apart by a chart): each its own chart
    for value in ((1, 2), [1, 2], True, 1.0, np.int64(1), np.float32(1.0)):
        spec_memo.spec_for(owner, chart, (owner.frames["curves"], value), {"title": "a"}, c.make({}))
    assert c.calls == 4 + 4  # np.int64(1) is the int 1 (kept above), np.float32(1.0) the float 1.0
    # NaN (an all-NaN column's maximum) finds its own entry again
    for _ in range(3):
        spec_memo.spec_for(owner, chart, (owner.frames["curves"], float("nan")), {"title": "a"}, c.make({}))
    assert c.calls == 9


def test_the_language_is_part_of_the_key(owner):
    c = Counter()
    before = language()
    try:
        en = spec_memo.spec_for(owner, chart, (owner.frames["curves"], 1), {}, c.make({"lang": "en"}))
        set_language("fr")
        fr = spec_memo.spec_for(owner, chart, (owner.frames["curves"], 1), {}, c.make({"lang": "fr"}))
    finally:
        set_language(before)
    assert c.calls == 2 and en is not fr


def test_an_unknown_frame_or_object_is_built_every_time_and_never_kept(owner):
    c = Counter()
    stray = pd.DataFrame({"x": range(5)})  # equal to a frame of the owner, but not one of them
    for _ in range(2):
        spec_memo.spec_for(owner, chart, (stray, 1), {}, c.make({}))
        spec_memo.spec_for(owner, chart, (owner.frames["curves"], object()), {}, c.make({}))
    assert c.calls == 4 and len(spec_memo.STORE) == 0
    for _ in range(2):
        spec_memo.spec_for(None, chart, (owner.frames["curves"], 1), {}, c.make({}))
    assert c.calls == 6 and len(spec_memo.STORE) == 0


def test_frozen_dataclasses_and_small_arrays_are_keyed_by_value(owner):
    c = Counter()

    def axis(hi):
        return ValueAxis(symlog=True, edges=np.linspace(-1.0, hi, 41), domain=(-1.0, hi), ticks=(0.0,), labels=("0",))

    spec_memo.spec_for(owner, chart, (owner.frames["curves"], axis(1.0)), {}, c.make({}))
    spec_memo.spec_for(owner, chart, (owner.frames["curves"], axis(1.0)), {}, c.make({}))
    assert c.calls == 1
    spec_memo.spec_for(owner, chart, (owner.frames["curves"], axis(2.0)), {}, c.make({}))
    assert c.calls == 2
    # edges that differ in one bin only
    other = axis(1.0)
    edges = other.edges.copy()
    edges[20] += 1e-12
    spec_memo.spec_for(owner, chart, (owner.frames["curves"], ValueAxis(True, edges, other.domain, other.ticks,
                                                                         other.labels)), {}, c.make({}))
    assert c.calls == 3
    # an array too large to key by value: built every time
    for _ in range(2):
        spec_memo.spec_for(owner, chart, (np.zeros(spec_memo.MAX_ARRAY_KEY + 1),), {}, c.make({}))
    assert c.calls == 5


def test_a_derived_frame_comes_back_the_same_and_charts_of_it_are_kept(owner):
    made = []

    def make(k):
        def f():
            made.append(k)
            return owner.frames["curves"][owner.frames["curves"]["x"] >= k]
        return f

    d1 = spec_memo.derived(owner, ("tail", 2), make(2))
    assert spec_memo.derived(owner, ("tail", 2), make(2)) is d1 and made == [2]
    d3 = spec_memo.derived(owner, ("tail", 3), make(3))
    assert len(d3) == 2 and made == [2, 3]
    c = Counter()
    spec_memo.spec_for(owner, chart, (d1, 1), {}, c.make({}))
    spec_memo.spec_for(owner, chart, (d1, 1), {}, c.make({}))
    spec_memo.spec_for(owner, chart, (d3, 1), {}, c.make({}))
    assert c.calls == 2
    # a tuple holding a frame: the frame is known by its place in the tuple
    axis, frame = spec_memo.derived(owner, ("pair",), lambda: ("axis", owner.frames["summary"].copy()))
    spec_memo.spec_for(owner, chart, (frame, 1), {}, c.make({}))
    spec_memo.spec_for(owner, chart, (frame, 1), {}, c.make({}))
    assert c.calls == 3


def test_another_owner_never_gets_a_kept_spec_even_at_the_same_address(owner):
    c = Counter()
    twin = Owner(dict(owner.frames))  # the same frames, another result
    spec_memo.spec_for(owner, chart, (owner.frames["curves"], 1), {}, c.make({}))
    spec_memo.spec_for(twin, chart, (twin.frames["curves"], 1), {}, c.make({}))
    assert c.calls == 2
    # an entry stored for a result that has since died, found under the address a new result now has
    dead = Owner(dict(owner.frames))
    ref = weakref.ref(dead)
    del dead
    gc.collect()
    assert ref() is None
    key = (chart.__module__, chart.__qualname__, language(), (("frame", "curves"), spec_memo._key_of(owner, 1)), ())
    spec_memo.STORE.put((id(owner), key), (ref, {"stale": True}))
    assert spec_memo.spec_for(owner, chart, (owner.frames["curves"], 1), {}, c.make({"fresh": True})) == {
        "fresh": True}


def test_a_derived_frame_that_died_is_forgotten(owner):
    spec_memo.STORE.clear()
    frame = spec_memo.derived(owner, ("gone",), lambda: owner.frames["curves"].copy())
    i = id(frame)
    assert i in spec_memo._DERIVED
    spec_memo.STORE.clear()  # the store let it go; the page's last reference goes next
    del frame
    gc.collect()
    assert i not in spec_memo._DERIVED


def test_the_store_is_bounded_in_bytes_counting_the_frames_a_spec_holds(owner):
    big = {"datasets": {"d": pd.DataFrame({"x": range(200_000)})}}  # 1.6 MB of int64
    frame_bytes = int(big["datasets"]["d"].memory_usage(deep=True).sum())
    n = spec_memo.MAX_BYTES // frame_bytes + 10
    for i in range(n):
        spec_memo.spec_for(owner, chart, (owner.frames["curves"], i), {}, lambda: dict(big))
    # sized by its frames (not only counted): fewer entries than were put, the oldest gone, near the bound
    assert len(spec_memo.STORE) < n and spec_memo.STORE.nbytes <= spec_memo.MAX_BYTES
    assert spec_memo.STORE.nbytes >= spec_memo.MAX_BYTES - 2 * frame_bytes
    c = Counter()
    spec_memo.spec_for(owner, chart, (owner.frames["curves"], 0), {}, c.make({}))
    spec_memo.spec_for(owner, chart, (owner.frames["curves"], n - 1), {}, c.make({}))
    assert c.calls == 1  # the first was evicted, the last is kept


def test_derived_keys_hold_the_language_the_owner_and_fall_back_when_unkeyable(owner):
    before = language()
    made = []

    def make():
        made.append(language())
        return [f"sentence in {language()}"]

    try:
        en = spec_memo.derived(owner, ("notice",), make)
        set_language("fr")
        fr = spec_memo.derived(owner, ("notice",), make)
    finally:
        set_language(before)
    assert made == ["en", "fr"] and en != fr
    # a key the memo cannot name: made every time, never kept
    n = len(spec_memo.STORE)
    for _ in range(2):
        spec_memo.derived(owner, ("odd", object()), lambda: made.append("odd") or ["x"])
    assert made.count("odd") == 2 and len(spec_memo.STORE) == n
    # a frame derived for one result, drawn for another, is not that other's frame
    frame = spec_memo.derived(owner, ("tail",), lambda: owner.frames["curves"].tail(2))
    other = Owner(dict(owner.frames))
    c = Counter()
    for _ in range(2):
        spec_memo.spec_for(other, chart, (frame, 1), {}, c.make({}))
    assert c.calls == 2
