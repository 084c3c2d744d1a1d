"""`docker-chatops run | shell | doctor | audit export`: the only module that wires everything together.

No traceback ever reaches the terminal: start-up problems (a bad setting, a malformed config file, a TLS file
that is not there) print one line and exit 2; a reader that closes the pipe early (`shell -c "ps -a" | head`)
ends the command quietly, as `docker ps -a | head` does; Ctrl-C exits 130; anything unexpected is one line
naming the error's type (the traceback is logged at DEBUG, masked like every log line).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot import __version__
from bot.commands import CATALOG
from bot.engine import Engine, hosts_from_settings, own_container_id
from bot.errors import ChatOpsError, ConfigError, ExitCode
from bot.models import ReportInfo, RouteInfo
from bot.render.mask import mask_log_handlers
from bot.router import Notifications, Router
from bot.settings import Settings, load_settings
from bot.shell import ShellIdentity, main_shell
from bot.startup import check_config, policy_of
from bot.store import Store

if TYPE_CHECKING:
    from bot.notify.service import NotificationService


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docker-chatops",
        description="Docker in Slack, through one permissioned router; or the same router in a local shell.",
    )
    parser.add_argument("--version", action="version", version=f"docker-chatops {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "run", help="serve Slack when SLACK_BOT_TOKEN is set; otherwise start the local shell"
    )
    shell = commands.add_parser("shell", help="the local shell over the same router (no Slack)")
    shell.add_argument("-c", dest="text", metavar="COMMAND", help='run one command and exit, e.g. -c "ps -a"')
    shell.add_argument("--host", help="the Docker host to use (a [[hosts]] name; default: the first)")
    shell.add_argument(
        "--as", dest="as_user", metavar="USER_ID", help="act as this Slack user under the policy"
    )
    shell.add_argument("--channel", default=None, metavar="CHANNEL_ID", help="the Slack channel to act in")
    shell.add_argument("--groups", default="", metavar="S1,S2", help="the Slack user groups of --as")
    shell.add_argument("--dm", action="store_true", help="--channel is a direct message (policy `dm`)")
    shell.add_argument("--yes", action="store_true", help="confirm plans without asking (not approvals)")
    doctor = commands.add_parser("doctor", help="check the settings and that every Docker host answers")
    doctor.add_argument("--quiet", action="store_true", help="print nothing; only the exit code tells")
    audit = commands.add_parser("audit", help="the audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    audit_commands.add_parser("export", help="write every audit row as JSON lines to standard output")
    return parser


def _router(settings: Settings, store: Store, notifications: NotificationService | None = None) -> Router:
    """The router over the configured hosts; `notifications` when the notification service runs."""
    notify = settings.file.notify
    routes = [
        RouteInfo(tuple(r.events), tuple(r.containers), tuple(r.hosts), r.channel) for r in notify.routes
    ]
    reports = [ReportInfo(r.kind, r.cron, notify.timezone, tuple(r.hosts)) for r in notify.reports]
    return Router(
        [Engine(host, settings.command_zone) for host in hosts_from_settings(settings)],
        CATALOG,
        workers=settings.chatops_workers,
        policy=policy_of(settings.file, CATALOG),
        store=store,
        confirm_ttl=settings.chatops_confirm_ttl,
        own_container_id=own_container_id(),
        notifications=Notifications(
            routes=tuple(routes),
            reports=tuple(reports),
            send_test=notifications.send_test if notifications is not None else None,
            send_report=notifications.send_report if notifications is not None else None,
        ),
    )


def _identity(options: argparse.Namespace) -> ShellIdentity:
    if options.as_user is None:
        return ShellIdentity(yes=options.yes)
    groups = frozenset(g.strip() for g in options.groups.split(",") if g.strip())
    return ShellIdentity(
        user_id=options.as_user,
        channel_id=options.channel or "shell",
        groups=groups,
        yes=options.yes,
        is_dm=options.dm,
    )


def _audit_export(store: Store) -> int:
    for row in store.audit_export():
        print(json.dumps(row.as_dict(), sort_keys=True))
    return int(ExitCode.OK)


def _doctor(settings: Settings, router: Router, quiet: bool) -> int:
    """The checks `run` makes before serving (settings, Slack's tokens for the mode it would pick) and
    every host's answer; exits non-zero on anything `run` would refuse or could not reach."""
    lines: list[str] = []
    code = ExitCode.OK
    for name, engine in router.engines.items():
        try:
            engine.ping()
            lines.append(f"ok: Docker host {name} answers at {engine.host.url}")
        except ChatOpsError as exc:
            lines.append(f"error: {exc.message}")
            code = ExitCode.FAILED
    if not settings.slack_configured:
        lines.append("ok: settings loaded; Slack not configured (run starts the local shell)")
    else:
        try:
            settings.check_slack()
            mode = "Socket Mode" if settings.socket_mode else "HTTP mode"
            lines.append(f"ok: settings loaded; Slack configured for {mode}")
        except ConfigError as exc:
            lines.append(f"error: {exc.message} (run would refuse to start)")
            code = ExitCode.USAGE if code is ExitCode.OK else code
    if not quiet:
        print("\n".join(lines))
    return int(code)


def _serve_slack(settings: Settings, store: Store) -> int:
    """`run` with Slack tokens: Socket Mode with SLACK_APP_TOKEN, else HTTP mode."""
    from bot.slack.app import build_app  # noqa: PLC0415 - the shell never pays for importing Bolt
    from bot.slack.runner import serve_http, serve_socket_mode  # noqa: PLC0415

    try:
        settings.check_slack()
    except ConfigError as exc:
        print(f"docker-chatops: {exc.message}", file=sys.stderr)
        return int(ExitCode.USAGE)
    notifications = None
    if settings.file.notify.routes:
        from bot.notify.service import NotificationService  # noqa: PLC0415 - only with routes configured

        notifications = NotificationService(settings, hosts_from_settings(settings))
    router = _router(settings, store, notifications)
    logging.getLogger("bot").info("%s", router.policy.describe())
    try:
        app = build_app(settings, router)
    except Exception as exc:  # Bolt's auth.test at start-up: a bad token or an unreachable Slack
        print(f"docker-chatops: cannot start the Slack app: {_safe(exc)}", file=sys.stderr)
        return int(ExitCode.FAILED)

    def stop(_signum: int, _frame: object) -> None:  # `docker stop` sends SIGTERM: leave through `finally`
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    if notifications is not None:
        notifications.start()
    # Everything built so far lives as long as the process: keep it out of the collector's full passes,
    # which would otherwise pause every thread (the event readers too) to walk it again and again.
    gc.collect()
    gc.freeze()
    try:
        if settings.socket_mode:
            serve_socket_mode(app, settings, store)
        else:
            serve_http(app, settings, router, store)
    except KeyboardInterrupt:
        pass
    finally:
        if notifications is not None:
            notifications.stop()
        router.close()
        store.close()
    return int(ExitCode.OK)


def _safe(exc: Exception) -> str:
    """One line about a start-up failure, without echoing anything that could hold a token."""
    from slack_sdk.errors import SlackApiError  # noqa: PLC0415 - the shell never pays for importing Slack

    error = exc.response.get("error") if isinstance(exc, SlackApiError) else None
    return f"Slack answered {error!r}" if error else type(exc).__name__


SIGPIPE_EXIT = 128 + 13  # what a shell reports for a process ended by SIGPIPE, as `docker` is


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the process exit code, never raises (but `--help`'s SystemExit)."""
    try:
        return _main(argv)
    except BrokenPipeError:
        _stdout_to_devnull()
        return SIGPIPE_EXIT
    except KeyboardInterrupt:
        return 130
    except ConfigError as exc:
        print(f"docker-chatops: {exc.message}", file=sys.stderr)
        return int(ExitCode.USAGE)
    except ChatOpsError as exc:
        print(f"docker-chatops: {exc.message}", file=sys.stderr)
        return int(ExitCode.FAILED)
    except Exception as exc:  # the last border: one line, whatever it is
        logging.getLogger("bot").debug("unexpected error", exc_info=True)
        print(
            f"docker-chatops: unexpected error ({type(exc).__name__}); "
            "CHATOPS_LOG_LEVEL=DEBUG logs the details",
            file=sys.stderr,
        )
        return int(ExitCode.FAILED)


def _stdout_to_devnull() -> None:
    """After a closed pipe: point standard output at /dev/null, so the interpreter's final flush of what
    is still buffered does not fail again ("Exception ignored … BrokenPipeError") on the way out."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _main(argv: Sequence[str] | None) -> int:
    options = _parser().parse_args(argv)
    settings = load_settings()
    check_config(settings)
    level = settings.chatops_log_level
    logging.basicConfig(
        level=level if options.command == "run" or level == "DEBUG" else "WARNING",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    mask_log_handlers()  # every log line, arguments and tracebacks included, is masked
    store = Store(settings.chatops_state_path, audit_retention_days=settings.chatops_audit_retention_days)
    command = options.command or "run"
    if command == "audit":
        return _audit_export(store)
    if command == "run" and settings.slack_configured:
        return _serve_slack(settings, store)
    router = _router(settings, store)
    if command == "doctor":
        return _doctor(settings, router, options.quiet)
    if command == "run":
        print("docker-chatops: no Slack tokens configured; starting the local shell.", file=sys.stderr)
        return main_shell(
            router,
            None,
            identity=ShellIdentity(),
            host=None,
            history=settings.chatops_history_file,
            timeout=settings.chatops_command_timeout,
        )
    return main_shell(
        router,
        options.text,
        identity=_identity(options),
        host=options.host,
        history=settings.chatops_history_file,
        timeout=settings.chatops_command_timeout,
    )
