"""A run's control block: the stop and pause flags its training checks between steps.

The block is one byte in a small memory-mapped file, so whoever trains can read it, wherever that is: this
process, a ``core.runtime.workers`` process, or any other pool that can pickle a path (a Control pickles as its
path and maps the file again on the other side). The scheduler sets the flags; the trainer calls ``check``
once per optimizer step, per curve evaluation and per probe record. A check costs one byte read while no
flag is set, so it can sit in the hot loop; a set stop flag makes the next check raise ``Stopped`` and a set
pause flag makes it wait until the flag clears (the run's arrays stay where they are, so a paused and
resumed run computes exactly the numbers of an uninterrupted one).

A run that does not check (stuck in a long NumPy call, say) can be ended harder: ``kill`` calls the
functions registered with ``on_kill`` (``core.runtime.workers`` registers one that kills the worker processes of the
run).
"""
from __future__ import annotations

import atexit
import mmap
import os
import shutil
import tempfile
import threading
import time
from typing import Callable

STOP = 1
PAUSE = 2
PAUSE_POLL_S = 0.02  # how often a paused run looks at its flags again
_SIZE = mmap.PAGESIZE

_dir_lock = threading.Lock()
_dir: str | None = None


def _blocks_dir() -> str:
    """A private directory for this process's control blocks, in memory where the system has one."""
    global _dir
    with _dir_lock:
        if _dir is None:
            base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
            _dir = tempfile.mkdtemp(prefix="initlab-control-", dir=base)
            atexit.register(shutil.rmtree, _dir, True)
        return _dir


def map_block(path: str | None, size: int, prefix: str) -> tuple[str, mmap.mmap | None]:
    """(path, map) of a zero-filled block of ``size`` bytes shared through a file: a new one in this process's
    blocks directory (``path`` None; its name starts with ``prefix``), or the one another process made at
    ``path``. The map is None when that file is gone: its owner has ended (Control and workers.Board then map an
    anonymous block that says so)."""
    if path is None:
        fd, path = tempfile.mkstemp(prefix=prefix, dir=_blocks_dir())
        os.ftruncate(fd, size)
    else:
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return path, None
    try:
        return path, mmap.mmap(fd, size)
    finally:
        os.close(fd)


class Stopped(Exception):
    """The run was asked to stop (its control block's stop flag is set)."""


class Control:
    """Stop and pause flags shared by the process that owns a run and the one that trains it."""

    def __init__(self, path: str | None = None):
        self._owner = path is None
        self._kill_hooks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self.path, self._mm = map_block(path, _SIZE, "run-")
        if self._mm is None:
            # a call that starts after its run ended (its owner removed the block): it must unpickle all the same,
            # since loky breaks the whole pool, other runs' calls included, on a task that does not; then it sees
            # itself stopped
            self._mm = mmap.mmap(-1, _SIZE)
            self._mm[0] = STOP

    # A Control travels as its path: the other side maps the same file.
    def __reduce__(self):
        return (Control, (self.path,))

    # ---- the owner's side
    def _set(self, flag: int, on: bool) -> None:
        with self._lock:
            if self._mm.closed:  # the run has ended: nothing left to stop or pause
                return
            value = self._mm[0]
            self._mm[0] = value | flag if on else value & ~flag

    def stop(self) -> None:
        self._set(STOP, True)

    def pause(self) -> None:
        self._set(PAUSE, True)

    def resume(self) -> None:
        self._set(PAUSE, False)

    @property
    def stopped(self) -> bool:
        return bool(self._mm[0] & STOP)

    @property
    def paused(self) -> bool:
        return bool(self._mm[0] & PAUSE)

    def on_kill(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Register ``hook`` for ``kill``; returns a function that unregisters it."""
        with self._lock:
            self._kill_hooks.append(hook)

        def remove():
            with self._lock:
                if hook in self._kill_hooks:
                    self._kill_hooks.remove(hook)
        return remove

    def kill(self) -> None:
        """Stop, and end now whatever registered a kill hook (the run's worker processes)."""
        self.stop()
        with self._lock:
            hooks = list(self._kill_hooks)
        for hook in hooks:
            hook()

    def close(self) -> None:
        """Unmap the block; the owner also deletes its file (a trainer that still has it mapped keeps it)."""
        with self._lock:
            try:
                self._mm.close()
            except (BufferError, ValueError):
                pass
        if self._owner:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    # ---- the trainer's side
    def check(self) -> None:
        """Return at once while no flag is set; raise Stopped once stop is set; wait while paused."""
        if self._mm[0]:
            self._wait()

    def _wait(self) -> None:
        while True:
            flags = self._mm[0]
            if flags & STOP:
                raise Stopped("the run was stopped")
            if not flags & PAUSE:
                return
            time.sleep(PAUSE_POLL_S)
