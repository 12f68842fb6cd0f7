"""A bounded, thread-safe results cache shared by every session of a server.

Why not st.cache_data: it pickles a copy out on every hit (tens of MB per
rerun for a large run), it cannot report training progress, and a classroom
opening the same link at once would train the same configuration once per
student. Here a configuration trains once: later callers for the same key
wait for the first one and share its (read-only) result. Entries are evicted
least-recently-used past ``max_entries`` or ``max_bytes``.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

T = TypeVar("T")


class _Pending:
    def __init__(self):
        self.done = threading.Event()
        self.value = None
        self.error: BaseException | None = None


class ResultCache(Generic[T]):
    def __init__(self, max_entries: int, max_bytes: int, size_of: Callable[[T], int]):
        self.max_entries, self.max_bytes, self.size_of = max_entries, max_bytes, size_of
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[T, int]] = OrderedDict()
        self._pending: dict[Hashable, _Pending] = {}
        self.computed = 0  # how many times compute ran (the load bench reads it)

    def __len__(self):
        with self._lock:
            return len(self._items)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(size for _, size in self._items.values())

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        return None

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key][0]
                pending = self._pending.get(key)
                owner = pending is None
                if owner:
                    pending = self._pending[key] = _Pending()
            if owner:
                break
            pending.done.wait()
            if pending.error is None:
                return pending.value
            if isinstance(pending.error, Exception):  # the computation failed: the waiters see the same error
                raise pending.error
            # The owner was interrupted (Streamlit stops or reruns a script by raising a BaseException in it):
            # that is its own business, not the waiters'. Try again: one of them computes it now.
        try:
            value = compute()
        except BaseException as e:
            pending.error = e
            with self._lock:
                del self._pending[key]
            pending.done.set()
            raise
        size = self.size_of(value)
        with self._lock:
            self.computed += 1
            self._items[key] = (value, size)
            self._items.move_to_end(key)
            total = sum(s for _, s in self._items.values())
            while len(self._items) > 1 and (len(self._items) > self.max_entries or total > self.max_bytes):
                _, (_, dropped) = self._items.popitem(last=False)
                total -= dropped
            del self._pending[key]
        pending.value = value
        pending.done.set()
        return value

    def clear(self):
        with self._lock:
            self._items.clear()
            self.computed = 0
