"""The pools' parts that need no waiting: deadlines cancelled before they are due, how the workers are shared
between hosts, the circuit breaker's states on an injected clock, and grace times. Deadlines that fire, full
pools and a flood on a hung engine (real time, a socket) are in tests/component/test_pool_timing.py."""

from __future__ import annotations

import threading

import pytest

from bot.pool import (
    Admission,
    Allowance,
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    Deadlines,
    grant,
    worker_shares,
)


def test_cancelled_deadlines_do_not_pile_up() -> None:
    """Thousands of commands that finish in time leave no scheduled calls behind."""
    deadlines = Deadlines("test-deadlines")
    for _ in range(5000):
        deadlines.call_later(60.0, lambda: None).cancel()
    assert len(deadlines) == 0
    assert len(deadlines._heap) < 128  # compacted as it goes


@pytest.mark.parametrize(
    ("total", "requested", "shares"),
    [
        (8, [None], [8]),
        (8, [None, None], [4, 4]),
        (8, [None, None, None], [3, 3, 2]),  # the remainder goes to the first hosts
        (2, [None, None, None], [1, 1, 1]),  # never less than one each
        (8, [2, None], [2, 6]),  # a host's own number first, the rest split
        (8, [6, None, None], [6, 1, 1]),
        (8, [8, None], [8, 1]),  # nothing left: still one
        (4, [10, 3], [10, 3]),  # explicit numbers are kept, even beyond the total
        (1, [None], [1]),
    ],
)
def test_workers_are_shared_between_hosts(total: int, requested: list[int | None], shares: list[int]) -> None:
    """Each host gets its own number of workers where set, else an even split of the rest (at least 1)."""
    assert worker_shares(total, requested) == shares


class Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(threshold=3, cooldown=5.0, max_cooldown=20.0, clock=clock, wall=lambda: 1.7e9)


def test_the_breaker_opens_after_three_failures_in_a_row_only() -> None:
    """Failures with a success between them never open it; three in a row do, and calls are then refused
    with the outage (since when, how many, the last error, how long to the probe)."""
    clock = Clock()
    breaker = _breaker(clock)
    for _ in range(5):
        breaker.failed("refused")
        breaker.failed("refused")
        breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.admit() is Admission.CALL
    for error in ("timeout 1", "timeout 2", "timeout 3"):
        assert breaker.outage() is None
        breaker.failed(error)
    assert breaker.state is BreakerState.OPEN
    clock.now += 2.0
    with pytest.raises(CircuitOpen) as refused:
        breaker.admit()
    outage = refused.value.outage
    assert (outage.since, outage.failures, outage.last_error) == (1.7e9, 3, "timeout 3")
    assert outage.retry_in == pytest.approx(3.0)
    assert not outage.probing
    assert breaker.outage() == outage  # asking changes nothing


def test_after_the_cooldown_exactly_one_probe_goes_and_its_success_closes() -> None:
    """Half-open: the first caller after the cool-down is the probe; everyone else is refused until it
    reports; a good probe closes the breaker and resets the count."""
    clock = Clock()
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.failed("refused")
    clock.now += 5.0
    assert breaker.outage() is None  # due: the next call may probe
    assert breaker.admit() is Admission.PROBE
    assert breaker.state is BreakerState.HALF_OPEN
    for _ in range(3):
        with pytest.raises(CircuitOpen) as refused:
            breaker.admit()
        assert refused.value.outage.probing
        assert refused.value.outage.retry_in == 0.0
    breaker.probe_succeeded()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.admit() is Admission.CALL
    breaker.failed("again")
    breaker.failed("again")
    assert breaker.state is BreakerState.CLOSED  # the count started over


def test_a_failed_probe_opens_again_for_twice_as_long_up_to_the_maximum() -> None:
    """Cool-downs double with every failed probe (5, 10, 20, 20 s) and start over once closed."""
    clock = Clock()
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.failed("refused")
    waits = []
    for _ in range(4):
        outage = breaker.outage()
        assert outage is not None
        waits.append(outage.retry_in)
        clock.now += outage.retry_in - 0.01
        with pytest.raises(CircuitOpen):
            breaker.admit()
        clock.now += 0.01
        assert breaker.admit() is Admission.PROBE
        breaker.probe_failed("still refused")
        assert breaker.state is BreakerState.OPEN
    assert waits == pytest.approx([5.0, 10.0, 20.0, 20.0])
    clock.now += 20.0
    assert breaker.admit() is Admission.PROBE
    breaker.probe_succeeded()
    for _ in range(3):
        breaker.failed("refused")
    outage = breaker.outage()
    assert outage is not None
    assert outage.retry_in == pytest.approx(5.0)


def test_a_success_of_a_call_in_flight_closes_an_open_breaker() -> None:
    """A call that was already running when the breaker opened and then got an answer proves the host up."""
    clock = Clock()
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.failed("timeout")
    breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.admit() is Admission.CALL


def test_only_one_of_many_racing_callers_becomes_the_probe() -> None:
    """Sixteen threads asking at once after the cool-down: one probe, fifteen refusals."""
    clock = Clock()
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.failed("timeout")
    clock.now += 5.0
    start = threading.Barrier(16)
    results: list[str] = []
    lock = threading.Lock()

    def ask() -> None:
        start.wait()
        try:
            answer = breaker.admit().value
        except CircuitOpen:
            answer = "refused"
        with lock:
            results.append(answer)

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert sorted(results) == ["probe"] + ["refused"] * 15


def test_a_grace_time_is_granted_to_the_command_running_on_that_thread_only() -> None:
    """`grant()` adds to the allowance of the command running on the calling thread, up to its limit;
    outside a running command, or on another thread, it changes nothing."""
    allowance = Allowance(limit=30.0)
    grant(5.0)  # nobody runs here
    assert allowance.granted == 0.0
    with allowance.running():
        grant(10.0)
        grant(-3.0)  # never shrinks
        elsewhere = threading.Thread(target=grant, args=(7.0,))
        elsewhere.start()
        elsewhere.join()
        assert allowance.granted == 10.0
        grant(25.0)
    assert allowance.granted == 30.0  # bounded
    grant(1.0)
    assert allowance.granted == 30.0
