"""One request, step by step: parse → authorize → gate → run → audit.

Each step returns a value (the commands, the `Authorization`, the confirmation gate's answer, the steps'
results) and the audit row is written from those values at the end. An `A && B` chain stops at the first
failure, like a shell. Only our typed errors reach the user with their message; anything else is logged
with a request id and the user sees that id.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.commands import Catalog, Command, parse
from bot.commands.catalog import Builtin, Read
from bot.engine import Engine
from bot.errors import ChatOpsError, Denied, EngineUnavailable, UsageError
from bot.models import Outcome, Plan, Problem, Reply, Result, Step
from bot.policy import Decision
from bot.router.audit import AuditLog
from bot.router.authorize import Authorization, Authorizer
from bot.router.builtins import Asked, Builtins
from bot.router.confirmations import Confirmations, chain_digest
from bot.router.hosts import engine_named
from bot.router.invocation import Invocation
from bot.store import PendingPlan

log = logging.getLogger(__name__)

_OUTCOMES: tuple[tuple[type[ChatOpsError], Outcome], ...] = (
    (UsageError, Outcome.USAGE),
    (Denied, Outcome.DENIED),
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the policy said across a chain, for the audit row."""

    decisions: tuple[Decision, ...] = ()
    plan_hash: str | None = None

    @property
    def decision(self) -> str:
        """`allowed` when every step was, `denied` when one was not, `none` when nothing was decided."""
        if not self.decisions:
            return "none"
        return "allowed" if all(d.allowed for d in self.decisions) else "denied"

    @property
    def rule(self) -> str:
        """The rules that decided, step by step."""
        return "; ".join(d.rule for d in self.decisions)


@dataclass(frozen=True, slots=True)
class Answer:
    """A reply and the verdict it was given under."""

    reply: Reply
    verdict: Verdict = Verdict()


@dataclass(frozen=True, slots=True)
class Where:
    """Where an invocation runs: its host, and whether it may call that host's engine."""

    host: str
    touches_engine: bool


class Pipeline:
    """Answers invocations against named Docker hosts."""

    def __init__(
        self,
        engines: Mapping[str, Engine],
        default_host: str,
        catalog: Catalog,
        *,
        authorizer: Authorizer,
        confirmations: Confirmations,
        builtins: Builtins,
        audit: AuditLog,
    ) -> None:
        self.engines = engines
        self.default_host = default_host
        self.catalog = catalog
        self.authorizer = authorizer
        self.confirmations = confirmations
        self.builtins = builtins
        self.audit = audit

    def where(self, invocation: Invocation) -> Where:
        """The host an invocation is for, and whether running it may call that host's engine (parsing is
        pure and cheap; a usage error, an unknown host or plan touch no engine). A confirmation click names
        no host: it belongs to the host of its pending plan."""
        host = invocation.host or self.default_host
        if invocation.plan_id is not None:
            pending = self.confirmations.store.pending(invocation.plan_id)
            if pending is None:
                return Where(host, False)
            return Where(pending.host, True)
        if host not in self.engines:
            return Where(host, False)
        try:
            commands = parse(invocation.text, self.catalog)
        except Exception:  # a usage error (or worse) is answered without any engine
            return Where(host, False)
        return Where(host, any(command.spec.touches_engine for command in commands))

    def handle(self, invocation: Invocation, audit_id: int | None = None) -> Reply:
        """Answer one invocation and audit it; never raises for anything a user can type."""
        started = time.monotonic()
        host = invocation.host or self.default_host
        if audit_id is None:
            audit_id = self.audit.start(invocation, host)
        try:
            answer = self._answer(invocation, host, started)
        except Exception:
            request_id = uuid.uuid4().hex[:12]
            log.exception("internal error (request %s) handling %r", request_id, invocation.text)
            message = f"internal error (request {request_id}); the details are in the bot's log"
            step = Step(invocation.text, problem=Problem("internal", message))
            answer = Answer(Reply(invocation.text, host, Outcome.FAILED, (step,), time.monotonic() - started))
        reply, verdict = answer.reply, answer.verdict
        problem = reply.problem
        self.audit.store.audit_finish(
            audit_id,
            decision=verdict.decision,
            rule=verdict.rule,
            outcome=reply.outcome.value,
            duration=reply.elapsed,
            plan_hash=verdict.plan_hash,
            error=problem.message if problem else None,
        )
        return reply

    def _answer(self, invocation: Invocation, host: str, started: float) -> Answer:
        chain = 1

        def done(outcome: Outcome, steps: Sequence[Step], verdict: Verdict = Verdict()) -> Answer:
            elapsed = time.monotonic() - started
            return Answer(Reply(invocation.text, host, outcome, tuple(steps), elapsed, chain), verdict)

        def refused(exc: ChatOpsError, verdict: Verdict = Verdict()) -> Answer:
            return done(outcome_of(exc), [Step(invocation.text, problem=problem_of(exc))], verdict)

        # parse
        pending: PendingPlan | None = None
        try:
            if invocation.plan_id is not None:
                pending = self.confirmations.claim(invocation)
                invocation = self.confirmations.as_requested(invocation, pending)
                host = pending.host
            engine = engine_named(self.engines, host)
            commands = parse(invocation.text, self.catalog)
        except ChatOpsError as exc:
            return refused(exc)
        chain = len(commands)
        # authorize
        authorization = self.authorizer.chain(invocation, commands, host, engine)
        verdict = Verdict(authorization.decisions)
        if authorization.error is not None:
            return refused(authorization.error, verdict)
        # gate
        shown = tuple(plan for plan in authorization.plans if plan is not None)
        digest = chain_digest(shown)
        verdict = Verdict(authorization.decisions, digest if shown else None)
        try:
            gate = self.confirmations.gate(
                invocation,
                shown=shown,
                digest=digest,
                host=host,
                needs=any(step.needs_confirmation for step in authorization.steps),
                approval="two-person" if authorization.two_person else "none",
                pending=pending,
            )
        except ChatOpsError as exc:
            return refused(exc, verdict)
        if gate is not None:
            return done(Outcome.NEEDS_CONFIRMATION, [Step(invocation.text, result=gate)], verdict)
        # run
        outcome, steps = self._run_chain(invocation, engine, host, authorization)
        return done(outcome, steps, verdict)

    def _run_chain(
        self, invocation: Invocation, engine: Engine, host: str, authorization: Authorization
    ) -> tuple[Outcome, list[Step]]:
        """Run the authorized steps in order; a later step is planned and decided again before it runs."""
        steps: list[Step] = []
        asked = Asked(invocation, host)
        for index, step in enumerate(authorization.steps):
            command = step.command
            try:
                plan = step.plan
                if index > 0 and step.plan is not None:
                    plan = self.authorizer.recheck(
                        invocation, engine, command, authorized=step.plan, index=index, host=host
                    )
                result = self._run(engine, command, asked, plan)
            except ChatOpsError as exc:
                steps.append(Step(command.text, problem=problem_of(exc)))
                return outcome_of(exc), steps
            steps.append(Step(command.text, result=result))
        return Outcome.OK, steps

    def _run(self, engine: Engine, command: Command, asked: Asked, plan: Plan | None) -> Result:
        """Run one step through its catalog handler: a read with its arguments; a mutation with the plan the
        policy authorized (the engine sends only what that plan resolved, never the typed text)."""
        handler = command.spec.handler
        if isinstance(handler, Builtin):
            return handler.run(self.builtins, command.args, asked)
        if isinstance(handler, Read):
            return handler.run(engine, command.args)
        if plan is None:  # deny in doubt: a mutation never runs without the plan the policy saw
            raise Denied(f"{command.text}: no plan was authorized for it; nothing ran")
        return handler.run(engine, command.args, plan, asked.invocation.progress)


def problem_of(exc: ChatOpsError) -> Problem:
    """The user-facing problem of one of our errors."""
    usage = exc.usage if isinstance(exc, UsageError) else None
    # renderers label a denial themselves ("denied: …", ":no_entry: denied: …")
    message = exc.message.removeprefix("Denied: ") if isinstance(exc, Denied) else exc.message
    return Problem(
        kind=type(exc).__name__,
        message=message,
        hint=exc.hint,
        usage=usage,
        remedy=exc.remedy,
    )


def outcome_of(exc: ChatOpsError) -> Outcome:
    """The reply's outcome for one of our errors."""
    for error_type, outcome in _OUTCOMES:
        if isinstance(exc, error_type):
            return outcome
    return Outcome.FAILED


def host_down(invocation: Invocation, host: str, refusal: EngineUnavailable) -> Reply:
    """The answer for a command to a host that is down: at once, nothing run."""
    step = Step(invocation.text, problem=problem_of(refusal))
    return Reply(invocation.text, host, Outcome.FAILED, (step,))
