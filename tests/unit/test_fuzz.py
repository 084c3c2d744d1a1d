"""Property tests over parser + policy + router: no exception escapes, nothing runs that the policy denies
or that was not confirmed, and no process is ever started.

The engine here is our own `Engine` subclass whose Docker-facing methods record calls instead of reaching a
daemon (the docker SDK itself is never touched): what matters is which operations the router lets through.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import CATALOG, Catalog, CommandSpec
from bot.commands.catalog import ALWAYS, MANY, READ, Act, Read
from bot.engine import Engine, Host
from bot.models import ActionResult, Outcome, Plan, Target, TextResult
from bot.router import Invocation, Router
from bot.settings import FileConfig
from bot.startup import policy_of

_FORBIDDEN_EVENTS = (
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "pty.spawn",
)
_process_events: list[str] = []
_watching = [False]


def _audit(event: str, _args: Sequence[Any]) -> None:
    if _watching[0] and event.startswith(_FORBIDDEN_EVENTS):
        _process_events.append(event)


sys.addaudithook(_audit)

CONFIG = FileConfig.model_validate(
    {
        "roles": {
            "viewer": {"allow": ["read"]},
            "operator": {"allow": ["read", "operate"]},
            "janitor": {"allow": ["read", "remove"], "approval": {"remove": "two-person"}},
            "admin": {"allow": ["*"]},
        },
        "bindings": [
            {"role": "viewer", "users": ["*"]},
            {"role": "operator", "users": ["U0OPS"], "channels": ["C0OPS"], "containers": ["web-*"]},
            {"role": "janitor", "users": ["U0JAN"], "containers": ["label:team=payments"]},
            {"role": "admin", "users": ["U0ADMIN"]},
        ],
    }
)
POLICY = policy_of(CONFIG)

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


NAMES = ["web-1", "db-1", "vault"]
FLAGS = ["-f", "-a", "-v", "-q", "-t", "5", "--volumes", "--filter", "until=24h", "label=team=payments"]
SPELLINGS = [spec.name for spec in CATALOG.specs]
USERS = ["U0OPS", "U0JAN", "U0ADMIN", "U0NOBODY", "local"]
CHANNELS = ["C0OPS", "C0RANDOM", "D0DM"]
NOISE = ["|", ";", "$(id)", "`id`", ">", "'", '"', "docker", "&amp;&amp;", "\\", "\n", "—", "&&"]

MUTATING = [spec.name for spec in CATALOG.specs if spec.action_class not in {READ, "admin"}]
well_formed = st.builds(
    lambda name, targets: " ".join([name, *targets]),
    st.sampled_from(MUTATING),
    st.lists(st.sampled_from(NAMES), min_size=0, max_size=2, unique=True),
)
noisy = st.builds(
    lambda name, rest: " ".join([name, *rest]),
    st.sampled_from(SPELLINGS),
    st.lists(st.sampled_from(NAMES + FLAGS + NOISE) | st.text(max_size=8), max_size=4),
)
step = well_formed | noisy
chains = st.lists(step, min_size=1, max_size=3).map(" && ".join)
# well-formed commands three times as often as chains and raw text, so many examples really run something
texts = st.one_of(well_formed, well_formed, well_formed, chains, st.text(max_size=60))


def test_router_never_raises_never_runs_what_is_denied_or_unconfirmed() -> None:
    """Random chains from random identities: each step that ran was allowed on exactly its targets,
    confirmed when it had to be, never one needing approval; no exception escaped and no process started.

    One router answers every example (building one starts its worker threads, most of an example's cost);
    `handle` keeps nothing between invocations that could let one run: a pending plan runs only from a
    click naming it, and the examples carry none."""
    executed: list[int] = []
    engine = RecordingEngine()
    router = Router([engine], RECORDING, policy=POLICY)

    @settings(
        max_examples=1000, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(
        text=texts,
        user=st.sampled_from(USERS),
        channel=st.sampled_from(CHANNELS),
        confirmed=st.booleans(),
    )
    def check(text: str, user: str, channel: str, confirmed: bool) -> None:
        engine.ran.clear()
        invocation = Invocation(text, user_id=user, channel_id=channel, confirmed=confirmed)
        _watching[0] = True
        try:
            reply = router.handle(invocation)
        finally:
            _watching[0] = False
        assert _process_events == []
        assert reply.outcome in set(Outcome)
        executed.append(len(engine.ran))
        for name, targets in engine.ran:
            spec = CATALOG.get(name)
            assert spec is not None
            decision = POLICY.decide(
                invocation.principal,
                command=spec.name,
                action_class=spec.action_class,
                host="fuzz",
                targets=targets,
            )
            assert decision.allowed, f"{text!r} ran {name} on {targets} for {user} in {channel}"
            assert decision.approval == "none", f"{name} ran without a second person's approval"
            if spec.confirm == ALWAYS or (spec.confirm == MANY and len(targets) > 1):
                assert confirmed, f"{name} ran unconfirmed"

    try:
        check()
    finally:
        router.close()
    assert sum(1 for count in executed if count) >= 10, "the property must exercise commands that really run"
