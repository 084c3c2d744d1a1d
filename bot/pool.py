"""Where commands run and time out: a bounded pool of daemon workers and one thread for every deadline.

A hung engine must cost neither the caller's thread nor unbounded memory: the pool refuses work beyond
`max_pending` queued jobs (the caller answers "busy" at once), and a command's timeout is an entry in one heap
served by one thread, not a sleeping `threading.Timer` thread per command.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
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
