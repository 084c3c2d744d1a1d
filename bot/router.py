"""One request path for every door: `Router.handle(Invocation) -> Reply`.

Parse the text into commands, authorize each one, run it on the chosen host, and collect the results; an
`A && B` chain stops at the first failure, like a shell. The router knows no Slack and formats no text.
Only our typed errors reach the user with their message; anything else is logged with a request id and the
user sees that id.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.commands import CATALOG, Catalog, Command, parse
from bot.commands.catalog import ALWAYS, MANY, READ, CommandSpec
from bot.durations import seconds_text
from bot.engine import Engine
from bot.errors import (
    ChatOpsError,
    Denied,
    EngineUnavailable,
    NeedsConfirmation,
    NotFound,
    UsageError,
)
from bot.models import (
    ConfirmationResult,
    HelpEntry,
    HelpResult,
    Outcome,
    Plan,
    Problem,
    Reply,
    Result,
    Step,
    TextResult,
)
from bot.policy import Decision, Policy, Principal
from bot.pool import Allowance, DaemonPool, Deadline, Deadlines, PoolBusy, worker_shares
from bot.store import PendingPlan, Store

log = logging.getLogger(__name__)
LocalOperation = Callable[[Any, "Invocation", str], Result]
T = TypeVar("T")
# Built-in operations that never touch a Docker engine: they run on their own pool, never behind a host.
ENGINE_FREE = frozenset(
    {"help", "whoami", "audit", "notify_status", "notify_mute", "notify_unmute", "notify_test"}
)

# The most a command's timeout grows by the grace times its steps ask for (`stop -t N`, a container's own
# stop timeout): the longest -t the parser accepts.
MAX_GRACE_EXTENSION = 600.0

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
    groups: frozenset[str] = frozenset()
    is_dm: bool = False
    local_admin: bool = False
    confirmed: bool = False
    confirmation: str | None = None
    confirmed_by_user: str | None = None
    progress: Callable[[str], None] | None = field(default=None, compare=False, repr=False)

    @property
    def confirmed_by(self) -> str:
        """Who clicked Confirm or Approve (the requester unless a second person approved)."""
        return self.confirmed_by_user or self.user_id

    @property
    def principal(self) -> Principal:
        """Who is asking, by IDs only (never a display name)."""
        return Principal(
            user_id=self.user_id,
            channel_id=self.channel_id,
            team_id=self.team_id,
            groups=self.groups,
            is_dm=self.is_dm,
            local_admin=self.local_admin,
        )


class Router:
    """Parses, authorizes and runs invocations against named Docker hosts."""

    def __init__(
        self,
        engines: Sequence[Engine],
        catalog: Catalog = CATALOG,
        *,
        workers: int = 8,
        policy: Policy | None = None,
        store: Store | None = None,
        confirm_ttl: float = 300.0,
        own_container_id: str | None = None,
        notify_routes: Sequence[str] = (),
        notify_reports: Sequence[str] = (),
        notify_test: Callable[[str], Sequence[str]] | None = None,
        notify_report: Callable[[str, str], Sequence[str]] | None = None,
    ) -> None:
        if not engines:
            raise ValueError("the router needs at least one Docker host")
        self.engines = {engine.name: engine for engine in engines}
        self.default_host = engines[0].name
        self.catalog = catalog
        self.policy = policy or Policy.default()
        self.store = store or Store(":memory:")
        self.confirm_ttl = confirm_ttl
        self.own_container_id = own_container_id
        self.notify_routes = tuple(notify_routes)
        self.notify_reports = tuple(notify_reports)
        self.notify_test = notify_test
        self.notify_report = notify_report
        self._local: dict[str, LocalOperation] = {
            "help": self._help,
            "whoami": self._whoami,
            "can_i": self._can_i,
            "audit": self._audit,
            "notify_status": self._notify_status,
            "notify_mute": self._notify_mute,
            "notify_unmute": self._notify_unmute,
            "notify_test": self._notify_test,
            "notify_report": self._notify_report,
        }
        # One pool per host, each with its share of the workers and its own bounded queue: a stuck host
        # costs only its own commands. What touches no engine, and background jobs, have pools of their own.
        shares = worker_shares(workers, [engine.host.workers for engine in engines])
        self._lanes = {
            engine.name: DaemonPool(share, f"chatops-{engine.name}", max_pending=max(64, 16 * share))
            for engine, share in zip(engines, shares, strict=True)
        }
        self._builtins = DaemonPool(2, "chatops-builtins", max_pending=256)
        self._background = DaemonPool(2, "chatops-background", max_pending=64)
        self._deadlines = Deadlines("chatops-deadlines", on_error=_log_deadline_error)
        self._replies = DaemonPool(2, "chatops-timeout-replies", max_pending=4096)
        missing = [s.operation for s in catalog.specs if not self._has_operation(s.operation)]
        if missing:
            raise ValueError(f"catalog operations without an implementation: {', '.join(missing)}")

    def _has_operation(self, name: str) -> bool:
        return name in self._local or callable(getattr(Engine, name, None))

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
        audit_id = self._audit_start(invocation, host)
        down = self._down(invocation, host, lane, audit_id)
        if down is not None:
            once(down)
            return
        allowance = Allowance(MAX_GRACE_EXTENSION)

        def job() -> Reply:
            with allowance.running():
                return self.handle(invocation, audit_id)

        try:
            future = lane.submit(job)
        except PoolBusy:
            self.store.audit_finish(audit_id, decision="none", rule="", outcome="refused: busy", duration=0.0)
            once(self._busy(invocation, host, lane.pending))
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
            reply = self._timed_out(invocation, limit[0], host)
            outcome = "cancelled after timeout" if cancelled else "timeout"
            self.store.audit_finish(
                audit_id, decision="none", rule="", outcome=outcome, duration=limit[0], only_if_running=True
            )
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

    def _down(self, invocation: Invocation, host: str, lane: DaemonPool, audit_id: int) -> Reply | None:
        """The answer (audited) for a command to a host whose breaker is open, else None."""
        engine = self.engines.get(host) if lane is not self._builtins else None
        refusal = engine.health.refusal() if engine is not None else None
        if refusal is None:
            return None
        self.store.audit_finish(
            audit_id,
            decision="none",
            rule="",
            outcome="refused: host down",
            duration=0.0,
            error=refusal.message,
        )
        return _host_down(invocation, host, refusal)

    def background(self, job: Callable[[], None]) -> bool:
        """Run `job` on the router's background pool (for work like App Home that answers through its own
        channel and may ask every host), apart from the hosts' command pools; False when that pool is full
        and the job was dropped."""

        def logged(future: Future[None]) -> None:
            if not future.cancelled() and future.exception() is not None:
                log.error("background job failed", exc_info=future.exception())

        try:
            self._background.submit(job).add_done_callback(logged)
        except PoolBusy:
            log.warning("dropping a background job: %d jobs are already waiting", self._background.pending)
            return False
        return True

    def handle_within(self, invocation: Invocation, timeout: float) -> Reply:
        """`dispatch` and wait: the reply, or a timeout reply after `timeout` seconds."""
        box: queue.SimpleQueue[Reply] = queue.SimpleQueue()
        self.dispatch(invocation, timeout, box.put)
        return box.get()

    def _lane(self, invocation: Invocation) -> tuple[str, DaemonPool]:
        """The host an invocation is for and the pool that runs it: that host's own pool, or the built-ins'
        pool for what touches no engine (help, whoami…, a usage error, an unknown host or plan).

        A confirmation click names no host: it belongs to the host of its pending plan.
        """
        host = invocation.host or self.default_host
        if invocation.confirmation is not None:
            pending = self.store.pending(invocation.confirmation)
            if pending is None:
                return host, self._builtins
            return pending.host, self._lanes.get(pending.host, self._builtins)
        lane = self._lanes.get(host)
        if lane is None or not self._touches_engine(invocation.text):
            return host, self._builtins
        return host, lane

    def _touches_engine(self, text: str) -> bool:
        """Whether running `text` may call a Docker engine (parsing is pure and cheap)."""
        try:
            commands = parse(text, self.catalog)
        except Exception:  # a usage error (or worse) is answered without any engine
            return False
        return any(command.spec.operation not in ENGINE_FREE for command in commands)

    def _timed_out(self, invocation: Invocation, timeout: float, host: str) -> Reply:
        problem = Problem(
            "Timeout",
            f"{invocation.text!r} did not finish within {seconds_text(timeout)} s on host {host}",
            hint="the engine may be busy or hung; a change already sent to Docker may still complete",
        )
        step = Step(invocation.text, problem=problem)
        return Reply(invocation.text, host, Outcome.FAILED, (step,), timeout)

    def _busy(self, invocation: Invocation, host: str, waiting: int) -> Reply:
        problem = Problem(
            "Busy",
            f"{invocation.text!r} was not started: {waiting} commands are already waiting for host {host}",
            hint="the engine may be slow or hung; nothing was run, try again in a moment",
        )
        return Reply(invocation.text, host, Outcome.FAILED, (Step(invocation.text, problem=problem),))

    def close(self) -> None:
        """Stop the worker pools without waiting for hung commands."""
        for lane in self._lanes.values():
            lane.shutdown()
        self._builtins.shutdown()
        self._background.shutdown()
        self._replies.shutdown()

    def handle(self, invocation: Invocation, audit_id: int | None = None) -> Reply:
        """Answer one invocation and audit it; never raises for anything a user can type."""
        started = time.monotonic()
        host = invocation.host or self.default_host
        if audit_id is None:
            audit_id = self._audit_start(invocation, host)
        verdict = _Verdict()
        try:
            reply = self._handle(invocation, host, verdict, started)
        except Exception:
            request_id = uuid.uuid4().hex[:12]
            log.exception("internal error (request %s) handling %r", request_id, invocation.text)
            message = f"internal error (request {request_id}); the details are in the bot's log"
            step = Step(invocation.text, problem=Problem("internal", message))
            reply = Reply(invocation.text, host, Outcome.FAILED, (step,), time.monotonic() - started)
        problem = reply.problem
        self.store.audit_finish(
            audit_id,
            decision=verdict.decision,
            rule=verdict.rule,
            outcome=reply.outcome.value,
            duration=reply.elapsed,
            plan_hash=verdict.plan_hash,
            error=problem.message if problem else None,
        )
        return reply

    def _audit_start(self, invocation: Invocation, host: str) -> int:
        text = invocation.text or f"(confirmation {invocation.confirmation or ''})"
        return self.store.audit_start(
            team_id=invocation.team_id,
            user_id=invocation.user_id,
            channel_id=invocation.channel_id,
            source=invocation.source,
            host=host,
            text=text,
        )

    def _handle(self, invocation: Invocation, host: str, verdict: _Verdict, started: float) -> Reply:
        chain = 1

        def done(outcome: Outcome, steps: list[Step]) -> Reply:
            return Reply(invocation.text, host, outcome, tuple(steps), time.monotonic() - started, chain)

        pending: PendingPlan | None = None
        try:
            if invocation.confirmation is not None:
                pending = self._pending_for(invocation)
                invocation = self._as_requested(invocation, pending)
                host = pending.host
            engine = self._engine(host)
            commands = parse(invocation.text, self.catalog)
            chain = len(commands)
            plans = self._authorize(invocation, commands, host, engine, verdict)
            gate = self._confirmation_gate(
                invocation, commands=commands, plans=plans, host=host, verdict=verdict, pending=pending
            )
            if gate is not None:
                return done(Outcome.NEEDS_CONFIRMATION, [Step(invocation.text, result=gate)])
        except ChatOpsError as exc:
            return done(_outcome(exc), [Step(invocation.text, problem=_problem(exc))])
        steps: list[Step] = []
        for index, (command, authorized) in enumerate(zip(commands, plans, strict=True)):
            try:
                plan = authorized
                if index > 0 and authorized is not None:
                    plan = self._recheck(
                        invocation, engine, command, authorized=authorized, index=index, host=host
                    )
                result = self._run(engine, command, invocation, host, plan)
            except ChatOpsError as exc:
                steps.append(Step(command.text, problem=_problem(exc)))
                return done(_outcome(exc), steps)
            steps.append(Step(command.text, result=result))
        return done(Outcome.OK, steps)

    def _authorize(
        self,
        invocation: Invocation,
        commands: Sequence[Command],
        host: str,
        engine: Engine,
        verdict: _Verdict,
    ) -> list[Plan | None]:
        """One decision per step, before any Docker change; a plan gives the policy the exact targets."""
        plans: list[Plan | None] = []
        for command in commands:
            spec = command.spec
            plan = engine.plan(spec.operation, command.args) if spec.action_class != READ else None
            decision = self._decide(invocation, command, host, plan)
            verdict.add(decision)
            if not decision.allowed:
                raise Denied(decision.reason)
            plans.append(plan)
        return plans

    def _decide(self, invocation: Invocation, command: Command, host: str, plan: Plan | None) -> Decision:
        """The policy's decision on one step with the targets of its plan; no when in doubt."""
        try:
            return self.policy.decide(
                invocation.principal,
                command=command.spec.name,
                action_class=command.spec.action_class,
                host=host,
                targets=plan.targets if plan else (),
                own_container_id=self.own_container_id,
            )
        except Exception:  # deny in doubt
            log.exception("the policy failed to decide %r; denying", command.text)
            return Decision(False, "Denied: the policy could not decide; ask an admin", "error")

    def _recheck(
        self,
        invocation: Invocation,
        engine: Engine,
        command: Command,
        *,
        authorized: Plan,
        index: int,
        host: str,
    ) -> Plan:
        """Before a later step of a chain runs, plan it again: the steps before it changed the engine, and it
        may now touch objects nobody authorized (`stop X && container prune` would take X), or its objects
        may have changed (a protected container now uses the image). The fresh plan is what runs: every
        object in it was in the authorized plan (its ID, and for an image the reference sent), and the
        policy allows it again as it is now."""
        fresh = engine.plan(command.spec.operation, command.args, authorized.command)
        if fresh is None:  # pragma: no cover - a command with a plan always has one
            raise Denied(f"step {index + 1} ({command.text}) has no plan any more; it did not run")
        allowed = {(target.kind, target.id, target.ref) for target in authorized.targets}
        extra = [t.name for t in fresh.targets if (t.kind, t.id, t.ref) not in allowed]
        if extra:
            raise Denied(
                f"step {index + 1} ({command.text}) would now also touch {', '.join(extra[:5])}, which was "
                "not in the plan you were shown; it did not run. Run the command again for a fresh plan."
            )
        decision = self._decide(invocation, command, host, fresh)
        if not decision.allowed:
            reason = decision.reason.removeprefix("Denied: ")
            raise Denied(f"step {index + 1} ({command.text}) is no longer allowed: {reason}; it did not run")
        return fresh

    def _confirmation_gate(
        self,
        invocation: Invocation,
        *,
        commands: Sequence[Command],
        plans: Sequence[Plan | None],
        host: str,
        verdict: _Verdict,
        pending: PendingPlan | None,
    ) -> ConfirmationResult | None:
        """None when the steps may run now; otherwise the plan to confirm (and nothing has run)."""
        shown = tuple(plan for plan in plans if plan is not None)
        digest = _chain_digest(shown)
        verdict.plan_hash = digest if shown else None
        needs = any(_needs_confirmation(c.spec, p) for c, p in zip(commands, plans, strict=True))
        approval = "two-person" if verdict.two_person else "none"
        if pending is not None:
            # a click: it runs only the very plan it was shown, under the approval that plan asked for
            if pending.plan_hash != digest or pending.approval != approval:
                return self._new_pending(invocation, shown, digest, host, approval, changed=True)
            if not self.store.settle_pending(pending.id, "used", invocation.confirmed_by):
                raise Denied("this plan was already confirmed, cancelled or has expired; nothing ran")
            return None
        if not needs and approval == "none":
            return None
        if invocation.confirmed and approval == "none":
            return None
        return self._new_pending(invocation, shown, digest, host, approval)

    def _new_pending(
        self,
        invocation: Invocation,
        plans: tuple[Plan, ...],
        digest: str,
        host: str,
        approval: str,
        *,
        changed: bool = False,
    ) -> ConfirmationResult:
        stored = self.store.create_pending(
            team_id=invocation.team_id,
            user_id=invocation.user_id,
            channel_id=invocation.channel_id,
            host=host,
            text=invocation.text,
            plan_hash=digest,
            approval=approval,
            groups=",".join(sorted(invocation.groups)),
            ttl=self.confirm_ttl,
        )
        return ConfirmationResult(
            plans=plans,
            token=stored.id,
            expires_at=stored.expires_at,
            requester=invocation.user_id,
            approval=approval,
            changed=changed,
        )

    def _pending_for(self, invocation: Invocation) -> PendingPlan:
        """The pending plan a click names, if this clicker may settle it; otherwise a clear refusal."""
        pending = self.store.pending(invocation.confirmation or "")
        if pending is None:
            raise NotFound("no such plan: it may belong to another bot or have been cleaned up")
        if pending.state != "pending" or pending.expires_at <= time.time():
            state = "expired" if pending.state == "pending" else f"already {pending.state}"
            raise Denied(f"this plan is {state}; nothing ran. Run the command again for a fresh plan.")
        if pending.approval == "two-person":
            if invocation.user_id == pending.user_id:
                raise Denied("you cannot approve your own request: a second person must approve it")
            if not self.policy.can_approve(invocation.principal, pending.host):
                raise Denied(
                    f'approving needs the "approve" right on host {pending.host}; you do not have it'
                )
        elif invocation.user_id != pending.user_id:
            raise Denied(f"only <@{pending.user_id}> can confirm this plan; nothing ran")
        return pending

    @staticmethod
    def _as_requested(clicker: Invocation, pending: PendingPlan) -> Invocation:
        """The requester's own invocation, re-authorized at the click; the clicker is the confirmer."""
        return Invocation(
            text=pending.text,
            user_id=pending.user_id,
            channel_id=pending.channel_id,
            team_id=pending.team_id,
            host=pending.host,
            source=clicker.source,
            groups=frozenset(g for g in pending.groups.split(",") if g),
            is_dm=pending.channel_id.startswith("D"),
            # only the local shell sets local_admin (never a Slack door), and only its own plan keeps it
            local_admin=clicker.local_admin and clicker.user_id == pending.user_id,
            confirmation=pending.id,
            confirmed_by_user=clicker.user_id,
            progress=clicker.progress,
        )

    def cancel(self, plan_id: str, clicker: Invocation) -> bool:
        """Cancel a pending plan (its requester, or anyone for a plan awaiting approval); always audited."""
        pending = self.store.pending(plan_id)
        allowed = pending is not None and (pending.approval != "none" or pending.user_id == clicker.user_id)
        done = allowed and self.store.settle_pending(plan_id, "cancelled", clicker.user_id)
        self.note_click(
            clicker,
            f"cancel {pending.text if pending else '(unknown plan)'}",
            decision="allowed" if allowed else "denied",
            outcome="cancelled" if done else "refused",
            plan_hash=pending.plan_hash if pending else None,
        )
        return done

    def note_click(
        self,
        clicker: Invocation,
        text: str,
        *,
        decision: str = "none",
        outcome: str = "ok",
        plan_hash: str | None = None,
    ) -> None:
        """An audit row for a click that runs no command (cancel, picking a container)."""
        host = clicker.host or self.default_host
        row = self.store.audit_start(
            team_id=clicker.team_id,
            user_id=clicker.user_id,
            channel_id=clicker.channel_id,
            source=clicker.source,
            host=host,
            text=text,
        )
        self.store.audit_finish(
            row, decision=decision, rule="click", outcome=outcome, duration=0.0, plan_hash=plan_hash
        )

    def _engine(self, host: str) -> Engine:
        engine = self.engines.get(host)
        if engine is None:
            raise NotFound(f"no Docker host named {host!r}", hint=f"hosts: {', '.join(self.engines)}")
        return engine

    def _run(
        self, engine: Engine, command: Command, invocation: Invocation, host: str, plan: Plan | None
    ) -> Result:
        """Run one step: a read with its arguments; a mutation with the plan the policy authorized (the
        engine sends only what that plan resolved, never the typed text)."""
        local = self._local.get(command.spec.operation)
        if local is not None:
            return local(command.args, invocation, host)
        operation: Callable[..., Result] = getattr(engine, command.spec.operation)
        if command.spec.action_class == READ:
            return operation(command.args)
        if plan is None:  # deny in doubt: a mutation never runs without the plan the policy saw
            raise Denied(f"{command.text}: no plan was authorized for it; nothing ran")
        if command.spec.reports_progress and invocation.progress is not None:
            return operation(command.args, plan, progress=invocation.progress)
        return operation(command.args, plan)

    def _help(self, args: Any, invocation: Invocation, host: str) -> HelpResult:
        """`help`: only what the asker may run here, marking what asks to confirm or needs approval."""
        principal = invocation.principal
        if not args.command:
            visible = [s for s in self.catalog.visible() if self.policy.can(principal, s, host)]
            return HelpResult(entries=tuple(self._entry(spec, principal, host) for spec in visible))
        resolved = self.catalog.resolve(list(args.command))
        if resolved is None or resolved[1]:
            suggestion = self.catalog.suggest(list(args.command))
            hint = f'did you mean "{suggestion}"?' if suggestion else 'try "help" for the list of commands'
            raise UsageError(f'unknown command "{" ".join(args.command)}"', hint=hint)
        return HelpResult(entries=(self._entry(resolved[0], principal, host),), detailed=True)

    def _entry(self, spec: CommandSpec, principal: Principal, host: str) -> HelpEntry:
        marks = []
        if spec.confirm == ALWAYS:
            marks.append("asks to confirm")
        elif spec.confirm == MANY:
            marks.append("asks to confirm for several targets")
        if self.policy.approval_for(principal, spec, host) == "two-person":
            marks.append("needs a second person's approval")
        summary = spec.summary + (f" ({'; '.join(marks)})" if marks else "")
        return HelpEntry(
            name=spec.name,
            aliases=spec.aliases,
            usage=spec.usage,
            summary=summary,
            action_class=spec.action_class,
            options=tuple((option.display, option.help) for option in spec.options),
            examples=spec.examples,
        )

    def _whoami(self, args: Any, invocation: Invocation, host: str) -> TextResult:
        """`whoami`: the asker's IDs, groups, roles and action classes here."""
        principal = invocation.principal
        roles = self.policy.roles_of(principal, host)
        classes = self.policy.allowed_classes(principal, host)
        lines = [
            f"user:     {invocation.user_id}" + (" (local admin)" if invocation.local_admin else ""),
            f"channel:  {invocation.channel_id}",
            f"groups:   {', '.join(sorted(invocation.groups)) or '—'}",
            f"host:     {host}",
            f"roles:    {', '.join(roles) or '—'}",
            f"may:      {', '.join(classes) or 'nothing'}",
            f"approve:  {'yes' if self.policy.can_approve(principal, host) else 'no'}",
        ]
        return TextResult(f"you are <@{invocation.user_id}> on host {host}", "\n".join(lines))

    def _can_i(self, args: Any, invocation: Invocation, host: str) -> TextResult:
        """`can-i COMMAND…`: the decision for each step, computed like a real run, and nothing run."""
        text = " ".join(args.command)
        engine = self._engine(host)
        lines = []
        allowed = True
        for command in parse(text, self.catalog):
            spec = command.spec
            plan = engine.plan(spec.operation, command.args) if spec.action_class != READ else None
            decision = self.policy.decide(
                invocation.principal,
                command=spec.name,
                action_class=spec.action_class,
                host=host,
                targets=plan.targets if plan else (),
                own_container_id=self.own_container_id,
            )
            allowed = allowed and decision.allowed
            extra = []
            if decision.allowed and _needs_confirmation(spec, plan):
                extra.append("after you confirm its plan")
            if decision.allowed and decision.approval == "two-person":
                extra.append("after a second person approves")
            verdict = "yes" if decision.allowed else "no"
            lines.append(f"{verdict}: {command.text}" + (f" ({', '.join(extra)})" if extra else ""))
            lines.append(f"  {decision.reason}  [{decision.rule}]")
        summary = "yes, you may" if allowed else "no, you may not"
        return TextResult(f"{summary} run `{text}` on host {host} (dry run: nothing ran)", "\n".join(lines))

    def _audit(self, args: Any, invocation: Invocation, host: str) -> TextResult:
        """`audit [--user U] [--limit N]`: the newest decisions, for admins."""
        rows = self.store.audit_rows(user_id=args.user, limit=args.limit)
        table = [("WHEN (UTC)", "USER", "CHANNEL", "COMMAND", "DECISION", "OUTCOME")]
        for row in rows:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row.at))
            table.append((when, row.user_id, row.channel_id, row.text[:60], row.decision, row.outcome))
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        body = "\n".join(
            "   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table
        )
        who = f" of <@{args.user}>" if args.user else ""
        return TextResult(f"the last {len(rows)} audit rows{who}", body)

    def _notify_status(self, args: Any, invocation: Invocation, host: str) -> TextResult:
        """`notify status`: the routes and scheduled reports from the config and the mutes in force."""
        lines = ["routes:", *(f"  {route}" for route in self.notify_routes or ("(none configured)",))]
        if self.notify_reports:
            lines += ["reports:", *(f"  {report}" for report in self.notify_reports)]
        mutes = self.store.mutes()
        lines.append("mutes:")
        for mute_host, container, until, by in mutes:
            left = max(0, round((until - time.time()) / 60))
            lines.append(f"  {container} on {mute_host}: {left} min left (by <@{by}>)")
        if not mutes:
            lines.append("  (none)")
        reports = f", {len(self.notify_reports)} report(s)" if self.notify_reports else ""
        summary = f"{len(self.notify_routes)} route(s){reports}, {len(mutes)} mute(s)"
        return TextResult(summary, "\n".join(lines))

    def _notify_mute(self, args: Any, invocation: Invocation, host: str) -> TextResult:
        """`notify mute CONTAINER DURATION`."""
        until = time.time() + args.seconds
        self.store.mute(host, args.container, until, invocation.user_id)
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(until))
        return TextResult(f"muted {args.container} on host {host} until {when}")

    def _notify_unmute(self, args: Any, invocation: Invocation, host: str) -> TextResult:
        """`notify unmute CONTAINER`."""
        if not self.store.unmute(host, args.container):
            raise NotFound(f"{args.container} is not muted on host {host}")
        return TextResult(f"unmuted {args.container} on host {host}")

    def _notify_test(self, args: Any, invocation: Invocation, host: str) -> TextResult:
        """`notify test`: a test message to every routed channel (only while notifications run)."""
        if self.notify_test is None:
            raise NotFound(
                "notifications are not running here", hint="configure [[notify.routes]] and run the bot"
            )
        channels = self.notify_test(invocation.user_id)
        return TextResult(f"test notification queued for {len(channels)} channel(s): {', '.join(channels)}")

    def _notify_report(self, args: Any, invocation: Invocation, host: str) -> TextResult:
        """`notify report`: the disk report of this host, now, to the routes taking "disk"."""
        if self.notify_report is None:
            raise NotFound(
                "disk reports go to notification channels, and notifications are not running here",
                hint='run the bot with a [[notify.routes]] entry listening to "disk"; here, `system df`, '
                "`images -f dangling=true` and `ps -a -f status=exited` show the same figures",
            )
        channels = self.notify_report(invocation.user_id, host)
        if not channels:
            raise NotFound(
                f'no notification route takes "disk" reports from host {host}',
                hint='add "disk" to the events of a [[notify.routes]] entry whose hosts match this host',
            )
        return TextResult(
            f"disk report of host {host} queued for {len(channels)} channel(s): {', '.join(channels)}"
        )


class _Verdict:
    """What the policy said across a chain, for the audit row."""

    def __init__(self) -> None:
        self.decisions: list[Decision] = []
        self.plan_hash: str | None = None

    def add(self, decision: Decision) -> None:
        self.decisions.append(decision)

    @property
    def decision(self) -> str:
        if not self.decisions:
            return "none"
        return "allowed" if all(d.allowed for d in self.decisions) else "denied"

    @property
    def rule(self) -> str:
        return "; ".join(d.rule for d in self.decisions)

    @property
    def two_person(self) -> bool:
        return any(d.approval == "two-person" for d in self.decisions)


def _needs_confirmation(spec: CommandSpec, plan: Plan | None) -> bool:
    if spec.confirm == ALWAYS:
        return True
    return spec.confirm == MANY and plan is not None and len(plan.targets) > 1


def _chain_digest(plans: Sequence[Plan]) -> str:
    return hashlib.sha256("|".join(plan.digest() for plan in plans).encode()).hexdigest()


def _problem(exc: ChatOpsError) -> Problem:
    usage = exc.usage if isinstance(exc, UsageError) else None
    remedy = getattr(exc, "remedy", None)
    # renderers label a denial themselves ("denied: …", ":no_entry: denied: …")
    message = exc.message.removeprefix("Denied: ") if isinstance(exc, Denied) else exc.message
    return Problem(
        kind=type(exc).__name__,
        message=message,
        hint=exc.hint,
        usage=usage,
        remedy=remedy if isinstance(remedy, str) else None,
    )


def _outcome(exc: ChatOpsError) -> Outcome:
    for error_type, outcome in _OUTCOMES:
        if isinstance(exc, error_type):
            return outcome
    return Outcome.FAILED


def _host_down(invocation: Invocation, host: str, refusal: EngineUnavailable) -> Reply:
    """The answer for a command to a host that is down: at once, nothing run."""
    step = Step(invocation.text, problem=_problem(refusal))
    return Reply(invocation.text, host, Outcome.FAILED, (step,))


def _log_deadline_error(exc: BaseException) -> None:
    log.error("a command timeout handler failed", exc_info=exc)
