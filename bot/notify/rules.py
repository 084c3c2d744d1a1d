"""Which Docker events become which notifications, for which channels: pure, fast, no Docker calls.

`Rules` is built once from `[notify]`; `evaluate(event, state)` reads one event and the per-host
`RuleState` (what the rules remember between events) and returns the notifications to send. `tick` lets time
pass (a restart loop that stays up is recovered; an OOM kill the container survived is reported). Neither
ever calls Docker or blocks: logs and health output are added later, off the reader thread, by the watcher,
which also asks `muted` (a database read) there.

Kinds: `died` (non-zero exit the container chose itself), `oom` (out of memory: an `oom` event before the
exit), `stopped` (exit 0, or an exit after `docker stop`/`kill`: a `kill` event came first), `started`,
`unhealthy`, `recovered` (after unhealthy, or a restart loop that stayed up `stable`), `restart_loop`
(`restarts` restarts within `within`: one per episode), `restart_loop_update` (each later restart of the
episode, with the new count: its messages edit the episode's message, and the outbox keeps only the newest
one not yet sent), `image_removed`. A route naming `died` also receives `oom` (an OOM kill is a death); a
route that received an episode's opener also receives its updates and its `recovered` edit.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Protocol

from bot.models import Notification, Target
from bot.notify.events import DockerEvent, opted_out
from bot.policy.scopes import ContainerPattern, host_matches
from bot.settings import NotifyConfig, parse_duration

log = logging.getLogger(__name__)

NS = 1_000_000_000
OOM_GRACE_NS = 2 * NS  # an `oom` with no `die` this long after it: a process died, the container lives on
_HEALTH_PREFIX = "health_status: "
_CONTAINER_ACTIONS = frozenset(
    {"start", "die", "kill", "oom", "destroy", "rename", "pause", "unpause", "create"}
)


class MuteStore(Protocol):
    """Who asked for silence: `is_muted(host, container_name)`; a muted container is never announced."""

    def is_muted(self, host: str, container: str) -> bool:
        """True while notifications about this container on this host are muted."""
        ...


@dataclass(frozen=True, slots=True)
class Route:
    """One `[[notify.routes]]` entry, parsed."""

    channel: str
    kinds: frozenset[str]
    hosts: tuple[str, ...]
    containers: tuple[ContainerPattern, ...]

    def matches(self, kind: str, host: str, target: Target) -> bool:
        """True when this route wants `kind` from `target` on `host`."""
        wanted = kind in self.kinds or (kind == "oom" and "died" in self.kinds)
        return (
            wanted
            and host_matches(self.hosts, host)
            and any(p.everything or p.matches(target) for p in self.containers)
        )


@dataclass(slots=True)
class _Memory:
    """What the rules remember of one container."""

    name: str = ""
    image: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    running: bool = False
    last_action: str = ""
    started_at: int = 0
    killed: bool = False
    died_killed: bool = False
    oom_at: int | None = None
    health: str | None = None
    restarts: deque[int] = field(default_factory=deque)
    loop_episode: str | None = None
    loop_channels: tuple[str, ...] = ()
    loop_restarts: int = 0
    unhealthy_episode: str | None = None
    unhealthy_channels: tuple[str, ...] = ()

    @property
    def remembered(self) -> bool:
        """True when this memory holds something the next events could not teach again."""
        return bool(self.loop_episode or self.unhealthy_episode or self.restarts or self.oom_at is not None)

    def to_json(self) -> dict[str, object]:
        """The fields as JSON values (deque and tuples as lists)."""
        fields = {name: getattr(self, name) for name in _MEMORY_FIELDS}
        fields["restarts"] = list(self.restarts)
        return fields

    @classmethod
    def from_json(cls, saved: object) -> _Memory:
        """The memory `to_json` wrote; unknown keys are ignored, missing ones keep their defaults, and a value
        of the wrong type is a `ValueError` (never a memory that fails later, in `tick`)."""
        if not isinstance(saved, dict):
            raise ValueError(f"a memory is an object, not {type(saved).__name__}")
        memory = cls()
        for name, value in saved.items():
            kind = _FIELD_TYPES.get(name)
            if kind is not None:
                setattr(memory, name, _typed(name, value, kind))
        return memory


_MEMORY_FIELDS = tuple(f.name for f in fields(_Memory))
_FIELD_TYPES: dict[str, str] = {
    **dict.fromkeys(("name", "image", "last_action"), "str"),
    **dict.fromkeys(("health", "loop_episode", "unhealthy_episode"), "str?"),
    **dict.fromkeys(("running", "killed", "died_killed"), "bool"),
    **dict.fromkeys(("started_at", "loop_restarts"), "int"),
    "oom_at": "int?",
    "restarts": "ints",
    **dict.fromkeys(("loop_channels", "unhealthy_channels"), "strs"),
    "labels": "labels",
}


def _typed(name: str, value: object, kind: str) -> object:
    """`value` as field `name` of kind `kind` holds it, or a `ValueError`."""
    optional = kind.endswith("?")
    if optional and value is None:
        return None
    base = kind.rstrip("?")
    if base == "str" and isinstance(value, str):
        return value
    if base == "bool" and isinstance(value, bool):
        return value
    if base == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if base == "ints" and isinstance(value, list) and all(type(v) is int for v in value):
        return deque(value)
    if base == "strs" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if base == "labels" and isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return dict(value)
    raise ValueError(f"{name}: {value!r} is not a {kind}")


class RuleState:
    """Per-host memory of the rules (episodes, health, recent restarts). One owner thread at a time."""

    def __init__(self) -> None:
        self.containers: dict[str, _Memory] = {}
        # Containers `tick` must look at: an open restart-loop episode or an `oom` not yet followed by `die`.
        self.watched: set[str] = set()

    def open_episodes(self) -> list[str]:
        """The episode keys still open (restart loops and unhealthy spells)."""
        keys: list[str] = []
        for memory in self.containers.values():
            keys.extend(k for k in (memory.loop_episode, memory.unhealthy_episode) if k)
        return keys

    def snapshot(self, restarts_since: int | None = None) -> str:
        """JSON of what must outlive the bot: every container with an open episode, recent restarts or an
        OOM kill still to report. The rest is relearned from the next events (they carry name and labels).
        Restarts before `restarts_since` (timeNano) can no longer open a loop and are forgotten first, so a
        container that crashed once long ago is not saved again and again.

        Saved with the stream cursor, so a restarted bot goes on where it stopped: a restart loop keeps
        its thread and its recovery still edits the original message.
        """
        if restarts_since is not None:
            for memory in self.containers.values():
                while memory.restarts and memory.restarts[0] < restarts_since:
                    memory.restarts.popleft()
        kept = {cid: memory for cid, memory in self.containers.items() if memory.remembered}
        return json.dumps(
            {cid: memory.to_json() for cid, memory in sorted(kept.items())}, separators=(",", ":")
        )

    @classmethod
    def restore(cls, text: str) -> RuleState:
        """The state a `snapshot` describes; an unreadable snapshot is an empty memory, never an error."""
        state = cls()
        try:
            saved = json.loads(text)
        except ValueError as exc:
            saved = None
            log.warning("notify: ignoring an unreadable saved rule memory (%s)", exc)
        for cid, entry in saved.items() if isinstance(saved, dict) else ():
            try:
                state.containers[str(cid)] = _Memory.from_json(entry)
            except ValueError as exc:  # one bad entry costs that container's memory, not everyone's
                log.warning("notify: ignoring the saved rule memory of %s (%s)", str(cid)[:12], exc)
        state.watched = {
            cid for cid, kept in state.containers.items() if kept.loop_episode or kept.oom_at is not None
        }
        return state


class Rules:
    """The notification rules of one `[notify]` section."""

    def __init__(self, config: NotifyConfig, mutes: MuteStore | None = None) -> None:
        config.check()
        self.routes = tuple(
            Route(
                channel=route.channel,
                kinds=frozenset(route.events),
                hosts=route.hosts,
                containers=tuple(
                    ContainerPattern.parse(p, f"notify.routes.{n}.containers") for p in route.containers
                ),
            )
            for n, route in enumerate(config.routes, start=1)
        )
        loop = config.restart_loop
        self.loop_restarts = loop.restarts
        self.loop_within_ns = int(parse_duration(loop.within, "notify.restart_loop.within") * NS)
        self.stable_ns = int(parse_duration(loop.stable, "notify.restart_loop.stable") * NS)
        self.mutes = mutes
        self.kinds = frozenset(kind for route in self.routes for kind in route.kinds)

    # ---- routing ------------------------------------------------------------------------------------

    def channels(self, kind: str, host: str, target: Target) -> tuple[str, ...]:
        """The channels of every route wanting `kind` from `target` on `host`, in config order, once each."""
        found: list[str] = []
        for route in self.routes:
            if route.channel not in found and route.matches(kind, host, target):
                found.append(route.channel)
        return tuple(found)

    # ---- the rules -----------------------------------------------------------------------------------

    def evaluate(self, event: DockerEvent, state: RuleState) -> list[Notification]:
        """The notifications one event causes; updates `state`. Never calls Docker, never blocks."""
        if event.type == "container":
            action = event.action
            if action.startswith(_HEALTH_PREFIX):
                notes = self._health(event, state, action.removeprefix(_HEALTH_PREFIX))
            elif action in _CONTAINER_ACTIONS:
                notes = self._container(event, state)
            else:
                return []
        elif event.type == "image" and event.action == "delete":
            target = Target("image", event.actor_id, event.image, event.attributes)
            channels = self.channels("image_removed", event.host, target)
            notes = [self._note("image_removed", event, None, channels)] if channels else []
        else:
            return []
        return self._announceable(notes, event)

    def tick(self, host: str, now_nano: int, state: RuleState) -> list[Notification]:
        """Let time pass: close restart loops that stayed up `stable`; report OOM kills nobody died of."""
        notes: list[Notification] = []
        for container_id in list(state.watched):
            memory = state.containers.get(container_id)
            if memory is None:
                state.watched.discard(container_id)
                continue
            event = DockerEvent(host, "container", "tick", container_id, {"name": memory.name}, now_nano)
            if memory.oom_at is not None and now_nano - memory.oom_at >= OOM_GRACE_NS:
                oom_event = DockerEvent(
                    host, "container", "oom", container_id, {"name": memory.name}, memory.oom_at
                )
                memory.oom_at = None
                channels = self._channels_for("oom", host, container_id, memory)
                if channels:
                    notes.append(self._note("oom", oom_event, memory, channels, oom_killed=True))
            if (
                memory.loop_episode is not None
                and memory.running
                and now_nano - memory.started_at >= self.stable_ns
            ):
                notes.extend(self._close_loop(event, container_id, memory))
            if memory.loop_episode is None and memory.oom_at is None:
                state.watched.discard(container_id)
        return self._announceable(notes, None, state)

    # ---- container events --------------------------------------------------------------------------

    def _memory(self, event: DockerEvent, state: RuleState) -> _Memory:
        memory = state.containers.get(event.actor_id)
        if memory is None:
            memory = state.containers[event.actor_id] = _Memory()
        if "name" in event.attributes:
            memory.name = event.attributes["name"]
            memory.labels = event.labels
        if "image" in event.attributes:
            memory.image = event.attributes["image"]
        return memory

    def _container(self, event: DockerEvent, state: RuleState) -> list[Notification]:
        action = event.action
        if action == "destroy":
            state.containers.pop(event.actor_id, None)
            state.watched.discard(event.actor_id)
            return []
        memory = self._memory(event, state)
        if action == "kill":
            memory.killed = True
            return []
        if action == "oom":
            memory.oom_at = event.time_nano
            state.watched.add(event.actor_id)
            return []
        if action == "start":
            return self._start(event, state, memory)
        if action == "die":
            return self._die(event, state, memory)
        if action == "pause":
            memory.running = False
        elif action == "unpause":
            memory.running = True
            memory.started_at = event.time_nano
        memory.last_action = action
        return []

    def _start(self, event: DockerEvent, state: RuleState, memory: _Memory) -> list[Notification]:
        # A start after a death nobody asked for; `docker restart` (kill, die, start) is no crash.
        restarted = memory.last_action == "die" and not memory.died_killed
        memory.running = True
        memory.started_at = event.time_nano
        memory.killed = False
        memory.oom_at = None
        memory.last_action = "start"
        memory.health = None
        if memory.loop_episode is not None:
            return []  # the episode's thread already hears of every death
        if restarted:
            memory.restarts.append(event.time_nano)
            horizon = event.time_nano - self.loop_within_ns
            while memory.restarts and memory.restarts[0] < horizon:
                memory.restarts.popleft()
            if len(memory.restarts) >= self.loop_restarts:
                return self._open_loop(event, state, memory)
        channels = self._channels_for("started", event.host, event.actor_id, memory)
        return [self._note("started", event, memory, channels)] if channels else []

    def _open_loop(self, event: DockerEvent, state: RuleState, memory: _Memory) -> list[Notification]:
        episode = f"{event.host}:{event.actor_id}:restart_loop:{memory.restarts[0]}"
        memory.loop_episode = episode
        memory.loop_restarts = len(memory.restarts)
        memory.restarts.clear()
        memory.loop_channels = self._channels_for("restart_loop", event.host, event.actor_id, memory)
        state.watched.add(event.actor_id)
        if not memory.loop_channels:
            return []
        note = self._note(
            "restart_loop",
            event,
            memory,
            memory.loop_channels,
            restart_count=memory.loop_restarts,
            episode_key=episode,
        )
        return [note]

    def _die(self, event: DockerEvent, state: RuleState, memory: _Memory) -> list[Notification]:
        code = event.exit_code
        killed, oom = memory.killed, memory.oom_at is not None
        memory.running = False
        memory.last_action = "die"
        memory.died_killed = killed
        memory.killed = False
        memory.oom_at = None
        if memory.loop_episode is not None:
            if killed:  # someone stopped the looping container: the episode ends here, quietly
                self._forget_loop(memory)
            else:
                memory.loop_restarts += 1
                if not memory.loop_channels:
                    return []
                note = self._note(
                    "restart_loop_update",
                    event,
                    memory,
                    memory.loop_channels,
                    exit_code=code,
                    oom_killed=oom,
                    restart_count=memory.loop_restarts,
                    thread_key=memory.loop_episode,
                )
                return [note]
        if oom:
            kind = "oom"
        elif code == 0 or killed:
            kind = "stopped"
        else:
            kind = "died"
        channels = self._channels_for(kind, event.host, event.actor_id, memory)
        if not channels:
            return []
        return [self._note(kind, event, memory, channels, exit_code=code, oom_killed=oom)]

    def _close_loop(self, event: DockerEvent, container_id: str, memory: _Memory) -> list[Notification]:
        episode, opened = memory.loop_episode, memory.loop_channels
        count = memory.loop_restarts
        self._forget_loop(memory)
        channels = _union(opened, self._channels_for("recovered", event.host, container_id, memory))
        if not channels:
            return []
        return [self._note("recovered", event, memory, channels, restart_count=count, update_key=episode)]

    @staticmethod
    def _forget_loop(memory: _Memory) -> None:
        memory.loop_episode = None
        memory.loop_channels = ()
        memory.loop_restarts = 0
        memory.restarts.clear()

    def _health(self, event: DockerEvent, state: RuleState, status: str) -> list[Notification]:
        memory = self._memory(event, state)
        memory.health = status
        if status == "unhealthy" and memory.unhealthy_episode is None:
            episode = f"{event.host}:{event.actor_id}:unhealthy:{event.time_nano}"
            memory.unhealthy_episode = episode
            memory.unhealthy_channels = self._channels_for("unhealthy", event.host, event.actor_id, memory)
            if not memory.unhealthy_channels:
                return []
            return [self._note("unhealthy", event, memory, memory.unhealthy_channels, episode_key=episode)]
        if status == "healthy" and memory.unhealthy_episode is not None:
            episode, opened = memory.unhealthy_episode, memory.unhealthy_channels
            memory.unhealthy_episode, memory.unhealthy_channels = None, ()
            channels = _union(opened, self._channels_for("recovered", event.host, event.actor_id, memory))
            if not channels:
                return []
            return [self._note("recovered", event, memory, channels, update_key=episode)]
        return []

    # ---- helpers ---------------------------------------------------------------------------------------

    def _channels_for(self, kind: str, host: str, container_id: str, memory: _Memory) -> tuple[str, ...]:
        if not self.routes:
            return ()
        target = Target("container", container_id, memory.name or container_id[:12], memory.labels)
        return self.channels(kind, host, target)

    @staticmethod
    def _note(
        kind: str,
        event: DockerEvent,
        memory: _Memory | None,
        channels: tuple[str, ...],
        **extra: object,
    ) -> Notification:
        name = memory.name if memory is not None and memory.name else event.name
        image = memory.image if memory is not None and memory.image else event.image
        dedupe = f"{event.host}:{event.actor_id}:{event.action}:{event.time_nano}"
        if event.away:
            dedupe += ":away"
        return Notification(
            kind=kind,
            host=event.host,
            container=name if event.type == "container" else "",
            container_id=event.actor_id if event.type == "container" else "",
            image=image,
            channels=channels,
            time_nano=event.time_nano,
            dedupe_key=dedupe,
            away=event.away,
            **extra,  # type: ignore[arg-type]
        )

    def _announceable(
        self, notes: list[Notification], event: DockerEvent | None, state: RuleState | None = None
    ) -> list[Notification]:
        """Drop what must never be announced: containers labelled chatops.notify=false."""
        if not notes:
            return notes
        kept: list[Notification] = []
        for note in notes:
            labels = event.attributes if event is not None else _labels_of(state, note.container_id)
            if not (note.container_id and opted_out(labels)):
                kept.append(note)
        return kept

    def muted(self, note: Notification) -> bool:
        """True when someone muted this notification's container (`notify mute`).

        Asked by the watcher's delivery thread, never by `evaluate`: the mute store is a database, and the
        event reader must not wait on one.
        """
        if not note.container or self.mutes is None:
            return False
        return self.mutes.is_muted(note.host, note.container)


def _labels_of(state: RuleState | None, container_id: str) -> dict[str, str]:
    memory = state.containers.get(container_id) if state is not None else None
    return memory.labels if memory is not None else {}


def _union(first: Iterable[str], second: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for channel in (*first, *second):
        if channel not in out:
            out.append(channel)
    return tuple(out)
