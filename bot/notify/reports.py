"""Reports posted to the notification channels: the disk report of one host.

`build_disk_report` reads the engine (one `/system/df` for the listing, and the plan `image prune` would
run, computed exactly as that command computes it); `bot.render.blocks.report` writes it: the `system df`
table as the Docker CLI prints it, the dangling images, the exited containers and the space to reclaim,
with a "Prune dangling images" button that re-enters the router as `image prune` by the clicking user, so
the policy, the confirmation plan and the audit apply as for a typed command.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.commands import args as a
from bot.engine import Engine
from bot.models import DiskReport
from bot.notify.outbox import OutgoingMessage
from bot.policy.scopes import host_matches
from bot.render.blocks.report import disk_report_blocks, fallback_text
from bot.settings import NotifyConfig

KIND = "disk"


def build_disk_report(engine: Engine) -> DiskReport:
    """Read one host's disk usage and what `image prune` would take now."""
    usage = engine.system_df(a.SystemDfArgs())
    prune = engine.plan_image_prune(a.ImagePruneArgs())
    return DiskReport(engine.name, usage, prune)


def report_channels(config: NotifyConfig, host: str) -> tuple[str, ...]:
    """The channels of every route taking `disk` from `host`, in config order, once each."""
    found: list[str] = []
    for route in config.routes:
        if KIND in route.events and host_matches(route.hosts, host) and route.channel not in found:
            found.append(route.channel)
    return tuple(found)


def disk_report_messages(
    report: DiskReport, when: datetime, channels: Sequence[str], *, key: str, context: str
) -> list[OutgoingMessage]:
    """One outbox message per channel; `key` names this report for good (dedupe), the channel is added."""
    blocks = disk_report_blocks(report, when, context)
    text = fallback_text(report)
    return [
        OutgoingMessage(channel=channel, text=text, blocks=blocks, dedupe_key=f"{key}@{channel}")
        for channel in channels
    ]
