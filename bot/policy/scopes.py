"""Where a binding applies: Slack IDs, host globs and container patterns, each checked once at start-up.

Container patterns are name globs (`web-*`, case-sensitive, on `Target.name`), `label:KEY=VALUE`,
`label:KEY` (the label is present) and `project:NAME` (`com.docker.compose.project` == NAME). Every
problem is a `ValueError` whose message starts with where it is (`bindings.1.containers`), so the settings
turn it into one start-up line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

from bot.models import Target

COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
PROTECTED_LABEL = "chatops.protected"
# `--label chatops.protected` (an empty value) protects too: only an explicit "no" leaves a target changeable.
_NOT_PROTECTED = {"false", "0", "no", "off"}
_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]+$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]+$")
ANY = "*"
DM = "dm"


def host_matches(patterns: Iterable[str], host: str) -> bool:
    """True when one of the host globs (`*`, `prod-*`) of a binding, route or report matches `host`."""
    return any(pattern == ANY or fnmatchcase(host, pattern) for pattern in patterns)


def check_glob(pattern: str, where: str) -> str:
    """The glob itself, or a `ValueError` for an empty one or a `[` that is never closed."""
    if not pattern:
        raise ValueError(f"{where}: empty pattern")
    index = 0
    while index < len(pattern):
        if pattern[index] != "[":
            index += 1
            continue
        end = index + 1
        if end < len(pattern) and pattern[end] == "!":
            end += 1
        if end < len(pattern) and pattern[end] == "]":
            end += 1
        while end < len(pattern) and pattern[end] != "]":
            end += 1
        if end >= len(pattern):
            raise ValueError(f"{where}: unclosed '[' in {pattern!r}")
        index = end + 1
    return pattern


def check_ids(values: tuple[str, ...], where: str, kind: Literal["users", "groups", "channels"]) -> None:
    """Slack IDs only (never names, which change and would silently match nobody)."""
    for value in values:
        if kind == "users" and (value == ANY or _USER_ID.match(value)):
            continue
        if kind == "groups" and _GROUP_ID.match(value):
            continue
        if kind == "channels" and (value in (ANY, DM) or _CHANNEL_ID.match(value)):
            continue
        expected = {
            "users": 'a Slack user ID (U…, W…) or "*"',
            "groups": "a Slack user group ID (S…)",
            "channels": 'a Slack channel ID (C…, G…, D…), "dm" or "*"',
        }[kind]
        raise ValueError(f"{where}: {value!r} is not {expected}")


@dataclass(frozen=True, slots=True)
class ContainerPattern:
    """One entry of a binding's `containers`: a name glob, a label test or a compose project."""

    text: str
    kind: Literal["glob", "label", "project"]
    key: str = ""
    value: str | None = None

    @classmethod
    def parse(cls, text: str, where: str) -> ContainerPattern:
        """Parse and check one pattern; `where` names it in the error."""
        if text.startswith("label:"):
            key, sep, value = text.removeprefix("label:").partition("=")
            if not key.strip():
                raise ValueError(f"{where}: {text!r} needs a key: label:KEY or label:KEY=VALUE")
            return cls(text, "label", key, value if sep else None)
        if text.startswith("project:"):
            name = text.removeprefix("project:")
            if not name.strip():
                raise ValueError(f"{where}: {text!r} needs a compose project name: project:NAME")
            return cls(text, "project", name)
        if "=" in text:
            raise ValueError(f'{where}: {text!r} is not a name glob; for a label write "label:{text}"')
        return cls(check_glob(text, where), "glob")

    @property
    def everything(self) -> bool:
        """True for `*`, the pattern that puts every object in scope."""
        return self.kind == "glob" and self.text == ANY

    def matches(self, target: Target) -> bool:
        """True when `target` (a container, image, volume or network) is in this pattern's scope.

        Build cache records belong to no container, so only `*` covers them. A glob must cover every name
        the change reaches (`aliases`: all of an image's tags), not only the one typed.
        """
        if target.kind == "build-cache":
            return self.everything
        if self.kind == "glob":
            return all(fnmatchcase(name, self.text) for name in target.aliases or (target.name,))
        if self.kind == "project":
            return target.labels.get(COMPOSE_PROJECT_LABEL) == self.key
        if self.value is None:
            return self.key in target.labels
        return target.labels.get(self.key) == self.value


def protection(target: Target, own_container_id: str | None) -> str | None:
    """Why nobody may change `target` from chat (its label, being the bot's own container, or being held by
    a container so protected: the image of a protected container is protected too), or None."""
    for holder in target.held_by:
        why = protection(holder, own_container_id)
        if why is not None:
            return f"{why} of container {holder.name}, which uses it"
    value = target.labels.get(PROTECTED_LABEL)
    if value is not None and value.strip().lower() not in _NOT_PROTECTED:
        shown = "=true" if value.strip().lower() in {"true", "1", "yes", "on"} else ""
        return f"label {PROTECTED_LABEL}{shown}"
    if target.kind == "container" and own_container_id and target.id:
        own, other = own_container_id.lower(), target.id.lower()
        if own.startswith(other) or other.startswith(own):
            return "the bot's own container"
    return None
