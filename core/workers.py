"""Worker processes that train groups of models in parallel.

Threads could not do this: a training step is some fifty NumPy calls on small
arrays, and two threads spend much of each step waiting for each other at
the GIL (bench J1 on 2 cores: 0.74-1.24 s with two threads against 0.42-0.94 s
with two processes, measured side by side).

The workers are plain ``python -c "...serve()"`` subprocesses that talk
pickle over their stdin/stdout. multiprocessing was tried first and would not
do: its children import the parent's main module, which under Streamlit is
the dashboard script (they ran it in bare mode), and in a user's unguarded
script re-runs the script. These workers import ``core`` and nothing else.

Messages are pickles (protocol 5) behind a header of lengths, each pickled
whole before anything is written, so a pickling failure never leaves half a
message in a pipe. The arrays in a message travel out of band: written from
their own memory and read into the buffers they are rebuilt on, rather than
copied into and out of the pickle (a run's probe records are megabytes). A
worker reads its stdin unbuffered, so that select() sees a "stop" as soon as
it arrives (a buffered reader could swallow it with the call before it).

A call sends ``(function, args)`` to an idle worker and reads messages back:
progress reports, then the result or the exception. The caller relays the
first call's progress on its own thread, and when the caller is itself
interrupted it sends "stop" to its busy workers, which stop at their next
progress report, so abandoned work does not keep the cores busy. A run
scheduled by ``core.scheduler`` is stopped and paused through its control
block instead (``core.control``, checked at every step), and ``run`` registers
a kill hook on that block: killing the run's workers is the last resort for a
run that does not stop.

A worker hands the memory its call freed back to the system (``malloc_trim``)
before it waits for the next call, so a large run does not leave every worker
holding its peak.
"""
from __future__ import annotations

import atexit
import importlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import traceback
from concurrent.futures import Future, wait
from pathlib import Path
from typing import Callable

from . import memory

PROGRESS_POLL_S = 0.1  # how often the caller passes progress on while it waits
# Modules a worker imports as it starts, before its first call: a call then finds the trainer loaded.
PRELOAD = ("core.trainer",)
# A worker reports progress at most this often (and at the end): a report per epoch made the default
# configuration's training 9% slower (0.424 s against 0.389 s, median of 15) for a bar drawn every 0.1 s.
PROGRESS_EVERY_S = 0.05
ROOT = Path(__file__).resolve().parents[1]  # the directory holding the core package
# The workers share the cores: each runs its BLAS on one thread (see core.blas).
WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Cancelled(Exception):
    """The caller stopped waiting for this call."""


class WorkerDied(RuntimeError):
    """A worker process ended in the middle of a call (killed for memory, say), or its reply could not be
    read."""


def _frame(msg) -> list:
    """A message as the pieces to write in order: a header (the pickle's length, the number of out-of-band
    buffers and their lengths), the pickle, the buffers."""
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(msg, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]  # every array numpy hands out of band is contiguous
    header = struct.pack(f"<QQ{len(raws)}Q", len(data), len(raws), *(r.nbytes for r in raws))
    return [header, data, *raws]


def _write_message(out, pieces: list) -> None:
    for piece in pieces:
        out.write(piece)
    out.flush()


def _read_exactly(readinto, n: int) -> bytearray:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        part = readinto(view[got:])
        if part is None:  # a non-blocking pipe with nothing in it: not an end, and not what these pipes are
            raise BlockingIOError("a worker pipe is non-blocking")
        if part == 0:
            raise EOFError
        got += part
    return buf


def _read_message(readinto):
    n_data, n_buffers = struct.unpack("<QQ", _read_exactly(readinto, 16))
    sizes = struct.unpack(f"<{n_buffers}Q", _read_exactly(readinto, 8 * n_buffers)) if n_buffers else ()
    data = _read_exactly(readinto, n_data)
    # arrays are rebuilt on these buffers (bytearrays: writable), not copied out of them
    return pickle.loads(data, buffers=[_read_exactly(readinto, s) for s in sizes])


def available() -> bool:
    return os.name == "posix"  # select() on pipes, which the workers' stop check needs


def workers() -> int:
    """Worker processes that train at once: one per CPU."""
    from .blas import cpu_count
    return cpu_count()


_pool_size: int | None = None


def pool_size() -> int:
    """Worker processes that may exist at once: ``workers()`` unless ``set_pool_size`` allowed more (a
    scheduler that pauses runs needs workers for the runs it lets go on while the paused ones keep theirs)."""
    return max(workers(), _pool_size or 0)


def set_pool_size(n: int | None) -> None:
    global _pool_size
    _pool_size = n


# ------------------------------------------------------------------- the worker's side
def serve() -> None:
    """A worker's loop: read a call, run it, write back its messages; end when the parent closes stdin."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on the server's terminal is the server's to handle
    for module in PRELOAD:
        importlib.import_module(module)
    # The protocol gets its own copy of the pipe, and fd 1 becomes stderr: a stray print, or a C library
    # writing to its stdout, must not corrupt the protocol.
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    read = sys.stdin.buffer.raw.readinto  # unbuffered: select() on fd 0 sees all that has not been read

    def send(msg):
        try:
            frame = _frame(msg)
        except Exception as e:  # noqa: BLE001 - an unpicklable result or exception: say so instead
            frame = _frame(("error", RuntimeError(f"cannot send {type(msg[1]).__name__} back: {e!r}"), ""))
        _write_message(out, frame)

    while True:
        try:
            msg = _read_message(read)
        except EOFError:
            return
        except Exception as e:  # noqa: BLE001 - a call this worker cannot unpickle (say, a class only the caller has)
            send(("error", RuntimeError(f"a training worker could not read its call: {e!r}"), traceback.format_exc()))
            continue
        if msg[0] != "call":  # a "stop" that came after its call had ended
            continue
        _, module, name, args, report = msg

        last = -PROGRESS_EVERY_S

        def progress(epoch: int, epochs: int):
            nonlocal last
            if report and (epoch == epochs or time.monotonic() - last >= PROGRESS_EVERY_S):
                send(("progress", epoch, epochs))
                last = time.monotonic()
            if select.select([0], [], [], 0)[0]:  # the only message that can arrive during a call is "stop"
                _read_message(read)
                raise Cancelled

        try:
            send(("done", getattr(importlib.import_module(module), name)(*args, progress=progress)))
        except Cancelled:
            send(("cancelled",))
        except Exception as e:  # noqa: BLE001 - the caller re-raises it
            try:
                pickle.loads(pickle.dumps(e))
            except Exception:  # noqa: BLE001 - it would not survive the trip
                e = RuntimeError(repr(e))
            send(("error", e, traceback.format_exc()))
        del msg, args
        memory.trim()


# ------------------------------------------------------------------- the caller's side
class Worker:
    def __init__(self):
        env = dict(os.environ, **WORKER_ENV)
        # the modules the caller sees (a test module, the dashboard's folder), core's folder first
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in sys.path if p and os.path.isdir(p)])
        try:
            self.proc = subprocess.Popen([sys.executable, "-c", "from core.workers import serve; serve()"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=str(ROOT))
        except OSError as e:  # no processes left to this user, say: the caller trains in its own process
            raise WorkerDied(f"a training worker could not start ({e!r})") from e
        self.write_lock = threading.Lock()
        self.dead = False

    def send(self, msg) -> None:
        frame = _frame(msg)  # may raise (unpicklable arguments) before anything is written
        try:
            with self.write_lock:
                _write_message(self.proc.stdin, frame)
        except (OSError, ValueError) as e:  # a broken pipe, or a closed one
            self.kill()
            raise WorkerDied(f"a training worker ended (exit code {self.proc.poll()})") from e

    def recv(self):
        try:
            return _read_message(self.proc.stdout.readinto)
        except Exception as e:  # noqa: BLE001 - EOF, a broken pipe, or a reply that does not unpickle here
            self.kill()
            raise WorkerDied(f"a training worker's reply could not be read ({e!r}; exit code "
                             f"{self.proc.poll()})") from e

    @property
    def alive(self) -> bool:
        return not self.dead and self.proc.poll() is None

    def kill(self) -> None:
        """End the worker now (busy or not); it is never used again."""
        self.dead = True
        if self.proc.poll() is None:
            self.proc.kill()
        self.close()

    def close(self) -> None:
        """Close the pipes (an idle worker then ends by itself) and reap the process."""
        self.dead = True
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_cond = threading.Condition()
_idle: list[Worker] = []
_all: set[Worker] = set()  # started and not known dead, idle or busy


def _acquire() -> Worker:
    with _cond:
        while True:
            while _idle:
                w = _idle.pop()
                if w.alive:
                    return w
                _all.discard(w)
            if len(_all) < pool_size():
                w = Worker()
                _all.add(w)
                return w
            _cond.wait()


def _release(w: Worker) -> None:
    surplus = False
    with _cond:
        if w.alive and len(_idle) < workers():
            _idle.append(w)
        else:  # dead, or one more idle worker than the CPUs need: its memory is better given back
            surplus = w.alive
            _all.discard(w)
        _cond.notify()
    if surplus:
        w.close()


def pids() -> list[int]:
    """Process ids of the workers now running."""
    with _cond:
        return [w.proc.pid for w in _all if w.alive]


def warm() -> None:
    """Start every worker now (their imports take about a second, in the background), so that the first
    training does not wait for them."""
    started = []
    try:
        for _ in range(workers()):
            started.append(_acquire())
    finally:
        for w in started:
            _release(w)


def prestart() -> None:
    """Start workers now, up to one idle worker per CPU within the pool's size, without waiting for them
    (a worker's imports take a while): called when a paused run keeps its workers busy, so the run that
    goes first finds workers ready."""
    with _cond:
        room = min(workers() - len(_idle), pool_size() - len(_all))
    for _ in range(max(0, room)):
        try:
            w = Worker()
        except WorkerDied:
            return
        with _cond:
            _all.add(w)
            _idle.append(w)
            _cond.notify()


@atexit.register
def _shutdown() -> None:
    """End every worker, busy ones too: the threads waiting on them are daemons and end with the process."""
    with _cond:
        workers_now = list(_all)
        _idle.clear()
        _all.clear()
    for w in workers_now:
        w.kill()


class _Call:
    """One run(): which worker each task holds, so that an interrupted caller can stop them all."""

    def __init__(self):
        self.lock = threading.Lock()
        self.stopped = False
        self.busy: set[Worker] = set()
        self.latest = None  # (epoch, epochs) of the first task

    def task(self, fn, args, first: bool):
        w = _acquire()
        sent = done = False
        try:
            with self.lock:
                if self.stopped:
                    raise Cancelled
                w.send(("call", fn.__module__, fn.__qualname__, args, first))
                sent = True
                self.busy.add(w)
            while True:
                msg = w.recv()
                if msg[0] == "progress":
                    self.latest = msg[1:]
                    continue
                done = True
                if msg[0] == "done":
                    return msg[1]
                if msg[0] == "cancelled":
                    raise Cancelled
                raise msg[1] from RuntimeError(f"in a training worker:\n{msg[2]}")
        finally:
            with self.lock:
                self.busy.discard(w)
            if sent and not done:
                w.kill()  # out of step with the protocol: never reuse it
            _release(w)

    def kill(self) -> None:
        """End the workers of this call now: the last resort for a run that does not stop."""
        with self.lock:
            self.stopped = True
            busy = list(self.busy)
        for w in busy:
            w.kill()

    def stop(self) -> None:
        # Under the lock: a task takes its worker out of ``busy`` under it too, so a stop never reaches a worker
        # that has moved on to another caller's call. (One that reaches a worker between calls is ignored there.)
        with self.lock:
            self.stopped = True
            for w in self.busy:
                try:
                    w.send(("stop",))
                except WorkerDied:  # its task finds out by itself
                    pass


def _start(fn, *args) -> Future:
    """``fn(*args)`` on a daemon thread: one waiting on a worker must not hold up the interpreter's exit."""
    future: Future = Future()

    def body():
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn(*args))
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            future.set_exception(e)

    threading.Thread(target=body, name="initlab-dispatch", daemon=True).start()
    return future


def run(fn, calls: list[tuple], progress: Callable[[int, int], None] | None = None, control=None) -> list:
    """``[fn(*args, progress=...) for args in calls]``, each call in a worker process, in parallel.

    ``fn`` must be a module-level function of an importable module, taking a
    ``progress(epoch, epochs)`` keyword that it calls now and then: the first
    call's reports are passed on to ``progress`` from this thread, and the
    calls stop there (raising Cancelled) once this caller has stopped waiting.
    Raises WorkerDied if a worker ended during its call or its reply could not
    be read; the next call starts a fresh one. With a ``control`` block
    (core.control), its ``kill`` ends this call's workers.
    """
    if fn.__module__ == "__main__":  # a worker cannot import the caller's main module
        raise ValueError(f"workers.run: {fn.__qualname__} is defined in __main__; it must live in an importable module")
    call = _Call()
    forget = control.on_kill(call.kill) if control is not None else None
    # only the first call reports, and only to a caller that listens: a report per epoch wakes this process
    futures = [_start(call.task, fn, args, i == 0 and progress is not None) for i, args in enumerate(calls)]
    try:
        pending, told = set(futures), None
        while pending:
            _, pending = wait(pending, timeout=PROGRESS_POLL_S)
            now = call.latest
            if progress is not None and now is not None and now != told:
                progress(*now)
                told = now
            failed = [f.exception() for f in futures if f.done() and f.exception() is not None]
            if failed:
                raise failed[0]
        return [f.result() for f in futures]
    finally:
        if forget is not None:
            forget()
        if not all(f.done() for f in futures):
            call.stop()
