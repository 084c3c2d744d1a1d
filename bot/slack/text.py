"""What Slack hands us as command text, made into what the user typed, plus the door's own flags."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.commands.tokens import split_words
from bot.errors import UsageError

# Slack escapes these three in slash-command text; nothing else (https://api.slack.com/reference/surfaces/formatting)
_SLACK_ESCAPES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_DOOR_FLAGS = ("--private", "--file")


@dataclass(frozen=True, slots=True)
class DoorRequest:
    """The command text for the router, and how the answer should be delivered."""

    text: str
    private: bool = False
    as_file: bool = False


def door_request(raw: str) -> DoorRequest:
    """Unescape Slack's `&amp;`/`&lt;`/`&gt;` and take out `--private` and `--file` where they are words."""
    text = raw
    for escaped, plain in _SLACK_ESCAPES:
        text = text.replace(escaped, plain)
    try:
        words = {word.text for word in split_words(text) if not word.operator and not word.quoted}
    except UsageError:
        return DoorRequest(text.strip())
    found = {flag: flag in words for flag in _DOOR_FLAGS}
    for flag, present in found.items():
        if present:
            text = re.sub(rf"(^|\s){re.escape(flag)}(?=\s|$)", " ", text)
    return DoorRequest(text.strip(), private=found["--private"], as_file=found["--file"])
