"""The whole fake Slack (Web API + Socket Mode in one object) and the signed requests of HTTP mode.

    with FakeSlack() as slack:
        client = WebClient(base_url=slack.api_url, token=slack.bot_token)
        ...
        envelope_id, response_url = slack.send_slash_command("ps -a")
        slack.wait_for_ack(envelope_id)
        slack.wait_for_messages(channel="C123")

Signing follows Slack's documented scheme:
X-Slack-Signature = "v0=" + hex HMAC-SHA256(signing_secret, "v0:{timestamp}:{raw body}").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any, Self
from urllib.parse import urlencode

from .socket_mode import Ack, Envelope, FakeSocketMode
from .web_api import FakeWebApi

JsonDict = dict[str, Any]
DEFAULT_RESPONSE_URL = "https://hooks.slack.com/commands/T123/1/unset"  # pass fake.new_response_url() instead


# ---------------------------------------------------------------------- signing


def sign(signing_secret: str, body: bytes | str, timestamp: int | str) -> str:
    """Slack's request signature: "v0=" + hex(HMAC-SHA256(signing_secret, "v0:{timestamp}:{body}"))."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode("ascii") + b":" + raw
    return "v0=" + hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def signed_headers(
    signing_secret: str,
    body: bytes,
    *,
    content_type: str = "application/x-www-form-urlencoded",
    timestamp: int | None = None,
) -> dict[str, str]:
    """The headers Slack puts on a request to the app: content type, timestamp and signature."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(signing_secret, body, ts),
    }


# ---------------------------------------------------------------------- payloads Slack sends


def _trigger_id() -> str:
    return f"{uuid.uuid4().int % 10**11}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:32]}"


def slash_command_payload(
    text: str,
    *,
    user_id: str = "U123",
    channel_id: str = "C123",
    team_id: str = "T123",
    command: str = "/docker",
    response_url: str = DEFAULT_RESPONSE_URL,
    user_name: str = "alice",
    channel_name: str = "ops",
    team_domain: str = "fake",
    api_app_id: str = "A1",
    **extra: str,
) -> dict[str, str]:
    """Every field Slack sends with a slash command: the form over HTTP, the payload dict in Socket Mode."""
    fields = {
        "token": "verification-token-unused",  # Slack's deprecated verification token; signatures replace it
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": _trigger_id(),
    }
    fields.update(extra)
    return fields


def block_actions_payload(
    action_id: str,
    value: str,
    *,
    user_id: str = "U123",
    channel_id: str = "C123",
    team_id: str = "T123",
    response_url: str = DEFAULT_RESPONSE_URL,
    message_ts: str = "1700000000.000100",
    block_id: str = "actions",
    text: str = "button",
    api_app_id: str = "A1",
    is_ephemeral: bool = False,
    channel_name: str = "ops",
) -> JsonDict:
    """A block_actions interaction: one button click on a message (`channel_name` "directmessage" in a DM)."""
    action_ts = f"{time.time():.6f}"
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": "alice", "name": "alice", "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "verification-token-unused",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": _trigger_id(),
        "team": {"id": team_id, "domain": "fake"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": {"type": "message", "ts": message_ts, "text": "", "blocks": []},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": text, "emoji": True},
                "value": value,
                "action_ts": action_ts,
            }
        ],
    }


def event_callback(
    event: Mapping[str, Any], *, team_id: str = "T123", api_app_id: str = "A1", bot_user_id: str = "U0BOT"
) -> JsonDict:
    """The events_api body wrapping one event (e.g. {"type": "app_home_opened", ...})."""
    now = int(time.time())
    return {
        "token": "verification-token-unused",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": now,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }


def app_home_opened_event(user_id: str = "U123", channel: str = "D123") -> JsonDict:
    """The app_home_opened event Slack sends when someone opens the app's Home tab."""
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel,
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }


# ---------------------------------------------------------------------- signed HTTP-mode requests


def signed_slash_command(
    signing_secret: str,
    text: str,
    *,
    user_id: str = "U123",
    channel_id: str = "C123",
    team_id: str = "T123",
    command: str = "/docker",
    response_url: str = DEFAULT_RESPONSE_URL,
    timestamp: int | None = None,
    **extra: str,
) -> tuple[bytes, dict[str, str]]:
    """A slash command as Slack POSTs it in HTTP mode: the form-encoded body and its signed headers."""
    fields = slash_command_payload(
        text,
        user_id=user_id,
        channel_id=channel_id,
        team_id=team_id,
        command=command,
        response_url=response_url,
        **extra,
    )
    body = urlencode(fields).encode("utf-8")
    return body, signed_headers(signing_secret, body, timestamp=timestamp)


def signed_interaction(
    signing_secret: str, payload: Mapping[str, Any], timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """An interaction (block_actions, view_submission…) as Slack POSTs it: form field payload=<json>."""
    body = urlencode({"payload": json.dumps(payload)}).encode("utf-8")
    return body, signed_headers(signing_secret, body, timestamp=timestamp)


def signed_event(
    signing_secret: str,
    event: Mapping[str, Any],
    timestamp: int | None = None,
    *,
    team_id: str = "T123",
    api_app_id: str = "A1",
) -> tuple[bytes, dict[str, str]]:
    """An Events API request: the event_callback JSON body around `event`, signed."""
    body = json.dumps(event_callback(event, team_id=team_id, api_app_id=api_app_id)).encode("utf-8")
    return body, signed_headers(signing_secret, body, content_type="application/json", timestamp=timestamp)


# ---------------------------------------------------------------------- the whole fake


class FakeSlack(FakeWebApi):
    """The fake Web API with a fake Socket Mode server behind apps.connections.open.

    Everything of FakeWebApi is here (url, api_url, requests(), wait_for(), messages(), uploads(),
    responses(), rate_limit()…); the Socket Mode side is `socket_mode`, its common calls repeated here.
    """

    def __init__(self, *, socket_ping_interval: float | None = None, **web: Any) -> None:
        super().__init__(**web)
        self.socket_mode = FakeSocketMode(app_id=self.app_id, ping_interval=socket_ping_interval)
        self._connections_open = self.socket_mode.issue_url

    def start(self) -> Self:
        self.socket_mode.start()
        try:
            super().start()
        except BaseException:
            self.socket_mode.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            self.socket_mode.stop()
        finally:
            super().stop()

    # Socket Mode, repeated here for short tests
    @property
    def connections_opened(self) -> int:
        return self.socket_mode.connections_opened

    def send_envelope(
        self,
        type: str,  # Slack's field name
        payload: JsonDict,
        *,
        accepts_response_payload: bool | None = None,
        timeout: float = 5.0,
    ) -> str:
        return self.socket_mode.send_envelope(
            type, payload, accepts_response_payload=accepts_response_payload, timeout=timeout
        )

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        return self.socket_mode.wait_for_ack(envelope_id, timeout)

    def redeliver(
        self, envelope_id: str, *, retry_attempt: int = 1, retry_reason: str = "timeout", timeout: float = 5.0
    ) -> str:
        """Send an envelope sent before again, as Slack retries one: same id and payload, with
        `retry_attempt` and `retry_reason` set. Returns the envelope id."""
        sent = next((e for e in self.socket_mode.envelopes() if e.envelope_id == envelope_id), None)
        if sent is None:
            raise KeyError(f"no envelope {envelope_id} was sent")
        return self.socket_mode.send_envelope(
            sent.type,
            sent.payload,
            envelope_id=envelope_id,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            timeout=timeout,
        )

    def acks_of(self, envelope_id: str) -> list[Ack]:
        """Every acknowledgement the app sent for one envelope id (one per delivery)."""
        return [ack for ack in self.socket_mode.acks() if ack.envelope_id == envelope_id]

    def acks(self) -> list[Ack]:
        return self.socket_mode.acks()

    def envelopes(self) -> list[Envelope]:
        return self.socket_mode.envelopes()

    def send_disconnect(
        self, reason: str = "refresh_requested", *, wait_reconnect: bool = True, timeout: float = 10.0
    ) -> None:
        self.socket_mode.send_disconnect(reason, wait_reconnect=wait_reconnect, timeout=timeout)

    # What Slack sends, with a response_url that points back here
    def send_slash_command(
        self, text: str, *, user_id: str = "U123", channel_id: str = "C123", **fields: str
    ) -> tuple[str, str]:
        """Send a slash_commands envelope; return (envelope_id, response_url)."""
        response_url = self.new_response_url(channel_id=channel_id, user_id=user_id)
        payload = slash_command_payload(
            text,
            user_id=user_id,
            channel_id=channel_id,
            team_id=self.team_id,
            api_app_id=self.app_id,
            response_url=response_url,
            **fields,
        )
        return self.send_envelope("slash_commands", payload), response_url

    def send_block_action(
        self, action_id: str, value: str, *, user_id: str = "U123", channel_id: str = "C123", **fields: Any
    ) -> tuple[str, str]:
        """Send an interactive envelope carrying one button click; return (envelope_id, response_url)."""
        response_url = self.new_response_url(channel_id=channel_id, user_id=user_id)
        payload = block_actions_payload(
            action_id,
            value,
            user_id=user_id,
            channel_id=channel_id,
            team_id=self.team_id,
            api_app_id=self.app_id,
            response_url=response_url,
            **fields,
        )
        return self.send_envelope("interactive", payload), response_url

    def send_event(self, event: Mapping[str, Any]) -> str:
        """Send an events_api envelope around `event`; return its envelope_id."""
        payload = event_callback(
            event, team_id=self.team_id, api_app_id=self.app_id, bot_user_id=self.bot_user_id
        )
        return self.send_envelope("events_api", payload)
