"""loky internals (joblib's vendored copy, joblib pinned in requirements.txt). A core.runtime.workers pool is a loky
``ProcessPoolExecutor`` of its own and must know, before it submits, whether the pool is still usable and how
big it is, and which processes are its workers (to kill the ones running a stopped run). The executor's public
API (``submit``, ``shutdown``, ``map``) says none of that: a broken pool shows only as an error on the next
``submit`` or ``result``, and the worker processes are never listed. And its ``shutdown(kill_workers=True)``
crashes loky's manager thread when calls wait behind the busy workers (``kill``). tests/test_compat.py checks
each attribute on a real pool of the installed loky."""
from __future__ import annotations

import queue


def broken(pool) -> bool:
    """True once a worker died and loky marked the pool unusable (``pool._flags.broken``: the reason, or None)."""
    return pool._flags.broken is not None


def max_workers(pool) -> int:
    """The number of processes the pool was made with (``pool._max_workers``)."""
    return pool._max_workers


def pids(pool) -> list[int]:
    """The process ids of the pool's workers now started (``pool._processes``: pid -> process)."""
    return list(pool._processes)



def kill(pool, wait: bool = False) -> None:
    """``pool.shutdown(wait, kill_workers=True)`` without its crash. Loky's shutdown with ``kill_workers`` fails
    calls not started yet, then its manager thread reads their ids from its queue of ids
    (``pool._work_ids``) and raises KeyError: a traceback on stderr ("Exception in thread
    ExecutorManagerThread"), and the thread ends before it has closed the pool's queues. It happens whenever
    more calls were submitted than the busy workers had taken. So the queue is emptied first, under the lock
    ``submit`` holds (``pool._flags.shutdown_lock``), and the pool flagged as shutting down in the same hold,
    so that no call comes in between: the calls then fail as before, without the crash."""
    with pool._flags.shutdown_lock:
        while True:
            try:
                pool._work_ids.get_nowait()
            except queue.Empty:
                break
        pool._flags.shutdown = True  # flag_as_shutting_down() would take the lock held here
        pool._flags.kill_workers = True
    pool.shutdown(wait=wait, kill_workers=True)
