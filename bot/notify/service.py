"""Notifications while the bot serves Slack: one watcher per host → rules → outbox → the routed channels."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk import WebClient

from bot.engine import Host
from bot.notify.events import Notification
from bot.notify.messages import outgoing_messages
from bot.notify.outbox import Outbox
from bot.notify.rules import Rules
from bot.notify.watcher import HostWatcher, SqliteCursorStore, start_watchers
from bot.settings import Settings

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
        self.rules = Rules(settings.file.notify)
        self.watchers: list[HostWatcher] = []
        self.cursors: SqliteCursorStore | None = None

    def deliver(self, note: Notification) -> None:
        """The watchers' sink: queue the notification for every channel it is routed to."""
        for message in outgoing_messages(note):
            self.outbox.enqueue(message)

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
