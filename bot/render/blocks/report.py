"""A disk report as plain text (the shell, tests, the message's fallback) and as a Slack message: the
`system df` table exactly as the CLI prints it, dangling images, exited containers, and space to reclaim.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject

from bot.models import DiskReport
from bot.render.blocks.buttons import ActionId, RunValue, encode_value
from bot.render.blocks.limits import actions, button, enforce_limits, escape_code, escape_mrkdwn, section
from bot.render.format import human_size
from bot.render.table import render_system_df, summarize_system_df

LISTED_MAX = 5  # dangling images and exited containers named in a report; the rest are counted
NAME_SHOWN_MAX = 80
STATUS_SHOWN_MAX = 60
FALLBACK_MAX = 300
PRUNE_COMMAND = "image prune"


# ---- the pieces, shared by the text and the blocks ---------------------------------------------------


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short_id(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def headline(report: DiskReport, when: datetime) -> str:
    """`Disk report for prod, 2026-11-27 08:00 CET` (plain text)."""
    return f"Disk report for {report.host}, {when.strftime('%Y-%m-%d %H:%M %Z').strip()}"


def summary(report: DiskReport) -> str:
    """`1.2GB reclaimable of 3.4GB; 2 dangling images, 5 exited containers` (plain text)."""
    dangling = _plural(len(report.dangling), "dangling image")
    exited = _plural(len(report.exited), "exited container")
    return f"{summarize_system_df(report.usage)}; {dangling}, {exited}"


def _dangling_head(report: DiskReport) -> str:
    images = report.dangling
    total = sum(max(image.size, 0) for image in images)
    head = f"{len(images)}, {human_size(total)} in all" if images else "none"
    in_use = sum(1 for image in images if image.containers > 0)
    if in_use:
        head += f" ({in_use} still used by a container)"
    return head


def _exited_head(report: DiskReport) -> str:
    rows = report.exited
    if not rows:
        return "none"
    written = sum(row.size_rw or 0 for row in rows)
    return f"{len(rows)}, {human_size(written)} in their writable layers"


def _reclaim_line(report: DiskReport) -> str:
    count = len(report.prune.targets)
    freed = human_size(report.prune.reclaim or 0)
    prune = f"`{PRUNE_COMMAND}` would free about {freed} now ({_plural(count, 'image')})"
    return f"{prune}; `system df` counts {summarize_system_df(report.usage)} (RECLAIMABLE above)"


def _more(total: int) -> str:
    return f"(and {total - LISTED_MAX} more)" if total > LISTED_MAX else ""


# ---- text (the shell, tests, the message's fallback) -------------------------------------------------


def disk_report_text(report: DiskReport, when: datetime) -> str:
    """The whole report as plain text, the table as the CLI prints it."""
    lines = [
        headline(report, when),
        "",
        render_system_df(report.usage),
        "",
        f"Dangling images: {_dangling_head(report)}",
    ]
    for image in report.dangling[:LISTED_MAX]:
        lines.append(f"  {_short_id(image.id)}   {human_size(max(image.size, 0))}")
    if more := _more(len(report.dangling)):
        lines.append(f"  {more}")
    lines.append(f"Exited containers: {_exited_head(report)}")
    for row in report.exited[:LISTED_MAX]:
        lines.append(f"  {_clip(row.name, NAME_SHOWN_MAX)}   {_clip(row.status, STATUS_SHOWN_MAX)}")
    if more := _more(len(report.exited)):
        lines.append(f"  {more}")
    lines.append(f"Space to reclaim: {_reclaim_line(report).replace('`', '')}")
    return "\n".join(lines)


# ---- Block Kit -----------------------------------------------------------------------------------------


def _code(text: str) -> str:
    """Inline code for user-controlled text: escaped, backticks neutralised."""
    return f"`{escape_mrkdwn(text.replace('`', 'ˋ'))}`"


def _dangling_section(report: DiskReport) -> str:
    lines = [f"*Dangling images:* {escape_mrkdwn(_dangling_head(report))}"]
    shown = [f"{_code(_short_id(i.id))} {human_size(max(i.size, 0))}" for i in report.dangling[:LISTED_MAX]]
    if shown:
        lines.append(" · ".join(shown) + f" {_more(len(report.dangling))}".rstrip())
    return "\n".join(lines)


def _exited_section(report: DiskReport) -> str:
    lines = [f"*Exited containers:* {escape_mrkdwn(_exited_head(report))}"]
    for row in report.exited[:LISTED_MAX]:
        status = escape_mrkdwn(_clip(row.status, STATUS_SHOWN_MAX))
        lines.append(f"• {_code(_clip(row.name, NAME_SHOWN_MAX))} {status}")
    if more := _more(len(report.exited)):
        lines.append(more)
    return "\n".join(lines)


def prune_button(host: str) -> dict[str, Any]:
    """`Prune dangling images`: runs `image prune` on `host` as the clicking user (plan, confirm, audit)."""
    value = encode_value(ActionId.RUN_PRUNE, RunValue(PRUNE_COMMAND, host))
    return button("Prune dangling images", ActionId.RUN_PRUNE, value)


def disk_report_blocks(report: DiskReport, when: datetime, context: str) -> list[dict[str, Any]]:
    """The report as a message (7 blocks at most, every text within Slack's limits).

    `context` is the closing line's mrkdwn: why this report was posted (a schedule, or who asked).
    """
    head = f":floppy_disk: *{escape_mrkdwn(headline(report, when))}*\n{escape_mrkdwn(summary(report))}"
    blocks = [
        section(head),
        section(f"```{escape_code(render_system_df(report.usage))}```"),
        section(_dangling_section(report)),
        section(_exited_section(report)),
        section(f"*Space to reclaim:* {escape_mrkdwn(_reclaim_line(report))}"),
    ]
    if report.prunable:
        blocks.append(actions([prune_button(report.host)], block_id="disk_report"))
    # the closing line is the bot's own mrkdwn, not verbatim: it may mention the asker
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=context)]).to_dict())
    return enforce_limits(blocks, text=fallback_text(report))


def fallback_text(report: DiskReport) -> str:
    """The message's notification line: `Disk report for prod: 1.2GB reclaimable of 3.4GB; …`."""
    return escape_mrkdwn(_clip(f"Disk report for {report.host}: {summary(report)}", FALLBACK_MAX))
