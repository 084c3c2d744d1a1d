"""Test doubles reached over real sockets: Slack, and a misbehaving Docker engine (see README.md here)."""

from .engine import EngineRequest, FakeEngine
from .markup import live_markup, live_tokens, parsed_strings
from .slack import (
    FakeSlack,
    app_home_opened_event,
    block_actions_payload,
    event_callback,
    sign,
    signed_event,
    signed_headers,
    signed_interaction,
    signed_slash_command,
    slash_command_payload,
)
from .socket_mode import Ack, Envelope, FakeSocketMode
from .web_api import FakeWebApi, Message, PublishedView, RecordedRequest, Upload, matches

__all__ = [
    "Ack",
    "EngineRequest",
    "Envelope",
    "FakeEngine",
    "FakeSlack",
    "FakeSocketMode",
    "FakeWebApi",
    "Message",
    "PublishedView",
    "RecordedRequest",
    "Upload",
    "app_home_opened_event",
    "block_actions_payload",
    "event_callback",
    "live_markup",
    "live_tokens",
    "matches",
    "parsed_strings",
    "sign",
    "signed_event",
    "signed_headers",
    "signed_interaction",
    "signed_slash_command",
    "slash_command_payload",
]
