"""SQLite state in one file (`CHATOPS_STATE_PATH`): what must survive a restart or be shared by threads.

Signatures of Slack requests already served (a replay is refused), deliveries already taken (a Socket Mode
envelope or a Slack retry carrying a `trigger_id`/`event_id` seen before runs nothing), the rendered pages
of long replies (◀ Prev / Next ▶ show them; nothing runs again), pending plans awaiting confirmation or
approval (single-use, expiring, bound to the requester), and the audit log of every decision.

The file holds the audit and the plan tokens: `open_state_db` creates it, and SQLite its `-wal` and `-shm`,
readable by the bot's user only (0600), and tightens files an older version left readable. Every module
that keeps state in this file opens it through `open_state_db`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.render.mask import mask_secrets

log = logging.getLogger(__name__)

REPLAY_WINDOW = 300.0  # Slack refuses timestamps older than 5 minutes; keep signatures a little longer
# Slack retries an Events API delivery 3 times within about 5 minutes, and a slash command's response_url
# lives 30 minutes (a redelivery after that could not even answer): an hour covers both with room to spare.
DELIVERY_WINDOW = 3600.0
# The pages of a reply live as long as the response_url that posted them (30 minutes): past that the
# answer is stale, and a page click says so instead of showing an old listing.
PAGES_TTL = 1800.0
AUDIT_TEXT_MAX_BYTES = 4096  # of a command's (masked) text in the audit; its length and sha256 are kept
PRUNE_EVERY = 60.0  # seconds between two sweeps of expired rows
AUDIT_MASKED_MAX_CHARS = 16_384  # of an oversized text, what is masked (and hashed) before the cut
PLAN_KEPT_AFTER = 3600.0  # seconds a pending plan stays after it expired (its raw text goes with it)
STATE_FILE_MODE = 0o600
_SIDE_FILES = ("-wal", "-shm", "-journal")
_DAY = 86_400.0
_ELLIPSIS = "…"
_umask_lock = threading.Lock()
IsolationLevel = Literal["DEFERRED", "EXCLUSIVE", "IMMEDIATE"] | None

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen_requests (
    signature TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_requests_seen_at ON seen_requests (seen_at);
CREATE TABLE IF NOT EXISTS seen_deliveries (
    key TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_deliveries_seen_at ON seen_deliveries (seen_at);
CREATE TABLE IF NOT EXISTS reply_pages (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    text TEXT NOT NULL,
    private INTEGER NOT NULL,
    pages TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS reply_pages_expires_at ON reply_pages (expires_at);
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
    error TEXT,
    text_length INTEGER,
    text_sha256 TEXT
);
CREATE INDEX IF NOT EXISTS audit_user ON audit (user_id, id);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
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
_AUDIT_ADDED_COLUMNS = (("text_length", "INTEGER"), ("text_sha256", "TEXT"))


# ---- opening the file safely -------------------------------------------------------------------------------


def _tighten(path: Path) -> None:
    """Make an existing state file (or its -wal/-shm/-journal) readable by its owner only."""
    for file in (path, *(path.with_name(path.name + suffix) for suffix in _SIDE_FILES)):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & ~STATE_FILE_MODE:
            try:
                file.chmod(mode & STATE_FILE_MODE)
            except OSError:
                log.warning("%s is readable by others (mode %o) and cannot be changed", file, mode)


def open_state_db(
    path: Path | str, *, isolation_level: IsolationLevel = None, timeout: float = 10.0
) -> sqlite3.Connection:
    """A connection to the bot's SQLite file, shareable across threads, in WAL mode.

    The file, its `-wal` and `-shm` (and any folder made for it) are created readable by the bot's user
    only: the umask is 077 while SQLite opens them, the file itself is made 0600 before SQLite sees it, and
    files an older version left readable are made 0600. `isolation_level` is sqlite3's (None: autocommit;
    "DEFERRED", sqlite3's default, for `with connection:` transactions).
    """
    name = str(path)
    if name == ":memory:":
        return sqlite3.connect(
            name, check_same_thread=False, isolation_level=isolation_level, timeout=timeout
        )
    file = Path(path).expanduser()
    with _umask_lock:  # the umask is the process's: hold it for as short a time as possible
        previous = os.umask(0o077)
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(file, os.O_RDWR | os.O_CREAT, STATE_FILE_MODE))
            _tighten(file)
            db = sqlite3.connect(
                str(file), check_same_thread=False, isolation_level=isolation_level, timeout=timeout
            )
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # creates the -shm now
            except BaseException:
                db.close()
                raise
        finally:
            os.umask(previous)
    _tighten(file)
    return db


def new_token() -> str:
    """An unguessable id for a button value (a plan, a stored reply): 144 random bits, URL-safe."""
    return secrets.token_urlsafe(18)


# ---- what the audit keeps of a text ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditText:
    """A command's text as the audit keeps it: masked, at most 4 KB, with its full length and digest.

    `length` counts the characters typed; `sha256` is the hex digest of the masked text (UTF-8; of its
    first AUDIT_MASKED_MAX_CHARS characters for longer input), so two long commands can be told apart or
    matched without storing them, and no masked secret can be recovered from the digest.
    """

    text: str
    length: int
    sha256: str

    @classmethod
    def of(cls, text: str) -> AuditText:
        # oversized input (the parser refuses it anyway) is masked and hashed only as far as it is kept-ish:
        # a 1 MiB command costs microseconds, never a full masking pass
        masked = mask_secrets(text[:AUDIT_MASKED_MAX_CHARS])
        digest = hashlib.sha256(masked.encode("utf-8", "surrogatepass")).hexdigest()
        return cls(clip_utf8(masked, AUDIT_TEXT_MAX_BYTES), len(text), digest)


def clip_utf8(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8 (an ellipsis marks a cut; never half a character; lone surrogates
    become U+FFFD, which SQLite can store)."""
    raw = text.encode("utf-8", "replace")
    if len(raw) <= limit:
        return raw.decode("utf-8")
    room = limit - len(_ELLIPSIS.encode())
    return raw[:room].decode("utf-8", "ignore") + _ELLIPSIS


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
    """One decision: who asked what where, what was decided and why, what happened.

    `text` is masked and at most 4 KB; `text_length` and `text_sha256` describe the whole text (see
    `AuditText`; None on rows written before they were recorded).
    """

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
    text_length: int | None = None
    text_sha256: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The row as plain JSON-ready data."""
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class StoredReply:
    """The rendered pages of one long reply, for its ◀ Prev / Next ▶ buttons (nothing is run again).

    `pages` are the door's own serialized messages, opaque here; `text` is the command (masked, capped)
    for the audit rows of page clicks; `private` says the reply was answered only to its requester.
    """

    id: str
    team_id: str
    channel_id: str
    user_id: str
    text: str
    private: bool
    pages: tuple[str, ...]
    created_at: float
    expires_at: float


_AUDIT_COLUMNS = ", ".join(AuditRow.__slots__)


class Store:
    """One SQLite connection shared under a lock (WAL mode, so readers in other processes never block).

    With `audit_retention_days`, audit rows older than that are deleted (at start and then once a minute
    at most, as rows are written); without it they are kept. Seen requests and deliveries and stored
    pages are swept the same way once they expire.
    """

    def __init__(self, path: Path | str, *, audit_retention_days: float | None = None) -> None:
        self.path = Path(path).expanduser()
        self.audit_retention = audit_retention_days * _DAY if audit_retention_days else None
        self._lock = threading.Lock()
        self._db = open_state_db(path)
        self._db.executescript(_SCHEMA)
        self._migrate()
        self._pruned_at = -PRUNE_EVERY
        self._prune(time.time())

    def _migrate(self) -> None:
        """Add the audit columns a file written by an older version lacks."""
        have = {str(row[1]) for row in self._db.execute("PRAGMA table_info(audit)").fetchall()}
        for column, kind in _AUDIT_ADDED_COLUMNS:
            if column not in have:
                self._db.execute(f"ALTER TABLE audit ADD COLUMN {column} {kind}")

    def _prune(self, now: float) -> None:
        """Delete what has expired; at most once per PRUNE_EVERY seconds. Call with the lock held."""
        if now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        self._db.execute("DELETE FROM seen_requests WHERE seen_at < ?", (now - 2 * REPLAY_WINDOW,))
        self._db.execute("DELETE FROM seen_deliveries WHERE seen_at < ?", (now - DELIVERY_WINDOW,))
        self._db.execute("DELETE FROM reply_pages WHERE expires_at <= ?", (now,))
        # settled or expired plans hold the raw command text: kept an hour for "already used" answers
        self._db.execute("DELETE FROM pending_plans WHERE expires_at < ?", (now - PLAN_KEPT_AFTER,))
        if self.audit_retention is not None:
            self._db.execute("DELETE FROM audit WHERE at < ?", (now - self.audit_retention,))

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

    # ---- stored pages of long replies ----------------------------------------------------------------

    def save_pages(
        self,
        reply_id: str,
        *,
        team_id: str,
        channel_id: str,
        user_id: str,
        text: str,
        private: bool,
        pages: Sequence[str],
        ttl: float = PAGES_TTL,
        now: float | None = None,
    ) -> StoredReply:
        """Keep the rendered pages of a reply under `reply_id` (from `new_token`) for `ttl` seconds."""
        now = time.time() if now is None else now
        stored = StoredReply(
            id=reply_id,
            team_id=team_id,
            channel_id=channel_id,
            user_id=user_id,
            text=AuditText.of(text).text,
            private=private,
            pages=tuple(pages),
            created_at=now,
            expires_at=now + ttl,
        )
        row = (
            stored.id,
            stored.team_id,
            stored.channel_id,
            stored.user_id,
            stored.text,
            int(stored.private),
            json.dumps(list(stored.pages)),
            stored.created_at,
            stored.expires_at,
        )
        with self._lock:
            self._db.execute("INSERT INTO reply_pages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            self._prune(now)
        return stored

    def stored_reply(self, reply_id: str, now: float | None = None) -> StoredReply | None:
        """The stored pages under `reply_id`; None when there are none or they have expired."""
        now = time.time() if now is None else now
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM reply_pages WHERE id = ? AND expires_at > ?", (reply_id, now)
            ).fetchone()
        if row is None:
            return None
        pages = json.loads(row[6])
        return StoredReply(
            id=row[0],
            team_id=row[1],
            channel_id=row[2],
            user_id=row[3],
            text=row[4],
            private=bool(row[5]),
            pages=tuple(str(page) for page in pages),
            created_at=row[7],
            expires_at=row[8],
        )

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
            id=new_token(),
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
        """Open the audit row of one invocation (outcome "running"); returns its id.

        The text is kept masked and cut to AUDIT_TEXT_MAX_BYTES, with its full length and digest.
        """
        kept = AuditText.of(text)
        now = time.time()
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO audit (at, team_id, user_id, channel_id, source, host, text, decision, rule,"
                " outcome, text_length, text_sha256)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', '', 'running', ?, ?)",
                (now, team_id, user_id, channel_id, source, host, kept.text, kept.length, kept.sha256),
            )
            self._prune(now)
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
        """Record how the invocation ended (a timeout marks it, the late result then overwrites it).

        The error is kept masked and cut like the text (an error may quote what was typed).
        """
        query = _AUDIT_FINISH_IF_RUNNING if only_if_running else _AUDIT_FINISH
        if error is not None:
            error = AuditText.of(error).text
        with self._lock:
            self._db.execute(query, (decision, rule, outcome, duration, plan_hash, error, row_id))

    def audit_rows(self, *, user_id: str | None = None, limit: int = 20) -> list[AuditRow]:
        """The newest audit rows, optionally of one user."""
        query = f"SELECT {_AUDIT_COLUMNS} FROM audit"  # noqa: S608 - our own column names
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
            rows = self._db.execute(f"SELECT {_AUDIT_COLUMNS} FROM audit ORDER BY id").fetchall()  # noqa: S608 - our own column names
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
