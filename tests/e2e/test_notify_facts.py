"""A container's labels cannot rewrite what the bot posts about it: exit code, name, image and the buttons'
targets come from the engine (end to end: the bot process, the real engine, the fake Slack)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bot_process import block_texts, stop_bot

from .watching import remove_all, routes_config, start_watching_bot, wait_exited

pytestmark = pytest.mark.integration

CHANNEL = "C0FACTS"
LIES = {"exitCode": "0", "name": "prod-db", "image": "evil/img:1", "signal": "15"}


def test_a_crash_labelled_exit_code_0_is_posted_with_its_real_code_name_and_image(
    slack: Any, tmp_path: Path, docker_api: Any, test_image: str, unique_name: Any
) -> None:
    """Labels exitCode=0, name=prod-db, image=evil/img:1 on a container that exits 5: one post naming the
    container, its image and exit 5 as `docker inspect` has them; Logs/Inspect/Restart aim at it."""
    name = unique_name("lbl")
    config = routes_config(tmp_path, [{"channel": CHANNEL, "events": ["died"], "containers": [name]}])
    bot = start_watching_bot(slack, tmp_path, docker_api, config)
    created = None
    try:
        created = docker_api.create_container(
            test_image, ["sh", "-c", "echo dying; exit 5"], name=name, labels=LIES, network_disabled=True
        )["Id"]
        docker_api.start(created)
        state = wait_exited(docker_api, name)
        info = docker_api.inspect_container(created)
        (message,) = slack.wait_for_messages(channel=CHANNEL, timeout=15)
    finally:
        stop_bot(bot)
        if created is not None:
            remove_all(docker_api, [created])
    assert "Traceback" not in bot.output(), bot.output()

    assert (state["ExitCode"], info["Name"], info["Config"]["Image"]) == (5, f"/{name}", test_image)
    assert message.text == f"{name} exited (5)"
    text = block_texts(message.blocks)
    assert "*exit code* 5" in text
    assert f"*image* `{test_image}`" in text
    assert "dying" in text
    assert "prod-db" not in text
    assert "evil/img" not in text
    targets = [
        json.loads(element["value"])["text"]
        for block in message.blocks
        for element in block.get("elements", [])
        if "action_id" in element
    ]
    assert targets == [f"logs {name} --tail 50", f"inspect {name}", f"restart {name}"]
