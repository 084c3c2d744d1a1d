"""Every button and select the bot sends: one `ActionId` each, and one encoder/decoder for their values.

A value carries what the click needs and nothing the door must trust: a command to run again as the
clicking user (`RunValue`, re-authorized like a typed command), a stored reply's short ID and a page
(`PageValue`), a pending plan's single-use token (`PlanValue`), a picked container by name or short ID
(`PickValue`). `encode_value` refuses a value longer than Slack allows for its element (2,000 characters
for a button, 150 for a select option), so a caller carries objects by short ID or leaves the button out;
`decode_value` refuses anything it would not have written: another shape, extra or missing fields, wrong
types, a value too long.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.render.blocks.limits import BUTTON_VALUE_MAX, OPTION_VALUE_MAX, slack_length

_SHORT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ActionId(StrEnum):
    """The `action_id` of every interactive element; the Slack door registers one listener for each."""

    PAGE_PREV = "page_prev"
    PAGE_NEXT = "page_next"
    RUN_LOGS = "run_logs"
    RUN_INSPECT = "run_inspect"
    RUN_RESTART = "run_restart"
    RUN_REMEDY = "run_remedy"
    RUN_PRUNE = "run_prune"
    PLAN_CONFIRM = "plan_confirm"
    PLAN_APPROVE = "plan_approve"
    PLAN_CANCEL = "plan_cancel"
    PS_PICK = "ps_pick"


class BadButtonValue(ValueError):
    """A value the bot would not have written (or one too long for its element)."""


@dataclass(frozen=True, slots=True)
class RunValue:
    """A command to run as the clicking user, on `host` ("" for the default host)."""

    text: str
    host: str


@dataclass(frozen=True, slots=True)
class PageValue:
    """Page `page` of the stored reply `reply_id`."""

    reply_id: str
    page: int


@dataclass(frozen=True, slots=True)
class PlanValue:
    """A pending plan's single-use token."""

    token: str


@dataclass(frozen=True, slots=True)
class PickValue:
    """A container picked from a `ps` answer: its name (or short ID) on `host`."""

    name: str
    host: str


ButtonValue = RunValue | PageValue | PlanValue | PickValue

_RUNS = frozenset(
    {ActionId.RUN_LOGS, ActionId.RUN_INSPECT, ActionId.RUN_RESTART, ActionId.RUN_REMEDY, ActionId.RUN_PRUNE}
)
_PAGES = frozenset({ActionId.PAGE_PREV, ActionId.PAGE_NEXT})
_PLANS = frozenset({ActionId.PLAN_CONFIRM, ActionId.PLAN_APPROVE, ActionId.PLAN_CANCEL})


def _shape(action: ActionId) -> type[ButtonValue]:
    if action in _RUNS:
        return RunValue
    if action in _PAGES:
        return PageValue
    if action in _PLANS:
        return PlanValue
    return PickValue


def value_limit(action: ActionId) -> int:
    """How long `action`'s value may be: a select option's (150) or a button's (2,000)."""
    return OPTION_VALUE_MAX if action is ActionId.PS_PICK else BUTTON_VALUE_MAX


def _json(fields: dict[str, Any]) -> str:
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def _fields(value: ButtonValue) -> str:
    if isinstance(value, RunValue):
        return _json({"text": value.text, "host": value.host})
    if isinstance(value, PageValue):
        return _json({"id": value.reply_id, "page": value.page})
    if isinstance(value, PickValue):
        return _json({"name": value.name, "host": value.host})
    if not _SHORT_ID.fullmatch(value.token):
        raise BadButtonValue("a plan token is a short URL-safe ID")
    return value.token


def encode_value(action: ActionId, value: ButtonValue) -> str:
    """The `value` of `action`'s element; `BadButtonValue` when it is not `action`'s shape or too long."""
    if not isinstance(value, _shape(action)):
        raise BadButtonValue(f"{action.value} carries a {_shape(action).__name__}")
    text = _fields(value)
    if slack_length(text) > value_limit(action):
        raise BadButtonValue(f"{action.value} value of {slack_length(text)} characters")
    return text


def fits(action: ActionId, value: ButtonValue) -> bool:
    """True when `value` can be sent as `action`'s value."""
    try:
        encode_value(action, value)
    except BadButtonValue:
        return False
    return True


def _object(raw: str, keys: tuple[str, ...]) -> dict[str, Any]:
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise BadButtonValue("not JSON") from exc
    if not isinstance(parsed, dict) or set(parsed) != set(keys):
        raise BadButtonValue(f"expected exactly the fields {', '.join(keys)}")
    return parsed


def _string(fields: dict[str, Any], key: str) -> str:
    value = fields[key]
    if not isinstance(value, str):
        raise BadButtonValue(f"{key} is not a string")
    return value


def decode_value(action: ActionId | str, raw: object) -> ButtonValue:
    """The value `encode_value` wrote for `action`; `BadButtonValue` for anything else."""
    try:
        action = ActionId(action)
    except ValueError as exc:
        raise BadButtonValue(f"unknown action {str(action)[:40]!r}") from exc
    if not isinstance(raw, str) or not raw:
        raise BadButtonValue("no value")
    if slack_length(raw) > value_limit(action):
        raise BadButtonValue("too long")
    shape = _shape(action)
    if shape is PlanValue:
        if not _SHORT_ID.fullmatch(raw):
            raise BadButtonValue("a plan token is a short URL-safe ID")
        return PlanValue(raw)
    if shape is RunValue:
        fields = _object(raw, ("text", "host"))
        run = RunValue(_string(fields, "text"), _string(fields, "host"))
        if not run.text.strip():
            raise BadButtonValue("no command")
        return run
    if shape is PageValue:
        fields = _object(raw, ("id", "page"))
        page = fields["page"]
        if type(page) is not int or page < 0:
            raise BadButtonValue("page is not a page number")
        return PageValue(_string(fields, "id"), page)
    fields = _object(raw, ("name", "host"))
    return PickValue(_string(fields, "name"), _string(fields, "host"))
