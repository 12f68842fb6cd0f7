"""Giving freed memory back to the system (glibc's malloc_trim), for long-lived processes: the server and
its training workers.

A run allocates and frees hundreds of megabytes; glibc keeps freed heap memory for reuse rather than return
it, so a server grows past what it holds. ``trim`` returns the free memory of every malloc arena now: the
server calls it after each run, a worker after each call. (bench/server_memory.py measured a server and its
workers about 110 MiB smaller after a large run with it; capping the arenas and fixing the mmap threshold
as well changed nothing measurable there, so this module does not.) Elsewhere than glibc it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        fn = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None
    if fn is not None:
        fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
    return fn


def trim() -> None:
    """Return every arena's free memory to the system now."""
    fn = _malloc_trim()
    if fn is not None:
        fn(0)
