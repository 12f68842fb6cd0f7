"""A fresh local dashboard server and a headless Chromium, for the browser benches.

Only loopback traffic: the server listens on 127.0.0.1 and the browser is
started with background networking off (this machine has no other network).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def chromium_pids() -> set[int]:
    """The pids of the Chromium browser processes (not renderers) running now."""
    out = set()
    for p in psutil.process_iter(["name", "cmdline"]):
        try:
            if "chrom" in (p.info["name"] or "") and not any(a.startswith("--type=") for a in p.info["cmdline"] or []):
                out.add(p.pid)
        except psutil.Error:
            pass
    return out


def set_priority(pid: int, nice: int) -> None:
    """Set the CPU priority of a browser and its renderers (nice 19: the lowest; 0: the default), its
    session's weight too.

    The many-visitors bench runs every visitor's browser on the server's own cores. The browsers of the
    visitors it does not time are another machine's business in real life: once their pages are up they go
    to nice 19 and only take CPU that nothing else here wants, so the times it reports are the server's and
    the timed visitor's; they come back to 0 to close their tabs, as a visitor's own machine would at once.
    (Playwright starts a browser in a session of its own, and Linux shares the CPU fairly between sessions
    (autogroups) whatever their processes' nice values: the session's weight is set as well. Raising a
    priority again needs root, which the benches run as.)"""
    root = psutil.Process(pid)
    for p in [root, *root.children(recursive=True)]:
        try:
            os.setpriority(os.PRIO_PROCESS, p.pid, nice)
        except (OSError, psutil.Error):
            pass
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except OSError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(timeout: float = 60.0, log: Path | None = None, script: str = "dashboard.py"):
    """Yield (base_url, process) for a freshly started `streamlit run dashboard.py` (or ``script``, a path
    from the project's root).

    ``log`` receives the server's stdout and stderr. The server runs in its own
    process group, which is ended as a whole on exit.
    """
    port = free_port()
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                tail = log.read_text()[-3000:] if log else ""
                raise RuntimeError(f"the dashboard server did not start{f'; its log ends:{chr(10)}{tail}' if log else ''}")
            time.sleep(0.2)
        yield base, proc
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        if log:
            out.close()


def _tree(pid: int) -> list[psutil.Process]:
    p = psutil.Process(pid)
    return [p, *p.children(recursive=True)]


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (the server and its training workers)."""
    total = 0
    for p in _tree(pid):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) used so far by a process and each of its living descendants, by pid."""
    out = {}
    for p in _tree(pid):
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
        except psutil.Error:
            pass
    return out


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two ``tree_cpu`` snapshots by the processes alive at the second (one that
    ended meanwhile no longer counts: its last seconds are lost, never negative)."""
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


class PeakRSS:
    """Polls the resident memory of a process (and its children) in a thread."""

    def __init__(self, pid: int, every: float = 0.05):
        self.proc, self.every, self.peak = psutil.Process(pid), every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                rss = self.proc.memory_info().rss + sum(c.memory_info().rss for c in self.proc.children(True))
                self.peak = max(self.peak, rss)
            except psutil.Error:
                pass
            time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
