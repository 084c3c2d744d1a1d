"""The SQLite store: its file's permissions, pending plans, the audit log, deliveries and stored pages."""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import stat
import threading
import time
from pathlib import Path

from bot.engine import Engine, Host
from bot.models import Outcome
from bot.render.mask import mask_secrets
from bot.router import Invocation, Router
from bot.store import (
    AUDIT_MASKED_MAX_CHARS,
    AUDIT_TEXT_MAX_BYTES,
    DELIVERY_WINDOW,
    PAGES_TTL,
    PLAN_KEPT_AFTER,
    AuditRow,
    Store,
    new_token,
    open_state_db,
)


def _pending(store: Store, *, ttl: float = 300.0, now: float | None = None) -> str:
    return store.create_pending(
        team_id="T1",
        user_id="U1",
        channel_id="C1",
        host="local",
        text="rm web",
        plan_hash="abc",
        approval="none",
        groups="S1,S2",
        ttl=ttl,
        now=now,
    ).id


def test_pending_plan_is_single_use(tmp_path: Path) -> None:
    """A pending plan settles once; a second settle (double click, replayed payload) does nothing."""
    store = Store(tmp_path / "s.db")
    plan_id = _pending(store)
    assert store.settle_pending(plan_id, "used", "U1")
    assert not store.settle_pending(plan_id, "used", "U1")
    assert not store.settle_pending(plan_id, "cancelled", "U1")
    stored = store.pending(plan_id)
    assert stored is not None
    assert (stored.state, stored.decided_by, stored.groups) == ("used", "U1", "S1,S2")


def test_pending_plan_expires(tmp_path: Path) -> None:
    """An expired plan cannot be settled."""
    store = Store(tmp_path / "s.db")
    plan_id = _pending(store, ttl=10, now=time.time() - 11)
    assert not store.settle_pending(plan_id, "used", "U1")


def test_only_one_of_many_concurrent_clicks_wins(tmp_path: Path) -> None:
    """Twenty threads clicking the same Confirm at once: exactly one settles it."""
    store = Store(tmp_path / "s.db")
    plan_id = _pending(store)
    wins: list[bool] = []
    barrier = threading.Barrier(20)

    def click() -> None:
        barrier.wait()
        wins.append(store.settle_pending(plan_id, "used", "U1"))

    threads = [threading.Thread(target=click) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 1


def test_plan_ids_are_unguessable(tmp_path: Path) -> None:
    """Plan ids are long random tokens, all different."""
    store = Store(tmp_path / "s.db")
    ids = {_pending(store) for _ in range(50)}
    assert len(ids) == 50
    assert all(len(plan_id) >= 24 for plan_id in ids)


def test_audit_rows_record_decision_and_outcome(tmp_path: Path) -> None:
    """An audit row opens as running and is finished with decision, rule, outcome, duration and error."""
    store = Store(tmp_path / "s.db")
    row = store.audit_start(
        team_id="T1", user_id="U1", channel_id="C1", source="slack", host="local", text="ps"
    )
    store.audit_finish(row, decision="allowed", rule="default", outcome="ok", duration=0.2, plan_hash=None)
    other = store.audit_start(
        team_id="T1", user_id="U2", channel_id="C1", source="slack", host="local", text="rm x"
    )
    store.audit_finish(other, decision="denied", rule="r", outcome="denied", duration=0.1, error="Denied: …")
    store.audit_finish(other, decision="x", rule="x", outcome="timeout", duration=9, only_if_running=True)
    rows = store.audit_rows()
    assert [(r.user_id, r.decision, r.outcome) for r in rows] == [
        ("U2", "denied", "denied"),
        ("U1", "allowed", "ok"),
    ]
    assert [r.text for r in store.audit_rows(user_id="U1")] == ["ps"]
    assert [r.id for r in store.audit_export()] == [row, other]
    assert rows[0].as_dict()["error"] == "Denied: …"


# ---- the file: created 0600, old files tightened -----------------------------------------------------------


def _modes(path: Path) -> dict[str, int]:
    """The permission bits of the state file and of its -wal and -shm."""
    found = {}
    for suffix in ("", "-wal", "-shm"):
        file = path.with_name(path.name + suffix)
        if file.exists():
            found[suffix or "db"] = stat.S_IMODE(file.stat().st_mode)
    return found


def test_state_file_wal_and_shm_are_created_0600(tmp_path: Path) -> None:
    """A new state file (in a new folder) and the -wal/-shm SQLite makes next to it are the owner's only."""
    path = tmp_path / "new" / "state.db"
    previous = os.umask(0o022)  # the usual umask would give 0644
    try:
        store = Store(path)
        store.audit_start(team_id="T", user_id="U", channel_id="C", source="s", host="h", text="ps")
        assert _modes(path) == {"db": 0o600, "-wal": 0o600, "-shm": 0o600}
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        store.close()
    finally:
        os.umask(previous)


def test_state_files_left_readable_are_tightened(tmp_path: Path) -> None:
    """A state file, -wal and -shm that an older version left 0644 are made 0600 when the bot opens them."""
    path = tmp_path / "state.db"
    previous = os.umask(0o022)
    try:
        old = sqlite3.connect(path)
        old.execute("PRAGMA journal_mode=WAL")
        old.execute("CREATE TABLE t (x)")
        old.execute("INSERT INTO t VALUES (1)")
        old.commit()
        assert _modes(path) == {"db": 0o644, "-wal": 0o644, "-shm": 0o644}
        connection = open_state_db(path)
        assert _modes(path) == {"db": 0o600, "-wal": 0o600, "-shm": 0o600}
        assert connection.execute("SELECT x FROM t").fetchall() == [(1,)]
        connection.close()
        old.close()
    finally:
        os.umask(previous)


def test_open_state_db_leaves_the_umask_as_it_was(tmp_path: Path) -> None:
    """The 077 umask holds only while the file is opened."""
    previous = os.umask(0o022)
    try:
        open_state_db(tmp_path / "s.db").close()
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(previous)


# ---- the audit: masked, capped, kept for a while -----------------------------------------------------------


def _audit(store: Store, text: str) -> AuditRow:
    row_id = store.audit_start(team_id="T", user_id="U", channel_id="C", source="s", host="h", text=text)
    (row,) = [row for row in store.audit_export() if row.id == row_id]
    return row


def test_audit_keeps_4_kb_of_a_text_with_its_length_and_digest(tmp_path: Path) -> None:
    """A 1 MiB command is kept as its first 4 KB (a … marks the cut), its full length and the sha256 of
    the masked text as far as it was masked (16 KiB characters); a short one whole."""
    store = Store(tmp_path / "s.db")
    huge = "ps " + "é" * (1 << 20)
    row = _audit(store, huge)
    assert len(row.text.encode()) <= AUDIT_TEXT_MAX_BYTES
    assert row.text.startswith("ps éé")
    assert row.text.endswith("…")
    assert row.text_length == len(huge)
    assert row.text_sha256 == hashlib.sha256(huge[:AUDIT_MASKED_MAX_CHARS].encode()).hexdigest()
    short = _audit(store, "ps -a")
    assert (short.text, short.text_length) == ("ps -a", 5)


def test_audit_masks_secrets_in_text_and_error(tmp_path: Path) -> None:
    """A secret typed in a command (or quoted by its error) is masked in the audit; so is its digest's
    input, so the digest gives nothing away."""
    store = Store(tmp_path / "s.db")
    row = _audit(store, "pull registry.example/app:1 password=hunter2")
    assert "hunter2" not in row.text
    assert row.text == mask_secrets("pull registry.example/app:1 password=hunter2")
    assert row.text_sha256 == hashlib.sha256(row.text.encode()).hexdigest()
    store.audit_finish(
        row.id, decision="d", rule="r", outcome="failed", duration=0.1, error="bad password=hunter2"
    )
    (finished,) = [r for r in store.audit_export() if r.id == row.id]
    assert finished.error is not None
    assert "hunter2" not in finished.error


def test_fifty_refused_huge_commands_keep_the_file_small(tmp_path: Path) -> None:
    """50 refused 1 MiB commands through the router (54 MB of state before) leave a file under 1 MB."""
    store = Store(tmp_path / "state.db")
    router = Router([Engine(Host("local", f"unix://{tmp_path}/none.sock", 1.0))], store=store)
    for n in range(50):
        reply = router.handle(Invocation(f"rm web{n} " + "x" * (1 << 20), user_id="U1"))
        assert reply.outcome is not Outcome.OK
    router.close()
    rows = list(store.audit_export())
    assert len(rows) == 50
    assert {row.outcome for row in rows} == {"usage"}  # refused by the parser: nothing ran
    assert all(row.text_length == len("rm web0 ") + (1 << 20) for row in rows[:10])
    store.close()
    size = sum(f.stat().st_size for f in tmp_path.glob("state.db*"))
    assert size < 1_000_000, size


def test_audit_rows_older_than_the_retention_are_pruned(tmp_path: Path) -> None:
    """With a retention of 90 days, a 91-day-old row goes at start and as rows are written; without one
    (other modules' stores on the same file), nothing is pruned."""
    path = tmp_path / "s.db"
    store = Store(path)
    old = _audit(store, "ps old")
    kept = _audit(store, "ps new")
    store.close()
    db = sqlite3.connect(path)
    db.execute("UPDATE audit SET at = ? WHERE id = ?", (time.time() - 91 * 86_400, old.id))
    db.commit()
    db.close()
    unlimited = Store(path)
    assert [r.id for r in unlimited.audit_export()] == [old.id, kept.id]
    unlimited.close()
    store = Store(path, audit_retention_days=90)
    assert [r.id for r in store.audit_export()] == [kept.id]
    store.close()


def test_an_older_audit_table_gains_the_new_columns(tmp_path: Path) -> None:
    """A state file from before the length and digest columns opens, keeps its rows and takes new ones."""
    path = tmp_path / "s.db"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, team_id TEXT NOT NULL,"
        " user_id TEXT NOT NULL, channel_id TEXT NOT NULL, source TEXT NOT NULL, host TEXT NOT NULL,"
        " text TEXT NOT NULL, decision TEXT NOT NULL, rule TEXT NOT NULL, plan_hash TEXT,"
        " outcome TEXT NOT NULL, duration REAL, error TEXT)"
    )
    db.execute(
        "INSERT INTO audit (at, team_id, user_id, channel_id, source, host, text, decision, rule, outcome)"
        " VALUES (1, 'T', 'U', 'C', 's', 'h', 'ps', 'allowed', 'r', 'ok')"
    )
    db.commit()
    db.close()
    store = Store(path)
    new = _audit(store, "images")
    rows = list(store.audit_export())
    assert [(r.text, r.text_length) for r in rows] == [("ps", None), ("images", 6)]
    assert new.text_sha256 is not None


# ---- deliveries and stored pages ---------------------------------------------------------------------------


def test_a_delivery_is_taken_once_by_any_of_its_keys_also_after_a_restart(tmp_path: Path) -> None:
    """An envelope, or a new envelope carrying a trigger seen before, is a redelivery, after a reopen
    too; past DELIVERY_WINDOW the keys are forgotten."""
    path = tmp_path / "s.db"
    store = Store(path)
    now = time.time()
    assert store.remember_delivery(["envelope:e1", "trigger:t1"], now=now)
    assert not store.remember_delivery(["envelope:e1", "trigger:t1"], now=now)
    assert not store.remember_delivery(["envelope:e2", "trigger:t1"], now=now)
    assert store.remember_delivery(["envelope:e3", "trigger:t3"], now=now)
    assert store.remember_delivery([], now=now)
    store.close()
    reopened = Store(path)
    assert not reopened.remember_delivery(["envelope:e1"], now=now + 1)
    assert not reopened.remember_delivery(["envelope:e2"], now=now + 1)  # learnt from its redelivery
    assert reopened.remember_delivery(["envelope:e3"], now=now + DELIVERY_WINDOW + 1)
    reopened.close()


def test_only_one_of_many_concurrent_deliveries_is_taken(tmp_path: Path) -> None:
    """Twenty threads taking the same envelope at once: exactly one gets it."""
    store = Store(tmp_path / "s.db")
    wins: list[bool] = []
    barrier = threading.Barrier(20)

    def take() -> None:
        barrier.wait()
        wins.append(store.remember_delivery(["envelope:same", "trigger:same"]))

    threads = [threading.Thread(target=take) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 1


def _save(store: Store, *, ttl: float = PAGES_TTL, now: float | None = None) -> str:
    reply_id = new_token()
    store.save_pages(
        reply_id,
        team_id="T1",
        channel_id="C1",
        user_id="U1",
        text="logs web password=hunter2",
        private=True,
        pages=['{"page": 0}', '{"page": 1}'],
        ttl=ttl,
        now=now,
    )
    return reply_id


def test_stored_pages_come_back_until_they_expire(tmp_path: Path) -> None:
    """Pages saved under an unguessable id come back whole (the command masked) until their TTL ends;
    an unknown id gives nothing."""
    store = Store(tmp_path / "s.db")
    reply_id = _save(store)
    stored = store.stored_reply(reply_id)
    assert stored is not None
    assert (stored.pages, stored.private, stored.user_id) == (('{"page": 0}', '{"page": 1}'), True, "U1")
    assert "hunter2" not in stored.text
    assert store.stored_reply(reply_id, now=stored.expires_at + 1) is None
    assert store.stored_reply(new_token()) is None
    assert len(reply_id) >= 24


def test_expired_pages_deliveries_and_signatures_are_swept(tmp_path: Path) -> None:
    """What has expired is deleted from the file, not only ignored."""
    path = tmp_path / "s.db"
    store = Store(path)
    past = time.time() - DELIVERY_WINDOW - 10
    _save(store, ttl=1, now=past)
    store.remember_delivery(["envelope:old"], now=past)
    store.remember_request("v0=old", now=past)
    store.close()
    Store(path).close()  # opening sweeps
    db = sqlite3.connect(path)
    counts = [
        db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - our table names
        for t in ("reply_pages", "seen_deliveries", "seen_requests")
    ]
    db.close()
    assert counts == [0, 0, 0]


def test_settled_and_expired_plans_leave_the_file_with_their_text(tmp_path: Path) -> None:
    """A pending plan keeps the raw command (to run it at the click): an hour after it expired it is gone."""
    store = Store(tmp_path / "s.db")
    plan = store.create_pending(
        team_id="T",
        user_id="U",
        channel_id="C",
        host="h",
        text="container prune --filter label=token=ghp_x",
        plan_hash="0",
        approval="none",
        ttl=300,
        now=time.time() - PLAN_KEPT_AFTER - 301,
    )
    fresh = store.create_pending(
        team_id="T",
        user_id="U",
        channel_id="C",
        host="h",
        text="rm a",
        plan_hash="0",
        approval="none",
        ttl=300,
    )
    store._pruned_at = 0.0  # the next write sweeps
    _audit(store, "ps")
    assert store.pending(plan.id) is None
    assert store.pending(fresh.id) is not None


_SQL = re.compile(
    r"\b(?:CREATE (?:TABLE|INDEX)|SELECT .+ FROM|INSERT (?:OR \w+ )?INTO|UPDATE \w+ SET|DELETE FROM)\b"
)


def test_sql_lives_only_in_the_store() -> None:
    """Every SQL statement of the bot is under bot/store/ (the schema in db.py, the rows in its modules)."""
    bot = Path(__file__).resolve().parents[2] / "bot"
    outside = [
        f"{path.relative_to(bot.parent)}:{number}"
        for path in sorted(bot.rglob("*.py"))
        if "store" not in path.relative_to(bot).parts[:1]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _SQL.search(line)
    ]
    assert outside == []
