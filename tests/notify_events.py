"""Docker events and notification rules for the rules' tests (tests/unit/test_notify_rules.py and
tests/component/test_notify_rules_timing.py): a container event at a time, rules over routes, a crash."""

from __future__ import annotations

from bot.models import Notification
from bot.notify.events import DockerEvent
from bot.notify.rules import NS, Rules, RuleState
from bot.settings import NotifyConfig

HOST = "prod-1"
CID = "a" * 64
OTHER = "b" * 64
ALL_KINDS = ["died", "oom", "unhealthy", "restart_loop", "recovered", "started", "stopped", "image_removed"]


def event(
    action: str,
    t: float = 0.0,
    *,
    cid: str = CID,
    name: str = "web-1",
    kind: str = "container",
    host: str = HOST,
    away: bool = False,
    **attributes: str,
) -> DockerEvent:
    """A container event at `t` seconds, with the attributes Docker sends (name, image, labels…)."""
    attrs = {"name": name, "image": "shop/web:1.2", **attributes}
    return DockerEvent(host, kind, action, cid, attrs, int(t * NS), away=away)


def make_rules(*routes: dict[str, object], mutes: object = None, **loop: object) -> Rules:
    """Rules over the given routes (default: one route taking every kind from everywhere)."""
    config = NotifyConfig.model_validate(
        {
            "routes": list(routes) or [{"channel": "C0ALERTS", "events": ALL_KINDS}],
            "restart_loop": {"restarts": 3, "within": "5m", "stable": "30s", **loop},
        }
    )
    return Rules(config, mutes)  # type: ignore[arg-type]


def run(rules: Rules, state: RuleState, *events: DockerEvent) -> list[Notification]:
    """Every notification a sequence of events makes."""
    notes: list[Notification] = []
    for item in events:
        notes.extend(rules.evaluate(item, state))
    return notes


def crash(t: float, code: str = "1") -> list[DockerEvent]:
    """One crash and restart of the container at `t` (die, then start 0.1 s later)."""
    return [event("die", t, exitCode=code), event("start", t + 0.1)]
