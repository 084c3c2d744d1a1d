"""The local shell: the same router as Slack, against the local Docker, with no Slack at all.

`docker-chatops shell -c "ps -a"` runs one invocation and exits with its code (0 ok, 1 failed, 2 usage,
3 denied, 4 needs confirmation: re-run with `--yes`). Without `-c` it is a REPL with line editing and a
history file, which asks y/N before a plan runs. Without `--as` the local user acts as admin; with
`--as U123 --channel C456 [--groups S1,S2] [--dm]` it acts as that Slack identity under the policy, so a
policy can be tried offline.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bot.errors import ChatOpsError, ExitCode
from bot.models import ConfirmationResult, Outcome, Problem, Reply
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

Ask = Callable[[ConfirmationResult], bool]


@dataclass(frozen=True, slots=True)
class ShellIdentity:
    """Who the shell acts as: the local admin, or a Slack identity under the policy."""

    user_id: str = "local"
    channel_id: str = "shell"
    groups: frozenset[str] = field(default_factory=frozenset)
    yes: bool = False
    is_dm: bool = False  # the shell is no DM unless told so (`--dm`); a channel ID's shape does not say

    @property
    def local_admin(self) -> bool:
        """True without --as: the person at the keyboard already has the Docker socket."""
        return self.user_id == "local"

    def invocation(self, text: str, host: str | None, plan_id: str | None = None) -> Invocation:
        """The invocation of `text` as this identity."""
        return Invocation(
            text=text,
            user_id=self.user_id,
            channel_id=self.channel_id,
            host=host,
            source="shell",
            groups=self.groups,
            is_dm=self.is_dm,
            local_admin=self.local_admin,
            assume_yes=self.yes,
            plan_id=plan_id,
        )


def run_once(
    router: Router,
    text: str,
    *,
    identity: ShellIdentity | None = None,
    host: str | None = None,
    timeout: float = 15.0,
    ask: Ask | None = None,
    out: TextIO,
    err: TextIO,
) -> int:
    """Run one invocation (at most `timeout` seconds), print its reply, and return the shell exit code.

    When the answer is a plan and `ask` says yes, the plan is confirmed (re-planned and run, once).
    """
    identity = identity or ShellIdentity()
    reply = router.handle_within(identity.invocation(text, host), timeout)
    _print(reply, out, err)
    gate = _confirmation(reply)
    if gate is not None and gate.approval == "none" and ask is not None and ask(gate):
        reply = router.handle_within(identity.invocation("", host, plan_id=gate.token), timeout)
        _print(reply, out, err)
    return int(EXIT_CODES[reply.outcome])


def _confirmation(reply: Reply) -> ConfirmationResult | None:
    if reply.outcome is Outcome.NEEDS_CONFIRMATION and reply.steps:
        result = reply.steps[0].result
        if isinstance(result, ConfirmationResult):
            return result
    return None


def _print(reply: Reply, out: TextIO, err: TextIO) -> None:
    stdout, stderr = render_reply_text(reply)
    if stdout:
        print(stdout, file=out)
    if stderr:
        print(stderr, file=err)


def repl(
    router: Router,
    *,
    identity: ShellIdentity,
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
        who = "" if identity.local_admin else f" as {identity.user_id} in {identity.channel_id}"
        print(f'docker-chatops shell on host {name}{who}: type "help", or "exit" to leave.', file=out)
        rights = "you act as admin (--as USER_ID to try the policy)" if identity.local_admin else ""
        print(f"{router.policy.describe()}" + (f"; {rights}" if rights else ""), file=out)
    try:
        router.engines[name].ping()
    except (ChatOpsError, KeyError) as exc:
        problem = (
            Problem(type(exc).__name__, exc.message, exc.hint)
            if isinstance(exc, ChatOpsError)
            else Problem("NotFound", f"no Docker host named {name!r}", f"hosts: {', '.join(router.engines)}")
        )
        print(render_problem_text(problem), file=err)
        return int(ExitCode.FAILED)

    def ask(_gate: ConfirmationResult) -> bool:
        if not interactive:
            return False
        try:
            yes = input("Proceed? [y/N] ").strip().lower() in {"y", "yes"}
        except EOFError:
            yes = False
        if not yes:
            print("cancelled: nothing ran", file=out)
        return yes

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
        code = run_once(
            router, text, identity=identity, host=host, timeout=timeout, ask=ask, out=out, err=err
        )
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


def main_shell(
    router: Router,
    command: str | None,
    *,
    identity: ShellIdentity,
    host: str | None,
    history: Path,
    timeout: float,
) -> int:
    """Entry point of `docker-chatops shell`."""
    try:
        if command is not None:
            return run_once(
                router, command, identity=identity, host=host, timeout=timeout, out=sys.stdout, err=sys.stderr
            )
        return repl(
            router,
            identity=identity,
            host=host,
            history=history,
            timeout=timeout,
            stdin=sys.stdin,
            out=sys.stdout,
            err=sys.stderr,
        )
    finally:
        router.close()
