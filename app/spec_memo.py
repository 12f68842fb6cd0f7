"""Chart specs kept for the cached result they draw, shared by every session of the server.

A page rerun with the same result and the same view (a page switch, a widget elsewhere on the page) builds
the same charts again: building a chart and its Vega-Lite spec is most of a page's Python time, and the
browser waits for the specs before it can draw. So ``spec_for`` keeps each spec under a key made from
everything it is built from:

- the chart's builder (its module and name) and the language (charts carry translated words);
- its owner: the cached result (``core.experiment.Results``, ``core.restarts.RestartResults``, ...) whose
  frames it draws, by identity, checked by a weak reference, so a result dropped from its cache is never
  mistaken for a later one at the same address;
- every argument, by value: a frame of the owner by its name in ``owner.frames``; a frame derived from the
  owner by ``derived`` under the key it was derived with; numbers, strings, small arrays, and tuples, lists
  and frozen dataclasses of them by value.

Any other argument (a frame the memo does not know) makes the chart not memoized: it is built every time,
as before, never drawn from a wrong key. Specs and derived frames share one least-recently-used store
(app.cache.ResultCache) bounded in entries and bytes.
"""
from __future__ import annotations

import dataclasses
import threading
import weakref
from functools import partial
from typing import Callable, Hashable, TypeVar

import numpy as np
import pandas as pd

from app.cache import ResultCache
from core.i18n import language

T = TypeVar("T")
MAX_ENTRIES = 256
MAX_BYTES = 32_000_000
MAX_ARRAY_KEY = 10_000  # an array argument larger than this is not worth keying by value


def _nbytes(value) -> int:
    """A spec's or a derived frame's size: its frames' memory, plus a little for the spec itself."""
    _ref, item = value
    if isinstance(item, pd.DataFrame):
        return int(item.memory_usage(deep=True).sum())
    if isinstance(item, tuple):
        return 4096 + sum(int(p.memory_usage(deep=True).sum()) for p in item if isinstance(p, pd.DataFrame))
    if isinstance(item, dict):
        frames = item.get("datasets", {}).values()
        return 4096 + sum(int(df.memory_usage(deep=True).sum()) for df in frames if isinstance(df, pd.DataFrame))
    return 4096


STORE: ResultCache[tuple[weakref.ref, object]] = ResultCache(MAX_ENTRIES, MAX_BYTES, _nbytes)
# id(derived frame) -> (weak reference to it, its key, its owner): how an argument is known as a derived frame
_DERIVED: dict[int, tuple[weakref.ref, tuple, weakref.ref]] = {}
_LOCK = threading.RLock()  # reentrant: a weak reference's callback (_forget) may run inside derived's block


class Unkeyable(Exception):
    """An argument the memo cannot name by value."""


def _get(owner, key: tuple):
    hit = STORE.get((id(owner), key))
    if hit is not None and hit[0]() is owner:
        return hit[1]
    return None


def _put(owner, key: tuple, value) -> None:
    STORE.put((id(owner), key), (weakref.ref(owner), value))


def derived(owner, key: tuple, make: Callable[[], T]) -> T:
    """``make()``: a frame, a tuple holding frames, or sentences, computed from ``owner``'s results and the
    values in ``key`` alone (and the language, which is part of the key), kept with the owner. The same
    objects come back on every rerun, so charts built from them are memoized too (each frame is known by
    ``key`` and its place in the tuple, for this owner only). A key the memo cannot name: ``make()``, not
    kept."""
    try:
        key = ("derived", language()) + tuple(_key_of(owner, k) for k in key)
    except Unkeyable:
        return make()
    value = _get(owner, key)
    if value is None:
        value = make()
        _put(owner, key, value)
    parts = value if isinstance(value, tuple) else (value,)
    with _LOCK:
        for i, part in enumerate(parts):
            known = _DERIVED.get(id(part))
            if isinstance(part, pd.DataFrame) and (known is None or known[0]() is not part):
                _DERIVED[id(part)] = (weakref.ref(part, partial(_forget, id(part))), key + (i,),
                                      weakref.ref(owner))
    return value


def _forget(i: int, ref: weakref.ref) -> None:
    """A derived frame died: its address may now be another object's."""
    with _LOCK:
        if i in _DERIVED and _DERIVED[i][0] is ref:
            del _DERIVED[i]


def _key_of(owner, value) -> Hashable:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, str):
        return value
    # by type and value: 1, 1.0 and True are equal in Python but a chart may print them apart; a float by its
    # hex form, so that NaN finds its own entry again
    if isinstance(value, float):
        return ("float", value.hex())
    if isinstance(value, (bool, int)):
        return (type(value).__name__, value)
    if isinstance(value, np.ndarray) and value.size <= MAX_ARRAY_KEY:  # a value axis's bin edges
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (tuple, list)):
        return (type(value).__name__,) + tuple(_key_of(owner, v) for v in value)
    if isinstance(value, pd.DataFrame):
        for name, frame in getattr(owner, "frames", {}).items():
            if frame is value:
                return ("frame", name)
        with _LOCK:
            known = _DERIVED.get(id(value))
        if known is not None and known[0]() is value and known[2]() is owner:
            return known[1]
        raise Unkeyable
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and value.__dataclass_params__.frozen:
        return (type(value).__qualname__,) + tuple(_key_of(owner, getattr(value, f.name))
                                                  for f in dataclasses.fields(value))
    raise Unkeyable


def spec_for(owner, build: Callable, args: tuple, kwargs: dict, make: Callable[[], dict]) -> dict:
    """The spec of ``build(*args, **kwargs)``: kept from an earlier run with the same owner and arguments, or
    ``make()`` (and kept). ``owner`` None, or an argument the memo cannot name: ``make()``, not kept."""
    if owner is None:
        return make()
    try:
        key = (build.__module__, build.__qualname__, language(),
               tuple(_key_of(owner, a) for a in args),
               tuple(sorted((k, _key_of(owner, v)) for k, v in kwargs.items())))
    except (Unkeyable, AttributeError):
        return make()
    spec = _get(owner, key)
    if spec is None:
        spec = make()
        _put(owner, key, spec)
    return spec
