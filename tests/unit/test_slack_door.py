"""The Slack door's own logic, without a network: command text, the replay store, deliver-once dispatch."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fakes.slack import block_actions_payload, event_callback, slash_command_payload
from slack_sdk.signature import SignatureVerifier

from bot.engine import Engine, Host
from bot.router import Router
from bot.slack.app import is_dm_click, is_dm_command
from bot.slack.home import HomeGate
from bot.slack.runner import SlackHttpApp, delivery_keys, http_payload
from bot.slack.text import door_request
from bot.store import Store

SECRET = "test-signing-secret"  # noqa: S105 - a test's own secret


@pytest.mark.parametrize(
    ("raw", "text", "private", "as_file"),
    [
        ("ps -a", "ps -a", False, False),
        ("ps -a &amp;&amp; images", "ps -a && images", False, False),
        ("images -f reference=&lt;none&gt;", "images -f reference=<none>", False, False),
        ("ps -a --private", "ps -a", True, False),
        ("--private ps", "ps", True, False),
        ("images --file", "images", False, True),
        ("logs web --private --file", "logs web", True, True),
        ("logs web --since '--private'", "logs web --since '--private'", False, False),
        ("inspect web --privateer", "inspect web --privateer", False, False),
        ("ps 'unterminated", "ps 'unterminated", False, False),
    ],
)
def test_door_request_unescapes_and_takes_the_door_flags(
    raw: str, text: str, private: bool, as_file: bool
) -> None:
    """Slack's &amp;/&lt;/&gt; become the characters typed; --private/--file are taken only as whole words."""
    request = door_request(raw)
    assert (request.text, request.private, request.as_file) == (text, private, as_file)


def test_store_refuses_a_signature_seen_before(tmp_path: Path) -> None:
    """The first sighting of a signature is new; the second is a replay, also after a restart."""
    store = Store(tmp_path / "state.db")
    assert store.remember_request("v0=abc")
    assert not store.remember_request("v0=abc")
    assert store.remember_request("v0=def")
    store.close()
    reopened = Store(tmp_path / "state.db")
    assert not reopened.remember_request("v0=abc")
    reopened.close()


def _environ(
    body: bytes,
    timestamp: str,
    signature: str,
    path: str = "/slack/events",
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": timestamp,
        "HTTP_X_SLACK_SIGNATURE": signature,
    }


class _Recorder:
    """Stands in for Bolt's WSGI handler: counts what got through the guard."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.bodies.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b""]


@pytest.fixture
def guarded(tmp_path: Path) -> tuple[SlackHttpApp, _Recorder]:
    recorder = _Recorder()
    router = Router([Engine(Host("local", f"unix://{tmp_path}/none.sock", 1.0))])
    app = SlackHttpApp(recorder, SignatureVerifier(SECRET), Store(tmp_path / "s.db"), router)
    return app, recorder


def _call(app: SlackHttpApp, environ: dict[str, Any]) -> str:
    statuses: list[str] = []
    app(environ, lambda status, headers: statuses.append(status))
    return statuses[0]


def test_replay_guard_passes_once_and_refuses_forged_stale_and_replayed(
    guarded: tuple[SlackHttpApp, _Recorder],
) -> None:
    """A valid request reaches Bolt once; a replay gets 409; forged, stale and garbage signatures get 401."""
    app, recorder = guarded
    body = b"command=%2Fdocker&text=ps"
    now = str(int(time.time()))
    good = SignatureVerifier(SECRET).generate_signature(timestamp=now, body=body)
    assert _call(app, _environ(body, now, good)) == "200 OK"
    assert _call(app, _environ(body, now, good)).startswith("409")
    forged = SignatureVerifier("other-secret").generate_signature(timestamp=now, body=body)
    assert _call(app, _environ(body, now, forged)).startswith("401")
    old = str(int(time.time()) - 301)
    stale = SignatureVerifier(SECRET).generate_signature(timestamp=old, body=body)
    assert _call(app, _environ(body, old, stale)).startswith("401")
    assert _call(app, _environ(body, now, "v0=garbage")).startswith("401")
    assert _call(app, _environ(body, "not-a-time", good)).startswith("401")
    assert recorder.bodies == [body]


def _signed(body: bytes, timestamp: int) -> tuple[str, str]:
    return str(timestamp), SignatureVerifier(SECRET).generate_signature(timestamp=str(timestamp), body=body)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (urlencode(slash_command_payload("restart web")).encode(), "application/x-www-form-urlencoded"),
        (
            urlencode({"payload": json.dumps(block_actions_payload("run_restart", "{}"))}).encode(),
            "application/x-www-form-urlencoded",
        ),
        (json.dumps(event_callback({"type": "app_home_opened", "user": "U1"})).encode(), "application/json"),
    ],
    ids=["slash-command", "interaction", "event"],
)
def test_slack_retry_with_a_fresh_signature_runs_nothing(
    guarded: tuple[SlackHttpApp, _Recorder], body: bytes, content_type: str
) -> None:
    """Slack's retry of a request (same body, so the same trigger_id or event_id, signed anew) gets an empty
    200, so that Slack stops retrying, and never reaches Bolt."""
    app, recorder = guarded
    now = int(time.time())
    first = _environ(body, *_signed(body, now), content_type=content_type)
    assert _call(app, first) == "200 OK"
    retry = _environ(body, *_signed(body, now + 1), content_type=content_type)
    retry["HTTP_X_SLACK_RETRY_NUM"] = "1"
    statuses: list[str] = []
    answer = app(retry, lambda status, headers: statuses.append(status))
    assert (statuses, b"".join(answer)) == (["200 OK"], b"")
    assert recorder.bodies == [body]


def test_delivery_keys_name_the_envelope_the_trigger_and_the_event() -> None:
    """Each id Slack repeats in a redelivery is a key; an absent or empty one is not."""
    slash = slash_command_payload("ps")
    assert delivery_keys(slash, "env-1") == ["envelope:env-1", f"trigger:{slash['trigger_id']}"]
    event = event_callback({"type": "app_home_opened"})
    assert delivery_keys(event) == [f"event:{event['event_id']}"]
    assert delivery_keys({"trigger_id": ""}) == []
    assert delivery_keys({"trigger_id": "t" * 500}) == ["trigger:" + "t" * 192]


def test_http_payload_reads_forms_interactions_and_json_and_nothing_else() -> None:
    """The three shapes Slack posts are read; anything unreadable is an empty payload."""
    assert http_payload(b"trigger_id=t1&text=ps", "application/x-www-form-urlencoded")["trigger_id"] == "t1"
    wrapped = urlencode({"payload": json.dumps({"trigger_id": "t2"})}).encode()
    assert http_payload(wrapped, "application/x-www-form-urlencoded; charset=utf-8") == {"trigger_id": "t2"}
    assert http_payload(b'{"event_id": "Ev1"}', "application/json") == {"event_id": "Ev1"}
    assert http_payload(b"payload=not-json", "") == {}
    assert http_payload(b"[1, 2]", "application/json") == {}
    assert http_payload(b"\xff\xfe", "") == {}


def test_health_and_unknown_paths(guarded: tuple[SlackHttpApp, _Recorder]) -> None:
    """GET /healthz answers 200 without Slack; any other path is 404 and reaches nothing."""
    app, recorder = guarded
    assert _call(app, {"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz"}) == "200 OK"
    assert _call(app, {"REQUEST_METHOD": "POST", "PATH_INFO": "/other"}).startswith("404")
    assert recorder.bodies == []


def test_home_gate_builds_once_per_user_until_the_dashboard_is_stale() -> None:
    """One build per user at a time; none while the published one is fresh; a failed build may retry."""
    now = [0.0]
    gate = HomeGate(fresh_for=10.0, clock=lambda: now[0])
    assert gate.claim("U1")
    assert not gate.claim("U1")  # still building
    assert gate.claim("U2")
    gate.release("U1", published=True)
    now[0] = 9.9
    assert not gate.claim("U1")  # fresh
    gate.release("U2", published=False)
    assert gate.claim("U2")  # the failed build does not count
    now[0] = 10.1
    assert gate.claim("U1")


def test_is_dm_is_what_slacks_payload_says_not_the_shape_of_the_channel_id() -> None:
    """A slash command says "directmessage" (or "mpdm-…") in `channel_name`, a click in `channel.name`; a
    channel ID that starts with D is not asked."""
    assert is_dm_command(slash_command_payload("ps", channel_id="D0ME", channel_name="directmessage"))
    assert is_dm_command(slash_command_payload("ps", channel_id="G0MP", channel_name="mpdm-a--b-1"))
    assert not is_dm_command(slash_command_payload("ps", channel_id="D0ME", channel_name="ops"))
    assert not is_dm_command(slash_command_payload("ps", channel_id="C0OPS", channel_name="privategroup"))
    click = block_actions_payload("run_logs", "{}", channel_id="D0ME", channel_name="directmessage")
    assert is_dm_click(click)
    assert not is_dm_click(block_actions_payload("run_logs", "{}", channel_id="D0ME"))
    assert not is_dm_click({"channel": None})
