"""Disk reports end to end: `notify report` posts to the disk route, and the report's "Prune dangling
images" button runs `image prune` through the policy, the confirmation plan and the audit."""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from bot_process import BotProcess, block_texts, button, click, command, start_http_bot, stop_bot

pytestmark = pytest.mark.integration

CONFIG = """
[notify]
timezone = "Europe/Berlin"
[[notify.routes]]
channel = "C0DISK"
events = ["disk"]
[[notify.reports]]
kind = "disk"
cron = "0 3 * * *"

[roles.viewer]
allow = ["read"]
[roles.admin]
allow = ["*"]
[[bindings]]
role = "viewer"
users = ["*"]
[[bindings]]
role = "admin"
users = ["U0ADMIN"]
"""


@pytest.fixture
def report_bot(slack: Any, tmp_path: Path, docker_api: Any) -> Iterator[BotProcess]:
    config = tmp_path / "chatops.toml"
    config.write_text(CONFIG, encoding="utf-8")
    bot = start_http_bot(slack, tmp_path, CHATOPS_CONFIG=str(config))
    yield bot
    stop_bot(bot)
    assert "Traceback" not in bot.output(), bot.output()


@pytest.fixture
def dangling_image(docker_api: Any, unique_name: Any) -> Iterator[str]:
    """An untagged image no container uses: what `image prune` takes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = f"dangling {unique_name('e2e')}\n".encode()
        info = tarfile.TarInfo("note.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    answer = docker_api.import_image_from_data(buffer.getvalue())
    statuses = [json.loads(line).get("status", "") for line in str(answer).splitlines()]
    (image_id,) = [status for status in statuses if status.startswith("sha256:")]
    yield image_id
    with contextlib.suppress(docker.errors.NotFound):
        docker_api.remove_image(image_id, force=True)


def image_exists(docker_api: Any, image_id: str) -> bool:
    try:
        docker_api.inspect_image(image_id)
    except docker.errors.NotFound:
        return False
    return True


def test_notify_report_posts_and_its_prune_button_is_confirmed_and_authorized(
    report_bot: BotProcess, slack: Any, docker_api: Any, dangling_image: str
) -> None:
    """An admin's `notify report` lands in C0DISK; a viewer's click on Prune is refused; the admin's click
    shows the plan, and confirming it removes the dangling image from the engine."""
    answer = command(report_bot, slack, "notify report", "U0ADMIN", timeout=30)[0]
    assert "disk report of host local queued for 1 channel(s): C0DISK" in block_texts(answer.blocks)
    (report,) = slack.wait_for_messages(channel="C0DISK", timeout=30)
    text = block_texts(report.blocks)
    assert (report.text or "").startswith("Disk report for local: ")
    assert "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE" in text
    assert "Dangling images:" in text
    assert "asked by <@U0ADMIN> with `notify report`" in text
    value = button(report, "run_prune")
    assert json.loads(value) == {"text": "image prune", "host": "local"}

    denied = command(report_bot, slack, "notify report", "U0VIEWER", timeout=30)[0]
    assert "denied" in block_texts(denied.blocks)

    refused = click(report_bot, slack, "run_prune", value, "U0VIEWER", timeout=30)[-1]
    assert 'needs "remove"' in block_texts(refused.blocks)
    assert image_exists(docker_api, dangling_image)

    plan = click(report_bot, slack, "run_prune", value, "U0ADMIN", timeout=30)[-1]
    assert plan.response_type == "ephemeral"
    assert "Confirm to go ahead" in block_texts(plan.blocks)
    assert dangling_image.removeprefix("sha256:")[:12] in block_texts(plan.blocks)
    assert image_exists(docker_api, dangling_image)
    done = plan
    for _ in range(4):  # another client of the shared engine changed the dangling images: the new plan
        token = button(done, "plan_confirm")
        done = click(report_bot, slack, "plan_confirm", token, "U0ADMIN", timeout=30)[-1]
        if "The plan changed" not in block_texts(done.blocks):
            break
    assert "deleted: " + dangling_image in block_texts(done.blocks)
    assert not image_exists(docker_api, dangling_image)
    assert len(slack.messages(channel="C0DISK")) == 1
