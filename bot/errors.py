"""The typed errors every door knows how to show.

Only `ChatOpsError` and its subclasses carry text meant for users. Anything else that escapes is an internal
error: a door logs it with a request id and shows the user that id, never `str(exc)`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Shell exit codes; the Slack door maps the same outcomes to ephemeral or in-channel answers."""

    OK = 0
    FAILED = 1
    USAGE = 2
    DENIED = 3
    NEEDS_CONFIRMATION = 4


class ChatOpsError(Exception):
    """A failure whose message is safe and useful to show the person who asked."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


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


class EngineUnavailable(ChatOpsError):
    """No Docker engine answered at the configured address, or it answered too slowly."""


class OperationFailed(ChatOpsError):
    """Docker accepted the request but the operation failed; the message is Docker's own."""


class ConfigError(ChatOpsError):
    """A setting or the config file is invalid; start-up stops with this one line."""
