"""Who asked what, where: the one shape every door hands the router."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.models import PullProgress
from bot.policy import Principal


@dataclass(frozen=True, slots=True)
class Invocation:
    """Who asked what, where: the same shape from a slash command, a button click or the local shell.

    `assume_yes`: the local shell's `--yes`: a plan that asks only for its requester's confirmation runs
    at once. `plan_id`: the ID (an unguessable token) of the pending plan a Confirm or Approve click, or
    the shell's "y", settles; such an invocation has no text of its own. `confirmed_by`: on the
    requester's invocation that a click re-makes (`Confirmations.as_requested`), who clicked; None on
    every other invocation.
    """

    text: str
    user_id: str = "local"
    channel_id: str = "shell"
    team_id: str = ""
    host: str | None = None
    source: str = "shell"
    groups: frozenset[str] = frozenset()
    is_dm: bool = False
    local_admin: bool = False
    assume_yes: bool = False
    plan_id: str | None = None
    confirmed_by: str | None = None
    progress: Callable[[PullProgress], None] | None = field(default=None, compare=False, repr=False)

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
