"""SQLite state in one file (`CHATOPS_STATE_PATH`): what must survive a restart or be shared by threads.

Signatures of Slack requests already served (a replay is refused), pending plans awaiting confirmation or
approval (single-use, expiring, bound to the requester), and the audit log of every decision.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPLAY_WINDOW = 300.0  # Slack refuses timestamps older than 5 minutes; keep signatures a little longer
_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen_requests (
    signature TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_requests_seen_at ON seen_requests (seen_at);
CREATE TABLE IF NOT EXISTS pending_plans (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    host TEXT NOT NULL,
    text TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    approval TEXT NOT NULL,
    groups TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    team_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    source TEXT NOT NULL,
    host TEXT NOT NULL,
    text TEXT NOT NULL,
    decision TEXT NOT NULL,
    rule TEXT NOT NULL,
    plan_hash TEXT,
    outcome TEXT NOT NULL,
    duration REAL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS audit_user ON audit (user_id, id);
CREATE TABLE IF NOT EXISTS notify_mutes (
    host TEXT NOT NULL,
    container TEXT NOT NULL,
    until REAL NOT NULL,
    muted_by TEXT NOT NULL,
    PRIMARY KEY (host, container)
);
"""


_AUDIT_FINISH = (
    "UPDATE audit SET decision = ?, rule = ?, outcome = ?, duration = ?, plan_hash = ?, error = ?"
    " WHERE id = ?"
)
_AUDIT_FINISH_IF_RUNNING = _AUDIT_FINISH + " AND outcome = 'running'"


@dataclass(frozen=True, slots=True)
class PendingPlan:
    """A plan shown with Confirm (or Approve) buttons, waiting for its one click."""

    id: str
    team_id: str
    user_id: str
    channel_id: str
    host: str
    text: str
    plan_hash: str
    approval: str
    groups: str
    created_at: float
    expires_at: float
    state: str
    decided_by: str | None = None


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One decision: who asked what where, what was decided and why, what happened."""

    id: int
    at: float
    team_id: str
    user_id: str
    channel_id: str
    source: str
    host: str
    text: str
    decision: str
    rule: str
    plan_hash: str | None
    outcome: str
    duration: float | None
    error: str | None

    def as_dict(self) -> dict[str, object]:
        """The row as plain JSON-ready data."""
        return {name: getattr(self, name) for name in self.__slots__}


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

    # ---- pending plans -------------------------------------------------------------------------------

    def create_pending(
        self,
        *,
        team_id: str,
        user_id: str,
        channel_id: str,
        host: str,
        text: str,
        plan_hash: str,
        approval: str,
        groups: str = "",
        ttl: float,
        now: float | None = None,
    ) -> PendingPlan:
        """Store a plan awaiting its click; its id is an unguessable token."""
        now = time.time() if now is None else now
        plan = PendingPlan(
            id=secrets.token_urlsafe(18),
            team_id=team_id,
            user_id=user_id,
            channel_id=channel_id,
            host=host,
            text=text,
            plan_hash=plan_hash,
            approval=approval,
            groups=groups,
            created_at=now,
            expires_at=now + ttl,
            state="pending",
        )
        columns = [getattr(plan, name) for name in PendingPlan.__slots__]
        with self._lock:
            self._db.execute(f"INSERT INTO pending_plans VALUES ({', '.join('?' * len(columns))})", columns)  # noqa: S608 - placeholders only
        return plan

    def pending(self, plan_id: str) -> PendingPlan | None:
        """The pending plan with this id, in whatever state it is."""
        with self._lock:
            row = self._db.execute("SELECT * FROM pending_plans WHERE id = ?", (plan_id,)).fetchone()
        return PendingPlan(*row) if row else None

    def settle_pending(self, plan_id: str, state: str, decided_by: str, now: float | None = None) -> bool:
        """Move a pending, unexpired plan to `state` (used, cancelled); False if anyone got there first."""
        now = time.time() if now is None else now
        with self._lock:
            cursor = self._db.execute(
                "UPDATE pending_plans SET state = ?, decided_by = ? "
                "WHERE id = ? AND state = 'pending' AND expires_at > ?",
                (state, decided_by, plan_id, now),
            )
            return cursor.rowcount == 1

    # ---- audit -------------------------------------------------------------------------------------------

    def audit_start(
        self, *, team_id: str, user_id: str, channel_id: str, source: str, host: str, text: str
    ) -> int:
        """Open the audit row of one invocation (outcome "running"); returns its id."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO audit (at, team_id, user_id, channel_id, source, host, text,"
                " decision, rule, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', '', 'running')",
                (time.time(), team_id, user_id, channel_id, source, host, text),
            )
            return int(cursor.lastrowid or 0)

    def audit_finish(
        self,
        row_id: int,
        *,
        decision: str,
        rule: str,
        outcome: str,
        duration: float,
        plan_hash: str | None = None,
        error: str | None = None,
        only_if_running: bool = False,
    ) -> None:
        """Record how the invocation ended (a timeout marks it, the late result then overwrites it)."""
        query = _AUDIT_FINISH_IF_RUNNING if only_if_running else _AUDIT_FINISH
        with self._lock:
            self._db.execute(query, (decision, rule, outcome, duration, plan_hash, error, row_id))

    def audit_rows(self, *, user_id: str | None = None, limit: int = 20) -> list[AuditRow]:
        """The newest audit rows, optionally of one user."""
        query = "SELECT * FROM audit"
        params: tuple[object, ...] = ()
        if user_id:
            query += " WHERE user_id = ?"
            params = (user_id,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id DESC LIMIT ?", (*params, limit)).fetchall()
        return [AuditRow(*row) for row in rows]

    def audit_export(self) -> Iterator[AuditRow]:
        """Every audit row, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM audit ORDER BY id").fetchall()
        for row in rows:
            yield AuditRow(*row)

    # ---- notification mutes ---------------------------------------------------------------------------

    def mute(self, host: str, container: str, until: float, muted_by: str) -> None:
        """Silence notifications about `container` on `host` until `until` (Unix seconds)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO notify_mutes VALUES (?, ?, ?, ?)", (host, container, until, muted_by)
            )

    def unmute(self, host: str, container: str) -> bool:
        """Lift a mute; False when there was none."""
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM notify_mutes WHERE host = ? AND container = ?", (host, container)
            )
            return cursor.rowcount == 1

    def is_muted(self, host: str, container: str) -> bool:
        """True while a mute on this container holds (the notification rules ask this)."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM notify_mutes WHERE host = ? AND container = ? AND until > ?",
                (host, container, time.time()),
            ).fetchone()
        return row is not None

    def mutes(self) -> list[tuple[str, str, float, str]]:
        """Mutes still in force: (host, container, until, muted_by)."""
        with self._lock:
            return list(
                self._db.execute(
                    "SELECT host, container, until, muted_by FROM notify_mutes"
                    " WHERE until > ? ORDER BY until",
                    (time.time(),),
                ).fetchall()
            )

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
