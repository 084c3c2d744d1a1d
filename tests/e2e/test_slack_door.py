"""`/docker` end to end: the bot process, the real engine, and a fake Slack over real sockets."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from bot_process import (
    SECRET,
    BotProcess,
    block_texts,
    button,
    click,
    start_http_bot,
    start_socket_bot,
    stop_bot,
)
from bot_process import command as run_command
from fakes.slack import (
    app_home_opened_event,
    block_actions_payload,
    signed_event,
    signed_headers,
    signed_interaction,
    signed_slash_command,
    slash_command_payload,
)
from fakes.web_api import Message

from bot.store import Store

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
    slack.wait_for("files.completeUploadExternal", timeout=20)  # the file follows the message
    uploads = slack.uploads()
    shown = block_texts(message.blocks) + "".join((u.data or b"").decode() for u in uploads)
    assert "CONTAINER ID" in shown
    names &= engine_names()  # other tests on the same engine remove their containers meanwhile
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
    """Long output is paged; anyone's Next shows the stored page 2 in place, still naming who ran it."""
    status, url = slash(http_bot, slack, f"logs {chatty} --tail 300")
    assert status == 200
    (first,) = answer(slack, url)
    text = block_texts(first.blocks)
    assert "Page 1 of" in text
    assert "line 0000" not in text or "line 0299" not in text
    next_button = _element(first.blocks, "page_next")
    assert set(json.loads(next_button["value"])) == {"id", "page"}  # no command text to run again
    click_url = slack.new_response_url(user_id="U999")
    payload = block_actions_payload("page_next", next_button["value"], user_id="U999", response_url=click_url)
    body, headers = signed_interaction(SECRET, payload)
    assert http_bot.post(body, headers)[0] == 200
    (second,) = answer(slack, click_url)
    assert second.replace_original is True
    assert second.response_type == "in_channel"
    second_text = block_texts(second.blocks)
    assert "Page 2 of" in second_text
    assert "<@U123> ran" in second_text  # the page of U123's reply, not a new run by U999


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
    pick_url = slack.new_response_url(user_id="U555")
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
    click_url = slack.new_response_url(user_id="U555")
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
    envelope, url = slack.send_block_action("run_inspect", value, user_id="U321")  # a button that runs
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


# ---- one request runs once: paging shows stored pages, a redelivery runs nothing --------------------------

ADMIN_POLICY = """
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


def _policy(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "chatops.toml"
    path.write_text(ADMIN_POLICY, encoding="utf-8")
    # a generous command timeout: other tests share the engine, and a timed-out restart is not audited
    return {"CHATOPS_CONFIG": str(path), "CHATOPS_AUDIT_CHANNEL": "C0AUDIT", "CHATOPS_COMMAND_TIMEOUT": "60"}


@pytest.fixture
def admin_bot(slack: Any, tmp_path: Path, docker_api: Any) -> Iterator[BotProcess]:
    """HTTP mode with a policy: U0ADMIN may do anything, everyone else may read; an audit channel."""
    bot = start_http_bot(slack, tmp_path, **_policy(tmp_path))
    yield bot
    stop_bot(bot)
    assert "Traceback" not in bot.output(), bot.output()


@pytest.fixture
def web(docker_api: Any, test_image: str, unique_name: Any) -> Iterator[str]:
    """A running container to restart (`restart -t 0` kills it at once)."""
    name = unique_name("web")
    container = docker_api.create_container(test_image, ["sleep", "300"], name=name)["Id"]
    docker_api.start(container)
    yield name
    docker_api.remove_container(container, force=True)


def restarts(docker_api: Any, name: str, since: float) -> int:
    """How many `restart` events the engine emitted for container `name` since `since` (its own record)."""
    events = docker_api.events(
        since=since, until=time.time() + 0.5, filters={"type": "container", "event": "restart"}, decode=True
    )
    return sum(1 for event in events if event.get("Actor", {}).get("Attributes", {}).get("name") == name)


def started_at(docker_api: Any, name: str) -> str:
    """When the engine last started the container (`docker inspect` State.StartedAt)."""
    return str(docker_api.inspect_container(name)["State"]["StartedAt"])


def audit_texts(tmp_path: Path) -> list[tuple[str, str, str]]:
    """(source, text, outcome) of every audit row, oldest first."""
    store = Store(tmp_path / "state.db")
    try:
        return [(row.source, row.text, row.outcome) for row in store.audit_export()]
    finally:
        store.close()


def test_page_clicks_after_a_mutating_chain_run_nothing(  # noqa: PLR0917 - one fixture each
    admin_bot: BotProcess, slack: Any, docker_api: Any, web: str, chatty: str, tmp_path: Path
) -> None:
    """`restart web && logs chatty --tail 300` restarts once; Next and Prev, by its requester or anyone
    else, only show the stored pages: the engine sees no second restart, and every click is audited."""
    since = time.time()
    chain = f"restart -t 0 {web} && logs {chatty} --tail 300"
    (first,) = run_command(admin_bot, slack, chain, "U0ADMIN", timeout=60)
    assert first.response_type == "in_channel"
    assert "Page 1 of" in block_texts(first.blocks)
    started = started_at(docker_api, web)
    assert restarts(docker_api, web, since) == 1
    (second,) = click(admin_bot, slack, "page_next", button(first, "page_next"), "U0ADMIN")
    assert second.replace_original is True
    assert "Page 2 of" in block_texts(second.blocks)
    assert "line 0" in block_texts(second.blocks)
    (again,) = click(admin_bot, slack, "page_next", button(first, "page_next"), "U0VIEWER")
    assert block_texts(again.blocks) == block_texts(second.blocks)
    (back,) = click(admin_bot, slack, "page_prev", button(second, "page_prev"), "U0VIEWER")
    assert block_texts(back.blocks) == block_texts(first.blocks)
    time.sleep(1.0)  # time for a second restart to show, were there one
    assert restarts(docker_api, web, since) == 1
    assert started_at(docker_api, web) == started
    audit = slack.wait_for_messages(channel="C0AUDIT", timeout=10)
    assert len(audit) == 1
    rows = audit_texts(tmp_path)
    assert [row for row in rows if row[0] == "slack"] == [("slack", chain, "ok")]
    count = first_pages(first)
    pages = [row[1].split(":")[0] for row in rows if row[0] == "slack-click"]
    assert pages == [f"page 2 of {count}", f"page 2 of {count}", f"page 1 of {count}"]


def first_pages(message: Message) -> int:
    """N of the "Page 1 of N" a paged message shows."""
    text = block_texts(message.blocks)
    return int(text.split("Page 1 of ", 1)[1].split()[0])


def test_unknown_or_old_style_page_buttons_run_nothing_and_say_so(
    admin_bot: BotProcess, slack: Any, docker_api: Any, web: str, tmp_path: Path
) -> None:
    """A page id the bot never stored (or that expired), and a button of the old kind that carried the
    command to run again, get an ephemeral explanation; the engine sees no restart; both are audited."""
    since = time.time()
    (unknown,) = click(admin_bot, slack, "page_next", json.dumps({"id": "x" * 24, "page": 1}), "U0ADMIN")
    assert unknown.response_type == "ephemeral"
    assert unknown.replace_original is False
    assert "no longer kept" in (unknown.text or "")
    old = json.dumps({"text": f"restart -t 0 {web}", "page": 1, "host": "local"})
    (refused,) = click(admin_bot, slack, "page_next", old, "U0ADMIN")
    assert "nothing was run" in (refused.text or "")
    time.sleep(1.0)
    assert restarts(docker_api, web, since) == 0
    clicks = [row for row in audit_texts(tmp_path) if row[0] == "slack-click"]
    assert [row[2] for row in clicks] == ["refused", "refused"]


def test_socket_mode_redelivered_envelope_runs_once_also_after_a_restart(
    slack: Any, tmp_path: Path, docker_api: Any, web: str
) -> None:
    """A slash command envelope delivered again (same envelope_id, retry_attempt=1), then again after the
    bot restarted, and once more under a new envelope id (same trigger_id): each is acknowledged, and the
    engine saw one restart."""
    bot = start_socket_bot(slack, tmp_path, **_policy(tmp_path))
    since = time.time()
    try:
        envelope, url = slack.send_slash_command(f"restart -t 0 {web}", user_id="U0ADMIN")
        slack.wait_for_ack(envelope, timeout=10)
        (done,) = answer(slack, url, timeout=60)
        assert "restarted 1 container" in block_texts(done.blocks)
        slack.redeliver(envelope, retry_attempt=1, retry_reason="timeout")
        _wait_acks(slack, envelope, 2)
        time.sleep(1.5)  # time for a second run to answer and restart, were there one
        assert len(slack.responses(url)) == 1
        assert restarts(docker_api, web, since) == 1
    finally:
        stop_bot(bot)
    assert "Traceback" not in bot.output(), bot.output()
    bot = start_socket_bot(slack, tmp_path, **_policy(tmp_path))
    try:
        slack.redeliver(envelope, retry_attempt=2, retry_reason="timeout")
        _wait_acks(slack, envelope, 3)
        (sent,) = [e for e in slack.envelopes() if e.envelope_id == envelope][:1]
        other = slack.send_envelope("slash_commands", sent.payload)
        slack.wait_for_ack(other, timeout=10)
        time.sleep(1.5)
        assert len(slack.responses(url)) == 1
        assert restarts(docker_api, web, since) == 1
        assert "redelivered slash_commands envelope (retry_attempt 2, timeout)" in bot.output()
    finally:
        stop_bot(bot)
    assert "Traceback" not in bot.output(), bot.output()


def _wait_acks(slack: Any, envelope: str, count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while len(slack.acks_of(envelope)) < count:
        assert time.monotonic() < deadline, f"{len(slack.acks_of(envelope))} acks of {envelope}, not {count}"
        time.sleep(0.05)


def test_http_retry_with_the_same_trigger_id_runs_nothing(
    admin_bot: BotProcess, slack: Any, docker_api: Any, web: str
) -> None:
    """Slack's retry of a slash command (same body, fresh signature) gets an empty 200 and runs nothing."""
    since = time.time()
    url = slack.new_response_url(user_id="U0ADMIN")
    fields = slash_command_payload(f"restart -t 0 {web}", user_id="U0ADMIN", response_url=url)
    body = urlencode(fields).encode()
    assert admin_bot.post(body, signed_headers(SECRET, body))[0] == 200
    assert "restarted 1 container" in block_texts(answer(slack, url, timeout=60)[0].blocks)
    retry = {**signed_headers(SECRET, body, timestamp=int(time.time()) + 1), "X-Slack-Retry-Num": "1"}
    assert admin_bot.post(body, retry) == (200, b"")
    time.sleep(1.5)
    assert len(slack.responses(url)) == 1
    assert restarts(docker_api, web, since) == 1


# ---- nothing typed or printed goes out live --------------------------------------------------------------

HOSTILE = "<!channel> <https://evil.example|Approve> <@U0EVIL> <#C0EVIL> <!subteam^S0EVIL>"


@pytest.fixture
def hostile(docker_api: Any, test_image: str, unique_name: Any) -> Iterator[str]:
    """A running container whose labels hold mentions and links and whose log prints them."""
    name = unique_name("hostile")
    container = docker_api.create_container(
        test_image,
        ["sh", "-c", f"echo '{HOSTILE}'; echo 'password=<!here>'; sleep 300"],
        name=name,
        labels={"x": "<!channel>", "evil": "<https://evil.example|Approve>", "all": HOSTILE},
    )["Id"]
    docker_api.start(container)
    yield name
    docker_api.remove_container(container, force=True)


@pytest.fixture
def hostile_stopped(docker_api: Any, test_image: str, unique_name: Any) -> Iterator[str]:
    """A stopped container with a hostile label: a prune filtered on it has something to plan."""
    labels = {"evil": "<https://evil.example|Approve>"}
    container = docker_api.create_container(
        test_image, ["true"], name=unique_name("hostile-stopped"), labels=labels
    )
    yield str(container["Id"])
    docker_api.remove_container(container["Id"], force=True)


def test_hostile_commands_labels_and_logs_never_reach_slack_live(
    admin_bot: BotProcess, slack: Any, hostile: str, hostile_stopped: str
) -> None:
    """Commands, filters, labels and log lines holding `<!channel>`, `<https://…|Approve>`, `<@U…>` reach
    every place the bot writes (answers, errors, plans, the audit line, Cancel, picks, files, App Home)
    escaped: the fake Slack finds no live mention or link but the requester's own."""
    sent = [
        f"restart -t 0 {hostile} && ps -a -f 'label=x=<!channel>'",
        f"logs {hostile}",
        f"inspect {hostile}",
        "ps -a --no-trunc -f label=evil=&lt;https://evil.example|Approve&gt;",
        "<!channel> <https://evil.example|Approve>",
        "logs '<https://evil.example|Approve>'",
        "ps -a -f 'label=x=<!channel>' --file",
    ]
    answers = {text: run_command(admin_bot, slack, text, "U0ADMIN", timeout=60) for text in sent}
    assert "restarted 1 container" in block_texts(answers[sent[0]][0].blocks)
    # the prune finds the stopped container, so its plan (hostile filter and all) asks to confirm
    prune = "container prune --filter 'label=evil=<https://evil.example|Approve>'"
    plan = run_command(admin_bot, slack, prune, "U0ADMIN")
    (cancelled,) = click(admin_bot, slack, "plan_cancel", button(plan[0], "plan_cancel"), "U0ADMIN")
    assert "Cancelled by <@U0ADMIN>" in (cancelled.text or "")
    pick = json.dumps({"name": "<!channel>", "host": "local"})
    pick_url = slack.new_response_url(user_id="U0ADMIN")
    payload = block_actions_payload("ps_pick", "", user_id="U0ADMIN", response_url=pick_url)
    payload["actions"] = [
        {"type": "static_select", "action_id": "ps_pick", "block_id": "p", "selected_option": {"value": pick}}
    ]
    assert admin_bot.post(*signed_interaction(SECRET, payload))[0] == 200
    answer(slack, pick_url)
    click(admin_bot, slack, "run_logs", json.dumps({"text": "logs <!channel>", "host": "local"}), "U0ADMIN")
    assert admin_bot.post(*signed_event(SECRET, app_home_opened_event(user_id="U0ADMIN")))[0] == 200
    slack.wait_for("views.publish", timeout=20)
    slack.wait_for("files.completeUploadExternal", timeout=20)
    audit = slack.wait_for_messages(channel="C0AUDIT", timeout=10)
    # the hostile text did go out, escaped: in the audit line, the log lines, the labels
    assert "&lt;!channel&gt;" in (audit[0].text or "")
    logs_raw = json.dumps(answers[f"logs {hostile}"][0].blocks)
    assert "&lt;!channel&gt; &lt;https://evil.example|Approve&gt; &lt;@U0EVIL&gt;" in logs_raw
    assert "&lt;!channel&gt;" in json.dumps(answers[f"inspect {hostile}"][0].blocks)
    assert slack.live_markup() == []
