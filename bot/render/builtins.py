"""The router's built-in answers (`whoami`, `can-i`, `audit`, `notify …`) as a summary line and a body.

The models carry user IDs; the sentences name a user with a ref (`bot.mentions.user_ref`), which each door
renders its own way: a mention in Slack, a plain name in the local shell. Tables and other monospace bodies
show the bare IDs, so their columns line up.
"""

from __future__ import annotations

import time

from bot.mentions import channel_ref, user_ref
from bot.models import AuditResult, CanIResult, MuteResult, NotifySentResult, NotifyStatusResult, WhoamiResult

AUDIT_TEXT_SHOWN = 60  # characters of a command shown in the audit table


def render_whoami(result: WhoamiResult) -> tuple[str, str]:
    """The asker's IDs, groups, roles and action classes on the host."""
    lines = [
        f"user:     {result.user_id}" + (" (local admin)" if result.local_admin else ""),
        f"channel:  {result.channel_id}",
        f"groups:   {', '.join(sorted(result.groups)) or '—'}",
        f"host:     {result.host}",
        f"roles:    {', '.join(result.roles) or '—'}",
        f"may:      {', '.join(result.action_classes) or 'nothing'}",
        f"approve:  {'yes' if result.may_approve else 'no'}",
    ]
    return f"you are {user_ref(result.user_id)} on host {result.host}", "\n".join(lines)


def render_can_i(result: CanIResult) -> tuple[str, str]:
    """Each step's verdict and the rule behind it, and what would still be asked before it runs."""
    lines = []
    for step in result.steps:
        extra = []
        if step.allowed and step.needs_confirmation:
            extra.append("after you confirm its plan")
        if step.allowed and step.needs_approval:
            extra.append("after a second person approves")
        verdict = "yes" if step.allowed else "no"
        lines.append(f"{verdict}: {step.text}" + (f" ({', '.join(extra)})" if extra else ""))
        lines.append(f"  {step.reason}  [{step.rule}]")
    summary = "yes, you may" if result.allowed else "no, you may not"
    return f"{summary} run `{result.command}` on host {result.host} (dry run: nothing ran)", "\n".join(lines)


def render_audit(result: AuditResult) -> tuple[str, str]:
    """The audit rows as a table, newest first."""
    table = [("WHEN (UTC)", "USER", "CHANNEL", "COMMAND", "DECISION", "OUTCOME")]
    for entry in result.entries:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(entry.at))
        text = entry.text[:AUDIT_TEXT_SHOWN]
        table.append((when, entry.user_id, entry.channel_id, text, entry.decision, entry.outcome))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    body = "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    )
    who = f" of {user_ref(result.user_id)}" if result.user_id else ""
    return f"the last {len(result.entries)} audit rows{who}", body


def render_notify_status(result: NotifyStatusResult) -> tuple[str, str]:
    """The routes, the scheduled reports and the mutes in force."""
    routes = [
        f"  {', '.join(r.events)} from {', '.join(r.containers)} on {', '.join(r.hosts)} -> "
        + channel_ref(r.channel)
        for r in result.routes
    ]
    lines = ["routes:", *(routes or ["  (none configured)"])]
    if result.reports:
        lines.append("reports:")
        lines += [
            f"  {r.kind} report at `{r.cron}` ({r.timezone}) for {', '.join(r.hosts)}" for r in result.reports
        ]
    lines.append("mutes:")
    for mute in result.mutes:
        left = max(0, round((mute.until - result.now) / 60))
        lines.append(f"  {mute.container} on {mute.host}: {left} min left (by {user_ref(mute.by)})")
    if not result.mutes:
        lines.append("  (none)")
    reports = f", {len(result.reports)} report(s)" if result.reports else ""
    summary = f"{len(result.routes)} route(s){reports}, {len(result.mutes)} mute(s)"
    return summary, "\n".join(lines)


def render_mute(result: MuteResult) -> tuple[str, str]:
    """A mute set or lifted."""
    if result.until is None:
        return f"unmuted {result.container} on host {result.host}", ""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(result.until))
    return f"muted {result.container} on host {result.host} until {when}", ""


def render_notify_sent(result: NotifySentResult) -> tuple[str, str]:
    """Where a test notification or a disk report was queued."""
    where = f"{len(result.channels)} channel(s): {', '.join(result.channels)}"
    if result.kind == "test":
        return f"test notification queued for {where}", ""
    return f"disk report of host {result.host} queued for {where}", ""
