"""Where commands run: one bounded pool per host (each its share of the workers), pools of their own for
what touches no engine and for background jobs, and one thread serving every command's deadline.

A stuck host costs only its own commands; a host that is down, or whose queue is full, is answered at once
and nothing runs. The pools, deadlines and breaker themselves are `bot.pool`'s (the engine uses them too).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from bot.durations import seconds_text
from bot.engine import Engine
from bot.models import Outcome, Problem, Reply, Step
from bot.pool import Allowance, DaemonPool, Deadline, Deadlines, PoolBusy, worker_shares
from bot.router.audit import AuditLog
from bot.router.invocation import Invocation
from bot.router.pipeline import Where, host_down

log = logging.getLogger(__name__)

# The most a command's timeout grows by the grace times its steps ask for (`stop -t N`, a container's own
# stop timeout): the longest -t the parser accepts.
MAX_GRACE_EXTENSION = 600.0


class Dispatcher:
    """Runs invocations on their host's pool under a deadline and delivers each reply exactly once."""

    def __init__(
        self,
        engines: Sequence[Engine],
        workers: int,
        *,
        where: Callable[[Invocation], Where],
        handle: Callable[[Invocation, int], Reply],
        audit: AuditLog,
    ) -> None:
        self.engines = {engine.name: engine for engine in engines}
        self._where = where
        self._handle = handle
        self._audit = audit
        # One pool per host, each with its share of the workers and its own bounded queue: a stuck host
        # costs only its own commands. What touches no engine, and background jobs, have pools of their own.
        shares = worker_shares(workers, [engine.host.workers for engine in engines])
        self.lanes = {
            engine.name: DaemonPool(share, f"chatops-{engine.name}", max_pending=max(64, 16 * share))
            for engine, share in zip(engines, shares, strict=True)
        }
        self._builtins = DaemonPool(2, "chatops-builtins", max_pending=256)
        self._background = DaemonPool(2, "chatops-background", max_pending=64)
        self._deadlines = Deadlines("chatops-deadlines", on_error=_log_deadline_error)
        self._replies = DaemonPool(2, "chatops-timeout-replies", max_pending=4096)

    def dispatch(self, invocation: Invocation, timeout: float, deliver: Callable[[Reply], None]) -> None:
        """Run `invocation` on its host's bounded pool and `deliver` its reply exactly once.

        Returns at once. If the command has not finished after `timeout` seconds, `deliver` gets a timeout
        reply instead (the late result is dropped). A hung engine costs workers of its own host's share, never
        the caller's thread nor another host's commands; built-ins that touch no engine never wait behind a
        host. A host that is down, or whose queue is full, is answered at once and nothing runs.

        The timeout grows by the grace times the command's steps were given while it runs (`stop -t 20`, a
        container's own stop timeout; at most `MAX_GRACE_EXTENSION` in all): a stop waiting out its grace is
        not answered "did not finish".
        """
        delivered = threading.Lock()

        def once(reply: Reply) -> None:
            if delivered.acquire(blocking=False):
                try:
                    deliver(reply)
                except Exception:
                    log.exception("delivering the reply to %r failed", invocation.text)

        host, lane = self._lane(invocation)
        audit_id = self._audit.start(invocation, host)
        down = self._down(invocation, host, lane, audit_id)
        if down is not None:
            once(down)
            return
        allowance = Allowance(MAX_GRACE_EXTENSION)

        def job() -> Reply:
            with allowance.running():
                return self._handle(invocation, audit_id)

        try:
            future = lane.submit(job)
        except PoolBusy:
            self._audit.unanswered(audit_id, "refused: busy")
            once(_busy(invocation, host, lane.pending))
            return

        limit = [timeout]  # the timeout so far: grows by what the running command was granted
        timer: list[Deadline] = []

        def expire() -> None:
            if future.done():
                return
            extra = timeout + allowance.granted - limit[0]
            if extra > 0.001 and future.running():  # a step of it is waiting out a grace time
                limit[0] += extra
                timer.append(self._deadlines.call_later(extra, expire))
                return
            # A command still queued never runs once its user was told it timed out; one already running
            # finishes (Docker may be mid-change) and its late result is dropped, but audited.
            cancelled = future.cancel()
            reply = _timed_out(invocation, limit[0], host)
            outcome = "cancelled after timeout" if cancelled else "timeout"
            self._audit.unanswered(audit_id, outcome, duration=limit[0], only_if_running=True)
            # not on the deadline thread: a slow Slack answer must not hold up every other timeout
            try:
                self._replies.submit(lambda: once(reply))
            except PoolBusy:
                once(reply)

        timer.append(self._deadlines.call_later(timeout, expire))

        def finished(done: Future[Reply]) -> None:
            for deadline in list(timer):
                deadline.cancel()
            if done.cancelled():
                return
            try:
                reply = done.result()
            except Exception:  # handle() answers every user error; this is ours (e.g. the store failed)
                log.exception("handling %r failed", invocation.text)
                problem = Problem("internal", "internal error; the details are in the bot's log")
                reply = Reply(
                    invocation.text, host, Outcome.FAILED, (Step(invocation.text, problem=problem),)
                )
            once(reply)

        future.add_done_callback(finished)

    def handle_within(self, invocation: Invocation, timeout: float) -> Reply:
        """`dispatch` and wait: the reply, or a timeout reply after `timeout` seconds."""
        box: queue.SimpleQueue[Reply] = queue.SimpleQueue()
        self.dispatch(invocation, timeout, box.put)
        return box.get()

    def background(self, job: Callable[[], None]) -> bool:
        """Run `job` on the background pool (for work like App Home that answers through its own channel
        and may ask every host), apart from the hosts' command pools; False when that pool is full and the
        job was dropped."""

        def logged(future: Future[None]) -> None:
            if not future.cancelled() and future.exception() is not None:
                log.error("background job failed", exc_info=future.exception())

        try:
            self._background.submit(job).add_done_callback(logged)
        except PoolBusy:
            log.warning("dropping a background job: %d jobs are already waiting", self._background.pending)
            return False
        return True

    def close(self) -> None:
        """Stop the worker pools without waiting for hung commands."""
        for lane in self.lanes.values():
            lane.shutdown()
        self._builtins.shutdown()
        self._background.shutdown()
        self._replies.shutdown()

    def _lane(self, invocation: Invocation) -> tuple[str, DaemonPool]:
        """The host an invocation is for and the pool that runs it: that host's own pool, or the built-ins'
        pool for what touches no engine (help, whoami…, a usage error, an unknown host or plan)."""
        where = self._where(invocation)
        lane = self.lanes.get(where.host) if where.touches_engine else None
        return where.host, lane or self._builtins

    def _down(self, invocation: Invocation, host: str, lane: DaemonPool, audit_id: int) -> Reply | None:
        """The answer (audited) for a command to a host whose breaker is open, else None."""
        engine = self.engines.get(host) if lane is not self._builtins else None
        refusal = engine.health.refusal() if engine is not None else None
        if refusal is None:
            return None
        self._audit.unanswered(audit_id, "refused: host down", error=refusal.message)
        return host_down(invocation, host, refusal)


def _timed_out(invocation: Invocation, timeout: float, host: str) -> Reply:
    problem = Problem(
        "Timeout",
        f"{invocation.text!r} did not finish within {seconds_text(timeout)} s on host {host}",
        hint="the engine may be busy or hung; a change already sent to Docker may still complete",
    )
    step = Step(invocation.text, problem=problem)
    return Reply(invocation.text, host, Outcome.FAILED, (step,), timeout)


def _busy(invocation: Invocation, host: str, waiting: int) -> Reply:
    problem = Problem(
        "Busy",
        f"{invocation.text!r} was not started: {waiting} commands are already waiting for host {host}",
        hint="the engine may be slow or hung; nothing was run, try again in a moment",
    )
    return Reply(invocation.text, host, Outcome.FAILED, (Step(invocation.text, problem=problem),))


def _log_deadline_error(exc: BaseException) -> None:
    log.error("a command timeout handler failed", exc_info=exc)
