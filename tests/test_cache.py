import threading
import time

import pytest

from core.cache import ResultCache


def test_same_key_computes_once_for_concurrent_callers():
    cache = ResultCache(max_entries=4, max_bytes=10**9, size_of=lambda v: 1)
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return object()

    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.get_or_compute("k", slow))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and cache.computed == 1
    assert all(g is got[0] for g in got)


def test_evicts_least_recently_used_past_entries_and_bytes():
    cache = ResultCache(max_entries=2, max_bytes=100, size_of=lambda v: v)
    cache.get_or_compute("a", lambda: 10)
    cache.get_or_compute("b", lambda: 10)
    cache.get("a")  # a is now the most recent
    cache.get_or_compute("c", lambda: 10)
    assert cache.get("b") is None and cache.get("a") == 10 and cache.get("c") == 10
    cache.get_or_compute("big", lambda: 95)  # over max_bytes with anything else: the rest goes
    assert len(cache) == 1 and cache.get("big") == 95 and cache.nbytes == 95


def test_an_error_reaches_every_waiter_and_is_not_cached():
    cache = ResultCache(max_entries=2, max_bytes=100, size_of=lambda v: 1)

    def bad():
        raise ValueError("nope")

    with pytest.raises(ValueError):
        cache.get_or_compute("k", bad)
    assert cache.get_or_compute("k", lambda: 5) == 5


def test_an_interrupted_owner_does_not_interrupt_its_waiters():
    # Streamlit stops or reruns a session by raising a BaseException in its script thread; a session waiting
    # for the same run must not receive it (it would rerun with the other session's widget state).
    class Rerun(BaseException):
        pass

    cache = ResultCache(max_entries=2, max_bytes=100, size_of=lambda v: 1)
    started = threading.Event()

    def interrupted():
        started.set()
        time.sleep(0.2)
        raise Rerun

    got, errors = [], []

    def waiter():
        started.wait()
        try:
            got.append(cache.get_or_compute("k", lambda: 7))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=waiter)
    t.start()
    with pytest.raises(Rerun):
        cache.get_or_compute("k", interrupted)
    t.join()
    assert got == [7] and errors == []
