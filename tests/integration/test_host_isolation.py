"""One host cannot starve all (issue reproduction 5): the real engine next to a trickling and a silent fake
engine in one router. The healthy host's commands are answered while every worker of each bad host's share is
stuck, and the bad hosts' commands end at their wall-clock deadline, not at the per-read timeout × bytes.

Only generous bounds here (a hang fails, a slow machine does not); bench/host_isolation.py prints the figures.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.engine import FakeEngine

from bot.commands import args as a
from bot.engine import Engine, Host
from bot.errors import EngineUnavailable
from bot.models import Outcome, PsResult, Reply
from bot.router import Invocation, Router

DEADLINE = 6.0  # the bad hosts' wall-clock deadline; the trickle sends a byte every 2 s, within the per-read
SLACK = 3.0  # what a reply may take beyond its deadline on a loaded machine
COMMAND_TIMEOUT = 60.0  # far beyond: a bad host's command must end at its own deadline, not at this


@pytest.fixture
def bad_hosts(tmp_path: Path) -> Iterator[tuple[FakeEngine, FakeEngine]]:
    """A trickling engine (a byte every 2 s of a 4 KB listing) and a silent one (never answers a listing)."""
    with (
        FakeEngine(tmp_path / "trickle.sock", containers="trickle", trickle_interval=2.0) as trickling,
        FakeEngine(tmp_path / "silent.sock", containers="silent") as silent,
    ):
        yield trickling, silent


class Replies:
    """Replies delivered by `dispatch`, with when each arrived."""

    def __init__(self) -> None:
        self.got: list[tuple[float, Reply]] = []
        self._lock = threading.Lock()

    def deliver(self, reply: Reply) -> None:
        with self._lock:
            self.got.append((time.monotonic(), reply))

    def count(self) -> int:
        with self._lock:
            return len(self.got)

    def wait(self, count: int, timeout: float) -> list[tuple[float, Reply]]:
        deadline = time.monotonic() + timeout
        while self.count() < count and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._lock:
            return list(self.got)


@pytest.fixture
def marker(docker_api: Any, test_image: str, unique_name: Callable[[str], str]) -> Iterator[str]:
    """A created (never started) container of this test, so the real engine's table has a known row."""
    name = unique_name("isolation")
    docker_api.create_container(test_image, ["true"], name=name, labels={"ctest.isolation": name})
    yield name
    docker_api.remove_container(name, force=True)


def test_the_healthy_host_answers_while_every_worker_of_the_bad_hosts_is_stuck(
    marker: str, bad_hosts: tuple[FakeEngine, FakeEngine]
) -> None:
    """2 workers per host; each bad host gets 3 commands (2 stuck, 1 queued). While all of them are still
    stuck, `ps -a` on the real engine keeps answering with the real table; then every bad-host command is
    answered "did not answer within 6 s", each within its deadline plus slack."""
    trickling, silent = bad_hosts
    real = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    router = Router(
        [
            Engine(Host("local", real, 30.0)),
            Engine(Host("trickle", trickling.url, DEADLINE)),
            Engine(Host("silent", silent.url, DEADLINE)),
        ],
        workers=6,
    )
    replies = Replies()
    try:
        dispatched = time.monotonic()
        for host in ("trickle", "silent") * 3:
            router.dispatch(Invocation("ps -a", host=host), COMMAND_TIMEOUT, replies.deliver)
        assert trickling.wait_for_requests("/containers/json", 2)
        assert silent.wait_for_requests("/containers/json", 2)
        for _ in range(5):
            reply = router.handle_within(Invocation("ps -a", host="local"), 10.0)
            assert reply.outcome is Outcome.OK, reply.problem
            result = reply.steps[0].result
            assert isinstance(result, PsResult)
            assert marker in {row.name for row in result.rows}
        # every healthy answer came while both bad shares were still stuck in their engines
        assert replies.count() == 0
        assert len(trickling.requests("/containers/json")) == 2
        assert len(silent.requests("/containers/json")) == 2

        got = replies.wait(6, timeout=2 * DEADLINE + 4 * SLACK)
        assert len(got) == 6
        for _arrived, reply in got:
            assert reply.outcome is Outcome.FAILED
            assert reply.problem is not None
            assert reply.problem.kind == "EngineUnavailable", reply.problem
            assert f"host {reply.host} did not answer within {DEADLINE:g} s" in reply.problem.message
            assert reply.elapsed < DEADLINE + SLACK  # at its deadline (per-read × bytes would be hours)
        # the queued third command of each host started when a stuck one ended: two deadlines, not more
        assert max(arrived for arrived, _ in got) - dispatched < 2 * DEADLINE + 2 * SLACK
    finally:
        trickling.stop()
        silent.stop()
        router.close()


def test_a_down_host_next_to_the_real_engine_is_answered_at_once(
    bad_hosts: tuple[FakeEngine, FakeEngine],
) -> None:
    """After three commands to the silent host timed out, the next ones are answered at once that it is down,
    without reaching it, while the real engine answers as always."""
    _trickling, silent = bad_hosts
    real = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    router = Router(
        [Engine(Host("local", real, 30.0)), Engine(Host("silent", silent.url, DEADLINE))], workers=6
    )
    replies = Replies()
    try:
        for _ in range(3):
            router.dispatch(Invocation("ps -a", host="silent"), COMMAND_TIMEOUT, replies.deliver)
        got = replies.wait(3, timeout=DEADLINE + 2 * SLACK)
        assert len(got) == 3
        sent = len(silent.requests("/containers/json"))
        started = time.monotonic()
        down = router.handle_within(Invocation("ps -a", host="silent"), 10.0)
        assert time.monotonic() - started < DEADLINE  # at once, not after another deadline
        assert down.problem is not None
        assert "host silent is down since" in down.problem.message
        assert len(silent.requests("/containers/json")) == sent
        assert router.handle_within(Invocation("ps -a", host="local"), 10.0).outcome is Outcome.OK
    finally:
        silent.stop()
        router.close()


def test_a_stops_grace_time_extends_its_deadline(
    docker_api: Any, test_image: str, unique_name: Callable[[str], str]
) -> None:
    """`stop -t 3` of a container that ignores SIGTERM takes its 3 s of grace, longer than the host's 2 s
    per-call deadline: docker-py asks for that request's longer wait, the deadline honours it, the stop
    succeeds (it is not cut and reported "did not answer")."""
    name = unique_name("stubborn")
    docker_api.create_container(test_image, ["sleep", "1000"], name=name, labels={"ctest.isolation": name})
    try:
        docker_api.start(name)
        real = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        router = Router([Engine(Host("local", real, 2.0))])
        try:
            started = time.monotonic()
            reply = router.handle(Invocation(f"stop -t 3 {name}", local_admin=True))
            took = time.monotonic() - started
        finally:
            router.close()
        assert reply.outcome is Outcome.OK, reply.problem
        assert took >= 2.5  # it really waited out the grace time (PID 1 ignores SIGTERM), past 2 s
        assert docker_api.inspect_container(name)["State"]["Running"] is False
    finally:
        docker_api.remove_container(name, force=True)


def _real_router(timeout: float) -> Router:
    real = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    return Router([Engine(Host("local", real, timeout))], workers=4)


def test_stops_waiting_out_a_containers_own_stop_timeout_succeed_and_keep_the_host_up(
    docker_api: Any, test_image: str, unique_name: Callable[[str], str]
) -> None:
    """Three `stop NAME` (no -t) at once of containers created with a 13 s stop timeout whose PID 1 ignores
    SIGTERM, on a host with a 2 s timeout and a 5 s command timeout: the daemon waits the 13 s out, and so
    do the calls (docker-py would assume 10 s and the deadline cut them at 12 s) and the commands (their
    timeout grows by the grace). All three succeed, the host is never marked down, `ps -a` answers."""
    names = [unique_name(f"stubborn{i}") for i in range(3)]
    for name in names:
        docker_api.create_container(
            test_image, ["sleep", "1000"], name=name, labels={"ctest.isolation": name}, stop_timeout=13
        )
        docker_api.start(name)
    router = _real_router(2.0)
    replies: dict[str, tuple[float, Reply]] = {}

    def stop(name: str) -> None:
        started = time.monotonic()
        reply = router.handle_within(Invocation(f"stop {name}", local_admin=True), 5.0)
        replies[name] = (time.monotonic() - started, reply)

    try:
        threads = [threading.Thread(target=stop, args=(name,)) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert set(replies) == set(names)
        for took, reply in replies.values():
            assert reply.outcome is Outcome.OK, reply.problem
            assert took >= 12.0  # the daemon really waited its 13 s (past docker-py's 10 + 2)
        assert router.engines["local"].health.refusal() is None
        assert router.handle_within(Invocation("ps -a", local_admin=True), 10.0).outcome is Outcome.OK
        for name in names:
            assert docker_api.inspect_container(name)["State"]["Running"] is False
    finally:
        router.close()
        for name in names:
            docker_api.remove_container(name, force=True)


def test_a_call_slow_by_its_nature_on_the_real_engine_never_takes_it_down(
    marker: str, docker_api: Any, test_image: str, unique_name: Callable[[str], str]
) -> None:
    """Four calls in a row cut at a 0.5 s deadline (`POST /wait` on a running container: it waits for
    ever) on the real engine, which answers the quick check at once: each is "did not answer within
    0.5 s", not counted against the host; the breaker stays closed and the next listing runs."""
    name = unique_name("waiter")
    docker_api.create_container(test_image, ["sleep", "1000"], name=name, labels={"ctest.isolation": name})
    try:
        docker_api.start(name)
        real = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        engine = Engine(Host("local", real, 5.0))
        for _ in range(4):
            with pytest.raises(EngineUnavailable, match=r"host local did not answer within 0\.5 s") as cut:
                engine._call(lambda api: api.wait(name), deadline=0.5)
            assert cut.value.hint is not None
            assert "not counted as down" in cut.value.hint
        assert engine.health.refusal() is None
        listed = engine.ps(a.PsArgs(all=True))
        assert marker in {row.name for row in listed.rows}
        engine.close()
    finally:
        docker_api.remove_container(name, force=True)


def test_a_stop_whose_grace_outlasts_the_command_timeout_is_answered_with_its_result(
    docker_api: Any, test_image: str, unique_name: Callable[[str], str]
) -> None:
    """`stop -t 3 NAME` with a 1.5 s command timeout (CHATOPS_COMMAND_TIMEOUT): the command's timeout grows
    by the 3 s of grace, so the user gets the stop's own answer, not "did not finish within 1.5 s"."""
    name = unique_name("graceful")
    docker_api.create_container(test_image, ["sleep", "1000"], name=name, labels={"ctest.isolation": name})
    try:
        docker_api.start(name)
        router = _real_router(2.0)
        try:
            reply = router.handle_within(Invocation(f"stop -t 3 {name}", local_admin=True), 1.5)
        finally:
            router.close()
        assert reply.outcome is Outcome.OK, reply.problem
        assert docker_api.inspect_container(name)["State"]["Running"] is False
    finally:
        docker_api.remove_container(name, force=True)
