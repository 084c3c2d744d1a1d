"""The outbox's tables: `outbox_messages` (the per-channel queues of Slack messages, each row in one state)
and `outbox_episodes` (the messages posted for each episode key: ts, whether a digest, blocks shown).

`OutboxTables` is every read and write of them, typed; `bot.notify.outbox.Outbox` decides whose turn it is
and talks to Slack. The tables have their own connection to the state file (the outbox's senders share it
under the outbox's lock, which the caller holds around every call here); `transaction` makes several
calls one commit.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bot.store.db import connect

PENDING, SENDING, SENT, FAILED, UNKNOWN = "pending", "sending", "sent", "failed", "unknown"
MERGED = "merged"  # retired unsent by a newer version with the same merge key
STATES = (PENDING, SENDING, SENT, FAILED, UNKNOWN, MERGED)
SETTLED = (SENT, FAILED, UNKNOWN, MERGED)

_COLUMNS = (
    "id, channel, text, blocks, group_key, digest_line, digest_title, thread_key, episode_key, update_key,"
    " attempts, enqueued_at, priority, merge_key, keep_blocks"
)

Blocks = list[dict[str, Any]]


class Queued(Protocol):
    """What the table keeps of a message to send (`bot.notify.outbox.OutgoingMessage` is one)."""

    @property
    def channel(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def dedupe_key(self) -> str: ...
    @property
    def blocks(self) -> Blocks | None: ...
    @property
    def group(self) -> str | None: ...
    @property
    def digest_line(self) -> str: ...
    @property
    def digest_title(self) -> str: ...
    @property
    def thread_key(self) -> str | None: ...
    @property
    def episode_key(self) -> str | None: ...
    @property
    def update_key(self) -> str | None: ...
    @property
    def merge_key(self) -> str | None: ...
    @property
    def keep_blocks(self) -> bool: ...
    @property
    def priority(self) -> int: ...


@dataclass(frozen=True)
class QueuedRow:
    """One row of `outbox_messages` waiting (or being sent), its blocks decoded."""

    id: int
    channel: str
    text: str
    blocks: Blocks | None
    group_key: str | None
    digest_line: str
    digest_title: str
    thread_key: str | None
    episode_key: str | None
    update_key: str | None
    attempts: int
    enqueued_at: float
    priority: int
    merge_key: str | None
    keep_blocks: bool

    @classmethod
    def of(cls, values: Sequence[Any]) -> QueuedRow:
        """The row from its `_COLUMNS` values."""
        fields = list(values)
        fields[3] = json.loads(fields[3]) if fields[3] is not None else None
        fields[14] = bool(fields[14])
        return cls(*fields)

    @property
    def aims(self) -> frozenset[str]:
        """The keys this row's turn depends on: the message it answers or edits, and its merge key."""
        return frozenset(k for k in (self.thread_key, self.update_key, self.merge_key) if k is not None)


@dataclass(frozen=True)
class Episode:
    """The message remembered under an episode key: where and when (ts) it was posted, and its blocks."""

    channel: str
    ts: str
    is_digest: bool
    blocks: Blocks | None


def _json(blocks: Blocks | None) -> str | None:
    return json.dumps(blocks) if blocks is not None else None


class OutboxTables:
    """The outbox's rows on their own connection to the state file; the caller serializes the calls."""

    def __init__(self, path: Path | str) -> None:
        self._db = connect(path)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The calls inside as one commit (rolled back if one raises)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ---- queuing -----------------------------------------------------------------------------------------

    def insert(self, message: Queued, now: float) -> int | None:
        """Queue `message` as pending; its row id, or None (nothing queued) when its dedupe key is known."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO outbox_messages (dedupe_key, channel, text, blocks, group_key,"
            " digest_line, digest_title, thread_key, episode_key, update_key, state, enqueued_at,"
            " priority, merge_key, keep_blocks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                message.dedupe_key,
                message.channel,
                message.text,
                _json(message.blocks),
                message.group,
                message.digest_line,
                message.digest_title,
                message.thread_key,
                message.episode_key,
                message.update_key,
                PENDING,
                now,
                message.priority,
                message.merge_key,
                int(message.keep_blocks),
            ),
        )
        return int(cursor.lastrowid or 0) if cursor.rowcount == 1 else None

    def retire_versions(self, merge_key: str, channel: str, before: int, into: str, now: float) -> None:
        """Mark the pending rows of `merge_key` in `channel` older than row `before` merged into `into`."""
        self._db.execute(
            "UPDATE outbox_messages SET state = ?, done_at = ?, error = ?"
            " WHERE merge_key = ? AND channel = ? AND state = ? AND id < ?",
            (MERGED, now, f"merged into {into}", merge_key, channel, PENDING, before),
        )

    def strand_sending(self, now: float, error: str) -> list[str]:
        """Mark every row left `sending` (by a run that ended inside a Slack call) `unknown` with `error`;
        returns their dedupe keys, oldest first."""
        stranded = self._db.execute(
            "SELECT dedupe_key FROM outbox_messages WHERE state = ? ORDER BY id", (SENDING,)
        ).fetchall()
        self._db.execute(
            "UPDATE outbox_messages SET state = ?, done_at = ?, error = ? WHERE state = ?",
            (UNKNOWN, now, error, SENDING),
        )
        return [str(key) for (key,) in stranded]

    def prune(self, horizon: float) -> None:
        """Forget settled messages (and so their dedupe keys) and episodes from before `horizon`."""
        marks = ", ".join("?" * len(SETTLED))
        self._db.execute(
            f"DELETE FROM outbox_messages WHERE state IN ({marks}) AND done_at < ?",  # noqa: S608 - placeholders
            (*SETTLED, horizon),
        )
        self._db.execute("DELETE FROM outbox_episodes WHERE at < ?", (horizon,))

    # ---- reading -----------------------------------------------------------------------------------------

    def pending_channels(self) -> list[str]:
        """The channels with pending rows, the one with the oldest first."""
        rows = self._db.execute(
            "SELECT channel FROM outbox_messages WHERE state = ? GROUP BY channel ORDER BY MIN(id)",
            (PENDING,),
        ).fetchall()
        return [str(channel) for (channel,) in rows]

    def count(self, *states: str) -> int:
        """How many rows are in any of `states`."""
        marks = ", ".join("?" * len(states))
        query = f"SELECT COUNT(*) FROM outbox_messages WHERE state IN ({marks})"  # noqa: S608 - placeholders
        return int(self._db.execute(query, states).fetchone()[0])

    def counts(self) -> dict[str, int]:
        """How many rows are in each state (every state named, zero included)."""
        rows = self._db.execute("SELECT state, COUNT(*) FROM outbox_messages GROUP BY state").fetchall()
        found = {str(state): int(count) for state, count in rows}
        return {state: found.get(state, 0) for state in STATES}

    def unsent_episodes(self, channel: str) -> dict[str, int]:
        """Episode keys of the channel's rows not yet sent, each with the first row holding it."""
        rows = self._db.execute(
            "SELECT episode_key, MIN(id) FROM outbox_messages WHERE channel = ? AND state IN (?, ?)"
            " AND episode_key IS NOT NULL GROUP BY episode_key",
            (channel, PENDING, SENDING),
        ).fetchall()
        return {str(key): int(first) for key, first in rows}

    def pending_in_turn_order(self, channel: str) -> Generator[QueuedRow, None, None]:
        """The channel's pending rows by priority, then age; read lazily (close the iterator to stop)."""
        query = (
            f"SELECT {_COLUMNS} FROM outbox_messages WHERE channel = ? AND state = ?"  # noqa: S608 - our columns
            " ORDER BY priority, id"
        )
        with closing(self._db.execute(query, (channel, PENDING))) as rows:
            for values in rows:
                yield QueuedRow.of(values)

    def pending_group(self, channel: str, group_key: str, priority: int) -> list[QueuedRow]:
        """The channel's pending rows of one digest group and priority that are not edits, oldest first."""
        query = (
            f"SELECT {_COLUMNS} FROM outbox_messages WHERE channel = ? AND state = ? AND group_key = ?"  # noqa: S608 - our columns
            " AND update_key IS NULL AND priority = ? ORDER BY id"
        )
        rows = self._db.execute(query, (channel, PENDING, group_key, priority)).fetchall()
        return [QueuedRow.of(values) for values in rows]

    def episode(self, key: str) -> Episode | None:
        """The message remembered under episode `key`, if any."""
        row = self._db.execute(
            "SELECT channel, ts, is_digest, blocks FROM outbox_episodes WHERE episode_key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        blocks = json.loads(row[3]) if row[3] is not None else None
        return Episode(str(row[0]), str(row[1]), bool(row[2]), blocks)

    # ---- settling ----------------------------------------------------------------------------------------

    def mark_sending(self, ids: Sequence[int]) -> None:
        """The rows are inside a Slack call now."""
        self._db.executemany("UPDATE outbox_messages SET state = ? WHERE id = ?", [(SENDING, i) for i in ids])

    def mark_sent(self, ids: Sequence[int], ts: str, now: float) -> None:
        """Slack accepted the rows as the message `ts`; they were one call, its batch the first row's id."""
        self._db.executemany(
            "UPDATE outbox_messages SET state = ?, ts = ?, done_at = ?, batch = ?, error = NULL WHERE id = ?",
            [(SENT, ts, now, ids[0], row_id) for row_id in ids],
        )

    def remember_episodes(
        self,
        keys: Sequence[str],
        *,
        channel: str,
        ts: str,
        is_digest: bool,
        blocks: Blocks | None,
        now: float,
    ) -> None:
        """Remember the message `ts` (and the blocks it shows) under each of `keys`."""
        shown = _json(blocks)
        self._db.executemany(
            "INSERT OR REPLACE INTO outbox_episodes VALUES (?, ?, ?, ?, ?, ?)",
            [(key, channel, ts, int(is_digest), now, shown) for key in keys],
        )

    def update_episode_blocks(self, key: str, blocks: Blocks | None) -> None:
        """The message remembered under `key` now shows `blocks` (it was edited)."""
        self._db.execute("UPDATE outbox_episodes SET blocks = ? WHERE episode_key = ?", (_json(blocks), key))

    def back_to_pending(self, ids: Sequence[int]) -> None:
        """The rows wait again, their attempts unchanged (a rate limit is no failed attempt)."""
        self._db.executemany("UPDATE outbox_messages SET state = ? WHERE id = ?", [(PENDING, i) for i in ids])

    def retry_later(self, ids: Sequence[int], error: str) -> None:
        """The rows wait again after a failed attempt, which is counted with its error."""
        self._db.executemany(
            "UPDATE outbox_messages SET state = ?, attempts = attempts + 1, error = ? WHERE id = ?",
            [(PENDING, error, row_id) for row_id in ids],
        )

    def give_up(self, ids: Sequence[int], state: str, error: str, now: float) -> None:
        """The rows are settled unsent (`failed`) or maybe sent (`unknown`) after a last attempt."""
        self._db.executemany(
            "UPDATE outbox_messages SET state = ?, attempts = attempts + 1, error = ?, done_at = ?"
            " WHERE id = ?",
            [(state, error, now, row_id) for row_id in ids],
        )
