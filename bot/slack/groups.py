"""Slack user-group membership for group-bound roles: `usergroups.users.list`, cached, deny in doubt."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from slack_sdk import WebClient

log = logging.getLogger(__name__)
CACHE_SECONDS = 300.0


class GroupResolver:
    """Which of the policy's user groups a user is in; members are fetched every 5 minutes at most."""

    def __init__(self, group_ids: Iterable[str], ttl: float = CACHE_SECONDS) -> None:
        self.group_ids = tuple(sorted(set(group_ids)))
        self.ttl = ttl
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def groups_of(self, client: WebClient, user_id: str) -> frozenset[str]:
        """The policy's groups that contain `user_id`; a group that cannot be read does not contain it."""
        return frozenset(g for g in self.group_ids if user_id in self._members_of(client, g))

    def _members_of(self, client: WebClient, group_id: str) -> frozenset[str]:
        now = time.monotonic()
        with self._lock:
            cached = self._members.get(group_id)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        try:
            answer = client.usergroups_users_list(usergroup=group_id)
            members = frozenset(str(user) for user in answer.get("users") or ())
        except Exception:
            # a recent answer may stand in briefly; past twice the TTL a group that cannot be read is empty,
            # so someone removed from it does not keep its roles while Slack errors last
            if cached is not None and now - cached[0] < 2 * self.ttl:
                log.warning(
                    "cannot read user group %s; using its members from %.0f s ago", group_id, now - cached[0]
                )
                return cached[1]
            log.warning("cannot read the members of user group %s; treating it as empty", group_id)
            return frozenset()
        with self._lock:
            self._members[group_id] = (now, members)
        return members
