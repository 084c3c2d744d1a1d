"""What notifications keep: mutes, and each watcher's cursor, rule memory, known states and the
notifications a checkpoint saved that the sink has not taken yet (`notify_inflight`).

A checkpoint is one transaction: the notifications it holds are durable before the watcher hands them to
the sink, and the cursor moves past their events in the same commit (see bot/notify/watcher.py).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.models import ContainerState, Notification
from bot.store.db import Tables, connect

log = logging.getLogger(__name__)

EventKey = tuple[str, str, int]  # (id, Action, timeNano): `DockerEvent.key`


class Mutes(Tables):
    """The notify_mutes table (a part of `Store`)."""

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


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What changed since the last save, taken together under the watcher's lock so it is one moment:
    the events after `cursor` are exactly those the saved states and rule memory have not seen yet."""

    states: list[ContainerState]
    removed: list[str]
    rules: str | None  # None: unchanged
    cursor: int | None  # None: unchanged
    at_cursor: list[EventKey] | None = None  # with a new cursor: the events handled at its timeNano
    # the notifications made up to this moment and not saved before (sequence number, un-enriched note)
    notes: list[tuple[int, Notification]] = field(default_factory=list)
    settled: list[int] = field(default_factory=list)  # sequence numbers the sink has taken since

    def __bool__(self) -> bool:
        return (
            bool(self.states or self.removed or self.notes or self.settled)
            or self.rules is not None
            or self.cursor is not None
        )


class SqliteCursorStore:
    """`CursorStore` and `StateStore` in the bot's SQLite file: tables notify_cursor, notify_rules,
    notify_states and notify_inflight."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = connect(self.path, isolation_level="DEFERRED")

    def get(self, host: str) -> int | None:
        """The last timeNano read from `host`, or None."""
        with self._lock:
            row = self._db.execute("SELECT time_nano FROM notify_cursor WHERE host = ?", (host,)).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def put(self, host: str, time_nano: int) -> None:
        """Remember the last timeNano read from `host`."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO notify_cursor (host, time_nano, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (host) DO UPDATE SET time_nano = excluded.time_nano,"
                " updated_at = excluded.updated_at",
                (host, time_nano, time.time()),
            )

    def forget_cursor(self, host: str) -> None:
        """Drop the stream position but keep the states (what a daemon restart amounts to)."""
        with self._lock, self._db:
            self._db.execute("UPDATE notify_cursor SET time_nano = NULL WHERE host = ?", (host,))

    def load_states(self, host: str) -> dict[str, ContainerState] | None:
        """The states saved for `host`, or None when this host was never saved."""
        with self._lock:
            known = self._db.execute("SELECT 1 FROM notify_cursor WHERE host = ?", (host,)).fetchone()
            rows = self._db.execute(
                "SELECT id, name, image, state, health, exit_code, created, labels FROM notify_states"
                " WHERE host = ?",
                (host,),
            ).fetchall()
        if known is None and not rows:
            return None
        states: dict[str, ContainerState] = {}
        for cid, name, image, state, health, exit_code, created, labels in rows:
            try:
                parsed = json.loads(labels)
            except ValueError:
                parsed = {}
            states[cid] = ContainerState(cid, name, image, state, health, exit_code, created, parsed)
        return states

    def load_rules(self, host: str) -> tuple[str | None, list[EventKey]]:
        """The rules' memory saved for `host` (or None) and the events handled at the cursor's timeNano."""
        with self._lock:
            row = self._db.execute(
                "SELECT memory, at_cursor FROM notify_rules WHERE host = ?", (host,)
            ).fetchone()
        if row is None:
            return None, []
        try:
            keys = [(str(i), str(a), int(t)) for i, a, t in json.loads(row[1] or "[]")]
        except (ValueError, TypeError):
            keys = []
        return (str(row[0]) if row[0] is not None else None), keys

    def load_inflight(self, host: str) -> list[tuple[int, Notification]]:
        """The saved notifications the sink has not taken yet, oldest first; unreadable ones are deleted."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, note FROM notify_inflight WHERE host = ? ORDER BY seq", (host,)
            ).fetchall()
        found: list[tuple[int, Notification]] = []
        unreadable: list[tuple[str, int]] = []
        for seq, text in rows:
            try:
                found.append((int(seq), Notification.from_json(str(text))))
            except ValueError as exc:
                log.warning("notify: ignoring %s", exc)
                unreadable.append((host, int(seq)))
        if unreadable:
            with self._lock, self._db:
                self._db.executemany("DELETE FROM notify_inflight WHERE host = ? AND seq = ?", unreadable)
        return found

    def inflight_count(self, host: str) -> int:
        """How many saved notifications of `host` the sink has not taken yet."""
        with self._lock:
            row = self._db.execute("SELECT COUNT(*) FROM notify_inflight WHERE host = ?", (host,)).fetchone()
        return int(row[0])

    def checkpoint(self, host: str, changes: Checkpoint) -> None:
        """Upsert states, delete removals, replace the rules' memory, move the cursor, add the new
        notifications and drop the settled ones, in one transaction; marks the host as saved."""
        rows = [
            (host, s.id, s.name, s.image, s.state, s.health, s.exit_code, s.created, s.labels_json())
            for s in changes.states
        ]
        now = time.time()
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO notify_inflight VALUES (?, ?, ?, ?)",
                [(host, seq, note.to_json(), now) for seq, note in changes.notes],
            )
            self._db.executemany(
                "DELETE FROM notify_inflight WHERE host = ? AND seq = ?", [(host, n) for n in changes.settled]
            )
            self._db.executemany(
                "DELETE FROM notify_states WHERE host = ? AND id = ?", [(host, i) for i in changes.removed]
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO notify_states VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
            if changes.rules is not None or changes.at_cursor is not None:
                at_cursor = json.dumps(changes.at_cursor) if changes.at_cursor is not None else None
                self._db.execute(
                    "INSERT INTO notify_rules (host, memory, at_cursor) VALUES (?, ?, ?)"
                    " ON CONFLICT (host) DO UPDATE SET memory = coalesce(excluded.memory, memory),"
                    " at_cursor = coalesce(excluded.at_cursor, at_cursor)",
                    (host, changes.rules, at_cursor),
                )
            self._db.execute(
                "INSERT INTO notify_cursor (host, time_nano, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (host) DO UPDATE SET time_nano = coalesce(excluded.time_nano, time_nano),"
                " updated_at = excluded.updated_at",
                (host, changes.cursor, now),
            )

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()
