"""A notification as a Slack message: a headline, the facts an operator acts on, the last health probe, the
masked log tail, and Logs / Inspect / Restart buttons that re-enter the router like any command (policy,
confirmation, audit).

Built within Slack's limits whatever the container is called or prints: Docker accepts 5,000-character names
and probes that print ```, so names and images are clipped, probe output and log lines are escaped for a code
block (a backtick cannot close it), and a button names its container by the full ID when the name is too long
to carry. Every block has a `block_id` (headline, facts, probe, logs, notify), so an edit can replace some of
them and keep the others.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.models import Notification
from bot.references import CONTAINER_NAME
from bot.render.blocks.buttons import ActionId, RunValue, encode_value, fits
from bot.render.blocks.limits import (
    FENCE,
    actions,
    button,
    context,
    enforce_limits,
    escape_clipped,
    escape_code_clipped,
    escape_mrkdwn,
    section,
    slack_length,
)

EMOJI = {
    "died": ":red_circle:",
    "oom": ":boom:",
    "unhealthy": ":large_orange_circle:",
    "restart_loop": ":repeat:",
    "restart_loop_update": ":repeat:",
    "recovered": ":large_green_circle:",
    "started": ":arrow_forward:",
    "stopped": ":black_square_for_stop:",
    "image_removed": ":wastebasket:",
}
LOG_LINES_SHOWN = 10
HEADLINE_MAX = 2900
FACT_MAX = 300  # a host or an image in the facts line
PROBE_MAX = 1200
LOG_TAIL_MAX = 2600
NAME_IN_BUTTON_MAX = 200  # a longer name is carried as the full ID (the command reads less well, but fits)
FALLBACK_MAX = 300
_FULL_ID = re.compile(r"^[0-9a-f]{64}$")


def button_reference(note: Notification) -> str | None:
    """How the buttons name the container in the commands they run: its name when it is a valid container
    name short enough to carry (so the command reads as typed), else its full ID; None when neither is
    safe to put in a command."""
    if CONTAINER_NAME.fullmatch(note.container) and len(note.container) <= NAME_IN_BUTTON_MAX:
        return note.container
    if _FULL_ID.fullmatch(note.container_id):
        return note.container_id
    return None


def headline(note: Notification) -> str:
    """The message's one line, unescaped: the summary, or for a restart loop's later restart the loop's
    headline with the new count (it replaces the episode's headline)."""
    if note.kind == "restart_loop_update":
        return f"{note.container} is in a restart loop ({note.restart_count} restarts)"
    return note.summary


def fallback_text(note: Notification) -> str:
    """The message's `text`: what Slack shows in the notification, escaped and clipped."""
    return escape_clipped(headline(note), FALLBACK_MAX)


def _inline(text: str) -> str:
    """Text for `inline code`: escaped and clipped, backticks neutralised (they would end the span)."""
    return escape_clipped(text.replace("`", "ˋ"), FACT_MAX)


def _facts(note: Notification) -> str:
    facts = [f"*host* {escape_clipped(note.host, FACT_MAX)}", f"*image* `{_inline(note.image or '?')}`"]
    if note.exit_code is not None:
        label = "last exit code" if note.kind == "restart_loop_update" else "exit code"
        facts.append(f"*{label}* {note.exit_code}")
    if note.kind in ("died", "oom") or note.oom_killed:
        facts.append(f"*OOMKilled* {'yes' if note.oom_killed else 'no'}")
    if note.restart_count is not None:
        facts.append(f"*restarts* {note.restart_count}")
    return " · ".join(facts)


def _buttons(note: Notification) -> dict[str, Any] | None:
    """Logs / Inspect / Restart for the container, or None when it cannot be named within the limits."""
    name = button_reference(note)
    if note.kind == "image_removed" or name is None:
        return None
    commands = (
        ("Logs", ActionId.RUN_LOGS, f"logs {name} --tail 50"),
        ("Inspect", ActionId.RUN_INSPECT, f"inspect {name}"),
        ("Restart", ActionId.RUN_RESTART, f"restart {name}"),
    )
    buttons = []
    for label, action_id, text in commands:
        run = RunValue(text, note.host)
        if not fits(action_id, run):  # only a host name from the config this long: no buttons then
            return None
        buttons.append(button(label, action_id, encode_value(action_id, run)))
    return actions(buttons, block_id="notify")


def notification_blocks(note: Notification) -> list[dict[str, Any]]:
    """The Block Kit message of one notification (≤ 5 blocks), checked against Slack's limits."""
    line = f"{EMOJI.get(note.kind, ':information_source:')} *{escape_clipped(headline(note), HEADLINE_MAX)}*"
    blocks = [section(line, block_id="headline"), context(_facts(note), block_id="facts")]
    if note.health_output:
        probe = escape_code_clipped(note.health_output.strip(), PROBE_MAX)
        blocks.append(section(f"*last health probe*\n{FENCE}{probe}{FENCE}", block_id="probe"))
    if note.log_tail:
        tail = escape_code_clipped("\n".join(note.log_tail[-LOG_LINES_SHOWN:]), LOG_TAIL_MAX, keep_end=True)
        blocks.append(section(f"*last log lines*\n{FENCE}{tail}{FENCE}", block_id="logs"))
    buttons = _buttons(note)
    if buttons is not None:
        blocks.append(buttons)
    return enforce_limits(blocks, text=fallback_text(note))


# ---- digests: a burst of notifications in one message -----------------------------------------------------

DIGEST_MAX_CHARS = 3000  # one section's text limit: a digest stays readable and renderable as a block
DIGEST_ENTRY_MAX_CHARS = 300
_DIGEST_RESERVE = 160  # header ("300 containers died on prod in 20 s: ") and footer ("(and 12 more…)")


def format_span(seconds: float) -> str:
    """How long a burst took, the way a person says it: "in under 1 s", "in 20 s", "in 3 min"."""
    whole = round(seconds)
    if whole < 1:
        return "in under 1 s"
    if whole < 120:
        return f"in {whole} s"
    if whole < 7200:
        return f"in {round(whole / 60)} min"
    return f"in {round(whole / 3600)} h"


def digest_entry(line: str) -> str:
    """One member of a digest on one line, at most DIGEST_ENTRY_MAX_CHARS long."""
    flat = " ".join(line.split()) or "?"
    return escape_clipped(flat, DIGEST_ENTRY_MAX_CHARS)  # names and codes are container-controlled text


def digest_fit(entries: Sequence[str], max_chars: int = DIGEST_MAX_CHARS) -> int:
    """How many of `entries` (already passed through digest_entry) fit in one digest message; at least 1."""
    budget = max_chars - _DIGEST_RESERVE
    used = 0
    for count, entry in enumerate(entries):
        used += slack_length(entry) + (2 if count else 0)
        if used > budget and count:
            return count
    return max(1, len(entries))


def digest_text(title: str, entries: Sequence[str], span: float, more: int = 0) -> str:
    """ "17 containers died on prod in 20 s: web-1 (137), web-2 (1), …", and how many more follow."""
    heading = escape_mrkdwn(f"{len(entries)} {title or 'notifications'} {format_span(span)}")
    text = f"{heading}: {', '.join(entries)}"
    if more:
        text += f" (and {more} more in the next message)"
    return text


def digest_blocks(text: str) -> list[dict[str, Any]]:
    """A digest as one verbatim section (nothing auto-linked), checked against Slack's limits."""
    return enforce_limits([section(text, block_id="digest")], text=text)
