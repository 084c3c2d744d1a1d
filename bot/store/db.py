"""The bot's one SQLite file: how it is opened, its one schema, and its migrations.

Every table and index of the file is declared here, and only here; the modules beside this one (audit,
plans, requests, notify, outbox) read and write them. `connect` is how every one of them opens the file:
it makes it readable by the bot's user only (0600, with its `-wal` and `-shm`), puts it in WAL mode, and
brings it to `SCHEMA_VERSION` (`PRAGMA user_version`) in one transaction, whatever opens it first.

Versions: 0 is a file made before the schema was versioned (by any earlier release: tables created as their
module first opened them, columns added later by `ALTER TABLE`); 1 is the schema below. A file from a newer
release (a higher version) is refused rather than misread.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

STATE_FILE_MODE = 0o600
SCHEMA_VERSION = 1
_SIDE_FILES = ("-wal", "-shm", "-journal")
_umask_lock = threading.Lock()
IsolationLevel = Literal["DEFERRED", "EXCLUSIVE", "IMMEDIATE"] | None

# ---- the schema -------------------------------------------------------------------------------------------

TABLES = (
    # requests.py: signatures of Slack requests already served, deliveries already taken
    """CREATE TABLE IF NOT EXISTS seen_requests (
    signature TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS seen_deliveries (
    key TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
)""",
    # plans.py: the rendered pages of long replies, plans awaiting their click
    """CREATE TABLE IF NOT EXISTS reply_pages (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    text TEXT NOT NULL,
    private INTEGER NOT NULL,
    pages TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS pending_plans (
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
)""",
    # audit.py
    """CREATE TABLE IF NOT EXISTS audit (
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
)""",
    # notify.py: mutes, and the watchers' cursor, rule memory, known states and unsent notifications
    """CREATE TABLE IF NOT EXISTS notify_mutes (
    host TEXT NOT NULL,
    container TEXT NOT NULL,
    until REAL NOT NULL,
    muted_by TEXT NOT NULL,
    PRIMARY KEY (host, container)
)""",
    """CREATE TABLE IF NOT EXISTS notify_cursor (
    host TEXT PRIMARY KEY,
    time_nano INTEGER,
    updated_at REAL NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS notify_rules (
    host TEXT PRIMARY KEY,
    memory TEXT,
    at_cursor TEXT
)""",
    """CREATE TABLE IF NOT EXISTS notify_states (
    host TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    image TEXT NOT NULL,
    state TEXT NOT NULL,
    health TEXT,
    exit_code INTEGER,
    created INTEGER NOT NULL,
    labels TEXT NOT NULL,
    PRIMARY KEY (host, id)
)""",
    """CREATE TABLE IF NOT EXISTS notify_inflight (
    host TEXT NOT NULL,
    seq INTEGER NOT NULL,
    note TEXT NOT NULL,
    saved_at REAL NOT NULL,
    PRIMARY KEY (host, seq)
)""",
    # outbox.py: the per-channel queues of Slack messages, and the messages posted for each episode
    """CREATE TABLE IF NOT EXISTS outbox_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    text TEXT NOT NULL,
    blocks TEXT,
    group_key TEXT,
    digest_line TEXT NOT NULL,
    digest_title TEXT NOT NULL,
    thread_key TEXT,
    episode_key TEXT,
    update_key TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    enqueued_at REAL NOT NULL,
    done_at REAL,
    ts TEXT,
    batch INTEGER,
    error TEXT,
    priority INTEGER NOT NULL DEFAULT 0,
    merge_key TEXT,
    keep_blocks INTEGER NOT NULL DEFAULT 0
)""",
    """CREATE TABLE IF NOT EXISTS outbox_episodes (
    episode_key TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    is_digest INTEGER NOT NULL,
    at REAL NOT NULL,
    blocks TEXT
)""",
)
INDEXES = (
    "CREATE INDEX IF NOT EXISTS seen_requests_seen_at ON seen_requests (seen_at)",
    "CREATE INDEX IF NOT EXISTS seen_deliveries_seen_at ON seen_deliveries (seen_at)",
    "CREATE INDEX IF NOT EXISTS reply_pages_expires_at ON reply_pages (expires_at)",
    "CREATE INDEX IF NOT EXISTS audit_user ON audit (user_id, id)",
    "CREATE INDEX IF NOT EXISTS audit_at ON audit (at)",
    "CREATE INDEX IF NOT EXISTS outbox_messages_turn ON outbox_messages (state, channel, priority, id)",
    "CREATE INDEX IF NOT EXISTS outbox_messages_merge ON outbox_messages (merge_key)"
    " WHERE merge_key IS NOT NULL",
)
# Columns that unversioned files (version 0) may lack: earlier releases added them with ALTER TABLE.
_ADDED_COLUMNS = {
    "audit": (("text_length", "INTEGER"), ("text_sha256", "TEXT")),
    "outbox_messages": (
        ("priority", "INTEGER NOT NULL DEFAULT 0"),
        ("merge_key", "TEXT"),
        ("keep_blocks", "INTEGER NOT NULL DEFAULT 0"),
    ),
    "outbox_episodes": (("blocks", "TEXT"),),
}
_OUTBOX_UPDATE_PRIORITY = 1  # outbox.UPDATE: thread replies and edits go after new incidents


class SchemaTooNew(RuntimeError):
    """The state file was written by a newer release: its schema version is above SCHEMA_VERSION."""


# ---- migrations -------------------------------------------------------------------------------------------


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in db.execute(f"PRAGMA table_info({table})").fetchall()}


def _from_unversioned(db: sqlite3.Connection) -> None:
    """Version 0 → 1: create what is missing, add the columns older files lack, fill their values, and
    replace the outbox's first index; every row stays."""
    for statement in TABLES:
        db.execute(statement)
    for table, columns in _ADDED_COLUMNS.items():
        have = _columns(db, table)
        added = False
        for name, declaration in columns:
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")
                added = True
        if table == "outbox_messages" and added and "priority" not in have:
            # rows queued by the FIFO version: its replies and edits are updates
            db.execute(
                "UPDATE outbox_messages SET priority = ?"
                " WHERE thread_key IS NOT NULL OR update_key IS NOT NULL",
                (_OUTBOX_UPDATE_PRIORITY,),
            )
    db.execute("DROP INDEX IF EXISTS outbox_messages_queue")
    for statement in INDEXES:
        db.execute(statement)


# MIGRATIONS[n] takes a file from version n to n + 1.
MIGRATIONS = (_from_unversioned,)


def schema_version(db: sqlite3.Connection) -> int:
    """The file's `PRAGMA user_version`."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection) -> None:
    """Bring the file to SCHEMA_VERSION in one transaction (taken at once, so two connections opening the
    same file never migrate it twice); a connection in autocommit mode (isolation_level None)."""
    if schema_version(db) == SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = schema_version(db)  # another connection may have migrated it meanwhile
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the state file has schema version {version}; this release knows {SCHEMA_VERSION}"
            )
        for step in MIGRATIONS[version:]:
            step(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    if version < SCHEMA_VERSION:
        log.info("state file migrated from schema version %d to %d", version, SCHEMA_VERSION)


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
    """A connection to the bot's SQLite file, shareable across threads, in WAL mode (no schema applied:
    `connect` is that plus the schema).

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


def connect(path: Path | str, *, isolation_level: IsolationLevel = None) -> sqlite3.Connection:
    """The state file opened safely (`open_state_db`) and at SCHEMA_VERSION (`migrate`)."""
    db = open_state_db(path)
    try:
        migrate(db)
    except BaseException:
        db.close()
        raise
    db.isolation_level = isolation_level
    return db


def new_token() -> str:
    """An unguessable id for a button value (a plan, a stored reply): 144 random bits, URL-safe."""
    return secrets.token_urlsafe(18)


class Tables:
    """What the modules of this package share: one connection to the file, used under one lock (so the
    connection can serve every thread)."""

    _db: sqlite3.Connection
    _lock: threading.Lock

    def _prune(self, now: float) -> None:
        """Delete what has expired (at most once in a while); lock held. `Store` says what and when."""
        raise NotImplementedError
