"""Who asked what, where: the one shape every door hands the router."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.models import PullProgress
from bot.policy import Principal


@dataclass(frozen=True, slots=True)
class Invocation:
    """Who asked what, where: the same shape from a slash command, a button click or the local shell."""

    text: str
    user_id: str = "local"
    channel_id: str = "shell"
    team_id: str = ""
    host: str | None = None
    source: str = "shell"
    groups: frozenset[str] = frozenset()
    is_dm: bool = False
    local_admin: bool = False
    confirmed: bool = False
    confirmation: str | None = None
    confirmed_by_user: str | None = None
    progress: Callable[[PullProgress], None] | None = field(default=None, compare=False, repr=False)

    @property
    def confirmed_by(self) -> str:
        """Who clicked Confirm or Approve (the requester unless a second person approved)."""
        return self.confirmed_by_user or self.user_id

    @property
    def principal(self) -> Principal:
        """Who is asking, by IDs only (never a display name)."""
        return Principal(
            user_id=self.user_id,
            channel_id=self.channel_id,
            team_id=self.team_id,
            groups=self.groups,
            is_dm=self.is_dm,
            local_admin=self.local_admin,
        )
