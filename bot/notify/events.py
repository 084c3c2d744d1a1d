"""What the notification path carries: Docker events, the last known state of a container, notifications.

`DockerEvent` reads only what every API version sends (`Type`, `Action`, `Actor.ID`, `Actor.Attributes`,
`timeNano`; the old `status/id/from` are gone from API 1.52). For containers, `Actor.Attributes` holds the
container's labels next to `name`, `image` and, on `die`, `exitCode`. `away=True` marks an event the
watcher synthesized from a re-list, for a change it never saw on the stream.

**Attributes a label can shadow.** The daemon builds a container event's attributes by copying the
container's labels over the event's own ones (`exitCode` of a `die`, `signal` of a `kill`…), then writing
`name` and `image` (moby's `LogContainerEventWithAttributes`; seen on Docker 20.10): a container labelled
`exitCode=0` that exits 5 sends `die` with `exitCode: "0"`. So the watcher never hands the rules a raw
event: `trusted_event` rebuilds it from what the engine itself said about the container (its labels and
name from the list call or its `create` event), keeping an attribute only where no label of that key
exists. An exit code a label shadows is *unknown* (None, `Notification.exit_unknown`): the watcher then
asks the engine (`exit_code_at` over an inspect), and a die of unknown code is still a death, never exit 0.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.models import ContainerState

log = logging.getLogger(__name__)

NOTIFY_LABEL = "chatops.notify"
_OPT_OUT = frozenset({"false", "0", "no", "off"})
# Attributes Docker adds to a container event next to the container's own labels.
_EVENT_ATTRIBUTES = frozenset(
    {"name", "image", "exitCode", "signal", "execID", "exitcode", "oldName", "execDuration"}
)
# The ones the daemon writes after copying the labels (a label of that key never shows in an event).
_DAEMON_LAST = ("name", "image")
NS = 1_000_000_000
FINISHED_SLACK_NS = 1_000_000  # an inspect's FinishedAt may be this much after its `die` event (clocks)


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
    # The container's labels as the engine listed them (`trusted_event`); None: only the attributes know.
    known_labels: Mapping[str, str] | None = None

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
        """The container's labels: as the engine listed them when known, else the attributes without the
        ones Docker adds itself."""
        if self.known_labels is not None:
            return dict(self.known_labels)
        return {k: v for k, v in self.attributes.items() if k not in _EVENT_ATTRIBUTES}


def trusted_event(event: DockerEvent, known: ContainerState | None) -> DockerEvent:
    """`event` rebuilt from what the engine said about its container, for the rules to read.

    `known` is the watcher's last known state of the container (labels and name from the list call, or from
    its `create` event, which carries exactly the labels, `name` and `image`). An attribute whose key is also
    one of the container's label keys holds the label's value, not the event's: it is dropped, and `name`
    and `image` then come from `known` (an `exitCode` so dropped is unknown). When the labels are not known
    (no `known`, not a `create`), no attribute but `name` and `image` (which the daemon writes after the
    labels) is believed, and the result's `known_labels` stays None: its labels are a guess. Image events
    and events already trusted (synthesized by the watcher) come back as they are.
    """
    if event.type != "container" or event.known_labels is not None:
        return event
    raw = event.attributes
    labels: Mapping[str, str] | None
    if known is not None:
        labels = known.labels
    elif event.action == "create":  # the create event carries the labels, name and image, nothing else
        labels = {k: v for k, v in raw.items() if k not in _DAEMON_LAST}
    else:
        labels = None
    guessed = {k: v for k, v in raw.items() if k not in _EVENT_ATTRIBUTES}
    attributes = {
        k: v for k, v in (guessed if labels is None else labels).items() if k not in _EVENT_ATTRIBUTES
    }
    if labels is not None:  # the event's own attributes: every key no label has
        attributes.update((k, v) for k, v in raw.items() if k not in labels)
    engine_says = {"name": known.name, "image": known.image} if known is not None else raw
    for key in _DAEMON_LAST:
        if key not in attributes and key in engine_says:
            attributes[key] = engine_says[key]
    return DockerEvent(
        event.host,
        event.type,
        event.action,
        event.actor_id,
        attributes,
        event.time_nano,
        away=event.away,
        known_labels=dict(labels) if labels is not None else None,
    )


def engine_time(text: object) -> int | None:
    """An Engine API timestamp (`2024-05-01T12:00:00.123456789Z`, any offset) in ns; None for the zero time
    (`0001-01-01T00:00:00Z`) or anything unreadable."""
    value = str(text or "")
    whole, _, rest = value.partition(".")
    digits = "".join(itertools.takewhile(str.isdigit, rest))
    zone = rest[len(digits) :] if rest else whole[19:]
    whole = whole[:19]
    try:
        stamp = datetime.fromisoformat(whole + (zone or "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.year < 1970:  # the zero time (0001-01-01) of a container that never finished
        return None
    return int(stamp.timestamp()) * NS + int((digits + "000000000")[:9])


def exit_code_at(state: Mapping[str, Any], die_nano: int) -> int | None:
    """The exit code of the death a `die` event at `die_nano` reports, from an inspect's `State`; None when
    the engine no longer knows it.

    The daemon records an exit (ExitCode, FinishedAt) before it sends the `die` event, and resets ExitCode
    to 0 once the container runs again. So State.ExitCode is this death's code only while the container is
    not running again (exited, dead, or restarting) and FinishedAt is not after the event: a later FinishedAt
    is a later death of a container that was restarted meanwhile.
    """
    running = bool(state.get("Running")) and not state.get("Restarting")
    finished = engine_time(state.get("FinishedAt"))
    code = state.get("ExitCode")
    if running or finished is None or finished > die_nano + FINISHED_SLACK_NS:
        return None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def opted_out(labels: Mapping[str, str]) -> bool:
    """True for a container labelled `chatops.notify=false` (or 0, no, off): never announced."""
    value = labels.get(NOTIFY_LABEL)
    return value is not None and value.strip().lower() in _OPT_OUT
