"""Property tests over parser + policy + router: no exception escapes, nothing runs that the policy denies
or that was not confirmed, and no process is ever started.

The engine is our own `Engine` subclass (tests/unit/recording_engine.py) whose Docker-facing methods record
calls instead of reaching a daemon (the docker SDK itself is never touched): what matters is which
operations the router lets through.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recording_engine import RECORDING, RecordingEngine

from bot.commands import CATALOG
from bot.commands.catalog import ALWAYS, MANY, READ
from bot.models import Outcome
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

POLICY = policy_of(CONFIG, RECORDING)  # the router's catalog: the policy decides on the same


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
        invocation = Invocation(text, user_id=user, channel_id=channel, assume_yes=confirmed)
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
