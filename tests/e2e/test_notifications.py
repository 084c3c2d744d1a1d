"""Notifications end to end: the bot process watches the real engine and posts to the routed channel."""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from bot_process import BotProcess, block_texts, command, start_http_bot, stop_bot

from .watching import DieReader, post_requests, remove_all, routes_config, start_watching_bot, wait_exited

pytestmark = pytest.mark.integration


def test_a_crash_is_posted_to_the_routed_channel(
    slack: Any, tmp_path: Path, docker_api: Any, test_image: str, unique_name: Any
) -> None:
    """A non-zero exit reaches C0ALERTS with name, exit code, log tail and buttons; exit 0 stays quiet."""
    prefix = unique_name("n")
    config = tmp_path / "chatops.toml"
    config.write_text(
        f'[[notify.routes]]\nchannel = "C0ALERTS"\nevents = ["died", "oom"]\ncontainers = ["{prefix}*"]\n'
        '[roles.admin]\nallow = ["*"]\n[[bindings]]\nrole = "admin"\nusers = ["U0ADMIN"]\n',
        encoding="utf-8",
    )
    bot: BotProcess = start_http_bot(slack, tmp_path, CHATOPS_CONFIG=str(config))
    created = []
    try:
        time.sleep(1.0)  # the watcher subscribes at start-up
        for text in (f"notify mute {prefix}-muted 1h", "notify test"):
            answer = block_texts(command(bot, slack, text, "U0ADMIN", timeout=10)[0].blocks)
            assert "queued" in answer or "muted" in answer
        (test,) = slack.wait_for_messages(channel="C0ALERTS", timeout=10)
        assert test.text == ":bell: test notification from docker-chatops, asked by <@U0ADMIN>"
        runs = (
            ("-ok", "exit 0"),
            ("-muted", "exit 4"),
            ("-crash", "echo 'password=hunter2'; echo boom; exit 3"),
        )
        for suffix, script in runs:
            name = prefix + suffix
            created.append(docker_api.create_container(test_image, ["sh", "-c", script], name=name)["Id"])
            docker_api.start(name)
        _test, message = slack.wait_for_messages(count=2, channel="C0ALERTS", timeout=10)
        assert message.text == f"{prefix}-crash exited (3)"
        text = block_texts(message.blocks)
        assert "*exit code* 3" in text
        assert "boom" in text
        assert "hunter2" not in text
        actions = [e["action_id"] for b in message.blocks for e in b.get("elements", []) if "action_id" in e]
        assert actions == ["run_logs", "run_inspect", "run_restart"]
        time.sleep(1.5)
        assert (
            len(slack.messages(channel="C0ALERTS")) == 2
        )  # the test message and the crash: not the muted one
    finally:
        stop_bot(bot)
        for container in created:
            docker_api.remove_container(container, force=True)
    assert "Traceback" not in bot.output(), bot.output()


# ---- helpers of the tests below ------------------------------------------------------------------------


# ---- a burst of deaths ---------------------------------------------------------------------------------

BURST = 300
WORKERS = 4


def test_a_burst_of_300_deaths_is_paced_digested_and_complete(
    slack: Any, tmp_path: Path, docker_api: Any, test_image: str, unique_name: Any
) -> None:
    """300 containers exit together: ≤ 1 post/s, digests naming each one once, as many as the engine saw."""
    prefix = unique_name("b")
    label = f"ctest.burst={prefix}"
    config = routes_config(
        tmp_path, [{"channel": "C0BURST", "events": ["died"], "containers": [f"{prefix}-*"]}]
    )
    gate = tmp_path / "gate"
    gate.mkdir()
    fifo = gate / "go"
    os.mkfifo(fifo)
    names = [f"{prefix}-{number}" for number in range(BURST)]
    codes = {name: number % 5 + 1 for number, name in enumerate(names)}
    clients: queue.Queue[Any] = queue.Queue()
    for _ in range(WORKERS):
        clients.put(docker.APIClient(**docker.utils.kwargs_from_env(), timeout=60))
    ids: list[str] = []

    def make(name: str) -> None:
        api = clients.get()
        try:
            created = api.create_container(
                test_image,
                ["sh", "-c", f"read line < /gate/go; exit {codes[name]}"],  # waits for the gate: zero CPU
                name=name,
                labels={"ctest.burst": prefix},
                host_config=api.create_host_config(binds={str(gate): {"bind": "/gate", "mode": "ro"}}),
                # No network at all: dockerd 20.10's libnetwork can deadlock when hundreds of containers
                # release their endpoints at once (every later create then hangs); none are needed here.
                network_disabled=True,
            )
            ids.append(created["Id"])
            api.start(created["Id"])
        finally:
            clients.put(api)

    bot = start_watching_bot(slack, tmp_path, docker_api, config)
    reader = DieReader(label)
    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(make, names))
        released = time.monotonic()
        while docker_api.containers(filters={"label": label, "status": "running"}):
            # Opening the fifo for writing wakes every shell blocked opening it; closing it is their EOF.
            # A shell that had not reached `read` yet waits for the next round.
            with contextlib.suppress(OSError):
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                time.sleep(0.2)
                os.close(writer)
            assert time.monotonic() - released < 30, "the containers did not all exit"
        deadline = time.monotonic() + 30
        while len(reader.seen()) < BURST and time.monotonic() < deadline:
            time.sleep(0.1)

        pattern = re.compile(re.escape(prefix) + r"-(\d+)(?: exited)? \((\d+)\)")

        def named() -> list[tuple[str, int]]:
            return [
                (f"{prefix}-{number}", int(code))
                for message in slack.messages(channel="C0BURST")
                for number, code in pattern.findall(message.text or "")
            ]

        deadline = time.monotonic() + 40
        while len(named()) < BURST and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.5)  # one more interval: anything posted twice would show now
    finally:
        reader.close()
        stop_bot(bot)
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(lambda container: remove_all(docker_api, [container]), ids))
        while not clients.empty():
            clients.get().close()
    assert "Traceback" not in bot.output(), bot.output()

    engine = reader.seen()
    assert sorted(engine) == sorted(codes.items())  # the engine reported each death once, with its code
    reported = named()
    assert len(reported) == len(set(reported)), "a container was reported twice"
    assert sorted(reported) == sorted(engine)  # the bot saw as many deaths as the engine, the same ones
    messages = slack.messages(channel="C0BURST")
    assert len(messages) <= 15, [m.text for m in messages]  # digests, not 300 posts
    texts = [m.text or "" for m in messages]
    digests = 0
    for text in texts:  # a digest says how many it names; fewer than 4 pending go out one by one
        header = re.match(r"(\d+) containers died on local in [^:]+: ", text)
        if header:
            digests += 1
            assert int(header[1]) == len(pattern.findall(text)), text
        else:
            assert pattern.fullmatch(text), text
    assert digests >= 1, texts
    times = [r.time for r in post_requests(slack, "C0BURST")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 0.99, gaps  # at most one message per second in the channel


# ---- Slack refusing half the calls ---------------------------------------------------------------------

RETRY_AFTER = 2  # longer than the outbox's own 1 s interval: waiting it out is visible


def test_half_the_calls_rate_limited_still_deliver_everything_in_order_once(
    slack: Any, tmp_path: Path, docker_api: Any, test_image: str, unique_name: Any
) -> None:
    """429 for every other chat.postMessage: all delivered, in order per channel, once, Retry-After kept."""
    prefix = unique_name("q")
    channels = ("C0ONE", "C0TWO")
    config = routes_config(
        tmp_path,
        [{"channel": c, "events": ["started", "stopped"], "containers": [f"{prefix}-*"]} for c in channels],
    )
    slack.fail_half("chat.postMessage", retry_after=RETRY_AFTER)
    bot = start_watching_bot(slack, tmp_path, docker_api, config)
    ids: list[str] = []
    expected: list[str] = []
    try:
        for number in range(3):
            name = f"{prefix}-{number}"
            ids.append(
                docker_api.create_container(
                    test_image, ["sh", "-c", "exit 0"], name=name, network_disabled=True
                )["Id"]
            )
            docker_api.start(name)
            wait_exited(docker_api, name)  # one container after the other: a known order of events
            expected += [f"{name} started", f"{name} stopped (0)"]
        for channel in channels:
            slack.wait_for_messages(len(expected), channel=channel, timeout=40)
        time.sleep(1.5)  # a message sent twice would be posted within one more interval
    finally:
        stop_bot(bot)
        remove_all(docker_api, ids)
    assert "Traceback" not in bot.output(), bot.output()

    calls = slack.requests("chat.postMessage")
    refused = [r for r in calls if r.status == 429]
    assert len(refused) >= (len(calls) - 1) // 2  # the fault really hit half of them
    for channel in channels:
        assert [m.text for m in slack.messages(channel=channel)] == expected  # all, in order, once
        requests = post_requests(slack, channel)
        for earlier, later in itertools.pairwise(requests):
            wait = later.time - earlier.time
            if earlier.status == 429:
                assert wait >= RETRY_AFTER - 0.01, f"{channel}: retried {wait:.2f} s after a 429"
            assert wait >= 0.99, f"{channel}: two calls {wait:.2f} s apart"


# ---- a restart loop ------------------------------------------------------------------------------------


def test_a_restart_loop_is_one_message_edited_with_its_count_then_when_it_recovers(
    slack: Any, tmp_path: Path, docker_api: Any, test_image: str, unique_name: Any
) -> None:
    """restart=always, 5 crashes, then up: 3 deaths, one episode message, no thread replies; its later
    restarts edit its counter (paced, the newest wins) and the recovery edits it last."""
    name = unique_name("loop")
    config = routes_config(
        tmp_path,
        [{"channel": "C0LOOP", "containers": [name]}],  # the default kinds: died … restart_loop, recovered
        restart_loop='restart_loop = { restarts = 3, within = "1m", stable = "3s" }',
    )
    # The container's own file system outlives its restarts: the sixth run finds 5 lines and stays up.
    script = "echo run >> /runs; [ $(wc -l < /runs) -gt 5 ] && exec sleep 300; echo crash; exit 1"
    bot = start_watching_bot(slack, tmp_path, docker_api, config)
    created = None
    try:
        created = docker_api.create_container(
            test_image,
            ["sh", "-c", script],
            name=name,
            host_config=docker_api.create_host_config(restart_policy={"Name": "always"}),
            network_disabled=True,
        )["Id"]
        docker_api.start(created)
        slack.wait_for_messages(channel="C0LOOP", timeout=40, predicate=_is_recovery)
        time.sleep(1.5)  # one more outbox interval: a late or doubled message would show now
        state = docker_api.inspect_container(created)["State"]
    finally:
        stop_bot(bot)
        if created is not None:
            remove_all(docker_api, [created])
    assert "Traceback" not in bot.output(), bot.output()

    assert (state["Status"], state["Restarting"]) == ("running", False)
    messages = slack.messages(channel="C0LOOP")
    posts = [m for m in messages if m.kind == "chat.postMessage"]
    top = [m for m in posts if m.thread_ts is None]
    replies = [m for m in posts if m.thread_ts is not None]
    assert [m.text for m in top] == [f"{name} exited (1)"] * 3 + [f"{name} is in a restart loop (3 restarts)"]
    episode = top[-1]
    assert "crash" in block_texts(top[0].blocks)  # the last log lines
    assert "*restarts* 3" in block_texts(episode.blocks)
    assert replies == []
    edits = [m for m in messages if m.kind == "chat.update"]
    *counters, edit = edits
    # The counter is paced (one edit per merge interval, counted from the episode's post): five quick
    # crashes usually leave only the recovery, which replaces the counter edit still waiting.
    assert len(counters) <= 1
    for counter in counters:
        assert (counter.ts, counter.text) == (episode.ts, f"{name} is in a restart loop (5 restarts)")
    assert (edit.ts, edit.text) == (episode.ts, f"{name} recovered")
    assert "*restarts* 5" in block_texts(edit.blocks)
    assert [m.kind for m in messages] == ["chat.postMessage"] * 4 + ["chat.update"] * len(edits)


def _is_recovery(message: Any) -> bool:
    return bool(message.kind == "chat.update" and (message.text or "").endswith(" recovered"))


# ---- an OOM kill ---------------------------------------------------------------------------------------


def test_an_oom_kill_reaches_the_channel_as_the_engine_saw_it(
    slack: Any, tmp_path: Path, docker_api: Any, test_image: str, unique_name: Any
) -> None:
    """8 MB and a shell swallowing /dev/zero: posted as OOM when the engine says OOMKilled, else as died."""
    name = unique_name("oom")
    config = routes_config(tmp_path, [{"channel": "C0OOM", "events": ["died"], "containers": [name]}])
    limit = 8 * 1024 * 1024
    bot = start_watching_bot(slack, tmp_path, docker_api, config)
    created = None
    try:
        created = docker_api.create_container(
            test_image,
            ["sh", "-c", "echo filling; x=$(tail /dev/zero)"],
            name=name,
            host_config=docker_api.create_host_config(mem_limit=limit, memswap_limit=limit),
            network_disabled=True,
        )["Id"]
        docker_api.start(created)
        state = wait_exited(docker_api, name)
        (message,) = slack.wait_for_messages(channel="C0OOM", timeout=10)
        time.sleep(1.5)
    finally:
        stop_bot(bot)
        if created is not None:
            remove_all(docker_api, [created])
    assert "Traceback" not in bot.output(), bot.output()

    assert len(slack.messages(channel="C0OOM")) == 1
    text = block_texts(message.blocks)
    assert "filling" in text
    assert f"*exit code* {state['ExitCode']}" in text
    if state["OOMKilled"]:
        assert message.text == f"{name} was killed: out of memory (exit {state['ExitCode']})"
        assert "*OOMKilled* yes" in text
    else:  # a kernel that would not OOM-kill here: still reported, honestly not as OOM
        assert message.text == f"{name} exited ({state['ExitCode']})"
        assert "*OOMKilled* no" in text
