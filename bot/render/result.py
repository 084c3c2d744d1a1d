"""One entry point for every door: a result model → its summary line and its body text.

Slack's Block Kit renderer and the terminal renderer both start here, so a table looks the same in a
channel and in the shell. Quiet listings (`-q`) get no summary, so their output stays pipeable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from bot.models import (
    ActionResult,
    AuditResult,
    CanIResult,
    Change,
    ComposeLsResult,
    ComposePsResult,
    ConfirmationResult,
    DiskUsageResult,
    EventsResult,
    HelpResult,
    HistoryResult,
    ImagesResult,
    InfoResult,
    InspectResult,
    LogsResult,
    MuteResult,
    NotifySentResult,
    NotifyStatusResult,
    PortResult,
    PruneResult,
    PsResult,
    PullResult,
    Result,
    RmiResult,
    TextResult,
    TopResult,
    VersionResult,
    VolumesResult,
    WhoamiResult,
)
from bot.render import actions, builtins, digest, events, formats, table, template

BodyKind = Literal["table", "text", "json"]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A result as text: an optional one-line summary above a monospace body."""

    summary: str | None
    body: str
    kind: BodyKind


def _quiet(result: Any) -> bool:
    return bool(getattr(result, "quiet", False))


def _listing(
    render: Callable[[Any], str],
    summarize: Callable[[Any], str] | None,
    formatted: Callable[[Any, template.Template], str] | None = None,
) -> Callable[[Any], Rendered]:
    def rendered(result: Any) -> Rendered:
        text_format = getattr(result, "format", None)
        if formatted is not None and text_format is not None and not _quiet(result):
            # `--format`: the template's lines alone, as the CLI prints them (no summary line)
            return Rendered(None, _formatted(formatted, result, text_format), "table")
        summary = None if _quiet(result) or summarize is None else summarize(result)
        return Rendered(summary, render(result), "table")

    return rendered


def _formatted(
    render: Callable[[Any, template.Template], str],
    result: Any,
    text: str,
    *,
    tables: bool = True,
    name: str = "",
) -> str:
    """A result through its `--format` template. The template was checked against the command's fields
    when parsed; what only the data can break (`map has no entry for key …` in an inspect) is answered
    with the CLI's error line in place of the output."""
    try:
        return render(result, template.parse(text, tables=tables, name=name))
    except template.TemplateError as exc:
        return f"template parsing error: {exc.message}"


def _inspect(result: InspectResult) -> Rendered:
    if result.format is not None:
        return Rendered(None, _formatted(formats.render_inspect, result, result.format, tables=False), "text")
    return Rendered(None, digest.render_inspect(result), "json" if result.raw else "text")


def _version(result: VersionResult) -> Rendered:
    if result.format is not None:
        return Rendered(
            None,
            _formatted(formats.render_version, result, result.format, tables=False, name="version"),
            "text",
        )
    return Rendered(None, digest.render_version(result), "text")


def _logs(result: LogsResult) -> Rendered:
    count = len(result.lines)
    summary = f"last {count} line{'' if count == 1 else 's'} of {result.container}"
    if count == 0:
        summary = f"no log lines from {result.container} in that range"
    return Rendered(summary, digest.render_logs(result), "text")


def _events(result: EventsResult) -> Rendered:
    if result.format is not None:  # the template's lines alone, as the CLI prints them
        try:
            body = events.render_events_format(result, events.events_template(result.format))
        except template.TemplateError as exc:
            body = f"{events.FORMAT_ERROR}: {exc.message}"
        return Rendered(None, body, "text")
    return Rendered(events.summarize_events(result), events.render_events(result), "text")


def _change(result: Change) -> Rendered:
    return Rendered(actions.summarize_action(result), actions.render_action(result), "text")


def _confirmation(result: ConfirmationResult) -> Rendered:
    """The plan of every step and what happens next; nothing has run yet."""
    count = sum(len(plan.targets) for plan in result.plans)
    minutes = max(1, round((result.expires_at - time.time()) / 60))
    if result.approval == "two-person":
        summary = f"Needs a second person's approval: {count} object(s); nothing has run yet"
        footer = f"Another person with the approve right must approve within {minutes} min."
    else:
        summary = f"Confirm to go ahead: {count} object(s); nothing has run yet"
        footer = f"Confirm within {minutes} min (in the shell: answer y, or re-run with --yes)."
    if result.changed:
        summary = "The plan changed since it was shown; this is the new one. " + summary
    body = "\n\n".join(actions.render_plan(plan) for plan in result.plans) or "(nothing to do)"
    return Rendered(summary, f"{body}\n\n{footer}", "text")


_RENDERERS: dict[type[Any], Callable[[Any], Rendered]] = {
    PsResult: _listing(table.render_ps, table.summarize_ps, formats.render_ps),
    ImagesResult: _listing(table.render_images, table.summarize_images, formats.render_images),
    DiskUsageResult: _listing(table.render_system_df, table.summarize_system_df),
    VolumesResult: _listing(table.render_volumes, table.summarize_volumes, formats.render_volumes),
    ComposeLsResult: _listing(table.render_compose_ls, table.summarize_compose_ls),
    ComposePsResult: _listing(table.render_compose_ps, None),
    InspectResult: _inspect,
    LogsResult: _logs,
    EventsResult: _events,
    # lines without a header: text, so a long list split for Slack does not repeat its first line
    PortResult: lambda r: Rendered(None, table.render_port(r), "text"),
    TopResult: _listing(table.render_top, table.summarize_top),
    HistoryResult: _listing(table.render_history, table.summarize_history),
    VersionResult: _version,
    InfoResult: lambda r: Rendered(None, digest.render_info(r), "text"),
    HelpResult: lambda r: Rendered(None, digest.render_help(r), "text"),
    ActionResult: _change,
    RmiResult: _change,
    PruneResult: _change,
    PullResult: _change,
    ConfirmationResult: _confirmation,
    TextResult: lambda r: Rendered(r.summary, r.body, "text"),
    CanIResult: lambda r: Rendered(*builtins.render_can_i(r), "text"),
    MuteResult: lambda r: Rendered(*builtins.render_mute(r), "text"),
    NotifySentResult: lambda r: Rendered(*builtins.render_notify_sent(r), "text"),
    WhoamiResult: lambda r: Rendered(*builtins.render_whoami(r), "text"),
    AuditResult: lambda r: Rendered(*builtins.render_audit(r), "text"),
    NotifyStatusResult: lambda r: Rendered(*builtins.render_notify_status(r), "text"),
}


def render_result(result: Result) -> Rendered:
    """Render any result model; every result type has exactly one renderer (a test checks it). Users are
    named by refs (`bot.mentions`), which the door renders when it shows the text."""
    return _RENDERERS[type(result)](result)


def renderable_types() -> frozenset[type[Any]]:
    """The result types `render_result` knows, for the completeness test."""
    return frozenset(_RENDERERS)
