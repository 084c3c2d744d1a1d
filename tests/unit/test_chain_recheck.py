"""A chain is authorized on its plans, and each later step is planned again before it runs: a step that would
now touch an object nobody authorized (the earlier steps changed the engine) does not run."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from recording_engine import RECORDING, TARGETS, RecordingEngine

from bot.models import Outcome, Plan, Target
from bot.router import Invocation, Router


class ShiftingEngine(RecordingEngine):
    """`container prune` plans nothing at first; once `stop` ran, it would take the stopped container."""

    def plan(self, operation: str, args: Any, command: str = "") -> Plan:
        if operation == "container prune":
            stopped = any(name == "stop" for name, _ in self.ran)
            targets: tuple[Target, ...] = (TARGETS[0],) if stopped else ()
            return Plan(command or operation, self.name, operation, targets)
        return super().plan(operation, args, command)


def test_later_step_touching_more_than_authorized_does_not_run() -> None:
    """`stop web-1 && container prune`: re-planned after the stop, the prune would take web-1: not run."""
    engine = ShiftingEngine()
    router = Router([engine], RECORDING)
    reply = router.handle(Invocation("stop web-1 && container prune", local_admin=True, assume_yes=True))
    router.close()
    assert [name for name, _ in engine.ran] == ["stop"]
    assert reply.outcome is Outcome.DENIED
    assert reply.problem is not None
    assert "step 2 (container prune) would now also touch web-1" in reply.problem.message


class ProtectingEngine(RecordingEngine):
    """`rmi img:1` names the same image before and after `stop`, but once `stop` ran a protected container
    holds it (as if one had been created from it meanwhile)."""

    IMAGE = Target("image", "sha256:" + "d" * 64, "img:1", {}, ref="img:1", aliases=("img:1",))

    def plan(self, operation: str, args: Any, command: str = "") -> Plan:
        if operation == "rmi":
            held = (TARGETS[2],) if any(name == "stop" for name, _ in self.ran) else ()
            target = replace(self.IMAGE, held_by=held)
            return Plan(command or operation, self.name, operation, (target,))
        return super().plan(operation, args, command)


def test_later_step_is_authorized_again_as_the_engine_is_now() -> None:
    """The same objects, but now protected: the later step is decided again by the policy and refused."""
    engine = ProtectingEngine()
    router = Router([engine], RECORDING)
    reply = router.handle(Invocation("stop web-1 && rmi -f img:1", local_admin=True, assume_yes=True))
    router.close()
    assert [name for name, _ in engine.ran] == ["stop"]
    assert reply.outcome is Outcome.DENIED
    assert reply.problem is not None
    assert "step 2 (rmi -f img:1) is no longer allowed" in reply.problem.message
    assert "of container vault, which uses it" in reply.problem.message
