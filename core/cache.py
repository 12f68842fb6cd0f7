"""A bounded, thread-safe results cache shared by every session of a server.

Why not st.cache_data: it pickles a copy out on every hit (tens of MB per rerun for a large run) and it
cannot report training progress. Here a result is stored once and shared read-only; entries are evicted
least-recently-used past ``max_entries`` or ``max_bytes``, and a result larger than ``max_bytes`` alone is
not stored at all, so the cache never holds more than its bound. Training each configuration once, however
many sessions ask for it at the same time, is core.scheduler's business.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

T = TypeVar("T")


class ResultCache(Generic[T]):
    def __init__(self, max_entries: int, max_bytes: int, size_of: Callable[[T], int]):
        self.max_entries, self.max_bytes, self.size_of = max_entries, max_bytes, size_of
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[T, int]] = OrderedDict()
        self._bytes = 0
        self.computed = 0  # how many results were stored (the tests and the load bench read it)

    def __len__(self):
        with self._lock:
            return len(self._items)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._bytes

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        return None

    def put(self, key: Hashable, value: T) -> bool:
        """Store ``value`` as the most recent entry, evicting the least recent ones past the bounds. Returns
        False (and stores nothing) for a value larger than ``max_bytes`` alone."""
        size = self.size_of(value)
        with self._lock:
            self.computed += 1
            if size > self.max_bytes:
                return False
            if key in self._items:
                self._bytes -= self._items.pop(key)[1]
            self._items[key] = (value, size)
            self._bytes += size
            while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped
            return True

    def clear(self):
        with self._lock:
            self._items.clear()
            self._bytes = 0
            self.computed = 0
