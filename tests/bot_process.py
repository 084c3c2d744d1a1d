"""The bot as a real process (`docker-chatops run`), reached over real sockets by the fake Slack: starting
and stopping it, and a slash command or a click sent to it as Slack would, with its answers.

Shared by tests/e2e (whose conftest.py makes fixtures of it) and the tests of tests/integration that
restart the bot.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.slack import FakeSlack, block_actions_payload, signed_interaction, signed_slash_command
from fakes.web_api import Message

ROOT = Path(__file__).resolve().parents[1]
SECRET = "e2e-signing-secret"  # noqa: S105 - the tests' own secret


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class BotProcess:
    """A running `docker-chatops run` and where to reach it."""

    process: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """POST to /slack/events; returns (status, body) without raising on 4xx."""
        request = urllib.request.Request(  # noqa: S310 - our own loopback URL
            self.url + "/slack/events", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own loopback URL
                return int(answer.status), bytes(answer.read())
        except urllib.error.HTTPError as error:
            with error:
                return int(error.code), bytes(error.read())


def _start(tmp_path: Path, env: dict[str, str]) -> BotProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CHATOPS_"))}
    base["PYTHONPATH"] = str(ROOT)
    log = tmp_path / "bot.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env={
                **base,
                "CHATOPS_STATE_PATH": str(tmp_path / "state.db"),
                "CHATOPS_LOG_LEVEL": "INFO",
                **env,
            },
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return BotProcess(process, log)


def stop_bot(bot: BotProcess) -> None:
    bot.process.terminate()
    try:
        bot.process.wait(10)
    except subprocess.TimeoutExpired:
        bot.process.kill()
        bot.process.wait(5)


def start_http_bot(slack: FakeSlack, tmp_path: Path, **env: str) -> BotProcess:
    """Start `docker-chatops run` in HTTP mode and wait until /healthz answers."""
    port = free_port()
    bot = _start(
        tmp_path,
        {
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "CHATOPS_HTTP_HOST": "127.0.0.1",
            "CHATOPS_HTTP_PORT": str(port),
            **env,
        },
    )
    bot.url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(bot.url + "/healthz", timeout=1) as answer:  # noqa: S310
                if answer.status == 200:
                    return bot
        except OSError:
            pass
        if bot.process.poll() is not None or time.monotonic() > deadline:
            stop_bot(bot)
            pytest.fail(f"the bot did not start in HTTP mode:\n{bot.output()}")
        time.sleep(0.1)


def start_socket_bot(slack: FakeSlack, tmp_path: Path, **env: str) -> BotProcess:
    """Start `docker-chatops run` in Socket Mode and wait until it connected to the fake's WebSocket."""
    opened = slack.socket_mode.connections_opened
    bot = _start(
        tmp_path,
        {
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_APP_TOKEN": slack.app_token,
            "SLACK_API_URL": slack.api_url,
            **env,
        },
    )
    try:
        slack.socket_mode.wait_for_connection(count=opened + 1, timeout=20)
    except TimeoutError:
        stop_bot(bot)
        pytest.fail(f"the bot did not connect in Socket Mode:\n{bot.output()}")
    return bot


def block_texts(blocks: Any) -> str:
    """Every text string inside a Block Kit structure, joined by newlines, with Slack's escapes undone."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    text = "\n".join(found)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def command(bot: BotProcess, slack: FakeSlack, text: str, user: str, timeout: float = 20) -> list[Message]:
    """`/docker TEXT` by `user`, signed and posted to the bot; the answers on its response_url."""
    url = slack.new_response_url(user_id=user)
    body, headers = signed_slash_command(SECRET, text, user_id=user, response_url=url)
    assert bot.post(body, headers)[0] == 200
    return wait_answer(slack, url, timeout)


def click(
    bot: BotProcess,
    slack: FakeSlack,
    action_id: str,
    value: str,
    user: str,
    *,
    replay: bool = False,
    timeout: float = 20,
) -> list[Message]:
    """A click on the button `action_id` carrying `value` by `user` (posted twice with `replay`: the second
    must get 409); the answers on its response_url."""
    url = slack.new_response_url(user_id=user)
    body, headers = signed_interaction(
        SECRET, block_actions_payload(action_id, value, user_id=user, response_url=url)
    )
    assert bot.post(body, headers)[0] == 200
    if replay:
        assert bot.post(body, headers)[0] == 409
    return wait_answer(slack, url, timeout)


def wait_answer(slack: FakeSlack, url: str, timeout: float = 20) -> list[Message]:
    """The answers on `url` once there is at least one; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if slack.responses(url):
            return list(slack.responses(url))
        time.sleep(0.05)
    raise AssertionError(f"no answer on {url}")


def button(message: Message, action_id: str) -> str:
    """The value of the button `action_id` in `message`."""
    for block in message.blocks or []:
        for element in block.get("elements", []):
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} in {block_texts(message.blocks)}")
