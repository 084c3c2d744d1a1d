"""An `Engine` that plans from a fixed world and records what it would run, and `RECORDING`: the catalog
whose handlers reach it instead of Docker. The router tests of this tier (the fuzz of parser + policy +
router, the re-check of chains) run commands through them; the docker SDK is never touched."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.commands import CATALOG, Catalog, CommandSpec
from bot.commands.catalog import Act, Read
from bot.engine import Engine, Host
from bot.models import ActionResult, Plan, Target, TextResult

TARGETS = [
    Target("container", "a" * 64, "web-1", {}),
    Target("container", "b" * 64, "db-1", {"team": "payments"}),
    Target("container", "c" * 64, "vault", {"chatops.protected": "true"}),
]


class RecordingEngine(Engine):
    """Plans from a fixed world; each operation records itself and the plan it was handed instead of
    calling Docker (through the `RECORDING` catalog, whose handlers call `plan` and `record` here)."""

    def __init__(self) -> None:
        super().__init__(Host("fuzz", "unix:///nonexistent.sock", 0.1))
        self.ran: list[tuple[str, tuple[Target, ...]]] = []

    def plan(self, operation: str, args: Any, command: str = "") -> Plan:
        """The plan of the command named `operation`: the world's objects its arguments name."""
        return Plan(command or operation, self.name, operation, _targets(args))

    def record(self, name: str, plan: Plan) -> ActionResult:
        """A mutation runs the plan the policy saw: record exactly what it would send."""
        assert isinstance(plan, Plan), f"{name} ran without its plan"
        self.ran.append((name, plan.targets))
        return ActionResult(name, ())


def _recording(spec: CommandSpec[Any]) -> CommandSpec[Any]:
    """`spec` with handlers that reach no Docker: a read answers at once, a mutation is recorded."""
    handler = spec.handler
    if isinstance(handler, Read):
        return replace(spec, handler=Read(lambda engine, args: TextResult("read")))
    if isinstance(handler, Act):
        return replace(
            spec,
            handler=Act(
                plan=lambda engine, args: _recorder(engine).plan(spec.name, args),
                run=lambda engine, args, plan, progress: _recorder(engine).record(spec.name, plan),
            ),
        )
    return spec


def _recorder(engine: Engine) -> RecordingEngine:
    assert isinstance(engine, RecordingEngine)
    return engine


RECORDING = Catalog(_recording(spec) for spec in CATALOG.specs)


def _targets(args: Any) -> tuple[Target, ...]:
    """The world's objects an argument list names; a prune (no names) touches all of them."""
    for field in ("containers", "images", "targets"):
        value = getattr(args, field, None)
        if value:
            return tuple(t for t in TARGETS if t.name in {str(v) for v in value})
    return tuple(TARGETS)
