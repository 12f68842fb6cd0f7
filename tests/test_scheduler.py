"""app.scheduler's policy with fake jobs: order, preemption, memory admission, one run per session,
cancellation when the last subscriber leaves, the time cap, the kill fallback.

The scheduler runs with a fake clock and no monitor thread: the tests call ``tick`` themselves, so every
decision is deterministic. Only the jobs' own threads are real (their work is a loop over the control
block); ``until`` waits for them with a generous timeout that only guards against a hang.
"""
from __future__ import annotations

import threading
import time

import pytest

from core.runtime.control import Stopped
from app.scheduler import JobSpec, JobStopped, Scheduler, Slot, evictions, plan


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def until(predicate, timeout=20.0):
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        time.sleep(0.002)


class FakeWork:
    """A job's work: checks its control block in a loop until ``finish`` is set, then returns ``value``.
    Counts its checks and records whether it was stopped."""

    def __init__(self, value="done"):
        self.value, self.finish, self.checks, self.stopped, self.started = value, threading.Event(), 0, False, threading.Event()

    def __call__(self, job):
        self.started.set()
        try:
            while not self.finish.is_set():
                job.control.check()
                self.checks += 1
                time.sleep(0.001)
        except Stopped:
            self.stopped = True
            raise
        job.report(1, 1)
        return self.value


def spec(work, seconds=1.0, memory_mb=10.0, cores=1):
    return lambda: JobSpec(work, seconds, memory_mb, cores)


def make(clock=None, **kw):
    args = dict(cores=2, memory_mb=1000.0, max_started=3, run_seconds=None, grace_s=0.5, kill_after_s=2.0)
    args.update(kw)
    return Scheduler(clock=clock or Clock(), monitor=False, **args)


def states(s):
    return dict(s.jobs())


# ------------------------------------------------------------------ the policy alone
def slot(key, remaining, cores=1, mem=10.0, started=False, pausable=True, seq=0):
    return Slot(key, remaining, cores, mem, started, pausable, seq)


def test_plan_runs_the_shortest_first_and_pauses_a_longer_running_job():
    heavy = slot("heavy", 100, cores=2, started=True, seq=0)
    small = slot("small", 1, cores=1, seq=1)
    assert plan([heavy, small], cores=2, memory_mb=1000, max_started=3) == {"small"}
    # the second core is given to the next shortest job that fits in it
    medium = slot("medium", 50, cores=1, seq=2)
    assert plan([heavy, small, medium], cores=2, memory_mb=1000, max_started=3) == {"small", "medium"}
    # alone, the heavy job gets both cores back
    assert plan([heavy], cores=2, memory_mb=1000, max_started=3) == {"heavy"}


def test_plan_keeps_a_job_that_cannot_pause_and_breaks_ties_by_arrival():
    building = slot("building", 100, cores=1, started=True, pausable=False, seq=0)
    a, b = slot("a", 5, seq=1), slot("b", 5, seq=2)
    assert plan([building, a, b], cores=2, memory_mb=1000, max_started=3) == {"building", "a"}


def test_plan_starts_a_job_only_within_the_memory_and_count_of_started_jobs():
    paused = slot("paused", 100, cores=2, mem=800, started=True)
    fits, too_big = slot("fits", 2, mem=150, seq=1), slot("too_big", 1, mem=300, seq=2)
    assert plan([paused, fits, too_big], cores=2, memory_mb=1000, max_started=3) == {"fits"}
    assert plan([paused, fits], cores=2, memory_mb=1000, max_started=1) == {"paused"}  # one job may hold memory
    # a job larger than the whole allowance still runs when nothing else holds memory
    assert plan([slot("huge", 1, mem=5000)], cores=2, memory_mb=1000, max_started=3) == {"huge"}


def test_evictions_free_the_places_of_the_longest_paused_jobs_for_a_shorter_one():
    a = slot("a", 100, cores=2, mem=300, started=True, seq=0)
    b = slot("b", 90, cores=2, mem=300, started=True, seq=1)
    c = slot("c", 80, cores=2, mem=300, started=True, seq=2)
    small = slot("small", 1, mem=50, seq=3)
    assert plan([a, b, c, small], cores=2, memory_mb=1000, max_started=3) == {"c"}  # the lockout
    assert evictions([a, b, c, small], cores=2, memory_mb=1000, max_started=3) == {"a"}
    # memory, not places: the two longest give up theirs
    assert evictions([a, b, c, slot("big", 1, mem=600, seq=3)], cores=2, memory_mb=1000, max_started=9) == {"a", "b"}
    # nothing is given up for a job that is not shorter, or for one the cores are not free for anyway
    assert evictions([a, b, c, slot("long", 200, seq=3)], cores=2, memory_mb=1000, max_started=3) == set()
    shorter = slot("shorter", 0.5, cores=2, mem=10, started=True, seq=4)  # the cores are its, rightly
    assert evictions([a, b, shorter, small], cores=2, memory_mb=1000, max_started=3) == set()
    assert evictions([a, b, c], cores=2, memory_mb=1000, max_started=3) == set()
    # a near tie with the job that has the cores: a late progress report could flip it, so nothing is given up
    tie = slot("tie", 75, cores=2, mem=50, seq=5)
    assert evictions([a, b, c, tie], cores=2, memory_mb=1000, max_started=3) == set()
    assert evictions([a, b, c, slot("clear", 60, cores=2, mem=50, seq=5)], cores=2, memory_mb=1000,
                     max_started=3) == {"a"}


# ------------------------------------------------------------------ the scheduler with fake jobs
def test_a_small_job_pauses_a_heavy_one_which_resumes_when_it_is_done():
    s = make()
    heavy_work, small_work = FakeWork("heavy"), FakeWork("small")
    heavy = s.subscribe("heavy", "alice", spec(heavy_work, seconds=100, cores=2))
    until(heavy_work.started.is_set)
    assert states(s) == {"heavy": "running"}
    small = s.subscribe("small", "bob", spec(small_work, seconds=1, cores=1))
    assert states(s) == {"heavy": "paused", "small": "running"}
    assert heavy.job.control.paused
    status = heavy.status()
    assert status.state == "paused" and status.place == 1 and status.wait_s > 0
    small_work.finish.set()
    assert small.result() == "small"
    assert states(s) == {"heavy": "running"} and not heavy.job.control.paused
    heavy_work.finish.set()
    assert heavy.result() == "heavy"
    assert s.paused == 1 and s.finished == 2 and s.stopped == 0


def test_paused_jobs_do_not_lock_a_new_small_job_out():
    """Three heavy runs arriving one after the other, each shorter than the one before, pause each other and
    hold every place: a small run arriving next starts at once, the longest paused run giving up its place
    (queued again, it starts over later and still finishes)."""
    s = make(max_started=3)
    heavy = {name: FakeWork(name) for name in ("h1", "h2", "h3")}
    tickets = {}
    for i, name in enumerate(heavy):
        tickets[name] = s.subscribe(name, f"visitor{i}", spec(heavy[name], seconds=100 - 10 * i, cores=2))
        until(heavy[name].started.is_set)
    assert states(s) == {"h1": "paused", "h2": "paused", "h3": "running"}
    small_work = FakeWork("small")
    small = s.subscribe("small", "newcomer", spec(small_work, seconds=1, cores=1))
    until(small_work.started.is_set)  # without the eviction it waits for h3 to finish
    assert states(s)["small"] == "running" and states(s)["h1"] == "queued" and heavy["h1"].stopped
    assert tickets["h1"].status().state == "queued" and tickets["h1"].status().progress == 0
    assert s.requeues == 1 and not tickets["h1"].job.done.is_set()
    small_work.finish.set()
    assert small.result() == "small"
    for name in ("h3", "h2", "h1"):
        heavy[name].finish.set()
    heavy["h1"].finish.set()
    assert [tickets[n].result() for n in ("h1", "h2", "h3")] == ["h1", "h2", "h3"]
    assert s.stopped == 0 and s.finished == 4


def test_a_paused_job_does_not_work_until_resumed():
    s = make()
    heavy_work = FakeWork()
    heavy = s.subscribe("heavy", "alice", spec(heavy_work, seconds=100, cores=2))
    until(lambda: heavy_work.checks > 0)
    small_work = FakeWork()
    small = s.subscribe("small", "bob", spec(small_work, seconds=1))
    until(lambda: small_work.checks > 0)
    frozen = heavy_work.checks
    until(lambda: small_work.checks > frozen + 50)  # the small job went on meanwhile...
    assert heavy_work.checks <= frozen + 1  # ...and the paused one did at most the check it was in
    small_work.finish.set()
    small.result()
    until(lambda: heavy_work.checks > frozen + 1)
    heavy_work.finish.set()
    heavy.result()


def test_sessions_asking_for_the_same_key_share_one_job():
    s = make()
    work = FakeWork("shared")
    tickets = [s.subscribe("k", session, spec(work)) for session in ("a", "b", "c")]
    assert s.started == 1 and len({t.job for t in tickets}) == 1
    tickets[0].close()  # one leaves: the others still wait, nothing stops
    s.clock.now += 10
    s.tick()
    assert states(s) == {"k": "running"}
    work.finish.set()
    assert [t.result() for t in tickets[1:]] == ["shared", "shared"]


def test_a_job_nobody_waits_for_stops_after_the_grace():
    clock = Clock()
    s = make(clock)
    work = FakeWork()
    t = s.subscribe("k", "alice", spec(work))
    until(work.started.is_set)
    t.close()  # the tab closed
    clock.now += 0.4
    s.tick()
    assert states(s) == {"k": "running"}
    clock.now += 0.2
    s.tick()
    until(lambda: work.stopped)
    with pytest.raises(JobStopped) as info:
        t.result()
    assert info.value.reason == "cancelled"
    until(lambda: s.jobs() == [])
    assert s.stopped == 1 and s.finished == 0


def test_coming_back_within_the_grace_keeps_the_run():
    clock = Clock()
    s = make(clock)
    work = FakeWork("kept")
    t = s.subscribe("k", "alice", spec(work))
    t.close()  # a page switch: the script reruns...
    clock.now += 0.3
    t2 = s.subscribe("k", "alice", spec(work))  # ...and asks for the same run again
    clock.now += 5
    s.tick()
    assert t2.job is t.job and states(s) == {"k": "running"}
    work.finish.set()
    assert t2.result() == "kept" and s.started == 1


def test_a_session_that_moves_to_another_configuration_stops_its_previous_run_at_once():
    clock = Clock()
    s = make(clock, grace_s=1000.0)  # only the one-run-per-session rule can stop it
    first, second = FakeWork(), FakeWork("second")
    t1 = s.subscribe("first", "alice", spec(first))
    until(first.started.is_set)
    t1.close()  # the rerun raised inside the wait
    t2 = s.subscribe("second", "alice", spec(second))
    until(lambda: first.stopped)
    with pytest.raises(JobStopped):
        t1.result()
    second.finish.set()
    assert t2.result() == "second"


def test_a_run_another_session_waits_for_survives_its_first_session_moving_on():
    s = make(grace_s=1000.0)
    shared, other = FakeWork("shared"), FakeWork("other")
    t_alice = s.subscribe("shared", "alice", spec(shared))
    t_bob = s.subscribe("shared", "bob", spec(shared))
    t_alice.close()
    s.subscribe("other", "alice", spec(other))
    assert states(s)["shared"] == "running"
    shared.finish.set()
    other.finish.set()
    assert t_bob.result() == "shared" and not shared.stopped


def test_a_session_waits_for_one_run_at_a_time():
    s = make(grace_s=1000.0)
    a, b = FakeWork(), FakeWork("b")
    t1 = s.subscribe("a", "alice", spec(a))
    s.subscribe("b", "alice", spec(b))  # without closing t1 first: it is dropped, and its run stopped
    until(t1.job.done.is_set)
    with pytest.raises(JobStopped):
        t1.result()
    b.finish.set()


def test_the_time_cap_counts_running_time_only_and_stops_with_its_reason():
    clock = Clock()
    s = make(clock, run_seconds=10.0)
    heavy_work = FakeWork()
    heavy = s.subscribe("heavy", "alice", spec(heavy_work, seconds=100, cores=2))
    clock.now += 6
    small_work = FakeWork("small")
    small = s.subscribe("small", "bob", spec(small_work, seconds=1))  # pauses the heavy job
    clock.now += 100  # paused time does not count
    s.tick()
    assert states(s)["heavy"] == "paused"
    small_work.finish.set()
    small.result()
    assert states(s)["heavy"] == "running"
    clock.now += 3
    s.tick()
    assert states(s)["heavy"] == "running" and heavy.status().ran_s == pytest.approx(9.0)
    clock.now += 2
    s.tick()
    until(lambda: heavy_work.stopped)
    with pytest.raises(JobStopped) as info:
        heavy.result()
    assert info.value.reason == "time" and info.value.limit_s == 10.0


def test_queue_places_and_waits_follow_the_remaining_work():
    s = make(cores=1)
    works = {name: FakeWork(name) for name in ("a", "b", "c")}
    ta = s.subscribe("a", "s1", spec(works["a"], seconds=10))
    tc = s.subscribe("c", "s3", spec(works["c"], seconds=30))
    tb = s.subscribe("b", "s2", spec(works["b"], seconds=20))
    assert ta.status().state == "running" and ta.status().place == 0
    b, c = tb.status(), tc.status()
    assert (b.state, b.place, c.state, c.place) == ("queued", 1, "queued", 2)
    assert b.wait_s == pytest.approx(10) and c.wait_s == pytest.approx(30)
    for name in "abc":
        works[name].finish.set()
    assert [t.result() for t in (ta, tb, tc)] == ["a", "b", "c"]


def test_memory_admission_holds_a_job_back_while_cores_are_free():
    s = make(memory_mb=100.0)
    big, other = FakeWork("big"), FakeWork("other")
    tb = s.subscribe("big", "s1", spec(big, seconds=50, memory_mb=80))
    to = s.subscribe("other", "s2", spec(other, seconds=1, memory_mb=50))
    assert states(s) == {"big": "running", "other": "queued"}  # one core is free, the memory is not
    big.finish.set()
    tb.result()
    assert states(s) == {"other": "running"}
    other.finish.set()
    assert to.result() == "other"


def test_a_stopped_job_that_does_not_stop_is_killed():
    clock = Clock()
    s = make(clock)
    killed = threading.Event()

    def deaf(job):  # never checks its control block: only the kill hook ends it
        job.control.on_kill(killed.set)
        killed.wait(20)
        raise RuntimeError("killed")

    t = s.subscribe("deaf", "alice", spec(deaf))
    t.close()
    clock.now += 1
    s.tick()  # past the grace: stop requested
    assert states(s) == {"deaf": "stopping"}
    clock.now += 1.9
    s.tick()
    assert not killed.is_set()
    clock.now += 0.2
    s.tick()
    until(killed.is_set)
    with pytest.raises(JobStopped):
        t.result()
    until(lambda: s.jobs() == [])
    assert s.killed == 1


def test_a_failing_job_gives_every_subscriber_its_error_and_a_new_job_tries_again():
    s = make()
    both_joined = threading.Event()

    def bad(job):  # fails only once both subscribers share the job, so the second cannot start a fresh one
        both_joined.wait(5)
        raise ValueError("nope")

    t1, t2 = s.subscribe("k", "a", spec(bad)), s.subscribe("k", "b", spec(bad))
    both_joined.set()
    assert s.started == 1
    for t in (t1, t2):
        with pytest.raises(ValueError, match="nope"):
            t.result()
    until(lambda: s.jobs() == [])
    good = FakeWork("ok")
    t3 = s.subscribe("k", "c", spec(good))
    good.finish.set()
    assert t3.result() == "ok" and s.started == 2


def test_the_monitor_drops_the_tickets_of_sessions_that_are_gone():
    clock = Clock()
    gone = set()
    s = make(clock, alive=lambda session: session not in gone)
    work, other = FakeWork(), FakeWork("other")
    t = s.subscribe("k", "alice", spec(work))
    t_other = s.subscribe("k2", "bob", spec(other))
    gone.add("alice")  # her tab closed; her script thread has not noticed (it never unsubscribes here)
    s.tick()
    clock.now += 0.6
    s.tick()
    until(lambda: work.stopped)
    assert states(s) == {"k2": "running"}
    other.finish.set()
    assert t_other.result() == "other"
    with pytest.raises(JobStopped):
        t.result()


def test_a_queued_job_whose_tab_closed_is_not_started_when_cores_free_up():
    clock = Clock()
    s = make(clock)
    big, queued = FakeWork("big"), FakeWork("queued")
    t_big = s.subscribe("big", "alice", spec(big, seconds=10, cores=2))
    t_queued = s.subscribe("q", "bob", spec(queued, seconds=20, cores=2))  # longer: waits behind big
    assert states(s) == {"big": "running", "q": "queued"}
    t_queued.close()  # bob's tab closed while he waited
    big.finish.set()
    assert t_big.result() == "big"
    until(lambda: "big" not in states(s))
    assert states(s) == {"q": "queued"} and not queued.started.is_set()  # within the grace: still there
    clock.now += 1
    s.tick()  # past the grace: it ends without ever starting
    assert s.jobs() == [] and not queued.started.is_set() and s.started == 1
    with pytest.raises(JobStopped):
        t_queued.result()
