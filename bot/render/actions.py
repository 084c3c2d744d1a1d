"""What mutating commands print: their results as the Docker CLI's lines, and their plans before they run.

`render_action` gives the CLI's own output (`docker stop` echoes each name, `rmi` lists `Untagged:` and
`Deleted:`, prunes list what went and end with `Total reclaimed space: 964MB`), then the bot's notes.
`render_plan` shows exactly what a command will touch: a sentence, a table per kind of object, the notes.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.models import ActionResult, Plan, Target
from bot.render.format import human_size, tabulate, truncate_id

_VERBS = {
    "rm": "remove",
    "rmi": "remove",
    "prune": "remove",
    "stop": "stop",
    "start": "start",
    "restart": "restart",
    "kill": "kill",
    "pause": "pause",
    "unpause": "unpause",
    "pull": "pull",
}
_PAST = {
    "start": "started",
    "stop": "stopped",
    "restart": "restarted",
    "kill": "killed",
    "pause": "paused",
    "unpause": "unpaused",
    "rm": "removed",
}
_KINDS = ("container", "image", "volume", "network", "build-cache")
_NOUNS = {"build-cache": "build cache record"}


def _count(n: int, noun: str) -> str:
    noun = _NOUNS.get(noun, noun)
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _size(size: int | None) -> str:
    return human_size(size) if size is not None else "-"


def render_action(result: ActionResult) -> str:
    """The Docker CLI's lines for what the command did, then the bot's notes (`note: …`)."""
    lines = list(result.lines)
    if result.notes:
        if lines:
            lines.append("")
        lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)


def summarize_action(result: ActionResult) -> str:
    """One line above the output: `stopped 2 containers`, `image prune: reclaimed 964MB`."""
    if result.verb in _PAST:
        return f"{_PAST[result.verb]} {_count(len(result.lines), 'container')}"
    if result.verb == "rmi":
        untagged = sum(1 for line in result.lines if line.startswith("Untagged:"))
        deleted = sum(1 for line in result.lines if line.startswith("Deleted:"))
        return f"rmi: {untagged} untagged, {deleted} deleted"
    if result.verb == "pull":
        status = next((line for line in result.lines if line.startswith("Status:")), "")
        return status.removeprefix("Status: ") or "pulled"
    if result.reclaimed is not None:
        return f"{result.verb}: reclaimed {human_size(result.reclaimed)}"
    return result.verb


def _plan_headline(plan: Plan) -> str:
    verb = _VERBS.get(plan.verb, plan.verb)
    counts = [
        _count(sum(1 for t in plan.targets if t.kind == kind), kind)
        for kind in _KINDS
        if any(t.kind == kind for t in plan.targets)
    ]
    if not counts:
        return f"Nothing to {verb} on {plan.host}."
    what = counts[0] if len(counts) == 1 else ", ".join(counts[:-1]) + " and " + counts[-1]
    reclaim = f" (reclaim {human_size(plan.reclaim)})" if plan.reclaim else ""
    return f"This will {verb} {what} on {plan.host}{reclaim}:"


def _table(kind: str, targets: Sequence[Target]) -> str:
    if kind == "container":
        header = ["CONTAINER ID", "NAME", "STATUS", "SIZE"]
        rows = [[truncate_id(t.id), t.name, t.detail, _size(t.size)] for t in targets]
    elif kind == "image":
        header = ["IMAGE ID", "IMAGE", "SIZE", "WHAT HAPPENS"]
        rows = [[truncate_id(t.id) or "-", t.name, _size(t.size), t.detail] for t in targets]
    elif kind == "volume":
        header = ["VOLUME NAME", "SIZE", "KIND"]
        rows = [[t.name, _size(t.size), t.detail] for t in targets]
    elif kind == "build-cache":
        header = ["CACHE ID", "TYPE", "SIZE"]
        rows = [[t.id[:25], t.detail, _size(t.size)] for t in targets]
    else:
        header = ["NETWORK ID", "NAME", "DRIVER"]
        rows = [[truncate_id(t.id), t.name, t.detail] for t in targets]
    return tabulate([header, *rows])


def render_plan(plan: Plan) -> str:
    """`This will remove 3 images on prod (reclaim 964MB):`, a table per kind of object, then the notes."""
    parts = [_plan_headline(plan)]
    for kind in _KINDS:
        targets = [t for t in plan.targets if t.kind == kind]
        if targets:
            parts.append(_table(kind, targets))
    if plan.notes:
        parts.append("\n".join(f"note: {note}" for note in plan.notes))
    return "\n\n".join(parts)


def summarize_plan(plan: Plan) -> str:
    """One line: `rmi on prod: 2 images, reclaim 120MB`."""
    counts = ", ".join(
        _count(sum(1 for t in plan.targets if t.kind == kind), kind)
        for kind in _KINDS
        if any(t.kind == kind for t in plan.targets)
    )
    reclaim = f", reclaim {human_size(plan.reclaim)}" if plan.reclaim else ""
    return f"{plan.command} on {plan.host}: {counts or 'nothing'}{reclaim}"
