"""Notifications end to end: the bot process watches the real engine and posts to the routed channel."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fakes.slack import signed_slash_command

from .conftest import SECRET, BotProcess, block_texts, start_http_bot, stop_bot

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
            url = slack.new_response_url(user_id="U0ADMIN")
            body, headers = signed_slash_command(SECRET, text, user_id="U0ADMIN", response_url=url)
            assert bot.post(body, headers)[0] == 200
            deadline = time.monotonic() + 10
            while not slack.responses(url) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "queued" in block_texts(slack.responses(url)[0].blocks) or "muted" in block_texts(
                slack.responses(url)[0].blocks
            )
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
