"""App Home: one dashboard per host, built from the same router answers as `/docker ps -a` and `system df`."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.models import DiskUsageResult, ImagesResult, PsResult, Reply
from bot.render.result import render_result
from bot.router import Invocation, Router

log = logging.getLogger(__name__)
MAX_LISTED = 10
MAX_HOME_BLOCKS = 100
FRESH_FOR = 10.0  # seconds a published dashboard counts as current: opening the tab again publishes nothing


class HomeGate:
    """At most one dashboard build per user at a time, and none while the last one is still fresh.

    Slack sends `app_home_opened` on every visit to the tab (and again on retries); each build costs a few
    Engine API calls per host, so clicking around must not turn into a queue of identical builds.
    """

    def __init__(self, fresh_for: float = FRESH_FOR, clock: Callable[[], float] = time.monotonic) -> None:
        self.fresh_for = fresh_for
        self.clock = clock
        self._lock = threading.Lock()
        self._building: set[str] = set()
        self._built: dict[str, float] = {}

    def claim(self, user_id: str) -> bool:
        """True when a build for `user_id` should start now (then `release` it when done)."""
        now = self.clock()
        with self._lock:
            if user_id in self._building or now - self._built.get(user_id, -math.inf) < self.fresh_for:
                return False
            if len(self._built) > 10_000:  # forget stale entries rather than grow with every user ever seen
                self._built = {u: t for u, t in self._built.items() if now - t < self.fresh_for}
            self._building.add(user_id)
            return True

    def release(self, user_id: str, *, published: bool) -> None:
        """The build for `user_id` ended; a published one stays fresh for `fresh_for` seconds."""
        with self._lock:
            self._building.discard(user_id)
            if published:
                self._built[user_id] = self.clock()


def _first(reply: Reply) -> Any:
    return reply.steps[0].result if reply.steps else None


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def host_blocks(router: Router, host: str, user_id: str) -> list[Block]:
    """The dashboard section of one host: containers by state, trouble, images and reclaimable space."""
    blocks: list[Block] = [HeaderBlock(text=f"Docker on {host}"[:150])]

    def ask(text: str) -> Reply:
        return router.handle(
            Invocation(text=text, user_id=user_id, channel_id="app_home", host=host, source="home")
        )

    ps = ask("ps -a")
    result = _first(ps)
    if not isinstance(result, PsResult):
        message = ps.problem.message if ps.problem else "no answer"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f":warning: {_escape(message)}"[:3000])))
        return blocks
    summary = render_result(result).summary or ""
    blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*Containers:* {_escape(summary)}")))
    trouble = [
        row
        for row in result.rows
        if row.health == "unhealthy" or row.state == "restarting" or (row.exit_code or 0) != 0
    ]
    if trouble:
        lines = [f"• `{_escape(row.name)}` — {_escape(row.status)}" for row in trouble[:MAX_LISTED]]
        if len(trouble) > MAX_LISTED:
            lines.append(f"…and {len(trouble) - MAX_LISTED} more: `/docker ps -a -f status=exited`")
        blocks.append(SectionBlock(text=MarkdownTextObject(text="*Needs attention:*\n" + "\n".join(lines))))
    for text, kind in (("images", ImagesResult), ("system df", DiskUsageResult)):
        answer = _first(ask(text))
        if isinstance(answer, kind):
            label = "Images" if kind is ImagesResult else "Disk"
            line = render_result(answer).summary or ""
            blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{label}:* {_escape(line)}")))
    return blocks


def publish_home(client: WebClient, router: Router, user_id: str) -> None:
    """Build every host's dashboard and publish it as the user's App Home (≤ 100 blocks)."""
    blocks: list[Block] = []
    for host in router.engines:
        if blocks:
            blocks.append(DividerBlock())
        blocks.extend(host_blocks(router, host, user_id))
    blocks = blocks[: MAX_HOME_BLOCKS - 1]
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text="Type `/docker help` in any channel for commands.")])
    )
    view = {"type": "home", "blocks": [block.to_dict() for block in blocks]}
    client.views_publish(user_id=user_id, view=view)
