"""What the notification path carries: Docker events, the last known state of a container, notifications.

`DockerEvent` reads only what every API version sends (`Type`, `Action`, `Actor.ID`, `Actor.Attributes`,
`timeNano`; the old `status/id/from` are gone from API 1.52). For containers, `Actor.Attributes` holds the
container's labels next to `name`, `image` and, on `die`, `exitCode`. `away=True` marks an event the
watcher synthesized from a re-list, for a change it never saw on the stream.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.models import ContainerRow

NOTIFY_LABEL = "chatops.notify"
_OPT_OUT = frozenset({"false", "0", "no", "off"})
# Attributes Docker adds to a container event next to the container's own labels.
_EVENT_ATTRIBUTES = frozenset({"name", "image", "exitCode", "signal", "execID", "exitcode"})


def since_param(time_nano: int) -> str:
    """`since`/`until` as the Engine API takes them with nanoseconds: `"<sec>.<nanos>"`."""
    return f"{time_nano // 1_000_000_000}.{time_nano % 1_000_000_000:09d}"


@dataclass(frozen=True, slots=True)
class DockerEvent:
    """One message of `GET /events`, tagged with the host it came from."""

    host: str
    type: str
    action: str
    actor_id: str
    attributes: Mapping[str, str]
    time_nano: int
    away: bool = False

    @classmethod
    def from_api(cls, host: str, data: Mapping[str, Any]) -> DockerEvent:
        """Build from the decoded JSON; missing fields become empty, never an exception."""
        actor_raw = data.get("Actor")
        actor: Mapping[str, Any] = actor_raw if isinstance(actor_raw, Mapping) else {}
        raw = actor.get("Attributes")
        attributes = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}
        time_nano = data.get("timeNano")
        if not isinstance(time_nano, int):
            seconds = data.get("time")
            time_nano = int(seconds) * 1_000_000_000 if isinstance(seconds, int | float) else 0
        return cls(
            host=host,
            type=str(data.get("Type") or ""),
            action=str(data.get("Action") or ""),
            actor_id=str(actor.get("ID") or ""),
            attributes=attributes,
            time_nano=time_nano,
        )

    @property
    def key(self) -> tuple[str, str, int]:
        """What identifies one event across a reconnect: (id, Action, timeNano)."""
        return (self.actor_id, self.action, self.time_nano)

    @property
    def name(self) -> str:
        """The container's (or image's) name as the event carries it; the short id otherwise."""
        return self.attributes.get("name") or self.actor_id[:12]

    @property
    def image(self) -> str:
        """The image a container event names (for image events: the image's own name)."""
        if self.type == "image":
            return self.attributes.get("name") or self.actor_id
        return self.attributes.get("image", "")

    @property
    def exit_code(self) -> int | None:
        """The `exitCode` of a `die` event."""
        value = self.attributes.get("exitCode")
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    @property
    def labels(self) -> dict[str, str]:
        """The container's labels: the attributes without the ones Docker adds itself."""
        return {k: v for k, v in self.attributes.items() if k not in _EVENT_ATTRIBUTES}


def opted_out(labels: Mapping[str, str]) -> bool:
    """True for a container labelled `chatops.notify=false` (or 0, no, off): never announced."""
    value = labels.get(NOTIFY_LABEL)
    return value is not None and value.strip().lower() in _OPT_OUT


@dataclass(frozen=True, slots=True)
class ContainerState:
    """What the watcher last knew of one container; kept in memory and in the `notify_states` table."""

    id: str
    name: str
    image: str
    state: str
    health: str | None = None
    exit_code: int | None = None
    created: int = 0
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: ContainerRow) -> ContainerState:
        """From one entry of the list call (no inspect)."""
        return cls(
            id=row.id,
            name=row.name,
            image=row.image,
            state=row.state,
            health=row.health,
            exit_code=row.exit_code,
            created=row.created,
            labels=dict(row.labels),
        )

    def labels_json(self) -> str:
        """The labels as stored in SQLite."""
        return json.dumps(dict(self.labels), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Notification:
    """One thing worth telling a channel about, ready for the outbox.

    Keys are plain strings: `dedupe_key` names the event it came from (host, container id, Action,
    timeNano), `episode_key` the restart loop or unhealthy spell it opens, `thread_key` the episode whose
    thread it answers in (`restart_loop_update`), `update_key` the episode message it edits (`recovered`).
    """

    kind: str
    host: str
    container: str
    container_id: str
    image: str
    channels: tuple[str, ...]
    time_nano: int
    dedupe_key: str
    exit_code: int | None = None
    oom_killed: bool = False
    restart_count: int | None = None
    health_output: str | None = None
    log_tail: tuple[str, ...] = ()
    away: bool = False
    episode_key: str | None = None
    thread_key: str | None = None
    update_key: str | None = None

    @property
    def digest_line(self) -> str:
        """The short form a digest lists: `web-1 (137)`, `web-1 (OOM)`, `web-1 (5 restarts)`, `web-1`."""
        if self.kind == "oom" or self.oom_killed:
            return f"{self.container} (OOM)"
        if self.kind in ("restart_loop", "restart_loop_update") and self.restart_count is not None:
            return f"{self.container} ({self.restart_count} restarts)"
        if self.exit_code is not None:
            return f"{self.container} ({self.exit_code})"
        return self.container

    @property
    def summary(self) -> str:
        """One plain line: `web-1 exited (137)`; prefixed `while the bot was away,` for a re-listed change."""
        name = self.container
        text = {
            "died": f"{name} exited ({self.exit_code})",
            "oom": f"{name} was killed: out of memory"
            + (f" (exit {self.exit_code})" if self.exit_code is not None else ""),
            "stopped": f"{name} stopped" + (f" ({self.exit_code})" if self.exit_code is not None else ""),
            "started": f"{name} started",
            "unhealthy": f"{name} is unhealthy",
            "recovered": f"{name} recovered",
            "restart_loop": f"{name} is in a restart loop ({self.restart_count} restarts)",
            "restart_loop_update": f"{name} restarted again ({self.restart_count} restarts)",
            "image_removed": f"image {self.image} was removed",
        }.get(self.kind, f"{name}: {self.kind}")
        return f"while the bot was away, {text}" if self.away else text
