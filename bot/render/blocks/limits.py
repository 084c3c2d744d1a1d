"""Slack's Block Kit limits, and the one check every payload the bot sends passes: `enforce_limits`.

Here too are the text helpers every renderer builds with, so that what users typed and containers printed
is escaped the same way everywhere: `escape_mrkdwn` (the three characters Slack parses), `escape_code`
(inside a ``` block), `escape_clipped` and `escape_code_clipped` (escaped and cut on whole characters,
never inside an entity), `clip`, and `mrkdwn`/`section`/`context`, which always set `verbatim` (no
auto-linking of URLs, channel names or bare mentions found in Docker's output). Pure functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# ---- Slack's limits (docs.slack.dev Block Kit reference) ---------------------------------------------------
MAX_BLOCKS = 50
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
SECTION_FIELD_TEXT_MAX = 2000
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
ID_MAX = 255  # action_id and block_id
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
SELECT_PLACEHOLDER_MAX = 150
SELECT_OPTIONS_MAX = 100
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
CONFIRM_BUTTON_MAX = 30
MESSAGE_TEXT_MAX = 3000  # ours: Slack truncates at 40,000, but the fallback is a notification line
HEADER_TEXT_MAX = 150
HOME_BLOCKS_MAX = 100  # a Home tab view; a message holds MAX_BLOCKS

# Slack also rejects a message whose blocks hold too much text in all (`msg_blocks_too_long`): undocumented,
# reported at about 12,000 characters "with a buffer for block containers" (bolt-js #2509, #2867, where
# 11,341 characters of `text` were already refused). We stay well below, counting every `text` string.
PAGE_TEXT_BUDGET = 10_000

FENCE = "```"
ELLIPSIS = "…"
_ZWSP = "\u200b"


class SlackLimitError(ValueError):
    """Blocks that Slack would refuse; raised by `enforce_limits`, so it means a bug in a renderer."""


# ---- text helpers ------------------------------------------------------------------------------------------


def slack_length(text: str) -> int:
    """Length as UTF-16 code units: never less than Python's `len`, so safe however Slack counts."""
    if text.isascii():
        return len(text)
    # two bytes per unit; "surrogatepass" lets a lone surrogate (from odd JSON) count as the one unit it is
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack parses in any text: `&`, `<`, `>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_code(text: str) -> str:
    """Text for inside a ``` block: mrkdwn escapes, and a zero-width space on both sides of every backtick.

    The spaces keep a "```" in the output from closing the block early; the mapping is reversible
    (replace ZWSP+`+ZWSP by `), so nothing the CLI printed is lost.
    """
    return escape_mrkdwn(text).replace("`", f"{_ZWSP}`{_ZWSP}")


def code_cost(text: str) -> int:
    """`slack_length(escape_code(text))` without building the string (body lines can be many)."""
    extra = 4 * text.count("&") + 3 * (text.count("<") + text.count(">")) + 2 * text.count("`")
    return slack_length(text) + extra


def clip(text: str, limit: int) -> str:
    """At most `limit` characters (Slack-counted), cut with an ellipsis."""
    if slack_length(text) <= limit:
        return text
    out: list[str] = []
    used = 0
    for ch in text:
        size = slack_length(ch)
        if used + size > limit - 1:
            break
        out.append(ch)
        used += size
    return "".join(out) + ELLIPSIS


def escape_clipped(text: str, limit: int, *, keep_end: bool = False) -> str:
    """`escape_mrkdwn(text)` cut (on a character of `text`, never inside an entity) to `limit`; with
    `keep_end` the end is kept (a log tail) and the cut marked at the start."""
    escaped = escape_mrkdwn(text)
    if slack_length(escaped) <= limit:
        return escaped
    out: list[str] = []
    used = 0
    for ch in reversed(text) if keep_end else text:
        piece = escape_mrkdwn(ch)
        size = slack_length(piece)
        if used + size > limit - 1:
            break
        out.append(piece)
        used += size
    if keep_end:
        return ELLIPSIS + "".join(reversed(out))
    return "".join(out) + ELLIPSIS


def escape_code_clipped(text: str, limit: int, *, keep_end: bool = False) -> str:
    """`escape_code(text)` cut (on a character of `text`) to `limit`; with `keep_end` the end is kept."""
    if code_cost(text) <= limit:
        return escape_code(text)
    out: list[str] = []
    used = 0
    for ch in reversed(text) if keep_end else text:
        size = code_cost(ch)
        if used + size > limit - 1:
            break
        out.append(ch)
        used += size
    kept = "".join(reversed(out)) if keep_end else "".join(out)
    return ELLIPSIS + escape_code(kept) if keep_end else escape_code(kept) + ELLIPSIS


# The builders below write Block Kit's documented shapes as plain dicts, exactly what slack_sdk's models
# serialize to (same keys, same order), without their per-object validation: a notification is built for
# every matching Docker event, and `to_dict` of three buttons cost more than the rest of its path. What they
# build is checked by `enforce_limits`, like everything else.


def _mrkdwn_dict(text: str) -> dict[str, Any]:
    """A mrkdwn text object with `verbatim` set: Slack links nothing the bot did not write as a link."""
    return {"text": text, "type": "mrkdwn", "verbatim": True}


def _block(block_id: str | None, **fields: Any) -> dict[str, Any]:
    """A block's dict with its keys in slack_sdk's (sorted) order, `block_id` only when given."""
    block = {"block_id": block_id, **fields} if block_id is not None else fields
    return dict(sorted(block.items()))


def section(text: str, block_id: str | None = None) -> dict[str, Any]:
    return _block(block_id, text=_mrkdwn_dict(text), type="section")


def context(*texts: str, block_id: str | None = None) -> dict[str, Any]:
    return _block(block_id, elements=[_mrkdwn_dict(t) for t in texts], type="context")


def button(label: str, action_id: str, value: str) -> dict[str, Any]:
    """A plain button (no style, no confirm dialog) with an emoji-enabled plain-text label."""
    text = {"emoji": True, "text": label, "type": "plain_text"}
    return {"action_id": str(action_id), "text": text, "type": "button", "value": value}


def actions(elements: list[dict[str, Any]], block_id: str | None = None) -> dict[str, Any]:
    return _block(block_id, elements=elements, type="actions")


# ---- the one place that checks Slack's limits --------------------------------------------------------------


def text_cost(blocks: Iterable[Mapping[str, Any]]) -> int:
    """Every `text` string in the blocks, Slack-counted: what the cumulative text budget is measured on."""
    total = 0
    stack: list[Any] = list(blocks)
    while stack:  # iterative: a notification's blocks are walked for every Docker event that matches
        node = stack.pop()
        if isinstance(node, Mapping):
            for key, value in node.items():
                if isinstance(value, str):
                    if key == "text":
                        total += slack_length(value)
                elif isinstance(value, Mapping | list | tuple):
                    stack.append(value)
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return total


def _text_of(obj: Any) -> str:
    if isinstance(obj, Mapping):
        value = obj.get("text")
        return value if isinstance(value, str) else ""
    return ""


def _check_length(problems: list[str], where: str, value: str, low: int, high: int) -> None:
    size = slack_length(value)
    if not low <= size <= high:
        problems.append(f"{where}: length {size} not in {low}..{high}")


def _check_ids(problems: list[str], where: str, node: Mapping[str, Any]) -> None:
    for key in ("block_id", "action_id"):
        if key in node:
            _check_length(problems, f"{where}.{key}", str(node[key]), 1, ID_MAX)


def _check_confirm(problems: list[str], where: str, confirm: Any) -> None:
    if not isinstance(confirm, Mapping):
        return
    _check_length(problems, f"{where}.title", _text_of(confirm.get("title")), 1, CONFIRM_TITLE_MAX)
    _check_length(problems, f"{where}.text", _text_of(confirm.get("text")), 1, CONFIRM_TEXT_MAX)
    for key in ("confirm", "deny"):
        _check_length(problems, f"{where}.{key}", _text_of(confirm.get(key)), 1, CONFIRM_BUTTON_MAX)


def _check_element(problems: list[str], where: str, element: Mapping[str, Any]) -> None:
    _check_ids(problems, where, element)
    kind = element.get("type")
    if kind == "button":
        _check_length(problems, f"{where}.text", _text_of(element.get("text")), 1, BUTTON_TEXT_MAX)
        if "value" in element:
            _check_length(problems, f"{where}.value", str(element["value"]), 1, BUTTON_VALUE_MAX)
    elif kind == "static_select":
        placeholder = _text_of(element.get("placeholder"))
        _check_length(problems, f"{where}.placeholder", placeholder, 1, SELECT_PLACEHOLDER_MAX)
        options = element.get("options") or []
        if not 1 <= len(options) <= SELECT_OPTIONS_MAX:
            problems.append(f"{where}.options: {len(options)} not in 1..{SELECT_OPTIONS_MAX}")
        for k, option in enumerate(options):
            _check_length(
                problems, f"{where}.options[{k}].text", _text_of(option.get("text")), 1, OPTION_TEXT_MAX
            )
            _check_length(
                problems, f"{where}.options[{k}].value", str(option.get("value", "")), 1, OPTION_VALUE_MAX
            )
    _check_confirm(problems, f"{where}.confirm", element.get("confirm"))


def limit_violations(
    blocks: Sequence[Mapping[str, Any]],
    *,
    text: str | None = None,
    max_blocks: int = MAX_BLOCKS,
    text_budget: int | None = PAGE_TEXT_BUDGET,
) -> list[str]:
    """Every way these blocks (and fallback text) break Slack's limits or our text budget; [] when none.

    A message holds `MAX_BLOCKS`; a Home tab view `HOME_BLOCKS_MAX` (pass `max_blocks`, and `text_budget`
    None: the cumulative limit measured on messages is not one of views).
    """
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks > {max_blocks}")
    if text is not None:
        _check_length(problems, "text", text, 0, MESSAGE_TEXT_MAX)
    total = text_cost(blocks)
    if text_budget is not None and total > text_budget:
        problems.append(f"{total} characters of text in all > {text_budget}")
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        _check_ids(problems, where, block)
        kind = block.get("type")
        if kind == "section":
            fields = block.get("fields") or []
            if "text" in block or not fields:
                _check_length(problems, f"{where}.text", _text_of(block.get("text")), 1, SECTION_TEXT_MAX)
            if len(fields) > SECTION_FIELDS_MAX:
                problems.append(f"{where}.fields: {len(fields)} > {SECTION_FIELDS_MAX}")
            for k, field in enumerate(fields):
                _check_length(problems, f"{where}.fields[{k}]", _text_of(field), 1, SECTION_FIELD_TEXT_MAX)
            accessory = block.get("accessory")
            if isinstance(accessory, Mapping):
                _check_element(problems, f"{where}.accessory", accessory)
        elif kind == "header":
            _check_length(problems, f"{where}.text", _text_of(block.get("text")), 1, HEADER_TEXT_MAX)
        elif kind == "context":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= CONTEXT_ELEMENTS_MAX:
                problems.append(f"{where}.elements: {len(elements)} not in 1..{CONTEXT_ELEMENTS_MAX}")
            for k, element in enumerate(elements):
                _check_length(problems, f"{where}.elements[{k}]", _text_of(element), 1, SECTION_TEXT_MAX)
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= ACTIONS_ELEMENTS_MAX:
                problems.append(f"{where}.elements: {len(elements)} not in 1..{ACTIONS_ELEMENTS_MAX}")
            for k, element in enumerate(elements):
                _check_element(problems, f"{where}.elements[{k}]", element)
    return problems


def enforce_limits(
    blocks: list[dict[str, Any]],
    *,
    text: str | None = None,
    max_blocks: int = MAX_BLOCKS,
    text_budget: int | None = PAGE_TEXT_BUDGET,
) -> list[dict[str, Any]]:
    """Return `blocks` unchanged when Slack would take them; raise `SlackLimitError` naming every breach.

    Every renderer in `bot.render.blocks` builds within the limits by construction; this is the check that
    no payload leaves it over one (Slack would refuse it whole with `invalid_blocks` and the user would see
    nothing).
    """
    problems = limit_violations(blocks, text=text, max_blocks=max_blocks, text_budget=text_budget)
    if problems:
        raise SlackLimitError("; ".join(problems))
    return blocks
