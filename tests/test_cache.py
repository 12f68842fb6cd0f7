from hypothesis import given, settings
from hypothesis import strategies as st

from app.cache import ResultCache


def test_evicts_least_recently_used_past_entries_and_bytes():
    cache = ResultCache(max_entries=2, max_bytes=100, size_of=lambda v: v)
    cache.put("a", 10)
    cache.put("b", 10)
    cache.get("a")  # a is now the most recent
    cache.put("c", 10)
    assert cache.get("b") is None and cache.get("a") == 10 and cache.get("c") == 10
    cache.put("big", 95)  # over max_bytes with anything else: the rest goes
    assert len(cache) == 1 and cache.get("big") == 95 and cache.nbytes == 95


def test_a_value_larger_than_the_bound_is_not_stored():
    cache = ResultCache(max_entries=4, max_bytes=100, size_of=lambda v: v)
    cache.put("a", 30)
    assert cache.put("huge", 101) is False
    assert cache.get("huge") is None and cache.get("a") == 30 and cache.nbytes == 30


def test_storing_a_key_again_replaces_it():
    cache = ResultCache(max_entries=4, max_bytes=100, size_of=lambda v: v)
    cache.put("a", 30)
    cache.put("a", 50)
    assert len(cache) == 1 and cache.nbytes == 50 and cache.get("a") == 50


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcdefgh"), st.integers(0, 150), st.booleans()), max_size=60),
       st.integers(1, 4), st.integers(1, 120))
def test_the_cache_never_holds_more_than_its_bound(ops, entries, max_bytes):
    cache = ResultCache(max_entries=entries, max_bytes=max_bytes, size_of=lambda v: v)
    last: dict[str, int] = {}  # what was stored last under each key
    for key, size, read in ops:
        if read:
            got = cache.get(key)
            assert got is None or got == last[key]
        else:
            stored = cache.put(key, size)
            assert stored == (size <= max_bytes)
            if stored:
                last[key] = size
        held = [got for k in "abcdefgh" if (got := cache.get(k)) is not None]
        assert len(held) == len(cache) <= entries
        assert sum(held) == cache.nbytes <= max_bytes


def test_an_expensive_result_survives_many_cheap_ones_after_it():
    """The issue's case: a visitor's 10 s result, then eight one-model links (1.4 s of training in all, each
    about the size of a third of it) fill the cache's entries."""
    cache = ResultCache(max_entries=8, max_bytes=100, size_of=lambda v: v[1])
    cache.put("expensive", ("10 s", 30), cost=10.0)
    for i in range(20):
        cache.put(f"cheap{i}", ("0.17 s", 10), cost=0.17)
        assert cache.get("expensive") is not None, i
    assert len(cache) <= 8 and cache.nbytes <= 100
    # in arrival order (least recently used) the expensive one would have gone first
    lru = ResultCache(max_entries=8, max_bytes=100, size_of=lambda v: v[1])
    lru.put("expensive", ("10 s", 30))
    for i in range(20):
        lru.put(f"cheap{i}", ("0.17 s", 10))
    assert lru.get("expensive") is None


def test_an_expensive_result_nobody_reads_gives_way_in_the_end():
    # the inflation: each eviction raises the credit every new entry starts with
    cache = ResultCache(max_entries=2, max_bytes=1000, size_of=lambda v: 1)
    cache.put("expensive", "x", cost=5.0)
    for i in range(40):
        cache.put(f"cheap{i}", "y", cost=1.0)
        cache.get(f"cheap{i}")
    assert cache.get("expensive") is None


def test_the_entry_just_stored_is_kept_even_when_it_is_the_cheapest():
    cache = ResultCache(max_entries=2, max_bytes=1000, size_of=lambda v: 1)
    cache.put("a", "a", cost=9.0)
    cache.put("b", "b", cost=9.0)
    cache.put("c", "c", cost=0.01)
    assert cache.get("c") == "c" and len(cache) == 2
