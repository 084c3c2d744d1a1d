"""Typed, validated arguments of each command: what the parser produces and the engine receives.

Every value that came from a user is checked here, before anything reaches Docker: names and references
against Docker's own grammar, filters against each command's allowed keys and values, numbers against bounds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.durations import duration_seconds, go_duration
from bot.references import CONTAINER_NAME, VOLUME_NAME, image_reference_problem
from bot.render import events as events_render
from bot.render import formats, template

# `images [REPOSITORY[:TAG]]` takes a pattern (`busy*`, `*/app:1.*`); it only ever travels as a query filter
_IMAGE_PATTERN = re.compile(r"^[a-zA-Z0-9*?][a-zA-Z0-9._/:@*?+-]{0,254}$", re.ASCII)
_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,127}$")
_FILTER_VALUE = re.compile(r"^[^\x00-\x1f\x7f]{0,256}$")
_RFC3339ISH = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
UNIX_TS = re.compile(r"^\d{1,10}(?:\.\d{1,9})?$")

_MAX_LOOKBACK = 100 * 365 * 86_400.0


def point_in_time(value: str, now: float, zone: tzinfo = UTC) -> float:
    """`--since` / `until=` as Unix seconds: a Go duration before `now` (10m, 1h30m), a Unix timestamp, or an
    RFC 3339 time; a time without an offset is read in `zone` (UTC unless the settings say otherwise).
    Raises ValueError with a clear message for anything else, impossible dates included."""
    seconds = duration_seconds(value)
    if seconds is not None:
        if seconds > _MAX_LOOKBACK:
            raise ValueError(f"{value!r} reaches back more than 100 years")
        return now - seconds
    if UNIX_TS.fullmatch(value):
        if float(value) <= 0:
            raise ValueError(f"{value!r}: a Unix timestamp must be positive")
        return float(value)
    if not _RFC3339ISH.fullmatch(value):
        raise ValueError(f"{value!r}: expected a duration (10m, 1h30m), a Unix timestamp or an RFC 3339 time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        raise ValueError(f"{value!r} is not a real date and time") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).timestamp()


MAX_LOG_LINES = 1000
DEFAULT_LOG_LINES = 50


def _checked(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid {what}")
        return value

    return AfterValidator(check)


def _image_reference(value: str) -> str:
    problem = image_reference_problem(value)
    if problem is not None:
        raise ValueError(f"{value!r} is not a valid image reference: {problem}")
    return value


def _object_reference(value: str) -> str:
    if CONTAINER_NAME.fullmatch(value) or VOLUME_NAME.fullmatch(value):
        return value
    problem = image_reference_problem(value)
    if problem is not None:
        raise ValueError(f"{value!r} is not a valid container, image or volume name or ID: {problem}")
    return value


ContainerName = Annotated[str, _checked(CONTAINER_NAME, "container name or ID")]
ImageRef = Annotated[str, AfterValidator(_image_reference)]


def _image_pattern(value: str) -> str:
    parts = value.split("@", 1)[0].split("/")
    if not _IMAGE_PATTERN.fullmatch(value) or any(part in {"", ".", ".."} for part in parts):
        raise ValueError(f"{value!r} is not a valid image reference or pattern")
    return value


ImagePattern = Annotated[str, AfterValidator(_image_pattern)]
ObjectRef = Annotated[str, AfterValidator(_object_reference)]
VolumeName = Annotated[str, _checked(VOLUME_NAME, "volume name")]
ProjectName = Annotated[str, _checked(_PROJECT_NAME, "compose project name")]

Filters = Mapping[str, tuple[str, ...]]


class Args(BaseModel):
    """Base of every command's arguments: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# How the CLI words a template it cannot parse and one it cannot execute: `ps` has its own words.
TEMPLATE_ERRORS = ("template parsing error", "template parsing error")
PS_TEMPLATE_ERRORS = ("failed to parse template", "failed to execute template")


def checked_format(
    value: str | None,
    shape: template.Struct | None = None,
    *,
    tables: bool = True,
    name: str = "",
    wording: tuple[str, str] = TEMPLATE_ERRORS,
) -> str | None:
    """A `--format` value parsed here and, as the CLI does, run once on an empty row of the command's
    `shape`, so a broken template or an unknown field is a usage error before any engine call (worded as
    Docker words it). For a listing (`tables`), `table` alone is the default table (None); inspect and
    version take no table, and inspect no shape (its fields are the object's JSON)."""
    if value is None or (tables and value.strip() == "table"):
        return None
    try:
        parsed = template.parse(value, tables=tables, name=name)
    except template.TemplateError as exc:
        raise ValueError(f"{wording[0]}: {exc.message}") from None
    if shape is not None:
        try:
            parsed.render([shape], shape)
        except template.TemplateError as exc:
            raise ValueError(f"{wording[1]}: {exc.message}" if tables else exc.message) from None
    return value


class FormattedArgs(Args):
    """A listing that takes `--format` (a Go template, `table …`, or `json`), as the Docker CLI's do;
    `format_shape` is an empty row of the listing, to check templates against."""

    format_shape: ClassVar[template.Struct]
    format_errors: ClassVar[tuple[str, str]] = TEMPLATE_ERRORS
    format: str | None = None

    @field_validator("format")
    @classmethod
    def _format(cls, value: str | None) -> str | None:
        return checked_format(value, cls.format_shape, wording=cls.format_errors)


def _bool_value(value: str, key: str) -> str:
    if value not in {"true", "false", "1", "0"}:
        raise ValueError(f"filter {key}={value!r}: expected true or false")
    return "true" if value in {"true", "1"} else "false"


class FilteredArgs(Args):
    """Arguments with docker's `-f KEY=VALUE` filters; subclasses name their keys and value checks."""

    filter_keys: ClassVar[Mapping[str, frozenset[str] | None]] = {}
    bool_keys: ClassVar[frozenset[str]] = frozenset()

    filters: Filters = Field(default_factory=dict)

    @field_validator("filters", mode="before")
    @classmethod
    def _parse_filters(cls, raw: Any) -> Any:
        if isinstance(raw, Mapping):
            return raw
        parsed: dict[str, list[str]] = {}
        for item in raw or ():
            key, sep, value = str(item).partition("=")
            key = key.strip().lower()
            if not sep or not key:
                raise ValueError(f"bad format of filter {item!r} (expected KEY=VALUE)")
            if key not in cls.filter_keys:
                known = ", ".join(cls.filter_keys)
                raise ValueError(f"invalid filter {key!r}; valid filters here: {known}")
            if not _FILTER_VALUE.fullmatch(value):
                raise ValueError(f"filter {key}: value too long or has control characters")
            allowed = cls.filter_keys[key]
            if key in cls.bool_keys:
                value = _bool_value(value, key)
            elif allowed is not None and value not in allowed:
                raise ValueError(
                    f"invalid filter {key}={value!r}; expected one of {', '.join(sorted(allowed))}"
                )
            parsed.setdefault(key, []).append(value)
        return {key: tuple(values) for key, values in parsed.items()}


_STATUSES = frozenset({"created", "restarting", "running", "removing", "paused", "exited", "dead"})
_HEALTH = frozenset({"starting", "healthy", "unhealthy", "none"})


class PsArgs(FilteredArgs, FormattedArgs):
    """`ps`: list containers."""

    format_shape: ClassVar[template.Struct] = formats.PS_SHAPE
    format_errors: ClassVar[tuple[str, str]] = PS_TEMPLATE_ERRORS

    filter_keys: ClassVar[Mapping[str, frozenset[str] | None]] = {
        "status": _STATUSES,
        "name": None,
        "label": None,
        "ancestor": None,
        "exited": None,
        "health": _HEALTH,
        "id": None,
        "before": None,
        "since": None,
        "volume": None,
        "network": None,
        "publish": None,
        "expose": None,
    }

    all: bool = False
    quiet: bool = False
    size: bool = False
    no_trunc: bool = False
    last: int = Field(default=-1, ge=-1, le=10_000)
    latest: bool = False

    @property
    def wants_sizes(self) -> bool:
        """`-s`, or a `--format` that shows `.Size` (the CLI then asks the engine for sizes; not for `json`
        or `-q`)."""
        if self.size:
            return True
        return self.format is not None and not self.quiet and template.parse(self.format).uses("Size")

    @field_validator("filters")
    @classmethod
    def _exited_is_int(cls, filters: Filters) -> Filters:
        for value in filters.get("exited", ()):
            if not re.fullmatch(r"-?\d{1,3}", value):
                raise ValueError(f"filter exited={value!r}: expected an exit code (a number)")
        return filters


class ImagesArgs(FilteredArgs, FormattedArgs):
    """`images`: list images."""

    format_shape: ClassVar[template.Struct] = formats.IMAGES_SHAPE

    filter_keys: ClassVar[Mapping[str, frozenset[str] | None]] = {
        "dangling": None,
        "label": None,
        "reference": None,
        "before": None,
        "since": None,
    }
    bool_keys: ClassVar[frozenset[str]] = frozenset({"dangling"})

    all: bool = False
    quiet: bool = False
    no_trunc: bool = False
    reference: ImagePattern | None = None


class InspectArgs(Args):
    """`inspect`: one container, image or volume, resolved in that order unless `--type` says."""

    target: ObjectRef
    raw_json: bool = False
    type: Literal["container", "image", "volume"] | None = None
    format: str | None = None

    @field_validator("format")
    @classmethod
    def _format(cls, value: str | None) -> str | None:
        return checked_format(value, tables=False)


class LogsArgs(Args):
    """`logs`: the last lines of one container."""

    container: ContainerName
    tail: int = Field(default=DEFAULT_LOG_LINES, ge=0, le=MAX_LOG_LINES)
    since: str | None = None
    timestamps: bool = False

    @field_validator("tail", mode="before")
    @classmethod
    def _tail_all(cls, value: Any) -> Any:
        return MAX_LOG_LINES if value == "all" else value

    @field_validator("since")
    @classmethod
    def _since(cls, value: str | None) -> str | None:
        if value is not None:
            point_in_time(value, time.time())
        return value


MAX_EVENTS = 1000
EVENTS_WINDOW = 600.0  # seconds: the longest window `events` reads, and its default length
_EVENT_TYPES = frozenset(
    {"builder", "config", "container", "daemon", "image", "network", "node", "plugin", "secret", "service"}
    | {"volume"}
)
_EVENT_NAME = re.compile(r"^[a-z][a-z_]{0,39}$")
_OBJECT_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.:@/-]{0,254}$", re.ASCII)


@dataclass(frozen=True, slots=True)
class EventsWindow:
    """The instants `events` reads between (Unix seconds), and whether `--until` lay in the future and was
    moved back to now (reading never follows the stream)."""

    since: float
    until: float
    clamped: bool = False


def events_window(since: str | None, until: str | None, now: float, zone: tzinfo = UTC) -> EventsWindow:
    """`--since` / `--until` as a bounded window: `until` defaults to now and is never later than now (the
    Engine API follows the stream while `until` lies ahead), `since` defaults to 10 minutes before `until`,
    and a window longer than 10 minutes is refused. ValueError says what is wrong and what to type."""
    end = point_in_time(until, now, zone) if until is not None else now
    clamped = end > now
    end = min(end, now)
    start = point_in_time(since, now, zone) if since is not None else end - EVENTS_WINDOW
    if start > now:
        raise ValueError(f"--since {since}: that time is in the future; there are no events there yet")
    if start > end:
        raise ValueError(f"--since {since} is after --until {until}: the window would be empty")
    if end - start > EVENTS_WINDOW + 1e-3:
        raise ValueError(
            f"the window from --since to --until is {go_duration(end - start)}; events reads at most "
            f"{go_duration(EVENTS_WINDOW)} at a time (e.g. --since 1h --until 50m)"
        )
    return EventsWindow(start, end, clamped)


def _event_filter(key: str, value: str) -> None:
    """One `-f KEY=VALUE` of `events`, checked against the grammar of what it names."""
    problem = None
    if key == "type" and value not in _EVENT_TYPES:
        problem = f"expected one of {', '.join(sorted(_EVENT_TYPES))}"
    elif key == "scope" and value not in {"local", "swarm"}:
        problem = "expected local or swarm"
    elif key == "event" and not _EVENT_NAME.fullmatch(value):
        problem = "expected an event name (start, die, health_status, …)"
    elif key == "container" and not CONTAINER_NAME.fullmatch(value):
        problem = "expected a container name or ID"
    elif key == "volume" and not VOLUME_NAME.fullmatch(value):
        problem = "expected a volume name"
    elif key == "label" and not _PRUNE_LABEL.fullmatch(value):
        problem = "expected KEY or KEY=VALUE"
    elif key == "image" and image_reference_problem(value) is not None:
        problem = f"not an image reference: {image_reference_problem(value)}"
    elif key not in {
        "type",
        "scope",
        "event",
        "container",
        "volume",
        "label",
        "image",
    } and not _OBJECT_NAME.fullmatch(value):
        problem = "expected a name or ID"
    if problem is not None:
        raise ValueError(f"invalid filter {key}={value!r}: {problem}")


class EventsArgs(FilteredArgs):
    """`events --since WHEN --until WHEN`: what happened on the host in a window of at most 10 minutes,
    read once (never followed), at most 1,000 events."""

    filter_keys: ClassVar[Mapping[str, frozenset[str] | None]] = dict.fromkeys(
        (
            "container",
            "event",
            "image",
            "label",
            "network",
            "type",
            "volume",
            "daemon",
            "scope",
            "plugin",
            "node",
            "service",
            "config",
            "secret",
        )
    )

    since: str | None = None
    until: str | None = None
    format: str | None = None

    @field_validator("since", "until")
    @classmethod
    def _when(cls, value: str | None) -> str | None:
        if value is not None:
            point_in_time(value, time.time())
        return value

    @field_validator("filters")
    @classmethod
    def _values(cls, filters: Filters) -> Filters:
        for key, values in filters.items():
            for value in values:
                _event_filter(key, value)
        return filters

    @field_validator("format")
    @classmethod
    def _format(cls, value: str | None) -> str | None:
        """As `docker events` checks one: parsed (`json` is `{{json .}}`, no `table`, `\\t` stays as
        typed), then run once on an empty event; both failures read `Error parsing format: …`."""
        if value is None:
            return None
        try:
            events_render.events_template(value).execute(events_render.EMPTY_EVENT)
        except template.TemplateError as exc:
            raise ValueError(f"{events_render.FORMAT_ERROR}: {exc.message}") from None
        return value

    @model_validator(mode="after")
    def _window(self) -> EventsArgs:
        events_window(self.since, self.until, time.time())
        return self


# `port CONTAINER 80` / `80/tcp`: a port number as the CLI's ParseUint(…, 16) takes it, and a protocol word
_PRIVATE_PORT = re.compile(r"^(\d{1,5})(?:/([a-z]{1,10}))?$", re.ASCII)


class PortArgs(Args):
    """`port CONTAINER [PRIVATE_PORT[/PROTO]]`: the container's published ports (only read from its inspect,
    so nothing of the port text reaches Docker)."""

    container: ContainerName
    port: str | None = None

    @field_validator("port")
    @classmethod
    def _port(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _PRIVATE_PORT.fullmatch(value)
        if match is None or int(match.group(1)) > 65535:
            number = value.partition("/")[0]
            shown = number if number.isprintable() and len(number) <= 20 else f"{number[:20]!r}…"
            raise ValueError(f"invalid port ({shown}): expected a port number, e.g. 80 or 53/udp")
        return value


class TopArgs(Args):
    """`top CONTAINER`: the engine's default `ps -ef` columns. No ps options: the engine would run `ps`
    with them on its host, so none is ever passed (`top web aux` is a usage error)."""

    container: ContainerName


class HistoryArgs(Args):
    """`image history IMAGE [--no-trunc] [-q] [--human=false]`."""

    image: ImageRef
    no_trunc: bool = False
    quiet: bool = False
    human: bool = True


class SystemDfArgs(Args):
    """`system df`: disk usage."""

    verbose: bool = False


class VolumeLsArgs(FilteredArgs, FormattedArgs):
    """`volume ls`: list volumes."""

    format_shape: ClassVar[template.Struct] = formats.VOLUMES_SHAPE

    filter_keys: ClassVar[Mapping[str, frozenset[str] | None]] = {
        "dangling": None,
        "name": None,
        "driver": None,
        "label": None,
    }
    bool_keys: ClassVar[frozenset[str]] = frozenset({"dangling"})

    quiet: bool = False


class VolumeInspectArgs(Args):
    """`volume inspect`: one volume."""

    name: VolumeName
    raw_json: bool = False


class NoArgs(Args):
    """Commands that take no arguments: `info`."""


class VersionArgs(NoArgs):
    """`version [--format …]`."""

    format: str | None = None

    @field_validator("format")
    @classmethod
    def _format(cls, value: str | None) -> str | None:
        return checked_format(value, formats.VERSION_SHAPE, tables=False, name="version")


class HelpArgs(Args):
    """`help [COMMAND]`."""

    command: tuple[str, ...] = ()


class CanIArgs(Args):
    """`can-i COMMAND…`: the words of the command to decide on (a dry run)."""

    command: tuple[str, ...] = Field(min_length=1)


class AuditArgs(Args):
    """`audit [--user U] [--limit N]`."""

    user: Annotated[str, _checked(re.compile(r"^[UW][A-Z0-9]{2,30}$|^local$"), "Slack user ID")] | None = None
    limit: int = Field(default=20, ge=1, le=200)


class ComposeLsArgs(Args):
    """`compose ls`: projects from the containers' compose labels."""

    all: bool = False
    quiet: bool = False


class ComposePsArgs(Args):
    """`compose ps PROJECT`."""

    project: ProjectName
    all: bool = False
    quiet: bool = False


# ---- acting: start/stop/…, rm, rmi, prunes, pull -----------------------------------------------------

MAX_TARGETS = 20
MAX_STOP_SECONDS = 600
# A signal as `docker kill -s` takes it: a name with or without SIG (KILL, SIGHUP, RTMIN+3) or a number.
# The signal names the daemon accepts on Linux (moby's signal map), with or without "SIG", or a number.
SIGNALS = frozenset(
    "ABRT ALRM BUS CHLD CLD CONT FPE HUP ILL INT IO IOT KILL PIPE POLL PROF PWR QUIT SEGV STKFLT STOP SYS "  # noqa: SIM905 - a word list reads best as words
    "TERM TRAP TSTP TTIN TTOU URG USR1 USR2 VTALRM WINCH XCPU XFSZ RTMIN RTMAX".split()
    + [f"RTMIN+{n}" for n in range(1, 16)]
    + [f"RTMAX-{n}" for n in range(1, 15)]
)
MAX_SIGNAL = 64
_PRUNE_LABEL = re.compile(r"^[^\x00-\x1f\x7f=]{1,128}(?:=[^\x00-\x1f\x7f]{0,256})?$")


def _until_value(value: str) -> str:
    try:
        point_in_time(value, time.time())
    except ValueError as exc:
        raise ValueError(f"filter until: {exc}") from None
    return value


class ContainersArgs(Args):
    """Commands on 1–20 containers, named as `docker ps` shows them (name, ID or ID prefix)."""

    containers: tuple[ContainerName, ...] = Field(min_length=1, max_length=MAX_TARGETS)


class StopArgs(ContainersArgs):
    """`stop` / `restart`: `-t N` seconds to wait before killing (the container's own default if unset)."""

    time: int | None = Field(default=None, ge=0, le=MAX_STOP_SECONDS)


class KillArgs(ContainersArgs):
    """`kill -s SIGNAL` (default KILL)."""

    signal: str = "KILL"

    @field_validator("signal")
    @classmethod
    def _signal(cls, value: str) -> str:
        value = value.upper()
        if value.isdigit() and len(value) <= 2 and 1 <= int(value) <= MAX_SIGNAL:
            return value
        if value.removeprefix("SIG") in SIGNALS:
            return value
        shown = value if value.isprintable() and len(value) <= 20 else f"{value[:20]!r}…"
        raise ValueError(f"invalid signal: {shown} (e.g. KILL, SIGTERM, HUP, USR1, 9)")


class RmArgs(ContainersArgs):
    """`rm [-f] [-v] CONTAINER...`."""

    force: bool = False
    volumes: bool = False


class RmiArgs(Args):
    """`rmi [-f] [--no-prune] IMAGE...`."""

    images: tuple[ImageRef, ...] = Field(min_length=1, max_length=MAX_TARGETS)
    force: bool = False
    no_prune: bool = False


class PruneArgs(FilteredArgs):
    """Every prune: `--filter until=…` / `label=…` / `label!=…`; `-f/--force` is accepted and has no effect
    (the Docker CLI's y/N prompt is replaced by the bot's own confirmation)."""

    filter_keys: ClassVar[Mapping[str, frozenset[str] | None]] = {
        "until": None,
        "label": None,
        "label!": None,
    }

    force: bool = False

    @field_validator("filters")
    @classmethod
    def _values(cls, filters: Filters) -> Filters:
        for value in filters.get("until", ()):
            _until_value(value)
        if len(filters.get("until", ())) > 1:
            raise ValueError("filter until: give it once")
        for key in ("label", "label!"):
            for value in filters.get(key, ()):
                if not _PRUNE_LABEL.fullmatch(value):
                    raise ValueError(f"filter {key}={value!r}: expected KEY or KEY=VALUE")
        return filters


class ImagePruneArgs(PruneArgs):
    """`image prune [-a]`: dangling images, or with `-a` every image no container uses."""

    all: bool = False


class ContainerPruneArgs(PruneArgs):
    """`container prune`: every stopped container."""


class VolumePruneArgs(PruneArgs):
    """`volume prune [-a]`: unused local volumes (no `until` filter, as Docker)."""

    filter_keys: ClassVar[Mapping[str, frozenset[str] | None]] = {"label": None, "label!": None}

    all: bool = False


class NetworkPruneArgs(PruneArgs):
    """`network prune`: custom networks no running container is attached to."""


class SystemPruneArgs(PruneArgs):
    """`system prune [-a] [--volumes]`."""

    all: bool = False
    volumes: bool = False

    @model_validator(mode="after")
    def _no_until_with_volumes(self) -> SystemPruneArgs:
        if self.volumes and "until" in self.filters:
            raise ValueError("filter until cannot be used with --volumes (volumes have no creation filter)")
        return self


class PullArgs(Args):
    """`pull IMAGE[:TAG|@DIGEST]`."""

    image: ImageRef


MAX_MUTE_SECONDS = 30 * 86_400


class NotifyMuteArgs(Args):
    """`notify mute CONTAINER DURATION`."""

    container: ContainerName
    duration: str = "1h"

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        seconds = duration_seconds(value)
        if seconds is None or not 0 < seconds <= MAX_MUTE_SECONDS:
            raise ValueError(f"{value!r}: expected a duration up to 30 days (30m, 1h, 2h30m)")
        return value

    @property
    def seconds(self) -> float:
        """The mute's length in seconds."""
        return duration_seconds(self.duration) or 0.0


class NotifyUnmuteArgs(Args):
    """`notify unmute CONTAINER`."""

    container: ContainerName
