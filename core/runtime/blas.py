"""How many threads BLAS may use while the trainer runs.

Most of the trainer's products are small, and for small products BLAS's own
threads wake and spin for nothing while the elementwise work and the probes
wait (the default configuration's probes cost +45% of training with them,
+25% without). The trainer's worker processes (see ``workers``) share the
cores among themselves, and a multi-threaded BLAS in each would oversubscribe
them (bench J2: 13.4 s instead of 5.5 s, measured with two groups). So the
trainer asks for a single-threaded BLAS while it runs, except for one large
stack trained in this process.

The thread count never changes the numbers (OpenBLAS splits a GEMM by output
blocks, never along the sum), so this is about speed only. BLAS thread counts
are process-wide and threadpoolctl restores the count it found on entry, so
two trainings that overlap in time (two dashboard sessions) may leave each
other's count in place: again a matter of speed, never of results.
"""
from __future__ import annotations

import os
import threading

from threadpoolctl import ThreadpoolController

_lock = threading.Lock()
_controller: ThreadpoolController | None = None


def cpu_count() -> int:
    """CPUs this process may run on (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def single_threaded():
    """A context in which BLAS runs on one thread; the count found on entry comes back on exit.
    Enter and leave it on the same thread (OpenBLAS ignored a restore made from another one)."""
    global _controller
    with _lock:
        if _controller is None:  # inspecting the loaded libraries takes a few milliseconds: once
            _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
