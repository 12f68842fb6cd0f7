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

A call sends ``(function, args)`` to an idle worker and reads messages back:
progress reports, then the result or the exception. The caller relays the
first call's progress on its own thread (Streamlit's elements only work from
their session's script thread), and when the caller is itself interrupted (a
Streamlit rerun) it sends "stop" to its busy workers, which stop at their
next progress report, so abandoned work does not keep the cores busy.
"""
from __future__ import annotations

import atexit
import importlib
import os
import pickle
import select
import subprocess
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable

PROGRESS_POLL_S = 0.1  # how often the caller passes progress on while it waits
ROOT = Path(__file__).resolve().parents[1]  # the directory holding the core package
# The workers share the cores: each runs its BLAS on one thread (see core.blas).
WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Cancelled(Exception):
    """The caller stopped waiting for this call."""


class WorkerDied(RuntimeError):
    """A worker process ended in the middle of a call (killed for memory, say)."""


def available() -> bool:
    return os.name == "posix"  # select() on pipes, which the workers' stop check needs


def workers() -> int:
    from .blas import cpu_count
    return cpu_count()


# ------------------------------------------------------------------- the worker's side
def serve() -> None:
    """A worker's loop: read a call, run it, write back its messages; end when the parent closes stdin."""
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the protocol

    def send(msg):
        pickle.dump(msg, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    while True:
        try:
            msg = pickle.load(inp)
        except EOFError:
            return
        if msg[0] != "call":  # a "stop" that came after its call had ended
            continue
        _, module, name, args, report = msg

        def progress(epoch: int, epochs: int):
            if report:
                send(("progress", epoch, epochs))
            # The only message that can arrive during a call is "stop". (If it came so soon that it sits in
            # inp's buffer already, select misses it and the call runs to its end: slower, never wrong.)
            if select.select([inp], [], [], 0)[0]:
                pickle.load(inp)
                raise Cancelled

        try:
            send(("done", getattr(importlib.import_module(module), name)(*args, progress=progress)))
        except Cancelled:
            send(("cancelled",))
        except Exception as e:  # noqa: BLE001 - the caller re-raises it
            try:
                pickle.dumps(e)
            except Exception:  # noqa: BLE001
                e = RuntimeError(repr(e))
            send(("error", e, traceback.format_exc()))


# ------------------------------------------------------------------- the caller's side
class Worker:
    def __init__(self):
        env = dict(os.environ, **WORKER_ENV)
        # the modules the caller sees (a test module, the dashboard's folder), core's folder first
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in sys.path if p and os.path.isdir(p)])
        self.proc = subprocess.Popen([sys.executable, "-c", "from core.workers import serve; serve()"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=str(ROOT))
        self.write_lock = threading.Lock()

    def send(self, msg) -> None:
        try:
            with self.write_lock:
                pickle.dump(msg, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                self.proc.stdin.flush()
        except (OSError, ValueError) as e:  # a broken pipe, or a closed one
            self.close()
            raise WorkerDied(f"a training worker ended (exit code {self.proc.poll()})") from e

    def recv(self):
        try:
            return pickle.load(self.proc.stdout)
        except (EOFError, pickle.UnpicklingError, OSError) as e:
            self.close()
            raise WorkerDied(f"a training worker ended (exit code {self.proc.poll()})") from e

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self, kill: bool = False) -> None:
        """End the worker: closing its stdin ends an idle one at once; ``kill`` ends a busy one too."""
        if kill and self.alive:
            self.proc.kill()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


_cond = threading.Condition()
_idle: list[Worker] = []
_all: set[Worker] = set()  # started and not known dead, idle or busy
_dispatch = ThreadPoolExecutor(thread_name_prefix="initlab-dispatch")


def _acquire() -> Worker:
    with _cond:
        while True:
            while _idle:
                w = _idle.pop()
                if w.alive:
                    return w
                _all.discard(w)
            if len(_all) < workers():
                w = Worker()
                _all.add(w)
                return w
            _cond.wait()


def _release(w: Worker) -> None:
    with _cond:
        if w.alive:
            _idle.append(w)
        else:
            _all.discard(w)
        _cond.notify()


def pids() -> list[int]:
    """Process ids of the workers now running."""
    with _cond:
        return [w.proc.pid for w in _all if w.alive]


def warm() -> None:
    """Start every worker now (their imports take about a second, in the background), so that the first
    training does not wait for them."""
    started = [_acquire() for _ in range(workers())]
    for w in started:
        _release(w)


@atexit.register
def _shutdown() -> None:
    with _cond:
        for w in _idle:
            w.close()
        _idle.clear()


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
                w.close(kill=True)  # out of step with the protocol: never reuse it
            _release(w)

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            for w in self.busy:
                try:
                    w.send(("stop",))
                except WorkerDied:  # its task finds out by itself
                    pass


def run(fn, calls: list[tuple], progress: Callable[[int, int], None] | None = None) -> list:
    """``[fn(*args, progress=...) for args in calls]``, each call in a worker process, in parallel.

    ``fn`` must be a module-level function of an importable module, taking a
    ``progress(epoch, epochs)`` keyword that it calls now and then: the first
    call's reports are passed on to ``progress`` from this thread, and the
    calls stop there (raising Cancelled) once this caller has stopped waiting.
    Raises WorkerDied if a worker ended during its call; the next call starts a
    fresh one.
    """
    if fn.__module__ == "__main__":  # a worker cannot import the caller's main module
        raise ValueError(f"workers.run: {fn.__qualname__} is defined in __main__; it must live in an importable module")
    call = _Call()
    futures = [_dispatch.submit(call.task, fn, args, i == 0) for i, args in enumerate(calls)]
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
        if not all(f.done() for f in futures):
            for f in futures:
                f.cancel()
            call.stop()
