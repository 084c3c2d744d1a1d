"""The event watcher on the real engine: deaths, opt-outs, health, restart loops, OOM, dropped streams, gaps.

Every test routes only containers named with its own unique prefix, so other tests sharing the engine never
show up; containers are removed afterwards even when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from engine_proxy import EngineProxy
from notify_recorder import Recorder

from bot.engine.hosts import Host
from bot.notify.events import DockerEvent
from bot.notify.rules import Rules
from bot.notify.watcher import EVENT_FILTERS, HostWatcher, SqliteCursorStore
from bot.settings import NotifyConfig

ALL_KINDS = ["died", "oom", "unhealthy", "restart_loop", "recovered", "stopped", "started"]
PROBLEMS = ["died", "oom", "unhealthy", "restart_loop", "recovered"]
HOST_NAME = "local"
RUN_LABEL = "ctest.notify.run"


class FreezingProxy:
    """A unix-socket proxy to the engine that can freeze: bytes stop flowing, yet no connection closes.

    Connections open while frozen stay dead for good (a path that silently died); after `thaw()` new
    connections work again.
    """

    def __init__(self, path: Path, target: str) -> None:
        self.path, self.target = path, target
        self.frozen = False
        self._dead: set[socket.socket] = set()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            with self._lock:
                self._sockets += [client, upstream]
                if self.frozen:
                    self._dead.add(client)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, client: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                with self._lock:
                    dead = client in self._dead
                if not dead:
                    sink.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def freeze(self) -> None:
        """From now on, every open and new connection stops carrying bytes (without closing)."""
        with self._lock:
            self.frozen = True
            self._dead.update(s for s in self._sockets)

    def thaw(self) -> None:
        """New connections carry bytes again; the frozen ones stay dead."""
        with self._lock:
            self.frozen = False

    def close(self) -> None:
        """Close the listener and every connection."""
        self._server.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()


class Mutes:
    """A MuteStore muting the container names it holds."""

    def __init__(self, *names: str) -> None:
        self.names = set(names)

    def is_muted(self, host: str, container: str) -> bool:
        """True for a muted name."""
        return container in self.names


@pytest.fixture
def prefix(unique_name: Callable[[str], str]) -> str:
    """This test's container name prefix; routes match only `<prefix>-*`."""
    return unique_name("n")


@pytest.fixture
def make_container(docker_api: Any, test_image: str, prefix: str) -> Iterator[Callable[..., str]]:
    """Create (by default start) a labelled container named `<prefix>-<suffix>`; all removed afterwards."""
    made: list[str] = []

    def make(
        suffix: str,
        command: str,
        *,
        start: bool = True,
        labels: dict[str, str] | None = None,
        **host_config: Any,
    ) -> str:
        name = f"{prefix}-{suffix}"
        healthcheck = host_config.pop("healthcheck", None)
        created = docker_api.create_container(
            test_image,
            ["sh", "-c", command],
            name=name,
            labels={RUN_LABEL: prefix, **(labels or {})},
            healthcheck=healthcheck,
            host_config=docker_api.create_host_config(**host_config),
        )
        made.append(created["Id"])
        if start:
            docker_api.start(created["Id"])
        return name

    yield make
    for container in made:
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_container(container, force=True)


@pytest.fixture
def watch(tmp_path: Path, prefix: str) -> Iterator[Callable[..., HostWatcher]]:
    """Start a watcher on the test engine (quick timings for tests); every watcher is stopped afterwards."""
    started: list[HostWatcher] = []
    url = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"

    def make(
        sink: Recorder,
        *,
        events: list[str] | None = None,
        store: SqliteCursorStore | None = None,
        mutes: Mutes | None = None,
        observe: Callable[[DockerEvent], None] | None = None,
        **loop: str | int,
    ) -> HostWatcher:
        config = NotifyConfig.model_validate(
            {
                "routes": [
                    {"channel": "C0TEST", "events": events or ALL_KINDS, "containers": [f"{prefix}-*"]}
                ],
                "restart_loop": {"restarts": 3, "within": "5m", "stable": "1s", **loop},
            }
        )
        store = store or SqliteCursorStore(tmp_path / "chatops.db")
        watcher = HostWatcher(
            Host(HOST_NAME, url, 10.0),
            Rules(config, mutes),
            sink,
            store,
            store,
            ping_interval=1.0,
            tick_interval=0.1,
            settle=0.5,
            backoff=(0.05, 1.0),
            observe=observe,
        )
        watcher.start()
        started.append(watcher)
        assert watcher.wait_connected(1, timeout=10.0)
        return watcher

    yield make
    for watcher in started:
        watcher.stop()


def wait_state(
    api: Any, name: str, done: Callable[[dict[str, Any]], bool], timeout: float = 15.0
) -> dict[str, Any]:
    """Poll inspect until `done(State)`; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        state: dict[str, Any] = api.inspect_container(name)["State"]
        if done(state):
            return state
        assert time.monotonic() < deadline, f"{name} never reached the state; last {state}"
        time.sleep(0.05)


def run_in(api: Any, name: str, command: str) -> None:
    """`docker exec NAME sh -c COMMAND`."""
    exec_id = api.exec_create(name, ["sh", "-c", command])["Id"]
    api.exec_start(exec_id)


def test_a_non_zero_exit_is_died_within_3_seconds(
    watch: Callable[..., HostWatcher], make_container: Callable[..., str], docker_api: Any
) -> None:
    """A container exiting 3 gives one "died" naming it with exit code 3 within 3 s, logs masked."""
    sink = Recorder()
    watch(sink, events=PROBLEMS)
    name = make_container("web", "echo booting; echo password=hunter2; sleep 0.3; exit 3")
    state = wait_state(docker_api, name, lambda s: s["Status"] == "exited")
    finished = time.monotonic()
    (note,) = sink.wait(name, "died", timeout=3.0)
    assert time.monotonic() - finished < 3.0
    assert (note.exit_code, note.host, note.channels, note.oom_killed) == (3, HOST_NAME, ("C0TEST",), False)
    assert state["ExitCode"] == 3
    assert note.digest_line == f"{name} (3)"
    assert note.log_tail == ("booting", "password=•••")


def test_zero_exit_muted_and_opted_out_containers_make_nothing(
    watch: Callable[..., HostWatcher], make_container: Callable[..., str], prefix: str
) -> None:
    """Exit 0, a muted container and a chatops.notify=false container are silent; a control one is not."""
    sink = Recorder()
    watch(sink, events=PROBLEMS, mutes=Mutes(f"{prefix}-muted"))
    quiet = [
        make_container("clean", "exit 0"),
        make_container("muted", "exit 1"),
        make_container("optout", "exit 1", labels={"chatops.notify": "false"}),
    ]
    time.sleep(0.5)
    control = make_container("control", "exit 1")
    sink.wait(control, "died")
    time.sleep(0.3)
    assert [n for n in sink.notes if n.container in quiet] == []


def test_unhealthy_then_healthy_again_is_recovered(
    watch: Callable[..., HostWatcher], make_container: Callable[..., str], docker_api: Any
) -> None:
    """A failing health check is "unhealthy" with the probe's output; passing again edits it: "recovered"."""
    sink = Recorder()
    watch(sink, events=PROBLEMS)
    check = {
        "test": ["CMD-SHELL", "cat /tmp/ok"],
        "interval": 200_000_000,
        "timeout": 2_000_000_000,
        "retries": 1,
    }
    name = make_container("health", "touch /tmp/ok; exec sleep 300", healthcheck=check)
    wait_state(docker_api, name, lambda s: s.get("Health", {}).get("Status") == "healthy")
    run_in(docker_api, name, "rm /tmp/ok")
    (unhealthy,) = sink.wait(name, "unhealthy")
    assert unhealthy.health_output is not None
    assert "can't open" in unhealthy.health_output
    run_in(docker_api, name, "touch /tmp/ok")
    (recovered,) = sink.wait(name, "recovered")
    assert recovered.update_key == unhealthy.episode_key is not None


def test_a_restart_loop_is_one_episode_with_updates_then_recovered(
    watch: Callable[..., HostWatcher], make_container: Callable[..., str]
) -> None:
    """restart=always on a crashing command: one restart_loop, counted thread updates, then recovered."""
    sink = Recorder()
    watch(sink, events=PROBLEMS)
    crash_five_times = (
        "n=$(cat /c 2>/dev/null || echo 0); n=$((n+1)); echo $n > /c; [ $n -gt 5 ] && exec sleep 300; exit 1"
    )
    name = make_container("loop", crash_five_times, restart_policy={"Name": "always"})
    (recovered,) = sink.wait(name, "recovered", timeout=15.0)
    (loop,) = sink.of(name, "restart_loop")
    updates = sink.of(name, "restart_loop_update")
    assert loop.restart_count == 3
    assert [u.restart_count for u in updates] == [4, 5]
    assert {u.thread_key for u in updates} == {loop.episode_key}
    assert recovered.update_key == loop.episode_key is not None
    assert [n.exit_code for n in sink.of(name, "died")] == [1, 1, 1]


def test_a_restart_loop_keeps_its_episode_across_a_watcher_restart(
    watch: Callable[..., HostWatcher], make_container: Callable[..., str], tmp_path: Path
) -> None:
    """The bot restarts mid-episode: no second opener, later restarts still go to the first episode's thread,
    and the recovery still edits the first message (the rule memory is saved with the cursor)."""
    store = SqliteCursorStore(tmp_path / "state.db")
    sink = Recorder()
    first = watch(sink, events=PROBLEMS, store=store)
    crash_six_times = (
        "n=$(cat /c 2>/dev/null || echo 0); n=$((n+1)); echo $n > /c; [ $n -gt 6 ] && exec sleep 300; exit 1"
    )
    name = make_container("loop", crash_six_times, restart_policy={"Name": "always"})
    (loop,) = sink.wait(name, "restart_loop", timeout=15.0)
    first.stop()
    time.sleep(0.3)  # a restart or two happen while no watcher runs; the stream replays them from the cursor
    watch(sink, events=PROBLEMS, store=store)
    (recovered,) = sink.wait(name, "recovered", timeout=20.0)
    updates = sink.of(name, "restart_loop_update")
    assert len(sink.of(name, "restart_loop")) == 1
    assert [u.restart_count for u in updates] == [4, 5, 6]
    assert {u.thread_key for u in updates} == {loop.episode_key}
    assert (recovered.update_key, recovered.restart_count) == (loop.episode_key, 6)
    assert [n.exit_code for n in sink.of(name, "died")] == [1, 1, 1]
    store.close()


def test_an_oom_kill_is_reported_as_oom_where_the_kernel_allows_it(
    watch: Callable[..., HostWatcher], make_container: Callable[..., str], docker_api: Any
) -> None:
    """8 MB and a shell that swallows /dev/zero: "oom" with OOMKilled; if no OOM, the state proves why."""
    sink = Recorder()
    watch(sink, events=PROBLEMS)
    limit = 8 * 1024 * 1024
    name = make_container("oom", "x=$(tail /dev/zero)", mem_limit=limit, memswap_limit=limit)
    state = wait_state(docker_api, name, lambda s: s["Status"] == "exited")
    deadline = time.monotonic() + 5.0
    while not (sink.of(name, "oom") or sink.of(name, "died")) and time.monotonic() < deadline:
        time.sleep(0.05)
    if state["OOMKilled"]:
        (note,) = sink.of(name, "oom")
        assert (note.oom_killed, note.exit_code) == (True, state["ExitCode"])
        assert note.digest_line == f"{name} (OOM)"
    else:  # the kernel refused to OOM-kill here: the death is still reported, honestly not as OOM
        (note,) = sink.of(name, "died")
        assert (note.oom_killed, note.exit_code) == (False, state["ExitCode"])


def test_a_dropped_stream_resumes_with_since_and_loses_or_doubles_nothing(
    watch: Callable[..., HostWatcher], make_container: Callable[..., str], prefix: str
) -> None:
    """Closing the stream three times mid-burst: the watcher sees exactly what an independent reader sees."""
    seen: list[tuple[str, str, int]] = []
    independent: list[tuple[str, str, int]] = []

    def observe(event: DockerEvent) -> None:
        if event.attributes.get(RUN_LABEL) == prefix:
            seen.append(event.key)

    client = docker.DockerClient(base_url=os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock")
    stream = client.api.events(decode=True, filters={**EVENT_FILTERS, "label": [f"{RUN_LABEL}={prefix}"]})

    def read() -> None:
        for raw in stream:
            independent.append(DockerEvent.from_api(HOST_NAME, raw).key)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sink = Recorder()
    watcher = watch(sink, events=PROBLEMS, observe=observe)
    names = []
    try:
        for number in range(6):
            names.append(make_container(f"burst{number}", "exit 1"))
            if number % 2 == 1:
                watcher.force_reconnect()
        for name in names:
            sink.wait(name, "died")
        deadline = time.monotonic() + 5.0
        while sorted(seen) != sorted(independent) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stream.close()
        reader.join(5.0)
        client.close()
    assert watcher.connections >= 4
    assert len(independent) >= 6 * 3  # create, start, die at least
    assert len(seen) == len(set(seen))
    assert sorted(seen) == sorted(independent)
    for name in names:
        assert len(sink.of(name, "died")) == 1


def test_changes_while_stopped_are_reported_once_after_a_restart(
    watch: Callable[..., HostWatcher],
    make_container: Callable[..., str],
    docker_api: Any,
    tmp_path: Path,
) -> None:
    """Stop the watcher, let containers die, start it again: each death is reported exactly once."""
    store = SqliteCursorStore(tmp_path / "state.db")
    waiter = "while [ ! -f /tmp/go ]; do sleep 0.1; done; exit {code}"
    first = make_container("first", waiter.format(code=7))
    second = make_container("second", waiter.format(code=9))
    for name in (first, second):
        wait_state(docker_api, name, lambda s: s["Running"])
    sink = Recorder()
    watch(sink, events=PROBLEMS, store=store).stop()

    # The stream still holds the death: it is replayed from the cursor, and the re-list agrees.
    run_in(docker_api, first, "touch /tmp/go")
    wait_state(docker_api, first, lambda s: s["Status"] == "exited")
    restarted = watch(sink, events=PROBLEMS, store=store)
    (died,) = sink.wait(first, "died")
    assert died.exit_code == 7
    time.sleep(1.0)
    assert len(sink.of(first)) == 1
    restarted.stop()

    # The daemon forgot (as after its restart): only the re-list knows, and says so.
    store.forget_cursor(HOST_NAME)
    run_in(docker_api, second, "touch /tmp/go")
    wait_state(docker_api, second, lambda s: s["Status"] == "exited")
    watch(sink, events=PROBLEMS, store=store)
    (away,) = sink.wait(second, "died")
    assert away.away
    assert away.summary == f"while the bot was away, {second} exited (9)"
    time.sleep(1.0)
    assert len(sink.of(second)) == 1
    assert len(sink.of(first)) == 1
    store.close()


def test_a_stream_that_hangs_without_closing_is_replaced_by_the_watchdog(
    make_container: Callable[..., str], prefix: str, tmp_path: Path
) -> None:
    """A silently dead path: the watchdog's failed ping replaces stream and stuck reader; nothing is lost."""
    target = (os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock").removeprefix("unix://")
    if not Path(target).is_socket():
        pytest.fail(f"this test needs the engine on a unix socket, not {target}")
    proxy = FreezingProxy(tmp_path / "engine.sock", target)
    config = NotifyConfig.model_validate(
        {"routes": [{"channel": "C0TEST", "events": PROBLEMS, "containers": [f"{prefix}-*"]}]}
    )
    sink = Recorder()
    store = SqliteCursorStore(tmp_path / "chatops.db")
    host = Host(HOST_NAME, f"unix://{tmp_path / 'engine.sock'}", 0.5)
    watcher = HostWatcher(
        host, Rules(config), sink, store, store, ping_interval=0.3, tick_interval=0.1, backoff=(0.05, 0.5)
    )
    watcher.start()
    try:
        assert watcher.wait_connected(1, timeout=10.0)
        before = make_container("before", "exit 1")
        sink.wait(before, "died")
        proxy.freeze()
        during = make_container("during", "exit 2")  # its death happens while the stream hears nothing
        deadline = time.monotonic() + 10.0
        while not (watcher.ping_failures and watcher.stuck_readers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert watcher.ping_failures >= 1  # the ping noticed; closing the stream was not enough:
        assert watcher.stuck_readers >= 1  # the reconnect hung too, and its reader was replaced
        assert sink.of(during) == []
        proxy.thaw()
        (died,) = sink.wait(during, "died", timeout=10.0)
        assert died.exit_code == 2
        assert watcher.connections >= 2
        after = make_container("after", "exit 3")
        sink.wait(after, "died")
    finally:
        watcher.stop(timeout=5.0)
        proxy.close()
        store.close()


# ---- facts from the engine, not from labels -----------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "code"),
    [
        ({"exitCode": "0"}, 5),
        ({"exitCode": "abc"}, 3),
        ({"exitCode": "7", "name": "prod-db", "image": "evil/img:1", "signal": "9"}, 4),
    ],
)
def test_a_label_cannot_hide_a_crash_or_rename_it(
    watch: Callable[..., HostWatcher],
    make_container: Callable[..., str],
    docker_api: Any,
    labels: dict[str, str],
    code: int,
) -> None:
    """Docker copies labels over the die event's exitCode: the watcher asks the engine instead, and names
    the container and its image as the engine knows them (checked against inspect)."""
    sink = Recorder()
    watch(sink, events=PROBLEMS)
    name = make_container("labelled", f"echo bye; exit {code}", labels=labels)
    state = wait_state(docker_api, name, lambda s: s["Status"] == "exited")
    (note,) = sink.wait(name, "died")
    info = docker_api.inspect_container(name)
    assert state["ExitCode"] == code
    assert (note.exit_code, note.exit_unknown) == (code, False)
    assert (note.container, note.image) == (info["Name"].removeprefix("/"), info["Config"]["Image"])
    assert note.image != labels.get("image")
    assert note.summary == f"{name} exited ({code})"
    assert note.log_tail == ("bye",)


def test_a_label_claiming_a_crash_does_not_make_a_clean_exit_one(
    watch: Callable[..., HostWatcher], make_container: Callable[..., str], docker_api: Any
) -> None:
    """Labelled exitCode=7, the container exits 0: not a death; a route taking "stopped" hears exit 0."""
    sink = Recorder()
    watch(sink, events=["died", "stopped"])
    name = make_container("clean", "exit 0", labels={"exitCode": "7"})
    wait_state(docker_api, name, lambda s: s["Status"] == "exited")
    (note,) = sink.wait(name, "stopped")
    assert note.exit_code == 0
    time.sleep(0.5)
    assert sink.of(name, "died") == []


def test_the_die_event_really_carries_the_label_value(docker_api: Any, test_image: str, prefix: str) -> None:
    """The reproduction itself, on this engine: the die event of a container labelled exitCode=0 that exits
    5 says "0" (if this ever fails, the engine stopped shadowing and the test above proves less)."""
    events = docker_api.events(decode=True, filters={"event": ["die"], "label": [f"{RUN_LABEL}={prefix}"]})
    created = docker_api.create_container(
        test_image,
        ["sh", "-c", "exit 5"],
        name=f"{prefix}-repro",
        labels={RUN_LABEL: prefix, "exitCode": "0"},
        network_disabled=True,
    )
    try:
        docker_api.start(created["Id"])
        event = next(iter(events))
    finally:
        events.close()
        docker_api.remove_container(created["Id"], force=True)
    assert event["Actor"]["Attributes"]["exitCode"] == "0"


# ---- a crash between the checkpoint and the sink --------------------------------------------------------


class StuckSink(Recorder):
    """A sink that takes nothing until released (an outbox that cannot write, a deliverer far behind)."""

    def __init__(self) -> None:
        super().__init__()
        self.released = threading.Event()

    def __call__(self, note: Any) -> None:
        self.released.wait(30)
        super().__call__(note)


def copy_state(source: Path, target: Path) -> SqliteCursorStore:
    """What a SIGKILL leaves of the state file now: its committed content (SQLite's online backup)."""
    with (
        contextlib.closing(sqlite3.connect(source)) as live,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        live.backup(copy)
    return SqliteCursorStore(target)


def test_a_crash_after_the_checkpoint_passed_loses_no_notification_and_doubles_none(
    watch: Callable[..., HostWatcher],
    make_container: Callable[..., str],
    docker_api: Any,
    prefix: str,
    tmp_path: Path,
) -> None:
    """The sink is stuck while five containers die; the saved cursor moves past their die events anyway.
    A watcher started on a copy of the state file at that instant (what SIGKILL leaves) hands each death to
    its sink exactly once; once the first watcher's sink took them all, a copy hands on nothing."""
    dies: dict[str, int] = {}
    stream = docker_api.events(decode=True, filters={"event": ["die"], "label": [f"{RUN_LABEL}={prefix}"]})

    def read() -> None:
        with contextlib.suppress(Exception):
            for raw in stream:
                dies[raw["Actor"]["Attributes"]["name"]] = raw["timeNano"]

    threading.Thread(target=read, daemon=True).start()
    store = SqliteCursorStore(tmp_path / "state.db")
    stuck = StuckSink()
    try:
        watch(stuck, events=PROBLEMS, store=store)
        codes = {make_container(f"d{n}", f"exit {n + 1}"): n + 1 for n in range(5)}
        deadline = time.monotonic() + 15
        while len(dies) < len(codes) or (store.get(HOST_NAME) or 0) < max(dies.values()):
            assert time.monotonic() < deadline, f"the saved cursor never passed the deaths: {dies}"
            time.sleep(0.05)
        assert stuck.notes == []  # nothing reached the sink: every death is between checkpoint and sink
        crashed = copy_state(tmp_path / "state.db", tmp_path / "crashed.db")
        after = Recorder()
        watch(after, events=PROBLEMS, store=crashed)
        for name, code in codes.items():
            (note,) = after.wait(name, "died")
            assert note.exit_code == code
        stuck.released.set()
        for name in codes:
            stuck.wait(name, "died")
        deadline = time.monotonic() + 10
        while store.inflight_count(HOST_NAME):
            assert time.monotonic() < deadline, "the delivered notifications were never settled"
            time.sleep(0.05)
        settled = copy_state(tmp_path / "state.db", tmp_path / "settled.db")
        again = Recorder()
        watch(again, events=PROBLEMS, store=settled)
        time.sleep(1.5)
    finally:
        stuck.released.set()
        stream.close()
    for name in codes:
        assert len(after.of(name)) == 1
        assert len(stuck.of(name)) == 1
    assert again.notes == []


def test_an_engine_trickling_its_logs_delays_notifications_by_the_enrichment_deadline_at_most(
    tmp_path: Path, make_container: Callable[..., str], prefix: str
) -> None:
    """An engine that answers `GET …/logs` one byte every 0.5 s (the rest at once): the enrichment's calls
    are held to the host's 1 s deadline, so each death is posted within seconds, in the order of its
    events, without its log tail and saying why; the event stream itself (no deadline) stays the one it
    was; a death still being enriched when the watcher stops is posted all the same, and `stop()` returns
    within its bound."""
    url_of_logs = "/logs"
    with EngineProxy(
        tmp_path / "slowlogs.sock", trickle=lambda _m, target: 0.5 if url_of_logs in target else None
    ) as proxy:
        sink = Recorder()
        died: list[str] = []
        config = NotifyConfig.model_validate(
            {"routes": [{"channel": "C0TEST", "events": ["died"], "containers": [f"{prefix}-*"]}]}
        )
        store = SqliteCursorStore(tmp_path / "chatops.db")
        watcher = HostWatcher(
            Host("slowlogs", proxy.url, 1.0),
            Rules(config),
            sink,
            store,
            store,
            ping_interval=1.0,
            tick_interval=0.1,
            settle=0.3,
            observe=lambda event: died.append(event.name) if event.action == "die" else None,
        )
        watcher.start()
        try:
            assert watcher.wait_connected(1, timeout=10.0)
            first = make_container("a", "echo boom; exit 3")
            second = make_container("b", "echo bang; exit 4")
            unavailable = ("(log tail unavailable: the engine did not answer within 1 s)",)
            (one,) = sink.wait(first, "died", timeout=15.0)  # a log tail of ~100 bytes would take 50 s
            (two,) = sink.wait(second, "died", timeout=15.0)
            assert (one.exit_code, two.exit_code) == (3, 4)
            assert one.log_tail == two.log_tail == unavailable
            assert [n.container for n in sink.notes] == [name for name in died if name in {first, second}]
            assert watcher.connections == 1  # the stream outlived many host timeouts: it has no deadline
            assert watcher.reconnects == 0
            third = make_container("c", "echo last; exit 5")
            deadline = time.monotonic() + 10
            while third not in died and time.monotonic() < deadline:
                time.sleep(0.02)
            assert third in died
        finally:
            stopping = threading.Thread(target=watcher.stop, kwargs={"timeout": 4.0}, daemon=True)
            started = time.monotonic()
            stopping.start()
            stopping.join(30.0)
            stopped_in = time.monotonic() - started
        assert not stopping.is_alive(), "stop() hung behind an enrichment"
        assert stopped_in < 12.0
        (last,) = sink.of(third, "died")
        assert last.exit_code == 5
        assert last.log_tail == unavailable
        assert store.inflight_count("slowlogs") == 0
        store.close()
