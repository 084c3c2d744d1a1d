"""Settings: scalars and secrets from the environment and `.env`; structure from the TOML file.

The file is named by `CHATOPS_CONFIG`.

Environment wins over `.env`. The TOML file holds what does not fit in a variable: `[[hosts]]`, roles,
bindings and `[notify]`. Any bad value stops start-up with one line naming the setting (`load_settings`
raises `ConfigError`), never a traceback.

This module checks only its own shapes and imports nothing above it: what needs the policy or the cron
reader (roles and bindings as a `Policy`, host and container patterns, cron schedules) is checked by
`bot.startup.check_config`, which the caller runs next, with the same one-line errors.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.durations import duration_seconds
from bot.errors import ConfigError
from bot.validation import describe, unknown_key

HOST_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
SLASH_COMMAND_PATTERN = r"^/[a-z0-9_-]{1,31}$"
CHANNEL_ID_PATTERN = r"^[CG][A-Z0-9]{2,30}$"
# What each pattern accepts, in the words a bad value is answered with.
PATTERN_MEANINGS = {
    HOST_NAME_PATTERN: "a host name is 1-63 lowercase letters, digits, '.', '_' or '-', "
    "starting with a letter or a digit",
    SLASH_COMMAND_PATTERN: "a slash command is '/' and 1-31 lowercase letters, digits, '_' or '-'",
    CHANNEL_ID_PATTERN: "a channel ID, such as C0123ABCD (not a channel name)",
}
_DOCKER_SCHEMES = {"unix", "tcp", "http", "https", "npipe"}


def _check_docker_url(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme not in _DOCKER_SCHEMES:
        allowed = ", ".join(sorted(f"{s}://" for s in _DOCKER_SCHEMES))
        raise ValueError(f"must start with one of {allowed}; got {url!r}")
    return url


class HostConfig(BaseModel):
    """One Docker host the bot may reach: `[[hosts]]` in the TOML file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=HOST_NAME_PATTERN)
    url: str
    tls_verify: bool = False
    tls_ca_cert: Path | None = None
    tls_client_cert: Path | None = None
    tls_client_key: Path | None = None
    timeout: float | None = Field(default=None, gt=0, le=300)
    workers: int | None = Field(default=None, ge=1, le=64)  # this host's share of CHATOPS_WORKERS

    _url_scheme = field_validator("url")(_check_docker_url)

    @model_validator(mode="after")
    def _client_cert_and_key(self) -> HostConfig:
        if (self.tls_client_cert is None) != (self.tls_client_key is None):
            raise ValueError("tls_client_cert and tls_client_key go together: set both or neither")
        return self


class RoleConfig(BaseModel):
    """`[roles.NAME]`: what a role may do (`allow`) and what needs a second person (`approval`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow: tuple[str, ...] = ()
    approval: dict[str, str] = Field(default_factory=dict)


class BindingConfig(BaseModel):
    """`[[bindings]]`: who holds a role (user IDs, user group IDs), where (channels, hosts), on what."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    channels: tuple[str, ...] = ("*",)
    hosts: tuple[str, ...] = ("*",)
    containers: tuple[str, ...] = ("*",)


# ---- notifications: `[notify]` and `[[notify.routes]]` ---------------------------------------------------

# What a route may subscribe to. `restart_loop_update` is not listed: updates go wherever their episode went.
NOTIFY_KINDS = (
    "died",
    "oom",
    "unhealthy",
    "restart_loop",
    "recovered",
    "started",
    "stopped",
    "image_removed",
    "disk",
)
_ROUTE_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,30}$")


def parse_duration(text: str, where: str) -> float:
    """Seconds in a Go-style duration (`90s`, `5m`, `1h30m`, `250ms`); else a `ValueError` naming `where`."""
    total = duration_seconds(text.strip())
    if total is None:
        raise ValueError(f'{where}: {text!r} is not a duration (write e.g. "30s", "5m" or "1h30m")')
    if total <= 0:
        raise ValueError(f"{where}: {text!r} must be longer than zero")
    return total


class RouteConfig(BaseModel):
    """`[[notify.routes]]`: which events (kinds) from which hosts and containers go to one channel."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str
    events: tuple[str, ...] = ("died", "oom", "unhealthy", "restart_loop", "recovered")
    hosts: tuple[str, ...] = ("*",)
    containers: tuple[str, ...] = ("*",)


class RestartLoopConfig(BaseModel):
    """`[notify] restart_loop = {restarts = 3, within = "5m", stable = "30s"}`.

    `restarts` restarts within `within` open an episode; `stable` is how long the container must then stay up
    before the episode is called recovered.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    restarts: int = Field(default=3, ge=1, le=10_000)
    within: str = "5m"
    stable: str = "30s"


REPORT_KINDS = ("disk",)


class ReportConfig(BaseModel):
    """`[[notify.reports]]`: a report (`kind`) posted at the `cron` times, one per matching host.

    It goes to every route whose `events` name the kind and whose `hosts` match (container patterns do not
    apply: a disk report is about a whole host).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = "disk"
    cron: str
    hosts: tuple[str, ...] = ("*",)


def notify_zone(name: str) -> tzinfo:
    """The time zone cron times are read in (an IANA name); else a `ValueError` naming `notify.timezone`."""
    if name == "UTC":
        return UTC  # needs no time zone database
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        example = 'write an IANA name such as "Europe/Berlin" or "UTC"'
        raise ValueError(f"notify.timezone: unknown time zone {name!r} ({example})") from None


class NotifyConfig(BaseModel):
    """`[notify]`: the routes of Docker event notifications, the restart-loop thresholds, and the reports
    posted on a schedule (`cron` times read in `timezone`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: tuple[RouteConfig, ...] = ()
    restart_loop: RestartLoopConfig = RestartLoopConfig()
    timezone: str = "UTC"
    reports: tuple[ReportConfig, ...] = ()

    def check(self) -> None:
        """Raise one `ValueError` naming the first bad value (`notify.routes.1.events: unknown event …`);
        patterns and cron schedules are `bot.startup.check_config`'s."""
        for number, route in enumerate(self.routes, start=1):
            where = f"notify.routes.{number}"
            if not _ROUTE_CHANNEL.match(route.channel):
                raise ValueError(f"{where}.channel: {route.channel!r} is not a Slack channel ID (C…, G…)")
            if not route.events:
                raise ValueError(f"{where}.events: empty; name at least one of {', '.join(NOTIFY_KINDS)}")
            for kind in route.events:
                if kind not in NOTIFY_KINDS:
                    raise ValueError(
                        f"{where}.events: unknown event {kind!r}; known: {', '.join(NOTIFY_KINDS)}"
                    )
            if not route.hosts:
                raise ValueError(f'{where}.hosts: empty; write ["*"] for every host')
            if not route.containers:
                raise ValueError(f'{where}.containers: empty; write ["*"] for every container')
        loop = self.restart_loop
        parse_duration(loop.within, "notify.restart_loop.within")
        parse_duration(loop.stable, "notify.restart_loop.stable")
        notify_zone(self.timezone)
        for number, report in enumerate(self.reports, start=1):
            where = f"notify.reports.{number}"
            if report.kind not in REPORT_KINDS:
                known = ", ".join(REPORT_KINDS)
                raise ValueError(f"{where}.kind: unknown report {report.kind!r}; known: {known}")
            if not report.hosts:
                raise ValueError(f'{where}.hosts: empty; write ["*"] for every host')
            if not any(report.kind in route.events for route in self.routes):
                raise ValueError(
                    f"{where}: no route listens to {report.kind!r}, so the report would go nowhere; "
                    f'add "{report.kind}" to the events of a [[notify.routes]] entry'
                )


class FileConfig(BaseModel):
    """The TOML file's content. Unknown keys are errors, so a typo never silently loosens anything."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hosts: tuple[HostConfig, ...] = ()
    roles: dict[str, RoleConfig] = Field(default_factory=dict)
    bindings: tuple[BindingConfig, ...] = ()
    notify: NotifyConfig = NotifyConfig()

    @model_validator(mode="after")
    def _unique_host_names(self) -> FileConfig:
        names = [host.name for host in self.hosts]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"host names must be unique; repeated: {', '.join(duplicates)}")
        return self

    @model_validator(mode="after")
    def _valid_notify(self) -> FileConfig:
        """Check the notification routes once here, so a bad route stops start-up with one line."""
        self.notify.check()
        return self

    def group_ids(self) -> list[str]:
        """Every Slack user group ID a binding names: the groups whose membership the door resolves."""
        return sorted({group for binding in self.bindings for group in binding.groups})


class Settings(BaseSettings):
    """Every setting, named exactly as its environment variable (case-insensitive)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    docker_host: str | None = None
    chatops_config: Path | None = None
    chatops_host_name: str = Field(default="local", pattern=HOST_NAME_PATTERN)
    chatops_docker_timeout: float = Field(default=10.0, gt=0, le=300)
    chatops_command_timeout: float = Field(default=15.0, gt=0, le=600)
    chatops_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    chatops_slash_command: str = Field(default="/docker", pattern=SLASH_COMMAND_PATTERN)
    chatops_http_host: str = "0.0.0.0"  # noqa: S104 - HTTP mode must be reachable by Slack (or a proxy)
    chatops_http_port: int = Field(default=3000, ge=1, le=65535)
    chatops_state_path: Path = Path("./chatops.db")
    chatops_workers: int = Field(default=8, ge=1, le=64)
    chatops_confirm_ttl: float = Field(default=300.0, gt=0, le=86_400)
    chatops_audit_channel: str | None = Field(default=None, pattern=CHANNEL_ID_PATTERN)
    chatops_audit_retention_days: int = Field(default=90, ge=1, le=36_500)
    chatops_history_file: Path = Path("~/.docker_chatops_history")
    # the zone a typed time without an offset (`until=2024-05-01T10:00`, `--since …`) is read in;
    # unset: [notify] timezone, which defaults to UTC
    chatops_timezone: str | None = None

    file: FileConfig = FileConfig()

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "docker_host",
        "chatops_config",
        "chatops_audit_channel",
        "chatops_timezone",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        """`SLACK_BOT_TOKEN=` (as in .env.example) means not set, not an empty token."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("slack_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError(f"must be an http(s) URL; got {value!r}")
        return value if value.endswith("/") else value + "/"

    @field_validator("docker_host")
    @classmethod
    def _docker_url(cls, value: str | None) -> str | None:
        return _check_docker_url(value) if value else None

    @field_validator("chatops_log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _load_file(self) -> Settings:
        if self.chatops_config is not None and self.file == FileConfig():
            object.__setattr__(self, "file", read_config_file(self.chatops_config))
        return self

    @field_validator("chatops_timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                notify_zone(value)
            except ValueError:
                example = 'write an IANA name such as "Europe/Berlin" or "UTC"'
                raise ValueError(f"unknown time zone {value!r}; {example}") from None
        return value

    @property
    def command_zone(self) -> tzinfo:
        """Where typed times without an offset are read: CHATOPS_TIMEZONE, else [notify] timezone (UTC)."""
        return notify_zone(self.chatops_timezone or self.file.notify.timezone)

    @property
    def socket_mode(self) -> bool:
        """Socket Mode when an app-level token is set; HTTP mode otherwise."""
        return self.slack_app_token is not None

    def check_slack(self) -> None:
        """Raise `ConfigError` when Slack is half-configured for the mode `run` would pick (`run` and
        `doctor` both ask this)."""
        bot_token = self.slack_bot_token.get_secret_value() if self.slack_bot_token else None
        if bot_token is not None and not bot_token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN: must be a bot token (xoxb-…), the app's Bot User OAuth Token")
        app_token = self.slack_app_token.get_secret_value() if self.slack_app_token else None
        if app_token is not None and not app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN: must be an app-level token (xapp-…) with connections:write")
        if not self.socket_mode and self.slack_signing_secret is None:
            raise ConfigError(
                "SLACK_SIGNING_SECRET: required in HTTP mode (or set SLACK_APP_TOKEN to use Socket Mode)"
            )

    @property
    def slack_configured(self) -> bool:
        """True when a bot token is set: `run` then serves Slack instead of the local shell."""
        return self.slack_bot_token is not None


def read_config_file(path: Path) -> FileConfig:
    """Parse the TOML file named by CHATOPS_CONFIG; every problem becomes one `ConfigError` line."""
    try:
        data = tomllib.loads(path.expanduser().read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"CHATOPS_CONFIG: file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"CHATOPS_CONFIG: cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"CHATOPS_CONFIG: {path} is not valid TOML: {exc}") from None
    try:
        return FileConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"CHATOPS_CONFIG: {path}: {_first_error(exc)}") from None


def load_settings(env_file: str | Path | None = ".env", **values: Any) -> Settings:
    """Build `Settings` from the environment and `env_file`, or raise `ConfigError` naming the bad setting."""
    try:
        return Settings(_env_file=env_file, **values)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc, env_names=True)) from None


def _first_error(exc: ValidationError, *, env_names: bool = False) -> str:
    errors = exc.errors(include_url=False)
    # a misspelled key is the cause of the "missing" error of the key it meant: name the typo first
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = [str(part) for part in error["loc"]]
    if error["type"] == "extra_forbidden" and loc:
        return f"{'.'.join(loc)}: {unknown_key(loc[-1], _keys_at(FileConfig, error['loc'][:-1]))}"
    where = loc[0].upper() if env_names and loc else ".".join(loc)
    if env_names and len(loc) > 1:
        where += " (" + ".".join(loc[1:]) + ")"
    message = describe(error, PATTERN_MEANINGS)
    given = error.get("input")
    secret = any(word in where for word in ("TOKEN", "SECRET"))
    shown = f" (got {given!r})" if env_names and isinstance(given, str) and not secret else ""
    return f"{where}: {message}{shown}" if where else message


def _keys_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys the TOML table at `loc` may hold: the fields of the model found by walking `loc` from
    `model` through fields, list indexes and table keys."""
    current: Any = model
    for part in loc:
        fields = getattr(current, "model_fields", None) if isinstance(current, type) else None
        if fields is not None and isinstance(part, str) and part in fields:
            current = _model_in(fields[part].annotation) or current
    return list(getattr(current, "model_fields", {}))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model inside an annotation such as `list[HostConfig]`, `dict[str, RoleConfig]` or `X | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None
