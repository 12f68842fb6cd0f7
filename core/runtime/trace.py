"""Which NumPy primitives a registry function calls, and on how many elements: what the budget prices an
activation and a weight scheme's draw by (core.runtime.budget), so that a new registry entry is priced without a
table of its own.

``trace`` runs a function on arrays of a subclass that records every ufunc (NumPy's and scipy.special's) and
every NumPy function called on them, with the size of what it produced; it also records the writes NumPy has no
hook for: ``out[...] = x`` ("copy") and ``out.fill(v)`` ("fill"). Results are of the subclass again, so a chain
of calls is followed call by call, and a ufunc's call says whether it wrote into an array it was given
(``out=``) or allocated its result. ``CountingGenerator`` stands in for a numpy.random.Generator: it records each
method called and the values it produced, and hands those values on as traced arrays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Call:
    primitive: str  # a ufunc's or NumPy function's name ("exp", "where"), "copy", "fill", or "add.reduce"
    elements: int  # the elements it produced (a reduction: the elements it read)
    fresh: bool = False  # a ufunc's result in a new array (no out=): its allocation is a cost of its own


class _Traced(np.ndarray):
    """An ndarray whose NumPy calls go to the log of the ``Tracer`` it belongs to."""
    tracer: "Tracer"

    def __array_finalize__(self, obj):
        self.tracer = getattr(obj, "tracer", None)

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        plain_out = tuple(_plain(o) for o in out) if out else None
        result = getattr(ufunc, method)(*_plain(inputs), **({"out": plain_out} if out else {}), **_plain(kwargs))
        if method == "__call__":
            self.tracer.record(ufunc.__name__, result, fresh=not out)
        else:  # a reduction's work is what it reads
            self.tracer.record(f"{ufunc.__name__}.{method}", _plain(inputs))
        if out:
            return out[0] if len(out) == 1 else out
        return self.tracer.wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        result = func(*_plain(args), **_plain(kwargs))
        self.tracer.record(func.__name__, result)
        return self.tracer.wrap(result)

    def __setitem__(self, key, value):
        plain, key = self.view(np.ndarray), _plain(key)
        plain[key] = _plain(value)
        self.tracer.record("copy", plain[key])

    def fill(self, value):
        self.view(np.ndarray).fill(value)
        self.tracer.record("fill", self)


def _plain(x):
    """``x`` with every traced array in it (in tuples, lists, dicts) as a plain ndarray view."""
    if isinstance(x, _Traced):
        return x.view(np.ndarray)
    if isinstance(x, (tuple, list)) and not hasattr(x, "_fields"):
        return type(x)(_plain(v) for v in x)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def _size(x) -> int:
    """The elements of an array, or of the largest in a tuple or list of them (a scalar: 1)."""
    if isinstance(x, np.ndarray):
        return x.size
    if isinstance(x, (tuple, list)):
        return max((_size(v) for v in x), default=0)
    return 1


class Tracer:
    """The log of one trace, and the arrays that write to it."""

    def __init__(self):
        self.calls: list[Call] = []

    def record(self, primitive: str, produced, fresh: bool = False) -> None:
        self.calls.append(Call(primitive, _size(produced), fresh))

    def wrap(self, x):
        """``x`` with its arrays traced (a namedtuple such as QR's result keeps its type)."""
        if isinstance(x, np.ndarray) and not isinstance(x, _Traced):
            out = x.view(_Traced)
            out.tracer = self
            return out
        if isinstance(x, tuple):
            items = [self.wrap(v) for v in x]
            return type(x)(*items) if hasattr(x, "_fields") else tuple(items)
        return x


def trace(fn, *arrays: np.ndarray) -> list[Call]:
    """The NumPy calls ``fn(*arrays)`` makes on the arrays and on what it computes from them."""
    tracer = Tracer()
    fn(*(tracer.wrap(a.copy()) for a in arrays))
    return tracer.calls


class CountingGenerator:
    """A numpy.random.Generator that records each method called with the values it produced (``draws``; a
    shuffle: the values it moved) and returns them as traced arrays, so that the NumPy calls the caller makes
    on them are traced too (``tracer.calls``)."""

    def __init__(self, seed: int = 0):
        self.draws: list[Call] = []
        self.tracer = Tracer()
        self._rng = np.random.default_rng(seed)

    def __getattr__(self, name):
        method = getattr(self._rng, name)
        if not callable(method):
            return method

        def counted(*args, **kwargs):
            result = method(*_plain(args), **_plain(kwargs))
            self.draws.append(Call(name, _size(result if result is not None else _plain(args[0]))))
            return self.tracer.wrap(result)
        return counted
