"""A bounded, thread-safe results cache shared by every session of a server.

Why not st.cache_data: it pickles a copy out on every hit (tens of MB per rerun for a large run) and it
cannot report training progress. Here a result is stored once and shared read-only. Past ``max_entries``
or ``max_bytes``, entries are evicted by GreedyDual-Size (Cao and Irani 1997): each entry's credit is the
cache's inflation ``L`` plus what it cost to compute per byte it holds, renewed when it is read; the entry
with the least credit goes and ``L`` rises to its credit. So eight cheap one-model links cannot push out a
result that took ten seconds, while an entry nobody reads sinks below newer ones as ``L`` rises; among
equal costs and sizes the least recently used goes first. The entry just stored is never the one evicted
(its session is about to read it), and a result larger than ``max_bytes`` alone is not stored at all, so
the cache never holds more than its bound. Training each configuration once, however many sessions ask for
it at the same time, is app.scheduler's business.
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
        self._items: OrderedDict[Hashable, tuple[T, int, float]] = OrderedDict()  # value, bytes, cost (s)
        self._credit: dict[Hashable, float] = {}
        self._inflation = 0.0  # GreedyDual-Size's L: the credit of the last entry evicted
        self._bytes = 0
        self.computed = 0  # how many results were stored (the tests and the load bench read it)

    def __len__(self):
        with self._lock:
            return len(self._items)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._bytes

    def _renew(self, key: Hashable) -> None:
        _value, size, cost = self._items[key]
        self._credit[key] = self._inflation + cost / max(size, 1)

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self._renew(key)
                return self._items[key][0]
        return None

    def put(self, key: Hashable, value: T, cost: float = 1.0) -> bool:
        """Store ``value``, which took ``cost`` (seconds, say) to compute, evicting the entries with the least
        credit past the bounds. Returns False (and stores nothing) for a value larger than ``max_bytes``
        alone."""
        size = self.size_of(value)
        with self._lock:
            self.computed += 1
            if size > self.max_bytes:
                return False
            if key in self._items:
                self._bytes -= self._items.pop(key)[1]
            self._items[key] = (value, size, max(0.0, float(cost)))
            self._renew(key)
            self._bytes += size
            while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                # least credit first; among equals the least recently used (the OrderedDict's order)
                victim = min((k for k in self._items if k != key), key=self._credit.__getitem__)
                self._inflation = self._credit.pop(victim)
                self._bytes -= self._items.pop(victim)[1]
            return True

    def clear(self):
        with self._lock:
            self._items.clear()
            self._credit.clear()
            self._inflation = 0.0
            self._bytes = 0
            self.computed = 0
