"""Notifications as outbox messages: one per routed channel, with the blocks `bot.render.blocks.notification`
builds, and the keys that make a burst a digest and a restart loop one message that keeps count.

A restart loop is one message that keeps count: each later restart of the episode (`restart_loop_update`)
is an edit of the episode's message, not a reply. The edit replaces only its headline, facts and buttons
(the log lines of the first crashes stay), and all edits of one episode share a merge key, so the outbox
keeps only the newest unsent one and sends at most one per merge interval; the recovery edit shares that
key too, so a counter still waiting can never overwrite "recovered".
"""

from __future__ import annotations

from bot.models import Notification
from bot.notify.outbox import OutgoingMessage
from bot.render.blocks.notification import fallback_text, notification_blocks

_GROUP_TITLES = {
    "died": "containers died",
    "oom": "containers were OOM-killed",
    "unhealthy": "containers unhealthy",
}


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
            text=fallback_text(note),
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
