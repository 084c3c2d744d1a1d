"""The typed errors every door knows how to show.

Only `ChatOpsError` and its subclasses carry text meant for users. Anything else that escapes is an internal
error: a door logs it with a request id and shows the user that id, never `str(exc)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from bot.models import ActionResult, RmiResult


class ExitCode(IntEnum):
    """Shell exit codes; the Slack door maps the same outcomes to ephemeral or in-channel answers."""

    OK = 0
    FAILED = 1
    USAGE = 2
    DENIED = 3
    NEEDS_CONFIRMATION = 4


class ChatOpsError(Exception):
    """A failure whose message is safe and useful to show the person who asked.

    `remedy` is a command that clears the way (a door may offer it as a button). `daemon_message` is the
    Docker daemon's own message when the failure is its error response (set at the error border,
    `bot.engine.hosts.docker_errors`), so nothing past the border reads the SDK's exception."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        remedy: str | None = None,
        daemon_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.remedy = remedy
        self.daemon_message = daemon_message

    def __str__(self) -> str:
        return self.message

    @property
    def daemon_line(self) -> str:
        """The failure as the Docker CLI prints it: `Error response from daemon: <the daemon's message>`."""
        return error_response(self.daemon_message or self.message)


def error_response(message: str) -> str:
    """A daemon's message as the Docker CLI prints it: `Error response from daemon: <message>`."""
    return message if message.startswith("Error response") else f"Error response from daemon: {message}"


class UsageError(ChatOpsError):
    """The text could not be parsed into a command: unknown command, flag, filter or value."""

    def __init__(self, message: str, *, usage: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.usage = usage


class Denied(ChatOpsError):
    """The policy does not allow this principal to run this command here."""


class NotFound(ChatOpsError):
    """The container, image, volume or project named does not exist on that host."""


class Conflict(ChatOpsError):
    """Docker refused because of the object's state (in use, running, name taken)."""


class ImageInUse(Conflict):
    """`rmi` refused because containers use the image: names them and carries the command that clears the way
    (`stop C && rm C && rmi IMAGE`) as its `remedy`, for a door to offer as a button."""

    def __init__(
        self, message: str, *, hint: str | None = None, remedy: str, containers: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message, hint=hint, remedy=remedy)
        self.containers = containers


class EngineUnavailable(ChatOpsError):
    """No Docker engine answered at the configured address, or it answered too slowly."""


class OperationFailed(ChatOpsError):
    """Docker accepted the request but the operation failed; the message is Docker's own."""


class PartialFailure(OperationFailed):
    """A command on several objects failed for some: like the Docker CLI, it went on with the others and
    fails at the end. `result` holds what was done, `errors` each failure; the message lists the failures as
    the CLI prints them (`Error response from daemon: No such container: x`), the hint what was done."""

    def __init__(self, result: ActionResult | RmiResult, errors: Sequence[ChatOpsError]) -> None:
        if isinstance(result, RmiResult):
            done = "; ".join(f"{r.action}: {r.ref}" for r in result.removed)
            hint = f"done: {done}" if done else None
        else:
            hint = f"{result.verb} done: {', '.join(result.done)}" if result.done else None
        # The first image conflict's way out (see ImageInUse), so a door can still offer it as a button.
        remedy = next((e.remedy for e in errors if isinstance(e, ImageInUse)), None)
        super().__init__("\n".join(e.daemon_line for e in errors), hint=hint, remedy=remedy)
        self.result = result
        self.errors = tuple(errors)


class ConfigError(ChatOpsError):
    """A setting or the config file is invalid; start-up stops with this one line."""
