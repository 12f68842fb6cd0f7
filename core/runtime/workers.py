"""Worker processes that train in parallel on this machine, on loky (joblib's process pool).

Threads could not do this: a training step is some fifty NumPy calls on small
arrays, and two threads spend much of each step waiting for each other at
the GIL (bench J1 on 2 cores: 0.74-1.24 s with two threads against 0.42-0.94 s
with two processes, measured side by side).

A ``Pool`` is a loky ``ProcessPoolExecutor`` of its own: started by its first
call, by spawning, and reused by its later calls. A worker imports what its
calls need (this module, core.nn.trainer, NumPy), not the caller's script
(checked under ``streamlit run``: 40 MiB, none of Streamlit, pandas or
scikit-learn), and runs its BLAS on one thread. ``training`` is the pool that
splits one run's models (``run``), shared by every run of the process; the
sweeps' loky backend (core.sweeps.sweep) has pools of its own. None is
joblib's shared pool (``get_reusable_executor``). loky ran the
trainer's calls as fast as the hand-written pipe protocol this module had
before (bench/RESULTS.md, "Parallelism inside one run").

What loky does not carry, a small shared-memory ``Board`` does (a file mapped
by the caller and by the workers, like core.runtime.control's block): the first
call's progress, which the caller relays on its own thread; a cancel flag,
which a caller that stops waiting sets, so that its calls raise Cancelled at
their next report and abandoned work does not keep the cores busy; and the
pid of the process running each call. A run scheduled by ``app.scheduler``
is stopped and paused through its control block instead (core.runtime.control,
checked at every step), and a pool registers a kill hook on that block that
kills its calls' processes: the last resort for a run that does not stop.
Loky then marks the pool broken; calls of other runs in flight end with
WorkerDied (the trainer trains them in its own process instead) and the next
call starts a fresh pool.

A worker hands the memory its call freed back to the system (``malloc_trim``)
shortly after each call, so a large run does not leave every worker holding
its peak.
"""
from __future__ import annotations

import contextlib
import mmap
import os
import signal
import struct
import threading
import time
import traceback
import weakref
from concurrent.futures import FIRST_COMPLETED, wait
from typing import Callable, Iterator

from core.compat import loky
from core.runtime import memory
from core.runtime.control import Stopped, map_block

PROGRESS_POLL_S = 0.1  # how often the caller passes progress on while it waits
# A worker reports progress at most this often (and at the end): a report per epoch made the default
# configuration's training 9% slower (0.424 s against 0.389 s, median of 15) for a bar drawn every 0.1 s.
PROGRESS_EVERY_S = 0.05
# The workers share the cores: each runs its BLAS on one thread (see core.runtime.blas).
WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
TRIM_AFTER_S = 0.5  # how long after a call a worker gives its freed memory back
# Modules a worker imports before its first call (``warm``): a call then finds the trainer loaded.
PRELOAD = ("core.nn.trainer",)


class Cancelled(Exception):
    """The caller stopped waiting for this call."""


class WorkerDied(RuntimeError):
    """A worker process ended in the middle of a call (killed for memory, say), a call or its result could not
    travel between the processes, or no worker could start. The next call starts a fresh pool."""


def available() -> bool:
    return os.name == "posix"  # the boards are files mapped in /dev/shm or the temporary directory


def workers() -> int:
    """Worker processes that train at once: one per CPU."""
    from core.runtime.blas import cpu_count
    return cpu_count()


_pool_size: int | None = None


def pool_size() -> int:
    """Worker processes that may exist at once: ``workers()`` unless ``set_pool_size`` allowed more (a
    scheduler that pauses runs needs workers for the runs it lets go on while the paused ones keep theirs)."""
    return max(workers(), _pool_size or 0)


def set_pool_size(n: int | None) -> None:
    global _pool_size
    _pool_size = n


# ------------------------------------------------------------------- the board a call and its caller share
class Board:
    """A cancel flag, then per call its worker's pid and its progress (done, total): int64 slots in a small
    mapped file. Pickles as its path: a worker maps the same file."""

    def __init__(self, calls: int, path: str | None = None):
        self.calls, self._owner = calls, path is None
        size = 8 * (1 + 3 * calls)
        self.path, self._mm = map_block(path, size, "calls-")
        if self._mm is None:
            # a call that starts after its caller left (and removed the board): it must unpickle all the same
            # (loky breaks the whole pool on a task that does not), then see itself cancelled
            self._mm = mmap.mmap(-1, size)
            self.cancel()

    def __reduce__(self):
        return Board, (self.calls, self.path)

    def _get(self, slot: int) -> int:
        return struct.unpack_from("<q", self._mm, 8 * slot)[0]

    def _set(self, slot: int, value: int) -> None:
        struct.pack_into("<q", self._mm, 8 * slot, value)

    @property
    def cancelled(self) -> bool:
        return self._get(0) != 0

    def cancel(self) -> None:
        self._set(0, 1)

    def started(self, call: int) -> None:
        self._set(1 + 3 * call, os.getpid())

    def pids(self) -> list[int]:
        return [p for p in (self._get(1 + 3 * i) for i in range(self.calls)) if p > 0]

    def report(self, call: int, done: int, total: int) -> None:
        self._set(3 + 3 * call, total)  # total first: a reader that sees a total sees a matching done soon
        self._set(2 + 3 * call, done)

    def progress(self, call: int) -> tuple[int, int] | None:
        total = self._get(3 + 3 * call)
        return (self._get(2 + 3 * call), total) if total > 0 else None

    def close(self) -> None:
        self._mm.close()
        if self._owner:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


def _call(fn, args: tuple, board: Board, index: int, reports: bool):
    """A call as a worker runs it: ``fn(*args, progress=...)``, its progress and its pid on the board."""
    board.started(index)
    if board.cancelled:
        board.close()
        raise Cancelled
    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        if board.cancelled:
            raise Cancelled
        if reports:
            now = time.monotonic()
            if done >= total or now - last >= PROGRESS_EVERY_S:
                board.report(index, done, total)
                last = now

    try:
        return fn(*args, progress=progress)
    except (Cancelled, Stopped) as e:
        # loky keeps the exception it sends back until this worker's next call: with its traceback, the
        # stopped call's frames and every array they hold would stay alive, out of the trim's reach
        traceback.clear_frames(e.__traceback__)
        args = fn = None  # noqa: F841 - this frame is the traceback's too
        raise e.with_traceback(None) from None
    finally:
        board.close()
        _trim_soon()


_trim_timer: threading.Timer | None = None


def _trim_soon() -> None:
    """Give the heap back to the system once loky has sent this call's result and dropped its arguments
    (a trim inside the call would find them still alive): shortly after the call, unless another starts."""
    global _trim_timer
    if _trim_timer is not None:
        _trim_timer.cancel()
    _trim_timer = threading.Timer(TRIM_AFTER_S, memory.trim)
    _trim_timer.daemon = True
    _trim_timer.start()


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on the server's terminal is the server's to handle


# The signals that end a command (core.__main__: Ctrl-C, SIGTERM, SIGHUP) raise KeyboardInterrupt in the main
# thread. One raised while loky hands a new worker its start-up data leaves the worker with half of it: the
# worker prints loky's "Ran out of input" traceback on the terminal.
_HELD = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def _signals_held():
    """Hold the stop signals while a pool spawns: one that arrives meanwhile is raised again, to the handler it
    was meant for, once every worker has its data. (Blocking them in this thread would not do: the system then
    hands them to another thread, a BLAS thread say, and Python still runs the handler in this one.)"""
    if threading.current_thread() is not threading.main_thread():  # Python runs handlers in the main thread only
        yield
        return
    arrived: list[int] = []
    before = {sig: signal.getsignal(sig) for sig in _HELD}
    for sig, handler in before.items():
        if handler is not None:  # None: a handler not set from Python, left as it is
            signal.signal(sig, lambda signum, frame: arrived.append(signum))
    try:
        yield
    finally:
        for sig, handler in before.items():
            if handler is not None:
                signal.signal(sig, handler)
        for sig in arrived:
            signal.raise_signal(sig)


def imported(progress=None) -> list[str]:
    """The top-level modules this process has imported (a worker's, when run by ``run``)."""
    import sys
    return sorted({name.split(".")[0] for name in sys.modules})


def _ping() -> int:
    import importlib
    for module in PRELOAD:
        importlib.import_module(module)
    time.sleep(0.05)  # long enough that the pings of one warm() land on different processes
    return os.getpid()


# ------------------------------------------------------------------- the pools
def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


_pools: weakref.WeakSet = weakref.WeakSet()


class Pool:
    """Worker processes on a loky ``ProcessPoolExecutor`` of their own, started by the first call (spawned, each
    with one BLAS thread) and restarted after a worker died. ``processes``: how many; None for ``pool_size()``;
    read at each call, which starts the pool anew at a new size. ``name`` says whose workers they are in errors."""

    def __init__(self, processes: int | None = None, name: str = "training"):
        self.processes, self.name = processes, name
        self._lock = threading.Lock()
        self._executor = None
        _pools.add(self)

    def size(self) -> int:
        return pool_size() if self.processes is None else self.processes

    def executor(self):
        """The loky pool, started (or restarted after a worker died) with ``size()`` processes. (It reads
        loky's private state through core/compat/loky.py. The dead-worker test in tests/test_core_groups.py
        goes through its ``broken`` and ``max_workers``.)"""
        from joblib.externals.loky import ProcessPoolExecutor
        with self._lock:
            ex = self._executor
            if ex is not None and (loky.broken(ex) or loky.max_workers(ex) != self.size()):
                if loky.broken(ex):
                    loky.kill(ex)
                else:
                    ex.shutdown(wait=False)
                self._executor = None
            if self._executor is None:
                self._executor = ProcessPoolExecutor(max_workers=self.size(), env=WORKER_ENV,
                                                     initializer=_ignore_interrupts)
            return self._executor

    def pids(self) -> list[int]:
        """Process ids of the workers now running."""
        with self._lock:
            return loky.pids(self._executor) if self._executor is not None else []

    def warm(self) -> None:
        """Start every worker now and load the trainer in each (their imports take about a second), so that
        the first training does not wait for them."""
        with _signals_held():
            futures = [self.executor().submit(_ping) for _ in range(self.size())]
        wait(futures)

    def shutdown(self, wait: bool = False) -> None:
        """End every worker, busy ones too (killed: nothing is lost, and an idle worker asked to end would first
        unload all its modules); ``wait``: until they have ended."""
        with self._lock:
            ex, self._executor = self._executor, None
        if ex is not None:
            loky.kill(ex, wait)

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, kind, error, trace) -> None:
        self.shutdown(wait=kind is None)  # a caller interrupted (Ctrl-C) does not wait

    def run(self, fn, calls: list[tuple], progress: Callable[[int, int], None] | None = None, control=None) -> list:
        """``[fn(*args, progress=...) for args in calls]``, in call order (see ``unordered``)."""
        results = [None] * len(calls)
        with contextlib.closing(self.unordered(fn, calls, progress, control)) as finished:
            for index, result in finished:
                results[index] = result
        return results

    def unordered(self, fn, calls: list[tuple], progress: Callable[[int, int], None] | None = None,
                  control=None) -> Iterator[tuple[int, object]]:
        """``(index, fn(*calls[index], progress=...))`` for every call, as each finishes, each call in a worker
        process, in parallel.

        ``fn`` must be a module-level function of an importable module, taking a ``progress(done, total)``
        keyword that it calls now and then: the first call's reports are passed on to ``progress`` from this
        thread, and the calls stop there (raising Cancelled) once this caller has stopped waiting (an error
        here, or the iterator closed): calls not started yet end as they start. Raises WorkerDied if a worker
        ended during its call or none could start; the next call starts a fresh pool. With a ``control`` block
        (core.runtime.control), its ``kill`` ends the processes of these calls.
        """
        if fn.__module__ == "__main__":  # a worker cannot import the caller's main module
            raise ValueError(f"workers: {fn.__qualname__} is defined in __main__; it must live in an importable "
                             "module")
        board = Board(len(calls))
        forget = control.on_kill(lambda: _kill(board.pids())) if control is not None else None
        futures: dict = {}
        try:
            with _signals_held():  # an interrupt comes once the calls are submitted, and cancels them
                # only the first call reports, and only to a caller that listens: a report per epoch costs time
                futures = self._submit(fn, calls, board, progress is not None)
            pending, told = set(futures), None
            while pending:
                finished, pending = wait(pending, timeout=PROGRESS_POLL_S, return_when=FIRST_COMPLETED)
                told = _relay(board, progress, told)
                for future in finished:
                    yield futures[future], self._result(future)
        finally:
            if forget is not None:
                forget()
            if not all(f.done() for f in futures):
                # those not started yet end as they start: a future cancelled instead makes loky's shutdown with
                # kill_workers fail in its manager thread, which then leaves the pool's workers running
                board.cancel()
            board.close()

    def _submit(self, fn, calls: list[tuple], board: Board, reports: bool) -> dict:
        """Each call's future -> its index."""
        from joblib.externals.loky.process_executor import BrokenProcessPool
        try:
            ex = self.executor()
            return {ex.submit(_call, fn, args, board, i, reports and i == 0): i for i, args in enumerate(calls)}
        except (OSError, BrokenProcessPool) as e:
            raise WorkerDied(f"no {self.name} worker could start: {e!r}") from e

    def _result(self, future):
        from joblib.externals.loky.process_executor import BrokenProcessPool
        error = future.exception()
        if isinstance(error, BrokenProcessPool):
            # a worker ended during its call, or a call or its result could not travel
            raise WorkerDied(f"the {self.name} workers failed: {error}") from error
        return future.result()


def _relay(board: Board, progress: Callable[[int, int], None] | None, told: tuple | None) -> tuple | None:
    """Pass the first call's progress on if it moved since ``told``; what was told."""
    now = board.progress(0)
    if progress is not None and now is not None and now != told:
        progress(*now)
        return now
    return told


def end_all() -> None:
    """End every worker of every pool of this process (the training pool's, a sweep's), busy ones too."""
    for pool in list(_pools):
        pool.shutdown()


# The training pool: started once and reused by every run. Not joblib's shared pool, nor a sweep's.
training = Pool()


def pids() -> list[int]:
    """Process ids of the training workers now running."""
    return training.pids()


def warm() -> None:
    """Start every training worker now and load the trainer in each."""
    training.warm()


def run(fn, calls: list[tuple], progress: Callable[[int, int], None] | None = None, control=None) -> list:
    """``[fn(*args, progress=...) for args in calls]``, each call in a training worker, in parallel.

    ``fn`` must be a module-level function of an importable module, taking a
    ``progress(epoch, epochs)`` keyword that it calls now and then: the first
    call's reports are passed on to ``progress`` from this thread, and the
    calls stop there (raising Cancelled) once this caller has stopped waiting.
    Raises WorkerDied if a worker ended during its call or none could start;
    the next call starts a fresh pool. With a ``control`` block
    (core.runtime.control), its ``kill`` ends this call's workers.
    """
    return training.run(fn, calls, progress, control)
