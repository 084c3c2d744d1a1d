"""App Home: one dashboard section per host (containers by state, the ones needing attention, images and
disk), built from the same results as `/docker ps -a`, `images` and `system df`.

Built within a Home view's limits whatever the containers are called: each trouble line clips its name and
status, the "Needs attention" section stops adding lines before 3,000 characters and says how many more
there are, the header clips the host, and the whole view stays under 100 blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import DividerBlock, HeaderBlock

from bot.models import ContainerRow, DiskUsageResult, ImagesResult, PsResult
from bot.render.blocks.limits import (
    HEADER_TEXT_MAX,
    HOME_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    clip,
    context,
    enforce_limits,
    escape_clipped,
    section,
)
from bot.render.blocks.reply import slack_refs
from bot.render.result import render_result

MAX_LISTED = 10
NAME_MAX = 120  # a trouble line's container name
STATUS_MAX = 80
FOOTER = "Type `/docker help` in any channel for commands."


@dataclass(frozen=True)
class HostDashboard:
    """What one host answered for its dashboard; `problem` when `ps -a` gave no listing."""

    host: str
    ps: PsResult | None = None
    problem: str | None = None
    images: ImagesResult | None = None
    disk: DiskUsageResult | None = None


def needs_attention(row: ContainerRow) -> bool:
    return row.health == "unhealthy" or row.state == "restarting" or (row.exit_code or 0) != 0


def _trouble_text(rows: list[ContainerRow]) -> str:
    """ "*Needs attention:*" and a line per container, as many as fit in one section (at most MAX_LISTED)."""
    text = "*Needs attention:*"
    shown = 0
    for row in rows[:MAX_LISTED]:
        name = escape_clipped(row.name.replace("`", "ˋ"), NAME_MAX)
        line = f"\n• `{name}` — {escape_clipped(row.status, STATUS_MAX)}"
        if len(text) + len(line) > SECTION_TEXT_MAX - 100:  # room kept for the "more" line
            break
        text += line
        shown += 1
    if len(rows) > shown:
        text += f"\n…and {len(rows) - shown} more: `/docker ps -a -f status=exited`"
    return text


def host_blocks(dashboard: HostDashboard) -> list[dict[str, Any]]:
    """The dashboard section of one host."""
    header = clip(f"Docker on {dashboard.host}", HEADER_TEXT_MAX)
    blocks: list[dict[str, Any]] = [HeaderBlock(text=header).to_dict()]
    if dashboard.ps is None:
        problem = slack_refs(escape_clipped(dashboard.problem or "no answer", SECTION_TEXT_MAX - 20))
        blocks.append(section(f":warning: {problem}"))
        return blocks
    summary = render_result(dashboard.ps).summary or ""
    blocks.append(section(f"*Containers:* {escape_clipped(summary, SECTION_TEXT_MAX - 20)}"))
    trouble = [row for row in dashboard.ps.rows if needs_attention(row)]
    if trouble:
        blocks.append(section(_trouble_text(trouble)))
    for label, answer in (("Images", dashboard.images), ("Disk", dashboard.disk)):
        if answer is not None:
            line = render_result(answer).summary or ""
            blocks.append(section(f"*{label}:* {escape_clipped(line, SECTION_TEXT_MAX - 20)}"))
    return blocks


def home_view(dashboards: list[HostDashboard]) -> dict[str, Any]:
    """The Home tab view: every host's section, a divider between hosts, and the footer; checked against
    the limits of a view."""
    blocks: list[dict[str, Any]] = []
    for dashboard in dashboards:
        part = host_blocks(dashboard)
        if blocks:
            part.insert(0, DividerBlock().to_dict())
        if len(blocks) + len(part) > HOME_BLOCKS_MAX - 2:  # keep room for the footer and a "more" line
            blocks.append(section(f"…and {len(dashboards) - _hosts_in(blocks)} more hosts not shown"))
            break
        blocks.extend(part)
    blocks.append(context(FOOTER))
    return {"type": "home", "blocks": enforce_limits(blocks, max_blocks=HOME_BLOCKS_MAX, text_budget=None)}


def _hosts_in(blocks: list[dict[str, Any]]) -> int:
    return sum(1 for block in blocks if block.get("type") == "header")
