"""A restarted watcher with a restored rule memory: time does not close an episode before the engine spoke."""

from __future__ import annotations

import time
from pathlib import Path

from bot.engine.hosts import Host
from bot.notify.events import Notification
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
