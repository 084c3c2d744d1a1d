"""SIGKILL in the middle of a burst of deaths: the restarted bot posts every death exactly once.

The bot process watches the real engine and posts to the fake Slack. 300 containers wait at a gate, then
exit together; once the engine has reported half of the deaths, and just after a post (so the outbox is not
inside a Slack call: its one at-most-once window is not what this test is about), the bot is killed with
SIGKILL, with notifications still being enriched and queued. A second bot process on the same state file
must post the rest, and nothing twice. What died, and with which code, is counted by an independent reader
of the engine's events and by `docker inspect`, never by the bot.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import pytest
from bot_process import BotProcess, start_http_bot, stop_bot

from .watching import DieReader, post_requests, remove_all, routes_config

pytestmark = pytest.mark.integration

BURST = 300
WORKERS = 4
CHANNEL = "C0CRASH"


def start_bot(slack: Any, run_dir: Path, state: Path, config: Path, docker_api: Any) -> BotProcess:
    """`docker-chatops run` on `state`, logging into `run_dir`; returns once its watcher subscribed."""
    run_dir.mkdir()
    listeners = int(docker_api.info().get("NEventsListener", 0))
    bot = start_http_bot(slack, run_dir, CHATOPS_CONFIG=str(config), CHATOPS_STATE_PATH=str(state))
    deadline = time.monotonic() + 10
    while int(docker_api.info().get("NEventsListener", 0)) <= listeners:
        if time.monotonic() > deadline:
            stop_bot(bot)
            pytest.fail(f"the bot's watcher never subscribed to the engine's events:\n{bot.output()}")
        time.sleep(0.05)
    return bot


def release_all(fifo: Path, label: str) -> None:
    """Open the gate until no container of `label` runs any more (with its own engine client).

    Opening the fifo for writing wakes every shell blocked opening it; closing it is their EOF. A shell that
    had not reached `read` yet waits for the next round.
    """
    with contextlib.closing(docker.APIClient(**docker.utils.kwargs_from_env(), timeout=60)) as api:
        while api.containers(filters={"label": label, "status": "running"}):
            with contextlib.suppress(OSError):
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                time.sleep(0.2)
                os.close(writer)


def left_behind(state: Path) -> dict[str, int]:
    """What the killed bot's state file holds: notifications saved but not yet in the outbox, and the
    outbox's rows by state."""
    found: dict[str, int] = {}
    with contextlib.closing(sqlite3.connect(state)) as db:
        with contextlib.suppress(sqlite3.OperationalError):  # no such table: a bot without it
            found["inflight"] = int(db.execute("SELECT COUNT(*) FROM notify_inflight").fetchone()[0])
        for row_state, count in db.execute("SELECT state, COUNT(*) FROM outbox_messages GROUP BY state"):
            found[f"outbox {row_state}"] = int(count)
    return found


def test_sigkill_in_the_middle_of_a_burst_loses_no_death_and_posts_none_twice(
    slack: Any, tmp_path: Path, docker_api: Any, test_image: str, unique_name: Any
) -> None:
    """300 deaths, SIGKILL mid-way, a restart: each death posted once, with the code the engine recorded."""
    began = time.monotonic()
    prefix = unique_name("k")
    label = f"ctest.crash={prefix}"
    config = routes_config(
        tmp_path, [{"channel": CHANNEL, "events": ["died"], "containers": [f"{prefix}-*"]}]
    )
    state = tmp_path / "state.db"
    gate = tmp_path / "gate"
    gate.mkdir()
    fifo = gate / "go"
    os.mkfifo(fifo)
    names = [f"{prefix}-{number}" for number in range(BURST)]
    codes = {name: number % 7 + 1 for number, name in enumerate(names)}
    clients: queue.Queue[Any] = queue.Queue()
    for _ in range(WORKERS):
        clients.put(docker.APIClient(**docker.utils.kwargs_from_env(), timeout=60))
    ids: list[str] = []

    def make(name: str) -> None:
        api = clients.get()
        try:
            created = api.create_container(
                test_image,
                ["sh", "-c", f"read line < /gate/go; exit {codes[name]}"],
                name=name,
                labels={"ctest.crash": prefix},
                host_config=api.create_host_config(binds={str(gate): {"bind": "/gate", "mode": "ro"}}),
                network_disabled=True,  # dockerd 20.10's libnetwork can deadlock on hundreds of endpoints
            )
            ids.append(created["Id"])
            api.start(created["Id"])
        finally:
            clients.put(api)

    pattern = re.compile(re.escape(prefix) + r"-(\d+)(?: exited)? \((\d+)\)")

    def posted() -> list[tuple[str, int]]:
        return [
            (f"{prefix}-{number}", int(code))
            for message in slack.messages(channel=CHANNEL)
            for number, code in pattern.findall(message.text or "")
        ]

    first = start_bot(slack, tmp_path / "run1", state, config, docker_api)
    second: BotProcess | None = None
    reader = DieReader(label)
    releaser = threading.Thread(target=release_all, args=(fifo, label), daemon=True)
    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(make, names))
        created = time.monotonic()
        releaser.start()
        released = time.monotonic()
        killed_at: float | None = None
        while killed_at is None:
            posts = post_requests(slack, CHANNEL)
            just_posted = bool(posts) and time.monotonic() - posts[-1].time < 0.5
            if len(reader.seen()) >= BURST // 2 and just_posted:
                first.process.send_signal(signal.SIGKILL)
                killed_at = time.monotonic()
            assert time.monotonic() - released < 30, "the bot never posted while the burst went on"
            time.sleep(0.01)
        first.process.wait(10)
        posted_before = posted()
        seen_at_kill = len(reader.seen())
        remains = left_behind(state)
        releaser.join(60)
        assert not releaser.is_alive(), "the containers did not all exit"
        exited = time.monotonic()

        second = start_bot(slack, tmp_path / "run2", state, config, docker_api)
        restarted = time.monotonic()
        deadline = time.monotonic() + 60
        while len(posted()) < BURST and time.monotonic() < deadline:
            time.sleep(0.2)
        complete = time.monotonic()
        time.sleep(2.0)  # two more outbox intervals: anything posted twice would show now
        deadline = time.monotonic() + 30
        while len(reader.seen()) < BURST and time.monotonic() < deadline:
            time.sleep(0.1)
        inspected = {name: docker_api.inspect_container(name)["State"]["ExitCode"] for name in names}
    finally:
        reader.close()
        if first.process.poll() is None:
            first.process.kill()
            first.process.wait(5)
        if second is not None:
            stop_bot(second)
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(lambda container: remove_all(docker_api, [container]), ids))
        while not clients.empty():
            clients.get().close()
    for bot in (first, second):
        assert "Traceback" not in bot.output(), bot.output()

    # Deaths after the saved cursor come again from the stream's replay, or, when the daemon's 256-event
    # memory has moved on (a busy shared engine), from the re-list as "while the bot was away": either way
    # once, since the outbox never had them.
    away = sum("was away" in (m.text or "") for m in slack.messages(channel=CHANNEL))
    print(  # the figures of this run (pytest -s)
        f"\ncrash test: {BURST} deaths; killed after {seen_at_kill} deaths seen by the engine, "
        f"{len(posted_before)} posted; the state file held {remains}; "
        f"{killed_at - released:.1f} s from release to kill, {exited - released:.1f} s until all exited, "
        f"{restarted - killed_at:.1f} s from kill to restart, "
        f"{complete - restarted:.1f} s until all were posted ({away} message(s) from the re-list); "
        f"creating took {created - began:.1f} s"
    )
    assert 0 < len(posted_before) < BURST, "the kill did not land in the middle of the burst"
    engine = reader.seen()
    assert sorted(engine) == sorted(codes.items())  # the engine reported each death once, with its code
    assert inspected == codes
    reported = posted()
    assert len(reported) == len(set(reported)), "a death was posted twice"
    assert sorted(reported) == sorted(engine)  # every death the engine saw, once, with the engine's code
