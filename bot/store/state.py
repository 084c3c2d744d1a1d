"""`Store`: the bot's requests, plans, pages, audit and mutes on one connection to the state file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from bot.store.audit import AuditLog
from bot.store.db import connect
from bot.store.notify import Mutes
from bot.store.plans import Plans
from bot.store.requests import Requests

PRUNE_EVERY = 60.0  # seconds between two sweeps of expired rows
_DAY = 86_400.0


class Store(Requests, Plans, AuditLog, Mutes):
    """One SQLite connection shared under a lock (WAL mode, so readers in other processes never block).

    With `audit_retention_days`, audit rows older than that are deleted (at start and then once a minute
    at most, as rows are written); without it they are kept. Seen requests and deliveries and stored
    pages are swept the same way once they expire.
    """

    def __init__(self, path: Path | str, *, audit_retention_days: float | None = None) -> None:
        self.path = Path(path).expanduser()
        self.audit_retention = audit_retention_days * _DAY if audit_retention_days else None
        self._lock = threading.Lock()
        self._db = connect(path)
        self._pruned_at = -PRUNE_EVERY
        self._prune(time.time())

    def _prune(self, now: float) -> None:
        """Delete what has expired; at most once per PRUNE_EVERY seconds. Call with the lock held."""
        if now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        self._sweep_requests(now)
        self._sweep_plans(now)
        self._sweep_audit(now)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
