"""Slack requests and deliveries already taken: a replay or a redelivery runs nothing (exactly once)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from bot.store.db import Tables

REPLAY_WINDOW = 300.0  # Slack refuses timestamps older than 5 minutes; keep signatures a little longer
# Slack retries an Events API delivery 3 times within about 5 minutes, and a slash command's response_url
# lives 30 minutes (a redelivery after that could not even answer): an hour covers both with room to spare.
DELIVERY_WINDOW = 3600.0


class Requests(Tables):
    """The seen_requests and seen_deliveries tables (a part of `Store`)."""

    def _sweep_requests(self, now: float) -> None:
        """Forget signatures and deliveries past their windows; lock held."""
        self._db.execute("DELETE FROM seen_requests WHERE seen_at < ?", (now - 2 * REPLAY_WINDOW,))
        self._db.execute("DELETE FROM seen_deliveries WHERE seen_at < ?", (now - DELIVERY_WINDOW,))

    def remember_request(self, signature: str, now: float | None = None) -> bool:
        """Record a verified request's signature; False when it was already seen (a replay)."""
        now = time.time() if now is None else now
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO seen_requests (signature, seen_at) VALUES (?, ?)", (signature, now)
            )
            self._prune(now)
            return cursor.rowcount == 1

    def remember_delivery(self, keys: Sequence[str], now: float | None = None) -> bool:
        """Record a delivery by every key it carries (`envelope:…`, `trigger:…`, `event:…`); False when
        any of them was seen within DELIVERY_WINDOW (a redelivery, which must run nothing). No keys: True."""
        if not keys:
            return True
        now = time.time() if now is None else now
        unique = sorted(set(keys))
        marks = ", ".join("?" * len(unique))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seen = self._db.execute(
                    f"SELECT 1 FROM seen_deliveries WHERE key IN ({marks}) AND seen_at >= ? LIMIT 1",  # noqa: S608 - placeholders only
                    (*unique, now - DELIVERY_WINDOW),
                ).fetchone()
                self._db.executemany(
                    "INSERT OR REPLACE INTO seen_deliveries (key, seen_at) VALUES (?, ?)",
                    [(key, now) for key in unique],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._prune(now)
        return seen is None
