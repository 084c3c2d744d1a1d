"""SQLite state in one file (`CHATOPS_STATE_PATH`): what must survive a restart or be shared by threads.

Today: signatures of Slack requests already served, so a replayed request is refused. Later steps add the
audit log, pending confirmations, event cursors and the notification outbox to the same file.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

REPLAY_WINDOW = 300.0  # Slack refuses timestamps older than 5 minutes; keep signatures a little longer
_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen_requests (
    signature TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_requests_seen_at ON seen_requests (seen_at);
"""


class Store:
    """One SQLite connection shared under a lock (WAL mode, so readers in other processes never block)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser()
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._inserts = 0

    def remember_request(self, signature: str, now: float | None = None) -> bool:
        """Record a verified request's signature; False when it was already seen (a replay)."""
        now = time.time() if now is None else now
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO seen_requests (signature, seen_at) VALUES (?, ?)", (signature, now)
            )
            self._inserts += 1
            if self._inserts % 500 == 0:
                self._db.execute("DELETE FROM seen_requests WHERE seen_at < ?", (now - 2 * REPLAY_WINDOW,))
            return cursor.rowcount == 1

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
