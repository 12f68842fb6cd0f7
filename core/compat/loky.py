"""loky internals (joblib's vendored copy, joblib pinned in requirements.txt). A core.runtime.workers pool is a loky
``ProcessPoolExecutor`` of its own and must know, before it submits, whether the pool is still usable and how
big it is, and which processes are its workers (to kill the ones running a stopped run). The executor's public
API (``submit``, ``shutdown``, ``map``) says none of that: a broken pool shows only as an error on the next
``submit`` or ``result``, and the worker processes are never listed. tests/test_compat.py checks each
attribute on a real pool of the installed loky."""
from __future__ import annotations


def broken(pool) -> bool:
    """True once a worker died and loky marked the pool unusable (``pool._flags.broken``: the reason, or None)."""
    return pool._flags.broken is not None


def max_workers(pool) -> int:
    """The number of processes the pool was made with (``pool._max_workers``)."""
    return pool._max_workers


def pids(pool) -> list[int]:
    """The process ids of the pool's workers now started (``pool._processes``: pid -> process)."""
    return list(pool._processes)

