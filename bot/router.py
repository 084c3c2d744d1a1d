"""One request path for every door: `Router.handle(Invocation) -> Reply`.

Parse the text into commands, authorize each one, run it on the chosen host, and collect the results; an
`A && B` chain stops at the first failure, like a shell. The router knows no Slack and formats no text.
Only our typed errors reach the user with their message; anything else is logged with a request id and the
user sees that id.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.commands import CATALOG, Catalog, Command, parse
from bot.commands.args import HelpArgs
from bot.commands.catalog import READ, CommandSpec
from bot.engine import Engine
from bot.errors import ChatOpsError, Denied, NeedsConfirmation, NotFound, UsageError
from bot.models import HelpEntry, HelpResult, Outcome, Problem, Reply, Result, Step

log = logging.getLogger(__name__)
T = TypeVar("T")

_OUTCOMES: tuple[tuple[type[ChatOpsError], Outcome], ...] = (
    (UsageError, Outcome.USAGE),
    (Denied, Outcome.DENIED),
    (NeedsConfirmation, Outcome.NEEDS_CONFIRMATION),
)


@dataclass(frozen=True, slots=True)
class Invocation:
    """Who asked what, where: the same shape from a slash command, a button click or the local shell."""

    text: str
    user_id: str = "local"
    channel_id: str = "shell"
    team_id: str = ""
    host: str | None = None
    source: str = "shell"


class Router:
    """Parses, authorizes and runs invocations against named Docker hosts."""

    def __init__(self, engines: Sequence[Engine], catalog: Catalog = CATALOG, *, workers: int = 8) -> None:
        if not engines:
            raise ValueError("the router needs at least one Docker host")
        self.engines = {engine.name: engine for engine in engines}
        self.default_host = engines[0].name
        self.catalog = catalog
        self._local: dict[str, Callable[[Any], Result]] = {"help": self._help}
        self._pool = DaemonPool(workers, "chatops-command")
        missing = [s.operation for s in catalog.specs if not self._has_operation(s.operation)]
        if missing:
            raise ValueError(f"catalog operations without an implementation: {', '.join(missing)}")

    def _has_operation(self, name: str) -> bool:
        return name in self._local or callable(getattr(Engine, name, None))

    def dispatch(self, invocation: Invocation, timeout: float, deliver: Callable[[Reply], None]) -> None:
        """Run `invocation` on the router's bounded pool and `deliver` its reply exactly once.

        Returns at once. If the command has not finished after `timeout` seconds, `deliver` gets a timeout
        reply instead (the late result is dropped). A hung engine costs workers, never the caller's thread.
        """
        delivered = threading.Lock()

        def once(reply: Reply) -> None:
            if delivered.acquire(blocking=False):
                try:
                    deliver(reply)
                except Exception:
                    log.exception("delivering the reply to %r failed", invocation.text)

        timer = threading.Timer(timeout, lambda: once(self._timed_out(invocation, timeout)))
        timer.daemon = True
        timer.start()

        def finished(future: Future[Reply]) -> None:
            timer.cancel()
            if not future.cancelled():
                once(future.result())

        self._pool.submit(lambda: self.handle(invocation)).add_done_callback(finished)

    def background(self, job: Callable[[], None]) -> None:
        """Run `job` on the router's pool (for work like App Home that answers through its own channel)."""

        def logged(future: Future[None]) -> None:
            if not future.cancelled() and future.exception() is not None:
                log.error("background job failed", exc_info=future.exception())

        self._pool.submit(job).add_done_callback(logged)

    def handle_within(self, invocation: Invocation, timeout: float) -> Reply:
        """`dispatch` and wait: the reply, or a timeout reply after `timeout` seconds."""
        box: queue.SimpleQueue[Reply] = queue.SimpleQueue()
        self.dispatch(invocation, timeout, box.put)
        return box.get()

    def _timed_out(self, invocation: Invocation, timeout: float) -> Reply:
        host = invocation.host or self.default_host
        problem = Problem(
            "Timeout",
            f"{invocation.text!r} did not finish within {timeout:g} s on host {host}",
            hint="the engine may be busy or hung; a change already sent to Docker may still complete",
        )
        step = Step(invocation.text, problem=problem)
        return Reply(invocation.text, host, Outcome.FAILED, (step,), timeout)

    def close(self) -> None:
        """Stop the worker pool without waiting for hung commands."""
        self._pool.shutdown()

    def handle(self, invocation: Invocation) -> Reply:
        """Answer one invocation; never raises for anything a user can type."""
        started = time.monotonic()
        host = invocation.host or self.default_host
        steps: list[Step] = []
        outcome = Outcome.OK
        try:
            engine = self._engine(host)
            commands = parse(invocation.text, self.catalog)
            for command in commands:
                self._authorize(invocation, command, host)
        except ChatOpsError as exc:
            steps.append(Step(invocation.text, problem=_problem(exc)))
            return Reply(invocation.text, host, _outcome(exc), tuple(steps), time.monotonic() - started)
        for command in commands:
            try:
                result = self._run(engine, command)
            except ChatOpsError as exc:
                steps.append(Step(command.text, problem=_problem(exc)))
                outcome = _outcome(exc)
                break
            except Exception:
                request_id = uuid.uuid4().hex[:12]
                log.exception("internal error (request %s) running %r", request_id, command.text)
                message = f"internal error (request {request_id}); the details are in the bot's log"
                steps.append(Step(command.text, problem=Problem("internal", message)))
                outcome = Outcome.FAILED
                break
            steps.append(Step(command.text, result=result))
        return Reply(invocation.text, host, outcome, tuple(steps), time.monotonic() - started)

    def _engine(self, host: str) -> Engine:
        engine = self.engines.get(host)
        if engine is None:
            raise NotFound(f"no Docker host named {host!r}", hint=f"hosts: {', '.join(self.engines)}")
        return engine

    def _authorize(self, invocation: Invocation, command: Command, host: str) -> None:
        """Deny by default: only read commands exist and are allowed until a policy says more."""
        if command.spec.action_class != READ:
            raise Denied(
                f'{command.spec.name} needs "{command.spec.action_class}" on host {host}; '
                f'{invocation.user_id} has "read"'
            )

    def _run(self, engine: Engine, command: Command) -> Result:
        local = self._local.get(command.spec.operation)
        if local is not None:
            return local(command.args)
        operation: Callable[[Any], Result] = getattr(engine, command.spec.operation)
        return operation(command.args)

    def _help(self, args: HelpArgs) -> HelpResult:
        if not args.command:
            return HelpResult(entries=tuple(_entry(spec) for spec in self.catalog.visible()))
        resolved = self.catalog.resolve(list(args.command))
        if resolved is None or resolved[1]:
            suggestion = self.catalog.suggest(list(args.command))
            hint = f'did you mean "{suggestion}"?' if suggestion else 'try "help" for the list of commands'
            raise UsageError(f'unknown command "{" ".join(args.command)}"', hint=hint)
        return HelpResult(entries=(_entry(resolved[0]),), detailed=True)


class DaemonPool:
    """A fixed set of daemon worker threads: a command stuck in a hung engine never blocks process exit.

    (`ThreadPoolExecutor` joins its workers at interpreter exit, so one hung Docker call would hang the
    shell after it already told the user about the timeout.)
    """

    def __init__(self, workers: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Queue `fn`; its future holds the result or the exception."""
        future: Future[T] = Future()
        self._jobs.put((future, fn))
        return future

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, fn = job
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


def _entry(spec: CommandSpec) -> HelpEntry:
    return HelpEntry(
        name=spec.name,
        aliases=spec.aliases,
        usage=spec.usage,
        summary=spec.summary,
        action_class=spec.action_class,
        options=tuple((option.display, option.help) for option in spec.options),
        examples=spec.examples,
    )


def _problem(exc: ChatOpsError) -> Problem:
    usage = exc.usage if isinstance(exc, UsageError) else None
    return Problem(kind=type(exc).__name__, message=exc.message, hint=exc.hint, usage=usage)


def _outcome(exc: ChatOpsError) -> Outcome:
    for error_type, outcome in _OUTCOMES:
        if isinstance(exc, error_type):
            return outcome
    return Outcome.FAILED
