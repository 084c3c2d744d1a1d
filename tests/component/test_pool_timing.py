"""The command pools and their deadlines on real time: calls run when due, a full pool refuses at once, a
flood on a hung engine is answered "busy" with one thread for every timeout. The parts that need no waiting
(worker shares, the circuit breaker on an injected clock, grace times) are in tests/unit/test_pool.py."""

from __future__ import annotations

import threading
import time

import pytest

from bot.engine import Engine, Host
from bot.models import Outcome, Reply
from bot.pool import DaemonPool, Deadlines, PoolBusy
from bot.router import Invocation, Router


def test_deadlines_run_in_due_order_and_cancelled_ones_never_run() -> None:
    """Calls run once each, earliest due first; a cancelled one is skipped; all on one thread."""
    ran: list[tuple[str, str]] = []
    done = threading.Event()
    deadlines = Deadlines("test-deadlines")
    deadlines.call_later(0.15, lambda: ran.append(("late", threading.current_thread().name)))
    deadlines.call_later(0.05, lambda: ran.append(("early", threading.current_thread().name)))
    deadlines.call_later(0.10, lambda: ran.append(("cancelled", ""))).cancel()
    deadlines.call_later(0.20, done.set)
    assert done.wait(5)
    assert ran == [("early", "test-deadlines"), ("late", "test-deadlines")]
    assert len(deadlines) == 0


def test_a_failing_call_is_reported_and_the_next_ones_still_run() -> None:
    """An exception goes to `on_error`; the deadline thread lives on."""
    errors: list[BaseException] = []
    done = threading.Event()
    deadlines = Deadlines("test-deadlines", on_error=errors.append)

    def fail() -> None:
        raise ValueError("boom")

    deadlines.call_later(0.01, fail)
    deadlines.call_later(0.05, done.set)
    assert done.wait(5)
    assert [str(e) for e in errors] == ["boom"]


def test_the_pool_refuses_work_beyond_its_bound() -> None:
    """With every worker stuck and the queue full, `submit` raises at once and queues nothing."""
    release = threading.Event()
    pool = DaemonPool(1, "test-pool", max_pending=2)
    try:
        first = pool.submit(release.wait)
        deadline = time.monotonic() + 5
        while pool.pending and time.monotonic() < deadline:  # the worker took the first job
            time.sleep(0.01)
        queued = [pool.submit(lambda: 7) for _ in range(2)]
        with pytest.raises(PoolBusy):
            pool.submit(lambda: 8)
        assert pool.pending == 2
        release.set()
        assert first.result(5) is True
        assert [future.result(5) for future in queued] == [7, 7]
        assert pool.pending == 0
        assert pool.submit(lambda: 9).result(5) == 9
    finally:
        release.set()
        pool.shutdown()


def test_a_cancelled_job_frees_its_place_at_once() -> None:
    """Cancelling a queued job (a command that timed out) makes room before any worker is free again."""
    release = threading.Event()
    pool = DaemonPool(1, "test-pool", max_pending=1)
    try:
        pool.submit(release.wait)
        deadline = time.monotonic() + 5
        while pool.pending and time.monotonic() < deadline:
            time.sleep(0.01)
        queued = pool.submit(lambda: "never")
        with pytest.raises(PoolBusy):
            pool.submit(lambda: "refused")
        assert queued.cancel()
        assert pool.pending == 0
        later = pool.submit(lambda: "ran")
        release.set()
        assert later.result(5) == "ran"
    finally:
        release.set()
        pool.shutdown()


def test_a_flood_on_a_hung_engine_is_answered_busy_without_a_thread_per_command(
    frozen_docker_socket: str,
) -> None:
    """A hung engine and a flood of commands: the excess is told "busy" at once and audited; the thread count
    stays flat (no sleeping timer per command); everything queued still hears its timeout."""
    router = Router([Engine(Host("frozen", frozen_docker_socket, 30.0))], workers=1)
    replies: list[Reply] = []
    lock = threading.Lock()

    def deliver(reply: Reply) -> None:
        with lock:
            replies.append(reply)

    before = threading.active_count()
    flood = 64 + 40
    for _ in range(flood + 1):  # one runs (and hangs), 64 wait, 40 are refused
        router.dispatch(Invocation("ps -a", user_id="U1"), 1.0, deliver)
    threads = threading.active_count() - before
    busy = [r for r in replies if r.problem is not None and r.problem.kind == "Busy"]
    assert len(busy) == 40
    assert all(r.outcome is Outcome.FAILED and "nothing was run" in (r.problem.hint or "") for r in busy)
    assert threads <= 2  # the deadline thread (and nothing per command)
    deadline = time.monotonic() + 10
    while len(replies) < flood + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(replies) == flood + 1
    kinds = sorted({r.problem.kind for r in replies if r.problem is not None})
    assert kinds == ["Busy", "Timeout"]
    outcomes = [row.outcome for row in router.store.audit_rows(limit=500)]
    assert outcomes.count("refused: busy") == 40
    assert router.dispatcher.lanes["frozen"].pending == 0  # the timed-out queued commands left the queue
    router.close()
