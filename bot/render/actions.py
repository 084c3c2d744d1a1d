"""What mutating commands print: their results as the Docker CLI's lines, and their plans before they run.

`render_action` gives the CLI's own output (`docker stop` echoes each name, `rmi` lists `Untagged:` and
`Deleted:`, prunes list what went and end with `Total reclaimed space: 964MB`, `pull` its final screen), then
the bot's notes; `render_pull_progress` words a pull under way.
`render_plan` shows exactly what a command will touch: a sentence, a table per kind of object, the notes.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.models import ActionResult, Change, Plan, PruneResult, PullProgress, PullResult, RmiResult, Target
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


def cli_lines(result: Change) -> list[str]:
    """What the Docker CLI prints for the change: the references a container verb acted on; rmi's
    `Untagged:`/`Deleted:` records; a prune's sections and `Total reclaimed space:`; pull's final screen."""
    if isinstance(result, ActionResult):
        return list(result.done)
    if isinstance(result, RmiResult):
        return [f"{removed.action}: {removed.ref}" for removed in result.removed]
    if isinstance(result, PruneResult):
        return _prune_lines(result)
    return _pull_lines(result)


def _prune_lines(result: PruneResult) -> list[str]:
    """The kinds in the daemon's order, each `Deleted Containers:`, its items and a blank line, then
    `Total reclaimed space: 964MB` (go-units HumanSize); a network prune reports no space."""
    sections = (
        ("Deleted Containers:", result.containers),
        ("Deleted Networks:", result.networks),
        ("Deleted Volumes:", result.volumes),
        ("Deleted Images:", tuple(f"{r.action.lower()}: {r.ref}" for r in result.images)),
        ("Deleted build cache objects:", result.build_cache),
    )
    lines = [line for title, items in sections if items for line in (title, *items, "")]
    if result.reclaimed is None:
        return lines[:-1]
    return [*lines, f"Total reclaimed space: {human_size(result.reclaimed)}"]


def _pull_lines(result: PullResult) -> list[str]:
    """The final screen of `docker pull`: the `Pulling from` line, each layer's last status, the `Digest:`
    and `Status:` lines, then the reference fully qualified."""
    lines = [f"{ident}: Pulling from {repository}" for ident, repository in result.sources]
    lines += [f"{layer.id}: {layer.status}" for layer in result.layers]
    lines += result.messages
    if result.digest is not None:
        lines.append(f"Digest: {result.digest}")
    if result.status is not None:
        lines.append(f"Status: {result.status}")
    if result.name is not None:
        lines.append(result.name)
    return lines


def notes_of(result: Change) -> list[str]:
    """The bot's remarks on a change, in order."""
    notes = list(result.notes)
    if isinstance(result, PullResult) and result.default_tag:
        notes.insert(0, "Using default tag: latest")
    if isinstance(result, PruneResult) and result.unused_tagged is not None:
        count, size = result.unused_tagged
        notes.append(
            f"only dangling images are pruned without -a; {count} unused tagged "
            f"image{'s' if count != 1 else ''} (about {human_size(size)}) would go with -a"
        )
    return notes


def render_action(result: Change) -> str:
    """The Docker CLI's lines for what the command did, then the bot's notes (`note: …`)."""
    lines = cli_lines(result)
    notes = notes_of(result)
    if notes:
        if lines:
            lines.append("")
        lines += [f"note: {note}" for note in notes]
    return "\n".join(lines)


def summarize_action(result: Change) -> str:
    """One line above the output: `stopped 2 containers`, `image prune: reclaimed 964MB`."""
    if isinstance(result, ActionResult):
        if result.verb in _PAST:
            return f"{_PAST[result.verb]} {_count(len(result.done), 'container')}"
        return result.verb
    if isinstance(result, RmiResult):
        untagged = sum(1 for r in result.removed if r.action == "Untagged")
        deleted = sum(1 for r in result.removed if r.action == "Deleted")
        return f"rmi: {untagged} untagged, {deleted} deleted"
    if isinstance(result, PullResult):
        return result.status or "pulled"
    if result.removed_nothing:
        return f"{result.verb}: nothing to remove"
    if result.reclaimed is not None:
        return f"{result.verb}: reclaimed {human_size(result.reclaimed)}"
    return result.verb


def render_pull_progress(progress: PullProgress) -> str:
    """A pull under way, in one line: `Pulling app:1.0: 3/5 layers, 12.3MB/40.1MB`."""
    done = sum(1 for layer in progress.layers if layer.status in {"Pull complete", "Already exists"})
    current = sum(layer.current for layer in progress.layers)
    total = sum(layer.total for layer in progress.layers)
    sizes = f", {human_size(current, 3)}/{human_size(total, 3)}" if total else ""
    return f"Pulling {progress.image}: {done}/{len(progress.layers)} layers{sizes}"


def _plan_headline(plan: Plan) -> str:
    verb = f"send {plan.signal} to" if plan.signal else _VERBS.get(plan.verb, plan.verb)
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
