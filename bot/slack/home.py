"""App Home: ask the router for every host's dashboard (as the user who opened the tab) and publish the view
that bot.render.blocks.home builds."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.models import DiskUsageResult, ImagesResult, PsResult, Reply
from bot.render.blocks.home import HostDashboard, home_view
from bot.router import Invocation, Router

log = logging.getLogger(__name__)
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


def host_dashboard(router: Router, host: str, user_id: str) -> HostDashboard:
    """Ask the router, as `user_id`, what one host's dashboard shows (policy applies as typed)."""

    def ask(text: str) -> Reply:
        return router.handle(
            Invocation(text=text, user_id=user_id, channel_id="app_home", host=host, source="home")
        )

    ps = ask("ps -a")
    listing = _first(ps)
    if not isinstance(listing, PsResult):
        return HostDashboard(host=host, problem=ps.problem.message if ps.problem else "no answer")
    images = _first(ask("images"))
    disk = _first(ask("system df"))
    return HostDashboard(
        host=host,
        ps=listing,
        images=images if isinstance(images, ImagesResult) else None,
        disk=disk if isinstance(disk, DiskUsageResult) else None,
    )


def publish_home(client: WebClient, router: Router, user_id: str) -> None:
    """Build every host's dashboard and publish it as the user's App Home."""
    view = home_view([host_dashboard(router, host, user_id) for host in router.engines])
    client.views_publish(user_id=user_id, view=view)
