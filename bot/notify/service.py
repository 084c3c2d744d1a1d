"""Notifications while the bot serves Slack: one watcher per host → rules → outbox → the routed channels."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from slack_sdk import WebClient

from bot.engine import Host
from bot.notify.events import Notification
from bot.notify.messages import outgoing_messages
from bot.notify.outbox import Outbox, OutgoingMessage
from bot.notify.rules import Rules
from bot.notify.watcher import HostWatcher, SqliteCursorStore, start_watchers
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)


class NotificationService:
    """Started by `run` when `[[notify.routes]]` exist; stopped with the bot."""

    def __init__(self, settings: Settings, hosts: Sequence[Host]) -> None:
        self.settings = settings
        self.hosts = tuple(hosts)
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        # no RateLimitErrorRetryHandler here: the outbox paces channels and honours Retry-After itself
        self.client = WebClient(token=token, base_url=settings.slack_api_url, timeout=10)
        self.outbox = Outbox(settings.chatops_state_path, self.client)
        self.mutes = Store(settings.chatops_state_path)
        self.rules = Rules(settings.file.notify, mutes=self.mutes)
        self.watchers: list[HostWatcher] = []
        self.cursors: SqliteCursorStore | None = None

    def deliver(self, note: Notification) -> None:
        """The watchers' sink: queue the notification for every channel it is routed to."""
        for message in outgoing_messages(note):
            self.outbox.enqueue(message)

    def send_test(self, user_id: str) -> list[str]:
        """`notify test`: one test message to every routed channel; returns the channels."""
        channels = sorted({route.channel for route in self.settings.file.notify.routes})
        stamp = f"{time.time():.6f}"
        for channel in channels:
            self.outbox.enqueue(
                OutgoingMessage(
                    channel=channel,
                    text=f":bell: test notification from docker-chatops, asked by <@{user_id}>",
                    dedupe_key=f"test:{stamp}:{channel}",
                )
            )
        return channels

    def start(self) -> None:
        """Start the outbox (re-sending what was pending), then one watcher per host."""
        self.outbox.start()
        self.watchers, self.cursors = start_watchers(
            self.hosts, self.rules, self.deliver, self.settings.chatops_state_path
        )
        routes = len(self.settings.file.notify.routes)
        log.info("notifications: %d route(s), watching %s", routes, ", ".join(h.name for h in self.hosts))

    def stop(self) -> None:
        """Stop the watchers, then the outbox (what is still pending is sent after the next start)."""
        for watcher in self.watchers:
            watcher.stop()
        if self.cursors is not None:
            self.cursors.close()
        self.outbox.stop(5.0)
        self.mutes.close()
