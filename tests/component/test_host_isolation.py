"""One host cannot starve the others: per-host worker shares and queues, a wall-clock deadline on every Engine
API call, and a circuit breaker per host — against the misbehaving fake engine (`tests/fakes/engine.py`) and
a real dead socket.

Time bounds here only catch a hang (the precise figures are in bench/host_isolation.py): the trickling
engine sends one byte every 0.2 s, so without a wall-clock deadline one call would take many minutes.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fakes.engine import FakeEngine

from bot.commands import args as a
from bot.engine import Engine, Host, hosts_from_settings
from bot.engine.act import stop_grace
from bot.engine.hosts import HostHealth, open_api_client
from bot.errors import ChatOpsError, ConfigError, EngineUnavailable
from bot.models import Outcome, PsResult, Reply
from bot.pool import CircuitBreaker
from bot.router import Invocation, Router
from bot.settings import load_settings

T = TypeVar("T")
HANG = 30.0  # a call that needs this long has hung: the old per-read timeout would have let it


def within(seconds: float, fn: Callable[[], T]) -> tuple[T | BaseException, float]:
    """Run `fn` on a daemon thread; its result (or exception) and how long it took, or fail after `seconds`
    (a hang must fail the test, not freeze the run)."""
    box: list[T | BaseException] = []

    def run() -> None:
        try:
            box.append(fn())
        except BaseException as exc:
            box.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if not box:
        pytest.fail(f"still running after {seconds} s: the call hung")
    return box[0], time.monotonic() - started


def no_answer(result: object, host: str, seconds: float) -> None:
    assert isinstance(result, EngineUnavailable), result
    assert f"host {host} did not answer within {seconds:g} s" in result.message
    assert result.hint is not None


@pytest.fixture
def trickling(tmp_path: Path) -> Iterator[FakeEngine]:
    """An engine whose `/containers/json` answer comes one byte every 0.2 s (4 KB: 13 minutes)."""
    with FakeEngine(tmp_path / "trickle.sock", containers="trickle", trickle_interval=0.2) as engine:
        yield engine


@pytest.fixture
def silent(tmp_path: Path) -> Iterator[FakeEngine]:
    """An engine that answers `/_ping` and `/version` but never `/containers/json`."""
    with FakeEngine(tmp_path / "silent.sock", containers="silent") as engine:
        yield engine


@pytest.fixture
def healthy(tmp_path: Path) -> Iterator[FakeEngine]:
    """An engine that answers everything at once (an empty container list)."""
    with FakeEngine(tmp_path / "healthy.sock") as engine:
        yield engine


# ---- the wall-clock deadline ------------------------------------------------------------------------------


def test_a_trickling_engine_is_cut_at_the_wall_clock_deadline(trickling: FakeEngine) -> None:
    """A byte every 0.2 s never trips a 1 s per-read timeout; the call still ends at its 1 s deadline,
    answered "did not answer within 1 s", then the quick check (ping, a one-row listing) trickles too, and
    the engine sees every connection shut."""
    engine = Engine(Host("slow", trickling.url, 1.0))
    result, elapsed = within(HANG, lambda: engine.ps(a.PsArgs()))
    no_answer(result, "slow", 1.0)
    assert isinstance(result, EngineUnavailable)
    assert result.hint is not None
    assert "did not answer a quick check either" in result.hint
    assert elapsed < 10.0
    paths = [r.path.split("?")[0] for r in trickling.requests()]
    assert paths == ["/version", "/v1.41/containers/json", "/v1.41/_ping", "/v1.41/containers/json"]
    assert "limit=1" in trickling.requests()[-1].path
    deadline = time.monotonic() + 10
    while trickling.open_connections and time.monotonic() < deadline:  # the cut reaches the engine
        time.sleep(0.05)
    assert trickling.open_connections == 0
    engine.close()


def test_the_version_negotiation_is_under_the_deadline_too(tmp_path: Path) -> None:
    """A fresh client negotiates the API version (`GET /version`) inside the first call's deadline."""
    with FakeEngine(tmp_path / "v.sock", version="trickle", trickle_interval=0.2) as fake:
        engine = Engine(Host("slow", fake.url, 1.0))
        result, _ = within(HANG, lambda: engine.version(a.VersionArgs()))
        no_answer(result, "slow", 1.0)
        # the quick check that follows has no version either: its own negotiation is cut the same way
        assert [r.path for r in fake.requests()] == ["/version", "/version"]
        fake.behave(version="ok")
        result, _ = within(HANG, lambda: engine.version(a.VersionArgs()))
        assert not isinstance(result, BaseException)
        assert result.server["ApiVersion"] == "1.41"
        engine.close()


def test_a_cut_connection_is_never_used_again(trickling: FakeEngine) -> None:
    """After a deadline the half-read connection is gone: the next call (on the same thread, so with the
    same client were it kept) opens a fresh one and works."""
    engine = Engine(Host("slow", trickling.url, 1.0))

    def cut_then_three() -> list[object]:
        results: list[object] = []
        for _ in range(4):
            try:
                results.append(engine.ps(a.PsArgs()))
            except EngineUnavailable as exc:
                results.append(exc)
            trickling.behave(containers="ok")
        return results

    results, _ = within(HANG, cut_then_three)
    assert isinstance(results, list)
    no_answer(results[0], "slow", 1.0)
    assert all(isinstance(result, PsResult) for result in results[1:])
    listings = trickling.requests("/containers/json")
    cut = listings[0].connection
    assert len(listings) == 5  # the cut one, the quick check's (on a fresh connection, cut too), three
    assert [r for r in trickling.requests() if r.connection == cut] == [listings[0]]
    assert listings[1].connection not in {cut, listings[2].connection}
    assert len({r.connection for r in listings[2:]}) == 1  # the fresh connection is kept alive and reused
    engine.close()


def test_a_call_may_ask_for_its_own_deadline(tmp_path: Path) -> None:
    """`_call(..., deadline=N)` (what `pull`, a long stream, uses) replaces the host's timeout for that call
    only: a trickling answer is read on past the host's 0.5 s, to its end, and cut at N when longer."""
    with FakeEngine(
        tmp_path / "d.sock", containers="trickle", trickle_interval=0.01, trickle_bytes=40
    ) as fake:
        engine = Engine(Host("long", fake.url, 0.5))
        listed, elapsed = within(HANG, lambda: engine._call(lambda api: api.containers(), deadline=HANG))
        assert listed == []
        assert elapsed > 0.5  # ~145 bytes, 0.01 s apart
        fake.trickle_bytes = 4096
        result, _ = within(HANG, lambda: engine._call(lambda api: api.containers(), deadline=1.0))
        no_answer(result, "long", 1.0)
        engine.close()


def test_a_silent_engine_is_answered_within_the_deadline(silent: FakeEngine) -> None:
    """A call the engine never answers ends at the deadline too, never later."""
    engine = Engine(Host("mute", silent.url, 1.0))
    result, elapsed = within(HANG, lambda: engine.ps(a.PsArgs()))
    no_answer(result, "mute", 1.0)
    assert elapsed < 10.0
    engine.close()


def test_the_event_watchers_clients_have_no_wall_clock_deadline(tmp_path: Path) -> None:
    """A client from `open_api_client` without a guard (the watcher's, reading an endless stream) is held
    only to its per-read timeout: a slow answer whose bytes keep coming is read to the end."""
    with FakeEngine(
        tmp_path / "w.sock", containers="trickle", trickle_interval=0.02, trickle_bytes=40
    ) as fake:
        host = Host("stream", fake.url, 0.5)
        client = open_api_client(host, "1.41")
        try:
            result, elapsed = within(HANG, client.containers)
        finally:
            client.close()
        assert result == []
        assert elapsed > host.timeout  # ~145 bytes × 0.02 s: far beyond 0.5 s, and never cut
        guarded = Engine(host)
        no_answer(within(HANG, lambda: guarded.ps(a.PsArgs()))[0], "stream", 0.5)
        guarded.close()


# ---- the circuit breaker on real sockets ------------------------------------------------------------------


@contextlib.contextmanager
def refusing_socket(path: Path) -> Iterator[str]:
    """A Unix socket file nobody listens on: every connect is refused (ECONNREFUSED), as after a crash."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    try:
        yield f"unix://{path}"
    finally:
        sock.close()


def test_a_dead_socket_trips_the_breaker_and_a_probe_brings_the_host_back(tmp_path: Path) -> None:
    """Three refused connections mark the host down: the next commands are refused at once and nothing
    reaches the socket, even once an engine listens there again; after the cool-down one probe (the quick
    check: `GET /_ping` and a one-row listing) goes first and, as it succeeds, the command runs."""
    path = tmp_path / "dead.sock"
    host = Host("dead", f"unix://{path}", 2.0)
    health = HostHealth(host, CircuitBreaker(threshold=3, cooldown=1.0))
    engine = Engine(host, health=health)
    with refusing_socket(path):
        for _ in range(3):
            with pytest.raises(EngineUnavailable, match="connection refused"):
                engine.ps(a.PsArgs())
        down_since = r"host dead is down since .* UTC; retrying in 1 s"
        with pytest.raises(EngineUnavailable, match=down_since) as down:
            engine.ps(a.PsArgs())
        assert down.value.hint is not None
        assert "3 calls in a row got no answer" in down.value.hint
        assert "connection refused" in down.value.hint
    with FakeEngine(path) as fake:
        with pytest.raises(EngineUnavailable, match="is down since"):
            engine.ps(a.PsArgs())
        assert fake.connections == 0  # refused without sending anything
        deadline = time.monotonic() + 10
        while health.refusal() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert isinstance(engine.ps(a.PsArgs()), PsResult)
        paths = [r.path.split("?")[0].removeprefix("/v1.41") for r in fake.requests()]
        assert paths == ["/version", "/_ping", "/containers/json", "/containers/json"]
        assert health.refusal() is None
    engine.close()


def test_a_failed_probe_keeps_the_host_down_for_longer(tmp_path: Path) -> None:
    """When the probe fails too, the host stays down and the next wait is longer (2 s after 1 s)."""
    path = tmp_path / "dead.sock"
    host = Host("dead", f"unix://{path}", 2.0)
    health = HostHealth(host, CircuitBreaker(threshold=1, cooldown=1.0, max_cooldown=8.0))
    engine = Engine(host, health=health)
    with refusing_socket(path):
        with pytest.raises(EngineUnavailable, match="connection refused"):
            engine.ps(a.PsArgs())
        deadline = time.monotonic() + 10
        while health.refusal() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(EngineUnavailable, match=r"is down since .*; retrying in 2 s") as probed:
            engine.ps(a.PsArgs())  # the probe failed: still down, nothing but the probe was sent
        assert probed.value.hint is not None
        assert "connection refused" in probed.value.hint
        assert "only the quick check was sent" in probed.value.hint
        refusal = health.refusal()
        assert refusal is not None
        assert "retrying in 2 s" in refusal.message
    engine.close()


# ---- the router: shares, queues, lanes --------------------------------------------------------------------


def test_a_hosts_workers_in_the_config_file_is_its_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`workers = 1` on one `[[hosts]]` entry: that host gets 1, the others split the rest of
    CHATOPS_WORKERS (3 and 2 of 6); a share below 1 stops start-up naming the key."""
    config = tmp_path / "chatops.toml"
    config.write_text(
        '[[hosts]]\nname = "a"\nurl = "unix:///a.sock"\nworkers = 1\n'
        '[[hosts]]\nname = "b"\nurl = "unix:///b.sock"\n'
        '[[hosts]]\nname = "c"\nurl = "unix:///c.sock"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("CHATOPS_CONFIG", str(config))
    monkeypatch.setenv("CHATOPS_WORKERS", "6")
    settings = load_settings(None)
    hosts = hosts_from_settings(settings)
    assert [h.workers for h in hosts] == [1, None, None]
    router = Router([Engine(h) for h in hosts], workers=settings.chatops_workers)
    try:
        assert {name: len(lane._threads) for name, lane in router.dispatcher.lanes.items()} == {
            "a": 1,
            "b": 3,
            "c": 2,
        }
        assert router.dispatcher.lanes["a"].max_pending == 64
    finally:
        router.close()
    config.write_text('[[hosts]]\nname = "a"\nurl = "unix:///a.sock"\nworkers = 0\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"hosts\.0\.workers"):
        load_settings(None)


def collect() -> tuple[list[Reply], Callable[[Reply], None]]:
    replies: list[Reply] = []
    lock = threading.Lock()

    def deliver(reply: Reply) -> None:
        with lock:
            replies.append(reply)

    return replies, deliver


def stuck_router(bad: FakeEngine, good: FakeEngine, **extra: Any) -> Router:
    """`bad` first (the default host) with a long deadline, so its workers stay stuck; `good` second."""
    return Router(
        [Engine(Host("bad", bad.url, HANG)), Engine(Host("good", good.url, 5.0))], workers=4, **extra
    )


def test_a_stuck_host_costs_only_its_own_share(silent: FakeEngine, healthy: FakeEngine) -> None:
    """Every worker of the bad host's share hangs in its engine, and more of its commands queue; meanwhile
    the good host's commands and the built-ins that touch no engine (even asked of the bad host) answer."""
    router = stuck_router(silent, healthy)
    replies, deliver = collect()
    try:
        for _ in range(6):
            router.dispatch(Invocation("ps -a", host="bad"), HANG, deliver)
        assert silent.wait_for_requests("/containers/json", 2)  # its whole share (4 workers, 2 hosts)
        for _ in range(3):
            reply = router.handle_within(Invocation("ps -a", host="good"), 10.0)
            assert reply.outcome is Outcome.OK, reply.problem
            assert isinstance(reply.steps[0].result, PsResult)
        for text in ("help", "whoami", "notify status", "audit", "inspects web"):
            # the default host is the stuck one
            reply = router.handle_within(Invocation(text, local_admin=True), 10.0)
            assert reply.outcome in {Outcome.OK, Outcome.USAGE}, reply.problem
        assert replies == []  # the bad host's commands are still stuck or queued
        assert len(silent.requests("/containers/json")) == 2  # never more at once than its share
    finally:
        silent.stop()
        router.close()


def test_a_full_queue_is_busy_for_its_host_only(silent: FakeEngine, healthy: FakeEngine) -> None:
    """The bad host's queue (64 for a share of 2) full: its next command is answered "busy" at once, naming
    the host; the good host's commands still run."""
    router = stuck_router(silent, healthy)
    replies, deliver = collect()
    try:
        for _ in range(2 + 64):
            router.dispatch(Invocation("ps -a", host="bad"), HANG, deliver)
        assert replies == []
        busy = router.handle_within(Invocation("ps -a", host="bad"), 10.0)
        assert busy.problem is not None
        assert busy.problem.kind == "Busy"
        assert "already waiting for host bad" in busy.problem.message
        assert busy.host == "bad"
        good = router.handle_within(Invocation("ps -a", host="good"), 10.0)
        assert good.outcome is Outcome.OK, good.problem
    finally:
        silent.stop()
        router.close()


def test_a_confirmation_runs_on_the_host_of_its_plan(silent: FakeEngine, healthy: FakeEngine) -> None:
    """A click names no host; it belongs to its pending plan's host (here the good one, while the default
    host is stuck). A click on an unknown plan is answered without waiting for any host."""
    router = stuck_router(silent, healthy)
    _replies, deliver = collect()
    try:
        for _ in range(6):
            router.dispatch(Invocation("ps -a"), HANG, deliver)
        assert silent.wait_for_requests("/containers/json", 2)
        pending = router.store.create_pending(
            team_id="",
            user_id="local",
            channel_id="shell",
            host="good",
            text="ps -a",
            plan_hash=hashlib.sha256(b"").hexdigest(),  # a chain that plans nothing (read only)
            approval="none",
            ttl=60,
        )
        reply = router.handle_within(Invocation("", plan_id=pending.id), 10.0)
        assert reply.outcome is Outcome.OK, reply.problem
        assert reply.host == "good"
        assert isinstance(reply.steps[0].result, PsResult)
        unknown = router.handle_within(Invocation("", plan_id="no-such-plan"), 10.0)
        assert unknown.problem is not None
        assert unknown.problem.kind == "NotFound"
    finally:
        silent.stop()
        router.close()


def test_a_down_host_is_answered_at_once_and_audited(tmp_path: Path, healthy: FakeEngine) -> None:
    """Once the breaker has opened, a command to that host is answered at once without a worker, says
    since when and when it retries, and is audited as refused; other hosts are untouched."""
    path = tmp_path / "dead.sock"
    dead = Host("dead", f"unix://{path}", 2.0)
    health = HostHealth(dead, CircuitBreaker(threshold=3, cooldown=60.0))
    router = Router([Engine(dead, health=health), Engine(Host("good", healthy.url, 5.0))], workers=4)
    try:
        with refusing_socket(path):
            for _ in range(3):
                reply = router.handle_within(Invocation("ps -a"), 10.0)
                assert reply.problem is not None
                assert "connection refused" in reply.problem.message
            reply, elapsed = within(HANG, lambda: router.handle_within(Invocation("ps -a"), 10.0))
            assert isinstance(reply, Reply)
            assert reply.problem is not None
            assert reply.problem.kind == "EngineUnavailable"
            assert "host dead is down since" in reply.problem.message
            assert "retrying in 60 s" in reply.problem.message
            assert elapsed < 5.0
        assert router.store.audit_rows(limit=1)[0].outcome == "refused: host down"
        assert router.handle_within(Invocation("ps -a", host="good"), 10.0).outcome is Outcome.OK
    finally:
        router.close()


def test_calls_to_a_trickling_host_end_at_its_deadline_through_the_router(trickling: FakeEngine) -> None:
    """Through the router, every command to the trickling host is answered "did not answer within 1 s"
    (not the command timeout, not the per-read timeout × bytes), the stuck ones and the queued ones."""
    router = Router([Engine(Host("slow", trickling.url, 1.0))], workers=2)
    replies, deliver = collect()
    try:
        for _ in range(4):
            router.dispatch(Invocation("ps -a"), HANG, deliver)
        deadline = time.monotonic() + HANG
        while len(replies) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(replies) == 4
        for reply in replies:
            assert reply.problem is not None
            assert reply.problem.kind in {"EngineUnavailable"}
            assert (
                "did not answer within 1 s" in reply.problem.message
                or "is down since" in reply.problem.message
            )
    finally:
        router.close()


def test_every_engine_error_is_still_ours(tmp_path: Path) -> None:
    """A connection the engine hangs up on at once is an `EngineUnavailable`, never a docker-py error."""
    with FakeEngine(tmp_path / "c.sock", containers="close") as fake:
        engine = Engine(Host("rude", fake.url, 2.0))
        result, _ = within(HANG, lambda: engine.ps(a.PsArgs()))
        assert isinstance(result, ChatOpsError)
        assert isinstance(result, EngineUnavailable)
        engine.close()


# ---- slow calls, wedged engines, grace times -----------------------------------------------------------


def _cut_each(engine: Engine, times: int, fn: Callable[[Any], object]) -> list[object]:
    results: list[object] = []
    for _ in range(times):
        try:
            results.append(engine._call(fn))
        except EngineUnavailable as exc:
            results.append(exc)
    return results


def test_a_call_slow_by_its_nature_never_marks_the_host_down(tmp_path: Path) -> None:
    """Calls the engine does not answer in time while it answers the quick check (`/_ping` and a one-row
    listing) at once are slow by their nature (a stuck `rm -f`, a big `system df`): each is answered "did not
    answer within 0.5 s", saying the host is not counted as down, and four in a row leave the breaker
    closed, so the next listing runs."""
    with FakeEngine(tmp_path / "slow.sock", others="silent") as fake:
        host = Host("busy", fake.url, 0.5)
        health = HostHealth(host, CircuitBreaker(threshold=3, cooldown=60.0))
        engine = Engine(host, health=health)
        results, _ = within(HANG, lambda: _cut_each(engine, 4, lambda api: api.df()))
        assert isinstance(results, list)
        for result in results:
            no_answer(result, "busy", 0.5)
            assert isinstance(result, EngineUnavailable)
            assert result.hint is not None
            assert "not counted as down" in result.hint
        assert health.refusal() is None
        assert len(fake.requests("/system/df")) == 4  # none was refused: the host never went down
        assert isinstance(engine.ps(a.PsArgs()), PsResult)
        engine.close()


def test_a_wedged_engine_that_answers_pings_stays_down_until_it_lists_again(silent: FakeEngine) -> None:
    """A dockerd that answers `/_ping` but never a listing (the common deadlock): three cut listings whose
    quick check fails too mark it down; after the cool-down the probe is the quick check, whose listing
    hangs too, so the host stays down for twice as long and the command itself is never sent. Once the
    engine lists again, the next probe passes and the command runs."""
    host = Host("wedged", silent.url, 0.5)
    health = HostHealth(host, CircuitBreaker(threshold=3, cooldown=0.5, max_cooldown=8.0))
    engine = Engine(host, health=health)

    def until_probe_due() -> None:
        deadline = time.monotonic() + 10
        while health.refusal() is not None and time.monotonic() < deadline:
            time.sleep(0.02)

    results, _ = within(HANG, lambda: _cut_each(engine, 3, lambda api: api.containers(all=True)))
    assert isinstance(results, list)
    for result in results:
        no_answer(result, "wedged", 0.5)
    assert health.refusal() is not None
    until_probe_due()
    sent = len(silent.requests("/containers/json"))
    probed, _ = within(HANG, lambda: _cut_each(engine, 1, lambda api: api.containers(all=True)))
    assert isinstance(probed, list)
    refused = probed[0]
    assert isinstance(refused, EngineUnavailable)
    assert "host wedged is down since" in refused.message
    assert "retrying in 1 s" in refused.message  # 0.5 s doubled
    assert refused.hint is not None
    assert "only the quick check was sent" in refused.hint
    listed = silent.requests("/containers/json")[sent:]
    assert len(listed) == 1  # the probe's one-row listing; the command's own listing never went
    assert "limit=1" in listed[0].path
    assert health.refusal() is not None
    silent.behave(containers="ok")
    until_probe_due()
    result, _ = within(HANG, lambda: engine.ps(a.PsArgs()))
    assert isinstance(result, PsResult)
    assert health.refusal() is None
    engine.close()


def test_a_timeout_names_the_budget_the_call_was_given(tmp_path: Path) -> None:
    """A request that asked for a longer wait (`stop -t 1` on a 0.5 s host: 1.5 s) is answered "did not
    answer within 1.5 s", the budget it was given, not the instant the deadline was measured at."""
    with FakeEngine(tmp_path / "stop.sock", others="silent") as fake:
        engine = Engine(Host("slow", fake.url, 0.5))
        result, elapsed = within(HANG, lambda: engine._call(lambda api: api.stop("web", timeout=1)))
        assert isinstance(result, EngineUnavailable)
        assert "host slow did not answer within 1.5 s (" in result.message, result.message
        assert elapsed >= 1.4
        engine.close()


@pytest.mark.parametrize(
    ("stop_timeout", "grace"),
    [(None, 10.0), (15, 15.0), (3, 10.0), (0, 10.0), (-1, 600.0), (86400, 600.0), ("15", 10.0), (True, 10.0)],
)
def test_a_stop_without_t_is_given_the_containers_own_stop_timeout(
    stop_timeout: object, grace: float
) -> None:
    """The grace a `stop` without -t is given: the container's StopTimeout, never less than docker-py's
    10 s, a negative one (the daemon waits for ever) and a huge one bounded by the longest -t (600 s)."""
    assert stop_grace(stop_timeout) == grace


WEB = {
    "Id": "ab" * 32,
    "Names": ["/web"],
    "Image": "busybox",
    "ImageID": "sha256:" + "cd" * 32,
    "Command": "sleep 1000",
    "Created": 1_700_000_000,
    "State": "running",
    "Status": "Up 2 minutes",
    "Ports": [],
    "Labels": {},
}


def test_a_stops_grace_time_extends_the_command_timeout(tmp_path: Path) -> None:
    """`stop -t 2 web` with a 1 s command timeout: the stop's 2 s of grace are added to the command's
    timeout while it runs, so the answer is the engine's own ("did not answer within 2.5 s": its 0.5 s
    plus the grace, the stop hanging here), not the router's "did not finish within 1 s"; a listing that
    asks for no grace keeps the plain command timeout."""
    with FakeEngine(tmp_path / "grace.sock", others="silent", listing=[WEB]) as fake:
        router = Router([Engine(Host("slow", fake.url, 0.5))], workers=2)
        try:
            reply, _ = within(
                HANG, lambda: router.handle_within(Invocation("stop -t 2 web", local_admin=True), 1.0)
            )
            assert isinstance(reply, Reply)
            assert reply.problem is not None
            assert reply.problem.kind == "EngineUnavailable", reply.problem
            assert "host slow did not answer within 2.5 s" in reply.problem.message
            assert fake.requests(f"/containers/{WEB['Id']}/stop")
            fake.behave(containers="silent")
            reply, elapsed = within(HANG, lambda: router.handle_within(Invocation("ps -a"), 0.2))
            assert isinstance(reply, Reply)
            assert reply.problem is not None
            assert reply.problem.kind == "Timeout"
            assert "did not finish within 0.2 s" in reply.problem.message
            assert elapsed < 0.45  # not extended: the listing's own 0.5 s deadline had not come yet
        finally:
            fake.stop()
            router.close()
