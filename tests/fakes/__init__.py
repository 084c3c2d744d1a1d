"""Test doubles reached over real sockets: the one fake in this project is Slack (see README.md here)."""

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
    "Envelope",
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
