"""Notifications as Slack messages: a headline, the facts an operator acts on, the masked log tail, and
Logs / Inspect / Restart buttons that re-enter the router like any command (policy, confirmation, audit).

A restart loop is one message that keeps count: each later restart of the episode (`restart_loop_update`)
is an edit of the episode's message, not a reply. The edit replaces only its headline, facts and buttons
(the log lines of the first crashes stay), and all edits of one episode share a merge key, so the outbox
keeps only the newest unsent one and sends at most one per merge interval; the recovery edit shares that
key too, so a counter still waiting can never overwrite "recovered". What a container printed, its names
and its image are escaped (`&`, `<`, `>`) everywhere they appear.
"""

from __future__ import annotations

import json
import re
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.notify.events import Notification
from bot.notify.outbox import OutgoingMessage
from bot.references import CONTAINER_NAME
from bot.render.blocks import escape_clipped, escape_mrkdwn

_EMOJI = {
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
_GROUP_TITLES = {
    "died": "containers died",
    "oom": "containers were OOM-killed",
    "unhealthy": "containers unhealthy",
}
LOG_LINES_SHOWN = 10
_FULL_ID = re.compile(r"^[0-9a-f]{64}$")


def _escape(text: str) -> str:
    return escape_mrkdwn(text)


def button_reference(note: Notification) -> str | None:
    """How the buttons name the container in the commands they run: its name when it is a valid container
    name (so the command reads as typed), else its full ID; None when neither is safe to put in a command."""
    if CONTAINER_NAME.fullmatch(note.container):
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


def _facts(note: Notification) -> str:
    facts = [f"*host* {_escape(note.host)}", f"*image* `{_escape(note.image or '?')}`"]
    if note.exit_code is not None:
        label = "last exit code" if note.kind == "restart_loop_update" else "exit code"
        facts.append(f"*{label}* {note.exit_code}")
    if note.kind in ("died", "oom") or note.oom_killed:
        facts.append(f"*OOMKilled* {'yes' if note.oom_killed else 'no'}")
    if note.restart_count is not None:
        facts.append(f"*restarts* {note.restart_count}")
    return " · ".join(facts)


def _button(label: str, action_id: str, text: str, host: str) -> ButtonElement:
    return ButtonElement(
        text=label, action_id=action_id, value=json.dumps({"text": text, "host": host}, separators=(",", ":"))
    )


def notification_blocks(note: Notification) -> list[dict[str, Any]]:
    """The Block Kit message of one notification (≤ 6 blocks, every text within Slack's limits).

    Every block has a `block_id` (headline, facts, probe, logs, notify), so an edit can replace some of
    them and keep the others.
    """
    line = f"{_EMOJI.get(note.kind, ':information_source:')} *{escape_clipped(headline(note), 2900)}*"
    blocks: list[Any] = [SectionBlock(block_id="headline", text=MarkdownTextObject(text=line))]
    blocks.append(ContextBlock(block_id="facts", elements=[MarkdownTextObject(text=_facts(note)[:3000])]))
    if note.health_output:
        probe = escape_clipped(note.health_output.strip(), 1200)
        text = f"*last health probe*\n```{probe}```"
        blocks.append(SectionBlock(block_id="probe", text=MarkdownTextObject(text=text)))
    if note.log_tail:
        tail = escape_clipped(
            "\n".join(note.log_tail[-LOG_LINES_SHOWN:]).replace("```", "ˋˋˋ"), 2600, keep_end=True
        )
        text = f"*last log lines*\n```{tail}```"
        blocks.append(SectionBlock(block_id="logs", text=MarkdownTextObject(text=text)))
    name = button_reference(note)
    if note.kind not in ("image_removed",) and name is not None:
        blocks.append(
            ActionsBlock(
                block_id="notify",
                elements=[
                    _button("Logs", "run_logs", f"logs {name} --tail 50", note.host),
                    _button("Inspect", "run_inspect", f"inspect {name}", note.host),
                    _button("Restart", "run_restart", f"restart {name}", note.host),
                ],
            )
        )
    return [block.to_dict() for block in blocks]


def outgoing_messages(note: Notification) -> list[OutgoingMessage]:
    """One outbox message per routed channel; deaths of a burst coalesce into a digest per host; a restart
    loop's later restarts edit its message (the newest count wins, one edit per merge interval)."""
    group = f"{note.kind}:{note.host}" if note.kind in _GROUP_TITLES else None
    title = f"{_GROUP_TITLES[note.kind]} on {note.host}" if note.kind in _GROUP_TITLES else "notifications"
    counter = note.kind == "restart_loop_update"
    # The episode's message (opened by episode_key) is what its counter edits and its recovery edit.
    edited = (note.thread_key if counter else None) or note.update_key
    blocks = notification_blocks(note)
    return [
        OutgoingMessage(
            channel=channel,
            text=escape_clipped(headline(note), 300),
            blocks=blocks,
            dedupe_key=f"{note.dedupe_key}@{channel}",
            group=group,
            digest_line=note.digest_line,
            digest_title=title,
            thread_key=f"{note.thread_key}@{channel}" if note.thread_key and not counter else None,
            episode_key=f"{note.episode_key}@{channel}" if note.episode_key else None,
            update_key=f"{edited}@{channel}" if edited else None,
            merge_key=f"{edited}@{channel}" if edited else None,
            keep_blocks=counter,
        )
        for channel in note.channels
    ]
