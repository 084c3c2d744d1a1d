"""The authorize step: plan a command (if it changes Docker) and ask the policy about exactly that plan.

`run`, `can-i` and the re-check before a later step of a chain all decide here, with the same guard: when
the policy fails to decide, the answer is no.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.commands import Command
from bot.commands.catalog import ALWAYS, MANY, Act, CommandSpec
from bot.engine import Engine
from bot.errors import ChatOpsError, Conflict, Denied, NotFound
from bot.models import Plan
from bot.policy import Decision, Policy
from bot.router.invocation import Invocation

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StepDecision:
    """One step of a chain as authorized: its plan (None for what changes nothing) and the decision."""

    command: Command
    plan: Plan | None
    decision: Decision

    @property
    def needs_confirmation(self) -> bool:
        """Whether the step asks its user to confirm its plan before it runs."""
        return needs_confirmation(self.command.spec, self.plan)


@dataclass(frozen=True, slots=True)
class Authorization:
    """The decisions taken for a chain, in order, up to the first refusal (`error`), if any."""

    steps: tuple[StepDecision, ...]
    error: ChatOpsError | None = None

    @property
    def decisions(self) -> tuple[Decision, ...]:
        """What the policy said, for the audit row."""
        return tuple(step.decision for step in self.steps)

    @property
    def plans(self) -> tuple[Plan | None, ...]:
        """Each step's plan (None for a step without one)."""
        return tuple(step.plan for step in self.steps)

    @property
    def two_person(self) -> bool:
        """Whether any step needs a second person's approval."""
        return any(step.decision.approval == "two-person" for step in self.steps)


class Authorizer:
    """Plans and decides steps against one policy."""

    def __init__(self, policy: Policy, own_container_id: str | None = None) -> None:
        self.policy = policy
        self.own_container_id = own_container_id

    @staticmethod
    def plan(engine: Engine, command: Command, text: str = "") -> Plan | None:
        """What the command would touch, from its catalog planner (None for a command that changes
        nothing); `text` is what the plan is shown and hashed for (default: the planner's own words)."""
        handler = command.spec.handler
        if not isinstance(handler, Act):
            return None
        plan = handler.plan(engine, command.args)
        return replace(plan, command=text) if text else plan

    def decide(self, invocation: Invocation, command: Command, host: str, plan: Plan | None) -> Decision:
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

    def step(self, invocation: Invocation, command: Command, host: str, engine: Engine) -> StepDecision:
        """Plan one step and decide it (planning may raise our typed errors). A plan that names nothing
        that exists is `NotFound` for everyone: a typo is not a permission problem."""
        plan = self.plan(engine, command)
        if plan is not None and plan.missing and not plan.targets:
            raise NotFound("\n".join(plan.missing), hint=f'on host {host}; try "ps -a" or "images"')
        return StepDecision(command, plan, self.decide(invocation, command, host, plan))

    def chain(
        self, invocation: Invocation, commands: Sequence[Command], host: str, engine: Engine
    ) -> Authorization:
        """One decision per step, before any Docker change, stopping at the first refusal; a first step
        that Docker will refuse for every object it names is refused here with the way out (`Conflict`),
        before anyone is asked to confirm it."""
        steps: list[StepDecision] = []
        for index, command in enumerate(commands):
            try:
                step = self.step(invocation, command, host, engine)
            except ChatOpsError as exc:
                return Authorization(tuple(steps), exc)
            steps.append(step)
            if not step.decision.allowed:
                return Authorization(tuple(steps), Denied(step.decision.reason))
            # the first step meets the engine as planned; a later one only after the steps before it
            # (`stop web && rm web`), and is planned again then
            plan = step.plan
            if index == 0 and plan is not None and plan.targets and all(t.fails for t in plan.targets):
                return Authorization(tuple(steps), _refused(plan))
        return Authorization(tuple(steps))

    def recheck(
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
        fresh = self.plan(engine, command, authorized.command)
        if fresh is None:  # pragma: no cover - a command with a plan always has one
            raise Denied(f"step {index + 1} ({command.text}) has no plan any more; it did not run")
        allowed = {(target.kind, target.id, target.ref) for target in authorized.targets}
        extra = [t.name for t in fresh.targets if (t.kind, t.id, t.ref) not in allowed]
        if extra:
            raise Denied(
                f"step {index + 1} ({command.text}) would now also touch {', '.join(extra[:5])}, which was "
                "not in the plan you were shown; it did not run. Run the command again for a fresh plan."
            )
        decision = self.decide(invocation, command, host, fresh)
        if not decision.allowed:
            reason = decision.reason.removeprefix("Denied: ")
            raise Denied(f"step {index + 1} ({command.text}) is no longer allowed: {reason}; it did not run")
        return fresh


def _refused(plan: Plan) -> Conflict:
    """Every object of `plan` is one Docker will refuse: say why, and the commands that clear the way."""
    reasons = [f"{target.name}: {target.fails}" for target in plan.targets]
    remedies = list(dict.fromkeys(target.remedy for target in plan.targets if target.remedy))
    remedy = " && ".join(remedies) if remedies else None
    hint = f"nothing ran; first: {remedy}" if remedy else "nothing ran"
    return Conflict("\n".join([*reasons, *plan.missing]), hint=hint, remedy=remedy)


def needs_confirmation(spec: CommandSpec[Any], plan: Plan | None) -> bool:
    """Whether a command with this plan asks to confirm before it runs: never for a plan with nothing in it
    (a prune that finds nothing just says so)."""
    if plan is not None and not plan.targets:
        return False
    if spec.confirm == ALWAYS:
        return True
    return spec.confirm == MANY and plan is not None and len(plan.targets) > 1
