"""Acting through Slack: plans, Confirm, two-person approval and the rmi remedy, counted on the engine.

Every flow is checked against the engine's own event stream: exactly one `destroy` for a confirmed removal,
none for a refused, expired, replayed or double click.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bot_process import SECRET, BotProcess, block_texts, button, click, command, start_http_bot, stop_bot
from fakes.slack import signed_slash_command
from fakes.web_api import Message
from local_registry import unique_layer_image

from bot.store import Store

pytestmark = pytest.mark.integration

POLICY = """
[roles.viewer]
allow = ["read"]
[roles.admin]
allow = ["*"]
[roles.janitor]
allow = ["read", "remove"]
approval = { remove = "two-person" }
[roles.approver]
allow = ["read", "approve"]

[[bindings]]
role = "viewer"
users = ["*"]
[[bindings]]
role = "admin"
users = ["U0ADMIN"]
[[bindings]]
role = "janitor"
users = ["U0JAN"]
[[bindings]]
role = "approver"
users = ["U0BOSS"]
"""


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "chatops.toml"
    path.write_text(POLICY, encoding="utf-8")
    return path


@pytest.fixture
def acting_bot(slack: Any, tmp_path: Path, policy_file: Path, docker_api: Any) -> Iterator[BotProcess]:
    bot = start_http_bot(slack, tmp_path, CHATOPS_CONFIG=str(policy_file), CHATOPS_AUDIT_CHANNEL="C0AUDIT")
    yield bot
    stop_bot(bot)
    assert "Traceback" not in bot.output(), bot.output()


@pytest.fixture
def victim(docker_api: Any, test_image: str, unique_name: Any) -> Iterator[str]:
    """A stopped container to remove."""
    name = unique_name("victim")
    docker_api.create_container(test_image, ["true"], name=name)
    yield name
    docker_api.remove_container(name, force=True) if _exists(docker_api, name) else None


def _exists(docker_api: Any, name: str) -> bool:
    return bool(docker_api.containers(all=True, filters={"name": f"^/{name}$"}))


def destroys(docker_api: Any, name: str, since: float) -> int:
    """How many `destroy` events the engine emitted for container `name` since `since`."""
    events = docker_api.events(
        since=since, until=time.time() + 0.5, filters={"type": "container", "event": "destroy"}, decode=True
    )
    return sum(1 for event in events if event.get("Actor", {}).get("Attributes", {}).get("name") == name)


def audit_rows(tmp_path: Path) -> list[tuple[str, str, str]]:
    """(user, decision, outcome) of every audit row the bot wrote, oldest first."""
    store = Store(tmp_path / "state.db")
    try:
        return [(row.user_id, row.decision, row.outcome) for row in store.audit_export()]
    finally:
        store.close()


def test_confirm_flow_runs_once_for_the_requester_only(
    acting_bot: BotProcess, slack: Any, docker_api: Any, victim: str, tmp_path: Path
) -> None:
    """rm shows a plan; another user's Confirm and a viewer's rm are refused; the requester's runs once."""
    since = time.time()
    (denied,) = command(acting_bot, slack, f"rm {victim}", "U0NOBODY")
    assert 'rm needs "remove" on ' + victim in block_texts(denied.blocks)
    (plan,) = command(acting_bot, slack, f"rm {victim}", "U0ADMIN")
    assert plan.response_type == "ephemeral"
    assert victim in block_texts(plan.blocks)
    token = button(plan, "plan_confirm")
    (stranger,) = click(acting_bot, slack, "plan_confirm", token, "U0OTHER")
    assert "only <@U0ADMIN> can confirm" in block_texts(stranger.blocks)
    assert _exists(docker_api, victim)
    (done,) = click(acting_bot, slack, "plan_confirm", token, "U0ADMIN", replay=True)
    assert done.replace_original is True
    assert not _exists(docker_api, victim)
    (again,) = click(acting_bot, slack, "plan_confirm", token, "U0ADMIN")
    assert "already used" in block_texts(again.blocks)
    assert destroys(docker_api, victim, since) == 1
    audit = slack.wait_for_messages(channel="C0AUDIT", timeout=10)
    assert [m.text for m in audit] == [f"<@U0ADMIN> ran `rm {victim}` on *local* in <#C123>: ok"]
    assert audit_rows(tmp_path) == [
        ("U0NOBODY", "denied", "denied"),
        ("U0ADMIN", "allowed", "needs_confirmation"),
        ("U0OTHER", "none", "denied"),
        ("U0ADMIN", "allowed", "ok"),
        ("U0ADMIN", "none", "denied"),
    ]


def test_cancel_then_confirm_runs_nothing(
    acting_bot: BotProcess, slack: Any, docker_api: Any, victim: str, tmp_path: Path
) -> None:
    """A cancelled plan cannot be confirmed afterwards."""
    since = time.time()
    (plan,) = command(acting_bot, slack, f"rm {victim}", "U0ADMIN")
    token = button(plan, "plan_confirm")
    (cancelled,) = click(acting_bot, slack, "plan_cancel", token, "U0ADMIN")
    assert "Cancelled by <@U0ADMIN>" in (cancelled.text or "")
    (late,) = click(acting_bot, slack, "plan_confirm", token, "U0ADMIN")
    assert "already cancelled" in block_texts(late.blocks)
    assert _exists(docker_api, victim)
    assert destroys(docker_api, victim, since) == 0
    assert audit_rows(tmp_path) == [
        ("U0ADMIN", "allowed", "needs_confirmation"),
        ("U0ADMIN", "allowed", "cancelled"),
        ("U0ADMIN", "none", "denied"),
    ]


def test_expired_plan_runs_nothing(
    slack: Any, tmp_path: Path, policy_file: Path, docker_api: Any, victim: str
) -> None:
    """A Confirm after CHATOPS_CONFIRM_TTL is refused and nothing is removed."""
    bot = start_http_bot(slack, tmp_path, CHATOPS_CONFIG=str(policy_file), CHATOPS_CONFIRM_TTL="1")
    try:
        since = time.time()
        (plan,) = command(bot, slack, f"rm {victim}", "U0ADMIN")
        token = button(plan, "plan_confirm")
        time.sleep(1.5)
        (late,) = click(bot, slack, "plan_confirm", token, "U0ADMIN")
        assert "expired" in block_texts(late.blocks)
        assert _exists(docker_api, victim)
        assert destroys(docker_api, victim, since) == 0
    finally:
        stop_bot(bot)


def test_two_person_approval(acting_bot: BotProcess, slack: Any, docker_api: Any, victim: str) -> None:
    """A janitor's rm needs another person's Approve: self-approval is refused, an approver's runs once."""
    since = time.time()
    (plan,) = command(acting_bot, slack, f"rm {victim}", "U0JAN")
    assert plan.response_type == "in_channel"
    token = button(plan, "plan_approve")
    (own,) = click(acting_bot, slack, "plan_approve", token, "U0JAN")
    assert "cannot approve your own request" in block_texts(own.blocks)
    (viewer,) = click(acting_bot, slack, "plan_approve", token, "U0NOBODY")
    assert '"approve" right' in block_texts(viewer.blocks)
    assert _exists(docker_api, victim)
    click(acting_bot, slack, "plan_approve", token, "U0BOSS")
    assert not _exists(docker_api, victim)
    assert destroys(docker_api, victim, since) == 1


def test_rmi_of_an_image_in_use_offers_the_remedy(
    acting_bot: BotProcess, slack: Any, docker_api: Any, test_image: str, unique_name: Any
) -> None:
    """rmi of an image a running container uses is explained; the remedy button, confirmed, clears both."""
    image = unique_name("img") + ":1.0"
    repository, tag = image.split(":")
    base = docker_api.create_container(test_image, ["true"], name=unique_name("base"))["Id"]
    docker_api.commit(base, repository=repository, tag=tag)  # an image of its own, with this one tag
    docker_api.remove_container(base)
    user = unique_name("user")
    docker_api.create_container(image, ["sleep", "300"], name=user)
    docker_api.start(user)
    try:
        (first,) = command(acting_bot, slack, f"rmi {image}", "U0ADMIN")
        answers = [first]
        if _has(first, "plan_confirm"):  # planned first, refused when it runs
            answers = click(acting_bot, slack, "plan_confirm", button(first, "plan_confirm"), "U0ADMIN")
        refusal = answers[-1]
        text = block_texts(refusal.blocks)
        assert user in text
        assert "dangling" in text
        remedy = button(refusal, "run_remedy")
        assert f"stop {user} && rm {user} && rmi {image}" in remedy
        (plan,) = click(acting_bot, slack, "run_remedy", remedy, "U0ADMIN")
        token = button(plan, "plan_confirm")
        (done,) = click(acting_bot, slack, "plan_confirm", token, "U0ADMIN")
        assert "Untagged: " + image in block_texts(done.blocks)
        assert not _exists(docker_api, user)
        assert docker_api.images(name=repository) == []
    finally:
        if _exists(docker_api, user):
            docker_api.remove_container(user, force=True)
        if docker_api.images(name=repository):
            docker_api.remove_image(image, force=True)


def _has(message: Message, action_id: str) -> bool:
    return any(
        isinstance(e, dict) and e.get("action_id") == action_id
        for block in message.blocks or []
        for e in block.get("elements", [])
    )


def test_pull_reports_progress_in_place(
    acting_bot: BotProcess, slack: Any, docker_api: Any, registry: str, unique_name: Any
) -> None:
    """`pull` from a real local registry posts progress, then the answer replaces it in the channel."""
    ref = f"{registry}/{unique_name('pull')}/app:1.0"
    image_id = unique_layer_image(docker_api, ref)
    for _ in docker_api.push(ref, stream=True, decode=True):
        pass
    docker_api.remove_image(image_id, force=True)
    try:
        url = slack.new_response_url(user_id="U0ADMIN")
        body, headers = signed_slash_command(SECRET, f"pull {ref}", user_id="U0ADMIN", response_url=url)
        assert acting_bot.post(body, headers)[0] == 200
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            "Status: Downloaded newer image" in block_texts(m.blocks) for m in slack.responses(url)
        ):
            time.sleep(0.1)
        messages = slack.responses(url)
        progress, final = messages[:-1], messages[-1]
        assert progress, "at least one progress line"
        assert all("Pulling" in (m.text or "") for m in progress)
        assert final.response_type == "in_channel"
        assert final.replace_original is True
        assert f"Status: Downloaded newer image for {ref}" in block_texts(final.blocks)
        assert len(messages) <= 5  # a response_url takes five posts
        assert docker_api.images(name=ref.rsplit(":", 1)[0])
    finally:
        with contextlib.suppress(Exception):
            docker_api.remove_image(ref, force=True)
