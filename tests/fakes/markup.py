"""Live markup in what an app sends Slack: the check that nothing a user typed or a container printed goes out
as a mention (`<!channel>`, `<@U…>`, `<#C…>`, `<!subteam^…>`) or a link (`<https://evil|Approve>`).

Slack parses `<…>` in the strings it formats: a message's `text` (unless `"mrkdwn": false`), every `mrkdwn`
text object (sections, contexts, fields, confirm dialog text), the `text`, `pretext` and field values of
legacy attachments, and a file's `initial_comment`. `plain_text` objects (button labels, option texts, dialog
titles, headers) and file titles are shown as written and parse nothing, so they are not searched.

In those strings every `<…>` is live, except the mentions an app writes itself: `<@ID>` of a user and
`<#ID>` of a channel that took part in the conversation (the fake Slack knows them: the users and channels
of the requests it issued or signed). Escaped text (`&lt;!channel&gt;`) is never live.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from typing import Any

_TOKEN = re.compile(r"<([^<>]*)>")
_USER = re.compile(r"@([UW][A-Z0-9]+)")
_CHANNEL = re.compile(r"#([CGD][A-Z0-9]+)")
_ATTACHMENT_TEXTS = ("text", "pretext", "footer")


def _mrkdwn_texts(node: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            yield where, node["text"]
            return
        for key, value in node.items():
            yield from _mrkdwn_texts(value, f"{where}.{key}")
    elif isinstance(node, list | tuple):
        for index, item in enumerate(node):
            yield from _mrkdwn_texts(item, f"{where}[{index}]")


def parsed_strings(payload: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, text) of every string Slack would format in one message, view or upload payload."""
    text = payload.get("text")
    if isinstance(text, str) and payload.get("mrkdwn") not in (False, "false"):
        yield "text", text
    comment = payload.get("initial_comment")
    if isinstance(comment, str):
        yield "initial_comment", comment
    blocks = payload.get("blocks")
    if isinstance(blocks, list):
        yield from _mrkdwn_texts(blocks, "blocks")
    attachments = payload.get("attachments")
    if isinstance(attachments, list):
        for index, attachment in enumerate(attachments):
            if not isinstance(attachment, Mapping):
                continue
            for key in _ATTACHMENT_TEXTS:
                if isinstance(attachment.get(key), str):
                    yield f"attachments[{index}].{key}", attachment[key]
            for k, field in enumerate(attachment.get("fields") or []):
                if isinstance(field, Mapping) and isinstance(field.get("value"), str):
                    yield f"attachments[{index}].fields[{k}]", field["value"]
            yield from _mrkdwn_texts(attachment.get("blocks") or [], f"attachments[{index}].blocks")


def live_tokens(text: str, *, users: Collection[str], channels: Collection[str]) -> list[str]:
    """Every `<…>` in `text` that is not a mention of one of `users` or `channels`."""
    found = []
    for match in _TOKEN.finditer(text):
        inner = match.group(1)
        user = _USER.fullmatch(inner)
        channel = _CHANNEL.fullmatch(inner)
        if (user and user.group(1) in users) or (channel and channel.group(1) in channels):
            continue
        found.append(match.group(0))
    return found


def live_markup(
    payload: Mapping[str, Any], *, users: Collection[str], channels: Collection[str], label: str = ""
) -> list[str]:
    """`LABEL WHERE: <token>` for every live token in one payload that the app did not write itself."""
    return [
        f"{label} {where}: {token}".strip()
        for where, text in parsed_strings(payload)
        for token in live_tokens(text, users=users, channels=channels)
    ]
