"""`Reply` → Slack Block Kit: summary lines, monospace bodies split to fit, pages, a file for the rest.

Pure functions: no Slack API call, no Docker call, no clock. Every body comes from
`bot.render.result.render_result`, so a table reads the same in a channel as in the shell. Slack's limits are
checked in one place, `enforce_limits`, which every public renderer here passes its blocks through.

How a reply is laid out:

- each step with a result gives an intro section (`$ docker …` in a chain, and the summary line with a status
  emoji) followed by its body as code-block sections (chunks) of at most `SECTION_TEXT_MAX` characters,
  fences and `&amp;`-style escapes included; a table's header line is repeated atop every chunk after the
  first; a line too long for one chunk is hard-wrapped across chunks;
- chunks are packed into pages (`CHUNKS_PER_PAGE`, and `PAGE_TEXT_BUDGET` characters of text in all);
  several pages get ◀ Prev / Next ▶ buttons, more than `MAX_PAGES` (or `force_file`) send the full text as a
  file and show only the first page. A paging button's value names only the stored reply (`reply_id`) and
  the page: the door keeps every page of the reply (`render_reply_pages`) and a click shows one of them,
  so paging never runs a command again;
- a context line closes every message: who ran what, where, how long it took.

Everything a user typed or a container printed is escaped (`&`, `<`, `>`) wherever Slack parses text
(mrkdwn sections and contexts, confirm dialog text, the fallback `text`); the only live markup written here
is `<@U…>` of a user ID of the right shape. Button labels, option texts and dialog titles are plain_text,
which Slack shows as written.

Chunk sections carry a `block_id` of the form `body-STEP-N`, with `-h` when the chunk starts with a
repeated table header and `-w` when its last line continues in the next chunk: enough to rebuild the body
exactly (the tests do).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    Option,
    PlainTextObject,
    StaticSelectElement,
)

from bot.mentions import plain_refs, render_refs
from bot.models import (
    ComposePsResult,
    ConfirmationResult,
    ContainerRow,
    Problem,
    PsResult,
    PullProgress,
    Reply,
    Result,
    Step,
)
from bot.render.actions import render_pull_progress
from bot.render.blocks.buttons import (
    ActionId,
    PageValue,
    PickValue,
    PlanValue,
    RunValue,
    encode_value,
    fits,
)
from bot.render.blocks.limits import (
    BUTTON_TEXT_MAX,
    CONFIRM_TEXT_MAX,
    ELLIPSIS,
    FENCE,
    OPTION_TEXT_MAX,
    PAGE_TEXT_BUDGET,
    SECTION_TEXT_MAX,
    clip,
    code_cost,
    context,
    enforce_limits,
    escape_clipped,
    escape_code,
    escape_mrkdwn,
    section,
    slack_length,
    text_cost,
)
from bot.render.mask import mask_secrets
from bot.render.result import Rendered, render_result
from bot.render.text import render_reply_text

CHUNKS_PER_PAGE = 3  # 3 full chunks ≈ 9,000 characters: the most that fits the budget with the rest
PAGE_CONTENT_BLOCKS_MAX = 40  # leaves room for the footer (file note, paging buttons, context)
MAX_PAGES = 5  # beyond this a reply goes out as a file
PS_PICK_MAX_ROWS = 25  # a container picker only for short listings
FALLBACK_TEXT_MAX = 300  # the notification text: a summary line, never the body
COMMAND_SHOWN_MAX = 200  # how much of the command a context line quotes
SUMMARY_SHOWN_MAX = 500
HOST_SHOWN_MAX = 100
AUDIT_COMMAND_SHOWN_MAX = 2000  # escaped; with the rest the audit line stays within MESSAGE_TEXT_MAX

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,30}")
_FILE_SLUG = re.compile(r"[^A-Za-z0-9._]+")

_STATUS_GREEN = ":large_green_circle:"
_STATUS_RED = ":red_circle:"
_STATUS_YELLOW = ":large_yellow_circle:"
_STATUS_NONE = ":white_circle:"
_STATUS_INFO = ":information_source:"

_PROBLEM_STYLES: dict[str, tuple[str, str]] = {
    "Denied": (":no_entry:", "denied"),
    "Timeout": (":hourglass:", "timed out"),
}
_PROBLEM_DEFAULT_STYLE = (":warning:", "error")


@dataclass(frozen=True, slots=True)
class FileAttachment:
    """Output too long for a message, to upload with `files_upload_v2` next to it."""

    filename: str
    content: str
    title: str


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One message ready for `respond`/`chat.postMessage`: fallback text, blocks, which page, a file or not.

    `pages` counts the pages a user can browse with the buttons (1 when the output went to a file).
    """

    text: str
    blocks: list[dict[str, Any]]
    page: int
    pages: int
    attachment: FileAttachment | None = None


# ---- text helpers ------------------------------------------------------------------------------------------


def _inline(text: str) -> str:
    """User text inside `inline code`: escaped, backticks neutralised (they would end the span)."""
    return escape_mrkdwn(text.replace("`", "ˋ"))


def _host(host: str) -> str:
    """A host name for mrkdwn: escaped, and clipped (names come from config, but never trust a length)."""
    return escape_mrkdwn(clip(host, HOST_SHOWN_MAX))


# ---- status emoji ------------------------------------------------------------------------------------------


def status_emoji(result: Result) -> str:
    """The emoji before a summary line: red when a container is failing, green when all run well.

    Containers: red if one is unhealthy, restarting, dead or exited non-zero; green if all are running and
    none unhealthy or starting; white for none; yellow otherwise (stopped cleanly, created, paused,
    starting). Every other result: information.
    """
    if not isinstance(result, PsResult | ComposePsResult):
        return _STATUS_INFO
    if not result.rows:
        return _STATUS_NONE
    failing = any(
        row.health == "unhealthy"
        or row.state in ("restarting", "dead")
        or (row.exit_code is not None and row.exit_code != 0)
        for row in result.rows
    )
    if failing:
        return _STATUS_RED
    if all(row.state == "running" and row.health in (None, "healthy") for row in result.rows):
        return _STATUS_GREEN
    return _STATUS_YELLOW


# ---- splitting a body into code-block chunks ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Chunk:
    """Part of one body: `text` (raw, unescaped), whether it starts with a repeated header line, and whether
    its last line continues at the start of the next chunk."""

    text: str
    repeated_header: bool
    wraps: bool


def _table_header(result: Result, kind: str, body: str) -> str | None:
    """The line to repeat atop every chunk: a single table's header (not `-q`, not `system df -v`)."""
    if kind != "table" or getattr(result, "quiet", False) or not body or "\n\n" in body:
        return None
    return body.split("\n", 1)[0]


def _wrap_line(line: str, limit: int) -> list[str]:
    """Cut one line into pieces whose escaped length is at most `limit`: each piece the longest that fits
    (a single character that alone costs more is a piece of its own)."""
    pieces: list[str] = []
    start = 0
    while start < len(line):
        # every character costs at least 1: a piece has at most `limit` of them; the longest prefix of
        # those that fits is found by halving (cost only grows with length)
        low, high = 1, min(limit, len(line) - start)
        if code_cost(line[start : start + high]) <= limit:
            low = high
        while low < high:
            middle = (low + high + 1) // 2
            if code_cost(line[start : start + middle]) <= limit:
                low = middle
            else:
                high = middle - 1
        pieces.append(line[start : start + low])
        start += low
    return pieces or [""]


def split_body(body: str, header: str | None, limit: int = SECTION_TEXT_MAX) -> list[_Chunk]:
    """Split a body into chunks whose code section (fences and escapes included) is at most `limit` long.

    Chunks break on line boundaries; a line too long for a chunk of its own is hard-wrapped. When `header`
    is given (the body's first line) it is repeated atop every later chunk, unless it would take more than
    half a chunk.
    """
    if not body:
        return []
    budget = limit - 2 * len(FENCE)
    header_cost = code_cost(header) + 1 if header is not None else 0
    repeat = header is not None and header_cost <= budget // 2
    piece_max = budget - header_cost if repeat else budget
    # (text, cost, ends_line): a long line becomes several pieces, all but the last not ending the line
    pieces: list[tuple[str, int, bool]] = []
    for line in body.split("\n"):
        cost = code_cost(line)
        if cost <= piece_max:
            pieces.append((line, cost, True))
            continue
        parts = _wrap_line(line, piece_max)
        for index, part in enumerate(parts):
            pieces.append((part, code_cost(part), index == len(parts) - 1))

    chunks: list[_Chunk] = []
    texts: list[str] = []  # the current chunk's pieces, joined below
    used = 0
    has_header = False
    body_pieces = 0
    last_ends_line = True
    for text, cost, ends_line in pieces:
        separator = 1 if (texts and last_ends_line) else 0
        if body_pieces and used + separator + cost > budget:
            chunks.append(_Chunk("".join(texts), has_header, wraps=not last_ends_line))
            texts, used, body_pieces = [], 0, 0
            has_header = repeat
            if has_header and header is not None:
                texts, used = [header], header_cost - 1
                last_ends_line = True
            separator = 1 if texts else 0
        texts.append(("\n" if separator else "") + text)
        used += separator + cost
        body_pieces += 1
        last_ends_line = ends_line
    chunks.append(_Chunk("".join(texts), has_header, wraps=False))
    return chunks


def _code_section(chunk: _Chunk, block_id: str) -> dict[str, Any]:
    flags = ("-h" if chunk.repeated_header else "") + ("-w" if chunk.wraps else "")
    return section(f"{FENCE}{escape_code(chunk.text)}{FENCE}", block_id=f"{block_id}{flags}")


# ---- per-row actions ---------------------------------------------------------------------------------------


def _container_name(row: ContainerRow) -> str:
    """The name `docker ps` shows: without the leading "/", not a link alias (as the table renderer does)."""
    names = [name.removeprefix("/") for name in row.names]
    for name in names:
        if "/" not in name:
            return name
    return names[0] if names else row.id[:12]


def _ps_picker(result: PsResult, host: str) -> dict[str, Any] | None:
    """A "Pick a container…" select for a short, non-quiet `ps`: option value {"name", "host"}."""
    if result.quiet or not 1 <= len(result.rows) <= PS_PICK_MAX_ROWS:
        return None
    options: list[Option] = []
    for row in result.rows:
        name = _container_name(row).strip() or row.id[:12]
        picked = PickValue(name, host)
        if not fits(ActionId.PS_PICK, picked):  # a very long name: the short ID works as well
            picked = PickValue(row.id[:12], host)
        if not fits(ActionId.PS_PICK, picked):
            continue
        text = PlainTextObject(text=clip(name, OPTION_TEXT_MAX), emoji=False)
        options.append(Option(value=encode_value(ActionId.PS_PICK, picked), text=text))
    if not options:
        return None
    select = StaticSelectElement(
        placeholder=PlainTextObject(text="Pick a container…"), action_id=ActionId.PS_PICK, options=options
    )
    return ActionsBlock(elements=[select]).to_dict()


def _command_for(verb: str, name: str) -> str:
    return f"{verb} {shlex.quote(name)}"


def render_container_actions(name: str, host: str) -> list[dict[str, Any]]:
    """What to do with a picked container: a line naming it, then Logs / Inspect buttons.

    Button values are `RunValue("logs NAME", HOST)`: the door runs that text as a new command.
    """
    buttons = [
        ButtonElement(
            text=label,
            action_id=action,
            value=encode_value(action, RunValue(_command_for(verb, name), host)),
        )
        for label, action, verb in (
            ("Logs", ActionId.RUN_LOGS, "logs"),
            ("Inspect", ActionId.RUN_INSPECT, "inspect"),
        )
    ]
    blocks = [
        section(f"`{_inline(clip(name, COMMAND_SHOWN_MAX))}` on *{_host(host)}*"),
        ActionsBlock(elements=list(buttons)).to_dict(),
    ]
    return enforce_limits(blocks)


# ---- replies -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Unit:
    """Blocks that go on the same page (an intro with its first chunk; a last chunk with its picker)."""

    blocks: tuple[dict[str, Any], ...]
    chunks: int

    @property
    def cost(self) -> int:
        return text_cost(self.blocks)


def _problem_text(problem: Problem, command: str | None = None) -> str:
    emoji, label = _PROBLEM_STYLES.get(problem.kind, _PROBLEM_DEFAULT_STYLE)
    where = f" (in `{_command_shown(command)}`)" if command else ""
    head = f"{emoji} *{label}:*{where} "
    hint = f"\n_hint:_ {escape_mrkdwn(mask_secrets(problem.hint))}" if problem.hint else ""
    room = SECTION_TEXT_MAX - slack_length(head) - slack_length(hint)
    if room < 100:  # an absurdly long hint gives way to the message
        hint = ""
        room = SECTION_TEXT_MAX - slack_length(head)
    return slack_refs(head + escape_clipped(mask_secrets(problem.message), room) + hint)


def _command_shown(command: str) -> str:
    """A command as a reply quotes it in inline code: `docker …`, secrets masked, clipped."""
    return _inline(clip("docker " + mask_secrets(command), COMMAND_SHOWN_MAX))


def _plan_buttons(result: ConfirmationResult) -> dict[str, Any]:
    """Confirm (or Approve) and Cancel for a pending plan; the value is only the plan's single-use token."""
    count = sum(len(plan.targets) for plan in result.plans)
    if result.approval == "two-person":
        go = ButtonElement(
            text="Approve",
            action_id=ActionId.PLAN_APPROVE,
            value=encode_value(ActionId.PLAN_APPROVE, PlanValue(result.token)),
            style="primary",
            confirm=ConfirmObject(
                title="Approve this plan?",
                text=clip(
                    f"It runs as {mention(result.requester)} and acts on {count} object(s).", CONFIRM_TEXT_MAX
                ),
                confirm="Approve",
                deny="Not yet",
            ),
        )
    else:
        go = ButtonElement(
            text="Confirm",
            action_id=ActionId.PLAN_CONFIRM,
            value=encode_value(ActionId.PLAN_CONFIRM, PlanValue(result.token)),
            style="danger",
            confirm=ConfirmObject(
                title="Run this plan?",
                text=clip(f"It acts on {count} object(s) and cannot be undone.", CONFIRM_TEXT_MAX),
                confirm="Run it",
                deny="Keep them",
            ),
        )
    cancel = ButtonElement(
        text="Cancel",
        action_id=ActionId.PLAN_CANCEL,
        value=encode_value(ActionId.PLAN_CANCEL, PlanValue(result.token)),
    )
    return ActionsBlock(block_id="plan", elements=[go, cancel]).to_dict()


def _remedy_button(problem: Problem, host: str) -> dict[str, Any] | None:
    """A conflict's suggested fix (`stop C && rm C && rmi IMAGE`) as a button; it runs like any command."""
    if not problem.remedy:
        return None
    remedy = RunValue(problem.remedy, host)
    if not fits(ActionId.RUN_REMEDY, remedy):
        return None
    value = encode_value(ActionId.RUN_REMEDY, remedy)
    label = clip(f"Run: {problem.remedy}", BUTTON_TEXT_MAX)
    return ActionsBlock(
        block_id="remedy", elements=[ButtonElement(text=label, action_id=ActionId.RUN_REMEDY, value=value)]
    ).to_dict()


def _problem_blocks(problem: Problem, command: str | None = None, host: str = "") -> list[dict[str, Any]]:
    blocks = [section(_problem_text(problem, command))]
    if problem.usage:
        usage = f"usage: {problem.usage}"
        budget = SECTION_TEXT_MAX - 2 * len(FENCE)
        if code_cost(usage) > budget:
            usage = _wrap_line(usage, budget - 1)[0] + ELLIPSIS
        blocks.append(section(f"{FENCE}{escape_code(usage)}{FENCE}"))
    remedy = _remedy_button(problem, host)
    if remedy is not None:
        blocks.append(remedy)
    return blocks


def _step_units(index: int, step: Step, rendered: Rendered | None, chained: bool, host: str) -> list[_Unit]:
    units: list[_Unit] = []
    if step.result is not None and rendered is not None:
        intro: list[str] = []
        if chained:
            intro.append(f"`$ {_command_shown(step.text)}`")
        if rendered.summary:
            summary = slack_refs(escape_clipped(rendered.summary, SUMMARY_SHOWN_MAX))
            intro.append(f"{status_emoji(step.result)} {summary}")
        lead = [section("\n".join(intro))] if intro else []
        header = _table_header(step.result, rendered.kind, rendered.body)
        chunks = [
            _code_section(chunk, f"body-{index}-{n}")
            for n, chunk in enumerate(split_body(plain_refs(rendered.body), header))
        ]
        picker = _ps_picker(step.result, host) if isinstance(step.result, PsResult) else None
        if isinstance(step.result, ConfirmationResult):
            picker = _plan_buttons(step.result)
        tail = [picker] if picker is not None else []
        if not chunks:
            if lead or tail:
                units.append(_Unit((*lead, *tail), 0))
        else:
            for n, block in enumerate(chunks):
                before = lead if n == 0 else []
                after = tail if n == len(chunks) - 1 else []
                units.append(_Unit((*before, block, *after), 1))
    if step.problem is not None:
        units.append(_Unit(tuple(_problem_blocks(step.problem, step.text if chained else None, host)), 0))
    return units


def _paginate(units: Sequence[_Unit], budget: int) -> list[list[_Unit]]:
    """Greedy pages: at most `CHUNKS_PER_PAGE` chunks, `budget` text characters, `PAGE_CONTENT_BLOCKS_MAX`."""
    pages: list[list[_Unit]] = [[]]
    cost = chunks = blocks = 0
    for unit in units:
        unit_cost = unit.cost
        full = (
            cost + unit_cost > budget
            or chunks + unit.chunks > CHUNKS_PER_PAGE
            or blocks + len(unit.blocks) > PAGE_CONTENT_BLOCKS_MAX
        )
        if pages[-1] and full:
            pages.append([])
            cost = chunks = blocks = 0
        pages[-1].append(unit)
        cost += unit_cost
        chunks += unit.chunks
        blocks += len(unit.blocks)
    return pages


def is_user_id(user_id: str) -> bool:
    """True for a Slack user ID of the right shape (`U…`, `W…`)."""
    return bool(_USER_ID.fullmatch(user_id))


def mention(user_id: str) -> str:
    """`<@U…>` for a Slack user ID of the right shape; anything else is shown escaped, never live."""
    return f"<@{user_id}>" if is_user_id(user_id) else escape_mrkdwn(clip(user_id, 40))


def channel_link(channel_id: str) -> str:
    """`<#C…>` for a Slack channel ID of the right shape; anything else is shown escaped, never live."""
    return f"<#{channel_id}>" if _CHANNEL_ID.fullmatch(channel_id) else escape_mrkdwn(clip(channel_id, 40))


def slack_refs(text: str) -> str:
    """Escaped mrkdwn with the core's mentions (`bot.mentions`) rendered as Slack's `<@U…>` and `<#C…>`."""
    return render_refs(text, user=mention, channel=channel_link)


def _ran_line(user_id: str | None, command: str, host: str, elapsed: float | None) -> str:
    who = f"{mention(user_id)} ran" if user_id else "ran"
    line = f"{who} `{_command_shown(command)}` on *{_host(host)}*"
    if elapsed is not None:
        line += f" · {elapsed:.2f} s"
    return line


def _page_button(label: str, action: ActionId, reply_id: str, page: int) -> ButtonElement:
    return ButtonElement(text=label, action_id=action, value=encode_value(action, PageValue(reply_id, page)))


def _paging_block(reply_id: str, page: int, pages: int) -> dict[str, Any]:
    buttons: list[ButtonElement] = []
    if page > 0:
        buttons.append(_page_button("◀ Prev", ActionId.PAGE_PREV, reply_id, page - 1))
    if page < pages - 1:
        buttons.append(_page_button("Next ▶", ActionId.PAGE_NEXT, reply_id, page + 1))
    return ActionsBlock(elements=list(buttons)).to_dict()


def _file_name(text: str) -> str:
    slug = "-".join(part for part in _FILE_SLUG.split(text) if part).strip(".")[:60].strip("-.")
    return f"docker-{slug}.txt" if slug else "docker-output.txt"


def full_text(reply: Reply) -> str:
    """The whole reply as the shell prints it (results, then any error), ending with a newline."""
    stdout, stderr = render_reply_text(reply)
    text = "\n\n".join(part for part in (stdout, stderr) if part)
    return text + "\n"


def _fallback_text(reply: Reply, host: str, renders: Sequence[Rendered | None]) -> str:
    summary = next((r.summary for r in renders if r is not None and r.summary), "")
    problem = reply.problem
    if problem is not None:
        summary = f"error: {problem.message}"
    head = f"docker {reply.text} on {host}"
    return slack_refs(
        escape_mrkdwn(clip(mask_secrets(f"{head}: {summary}" if summary else head), FALLBACK_TEXT_MAX))
    )


def _footer(
    reply: Reply,
    *,
    user_id: str,
    host: str,
    page: int,
    pages: int,
    file_lines: int | None,
    reply_id: str,
    filename: str = "",
) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if file_lines is not None:
        lines = f"{file_lines} line{'' if file_lines == 1 else 's'}"
        note = f":page_facing_up: Full output ({lines}) attached as a file"
        if filename:
            note += f": `{_inline(filename)}`"
        blocks.append(section(note))
    footer = [_ran_line(user_id, reply.text, host, reply.elapsed)]
    if pages > 1:
        blocks.append(_paging_block(reply_id, page, pages))
        footer.append(f"Page {page + 1} of {pages}")
    blocks.append(context(*footer))
    return blocks


@dataclass(frozen=True, slots=True)
class _Layout:
    """A reply cut into pages (or page 0 and a file), from which any page's message is built."""

    reply: Reply
    user_id: str
    host: str
    reply_id: str
    pages: list[list[_Unit]]
    attachment: FileAttachment | None
    text: str

    @classmethod
    def of(cls, reply: Reply, *, user_id: str, host: str, force_file: bool, reply_id: str) -> _Layout:
        chained = reply.chained
        renders = [render_result(step.result) if step.result is not None else None for step in reply.steps]
        units = [
            unit
            for i, (step, rendered) in enumerate(zip(reply.steps, renders, strict=True))
            for unit in _step_units(i, step, rendered, chained, host)
        ]
        if not units:
            units = [_Unit((section("_no output_"),), 0)]
        # the room the footer may need, whichever footer a page gets (the longest page numbers)
        worst_footer = _footer(
            reply,
            user_id=user_id,
            host=host,
            page=1,
            pages=99_999,
            file_lines=10**9,
            reply_id=reply_id,
            filename=_file_name(mask_secrets(reply.text)),
        )
        pages = _paginate(units, PAGE_TEXT_BUDGET - text_cost(worst_footer))
        attachment = None
        if force_file or len(pages) > MAX_PAGES:
            attachment = FileAttachment(
                filename=_file_name(mask_secrets(reply.text)),
                content=full_text(reply),
                title=clip(mask_secrets(f"docker {reply.text} on {host}"), 250),
            )
            pages = pages[:1]
        text = _fallback_text(reply, host, renders)
        return cls(reply, user_id, host, reply_id, pages, attachment, text)

    def message(self, page: int) -> SlackMessage:
        """Page `page` (clamped to the pages there are)."""
        count = len(self.pages)
        shown = min(max(page, 0), count - 1)
        attachment = self.attachment
        footer = _footer(
            self.reply,
            user_id=self.user_id,
            host=self.host,
            page=shown,
            pages=count,
            file_lines=attachment.content.count("\n") if attachment is not None else None,
            reply_id=self.reply_id,
            filename=attachment.filename if attachment is not None else "",
        )
        blocks = [block for unit in self.pages[shown] for block in unit.blocks] + footer
        return SlackMessage(self.text, enforce_limits(blocks, text=self.text), shown, count, attachment)


def render_reply(
    reply: Reply,
    *,
    user_id: str,
    host: str,
    page: int = 0,
    force_file: bool = False,
    reply_id: str = "",
) -> SlackMessage:
    """Page `page` of a reply (clamped to the pages there are), or page 0 with the whole text as a file.

    A file is attached when `force_file` is set or when the output needs more than `MAX_PAGES` pages.
    Paging buttons carry `reply_id` (the door's key for the stored pages) and the page to show.
    """
    layout = _Layout.of(reply, user_id=user_id, host=host, force_file=force_file, reply_id=reply_id)
    return layout.message(page)


def render_reply_pages(
    reply: Reply, *, user_id: str, host: str, force_file: bool = False, reply_id: str = ""
) -> list[SlackMessage]:
    """Every page of a reply, in order (one when it goes as a file): what the door stores for paging."""
    layout = _Layout.of(reply, user_id=user_id, host=host, force_file=force_file, reply_id=reply_id)
    return [layout.message(page) for page in range(len(layout.pages))]


def render_audit_line(*, user_id: str, text: str, host: str, channel_id: str, outcome: str) -> str:
    """The audit channel's line for one mutating action: who ran what, where, and how it ended.

    The command is masked and shown as inline code with `&`, `<`, `>` escaped, so nothing typed becomes a
    mention or a link; the only live markup is the user's and the channel's own (IDs of the right shape).
    """
    command = escape_clipped(mask_secrets(text).replace("`", "ˋ"), AUDIT_COMMAND_SHOWN_MAX)
    where = channel_link(channel_id)
    outcome = escape_clipped(outcome, SUMMARY_SHOWN_MAX)
    return f"{mention(user_id)} ran `{command}` on *{_host(host)}* in {where}: {outcome}"


def render_problem(problem: Problem, *, text: str, host: str, user_id: str | None = None) -> SlackMessage:
    """An error for the person who asked (the door sends it ephemeral): what went wrong, usage, hint."""
    blocks = [*_problem_blocks(problem, None, host), context(_ran_line(user_id, text, host, None))]
    _, label = _PROBLEM_STYLES.get(problem.kind, _PROBLEM_DEFAULT_STYLE)
    fallback = slack_refs(escape_mrkdwn(clip(mask_secrets(f"{label}: {problem.message}"), FALLBACK_TEXT_MAX)))
    return SlackMessage(fallback, enforce_limits(blocks, text=fallback), 0, 1)


def render_pull_progress_text(progress: PullProgress) -> str:
    """A pull under way as the message text posted (and replaced in place) while it runs."""
    return f":hourglass_flowing_sand: {escape_mrkdwn(render_pull_progress(progress)[:500])}"


def render_in_progress(text: str, host: str) -> SlackMessage:
    """The placeholder shown while a slow command runs."""
    command = _command_shown(text)
    line = f":hourglass_flowing_sand: running `{command}` on *{_host(host)}*…"
    fallback = escape_mrkdwn(clip(f"running docker {text} on {host}…", FALLBACK_TEXT_MAX))
    return SlackMessage(fallback, enforce_limits([section(line)], text=fallback), 0, 1)
