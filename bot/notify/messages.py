"""Notifications as Slack messages: a headline, the facts an operator acts on, the masked log tail, and
Logs / Inspect / Restart buttons that re-enter the router like any command (policy, confirmation, audit)."""

from __future__ import annotations

import json
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


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _facts(note: Notification) -> str:
    facts = [f"*host* {note.host}", f"*image* `{_escape(note.image or '?')}`"]
    if note.exit_code is not None:
        facts.append(f"*exit code* {note.exit_code}")
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
    """The Block Kit message of one notification (≤ 6 blocks, every text within Slack's limits)."""
    headline = f"{_EMOJI.get(note.kind, ':information_source:')} *{_escape(note.summary)}*"
    blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text=headline[:3000]))]
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_facts(note)[:3000])]))
    if note.health_output:
        probe = _escape(note.health_output.strip())[:1200]
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*last health probe*\n```{probe}```")))
    if note.log_tail:
        tail = _escape("\n".join(note.log_tail[-LOG_LINES_SHOWN:]).replace("```", "ˋˋˋ"))[-2600:]
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*last log lines*\n```{tail}```")))
    if note.kind not in ("image_removed",) and note.container:
        name = note.container
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
    """One outbox message per routed channel; deaths of a burst coalesce into a digest per host."""
    group = f"{note.kind}:{note.host}" if note.kind in _GROUP_TITLES else None
    title = f"{_GROUP_TITLES[note.kind]} on {note.host}" if note.kind in _GROUP_TITLES else "notifications"
    return [
        OutgoingMessage(
            channel=channel,
            text=note.summary[:300],
            blocks=notification_blocks(note),
            dedupe_key=f"{note.dedupe_key}@{channel}",
            group=group,
            digest_line=note.digest_line,
            digest_title=title,
            thread_key=f"{note.thread_key}@{channel}" if note.thread_key else None,
            episode_key=f"{note.episode_key}@{channel}" if note.episode_key else None,
            update_key=f"{note.update_key}@{channel}" if note.update_key else None,
        )
        for channel in note.channels
    ]
