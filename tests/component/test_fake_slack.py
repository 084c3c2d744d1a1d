"""The fake Slack answers the real slack-sdk clients as Slack documents, over real sockets on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fakes import (
    FakeSlack,
    FakeWebApi,
    app_home_opened_event,
    block_actions_payload,
    sign,
    signed_event,
    signed_interaction,
    signed_slash_command,
)
from slack_bolt import Ack, App, Respond, Say
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.webhook import WebhookClient
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # noqa: S105 - a made-up signing secret
SLASH_FIELDS = {
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "is_enterprise_install",
    "response_url",
    "trigger_id",
}


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake
        assert fake.errors == []


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return WebClient(base_url=slack.api_url, token=slack.bot_token, retry_handlers=[])


class SocketModeApp:
    """A builtin SocketModeClient wired to the fake, acking every envelope with an optional payload."""

    def __init__(self, slack: FakeSlack) -> None:
        self.client = SocketModeClient(
            app_token=slack.app_token, web_client=WebClient(base_url=slack.api_url)
        )
        self.messages: list[dict[str, Any]] = []
        self.requests: list[SocketModeRequest] = []
        self.client.message_listeners.append(self._on_message)
        self.client.socket_mode_request_listeners.append(self._on_request)

    def _on_message(self, client: Any, message: dict[str, Any], raw: str | None) -> None:
        self.messages.append(message)

    def _on_request(self, client: Any, request: SocketModeRequest) -> None:
        self.requests.append(request)
        payload = {"text": f"got {request.type}"} if request.accepts_response_payload else None
        self.client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload=payload)
        )

    def close(self, slack: FakeSlack) -> None:
        # The builtin client's receive loop sits in a 3 s recv timeout; a server-side close ends it at once.
        self.client.auto_reconnect_enabled = False
        self.client.default_auto_reconnect_enabled = False
        slack.socket_mode.drop_connections()
        self.client.close()


@pytest.fixture
def socket_app(slack: FakeSlack) -> Iterator[SocketModeApp]:
    app = SocketModeApp(slack)
    try:
        yield app
    finally:
        app.close(slack)


# ---------------------------------------------------------------------- Web API


def test_auth_test_answers_who_the_bot_is(slack: FakeSlack, client: WebClient) -> None:
    """auth.test answers url, team, user, team_id, user_id and bot_id; the bearer token is recorded."""
    answer = client.auth_test()
    assert answer["ok"] is True
    assert {"url", "team", "user", "team_id", "user_id", "bot_id"} <= set(answer.data)
    assert answer["team_id"] == "T123"
    (request,) = slack.requests("auth.test")
    assert request.headers["authorization"] == "Bearer xoxb-test"
    assert request.token == slack.bot_token
    assert request.path == "/api/auth.test"


def test_missing_or_unknown_token_is_refused_like_slack(slack: FakeSlack) -> None:
    """No token is not_authed, a wrong one invalid_auth, a bot token on apps.connections.open is refused."""
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=slack.api_url).auth_test()
    assert missing.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as unknown:
        WebClient(base_url=slack.api_url, token="xoxb-wrong").auth_test()  # noqa: S106 - a wrong fake token
    assert unknown.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as wrong_type:
        WebClient(base_url=slack.api_url).apps_connections_open(app_token=slack.bot_token)
    assert wrong_type.value.response["error"] == "not_allowed_token_type"
    assert [r.status for r in slack.requests()] == [200, 200, 200]


def test_post_message_and_update_answer_and_are_recorded_in_order(
    slack: FakeSlack, client: WebClient
) -> None:
    """chat.postMessage answers channel, a unique rising ts and the message; chat.update needs a known ts."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}]
    first = client.chat_postMessage(channel="C1", text="hello", blocks=blocks)
    second = client.chat_postMessage(channel="C2", text="other", thread_ts=first["ts"])
    assert first["channel"] == "C1"
    assert first["message"]["text"] == "hello"
    assert first["message"]["blocks"] == blocks
    assert float(first["ts"]) < float(second["ts"])
    assert len(first["ts"].split(".")[1]) == 6

    updated = client.chat_update(channel="C1", ts=first["ts"], text="bye")
    assert (updated["ok"], updated["channel"], updated["ts"], updated["text"]) == (
        True,
        "C1",
        first["ts"],
        "bye",
    )
    with pytest.raises(SlackApiError) as unknown:
        client.chat_update(channel="C1", ts="1.000001", text="nope")
    assert unknown.value.response["error"] == "message_not_found"
    with pytest.raises(SlackApiError) as empty:
        client.api_call("chat.postMessage", json={"channel": "C1"})  # chat_postMessage() would warn first
    assert empty.value.response["error"] == "no_text"

    assert [(m.kind, m.text) for m in slack.messages("C1")] == [
        ("chat.postMessage", "hello"),
        ("chat.update", "bye"),
    ]
    assert slack.messages("C1")[0].blocks == blocks
    assert slack.messages("C2")[0].thread_ts == first["ts"]
    (request, *_) = slack.requests("/api/chat.postMessage")
    assert request.headers["content-type"].startswith(
        "application/json"
    )  # slack-sdk sends this method as JSON


def test_post_ephemeral_targets_one_user(slack: FakeSlack, client: WebClient) -> None:
    """chat.postEphemeral answers message_ts and records the one user who sees it."""
    answer = client.chat_postEphemeral(channel="C1", user="U9", text="only you")
    assert answer["ok"] is True
    assert answer["message_ts"]
    (message,) = slack.messages()
    assert (message.kind, message.channel, message.user, message.text) == (
        "chat.postEphemeral",
        "C1",
        "U9",
        "only you",
    )


def test_block_limits_are_enforced_per_surface(slack: FakeSlack, client: WebClient) -> None:
    """A message takes at most 50 blocks and a section at most 3,000 characters; App Home takes 100 blocks."""
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    client.chat_postMessage(channel="C1", text="ok", blocks=[section] * 50)
    with pytest.raises(SlackApiError) as too_many:
        client.chat_postMessage(channel="C1", text="no", blocks=[section] * 51)
    assert too_many.value.response["error"] == "invalid_blocks"
    long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    with pytest.raises(SlackApiError) as too_long:
        client.chat_postMessage(channel="C1", text="no", blocks=[long_section])
    assert too_long.value.response["error"] == "invalid_blocks"
    client.views_publish(user_id="U1", view={"type": "home", "blocks": [section] * 100})
    with pytest.raises(SlackApiError):
        client.views_publish(user_id="U1", view={"type": "home", "blocks": [section] * 101})


def test_views_publish_records_the_home_view(slack: FakeSlack, client: WebClient) -> None:
    """views.publish answers ok with the view (same id on republish) and records it per user."""
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Docker"}}]
    first = client.views_publish(user_id="U1", view={"type": "home", "blocks": blocks})
    again = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    assert first["view"]["type"] == "home"
    assert first["view"]["blocks"] == blocks
    assert first["view"]["id"] == again["view"]["id"]
    assert [v.view["blocks"] for v in slack.views("U1")] == [blocks, []]


def test_usergroup_members_come_from_the_fake(slack: FakeSlack, client: WebClient) -> None:
    """usergroups.users.list (form-encoded) answers the members set_usergroup gave, else no_such_subteam."""
    slack.set_usergroup("S1", ["U1", "U2"])
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]
    with pytest.raises(SlackApiError) as unknown:
        client.usergroups_users_list(usergroup="S404")
    assert unknown.value.response["error"] == "no_such_subteam"
    request = slack.requests("usergroups.users.list")[0]
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.body["usergroup"] == "S1"


def test_token_may_come_as_a_form_field(slack: FakeSlack) -> None:
    """Like Slack, a form-encoded call may carry its token as a POST parameter instead of the header."""
    answer = WebClient(base_url=slack.api_url).api_call("auth.test", params={"token": slack.bot_token})
    assert answer["ok"] is True


def test_files_upload_v2_runs_the_three_steps_and_the_bytes_arrive(
    slack: FakeSlack, client: WebClient
) -> None:
    """files_upload_v2 gets an upload URL pointing back to the fake, posts the bytes there, then completes."""
    content = b"CONTAINER ID   IMAGE\n" * 500
    answer = client.files_upload_v2(
        channel="C1", content=content, filename="ps.txt", title="docker ps", initial_comment="all of it"
    )
    assert answer["files"] == [{"id": answer["file"]["id"], "title": "docker ps"}]
    (upload,) = slack.uploads()
    assert upload.data == content
    assert upload.length == len(content)
    assert (upload.filename, upload.title, upload.channel_id, upload.completed) == (
        "ps.txt",
        "docker ps",
        "C1",
        True,
    )
    assert upload.initial_comment == "all of it"
    paths = [r.path for r in slack.requests()]
    assert paths == [
        "/api/files.getUploadURLExternal",
        f"/upload/{upload.file_id}",
        "/api/files.completeUploadExternal",
    ]
    upload_url = slack.requests("files.getUploadURLExternal")[0].answer["upload_url"]  # type: ignore[index]
    assert upload_url.startswith(slack.url + "/upload/")


def test_completing_an_upload_that_never_arrived_fails(slack: FakeSlack, client: WebClient) -> None:
    """files.completeUploadExternal refuses a file id whose bytes were never posted."""
    started = client.files_getUploadURLExternal(filename="a.txt", length=3)
    with pytest.raises(SlackApiError) as missing:
        client.files_completeUploadExternal(files=[{"id": started["file_id"], "title": "a"}])
    assert missing.value.response["error"] == "file_not_found"


# ---------------------------------------------------------------------- rate limits and faults


def test_rate_limited_call_is_retried_after_retry_after(slack: FakeSlack) -> None:
    """A 429 carries Retry-After, and RateLimitErrorRetryHandler waits that long before the retry succeeds."""
    slack.rate_limit("chat.postMessage", count=1, retry_after=1)
    client = WebClient(
        base_url=slack.api_url,
        token=slack.bot_token,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    started = time.monotonic()
    answer = client.chat_postMessage(channel="C1", text="after the wait")
    assert answer["ok"] is True
    attempts = slack.requests("chat.postMessage")
    assert [r.status for r in attempts] == [429, 200]
    assert attempts[0].answer == {"ok": False, "error": "ratelimited"}
    assert attempts[1].time - attempts[0].time >= 1.0
    assert time.monotonic() - started >= 1.0
    assert len(slack.messages()) == 1


def test_rate_limit_without_a_retry_handler_surfaces_429(slack: FakeSlack, client: WebClient) -> None:
    """Without a retry handler slack-sdk raises SlackApiError with status 429 and the Retry-After header."""
    slack.rate_limit("/api/chat.postMessage", count=1, retry_after=7)
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="C1", text="x")
    assert limited.value.response.status_code == 429
    assert limited.value.response["error"] == "ratelimited"
    assert limited.value.response.headers["Retry-After"] == "7"
    assert client.chat_postMessage(channel="C1", text="x")["ok"] is True


def test_fail_half_rate_limits_every_other_call(slack: FakeSlack, client: WebClient) -> None:
    """fail_half makes the 1st, 3rd, 5th... matching call answer 429 and lets the others through."""
    slack.fail_half("chat.postMessage", retry_after=0)
    outcomes = []
    for n in range(4):
        try:
            client.chat_postMessage(channel="C1", text=str(n))
            outcomes.append("ok")
        except SlackApiError as exc:
            outcomes.append(exc.response["error"])
    assert outcomes == ["ratelimited", "ok", "ratelimited", "ok"]
    slack.clear_faults()
    assert client.chat_postMessage(channel="C1", text="clear")["ok"] is True


def test_fail_next_answers_a_chosen_error(slack: FakeSlack, client: WebClient) -> None:
    """fail_next makes the next call answer a chosen Slack error, then the method works again."""
    slack.fail_next("chat.postMessage", "not_in_channel")
    with pytest.raises(SlackApiError) as failed:
        client.chat_postMessage(channel="C1", text="x")
    assert failed.value.response["error"] == "not_in_channel"
    assert client.chat_postMessage(channel="C1", text="x")["ok"] is True


# ---------------------------------------------------------------------- response_url


def test_response_url_takes_five_posts_then_answers_used_up(slack: FakeSlack) -> None:
    """Posts to a response_url are recorded as messages in its channel; the sixth answers 404 used_up."""
    url = slack.new_response_url(channel_id="C7", user_id="U7")
    assert url.startswith(slack.url + "/response/")
    webhook = WebhookClient(url)
    first = webhook.send(text="working…", response_type="ephemeral")
    assert (first.status_code, json.loads(first.body)) == (200, {"ok": True})
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "done"}}]
    for _ in range(4):
        assert webhook.send(text="done", blocks=blocks, replace_original=True).status_code == 200
    sixth = webhook.send(text="too many")
    assert sixth.status_code == 404
    assert json.loads(sixth.body) == {"ok": False, "error": "used_up"}

    posts = slack.responses(url)
    assert len(posts) == 5
    assert posts == slack.responses(url.rsplit("/", 1)[1])
    assert (posts[0].channel, posts[0].user, posts[0].response_type) == ("C7", "U7", "ephemeral")
    assert posts[1].replace_original is True
    assert posts[1].blocks == blocks
    assert [m.kind for m in slack.messages("C7")] == ["response_url"] * 5


def test_response_url_expires_and_unknown_ones_are_refused(slack: FakeSlack) -> None:
    """A response_url past its lifetime answers 404 expired_url, and a made-up one 404 as well."""
    expired = slack.new_response_url(ttl=0.0)
    time.sleep(0.01)
    answer = WebhookClient(expired).send(text="late")
    assert (answer.status_code, json.loads(answer.body)["error"]) == (404, "expired_url")
    assert WebhookClient(slack.url + "/response/nope").send(text="x").status_code == 404
    assert slack.messages() == []


def test_response_url_can_be_rate_limited_too(slack: FakeSlack) -> None:
    """rate_limit works on response_url paths: the webhook client sees 429 with Retry-After."""
    slack.rate_limit("/response/", count=1, retry_after=3)
    answer = WebhookClient(slack.new_response_url()).send(text="x")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "3"


# ---------------------------------------------------------------------- waiting


def test_wait_for_sees_requests_made_from_another_thread(slack: FakeSlack, client: WebClient) -> None:
    """wait_for and wait_for_messages block until a background thread's calls arrive, then return them."""

    def later() -> None:
        time.sleep(0.1)
        client.chat_postMessage(channel="C1", text="one")
        client.chat_postMessage(channel="C1", text="two")

    worker = threading.Thread(target=later)
    worker.start()
    try:
        seen = slack.wait_for("chat.postMessage", count=2, timeout=5)
        assert [r.body["text"] for r in seen] == ["one", "two"]
        assert (
            slack.wait_for("chat.postMessage", predicate=lambda r: r.body["text"] == "two")[0].body["text"]
            == "two"
        )
        assert [m.text for m in slack.wait_for_messages(count=2, channel="C1")] == ["one", "two"]
    finally:
        worker.join(timeout=5)


def test_wait_for_times_out_naming_what_arrived(slack: FakeSlack, client: WebClient) -> None:
    """wait_for raises TimeoutError after its timeout, listing the requests that did arrive."""
    client.auth_test()
    with pytest.raises(TimeoutError, match=r"/api/auth\.test"):
        slack.wait_for("chat.postMessage", timeout=0.1)


def test_stop_closes_the_port_and_is_idempotent() -> None:
    """After stop() nothing listens on the port any more, and a second stop() is harmless."""
    fake = FakeWebApi().start()
    port = fake.port
    fake.stop()
    fake.stop()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


# ---------------------------------------------------------------------- signed HTTP-mode requests


def test_signed_slash_command_carries_every_field_and_verifies() -> None:
    """signed_slash_command sends every field Slack sends, and SignatureVerifier accepts its signature."""
    body, headers = signed_slash_command(
        SECRET, "ps -a", user_id="U9", response_url="http://127.0.0.1:1/response/x"
    )
    fields = {key: values[0] for key, values in parse_qs(body.decode(), keep_blank_values=True).items()}
    assert set(fields) == SLASH_FIELDS
    assert (fields["text"], fields["user_id"], fields["command"]) == ("ps -a", "U9", "/docker")
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + b"&text=rm", headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)


def test_old_timestamp_fails_verification() -> None:
    """A request signed more than 300 s ago no longer verifies, as Slack's replay window says."""
    body, headers = signed_slash_command(SECRET, "ps", timestamp=int(time.time()) - 301)
    assert not SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert headers["X-Slack-Signature"] == sign(SECRET, body, headers["X-Slack-Request-Timestamp"])


def test_signed_interaction_and_event_verify() -> None:
    """Interactions go as form field payload=<json>, events as a JSON event_callback; both verify."""
    payload = block_actions_payload("confirm_restart", "web-1", response_url="http://127.0.0.1:1/response/y")
    body, headers = signed_interaction(SECRET, payload)
    assert json.loads(parse_qs(body.decode())["payload"][0]) == payload
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)

    body, headers = signed_event(SECRET, app_home_opened_event("U5"))
    event = json.loads(body)
    assert (event["type"], event["event"]["type"], event["event"]["user"]) == (
        "event_callback",
        "app_home_opened",
        "U5",
    )
    assert headers["Content-Type"] == "application/json"
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)


# ---------------------------------------------------------------------- live markup


def test_live_markup_finds_mentions_and_links_the_app_did_not_write(
    slack: FakeSlack, client: WebClient
) -> None:
    """A raw `<!channel>`, a link, or a mention of someone not in the conversation is reported wherever
    Slack parses text (fallback text, mrkdwn blocks, attachments, App Home); escaped text, plain_text and a
    mention of a user or channel that took part are not."""
    slack.new_response_url(user_id="U0ASKER", channel_id="C0HERE")
    client.chat_postMessage(channel="C0HERE", text="hi <!channel>")
    client.chat_postMessage(
        channel="C0HERE",
        text="fine: &lt;!channel&gt; asked by <@U0ASKER> in <#C0HERE>",
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "see <https://evil.example|Approve>"}},
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "<!here>"}}
                ],
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "by <@U0EVIL> in <#C0EVIL>"}]},
        ],
    )
    client.chat_postMessage(channel="C0HERE", attachments=[{"text": "<!subteam^S1>", "fallback": "x"}])
    client.chat_postMessage(channel="C0HERE", text="<!channel>", mrkdwn=False)
    home = [{"type": "section", "text": {"type": "mrkdwn", "text": "<mailto:a@b.example|mail>"}}]
    client.views_publish(user_id="U0ASKER", view={"type": "home", "blocks": home})
    found = slack.live_markup()
    assert [line.rsplit(": ", 1)[1] for line in found] == [
        "<!channel>",
        "<https://evil.example|Approve>",
        "<@U0EVIL>",
        "<#C0EVIL>",
        "<!subteam^S1>",
        "<mailto:a@b.example|mail>",
    ]
    assert found[1].startswith("chat.postMessage to C0HERE blocks[0].text")


def test_mentions_of_usergroup_members_and_allowed_ids_are_not_leaks(
    slack: FakeSlack, client: WebClient
) -> None:
    """Users the fake knows from set_usergroup or allow_mentions may be mentioned."""
    slack.set_usergroup("S1", ["U0MEMBER"])
    slack.allow_mentions(users=("U0OTHER",), channels=("C0AUDIT",))
    client.chat_postMessage(channel="C0AUDIT", text="<@U0MEMBER> and <@U0OTHER> in <#C0AUDIT>")
    assert slack.live_markup() == []


def test_redeliver_repeats_an_envelope_with_its_retry_attempt(
    slack: FakeSlack, socket_app: SocketModeApp
) -> None:
    """A redelivery carries the same envelope id and payload, with retry_attempt and retry_reason."""
    socket_app.client.connect()
    slack.socket_mode.wait_for_connection(1)
    envelope_id, _ = slack.send_slash_command("restart web", user_id="U3")
    slack.wait_for_ack(envelope_id)
    slack.redeliver(envelope_id, retry_attempt=1, retry_reason="timeout")
    deadline = time.monotonic() + 5
    while len(slack.acks_of(envelope_id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    first, again = socket_app.requests
    assert again.envelope_id == first.envelope_id == envelope_id
    assert again.payload == first.payload
    assert (first.retry_attempt, again.retry_attempt, again.retry_reason) == (None, 1, "timeout")
    assert len(slack.acks_of(envelope_id)) == 2


# ---------------------------------------------------------------------- Socket Mode


def test_socket_mode_client_connects_receives_an_envelope_and_acks(
    slack: FakeSlack, socket_app: SocketModeApp
) -> None:
    """The builtin client opens a URL with its xapp- token, gets hello, gets a slash command and acks it."""
    socket_app.client.connect()
    slack.socket_mode.wait_for_connection(1)
    (opened,) = slack.requests("apps.connections.open")
    assert opened.headers["authorization"] == "Bearer xapp-test"
    assert opened.answer is not None
    assert urlsplit(opened.answer["url"]).scheme == "ws"

    envelope_id, response_url = slack.send_slash_command("ps -a", user_id="U3")
    ack = slack.wait_for_ack(envelope_id)
    assert ack.payload == {"text": "got slash_commands"}
    (request,) = socket_app.requests
    assert (request.type, request.payload["text"], request.payload["response_url"]) == (
        "slash_commands",
        "ps -a",
        response_url,
    )
    assert request.accepts_response_payload is True
    assert socket_app.messages[0]["type"] == "hello"
    assert socket_app.messages[0]["connection_info"] == {"app_id": "A1"}

    event_id = slack.send_event(app_home_opened_event("U3"))
    assert slack.wait_for_ack(event_id).payload is None
    assert socket_app.requests[-1].payload["event"]["type"] == "app_home_opened"


def test_socket_mode_client_reconnects_through_a_fresh_url_after_disconnect(
    slack: FakeSlack, socket_app: SocketModeApp
) -> None:
    """After refresh_requested the client calls apps.connections.open again and envelopes still flow."""
    socket_app.client.connect()
    slack.socket_mode.wait_for_connection(1)
    slack.send_disconnect("refresh_requested")
    assert slack.connections_opened == 2
    assert len(slack.requests("apps.connections.open")) == 2
    assert slack.socket_mode.open_connections == 1

    envelope_id, _ = slack.send_block_action("restart", "web-1")
    ack = slack.wait_for_ack(envelope_id)
    assert ack.connection_id == 2
    assert socket_app.requests[-1].payload["actions"][0]["action_id"] == "restart"


def test_socket_mode_ping_and_pong_work_both_ways() -> None:
    """The server answers the client's pings with pongs, and the client answers the server's pings."""
    with FakeSlack(socket_ping_interval=0.1) as slack:
        app = SocketModeApp(slack)
        try:
            app.client.connect()
            slack.socket_mode.wait_for_connection(1)
            deadline = time.monotonic() + 5
            session = app.client.current_session
            while time.monotonic() < deadline:
                if (
                    session is not None
                    and session.last_ping_pong_time
                    and all(slack.socket_mode.ping_latencies())
                ):
                    break
                time.sleep(0.05)
            assert session is not None
            assert session.last_ping_pong_time is not None  # our pong to the client's ping
            assert slack.socket_mode.ping_latencies()[0] > 0  # the client's pong to our ping
            assert slack.socket_mode.open_connections == 1
        finally:
            app.close(slack)


def test_a_socket_url_works_once(slack: FakeSlack) -> None:
    """Each apps.connections.open URL admits one connection; reusing it is refused with 401."""
    url = WebClient(base_url=slack.api_url).apps_connections_open(app_token=slack.app_token)["url"]
    with ws_connect(url, open_timeout=5, close_timeout=1) as connection:
        hello = json.loads(connection.recv(timeout=5))
        assert hello["type"] == "hello"
        assert hello["num_connections"] == 1
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(url, open_timeout=5)
    assert refused.value.response.status_code == 401
    assert slack.socket_mode.rejected_handshakes == 1


def test_a_bolt_app_over_socket_mode_acks_responds_and_says(slack: FakeSlack) -> None:
    """A Bolt app calls auth.test, acks with a payload, respond()s to the absolute response_url and say()s."""
    app = App(client=WebClient(base_url=slack.api_url, token=slack.bot_token))

    @app.command("/docker")
    def docker(ack: Ack, respond: Respond, say: Say, command: dict[str, Any]) -> None:
        ack("on it")
        respond(text=f"ran {command['text']}")
        say(text="done")

    handler = SocketModeHandler(app, app_token=slack.app_token)
    handler.client.connect()  # what SocketModeHandler.connect() does, typed
    try:
        envelope_id, response_url = slack.send_slash_command("ps -a", channel_id="C9")
        assert slack.wait_for_ack(envelope_id).payload == {"text": "on it"}
        replies = slack.wait_for_messages(2, channel="C9")
        assert [(m.kind, m.text) for m in replies] == [
            ("response_url", "ran ps -a"),
            ("chat.postMessage", "done"),
        ]
        assert replies[0].response_id == response_url.rsplit("/", 1)[1]
        assert slack.requests()[0].api_method == "auth.test"
    finally:
        handler.client.auto_reconnect_enabled = False
        handler.client.default_auto_reconnect_enabled = False
        slack.socket_mode.drop_connections()
        handler.client.close()  # what SocketModeHandler.close() does, typed
