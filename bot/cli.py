"""`docker-chatops run | shell | doctor`: the only module that wires everything together.

Start-up problems (a bad setting, a malformed config file) print one line and exit 2; no traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot import __version__
from bot.engine import Engine, hosts_from_settings
from bot.errors import ChatOpsError, ConfigError, ExitCode
from bot.router import Router
from bot.settings import Settings, load_settings
from bot.shell import main_shell


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
    doctor = commands.add_parser("doctor", help="check the settings and that every Docker host answers")
    doctor.add_argument("--quiet", action="store_true", help="print nothing; only the exit code tells")
    return parser


def _router(settings: Settings) -> Router:
    return Router([Engine(host) for host in hosts_from_settings(settings)])


def _doctor(settings: Settings, router: Router, quiet: bool) -> int:
    code = ExitCode.OK
    for name, engine in router.engines.items():
        try:
            engine.ping()
            line = f"ok: Docker host {name} answers at {engine.host.url}"
        except ChatOpsError as exc:
            line, code = f"error: {exc.message}", ExitCode.FAILED
        if not quiet:
            print(line)
    if not quiet:
        slack = "configured" if settings.slack_configured else "not configured (run starts the local shell)"
        print(f"ok: settings loaded; Slack {slack}")
    return int(code)


def _serve_slack(settings: Settings, router: Router) -> int:
    """`run` with Slack tokens: Socket Mode with SLACK_APP_TOKEN, else HTTP mode."""
    from bot.slack.app import build_app  # noqa: PLC0415 - the shell never pays for importing Bolt
    from bot.slack.runner import serve_http, serve_socket_mode  # noqa: PLC0415
    from bot.store import Store  # noqa: PLC0415

    try:
        settings.check_slack()
    except ConfigError as exc:
        print(f"docker-chatops: {exc.message}", file=sys.stderr)
        return int(ExitCode.USAGE)
    store = Store(settings.chatops_state_path)
    try:
        app = build_app(settings, router)
    except Exception as exc:  # Bolt's auth.test at start-up: a bad token or an unreachable Slack
        print(f"docker-chatops: cannot start the Slack app: {_safe(exc)}", file=sys.stderr)
        return int(ExitCode.FAILED)
    try:
        if settings.socket_mode:
            serve_socket_mode(app, settings)
        else:
            serve_http(app, settings, router, store)
    except KeyboardInterrupt:
        pass
    finally:
        router.close()
        store.close()
    return int(ExitCode.OK)


def _safe(exc: Exception) -> str:
    """One line about a start-up failure, without echoing anything that could hold a token."""
    error = getattr(getattr(exc, "response", None), "get", lambda _key: None)("error")
    return f"Slack answered {error!r}" if error else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the process exit code."""
    options = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"docker-chatops: {exc.message}", file=sys.stderr)
        return int(ExitCode.USAGE)
    level = settings.chatops_log_level
    logging.basicConfig(
        level=level if options.command == "run" or level == "DEBUG" else "WARNING",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    router = _router(settings)
    command = options.command or "run"
    if command == "doctor":
        return _doctor(settings, router, options.quiet)
    if command == "run":
        if settings.slack_configured:
            return _serve_slack(settings, router)
        print("docker-chatops: no Slack tokens configured; starting the local shell.", file=sys.stderr)
        return main_shell(router, None, None, settings.chatops_history_file, settings.chatops_command_timeout)
    return main_shell(
        router, options.text, options.host, settings.chatops_history_file, settings.chatops_command_timeout
    )
