"""Plain, immutable data shared by the engine, the router and the renderers.

The engine fills these from the Engine API's JSON (never SDK objects); renderers turn them into text or blocks
without calling Docker. Times are Unix seconds; every result that prints ages carries the `now` it was
read at,
so rendering is a pure function of the result.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import tzinfo
from enum import StrEnum
from typing import Any, Literal

_EXIT_CODE = re.compile(r"^(?:Exited|Restarting) \((-?\d+)\)")
_GENERATED_NAME = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Port:
    """One entry of a container's `Ports` list, as the list call returns it."""

    private_port: int
    type: str
    ip: str = ""
    public_port: int | None = None


@dataclass(frozen=True, slots=True)
class ContainerRow:
    """One container as `GET /containers/json` describes it: everything `docker ps` prints, no inspect."""

    id: str
    names: tuple[str, ...]
    image: str
    image_id: str
    command: str
    created: int
    state: str
    status: str
    ports: tuple[Port, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    size_rw: int | None = None
    size_root_fs: int | None = None
    mounts: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()  # the networks it is attached to, by name, sorted
    # How many of the mounts use the "local" volume driver (`system df -v` LOCAL VOLUMES); None: not known,
    # renderers then count `mounts`.
    local_volumes: int | None = None

    @property
    def name(self) -> str:
        """The container's own name (not a legacy link alias)."""
        names = [name.removeprefix("/") for name in self.names]
        for name in names:
            if "/" not in name:
                return name
        return names[0] if names else self.id[:12]

    @property
    def health(self) -> str | None:
        """`healthy`, `unhealthy`, `starting`, or None when the container has no health check."""
        if "(healthy)" in self.status:
            return "healthy"
        if "(unhealthy)" in self.status:
            return "unhealthy"
        if "(health: starting)" in self.status:
            return "starting"
        return None

    @property
    def exit_code(self) -> int | None:
        """The exit code the daemon's status text carries (`Exited (3) …`, `Restarting (1) …`)."""
        match = _EXIT_CODE.match(self.status)
        return int(match.group(1)) if match else None


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
class ImageRow:
    """One image as `GET /images/json` describes it."""

    id: str
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    created: int
    size: int
    shared_size: int = -1
    containers: int = -1
    labels: Mapping[str, str] = field(default_factory=dict)
    parent_id: str = ""

    @property
    def dangling(self) -> bool:
        """True for an image with neither tag nor digest (`<none>:<none>`), as the Docker CLI decides it."""
        tags = [t for t in self.repo_tags if t != "<none>:<none>"]
        digests = [d for d in self.repo_digests if d != "<none>@<none>"]
        return not tags and not digests


@dataclass(frozen=True, slots=True)
class VolumeRow:
    """One volume; `ref_count` and `size` are known only from `system df` (-1 or None otherwise)."""

    name: str
    driver: str
    mountpoint: str = ""
    created_at: str = ""
    scope: str = "local"
    labels: Mapping[str, str] = field(default_factory=dict)
    ref_count: int | None = None
    size: int | None = None

    @property
    def anonymous(self) -> bool:
        """Anonymous: the `com.docker.volume.anonymous` label (engines ≥ 23), or a 64-hex generated name."""
        return "com.docker.volume.anonymous" in self.labels or bool(_GENERATED_NAME.fullmatch(self.name))


@dataclass(frozen=True, slots=True)
class BuildCacheRow:
    """One build-cache record from `GET /system/df`."""

    id: str
    type: str
    size: int
    in_use: bool
    shared: bool
    description: str = ""
    created_at: str = ""
    last_used_at: str = ""
    usage_count: int = 0


# ---- acting: what a mutating command will touch, and what it did -----------------------------------------

TargetKind = Literal["container", "image", "volume", "network", "build-cache"]


@dataclass(frozen=True, slots=True)
class Target:
    """One object a command acts on, with what the policy scopes on (name, labels) and the plan shows.

    `id` is what the engine sends the Engine API (the full ID the plan resolved). `ref` is how the command
    named the object: echoed by the container verbs as the Docker CLI does, and, for an image named by a tag
    or digest, that tag or digest exactly as the daemon lists it (`rmi app:1.0` untags only that tag).
    `held_by` are the containers that hold this object (the containers of an image): their protection
    and their scope extend to it. `aliases` are every name the command's change reaches (an image's tags,
    or only the tag it untags): a name glob covers the object only if it covers all of them, so typing an
    ID prefix that happens to fit a glob reaches nothing outside it.
    """

    kind: TargetKind
    id: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    size: int | None = None
    detail: str = ""
    ref: str = ""
    held_by: tuple[Target, ...] = ()
    aliases: tuple[str, ...] = ()
    # why Docker will refuse this change, as the plan found it ("running: …"), and the command that clears
    # the way; "" when it should go through
    fails: str = ""
    remedy: str = ""

    def fingerprint(self) -> tuple[str, str, str, int | None, str]:
        """What identifies this target in a plan's hash (not its display detail)."""
        return (self.kind, self.id, self.name, self.size, self.ref)


@dataclass(frozen=True, slots=True)
class Plan:
    """Exactly what a command will do, computed with the same filters it will use; hashed for confirmation."""

    command: str
    host: str
    verb: str
    targets: tuple[Target, ...]
    reclaim: int | None = None
    notes: tuple[str, ...] = ()
    # references that named no object (`No such container: x`): reported at run time, nothing sent for them
    missing: tuple[str, ...] = ()
    signal: str = ""  # the signal `kill` sends, part of what is confirmed

    def digest(self) -> str:
        """A SHA-256 over the command, host, verb, targets and space: equal plans, equal digests."""
        canonical = json.dumps(
            [
                self.command,
                self.host,
                self.verb,
                [t.fingerprint() for t in self.targets],
                self.reclaim,
                list(self.missing),
                *([self.signal] if self.signal else []),
            ],
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What a container verb did (`start`, `stop`, `restart`, `kill`, `pause`, `unpause`, `rm`): the
    references it acted on, as typed (the Docker CLI echoes each one that worked)."""

    verb: str
    done: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImageRemoved:
    """One record of the daemon's answer to an image removal: a tag or digest it untagged, or an image (or a
    dangling parent of it) it deleted. `action` is the record's key in the daemon's answer."""

    action: Literal["Untagged", "Deleted"]
    ref: str


@dataclass(frozen=True, slots=True)
class RmiResult:
    """What `docker rmi` did: the daemon's records, in its order."""

    removed: tuple[ImageRemoved, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What a prune removed, per kind, and the space the removals freed.

    `containers` and `build_cache` are IDs, `networks` and `volumes` names, `images` the daemon's records.
    `reclaimed` is None for a network prune (the daemon reports no space for networks). `notes` are the
    bot's remarks (an object that changed since the plan and stayed, why nothing was pruned).
    `unused_tagged` is (count, bytes) of the unused tagged images only `-a` takes, given when an image prune
    without -a removed nothing although such images exist."""

    verb: str
    containers: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    images: tuple[ImageRemoved, ...] = ()
    build_cache: tuple[str, ...] = ()
    reclaimed: int | None = None
    notes: tuple[str, ...] = ()
    unused_tagged: tuple[int, int] | None = None

    @property
    def removed_nothing(self) -> bool:
        """True when the prune found nothing to remove."""
        return not (self.containers or self.networks or self.volumes or self.images or self.build_cache)


@dataclass(frozen=True, slots=True)
class PullLayer:
    """One layer of a pull: its ID, the daemon's latest status for it (`Downloading`, `Pull complete`,
    `Already exists` …) and the bytes downloaded of its size (0 of 0 while unknown)."""

    id: str
    status: str
    current: int = 0
    total: int = 0


@dataclass(frozen=True, slots=True)
class PullProgress:
    """A pull under way: the reference pulled (`app:1.0`) and every layer the daemon has named so far."""

    image: str
    layers: tuple[PullLayer, ...]


@dataclass(frozen=True, slots=True)
class PullResult:
    """What `docker pull` did, from the daemon's stream.

    `image` is the reference pulled (`app:1.0`, `app@sha256:…`), `name` its fully qualified form
    (`docker.io/library/app:1.0`). `sources` are (tag or digest, repository) of each "Pulling from" the daemon
    sent; `layers` each layer's final status; `digest` and `status` the daemon's closing words
    (`sha256:…`, `Downloaded newer image for app:1.0`); `messages` any other status it sent without a layer.
    `default_tag` when no tag was typed and `latest` was pulled."""

    image: str
    name: str | None = None
    sources: tuple[tuple[str, str], ...] = ()
    layers: tuple[PullLayer, ...] = ()
    digest: str | None = None
    status: str | None = None
    messages: tuple[str, ...] = ()
    default_tag: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConfirmationResult:
    """Nothing ran yet: the plan of every step, and the single-use token its Confirm (or Approve) carries."""

    plans: tuple[Plan, ...]
    token: str
    expires_at: float
    requester: str
    approval: str = "none"
    changed: bool = False


# ---- results: what one command returns, ready for any renderer ----------------------------------------


@dataclass(frozen=True, slots=True)
class PsResult:
    """`docker ps`: the rows in the daemon's order (newest first) plus how the user asked to see them."""

    rows: tuple[ContainerRow, ...]
    now: float
    quiet: bool = False
    no_trunc: bool = False
    size: bool = False
    all: bool = False
    format: str | None = None  # `--format` (checked when parsed), else the CLI's table


@dataclass(frozen=True, slots=True)
class ImagesResult:
    """`docker images`."""

    rows: tuple[ImageRow, ...]
    now: float
    quiet: bool = False
    no_trunc: bool = False
    format: str | None = None


@dataclass(frozen=True, slots=True)
class DiskUsageResult:
    """`docker system df [-v]`."""

    images: tuple[ImageRow, ...]
    containers: tuple[ContainerRow, ...]
    volumes: tuple[VolumeRow, ...]
    build_cache: tuple[BuildCacheRow, ...]
    layers_size: int
    now: float
    verbose: bool = False


@dataclass(frozen=True, slots=True)
class VolumesResult:
    """`docker volume ls`."""

    rows: tuple[VolumeRow, ...]
    quiet: bool = False
    format: str | None = None


InspectKind = Literal["container", "image", "volume"]


@dataclass(frozen=True, slots=True)
class InspectResult:
    """`docker inspect`: the Engine API's JSON for one object; `raw` asks for the JSON itself."""

    kind: InspectKind
    data: Mapping[str, Any]
    now: float
    raw: bool = False
    format: str | None = None


@dataclass(frozen=True, slots=True)
class LogsResult:
    """`docker logs`: the last `tail` lines of one container, already decoded."""

    container: str
    lines: tuple[str, ...]
    tail: int
    timestamps: bool = False


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """One message of `GET /events`, as the engine sent it (text unmasked; the renderer masks it)."""

    type: str
    action: str
    actor_id: str
    attributes: Mapping[str, str]
    scope: str = ""
    time: int = 0  # Unix seconds
    time_nano: int = 0  # Unix nanoseconds (0 when the engine sent none)
    status: str = ""  # the deprecated `status`, `id` and `from` (older clients read them)
    id: str = ""
    from_: str = ""


@dataclass(frozen=True, slots=True)
class EventsResult:
    """`docker events --since … --until …`: the events of one bounded window, oldest first, at most
    `limit`; `truncated` when the engine had more; `clamped` when `--until` lay in the future and the
    window ended now. Times print in `zone`, as the CLI prints them in its local zone."""

    events: tuple[EngineEvent, ...]
    since: float
    until: float
    zone: tzinfo
    limit: int
    truncated: bool = False
    clamped: bool = False
    format: str | None = None


@dataclass(frozen=True, slots=True)
class PortMapping:
    """One published port from a container's `NetworkSettings.Ports`: `80/tcp` on `0.0.0.0:8080`."""

    private: str  # "80/tcp"
    host_ip: str
    host_port: str


@dataclass(frozen=True, slots=True)
class PortResult:
    """`docker port CONTAINER [PRIVATE_PORT[/PROTO]]`: the mappings asked for; `private` when one port was
    named (the CLI then prints only the host side)."""

    container: str
    mappings: tuple[PortMapping, ...]
    private: str | None = None


@dataclass(frozen=True, slots=True)
class TopResult:
    """`docker top CONTAINER`: the engine's `/containers/{id}/top` titles and process rows, as text."""

    container: str
    titles: tuple[str, ...]
    processes: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One layer of `GET /images/{id}/history`; `id` is `<missing>` for layers built elsewhere."""

    id: str
    created: int
    created_by: str
    size: int
    comment: str = ""


@dataclass(frozen=True, slots=True)
class HistoryResult:
    """`docker history IMAGE`: its layers newest first, and how the user asked to see them."""

    image: str
    rows: tuple[HistoryRow, ...]
    now: float
    quiet: bool = False
    no_trunc: bool = False
    human: bool = True


@dataclass(frozen=True, slots=True)
class VersionResult:
    """`docker version`: the client (this bot) and the daemon's `/version` JSON."""

    client_version: str
    server: Mapping[str, Any]
    format: str | None = None


@dataclass(frozen=True, slots=True)
class InfoResult:
    """`docker info`: the daemon's `/info` JSON."""

    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ComposeProject:
    """A compose project as its containers' `com.docker.compose.*` labels describe it."""

    name: str
    containers: tuple[ContainerRow, ...]
    config_files: str = ""


@dataclass(frozen=True, slots=True)
class ComposeLsResult:
    """`docker compose ls`."""

    projects: tuple[ComposeProject, ...]
    quiet: bool = False


@dataclass(frozen=True, slots=True)
class ComposePsResult:
    """`docker compose ps PROJECT`."""

    project: str
    rows: tuple[ContainerRow, ...]
    now: float
    quiet: bool = False


@dataclass(frozen=True, slots=True)
class HelpEntry:
    """One command as `help` lists it; built from the catalog."""

    name: str
    aliases: tuple[str, ...]
    usage: str
    summary: str
    action_class: str
    options: tuple[tuple[str, str], ...] = ()
    examples: tuple[str, ...] = ()
    confirm: str = "never"  # the catalog's: "never", "always", or "many" (for several targets)
    two_person: bool = False  # the policy asks a second person's approval of the asker here


@dataclass(frozen=True, slots=True)
class HelpResult:
    """`help` (all commands) or `help COMMAND` (one, with its options)."""

    entries: tuple[HelpEntry, ...]
    detailed: bool = False


@dataclass(frozen=True, slots=True)
class TextResult:
    """A short plain answer: a summary line over preformatted text."""

    summary: str
    body: str = ""


@dataclass(frozen=True, slots=True)
class WhoamiResult:
    """`whoami`: who the asker is to the bot on a host (IDs only; each door names the user its own way)."""

    user_id: str
    channel_id: str
    groups: frozenset[str]
    host: str
    roles: tuple[str, ...]
    action_classes: tuple[str, ...]
    may_approve: bool
    local_admin: bool = False


@dataclass(frozen=True, slots=True)
class CanIStep:
    """One step of a `can-i` question: the policy's decision, and what would still stand before it runs."""

    text: str
    allowed: bool
    reason: str
    rule: str
    needs_confirmation: bool = False
    needs_approval: bool = False


@dataclass(frozen=True, slots=True)
class CanIResult:
    """`can-i COMMAND…`: the decision for each step of the command on a host; nothing ran."""

    command: str
    host: str
    steps: tuple[CanIStep, ...]

    @property
    def allowed(self) -> bool:
        """True when every step is allowed."""
        return all(step.allowed for step in self.steps)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit row as `audit` shows it."""

    at: float
    user_id: str
    channel_id: str
    text: str
    decision: str
    outcome: str


@dataclass(frozen=True, slots=True)
class AuditResult:
    """`audit [--user U]`: the newest audit rows, newest first; `user_id` is the filter asked for."""

    entries: tuple[AuditEntry, ...]
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class Mute:
    """Notifications about `container` on `host` are silenced until `until`, by `by` (a user ID)."""

    host: str
    container: str
    until: float
    by: str


@dataclass(frozen=True, slots=True)
class RouteInfo:
    """One configured notification route, as `notify status` shows it."""

    events: tuple[str, ...]
    containers: tuple[str, ...]
    hosts: tuple[str, ...]
    channel: str


@dataclass(frozen=True, slots=True)
class ReportInfo:
    """One scheduled report, as `notify status` shows it (`timezone`: the one its cron is read in)."""

    kind: str
    cron: str
    timezone: str
    hosts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NotifyStatusResult:
    """`notify status`: the configured routes and reports, and the mutes in force."""

    routes: tuple[RouteInfo, ...]
    reports: tuple[ReportInfo, ...]
    mutes: tuple[Mute, ...]
    now: float


@dataclass(frozen=True, slots=True)
class MuteResult:
    """`notify mute` / `notify unmute`: the mute set (`until`) or lifted (`until` None)."""

    host: str
    container: str
    until: float | None = None


@dataclass(frozen=True, slots=True)
class NotifySentResult:
    """`notify test` / `notify report`: what was queued (`test`, or a `disk` report of `host`) and where."""

    kind: Literal["test", "disk"]
    channels: tuple[str, ...]
    host: str = ""


Result = (
    PsResult
    | ImagesResult
    | DiskUsageResult
    | VolumesResult
    | InspectResult
    | LogsResult
    | EventsResult
    | PortResult
    | TopResult
    | HistoryResult
    | VersionResult
    | InfoResult
    | ComposeLsResult
    | ComposePsResult
    | HelpResult
    | ActionResult
    | RmiResult
    | PruneResult
    | PullResult
    | ConfirmationResult
    | TextResult
    | WhoamiResult
    | CanIResult
    | AuditResult
    | NotifyStatusResult
    | MuteResult
    | NotifySentResult
)
# what a mutating command returns once it ran
Change = ActionResult | RmiResult | PruneResult | PullResult


class Outcome(StrEnum):
    """How an invocation ended; each door maps it (shell: exit code; Slack: in-channel or ephemeral)."""

    OK = "ok"
    FAILED = "failed"
    USAGE = "usage"
    DENIED = "denied"
    NEEDS_CONFIRMATION = "needs_confirmation"


@dataclass(frozen=True, slots=True)
class Problem:
    """A user-facing error: message, optional hint and usage line. Never a traceback."""

    kind: str
    message: str
    hint: str | None = None
    usage: str | None = None
    remedy: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One command of an `A && B` chain and what it produced."""

    text: str
    result: Result | None = None
    problem: Problem | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """What the router answers for one invocation: the steps run (a chain stops at the first failure)."""

    text: str
    host: str
    outcome: Outcome
    steps: tuple[Step, ...]
    elapsed: float = 0.0
    chain: int = 1

    @property
    def chained(self) -> bool:
        """True when the text was an `A && B` chain, even one that stopped after its first step."""
        return self.chain > 1 or len(self.steps) > 1

    @property
    def problem(self) -> Problem | None:
        """The problem that ended the invocation, if any."""
        for step in self.steps:
            if step.problem is not None:
                return step.problem
        return None


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
    # A death whose exit code a label shadowed and nobody could tell yet (the watcher asks the engine).
    exit_unknown: bool = False

    def to_json(self) -> str:
        """The notification as one JSON object (what the watcher keeps until the outbox has it)."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Notification:
        """The notification `to_json` wrote; ValueError for one that cannot be read back."""
        try:
            saved = json.loads(text)
            if not isinstance(saved, dict):
                raise TypeError(f"a notification is an object, not {type(saved).__name__}")
            values = {f.name: saved[f.name] for f in fields(cls) if f.name in saved}
            for name in ("channels", "log_tail"):
                if name in values:
                    values[name] = tuple(str(item) for item in values[name])
            note = cls(**values)
            if not (isinstance(note.kind, str) and isinstance(note.dedupe_key, str) and note.dedupe_key):
                raise TypeError("no kind or dedupe key")
            if not isinstance(note.time_nano, int):
                raise TypeError("no timeNano")
        except (ValueError, TypeError) as exc:
            raise ValueError(f"an unreadable saved notification ({exc})") from exc
        return note

    @property
    def digest_line(self) -> str:
        """The short form a digest lists: `web-1 (137)`, `web-1 (OOM)`, `web-1 (5 restarts)`, `web-1`."""
        if self.kind == "oom" or self.oom_killed:
            return f"{self.container} (OOM)"
        if self.kind in ("restart_loop", "restart_loop_update") and self.restart_count is not None:
            return f"{self.container} ({self.restart_count} restarts)"
        if self.exit_code is not None:
            return f"{self.container} ({self.exit_code})"
        if self.kind == "died":
            return f"{self.container} (exit code unknown)"
        return self.container

    @property
    def summary(self) -> str:
        """One plain line: `web-1 exited (137)`; prefixed `while the bot was away,` for a re-listed change."""
        name = self.container
        text = {
            "died": f"{name} exited ({'exit code unknown' if self.exit_code is None else self.exit_code})",
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


@dataclass(frozen=True, slots=True)
class DiskReport:
    """What a disk report says about one host, read at one moment (`usage.now`)."""

    host: str
    usage: DiskUsageResult
    prune: Plan

    @property
    def dangling(self) -> tuple[ImageRow, ...]:
        """The untagged images `system df` lists (some may still be used by a container)."""
        return tuple(image for image in self.usage.images if image.dangling)

    @property
    def exited(self) -> tuple[ContainerRow, ...]:
        """The containers that have exited, newest first (as the daemon lists them)."""
        return tuple(row for row in self.usage.containers if row.state == "exited")

    @property
    def prunable(self) -> bool:
        """True when `image prune` would remove something now."""
        return bool(self.prune.targets)
