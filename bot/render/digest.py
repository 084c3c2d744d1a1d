"""Readable digests of the non-table results: inspect, logs, version, info and help.

Pure functions of the result models: no Docker calls, no clock (ages are computed from the result's `now`).
The Engine API's JSON varies between versions and drivers, so every field is read defensively: a field that
is missing, null or of an unexpected type is skipped, never an error. Secrets never leave: environment values
are always masked, and free text (log lines, labels, commands, probe output) goes through `mask_secrets`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import PurePosixPath
from typing import Any

from bot.models import HelpEntry, HelpResult, InfoResult, InspectResult, LogsResult, Port, VersionResult
from bot.render.format import displayable_ports, go_quote, human_duration, human_size, truncate_id
from bot.render.mask import MASK, mask_env, mask_secrets

__all__ = ["render_help", "render_info", "render_inspect", "render_logs", "render_version"]

# ---- defensive readers -------------------------------------------------------------------------------------


def _dig(data: Any, *keys: str) -> Any:
    """`data[k1][k2]…`, or None as soon as a level is missing or not a mapping."""
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _text(value: Any) -> str:
    """A scalar as text ("" for None and containers, "true"/"false" for booleans)."""
    if value is None or isinstance(value, Mapping | list | tuple):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


# ---- text cleaning -----------------------------------------------------------------------------------------

# CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), and two-character ESC sequences.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?")
# C0 controls except tab, DEL, and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """Drop ANSI escape sequences and control characters (tab stays)."""
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    return _CONTROL.sub("", text)


def _one_line(text: str, limit: int = 200) -> str:
    """Free text squeezed onto one line: whitespace runs become one space, long text ends in "…"."""
    text = " ".join(clean_text(text.replace("\n", " ").replace("\r", " ")).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- times and sizes ---------------------------------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)


def _parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (nanoseconds allowed), or None for missing, unparsable or Go's zero time."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC) if value > 0 else None
        except (ValueError, OverflowError, OSError):  # beyond what a datetime can hold
            return None
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if int(year) <= 1:  # "0001-01-01T00:00:00Z": never
        return None
    tz = UTC
    if zone and zone.upper() != "Z":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        tz = timezone(-offset if zone[0] == "-" else offset)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz)
    except ValueError:
        return None


def _when(value: Any, now: float) -> str | None:
    """ "2026-11-27 17:42:44 UTC (3 minutes ago)", or None when there is no such time."""
    moment = _parse_time(value)
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%d %H:%M:%S} UTC ({human_duration(now - utc.timestamp())} ago)"


def _ago(value: Any, now: float) -> str | None:
    moment = _parse_time(value)
    return None if moment is None else f"{human_duration(now - moment.timestamp())} ago"


_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def _binary_size(size: float) -> str:
    """go-units BytesSize, as `docker info` prints Total Memory: "%.4g" of powers of 1024 ("23.54GiB")."""
    value = float(size)
    index = 0
    while value >= 1024.0 and index < len(_BINARY_UNITS) - 1:
        value /= 1024.0
        index += 1
    return f"{value:.4g}{_BINARY_UNITS[index]}"


# ---- commands ----------------------------------------------------------------------------------------------


def _daemon_command(words: Sequence[str]) -> str:
    """The daemon's one-line command: arguments holding a space are wrapped in single quotes, as `docker ps`
    receives it (`sh -c 'echo "hi"; sleep 1'`)."""
    if not words:
        return ""
    head, *args = words
    return " ".join([head, *(f"'{arg}'" if " " in arg else arg for arg in args)])


def _command(value: Any) -> str | None:
    """A command (a list, or a string in old API versions) quoted as `docker ps --no-trunc` shows it."""
    words = [value] if isinstance(value, str) else [_text(word) for word in _items(value)]
    if not any(words):
        return None
    return go_quote(mask_secrets(_daemon_command(words)))


# ---- digest layout -----------------------------------------------------------------------------------------


class _Digest:
    """Lines of "Label:  value" (values aligned) and indented lists under a heading."""

    def __init__(self) -> None:
        self._rows: list[tuple[str, str] | str] = []

    def field(self, label: str, value: str | None, indent: int = 0) -> None:
        """One aligned field; skipped when `value` is None or empty."""
        if value:
            self._rows.append((" " * indent + label + ":", value))

    def section(self, heading: str, lines: Iterable[str]) -> None:
        """A heading and its lines, indented by two; skipped when there are no lines."""
        items = [line for line in lines if line]
        if items:
            self._rows.append(heading + ":")
            self._rows.extend("  " + line for line in items)

    def render(self) -> str:
        width = max((len(row[0]) for row in self._rows if isinstance(row, tuple)), default=0) + 2
        out = [row if isinstance(row, str) else row[0].ljust(width) + row[1] for row in self._rows]
        return "\n".join(clean_text(line).rstrip() for line in out)


def _aligned(pairs: Sequence[tuple[str, str]]) -> list[str]:
    """Two columns, the first padded to its widest cell plus two spaces."""
    width = max((len(left) for left, _ in pairs), default=0) + 2
    return [(left.ljust(width) + right).rstrip() for left, right in pairs]


def _labels(value: Any) -> list[str]:
    labels = _mapping(value)
    return [mask_secrets(f"{key}={_text(labels[key])}") for key in sorted(labels, key=str)]


def _env(value: Any) -> list[str]:
    return [mask_env(_text(entry)) for entry in _items(value)]


# ---- container ---------------------------------------------------------------------------------------------


def _port_key(key: str) -> tuple[int, str] | None:
    number, _, proto = key.partition("/")
    port = _int(number)
    return None if port is None else (port, proto or "tcp")


def _ports(value: Any, default_ip: str = "") -> list[Port]:
    """NetworkSettings.Ports or HostConfig.PortBindings ({"80/tcp": [{HostIp, HostPort}] | null}) as Ports."""
    ports: list[Port] = []
    for key, bindings in _mapping(value).items():
        parsed = _port_key(str(key))
        if parsed is None:
            continue
        private, proto = parsed
        published = [binding for binding in _items(bindings) if isinstance(binding, Mapping)]
        if not published:
            ports.append(Port(private, proto))
            continue
        for binding in published:
            public = _int(binding.get("HostPort"))
            ip = _text(binding.get("HostIp")) or default_ip
            ports.append(Port(private, proto, ip if public else "", public))
    return ports


def _container_ports(data: Mapping[str, Any]) -> str | None:
    live = _ports(_dig(data, "NetworkSettings", "Ports"))
    if live:
        return displayable_ports(live)
    configured = _ports(_dig(data, "HostConfig", "PortBindings"), default_ip="0.0.0.0")  # noqa: S104 - display text: an empty HostIp means all
    if configured:
        return displayable_ports(configured) + " (when running)"
    return None


def _mount_line(mount: Mapping[str, Any]) -> str:
    kind = _text(mount.get("Type")) or "mount"
    destination = _text(mount.get("Destination"))
    mode = "rw" if mount.get("RW", True) is not False else "ro"
    if kind == "volume":
        source = _text(mount.get("Name")) or _text(mount.get("Source"))
    elif kind == "tmpfs":
        source = ""
    else:
        source = _text(mount.get("Source")) or _text(mount.get("Name"))
    head = f"{kind} {source}" if source else kind
    return f"{head} → {destination} ({mode})"


def _mounts(data: Mapping[str, Any]) -> list[str]:
    mounts = [mount for mount in _items(data.get("Mounts")) if isinstance(mount, Mapping)]
    lines = [_mount_line(mount) for mount in mounts]
    seen = {_text(mount.get("Destination")) for mount in mounts}
    tmpfs = _mapping(_dig(data, "HostConfig", "Tmpfs"))
    for destination in sorted(tmpfs, key=str):
        if str(destination) not in seen:  # --tmpfs mounts are not listed in Mounts
            lines.append(f"tmpfs → {destination} ({_text(tmpfs[destination]) or 'rw'})")
    return lines


def _networks(data: Mapping[str, Any]) -> list[str]:
    networks = _mapping(_dig(data, "NetworkSettings", "Networks"))
    pairs = []
    for name in sorted(networks, key=str):
        network = _mapping(networks[name])
        addresses = [_text(network.get("IPAddress")), _text(network.get("GlobalIPv6Address"))]
        pairs.append((str(name), ", ".join(address for address in addresses if address)))
    return _aligned(pairs)


def _restart(data: Mapping[str, Any]) -> str | None:
    count = _int(data.get("RestartCount"))
    policy = _mapping(_dig(data, "HostConfig", "RestartPolicy"))
    name = _text(policy.get("Name")) or "no"
    retries = _int(policy.get("MaximumRetryCount"))
    if name == "on-failure" and retries:
        name = f"on-failure:{retries}"
    if count is None and not policy:
        return None
    return f"{count or 0} (policy {name})"


def _limits(host: Mapping[str, Any]) -> str | None:
    parts = []
    memory = _int(host.get("Memory"))
    if memory and memory > 0:
        parts.append(f"memory {_binary_size(memory)}")
    nano_cpus = _int(host.get("NanoCpus"))
    if nano_cpus and nano_cpus > 0:
        parts.append(f"cpus {nano_cpus / 1e9:g}")
    pids = _int(host.get("PidsLimit"))
    if pids and pids > 0:
        parts.append(f"pids {pids}")
    return ", ".join(parts) or None


def _log_driver(host: Mapping[str, Any]) -> str | None:
    log_config = _mapping(host.get("LogConfig"))
    driver = _text(log_config.get("Type"))
    options = _mapping(log_config.get("Config"))
    if not driver:
        return None
    if not options:
        return driver
    shown = ", ".join(mask_secrets(f"{key}={_text(options[key])}") for key in sorted(options, key=str))
    return f"{driver} ({shown})"


def _state(digest: _Digest, state: Mapping[str, Any], now: float) -> None:
    status = _text(state.get("Status"))
    if not status:
        flags = ("Dead", "Restarting", "Paused", "Running")
        status = next((flag.lower() for flag in flags if state.get(flag) is True), "")
        status = status or ("exited" if state else "")
    digest.field("State", status)
    digest.field("Started", _when(state.get("StartedAt"), now), indent=2)
    if status not in ("running", "paused"):
        digest.field("Finished", _when(state.get("FinishedAt"), now), indent=2)
    exit_code = _int(state.get("ExitCode"))
    if exit_code is not None and (exit_code != 0 or status in ("exited", "dead", "restarting")):
        digest.field("Exit code", str(exit_code), indent=2)
    if state.get("OOMKilled") is True or (
        exit_code is not None and status not in ("running", "paused", "created")
    ):
        digest.field("OOMKilled", "yes" if state.get("OOMKilled") is True else "no", indent=2)
    digest.field("Error", _one_line(mask_secrets(_text(state.get("Error")))), indent=2)


def _health(digest: _Digest, health: Any, now: float) -> None:
    health = _mapping(health)
    status = _text(health.get("Status"))
    if not status:
        return
    streak = _int(health.get("FailingStreak"))
    digest.field("Health", f"{status} (failing streak {streak})" if streak else status)
    probes = [probe for probe in _items(health.get("Log")) if isinstance(probe, Mapping)]
    if probes:
        last = probes[-1]
        parts = []
        code = _int(last.get("ExitCode"))
        if code is not None:
            parts.append(f"exit {code}")
        ended = _ago(last.get("End"), now) or _ago(last.get("Start"), now)
        if ended:
            parts.append(ended)
        output = _one_line(mask_secrets(_text(last.get("Output"))))
        line = ", ".join(parts)
        digest.field("Last probe", f"{line}: {output}" if output and line else line or output, indent=2)


def _render_container(data: Mapping[str, Any], now: float) -> str:
    config = _mapping(data.get("Config"))
    host = _mapping(data.get("HostConfig"))
    digest = _Digest()
    digest.field("Name", _text(data.get("Name")).lstrip("/"))
    digest.field("ID", truncate_id(_text(data.get("Id"))))
    image = _text(config.get("Image"))
    image_id = truncate_id(_text(data.get("Image")))
    digest.field(
        "Image",
        f"{image} ({image_id})" if image and image_id and image_id not in image else image or image_id,
    )
    digest.field("Created", _when(data.get("Created"), now))
    _state(digest, _mapping(data.get("State")), now)
    digest.field("Restarts", _restart(data))
    _health(digest, _dig(data, "State", "Health"), now)
    path = _text(data.get("Path"))
    digest.field("Command", _command([path, *map(_text, _items(data.get("Args")))] if path else None))
    digest.field("Entrypoint", _command(config.get("Entrypoint")))
    digest.field("Working dir", _text(config.get("WorkingDir")))
    digest.field("User", _text(config.get("User")))
    digest.field("Ports", _container_ports(data))
    digest.field("Limits", _limits(host))
    digest.field("Log driver", _log_driver(host))
    digest.section("Mounts", _mounts(data))
    digest.section("Networks", _networks(data))
    digest.section("Labels", _labels(config.get("Labels")))
    digest.section("Env", _env(config.get("Env")))
    return digest.render()


# ---- image and volume --------------------------------------------------------------------------------------


def _render_image(data: Mapping[str, Any], now: float) -> str:
    config = _mapping(data.get("Config")) or _mapping(data.get("ContainerConfig"))
    digest = _Digest()
    digest.field("ID", truncate_id(_text(data.get("Id"))))
    tags = [_text(tag) for tag in _items(data.get("RepoTags"))]
    digests = [_text(item) for item in _items(data.get("RepoDigests"))]
    digest.field("Tags", ", ".join(tag for tag in tags if tag) or "<none>")
    digest.field("Digests", ", ".join(item for item in digests if item) or "<none>")
    digest.field("Created", _when(data.get("Created"), now))
    size = _int(data.get("Size"))
    digest.field("Size", human_size(size, 3) if size is not None and size >= 0 else None)
    platform = [_text(data.get("Os")), _text(data.get("Architecture")), _text(data.get("Variant"))]
    digest.field("Platform", "/".join(part for part in platform if part))
    digest.field("Command", _command(config.get("Cmd")))
    digest.field("Entrypoint", _command(config.get("Entrypoint")))
    digest.field("Working dir", _text(config.get("WorkingDir")))
    digest.field("User", _text(config.get("User")))
    exposed = [_port_key(str(key)) for key in _mapping(config.get("ExposedPorts"))]
    ports = [Port(port[0], port[1]) for port in exposed if port is not None]
    digest.field("Exposed ports", displayable_ports(ports) if ports else None)
    layers = _items(_dig(data, "RootFS", "Layers"))
    digest.field("Layers", str(len(layers)) if layers else None)
    digest.section("Labels", _labels(config.get("Labels")))
    digest.section("Env", _env(config.get("Env")))
    return digest.render()


_HEX_NAME = re.compile(r"[0-9a-f]{64}")


def _render_volume(data: Mapping[str, Any], now: float) -> str:
    labels = _mapping(data.get("Labels"))
    name = _text(data.get("Name"))
    digest = _Digest()
    digest.field("Name", name)
    # Engines before 23.0 do not label anonymous volumes; their names are 64 hex digits.
    anonymous = "com.docker.volume.anonymous" in labels or bool(_HEX_NAME.fullmatch(name))
    digest.field("Kind", "anonymous" if anonymous else "named")
    digest.field("Driver", _text(data.get("Driver")))
    digest.field("Mountpoint", _text(data.get("Mountpoint")))
    digest.field("Scope", _text(data.get("Scope")))
    digest.field("Created", _when(data.get("CreatedAt"), now))
    usage = _mapping(data.get("UsageData"))
    size = _int(usage.get("Size"))
    digest.field("Size", human_size(size, 3) if size is not None and size >= 0 else None)
    refs = _int(usage.get("RefCount"))
    if refs is not None and refs >= 0:
        digest.field("Used by", f"{refs} container{'' if refs == 1 else 's'}")
    digest.section("Labels", _labels(labels))
    digest.section("Options", _labels(data.get("Options")))
    return digest.render()


# ---- raw JSON ----------------------------------------------------------------------------------------------


_ARGV_KEYS = frozenset({"Cmd", "Args", "Entrypoint", "Test"})  # Test: Config.Healthcheck.Test
# a flag whose NEXT word is the secret: `--db-password hunter2`, `-p hunter2` is too ambiguous to guess
_SECRET_FLAG = re.compile(
    r"^--?[\w.-]*(?:pass(?:word|wd)?|secret|token|api[-_]?key|credentials?)$", re.IGNORECASE
)


def _masked_argv(words: Sequence[Any], programs: Sequence[str] = ()) -> list[Any]:
    """A command line's words, masked as the joined line would be: a secret flag's value word too, and a
    password glued to a short flag (`-pSECRET`) after a program known to take it (`programs`: the ones
    run before these words, e.g. the container's Path for its Args)."""
    masked: list[Any] = []
    hide_next = False
    runs: list[str] = []  # the programs named so far, latest last
    previous = ""  # the word before, when it was a flag: `-u` of `curl -u admin:pw`
    for program in programs:
        _note_program(runs, program)
    for word in words:
        if not isinstance(word, str):
            masked.append(masked_json(word))
            hide_next = False
            previous = ""
            continue
        masked.append(MASK if hide_next and word else _masked_word(word, runs, previous))
        hide_next = bool(_SECRET_FLAG.match(word))
        previous = word if word.startswith("-") else ""
        _note_program(runs, word)
    return masked


_PROGRAM_WORDS = 4  # the last few program-like words before a flag: `env A=1 mysql`, `tini -- mysqldump`


def _note_program(runs: list[str], word: object) -> None:
    """Remember `word` when it may name a program (not a flag, not an assignment); keep the last few."""
    if isinstance(word, str) and word and not word.startswith("-") and "=" not in word:
        runs.append(PurePosixPath(word).name)
        del runs[:-_PROGRAM_WORDS]


def _masked_word(word: str, programs: Sequence[str], flag: str = "") -> str:
    """`mask_secrets(word)`, and the word also as the joined line would be masked: a short flag word as
    `PROGRAM WORD` (`-pSECRET`), a flag's value as `PROGRAM FLAG WORD` (`curl -u admin:pw`)."""
    masked = mask_secrets(word)
    if masked != word or not (word.startswith("-") or flag):
        return masked
    for program in programs:
        before = f"{program} {flag} " if flag else f"{program} "
        in_context = mask_secrets(before + word)
        if in_context != before + word and in_context.startswith(before):
            return in_context[len(before) :]
    return masked


def _argv_programs(data: Mapping[str, Any], key: str) -> list[str]:
    """What runs before the words under `key`: the Path before Args, the Entrypoint before Cmd."""
    before = data.get("Path") if key == "Args" else data.get("Entrypoint") if key == "Cmd" else None
    if isinstance(before, str):
        return [before]
    if isinstance(before, list | tuple):
        return [word for word in before if isinstance(word, str)]
    return []


def masked_json(value: Any, key: str = "", parent: Mapping[str, Any] | None = None) -> Any:
    """A plain copy of the JSON with every `Env` list masked and secret-looking strings masked in place."""
    if isinstance(value, Mapping):
        return {str(k): masked_json(v, str(k), value) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if key == "Env":
            return [mask_env(item) if isinstance(item, str) else masked_json(item) for item in value]
        if key in _ARGV_KEYS:
            return _masked_argv(value, _argv_programs(parent or {}, key))
        return [masked_json(item) for item in value]
    if isinstance(value, str) and value:
        if key:
            masked = mask_secrets(f"{key}={value}")
            prefix = f"{key}="
            return masked[len(prefix) :] if masked.startswith(prefix) else mask_secrets(value)
        return mask_secrets(value)
    return value


def _raw_inspect(data: Mapping[str, Any]) -> str:
    # Byte for byte what `docker inspect` (CLI 28) prints: 4-space indent, UTF-8, no HTML escaping.
    return json.dumps([masked_json(data)], indent=4, ensure_ascii=False)


def render_inspect(result: InspectResult) -> str:
    """`docker inspect`: the masked JSON (an array of one object, 4-space indent) when raw, else a digest."""
    data = _mapping(result.data)
    if result.raw:
        return _raw_inspect(data)
    if result.kind == "container":
        return _render_container(data, result.now)
    if result.kind == "image":
        return _render_image(data, result.now)
    return _render_volume(data, result.now)


# ---- logs --------------------------------------------------------------------------------------------------


def render_logs(result: LogsResult) -> str:
    """The log lines, one per line, without ANSI escapes or control characters and with secrets masked."""
    return mask_secrets("\n".join(clean_text(line) for line in result.lines))


# ---- version -----------------------------------------------------------------------------------------------


def _ansic(value: str) -> str:
    """A build time as the Docker CLI reformats it: Go's time.ANSIC ("Thu May  7 21:09:36 2026")."""
    moment = _parse_time(value)
    if moment is None:
        return value
    return f"{moment:%a %b} {moment.day:2d} {moment:%H:%M:%S %Y}"


def _tab_block(rows: Sequence[tuple[str, str] | str]) -> list[str]:
    """docker/cli's version template through tabwriter (min width 20, padding 1): labels padded alike."""
    width = max([20] + [len(row[0]) + 1 for row in rows if isinstance(row, tuple)])
    return [row if isinstance(row, str) else (row[0].ljust(width) + row[1]).rstrip() for row in rows]


def render_version(result: VersionResult) -> str:
    """`docker version`: this bot as the client, then the engine and its components from `/version`."""
    server = _mapping(result.server)
    rows: list[tuple[str, str] | str] = ["Client: docker-chatops", (" Version:", result.client_version), ""]
    platform = _text(_dig(server, "Platform", "Name"))
    rows.append(f"Server: {platform}" if platform else "Server:")
    components = [item for item in _items(server.get("Components")) if isinstance(item, Mapping)]
    if not any(_text(item.get("Name")) == "Engine" for item in components):
        components.insert(0, {"Name": "Engine", "Version": server.get("Version"), "Details": {}})
    for component in components:
        name = _text(component.get("Name"))
        details = _mapping(component.get("Details"))
        rows.append(f" {name}:")
        if name == "Engine":

            def detail(key: str, fallback: str, details: Mapping[str, Any] = details) -> str:
                return _text(details.get(key)) or _text(server.get(fallback))

            api = detail("ApiVersion", "ApiVersion")
            minimum = detail("MinAPIVersion", "MinAPIVersion")
            built = detail("BuildTime", "BuildTime")
            rows += [
                ("  Version:", _text(component.get("Version")) or _text(server.get("Version"))),
                ("  API version:", f"{api} (minimum version {minimum})" if minimum else api),
                ("  Go version:", detail("GoVersion", "GoVersion")),
                ("  Git commit:", detail("GitCommit", "GitCommit")),
                ("  Built:", _ansic(built) if built else ""),
                ("  OS/Arch:", f"{detail('Os', 'Os')}/{detail('Arch', 'Arch')}"),
                ("  Experimental:", detail("Experimental", "Experimental") or "false"),
            ]
        else:
            rows.append(("  Version:", _text(component.get("Version"))))
            rows += [(f"  {key}:", _text(details[key])) for key in sorted(details, key=str)]
    return "\n".join(clean_text(line) for line in _tab_block(rows))


# ---- info --------------------------------------------------------------------------------------------------


def render_info(result: InfoResult) -> str:
    """A concise `docker info`: counts, drivers, swarm, runtimes, kernel and OS, resources, warnings."""
    data = _mapping(result.data)
    lines: list[str] = []

    def add(label: str, value: Any, indent: int = 0) -> None:
        text = value if isinstance(value, str) else _text(value)
        if text:
            lines.append(f"{' ' * indent}{label}: {text}")

    add("Containers", data.get("Containers"))
    add("Running", data.get("ContainersRunning"), 1)
    add("Paused", data.get("ContainersPaused"), 1)
    add("Stopped", data.get("ContainersStopped"), 1)
    add("Images", data.get("Images"))
    add("Server Version", data.get("ServerVersion"))
    add("Storage Driver", data.get("Driver"))
    add("Logging Driver", data.get("LoggingDriver"))
    add("Cgroup Driver", data.get("CgroupDriver"))
    add("Cgroup Version", data.get("CgroupVersion"))
    swarm = _mapping(data.get("Swarm"))
    add("Swarm", swarm.get("LocalNodeState"))
    if _text(swarm.get("LocalNodeState")) == "active":
        add("NodeID", swarm.get("NodeID"), 1)
        add("Is Manager", swarm.get("ControlAvailable"), 1)
        add("Node Address", swarm.get("NodeAddr"), 1)
    add("Error", _one_line(_text(swarm.get("Error"))), 1)
    runtimes = _mapping(data.get("Runtimes"))
    add("Runtimes", " ".join(sorted(str(name) for name in runtimes)))
    add("Default Runtime", data.get("DefaultRuntime"))
    add("Kernel Version", data.get("KernelVersion"))
    add("Operating System", data.get("OperatingSystem"))
    add("OSType", data.get("OSType"))
    add("Architecture", data.get("Architecture"))
    add("CPUs", data.get("NCPU"))
    memory = _int(data.get("MemTotal"))
    add("Total Memory", _binary_size(memory) if memory is not None and memory >= 0 else "")
    add("Name", data.get("Name"))
    add("Docker Root Dir", data.get("DockerRootDir"))
    add("HTTP Proxy", mask_secrets(_text(data.get("HttpProxy"))))
    add("HTTPS Proxy", mask_secrets(_text(data.get("HttpsProxy"))))
    add("No Proxy", data.get("NoProxy"))
    add("Live Restore Enabled", data.get("LiveRestoreEnabled"))
    warnings = [_one_line(_text(warning), 500) for warning in _items(data.get("Warnings"))]
    warnings = [w if w.upper().startswith("WARNING") else f"WARNING: {w}" for w in warnings if w]
    if warnings:
        lines += ["", *warnings]
    return "\n".join(clean_text(line) for line in lines)


# ---- help --------------------------------------------------------------------------------------------------


def _described(entry: HelpEntry) -> str:
    """The summary, with what running it asks for: `Remove containers (asks to confirm; …)`."""
    marks = []
    if entry.confirm == "always":
        marks.append("asks to confirm")
    elif entry.confirm == "many":
        marks.append("asks to confirm for several targets")
    if entry.two_person:
        marks.append("needs a second person's approval")
    return entry.summary + (f" ({'; '.join(marks)})" if marks else "")


def _help_summary(entries: Sequence[HelpEntry]) -> str:
    pairs = []
    for entry in entries:
        summary = _described(entry)
        if entry.aliases:
            summary += f" (aliases: {', '.join(entry.aliases)})"
        pairs.append((entry.name, summary))
    return "\n".join(_aligned(pairs))


def _help_detail(entry: HelpEntry) -> str:
    lines = [f"Usage:  {entry.usage}", "", _described(entry)]
    if entry.aliases:
        lines += ["", f"Aliases: {', '.join(entry.aliases)}"]
    if entry.options:
        lines += ["", "Options:", *("  " + line for line in _aligned(entry.options))]
    if entry.examples:
        lines += ["", "Examples:", *(f"  {example}" for example in entry.examples)]
    return "\n".join(lines)


def render_help(result: HelpResult) -> str:
    """`help`: one aligned line per command; `help COMMAND`: usage, summary, aliases, options, examples."""
    if not result.detailed:
        return _help_summary(result.entries)
    return "\n\n".join(_help_detail(entry) for entry in result.entries)
