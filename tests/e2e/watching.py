"""The notification tests' helpers: a config with `[[notify.routes]]`, the bot started with its watcher
subscribed, the posts to a channel, and an independent reader of the engine's `die` events."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from bot_process import BotProcess, start_http_bot, stop_bot


def routes_config(tmp_path: Path, routes: list[dict[str, Any]], restart_loop: str = "") -> Path:
    """A chatops.toml with these `[[notify.routes]]` (channel, events, containers) and `[notify]` extras."""
    lines = [f"[notify]\n{restart_loop}\n"] if restart_loop else []
    for route in routes:
        lines.append("[[notify.routes]]\n")
        lines.extend(f"{key} = {json.dumps(value)}\n" for key, value in route.items())
    path = tmp_path / "chatops.toml"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def start_watching_bot(slack: Any, tmp_path: Path, docker_api: Any, config: Path) -> BotProcess:
    """Start the bot and wait until the engine counts one more events listener than before (its watcher).

    The watcher subscribes right as the bot starts (before /healthz answers); the count is a second guard,
    so that a test's first container never dies before anyone listens.
    """
    listeners = int(docker_api.info().get("NEventsListener", 0))
    bot = start_http_bot(slack, tmp_path, CHATOPS_CONFIG=str(config))
    deadline = time.monotonic() + 10
    while int(docker_api.info().get("NEventsListener", 0)) <= listeners:
        if time.monotonic() > deadline:
            stop_bot(bot)
            pytest.fail(f"the bot's watcher never subscribed to the engine's events:\n{bot.output()}")
        time.sleep(0.05)
    return bot


def post_requests(slack: Any, channel: str) -> list[Any]:
    """Every chat.postMessage the fake received for `channel` (answered or refused), in arrival order."""
    return [r for r in slack.requests("chat.postMessage") if r.body.get("channel") == channel]


def remove_all(docker_api: Any, ids: list[str]) -> None:
    """Force-remove these containers; one already gone is fine."""
    for container in ids:
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_container(container, force=True)


def wait_exited(docker_api: Any, name: str, timeout: float = 15.0) -> dict[str, Any]:
    """Poll until the container has exited; returns its State."""
    deadline = time.monotonic() + timeout
    while True:
        state: dict[str, Any] = docker_api.inspect_container(name)["State"]
        if state["Status"] == "exited":
            return state
        assert time.monotonic() < deadline, f"{name} never exited: {state}"
        time.sleep(0.05)


class DieReader:
    """An independent reader of the engine's `die` events for one label (its own client and stream)."""

    def __init__(self, label: str) -> None:
        self.client = docker.APIClient(**docker.utils.kwargs_from_env(), timeout=None)
        self.stream = self.client.events(
            decode=True, filters={"type": ["container"], "event": ["die"], "label": [label]}
        )
        self.deaths: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with contextlib.suppress(Exception):  # closing the stream ends the loop with an error
            for event in self.stream:
                attributes = event.get("Actor", {}).get("Attributes", {})
                with self._lock:
                    self.deaths.append((attributes["name"], int(attributes["exitCode"])))

    def seen(self) -> list[tuple[str, int]]:
        with self._lock:
            return list(self.deaths)

    def close(self) -> None:
        self.stream.close()
        self._thread.join(10)
        self.client.close()
