"""A restarted watcher: time does not close a restored episode before the engine spoke, and what the last
run saved but never handed to the outbox goes out, once."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from dataclasses import replace
from pathlib import Path

from bot.engine.hosts import Host
from bot.models import Notification
from bot.notify.rules import NS, Rules, RuleState, _Memory
from bot.notify.watcher import Checkpoint, HostWatcher, SqliteCursorStore
from bot.settings import NotifyConfig

CHANNEL = "C0123456789"


def test_a_restored_episode_is_not_closed_while_the_engine_cannot_be_reached(tmp_path: Path) -> None:
    """The bot restarts while its engine is down: the open restart loop it remembers (up for 10 minutes by
    the saved memory) is neither called recovered nor anything else until the stream has been replayed."""
    config = NotifyConfig.model_validate(
        {"routes": [{"channel": CHANNEL, "events": ["restart_loop", "recovered", "died", "oom"]}]}
    )
    store = SqliteCursorStore(tmp_path / "state.db")
    ten_minutes_ago = time.time_ns() - 600 * NS
    memory = RuleState()
    memory.containers["c" * 64] = _Memory(
        name="web",
        running=True,
        started_at=ten_minutes_ago,
        last_action="start",
        loop_episode="h:ccc:restart_loop:1",
        loop_channels=(CHANNEL,),
        loop_restarts=5,
        oom_at=ten_minutes_ago,
    )
    store.checkpoint("h", Checkpoint([], [], memory.snapshot(), ten_minutes_ago, []))
    got: list[Notification] = []
    watcher = HostWatcher(
        Host("h", f"unix://{tmp_path}/no-engine.sock", 1.0),
        Rules(config),
        got.append,
        store,
        store,
        tick_interval=0.05,
        backoff=(0.2, 0.5),
    )
    watcher.start()
    try:
        time.sleep(1.5)
        assert watcher.rule_state.open_episodes() == ["h:ccc:restart_loop:1"]
        assert got == []
    finally:
        watcher.stop()
        store.close()
    assert RuleState.restore(store_path_memory(tmp_path)).open_episodes() == ["h:ccc:restart_loop:1"]


def store_path_memory(tmp_path: Path) -> str:
    """The rule memory saved in the state file (the watcher saved it again on stop)."""
    reopened = SqliteCursorStore(tmp_path / "state.db")
    try:
        memory, _ = reopened.load_rules("h")
    finally:
        reopened.close()
    assert memory is not None
    return memory


def saved_note(number: int) -> Notification:
    """A death the last run saved but had not handed to the outbox yet."""
    cid = f"{number:x}" * 64
    return Notification(
        kind="died",
        host="h",
        container=f"web-{number}",
        container_id=cid[:64],
        image="shop/web:1",
        channels=(CHANNEL,),
        time_nano=number * NS,
        dedupe_key=f"h:{cid[:64]}:die:{number * NS}",
        exit_code=number,
    )


def test_notifications_saved_by_a_killed_run_go_to_the_sink_at_the_next_start(tmp_path: Path) -> None:
    """Rows left in notify_inflight are handed to the sink once each, in order, even while the engine cannot
    be reached (the details are then missing, saying why, never the notification); taken, they are deleted.
    A damaged row is dropped, not retried for ever."""
    config = NotifyConfig.model_validate({"routes": [{"channel": CHANNEL, "events": ["died"]}]})
    store = SqliteCursorStore(tmp_path / "state.db")
    notes = [(3, saved_note(3)), (7, saved_note(7))]
    store.checkpoint("h", Checkpoint([], [], None, 5 * NS, [], notes))
    with contextlib.closing(sqlite3.connect(tmp_path / "state.db")) as db, db:
        db.execute("INSERT INTO notify_inflight VALUES ('h', 9, '{not json', 0)")
    got: list[Notification] = []
    watcher = HostWatcher(
        Host("h", f"unix://{tmp_path}/no-engine.sock", 1.0),
        Rules(config),
        got.append,
        store,
        store,
        tick_interval=0.05,
        backoff=(0.2, 0.5),
    )
    watcher.start()
    try:
        deadline = time.monotonic() + 10
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        watcher.stop()
    assert [replace(note, log_tail=()) for note in got] == [note for _, note in notes]
    for note in got:
        (remark,) = note.log_tail
        assert remark.startswith("(log tail unavailable: no Docker engine answers on host h")
    assert store.inflight_count("h") == 0
    store.close()
