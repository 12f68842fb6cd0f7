"""Training runs for many visitors at once: one queue per server, the shortest remaining work first.

A public server has a couple of cores and many visitors. A visitor who opens a heavy link must neither make
a light one wait minutes nor keep the cores busy once gone. So a run does not belong to the session that
asked for it:

- A run is a ``Job``, keyed by what it computes (a configuration). Sessions *subscribe* to it and wait on
  it; a classroom opening one link shares one run. When its last subscriber leaves, the job is stopped after
  ``grace_s`` (a page switch re-subscribes within it). A session waits for one run at a time: when it
  subscribes to another key, the job it left is stopped at once if nobody else waits for it.
- ``plan`` decides which jobs run: shortest estimated remaining time first (SRPT), each taking the cores it
  trains on. A running job that no longer fits is *paused* through its control block (core.runtime.control: its
  training waits at its next step, its arrays stay where they are) and resumed when its turn comes back, so
  a short run is never stuck behind long ones. A job starts only if the memory estimates of the jobs already
  started (running or paused: a paused job keeps its arrays) plus its own stay within ``memory_mb``, and at
  most ``max_started`` jobs hold memory at once. A paused job does not hold its place against a shorter one
  that cores are free for: when only the memory or the places that paused jobs hold keep a shorter job from
  starting, the longest of them gives them up (``evictions``): it is stopped and queued again, to start over
  when its turn comes (a paused run's arrays are the memory; keeping them would lock newcomers out).
- The monitor thread also drops the tickets of sessions that are gone (``alive``), so a closed tab stops its
  run even when the session's own thread is slow to notice.
- A job's running time, not its time queued or paused, is capped at ``run_seconds``; past it the job is
  stopped and its subscribers get ``JobStopped`` saying so. A stopped job that has not ended ``kill_after_s``
  later is killed (``Control.kill``: its worker processes).

Nothing here knows about Streamlit or training: a job's work is a function of the job (it checks
``job.control`` and calls ``job.report``), so the policy is tested with fake jobs.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Hashable

from core.runtime.control import Control, Stopped

LOG = logging.getLogger("initlab")


def _short(key: Hashable) -> str:
    """A job's key for the log: a configuration's run id, or the key itself."""
    return str(getattr(key, "run_id", key))

GRACE_S = 0.5  # a job nobody waits for is stopped this long after its last subscriber left
KILL_AFTER_S = 2.0  # a stopped job still running this long after is killed
TICK_S = 0.1  # how often the monitor looks at caps, orphans and progress
EVICT_MARGIN = 1.25  # a paused job gives up its place only to a job this much shorter than those it competes with


class JobStopped(Exception):
    """A job was stopped before its end: ``reason`` is "cancelled" (nobody waited for it any more) or "time"
    (its running time passed ``limit_s``)."""

    def __init__(self, reason: str, limit_s: float | None = None):
        super().__init__(reason if limit_s is None else f"{reason} (limit {limit_s:g} s)")
        self.reason, self.limit_s = reason, limit_s


@dataclass(frozen=True)
class JobSpec:
    """What a new job needs: its work and its estimates (seconds of running time, MB of memory, cores)."""
    work: Callable[["Job"], Any]
    seconds: float
    memory_mb: float
    cores: int = 1


@dataclass(frozen=True)
class Slot:
    """A job as ``plan`` sees it."""
    key: Hashable
    remaining_s: float
    cores: int
    memory_mb: float
    started: bool  # it holds memory: running, paused or stopping
    pausable: bool  # it can be paused now (training); a job past training or stopping cannot
    seq: int  # arrival order, the tie-break


def plan(slots: list[Slot], cores: int, memory_mb: float, max_started: int) -> set[Hashable]:
    """The keys of the jobs to run now: shortest remaining time first, while cores are free, starting a new
    job only while the memory of the started ones plus its own fits ``memory_mb`` (or nothing is started) and
    fewer than ``max_started`` are started. A started job that is not chosen is to be paused."""
    run: set[Hashable] = set()
    free = cores
    started = [s for s in slots if s.started]
    held = sum(s.memory_mb for s in started)
    n_started = len(started)
    for s in started:
        if not s.pausable:  # it goes on whatever the plan says: its cores are taken
            run.add(s.key)
            free -= min(s.cores, cores)
    for s in sorted(slots, key=lambda s: (s.remaining_s, s.seq)):
        need = min(s.cores, cores)
        if s.key in run or need > free:
            continue
        if not s.started:
            if n_started and (held + s.memory_mb > memory_mb or n_started >= max_started):
                continue
            held += s.memory_mb
            n_started += 1
        run.add(s.key)
        free -= need
    return run


def evictions(slots: list[Slot], cores: int, memory_mb: float, max_started: int) -> set[Hashable]:
    """The paused jobs (started, left out by ``plan``) that give up their memory and place (stopped, to be
    queued again) so that the shortest waiting job can start: the longest first, each longer than that job,
    as few as ``plan`` then needs to run it. A running job keeps its place. Empty when no job waits or giving
    them up would not make it run."""
    run = plan(slots, cores, memory_mb, max_started)
    waiting = [s for s in slots if not s.started and s.key not in run]
    if not waiting:
        return set()
    first = min(waiting, key=lambda s: (s.remaining_s, s.seq))
    longer = sorted((s for s in slots if s.started and s.pausable and s.key not in run
                     and s.remaining_s > first.remaining_s),
                    key=lambda s: (-s.remaining_s, -s.seq))
    # with a margin: progress reported late can shorten a paused job's remaining time after the eviction, and
    # a near tie would then resume it instead of starting the job its victim gave way to
    margin = replace(first, remaining_s=first.remaining_s * EVICT_MARGIN)
    out: set[Hashable] = set()
    for s in longer:
        out.add(s.key)
        if first.key in plan([margin if s is first else s for s in slots if s.key not in out], cores, memory_mb,
                             max_started):
            return out
    return set()


@dataclass(frozen=True)
class Status:
    state: str  # queued, running, paused, stopping, done
    place: int  # 0 while running; else 1 + the jobs waiting ahead of it
    wait_s: float  # estimated seconds before it runs (0 while running)
    remaining_s: float  # estimated running seconds left
    progress: float  # 0 .. 1, of training
    ran_s: float  # running time so far (what run_seconds caps)


class Job:
    def __init__(self, key: Hashable, spec: JobSpec, seq: int):
        self.key, self.spec, self.seq = key, spec, seq
        self.state = "queued"
        self.control: Control | None = None
        self.tickets: set[int] = set()
        self.orphaned_at: float | None = None
        self.progress = 0.0
        self.training_done = False
        self.ran = 0.0  # running seconds before resumed_at
        self.resumed_at: float | None = None
        self.stop_reason: JobStopped | None = None
        self.stop_requested_at: float | None = None
        self.killed = False
        self.value = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.requeued = False  # stopped to give up its memory and place: queued again when its thread ends

    def start_over(self) -> None:
        """Back to the queue, as new (its thread has ended)."""
        self.state, self.control, self.requeued = "queued", None, False
        self.progress, self.training_done, self.ran, self.resumed_at = 0.0, False, 0.0, None

    # ---- called by the work, on the job's thread
    def report(self, done: int, total: int) -> None:
        """Training progress: ``done`` of ``total`` (epochs). At the end the job cannot be paused any more
        (what follows, building tables, does not check its control block) and needs one core."""
        self.progress = min(1.0, done / max(total, 1))
        if done >= total:
            self.training_done = True

    def ran_s(self, now: float) -> float:
        return self.ran + (now - self.resumed_at if self.resumed_at is not None else 0.0)

    def remaining_s(self, now: float) -> float:
        """Estimated running seconds left: the estimate's share not done yet. (Not the job's own pace: on a
        busy server every job is slower than estimated, and mixing paces with estimates would let a fresh
        job overtake one half done, then the other way round, each holding its memory.)"""
        return max(0.0, self.spec.seconds * (1.0 - self.progress))

    @property
    def cores(self) -> int:
        return 1 if self.training_done else self.spec.cores


class Ticket:
    """One subscriber's hold on a job."""

    def __init__(self, scheduler: "Scheduler", job: Job, session: Hashable, ident: int):
        self.scheduler, self.job, self.session, self.id = scheduler, job, session, ident

    def wait(self, timeout: float | None = None) -> bool:
        return self.job.done.wait(timeout)

    def status(self) -> Status:
        return self.scheduler.status(self)

    def result(self):
        """The job's value; its error if it failed; JobStopped if it was stopped."""
        self.job.done.wait()
        if self.job.error is not None:
            raise self.job.error
        return self.job.value

    def close(self) -> None:
        self.scheduler.unsubscribe(self)


class Scheduler:
    def __init__(self, cores: int, memory_mb: float, max_started: int, run_seconds: float | None = None,
                 grace_s: float = GRACE_S, kill_after_s: float = KILL_AFTER_S, tick_s: float = TICK_S,
                 clock: Callable[[], float] = time.monotonic, monitor: bool = True,
                 alive: Callable[[Hashable], bool] | None = None):
        self.cores, self.memory_mb, self.max_started = max(1, cores), memory_mb, max(1, max_started)
        self.run_seconds, self.grace_s, self.kill_after_s, self.tick_s = run_seconds, grace_s, kill_after_s, tick_s
        self.clock = clock
        # whether a session is still there (its tab open): the monitor drops the tickets of one that is not,
        # without waiting for that session's own thread to notice
        self.alive = alive
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._jobs: dict[Hashable, Job] = {}  # live jobs by key
        self._dying: list[Job] = []  # stopped, their thread not ended yet: they still hold cores and memory
        self._tickets: dict[int, Ticket] = {}
        self._session_job: dict[Hashable, Job] = {}  # the job each session subscribed to last
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._monitor = monitor
        self._monitor_thread: threading.Thread | None = None
        # counters, for the benches and the tests
        self.started = self.finished = self.stopped = self.paused = self.killed = self.requeues = 0

    # ---- subscribers
    def subscribe(self, key: Hashable, session: Hashable | None, spec: Callable[[], JobSpec]) -> Ticket:
        """Wait for ``key``'s job, creating it from ``spec()`` if none is live. ``session`` identifies the
        visitor (None: an anonymous caller of its own)."""
        with self._lock:
            if session is None:
                session = ("anonymous", next(self._ids))
            previous = self._session_job.get(session)
            if previous is not None and previous.key != key:
                for t in [t for t in self._tickets.values() if t.job is previous and t.session == session]:
                    self._drop(t)  # a session waits for one run at a time
                if not previous.tickets:
                    self._stop(previous, JobStopped("cancelled"))
            job = self._jobs.get(key)
            if job is None:
                job = self._jobs[key] = Job(key, spec(), next(self._seq))
            ticket = Ticket(self, job, session, next(self._ids))
            self._tickets[ticket.id] = ticket
            job.tickets.add(ticket.id)
            job.orphaned_at = None
            self._session_job[session] = job
            self._replan()
            self._ensure_monitor()
            self._wake.notify_all()
            return ticket

    def unsubscribe(self, ticket: Ticket) -> None:
        with self._lock:
            self._drop(ticket)
            if self._session_job.get(ticket.session) is ticket.job and ticket.job.done.is_set():
                del self._session_job[ticket.session]

    def _drop(self, ticket: Ticket) -> None:
        if self._tickets.pop(ticket.id, None) is None:
            return
        job = ticket.job
        job.tickets.discard(ticket.id)
        if not job.tickets and not job.done.is_set():
            job.orphaned_at = self.clock()
            self._wake.notify_all()

    def status(self, ticket: Ticket) -> Status:
        with self._lock:
            now = self.clock()
            job = ticket.job
            ran, left = job.ran_s(now), job.remaining_s(now)
            if job.requeued:  # it gave up its place: it starts over when its turn comes back
                left, ran = job.spec.seconds, 0.0
            elif job.done.is_set() or job.state in ("running", "stopping"):
                return Status("done" if job.done.is_set() else job.state, 0, 0.0, left, job.progress, ran)
            # Ahead of it: what cannot pause, and what is shorter. Their work over the cores is the wait (a
            # shorter job arriving later cuts in: an estimate, not a promise).
            ahead = [j for j in self._all() if j is not job and not j.requeued and (
                j.state == "stopping" or (j.state == "running" and j.training_done)
                or (j.remaining_s(now), j.seq) < (left, job.seq))]
            place = 1 + sum(1 for j in ahead if j.state in ("queued", "paused"))
            work = sum(j.remaining_s(now) * min(j.cores, self.cores) for j in ahead)
            state = "queued" if job.requeued else job.state
            return Status(state, place, work / self.cores, left, 0.0 if job.requeued else job.progress, ran)

    def _all(self) -> list[Job]:
        return [*self._jobs.values(), *self._dying]

    def jobs(self) -> list[tuple[Hashable, str]]:
        """(key, state) of every job not ended, for the benches and the tests."""
        with self._lock:
            return [(j.key, j.state) for j in self._all()]

    # ---- the policy, applied
    def _replan(self) -> None:
        now = self.clock()
        # A queued job nobody waits for (its tab closed; within the grace a page switch may subscribe again)
        # is not started: it would only be stopped once the grace is over.
        jobs = [j for j in self._all() if j.tickets or j.state != "queued"]
        slots = [Slot(j.key if j in self._jobs.values() else ("dying", j.seq), j.remaining_s(now), j.cores,
                      j.spec.memory_mb, j.state != "queued", j.state in ("running", "paused") and not j.training_done,
                      j.seq) for j in jobs]
        chosen = plan(slots, self.cores, self.memory_mb, self.max_started)
        evicted = evictions(slots, self.cores, self.memory_mb, self.max_started)
        for job, slot in zip(jobs, slots):
            if slot.key in evicted:
                self._give_up(job)
                continue
            if job.state == "queued" and slot.key in chosen:
                self._start(job, now)
            elif job.state == "paused" and slot.key in chosen:
                job.control.resume()
                job.state, job.resumed_at = "running", now
                LOG.info("job %s: resumed", _short(job.key))
            elif job.state == "running" and slot.key not in chosen:
                job.control.pause()
                LOG.info("job %s: paused (%.1f s estimated left) for shorter ones", _short(job.key),
                         job.remaining_s(now))
                job.ran, job.resumed_at, job.state = job.ran_s(now), None, "paused"
                self.paused += 1

    def _give_up(self, job: Job) -> None:
        """Stop paused ``job`` to free its memory and place; its thread's end queues it again."""
        LOG.info("job %s: paused job gives up its memory for a shorter one; it will start over", _short(job.key))
        job.requeued, job.training_done = True, True  # not pausable: it holds its place until its thread ends
        job.state, job.resumed_at = "stopping", None
        job.control.stop()
        self.requeues += 1

    def _start(self, job: Job, now: float) -> None:
        job.control = Control()
        job.state, job.resumed_at = "running", now
        self.started += 1
        threading.Thread(target=self._run, args=(job,), name="initlab-job", daemon=True).start()

    def _run(self, job: Job) -> None:
        value, error = None, None
        control = job.control
        try:
            value = job.spec.work(job)
        except Stopped:
            error = job.stop_reason or JobStopped("cancelled")
        except BaseException as e:  # noqa: BLE001 - handed to the subscribers
            error = job.stop_reason if job.stop_reason is not None else e
        with self._lock:
            if job.requeued and job.stop_reason is None and self._jobs.get(job.key) is job:
                job.start_over()
                self._replan()
                self._wake.notify_all()
                control.close()
                return
            if self._jobs.get(job.key) is job:
                del self._jobs[job.key]
            if job in self._dying:
                self._dying.remove(job)
            job.ran, job.resumed_at = job.ran_s(self.clock()), None
            job.value, job.error = (value, None) if error is None else (None, error)
            job.state = "done"
            if error is None:
                self.finished += 1
            else:
                self.stopped += isinstance(error, JobStopped)
            for session, j in list(self._session_job.items()):
                if j is job and not any(t.session == session for t in self._tickets.values() if t.job is job):
                    del self._session_job[session]
            job.done.set()
            self._replan()
        control.close()

    def _stop(self, job: Job, reason: JobStopped) -> None:
        """Stop ``job``: a queued one ends at once, a started one at its next check."""
        if job.done.is_set() or job.stop_reason is not None:
            return
        job.stop_reason = reason
        if self._jobs.get(job.key) is job:
            del self._jobs[job.key]
        if job.state == "queued":
            job.error, job.state = reason, "done"
            self.stopped += 1
            job.done.set()
        else:
            if job.state == "running":
                job.ran, job.resumed_at = job.ran_s(self.clock()), None
            job.state, job.stop_requested_at = "stopping", self.clock()
            job.training_done = True  # no longer pausable: it holds its cores until it ends
            job.control.stop()
            self._dying.append(job)
        self._replan()

    # ---- the monitor: orphans, time caps, kills
    def tick(self) -> None:
        """One look at every job: stop orphans past the grace and runs past the time cap, kill stopped runs
        that did not end, and re-plan (remaining times change as jobs progress)."""
        with self._lock:
            if self.alive is not None:
                for t in [t for t in self._tickets.values() if not self.alive(t.session)]:
                    self._drop(t)
            now = self.clock()
            for job in list(self._jobs.values()):
                if job.orphaned_at is not None and now - job.orphaned_at >= self.grace_s:
                    LOG.info("job %s: nobody waits for it any more, stopping (%s)", _short(job.key), job.state)
                    self._stop(job, JobStopped("cancelled"))
                elif self.run_seconds is not None and job.state == "running" and job.ran_s(now) > self.run_seconds:
                    self._stop(job, JobStopped("time", self.run_seconds))
            for job in self._dying:
                if not job.killed and now - job.stop_requested_at >= self.kill_after_s:
                    job.killed = True
                    self.killed += 1
                    threading.Thread(target=job.control.kill, name="initlab-kill", daemon=True).start()
            self._replan()

    def _ensure_monitor(self) -> None:
        if self._monitor and (self._monitor_thread is None or not self._monitor_thread.is_alive()):
            self._monitor_thread = threading.Thread(target=self._watch, name="initlab-scheduler", daemon=True)
            self._monitor_thread.start()

    def _watch(self) -> None:
        with self._lock:
            while True:
                if not self._jobs and not self._dying:
                    self._wake.wait()
                    continue
                self._wake.wait(self.tick_s)
                self.tick()
