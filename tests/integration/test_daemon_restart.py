"""A Docker daemon stopped and started again under the watcher: every change reported once, none twice.

The daemon is a second dockerd (tests/second_daemon.py) so the main engine is never disturbed. The watcher
reaches it through a symlink to its socket: removing the link keeps the watcher from reconnecting (a bot that
cannot see the daemon yet), putting it back lets it in, so "before the watcher reconnects" is no race.

What the daemon can know decides what can be reported. Events it sent before it stopped are gone when it
starts again (it keeps them in memory only); events since its start are replayed to a `since` subscription.
So a death the watcher saw live is reported live; a death during the restart the watcher did not see is
found by re-listing and reported "while the bot was away"; a container that died and ran after the restart is
replayed by the new daemon and reported normally; a container both killed and removed while the watcher was
blind has left nothing behind that says how it ended, and is not reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bot_process import start_http_bot, stop_bot
from fakes.slack import FakeSlack
from notify_recorder import Recorder
from second_daemon import SecondDaemon

from bot.engine.hosts import Host
from bot.models import Notification
from bot.notify.rules import Rules
from bot.notify.watcher import HostWatcher, SqliteCursorStore
from bot.settings import NotifyConfig

HOST_NAME = "second"
CHANNEL = "C0SECOND"
KINDS = ["died", "oom", "stopped", "restart_loop", "recovered"]
# PID 1 of a container ignores SIGTERM unless it traps it: these leave at once when the daemon stops them.
ON_TERM_EXIT = "trap 'exit {code}' TERM; while :; do sleep 0.1; done"


@pytest.fixture
def daemon(docker_api: Any, test_image: str) -> Iterator[SecondDaemon]:
    """A started second dockerd holding the test image; torn down (containers, bridge, dirs) afterwards."""
    second = SecondDaemon()
    try:
        second.start()
        second.load_image(docker_api, test_image)
        yield second
    finally:
        second.teardown()
    assert not second.root.exists()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteCursorStore]:
    """The watcher's cursor and states, in SQLite as in the bot."""
    cursors = SqliteCursorStore(tmp_path / "state.db")
    yield cursors
    cursors.close()


@pytest.fixture
def watcher_on(store: SqliteCursorStore) -> Iterator[Callable[[str, Recorder], HostWatcher]]:
    """Start a watcher (quick timings) on a daemon URL, routing the test's containers; stopped afterwards."""
    started: list[HostWatcher] = []

    def start(url: str, sink: Recorder) -> HostWatcher:
        config = NotifyConfig.model_validate({"routes": [{"channel": CHANNEL, "events": KINDS}]})
        watcher = HostWatcher(
            Host(HOST_NAME, url, 5.0),
            Rules(config),
            sink,
            store,
            store,
            ping_interval=0.5,
            tick_interval=0.1,
            settle=0.5,
            backoff=(0.05, 0.2),
        )
        watcher.start()
        started.append(watcher)
        assert watcher.wait_connected(1, timeout=10.0)
        return watcher

    yield start
    for watcher in started:
        watcher.stop()


def run(api: Any, name: str, script: str, *, restart: str = "no", start: bool = True) -> str:
    """Create (and start) `sh -c SCRIPT` named `name` on the daemon of `api`; returns the id."""
    host_config = api.create_host_config(restart_policy={"Name": restart})
    created = api.create_container(
        "chatops-test/busybox:latest",
        ["sh", "-c", script],
        name=name,
        host_config=host_config,
        network_disabled=True,
    )
    if start:
        api.start(created["Id"])
    return str(created["Id"])


def wait_status(api: Any, name: str, status: str, timeout: float = 15.0) -> dict[str, Any]:
    """Poll until the container's State.Status is `status`; returns the State."""
    deadline = time.monotonic() + timeout
    while True:
        state: dict[str, Any] = api.inspect_container(name)["State"]
        if state["Status"] == status:
            return state
        assert time.monotonic() < deadline, f"{name} never became {status}: {state}"
        time.sleep(0.05)


class Gate:
    """The symlink the watcher connects through: closed, the watcher cannot reach the daemon."""

    def __init__(self, daemon: SecondDaemon) -> None:
        self.target = daemon.socket
        self.path = daemon.root / "w.sock"
        self.open()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def open(self) -> None:
        self.path.symlink_to(self.target)

    def close(self) -> None:
        self.path.unlink()


def kinds(notes: list[Notification]) -> list[tuple[str, int | None, bool]]:
    """(kind, exit code, away) of each notification: what a test compares."""
    return [(note.kind, note.exit_code, note.away) for note in notes]


def test_a_daemon_restart_under_a_running_watcher_reports_each_change_once(
    daemon: SecondDaemon,
    watcher_on: Callable[[str, Recorder], HostWatcher],
    store: SqliteCursorStore,
    unique_name: Callable[[str], str],
) -> None:
    """Deaths at shutdown come live, a death after the restart is replayed by the new daemon; none twice."""
    api = daemon.api()
    victim, loyal, doomed, early, late, after = (
        unique_name(s) for s in ("victim", "loyal", "doomed", "early", "late", "after")
    )
    run(api, victim, ON_TERM_EXIT.format(code=3))
    run(api, loyal, ON_TERM_EXIT.format(code=4), restart="always")
    doomed_id = run(api, doomed, ON_TERM_EXIT.format(code=7))
    gate = Gate(daemon)
    sink = Recorder()
    watcher = watcher_on(gate.url, sink)
    run(api, early, "exit 2")
    sink.wait(early)

    gate.close()  # the stream stays connected; reconnecting will fail until the gate opens
    daemon.stop()  # stops victim, loyal and doomed: kill + die on the stream, then the stream ends
    for name in (victim, loyal, doomed):
        sink.wait(name)
    daemon.start()
    api = daemon.api()
    assert wait_status(api, loyal, "running")  # restart=always: the daemon started it again itself
    api.remove_container(doomed, force=True)
    run(api, late, "exit 5")
    wait_status(api, late, "exited")
    time.sleep(0.5)  # the watcher keeps knocking at the closed gate
    assert watcher.connections == 1
    assert sink.of(late) == []

    gate.open()
    assert watcher.wait_connected(2, timeout=10.0)
    sink.wait(late)
    run(api, after, "exit 6")
    sink.wait(after)
    time.sleep(1.5)  # three settle periods: anything synthesized from the re-list would be out by now

    assert kinds(sink.of(early)) == [("died", 2, False)]
    assert kinds(sink.of(victim)) == [("stopped", 3, False)]  # the daemon's SIGTERM: a stop, not a crash
    assert kinds(sink.of(loyal)) == [("stopped", 4, False)]  # its start by the daemon is no news
    assert kinds(sink.of(doomed)) == [("stopped", 7, False)]
    assert kinds(sink.of(late)) == [("died", 5, False)]  # the new daemon replayed it: not "away"
    assert kinds(sink.of(after)) == [("died", 6, False)]
    assert len(sink.notes) == 6
    states = store.load_states(HOST_NAME)
    assert states is not None
    assert doomed_id not in states
    assert {states[c].state for c in states if states[c].name in (victim, late, after)} == {"exited"}


def test_changes_the_watcher_did_not_see_are_reported_once_after_reconciliation(
    daemon: SecondDaemon,
    watcher_on: Callable[[str, Recorder], HostWatcher],
    store: SqliteCursorStore,
    unique_name: Callable[[str], str],
) -> None:
    """Blind through the restart: the lost death comes "while the bot was away", the replayed one plainly."""
    api = daemon.api()
    victim, doomed, early, late, after = (
        unique_name(s) for s in ("victim", "doomed", "early", "late", "after")
    )
    run(api, victim, ON_TERM_EXIT.format(code=3))
    doomed_id = run(api, doomed, ON_TERM_EXIT.format(code=7))
    gate = Gate(daemon)
    sink = Recorder()
    watcher = watcher_on(gate.url, sink)
    run(api, early, "exit 2")
    sink.wait(early)

    gate.close()
    watcher.force_reconnect()  # the stream ends; the watcher sees nothing from now on
    deadline = time.monotonic() + 5.0
    while watcher.reconnects < 2 and time.monotonic() < deadline:  # one drop, then at least one refusal
        time.sleep(0.02)
    assert watcher.reconnects >= 2
    daemon.stop()  # victim and doomed die unseen; the daemon forgets those events
    daemon.start()
    api = daemon.api()
    assert wait_status(api, victim, "exited")["ExitCode"] == 3
    api.remove_container(doomed, force=True)  # died and removed unseen: nothing says how it ended
    run(api, late, "exit 5")
    wait_status(api, late, "exited")
    assert sink.notes == [sink.of(early)[0]]

    gate.open()
    assert watcher.wait_connected(2, timeout=10.0)
    (lost,) = sink.wait(victim)
    assert lost.summary == f"while the bot was away, {victim} exited (3)"
    sink.wait(late)
    run(api, after, "exit 6")
    sink.wait(after)
    time.sleep(1.5)

    assert kinds(sink.of(early)) == [("died", 2, False)]
    assert kinds(sink.of(victim)) == [("died", 3, True)]
    assert kinds(sink.of(late)) == [("died", 5, False)]  # the new daemon still held its events
    assert kinds(sink.of(after)) == [("died", 6, False)]
    assert sink.of(doomed) == []
    assert len(sink.notes) == 4
    states = store.load_states(HOST_NAME)
    assert states is not None
    assert doomed_id not in states


def test_the_second_daemon_keeps_its_data_across_a_restart_and_leaves_nothing_behind(
    docker_api: Any, test_image: str
) -> None:
    """The helper itself: stop and start keep containers and image; teardown removes daemon, bridge, dirs."""
    main_bridge = Path("/sys/class/net/docker0").exists()
    daemon = SecondDaemon()
    try:
        daemon.start()
        daemon.load_image(docker_api, test_image)
        name = f"keep-{daemon.token}"
        run(daemon.api(), name, "exit 0", start=False)
        daemon.stop()
        assert not daemon.running()
        daemon.start()
        api = daemon.api()
        assert api.inspect_container(name)["State"]["Status"] == "created"
        assert api.inspect_image(test_image)["Id"] == docker_api.inspect_image(test_image)["Id"]
        assert Path(f"/sys/class/net/{daemon.bridge}").exists()
        process = daemon.process
    finally:
        daemon.teardown()
    assert process is not None
    assert process.returncode is not None
    assert not daemon.root.exists()
    assert not Path(f"/sys/class/net/{daemon.bridge}").exists()
    assert Path("/sys/class/net/docker0").exists() == main_bridge  # the main engine's bridge untouched
    docker_api.ping()


def _wait_subscribed(api: Any, timeout: float = 20.0) -> None:
    """Wait until someone (the bot's watcher: the daemon is this test's own) listens to its events."""
    deadline = time.monotonic() + timeout
    while api.info().get("NEventsListener", 0) < 1:
        assert time.monotonic() < deadline, "the bot never subscribed to the second daemon's events"
        time.sleep(0.05)


def test_the_bot_process_reports_changes_across_its_own_and_the_daemons_restarts(
    daemon: SecondDaemon, tmp_path: Path, unique_name: Callable[[str], str]
) -> None:
    """`docker-chatops run` on the second daemon: bot and daemon down together, then the daemon alone."""
    api = daemon.api()
    prefix = unique_name("r")
    victim, doomed, early, late, victim2, late2, after = (
        f"{prefix}-{s}" for s in ("victim", "doomed", "early", "late", "victim2", "late2", "after")
    )
    config = tmp_path / "chatops.toml"
    config.write_text(
        f'[[hosts]]\nname = "{HOST_NAME}"\nurl = "{daemon.url}"\n'
        f'[[notify.routes]]\nchannel = "{CHANNEL}"\nevents = ["died", "oom", "stopped"]\n'
        f'containers = ["{prefix}-*"]\n',
        encoding="utf-8",
    )
    run(api, victim, ON_TERM_EXIT.format(code=3))
    run(api, doomed, ON_TERM_EXIT.format(code=7))
    logs: list[str] = []
    with FakeSlack() as slack:

        def texts() -> list[str]:
            return [m.text or "" for m in slack.messages(channel=CHANNEL)]

        bot = start_http_bot(slack, tmp_path, CHATOPS_CONFIG=str(config))
        try:
            _wait_subscribed(api)
            run(api, early, "exit 2")
            slack.wait_for_messages(1, channel=CHANNEL, timeout=10)
        finally:
            stop_bot(bot)
            logs.append(bot.output())

        # Both away: the shutdown's deaths are lost with the daemon's memory; the re-list finds victim's.
        daemon.stop()
        daemon.start()
        api = daemon.api()
        api.remove_container(doomed, force=True)
        run(api, late, "exit 5")
        wait_status(api, late, "exited")
        run(api, victim2, ON_TERM_EXIT.format(code=8))
        bot = start_http_bot(slack, tmp_path, CHATOPS_CONFIG=str(config))
        try:
            slack.wait_for_messages(3, channel=CHANNEL, timeout=15)
            _wait_subscribed(api)

            # The daemon alone restarts: the bot's stream sees the shutdown live, then reconnects.
            daemon.stop()
            daemon.start()
            api = daemon.api()
            run(api, late2, "exit 9")  # before or after the bot reconnects: live or replayed, once
            slack.wait_for_messages(5, channel=CHANNEL, timeout=20)
            _wait_subscribed(api)
            run(api, after, "exit 6")
            slack.wait_for_messages(6, channel=CHANNEL, timeout=10)
            time.sleep(2.5)  # the settle period and an outbox interval: anything doubled would be out
        finally:
            stop_bot(bot)
            logs.append(bot.output())
        assert slack.errors == []
        assert sorted(texts()) == sorted(
            [
                f"{early} exited (2)",
                f"while the bot was away, {victim} exited (3)",
                f"{late} exited (5)",  # the new daemon replayed it to the bot's `since`
                f"{victim2} stopped (8)",  # seen live as the daemon stopped it
                f"{late2} exited (9)",
                f"{after} exited (6)",
            ]
        ), texts()
        assert not any(doomed in text for text in texts())
    for output in logs:
        assert "Traceback" not in output, output
