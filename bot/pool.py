"""Where commands run and time out: bounded pools of daemon workers, one thread for every deadline, and the
circuit breaker that stops sending work to a host that keeps failing.

A hung engine must cost neither the caller's thread nor unbounded memory: the pool refuses work beyond
`max_pending` queued jobs (the caller answers "busy" at once), and a command's timeout is an entry in one heap
served by one thread, not a sleeping `threading.Timer` thread per command. Each Docker host gets its own pool
(`worker_shares` splits the workers), so a stuck host can use up only its own share.

A command's timeout is not blind to what it asked the engine for: a step that may legitimately take longer
(`stop -t 20`, a container whose own stop timeout is 15 s) grants itself that time (`grant`) on the thread
running the command, and the command's `Allowance` lets the timeout grow by it, up to a bound.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import heapq
import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class PoolBusy(RuntimeError):
    """The pool already holds `max_pending` queued jobs; nothing was queued."""


class DaemonPool:
    """A fixed set of daemon worker threads: a command stuck in a hung engine never blocks process exit.

    (`ThreadPoolExecutor` joins its workers at interpreter exit, so one hung Docker call would hang the
    shell after it already told the user about the timeout.)
    """

    def __init__(self, workers: int, name: str, max_pending: int = 256) -> None:
        self.max_pending = max_pending
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self._waiting: set[Future[Any]] = set()  # queued, not yet taken, not cancelled
        self._count = threading.Lock()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def pending(self) -> int:
        """Jobs waiting for a worker (a cancelled job stops counting at once)."""
        return len(self._waiting)

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Queue `fn`; its future holds the result or the exception. `PoolBusy` when the queue is full."""
        future: Future[T] = Future()
        with self._count:
            if len(self._waiting) >= self.max_pending:
                raise PoolBusy(f"{len(self._waiting)} jobs are already waiting")
            self._waiting.add(future)
        future.add_done_callback(self._leave)  # a cancel while queued frees its place
        self._jobs.put((future, fn))
        return future

    def _leave(self, future: Future[Any]) -> None:
        with self._count:
            self._waiting.discard(future)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, fn = job
            self._leave(future)
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the waiting caller, not lost
                future.set_exception(exc)

    def shutdown(self) -> None:
        """Let idle workers end; busy ones are daemons and end with the process."""
        for _ in self._threads:
            self._jobs.put(None)


class Deadline:
    """One scheduled call; `cancel()` before it is due and it never runs."""

    __slots__ = ("cancelled", "due", "fn")

    def __init__(self, due: float, fn: Callable[[], None]) -> None:
        self.due = due
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        """Never run this call (a no-op once it ran)."""
        self.cancelled = True


class Deadlines:
    """Calls functions after a delay, all from one daemon thread (started on first use).

    Each call should be quick (it runs on the shared thread); an exception is passed to `on_error`.
    """

    def __init__(self, name: str, on_error: Callable[[BaseException], None] | None = None) -> None:
        self.name = name
        self.on_error = on_error
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def __len__(self) -> int:
        """Calls still scheduled (cancelled ones are dropped lazily)."""
        with self._changed:
            return sum(1 for _, _, d in self._heap if not d.cancelled)

    def call_later(self, delay: float, fn: Callable[[], None]) -> Deadline:
        """Run `fn` once, `delay` seconds from now, unless the returned deadline is cancelled first."""
        deadline = Deadline(time.monotonic() + delay, fn)
        with self._changed:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            order = next(self._order)
            heapq.heappush(self._heap, (deadline.due, order, deadline))
            if order % 64 == 63:  # most deadlines get cancelled (their command finished): drop them
                self._heap = [entry for entry in self._heap if not entry[2].cancelled]
                heapq.heapify(self._heap)
            self._changed.notify()
        return deadline

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._changed.wait(wait)
                _, _, deadline = heapq.heappop(self._heap)
            if deadline.cancelled:
                continue
            deadline.cancelled = True  # ran: a later cancel() changes nothing
            try:
                deadline.fn()
            except Exception as exc:
                if self.on_error is not None:
                    self.on_error(exc)


class Allowance:
    """The extra seconds one running command was granted by its steps (grace times the engine will wait on
    top of a call's usual deadline), at most `limit` in all. Thread-safe."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self._granted = 0.0
        self._lock = threading.Lock()

    @property
    def granted(self) -> float:
        """The seconds granted so far, at most `limit`."""
        with self._lock:
            return min(self._granted, self.limit)

    def grant(self, seconds: float) -> None:
        """A step of the command may take `seconds` more than usual (ignored unless positive)."""
        if seconds > 0:
            with self._lock:
                self._granted += seconds

    @contextlib.contextmanager
    def running(self) -> Iterator[Allowance]:
        """While inside, `grant()` on this thread adds to this allowance."""
        token = _ALLOWANCE.set(self)
        try:
            yield self
        finally:
            _ALLOWANCE.reset(token)


_ALLOWANCE: contextvars.ContextVar[Allowance | None] = contextvars.ContextVar(
    "chatops_allowance", default=None
)


def grant(seconds: float) -> None:
    """Tell the command running on this thread (if any) that one of its steps may take `seconds` longer than
    its timeout assumed: the engine does that for a `stop`'s or `restart`'s grace time."""
    allowance = _ALLOWANCE.get()
    if allowance is not None:
        allowance.grant(seconds)


def worker_shares(total: int, requested: Sequence[int | None]) -> list[int]:
    """How many workers each host gets: its own `requested` number where one is set, else an even split of
    what is left of `total` (the first hosts get the remainder), and never less than 1.

    `worker_shares(8, [None, None, None]) == [3, 3, 2]`; `worker_shares(8, [2, None]) == [2, 6]`;
    `worker_shares(2, [None, None, None]) == [1, 1, 1]`. Explicit numbers are kept as given, even when they
    add up to more than `total`.
    """
    if total < 1:
        raise ValueError(f"a pool needs at least one worker; got {total}")
    left = max(0, total - sum(n for n in requested if n is not None))
    even = [i for i, n in enumerate(requested) if n is None]
    shares = [max(1, n) if n is not None else 0 for n in requested]
    for rank, index in enumerate(even):
        shares[index] = max(1, left // len(even) + (1 if rank < left % len(even) else 0))
    return shares


class BreakerState(enum.Enum):
    """Where a circuit breaker stands."""

    CLOSED = "closed"  # calls go through
    OPEN = "open"  # calls are refused at once until the cool-down ends
    HALF_OPEN = "half-open"  # one probe is running; every other call is refused


class Admission(enum.Enum):
    """What `CircuitBreaker.admit` lets a caller do."""

    CALL = "call"  # go ahead
    PROBE = "probe"  # you are the one probe: probe first, then report with probe_succeeded/probe_failed


@dataclass(frozen=True, slots=True)
class Outage:
    """Why a breaker refuses calls: since when (wall clock), after how many failures in a row, the last
    error, and how long until a probe may run (0 while one is running)."""

    since: float
    failures: int
    last_error: str
    retry_in: float
    probing: bool


class CircuitOpen(RuntimeError):
    """The breaker refused a call: nothing was sent."""

    def __init__(self, outage: Outage) -> None:
        super().__init__(f"open after {outage.failures} failures: {outage.last_error}")
        self.outage = outage


class CircuitBreaker:
    """Counts failures in a row; at `threshold` it opens and refuses calls for a cool-down, then lets exactly
    one probe through (half-open). A good probe (or any success) closes it; a failed probe opens it again
    for twice as long, up to `max_cooldown`. Thread-safe; `clock` (monotonic) and `wall` can be injected.
    """

    def __init__(
        self,
        *,
        threshold: int = 3,
        cooldown: float = 5.0,
        max_cooldown: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if threshold < 1 or cooldown <= 0 or max_cooldown < cooldown:
            raise ValueError("a breaker needs threshold >= 1 and 0 < cooldown <= max_cooldown")
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._last_error = ""
        self._since = 0.0
        self._cooldown = cooldown
        self._retry_at = 0.0

    @property
    def state(self) -> BreakerState:
        """Closed, open or half-open (an open breaker whose cool-down ended stays open until asked)."""
        with self._lock:
            return self._state

    def outage(self) -> Outage | None:
        """Why a call would be refused now, or None when it would go ahead (closed, or due for its probe).
        Changes nothing: asking never claims the probe."""
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return None
            if self._state is BreakerState.OPEN and self._clock() >= self._retry_at:
                return None
            return self._outage()

    def admit(self) -> Admission:
        """Let a call go ahead, make it the probe, or raise `CircuitOpen`."""
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return Admission.CALL
            if self._state is BreakerState.OPEN and self._clock() >= self._retry_at:
                self._state = BreakerState.HALF_OPEN
                return Admission.PROBE
            raise CircuitOpen(self._outage())

    def succeeded(self) -> None:
        """A call got an answer: the host is up, whatever state the breaker was in."""
        with self._lock:
            self._close()

    def failed(self, error: str) -> None:
        """A call failed for want of an answer (timeout, refused); the `threshold`-th in a row opens."""
        with self._lock:
            self._failures += 1
            self._last_error = error
            if self._state is BreakerState.CLOSED and self._failures >= self.threshold:
                self._state = BreakerState.OPEN
                self._since = self._wall()
                self._cooldown = self.base_cooldown
                self._retry_at = self._clock() + self._cooldown

    def probe_succeeded(self) -> None:
        """The probe got its answer: closed."""
        self.succeeded()

    def probe_failed(self, error: str) -> None:
        """The probe failed: open again, for twice as long as last time (at most `max_cooldown`)."""
        with self._lock:
            self._failures += 1
            self._last_error = error
            if self._state is not BreakerState.HALF_OPEN:  # a success closed it meanwhile: count only
                return
            self._state = BreakerState.OPEN
            self._cooldown = min(self._cooldown * 2, self.max_cooldown)
            self._retry_at = self._clock() + self._cooldown

    def _close(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._cooldown = self.base_cooldown

    def _outage(self) -> Outage:
        probing = self._state is BreakerState.HALF_OPEN
        retry_in = 0.0 if probing else max(0.0, self._retry_at - self._clock())
        return Outage(self._since, self._failures, self._last_error, retry_in, probing)
