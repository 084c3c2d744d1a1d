"""Mentions carried by ID: the core names a user or a channel, and each door decides how it reads.

Policy, router and the other core parts write `user_ref(user_id)` and `channel_ref(channel_id)` into their
sentences instead of any chat markup. A ref is an inert marker holding the ID; a door renders every ref in a
text when it shows it (`render_refs` with the door's own functions): the Slack door as `<@U123>` and
`<#C123>` (IDs of the right shape only), the local shell as plain text (`plain_refs`: the local user reads
`the local shell user`, a channel its ID). A marker is written with this process's key, so a text that
merely looks like one (typed by a user, printed by a container) renders as its inert content, never as a
mention; for the same reason a text kept past the process (the audit, the outbox) holds no refs.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

LOCAL_USER = "local"  # the local shell's user without --as

_OPEN = "\ue000"  # private-use characters: no keyboard or Slack markup writes them by accident
_CLOSE = "\ue001"
_USER = "@"
_CHANNEL = "#"
_KEY = secrets.token_hex(4)
_REF = re.compile(f"{_OPEN}([0-9a-f]*)([{_USER}{_CHANNEL}])([^{_OPEN}{_CLOSE}]*){_CLOSE}")
_STRAY = re.compile(f"{_OPEN}[0-9a-f]*[{_USER}{_CHANNEL}]?|{_CLOSE}")  # what clipping left of a ref


def _ref(sigil: str, ident: str) -> str:
    return f"{_OPEN}{_KEY}{sigil}{ident.replace(_OPEN, '').replace(_CLOSE, '')}{_CLOSE}"


def user_ref(user_id: str) -> str:
    """The user `user_id`, for a door to render (`<@U123>` in Slack, the ID or `the local shell user` in
    the shell)."""
    return _ref(_USER, user_id)


def channel_ref(channel_id: str) -> str:
    """The channel `channel_id`, for a door to render (`<#C123>` in Slack, the ID in the shell)."""
    return _ref(_CHANNEL, channel_id)


def render_refs(text: str, *, user: Callable[[str], str], channel: Callable[[str], str]) -> str:
    """`text` with every ref rendered by the door's `user` and `channel`; a look-alike is left as its
    inert content and a ref cut short by clipping as the part that was kept."""

    def one(match: re.Match[str]) -> str:
        key, sigil, ident = match.groups()
        if key != _KEY:
            return ident
        return user(ident) if sigil == _USER else channel(ident)

    return _STRAY.sub("", _REF.sub(one, text))


def plain_user(user_id: str) -> str:
    """A user as plain text: `the local shell user` for the local shell's own user (`local`), else the ID;
    it reads like Slack's mention in the same sentence ("you are <@U123> on host …")."""
    return "the local shell user" if user_id == LOCAL_USER else user_id


def plain_refs(text: str) -> str:
    """`text` with its refs as plain text (the shell; code blocks and files elsewhere)."""
    return render_refs(text, user=plain_user, channel=str)
