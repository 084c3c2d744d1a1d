"""`/docker` end to end: the bot process, the real engine, and a fake Slack over real sockets."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.slack import (
    app_home_opened_event,
    block_actions_payload,
    signed_event,
    signed_interaction,
    signed_slash_command,
)
from fakes.web_api import Message

from .conftest import SECRET, BotProcess, block_texts, start_http_bot, stop_bot

pytestmark = pytest.mark.integration


def engine_names() -> set[str]:
    """Every container name on the engine, by the docker CLI (the oracle)."""
    out = subprocess.run(
        ["docker", "ps", "-a", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return {line for line in out.splitlines() if line}


@pytest.fixture
def few_containers(docker_api: Any, test_image: str, unique_name: Any) -> Iterator[list[str]]:
    """Three containers of our own (created, running, exited) so `ps -a` has known rows."""
    names = [unique_name(kind) for kind in ("created", "running", "exited")]
    ids = []
    for name, command in zip(names, (["sleep", "300"], ["sleep", "300"], ["true"]), strict=True):
        ids.append(docker_api.create_container(test_image, command, name=name)["Id"])
    docker_api.start(ids[1])
    docker_api.start(ids[2])
    docker_api.wait(ids[2], timeout=30)
    yield names
    for container in ids:
        docker_api.remove_container(container, force=True)


@pytest.fixture
def chatty(docker_api: Any, test_image: str, unique_name: Any) -> Iterator[str]:
    """A container whose log is 300 lines of 100 characters: several pages of output."""
    name = unique_name("chatty")
    script = (
        "i=0; while [ $i -lt 300 ]; do "
        "printf 'line %04d %s\\n' $i $(printf 'x%.0s' $(seq 90)); i=$((i+1)); done"
    )
    container = docker_api.create_container(test_image, ["sh", "-c", script], name=name)["Id"]
    docker_api.start(container)
    docker_api.wait(container, timeout=60)
    yield name
    docker_api.remove_container(container, force=True)


def slash(bot: BotProcess, slack: Any, text: str, **fields: Any) -> tuple[int, str]:
    """Send a signed slash command; returns the HTTP status of the acknowledgement and the response_url."""
    response_url = slack.new_response_url(channel_id=fields.get("channel_id", "C123"))
    body, headers = signed_slash_command(SECRET, text, response_url=response_url, **fields)
    status, _ = bot.post(body, headers)
    return status, response_url


def answer(slack: Any, response_url: str, count: int = 1, timeout: float = 20) -> list[Message]:
    """The messages posted to one response_url, waiting for `count` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = slack.responses(response_url)
        if len(messages) >= count:
            return list(messages)
        time.sleep(0.05)
    raise AssertionError(f"no answer on {response_url}; got {slack.responses(response_url)}")


def test_http_ps_a_answers_in_channel_with_every_container(
    http_bot: BotProcess, slack: Any, few_containers: list[str]
) -> None:
    """A signed `/docker ps -a` is acknowledged, then answered in the channel naming every container."""
    names = engine_names()
    assert set(few_containers) <= names
    status, url = slash(http_bot, slack, "ps -a --file")
    assert status == 200
    (message,) = answer(slack, url)
    assert message.response_type == "in_channel"
    uploads = slack.uploads()
    shown = block_texts(message.blocks) + "".join(u.data.decode() for u in uploads)
    assert "CONTAINER ID" in shown
    assert [name for name in sorted(names) if name not in shown] == []
    assert "<@U123>" in block_texts(message.blocks)


def test_http_refuses_forged_stale_garbage_and_replayed_requests(http_bot: BotProcess, slack: Any) -> None:
    """Bad signatures get 401 and a replay gets 409; none of them runs anything or posts anything."""
    url = slack.new_response_url()
    body, headers = signed_slash_command(SECRET, "ps -a", response_url=url)
    assert http_bot.post(body, headers)[0] == 200
    assert http_bot.post(body, headers)[0] == 409
    forged_url = slack.new_response_url()
    forged_body, forged = signed_slash_command("not-the-secret", "ps -a", response_url=forged_url)
    assert http_bot.post(forged_body, forged)[0] == 401
    stale_url = slack.new_response_url()
    stale_body, stale = signed_slash_command(
        SECRET, "ps -a", response_url=stale_url, timestamp=int(time.time()) - 400
    )
    assert http_bot.post(stale_body, stale)[0] == 401
    garbage_url = slack.new_response_url()
    garbage_body, garbage = signed_slash_command(SECRET, "ps -a", response_url=garbage_url)
    garbage["X-Slack-Signature"] = "v0=" + "0" * 64
    assert http_bot.post(garbage_body, garbage)[0] == 401
    del garbage["X-Slack-Signature"]
    assert http_bot.post(garbage_body, garbage)[0] == 401
    assert len(answer(slack, url)) == 1
    time.sleep(1.0)
    assert len(slack.responses(url)) == 1
    for refused in (forged_url, stale_url, garbage_url):
        assert slack.responses(refused) == []


def test_http_unknown_command_is_answered_ephemerally(http_bot: BotProcess, slack: Any) -> None:
    """A typo gets an ephemeral answer with the did-you-mean; the channel sees nothing."""
    status, url = slash(http_bot, slack, "inspects web")
    assert status == 200
    (message,) = answer(slack, url)
    assert message.response_type == "ephemeral"
    text = block_texts(message.blocks)
    assert 'unknown command "inspects"' in text
    assert 'did you mean "inspect"?' in text


def test_http_slack_escaped_chain_runs_both_commands(http_bot: BotProcess, slack: Any) -> None:
    """Slack sends `&&` as `&amp;&amp;`; the bot runs the chain as typed."""
    status, url = slash(http_bot, slack, "version &amp;&amp; info")
    assert status == 200
    text = block_texts(answer(slack, url)[0].blocks)
    assert "API version" in text
    assert "Storage Driver" in text


def test_http_paging_replaces_the_message_in_place(http_bot: BotProcess, slack: Any, chatty: str) -> None:
    """Long output is paged; Next re-runs the command as the clicker and replaces the message."""
    status, url = slash(http_bot, slack, f"logs {chatty} --tail 300")
    assert status == 200
    (first,) = answer(slack, url)
    text = block_texts(first.blocks)
    assert "Page 1 of" in text
    assert "line 0000" not in text or "line 0299" not in text
    next_button = _element(first.blocks, "page_next")
    click_url = slack.new_response_url()
    payload = block_actions_payload("page_next", next_button["value"], user_id="U999", response_url=click_url)
    body, headers = signed_interaction(SECRET, payload)
    assert http_bot.post(body, headers)[0] == 200
    (second,) = answer(slack, click_url)
    assert second.replace_original is True
    second_text = block_texts(second.blocks)
    assert "Page 2 of" in second_text
    assert "<@U999>" in second_text


def test_http_large_output_is_uploaded_as_a_file(http_bot: BotProcess, slack: Any, chatty: str) -> None:
    """`--file` uploads the full text through files_upload_v2 (URL, bytes, complete) into the channel."""
    status, url = slash(http_bot, slack, f"logs {chatty} --tail 300 --file")
    assert status == 200
    answer(slack, url)
    slack.wait_for("files.completeUploadExternal", timeout=20)
    (upload,) = slack.uploads()
    content = upload.data.decode()
    assert "line 0000" in content
    assert "line 0299" in content
    assert upload.completed
    assert "C123" in (upload.channel_id or ",".join(upload.channels or []))


def test_http_app_home_is_published(http_bot: BotProcess, slack: Any) -> None:
    """Opening App Home publishes a dashboard for every host."""
    body, headers = signed_event(SECRET, app_home_opened_event(user_id="U777"))
    assert http_bot.post(body, headers)[0] == 200
    slack.wait_for("views.publish", timeout=20)
    (view,) = slack.views("U777")
    text = block_texts(view.view["blocks"])
    assert "Docker on local" in text
    assert "Containers:" in text


def test_app_home_opened_again_and_again_is_built_once(http_bot: BotProcess, slack: Any) -> None:
    """Five quick visits to the Home tab build one dashboard for that user; another user still gets one."""
    for n in range(5):
        event = {**app_home_opened_event(user_id="U778"), "event_ts": f"{1_700_000_000 + n}.000100"}
        body, headers = signed_event(SECRET, event)
        assert http_bot.post(body, headers)[0] == 200
    body, headers = signed_event(SECRET, app_home_opened_event(user_id="U779"))
    assert http_bot.post(body, headers)[0] == 200
    slack.wait_for("views.publish", count=2, timeout=20)
    time.sleep(1.0)  # time for a second build of U778, were there one
    assert [len(slack.views(user)) for user in ("U778", "U779")] == [1, 1]


def test_socket_mode_answers_and_reconnects(
    socket_bot: BotProcess, slack: Any, few_containers: list[str]
) -> None:
    """In Socket Mode the envelope is acked, answered in the channel, and a disconnect frame is survived."""
    envelope, url = slack.send_slash_command("ps -a")
    slack.wait_for_ack(envelope, timeout=10)
    (message,) = answer(slack, url)
    assert message.response_type == "in_channel"
    text = block_texts(message.blocks)
    assert all(name in text for name in few_containers)
    slack.send_disconnect()
    assert slack.connections_opened >= 2
    envelope, url = slack.send_slash_command("inspects x")
    slack.wait_for_ack(envelope, timeout=10)
    (again,) = answer(slack, url)
    assert again.response_type == "ephemeral"


def test_http_pick_a_container_then_logs_runs_as_the_clicker(
    http_bot: BotProcess, slack: Any, few_containers: list[str]
) -> None:
    """`ps` offers a container picker; a pick offers Logs/Inspect; Logs runs `logs NAME` as the clicker."""
    running = few_containers[1]
    status, url = slash(http_bot, slack, f"ps -a -f name={running}")
    assert status == 200
    (listing,) = answer(slack, url)
    select = _element(listing.blocks, "ps_pick")
    option = select["options"][0]
    assert json.loads(option["value"])["name"] == running
    pick_url = slack.new_response_url()
    payload = block_actions_payload("ps_pick", "", user_id="U555", response_url=pick_url)
    payload["actions"] = [
        {"type": "static_select", "action_id": "ps_pick", "block_id": "pick", "selected_option": option}
    ]
    body, headers = signed_interaction(SECRET, payload)
    assert http_bot.post(body, headers)[0] == 200
    (offer,) = answer(slack, pick_url)
    assert offer.response_type == "ephemeral"
    logs_button = _element(offer.blocks, "run_logs")
    assert _element(offer.blocks, "run_inspect")
    click_url = slack.new_response_url()
    click = block_actions_payload("run_logs", logs_button["value"], user_id="U555", response_url=click_url)
    body, headers = signed_interaction(SECRET, click)
    assert http_bot.post(body, headers)[0] == 200
    (logs,) = answer(slack, click_url)
    assert logs.response_type == "in_channel"
    text = block_texts(logs.blocks)
    assert f"logs {running}" in text
    assert "<@U555>" in text


def test_socket_mode_interactive_and_events_envelopes(socket_bot: BotProcess, slack: Any) -> None:
    """Socket Mode carries clicks (interactive) and App Home (events_api) like HTTP mode, each acked."""
    value = json.dumps({"text": "version", "host": "local"})
    envelope, url = slack.send_block_action("run_inspect", value, user_id="U321")
    slack.wait_for_ack(envelope, timeout=10)
    (message,) = answer(slack, url)
    assert "API version" in block_texts(message.blocks)
    envelope = slack.send_event(app_home_opened_event(user_id="U321"))
    slack.wait_for_ack(envelope, timeout=10)
    slack.wait_for("views.publish", timeout=20)
    assert "Docker on local" in block_texts(slack.views("U321")[0].view["blocks"])


def test_http_malformed_button_value_runs_nothing(http_bot: BotProcess, slack: Any) -> None:
    """A click whose value is not ours (tampered or stale) is acknowledged and ignored."""
    click_url = slack.new_response_url()
    payload = block_actions_payload("run_logs", "rm -rf /", response_url=click_url)
    body, headers = signed_interaction(SECRET, payload)
    assert http_bot.post(body, headers)[0] == 200
    time.sleep(1.0)
    assert slack.responses(click_url) == []


def _element(blocks: Any, action_id: str) -> dict[str, Any]:
    for block in blocks:
        for element in block.get("elements", []):
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("action_id") == action_id:
            return accessory
    raise AssertionError(f"no {action_id} element in {json.dumps(blocks)[:2000]}")


def test_hung_engine_never_delays_the_ack_and_the_user_is_told(
    slack: Any, tmp_path: Path, frozen_docker_socket: str
) -> None:
    """With a frozen engine, 12 commands (3× the workers) are acked at once and each told of a timeout."""
    bot = start_http_bot(
        slack, tmp_path, DOCKER_HOST=frozen_docker_socket, CHATOPS_COMMAND_TIMEOUT="2", CHATOPS_WORKERS="4"
    )
    try:
        urls = []
        for index in range(12):
            started = time.monotonic()
            status, url = slash(bot, slack, f"ps -a -n {index + 1}")
            assert status == 200
            assert time.monotonic() - started < 1.0
            urls.append(url)
        for url in urls:
            (message,) = answer(slack, url, timeout=15)
            assert message.response_type == "ephemeral"
            assert "did not finish within 2 s on host local" in block_texts(message.blocks)
    finally:
        stop_bot(bot)


def test_rate_limited_upload_is_retried_after_retry_after(
    http_bot: BotProcess, slack: Any, chatty: str
) -> None:
    """A 429 from Slack on the upload is waited out (Retry-After) and the file still arrives."""
    slack.rate_limit("files.getUploadURLExternal", count=1, retry_after=1)
    status, _url = slash(http_bot, slack, f"logs {chatty} --tail 300 --file")
    assert status == 200
    slack.wait_for("files.completeUploadExternal", timeout=20)
    assert [r.status for r in slack.requests("files.getUploadURLExternal")] == [429, 200]
    assert len(slack.uploads()) == 1


def test_http_paging_a_private_answer_stays_private(http_bot: BotProcess, slack: Any, chatty: str) -> None:
    """Next ▶ on a `--private` (ephemeral) answer is answered ephemerally too, never in the channel."""
    status, url = slash(http_bot, slack, f"logs {chatty} --tail 300 --private")
    assert status == 200
    (first,) = answer(slack, url)
    assert first.response_type == "ephemeral"
    click_url = slack.new_response_url()
    value = _element(first.blocks, "page_next")["value"]
    payload = block_actions_payload("page_next", value, response_url=click_url, is_ephemeral=True)
    body, headers = signed_interaction(SECRET, payload)
    assert http_bot.post(body, headers)[0] == 200
    (second,) = answer(slack, click_url)
    assert second.response_type == "ephemeral"
    assert "Page 2 of" in block_texts(second.blocks)
