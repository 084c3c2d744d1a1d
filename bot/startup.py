"""The start-up checks past the settings' own shapes, run by `docker-chatops` right after `load_settings`.

`bot.settings` sits below every other layer and checks only its shapes. What needs a layer above it is
checked here: the roles and bindings as a `Policy` (`bindings.1.role: unknown role …`), the host and
container patterns of `[[notify.routes]]` and `[[notify.reports]]`, and the reports' cron schedules. Each
failure is the same one `ConfigError` line a shape error is (`CHATOPS_CONFIG: FILE: KEY: what is wrong`).
"""

from __future__ import annotations

from pathlib import Path

from bot.commands import CATALOG, Catalog
from bot.errors import ConfigError
from bot.notify.cron import CronSchedule, parse_cron
from bot.policy import ContainerPattern, Policy
from bot.policy.scopes import check_glob
from bot.settings import FileConfig, NotifyConfig, ReportConfig, Settings, notify_zone, read_config_file


def policy_of(file: FileConfig, catalog: Catalog = CATALOG) -> Policy:
    """The policy the file's roles and bindings describe, on `catalog` (the router's); with neither, the
    default (everyone may read)."""
    return Policy.from_config(file.roles, file.bindings, catalog)


def report_schedules(notify: NotifyConfig) -> list[tuple[ReportConfig, CronSchedule]]:
    """Every report with its parsed schedule; a `ValueError` naming the first bad one
    (`notify.reports.1.cron: minute field: '60' is not valid (values 0-59; …)`)."""
    zone = notify_zone(notify.timezone)
    found: list[tuple[ReportConfig, CronSchedule]] = []
    for number, report in enumerate(notify.reports, start=1):
        where = f"notify.reports.{number}"
        try:
            schedule = parse_cron(report.cron, zone)
        except ValueError as exc:
            raise ValueError(f"{where}.cron: {exc}") from None
        for host in report.hosts:
            check_glob(host, f"{where}.hosts")
        found.append((report, schedule))
    return found


def check_file(file: FileConfig, path: Path | None) -> None:
    """Raise one `ConfigError` line for the first policy, pattern or schedule `file` gets wrong."""
    try:
        policy_of(file)
        for number, route in enumerate(file.notify.routes, start=1):
            where = f"notify.routes.{number}"
            for host in route.hosts:
                check_glob(host, f"{where}.hosts")
            for pattern in route.containers:
                ContainerPattern.parse(pattern, f"{where}.containers")
        report_schedules(file.notify)
    except ValueError as exc:
        raise ConfigError(f"CHATOPS_CONFIG: {path}: {exc}" if path else str(exc)) from None


def check_tls_files(file: FileConfig) -> None:
    """A `ValueError` for the first TLS file a `[[hosts]]` entry names that cannot be read
    (`hosts.0.tls_ca_cert: file not found: /certs/ca.pem`), before anything tries to connect."""
    for number, host in enumerate(file.hosts):
        named = {
            "tls_ca_cert": host.tls_ca_cert,
            "tls_client_cert": host.tls_client_cert,
            "tls_client_key": host.tls_client_key,
        }
        for key, path in named.items():
            if path is None:
                continue
            where = f"hosts.{number}.{key}"
            try:
                with path.expanduser().open("rb"):
                    pass
            except FileNotFoundError:
                raise ValueError(f"{where}: file not found: {path}") from None
            except OSError as exc:
                raise ValueError(f"{where}: cannot read {path}: {exc.strerror}") from None


def check_config(settings: Settings) -> None:
    """`check_file` on the settings' config file (nothing to check without one), then that the TLS files
    it names are there to read on this machine."""
    path = settings.chatops_config
    check_file(settings.file, path)
    try:
        check_tls_files(settings.file)
    except ValueError as exc:
        raise ConfigError(f"CHATOPS_CONFIG: {path}: {exc}" if path else str(exc)) from None


def read_checked(path: Path) -> FileConfig:
    """`read_config_file`, then `check_file`: the TOML file as start-up accepts it (the TLS files it
    names, which belong to the machine rather than the file, are `check_config`'s)."""
    file = read_config_file(path)
    check_file(file, path)
    return file
