"""A state file made by the release before the schema was versioned (three modules, three schemas,
`PRAGMA user_version` 0) opens under the one schema of bot/store/db.py with every row kept."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.db import SCHEMA_VERSION, SchemaTooNew, connect, schema_version
from bot.store.notify import SqliteCursorStore

# What the previous release created, verbatim: bot/store.py, bot/notify/watcher.py, bot/notify/outbox.py.
UNVERSIONED_STORE = """
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
UNVERSIONED_WATCHER = """
CREATE TABLE IF NOT EXISTS notify_cursor (
    host TEXT PRIMARY KEY,
    time_nano INTEGER,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS notify_rules (
    host TEXT PRIMARY KEY,
    memory TEXT,
    at_cursor TEXT
);
CREATE TABLE IF NOT EXISTS notify_states (
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
);
CREATE TABLE IF NOT EXISTS notify_inflight (
    host TEXT NOT NULL,
    seq INTEGER NOT NULL,
    note TEXT NOT NULL,
    saved_at REAL NOT NULL,
    PRIMARY KEY (host, seq)
);
"""
UNVERSIONED_OUTBOX = (
    """
CREATE TABLE IF NOT EXISTS outbox_messages (
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
);
CREATE TABLE IF NOT EXISTS outbox_episodes (
    episode_key TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    is_digest INTEGER NOT NULL,
    at REAL NOT NULL,
    blocks TEXT
);
"""
    + """
DROP INDEX IF EXISTS outbox_messages_queue;
CREATE INDEX IF NOT EXISTS outbox_messages_turn ON outbox_messages (state, channel, priority, id);
CREATE INDEX IF NOT EXISTS outbox_messages_merge ON outbox_messages (merge_key) WHERE merge_key IS NOT NULL;
"""
)


def _unversioned_file(path: Path) -> None:
    now = time.time()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        for script in (UNVERSIONED_STORE, UNVERSIONED_WATCHER, UNVERSIONED_OUTBOX):
            db.executescript(script)
        db.execute(
            "INSERT INTO audit (at, team_id, user_id, channel_id, source, host, text, decision, rule,"
            " outcome, text_length, text_sha256) VALUES (?, 'T', 'U1', 'C', 'slack', 'h', 'ps', 'allowed',"
            " 'r', 'ok', 2, 'x')",
            (now,),
        )
        db.execute("INSERT INTO notify_mutes VALUES ('h', 'web', ?, 'U1')", (now + 3600,))
        db.execute("INSERT INTO notify_cursor VALUES ('h', 42, ?)", (now,))
        db.execute(
            "INSERT INTO notify_states VALUES ('h', 'abc', 'web', 'nginx', 'running', NULL, NULL, 1, '{}')"
        )
        db.execute(
            "INSERT INTO outbox_messages (dedupe_key, channel, text, digest_line, digest_title, state,"
            " enqueued_at, priority) VALUES ('k1', 'C1', 'hello', '', '', 'sent', ?, 1)",
            (now,),
        )


def test_a_file_of_the_unversioned_release_migrates_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _unversioned_file(path)
    store = Store(path)
    cursors = SqliteCursorStore(path)
    try:
        with contextlib.closing(sqlite3.connect(path)) as raw:
            assert schema_version(raw) == SCHEMA_VERSION
            outbox = raw.execute("SELECT dedupe_key, priority, keep_blocks FROM outbox_messages").fetchall()
            indexes = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert [(r.user_id, r.text) for r in store.audit_export()] == [("U1", "ps")]
        assert [m[:2] for m in store.mutes()] == [("h", "web")]
        assert cursors.get("h") == 42
        assert set(cursors.load_states("h") or {}) == {"abc"}
        assert outbox == [("k1", 1, 0)]
        assert {"outbox_messages_turn", "outbox_messages_merge", "audit_at"} <= indexes
        assert "outbox_messages_queue" not in indexes
    finally:
        store.close()
        cursors.close()
    reopened = Store(path)  # a second open finds the version current and changes nothing
    assert [r.text for r in reopened.audit_export()] == ["ps"]
    reopened.close()


def test_a_new_file_is_made_at_the_current_version(tmp_path: Path) -> None:
    db = connect(tmp_path / "new.db")
    try:
        assert schema_version(db) == SCHEMA_VERSION
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()
    assert {"audit", "pending_plans", "notify_inflight", "outbox_messages", "outbox_episodes"} <= tables


def test_a_file_of_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNew):
        Store(path)
