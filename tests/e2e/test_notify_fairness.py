"""Fair delivery end to end: a flapping container cannot hold back another container's crash.

The bot process watches the real engine and posts to the fake Slack. One container is started back to
back for 45 s (the issue's reproduction: hundreds of deaths); meanwhile two other containers crash. Each
crash must reach the channel within a few seconds, and the flapping container must stay one episode
message whose counter is edited a bounded number of times, however many times it died.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import threading
import time
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from bot_process import block_texts, stop_bot

from bot.notify.outbox import MERGE_INTERVAL

from .watching import DieReader, remove_all, routes_config, start_watching_bot

pytestmark = pytest.mark.integration

FLAP_FOR = 45.0  # seconds of back-to-back starts
CRASH_AT = (12.0, 30.0)  # seconds into the flapping: another container crashes
POSTED_WITHIN = 5.0  # the bound for the other crash (measured: about 1 s)
LOOP_RESTARTS = 3  # restart_loop.restarts: the deaths posted before the episode opens


class Flapper:
    """Starts one container again as soon as it has exited, for `seconds`, on its own engine client.

    Docker's own restart policy backs off (100 ms doubling, up to a minute), which yields about ten
    restarts in 45 s; starting it back to back is what turned into hundreds of deaths in the issue.
    """

    def __init__(self, container: str, seconds: float) -> None:
        self.container = container
        self.seconds = seconds
        self.starts = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="flapper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        api = docker.APIClient(**docker.utils.kwargs_from_env(), timeout=30)
        try:
            end = time.monotonic() + self.seconds
            while time.monotonic() < end:
                api.start(self.container)
                api.wait(self.container, timeout=30)
                self.starts += 1
        except BaseException as error:  # reported by join(): a failing engine must fail the test
            self.error = error
        finally:
            api.close()

    def join(self) -> None:
        self._thread.join(self.seconds + 60)
        assert not self._thread.is_alive(), "the flapping loop did not end"
        if self.error is not None:
            raise self.error


def test_a_flapping_container_never_holds_back_another_crash(
    slack: Any, tmp_path: Path, docker_api: Any, test_image: str, unique_name: Any
) -> None:
    """Started back to back for 45 s, one container dies hundreds of times; two other crashes meanwhile are
    each posted within 5 s; the flapping one is one episode message (after the deaths that opened it) and
    at most ⌈45 s / merge interval⌉ + 1 edits, the last one counting every death the engine saw."""
    prefix = unique_name("fair")
    label = f"ctest.fair={prefix}"
    flap = f"{prefix}-flap"
    config = routes_config(
        tmp_path,
        [
            {
                "channel": "C0FAIR",
                "events": ["died", "restart_loop", "recovered"],
                "containers": [f"{prefix}-*"],
            }
        ],
        restart_loop=f'restart_loop = {{ restarts = {LOOP_RESTARTS}, within = "1m", stable = "30s" }}',
    )
    ids: list[str] = []

    def create(name: str, script: str) -> str:
        created: str = docker_api.create_container(
            test_image,
            ["sh", "-c", script],
            name=name,
            labels={"ctest.fair": prefix},
            network_disabled=True,  # hundreds of exits on a bridge can deadlock dockerd 20.10's libnetwork
        )["Id"]
        ids.append(created)
        return created

    flapper = Flapper(create(flap, "echo flapping; exit 1"), FLAP_FOR)
    bot = start_watching_bot(slack, tmp_path, docker_api, config)
    reader = DieReader(label)
    latencies: dict[str, float] = {}
    try:
        began = time.monotonic()
        flapper.start()
        for number, at in enumerate(CRASH_AT):
            time.sleep(max(0.0, began + at - time.monotonic()))
            name = f"{prefix}-other{number}"
            other = create(name, "echo other crash; exit 3")
            docker_api.start(other)
            docker_api.wait(other, timeout=30)
            died = time.monotonic()
            (posted,) = slack.wait_for_messages(
                channel="C0FAIR", timeout=60, predicate=lambda m, text=f"{name} exited (3)": m.text == text
            )
            latencies[name] = posted.time - died
        flapper.join()
        deaths = sum(1 for who, _code in reader.seen() if who == flap)
        deadline = time.monotonic() + 10
        while deaths < flapper.starts and time.monotonic() < deadline:  # the last die events in flight
            time.sleep(0.1)
            deaths = sum(1 for who, _code in reader.seen() if who == flap)
        final = f"{flap} is in a restart loop ({deaths} restarts)"
        slack.wait_for_messages(
            channel="C0FAIR", timeout=MERGE_INTERVAL + 15, predicate=lambda m: m.text == final
        )
        time.sleep(1.5)  # one more outbox interval: a late or doubled message would show now
    finally:
        reader.close()
        stop_bot(bot)
        with contextlib.suppress(docker.errors.APIError):
            docker_api.stop(flap, timeout=0)
        remove_all(docker_api, ids)
    assert "Traceback" not in bot.output(), bot.output()

    messages = slack.messages(channel="C0FAIR")
    top = [m for m in messages if m.kind == "chat.postMessage" and m.thread_ts is None]
    flapping = [m for m in top if (m.text or "").startswith(f"{flap} ")]
    (episode,) = [m for m in flapping if "restart loop" in (m.text or "")]
    edits = [m for m in messages if m.kind == "chat.update"]
    bound = math.ceil(FLAP_FOR / MERGE_INTERVAL) + 1
    print(  # the measurement the issue asks for, shown with pytest -s
        f"\nfairness: {deaths} deaths of the flapping container in {FLAP_FOR:.0f} s;"
        f" other crashes posted after {', '.join(f'{s:.2f} s' for s in latencies.values())};"
        f" flapping container: {len(flapping)} top-level post(s) ({len(flapping) - 1} before the episode"
        f" opened), {len(edits)} edit(s) (bound {bound}), 0 thread replies"
    )
    assert deaths >= 4 * bound, f"only {deaths} deaths: the engine was too slow to make a flood"
    for name, latency in latencies.items():
        assert latency < POSTED_WITHIN, f"{name} was posted {latency:.1f} s after it died"
    assert [m.text for m in flapping] == [f"{flap} exited (1)"] * LOOP_RESTARTS + [
        f"{flap} is in a restart loop ({LOOP_RESTARTS} restarts)"
    ]
    assert [m for m in messages if m.kind == "chat.postMessage" and m.thread_ts is not None] == []
    assert {m.ts for m in edits} == {episode.ts}
    assert 1 <= len(edits) <= bound, [m.text for m in edits]
    assert edits[-1].text == final
    shown = block_texts(edits[-1].blocks)
    assert f"*restarts* {deaths}" in shown
    assert "flapping" in shown  # the opener's log lines survive the counter edits
    assert sorted(m.text for m in top if m not in flapping) == sorted(f"{n} exited (3)" for n in latencies)
    times = [r.time for r in slack.requests() if r.body.get("channel") == "C0FAIR" and r.api_method]
    assert min(later - earlier for earlier, later in itertools.pairwise(times)) >= 0.99
