"""The local shell: the same router as Slack, against the local Docker, with no Slack at all.

`docker-chatops shell -c "ps -a"` runs one invocation and exits with its code (0 ok, 1 failed, 2 usage,
3 denied, 4 needs confirmation). Without `-c` it is a REPL with line editing and a history file.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TextIO

from bot.errors import ChatOpsError, ExitCode
from bot.models import Outcome, Problem, Reply
from bot.render.text import render_problem_text, render_reply_text
from bot.router import Invocation, Router

EXIT_CODES = {
    Outcome.OK: ExitCode.OK,
    Outcome.FAILED: ExitCode.FAILED,
    Outcome.USAGE: ExitCode.USAGE,
    Outcome.DENIED: ExitCode.DENIED,
    Outcome.NEEDS_CONFIRMATION: ExitCode.NEEDS_CONFIRMATION,
}
_QUIT = {"exit", "quit", "logout", r"\q"}


def run_once(
    router: Router, text: str, *, host: str | None = None, timeout: float = 15.0, out: TextIO, err: TextIO
) -> int:
    """Run one invocation (at most `timeout` seconds), print its reply, and return the shell exit code."""
    reply = router.handle_within(Invocation(text=text, host=host), timeout)
    _print(reply, out, err)
    return int(EXIT_CODES[reply.outcome])


def _print(reply: Reply, out: TextIO, err: TextIO) -> None:
    stdout, stderr = render_reply_text(reply)
    if stdout:
        print(stdout, file=out)
    if stderr:
        print(stderr, file=err)


def repl(
    router: Router,
    *,
    host: str | None,
    history: Path,
    timeout: float,
    stdin: TextIO,
    out: TextIO,
    err: TextIO,
) -> int:
    """Read commands until EOF or `exit`; returns the exit code of the last command."""
    interactive = stdin.isatty()
    name = host or router.default_host
    if interactive:
        _enable_line_editing(history)
        print(f'docker-chatops shell on host {name}: type "help", or "exit" to leave.', file=out)
    try:
        engine = router.engines[name]
        engine.ping()
    except (ChatOpsError, KeyError) as exc:
        problem = (
            Problem(type(exc).__name__, exc.message, exc.hint)
            if isinstance(exc, ChatOpsError)
            else Problem("NotFound", f"no Docker host named {name!r}", f"hosts: {', '.join(router.engines)}")
        )
        print(render_problem_text(problem), file=err)
        return int(ExitCode.FAILED)
    code = 0
    while True:
        try:
            line = input(f"docker@{name}> ") if interactive else stdin.readline()
        except EOFError:
            print(file=out)
            break
        except KeyboardInterrupt:
            print("^C", file=out)
            continue
        if not interactive and not line:
            break
        text = line.strip()
        if not text:
            continue
        if text in _QUIT:
            break
        code = run_once(router, text, host=host, timeout=timeout, out=out, err=err)
    if interactive:
        _save_history(history)
    return code


def _enable_line_editing(history: Path) -> None:
    try:
        import readline  # noqa: PLC0415 - optional module, loaded only for an interactive REPL
    except ImportError:  # pragma: no cover - readline is missing on some builds; input() still works
        return
    with contextlib.suppress(OSError):
        readline.read_history_file(history.expanduser())
    readline.set_history_length(1000)


def _save_history(history: Path) -> None:
    try:
        import readline  # noqa: PLC0415 - optional module, loaded only for an interactive REPL
    except ImportError:  # pragma: no cover
        return
    with contextlib.suppress(OSError):
        readline.write_history_file(history.expanduser())


def main_shell(router: Router, command: str | None, host: str | None, history: Path, timeout: float) -> int:
    """Entry point of `docker-chatops shell`."""
    try:
        if command is not None:
            return run_once(router, command, host=host, timeout=timeout, out=sys.stdout, err=sys.stderr)
        return repl(
            router,
            host=host,
            history=history,
            timeout=timeout,
            stdin=sys.stdin,
            out=sys.stdout,
            err=sys.stderr,
        )
    finally:
        router.close()
