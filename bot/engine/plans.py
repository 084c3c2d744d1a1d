"""Pure decisions of the mutating operations: resolve what a command names, decide what a prune will take.
No Docker calls and no output wording here: the engine lists, these functions decide, bot/render words.

The prune rules mirror the daemon's (moby daemon/prune.go, image_delete.go, Engine 20.10+):
- containers: every container that is not running (paused and restarting count as running);
- images: the "heads" (images no other image names as parent) that no container uses; without `-a` only
  dangling ones (no tag, no digest);
- volumes: local-driver volumes no container (running or stopped) mounts; API ≥ 1.42 takes only anonymous
  ones unless `all=true`;
- networks: custom (not bridge/host/none) local networks without endpoints, i.e. no *running* container;
- filters: `until` keeps objects created before the time, `label` must all match, `label!` excludes
  objects matching all of its values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.commands import args as a
from bot.engine.convert import container_row, image_row
from bot.models import ContainerRow, ImageRow, Target
from bot.references import familiar_name, parse_normalized_named

PREDEFINED_NETWORKS = frozenset({"bridge", "host", "none"})
RUNNING_STATES = frozenset({"running", "paused", "restarting"})
_ANONYMOUS_VOLUME = re.compile(r"^[0-9a-f]{64}$")
_HEX = re.compile(r"^[0-9a-f]{1,64}$")


def api_at_least(version: str, wanted: tuple[int, int]) -> bool:
    """True when the negotiated API version ("1.41") is at least `wanted`."""
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= wanted


# ---- filters ------------------------------------------------------------------------------------------


def until_timestamp(value: str, now: float, zone: tzinfo = UTC) -> float:
    """An `until` value (validated already) as Unix seconds; a time without an offset is read in `zone`."""
    return a.point_in_time(value, now, zone)


def until_notes(filters: a.Filters, now: float, zone: tzinfo = UTC) -> list[str]:
    """The instant each `until` filter stands for, as the plan used it (so nobody wonders which zone)."""
    notes = []
    for value in filters.get("until", ()):
        instant = until_timestamp(value, now, zone)
        shown = datetime.fromtimestamp(instant, zone).strftime("%Y-%m-%d %H:%M:%S %Z")
        notes.append(f"until={value}: created before {shown} (Unix {instant:.0f})")
    return notes


def parse_created(value: Any) -> float:
    """A `Created` field: Unix seconds (containers, images) or RFC 3339 with nanoseconds (networks)."""
    if isinstance(value, int | float):
        return float(value)
    text = str(value or "")
    match = re.match(r"^(.*?T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$", text)
    if not match:
        return 0.0
    fraction = (match.group(2) or "0")[:6]
    zone = (match.group(3) or "Z").replace("Z", "+00:00")
    return datetime.fromisoformat(f"{match.group(1)}.{fraction.ljust(6, '0')}{zone}").timestamp()


def _match_kv(values: Iterable[str], labels: Mapping[str, str]) -> bool:
    for value in values:
        key, sep, wanted = value.partition("=")
        if key not in labels or (sep and labels[key] != wanted):
            return False
    return True


def matches(
    filters: a.Filters, labels: Mapping[str, str], created: float, now: float, zone: tzinfo = UTC
) -> bool:
    """The daemon's prune filters: `until`, then every `label`, then not all of `label!`."""
    for value in filters.get("until", ()):
        if not created < until_timestamp(value, now, zone):
            return False
    if not _match_kv(filters.get("label", ()), labels):
        return False
    excluded = filters.get("label!", ())
    return not (excluded and _match_kv(excluded, labels))


def api_filters(filters: a.Filters, **extra: list[str]) -> dict[str, list[str]]:
    """Our filters plus `extra`, as docker-py takes them."""
    out = {key: list(values) for key, values in filters.items()}
    out.update(extra)
    return out


# ---- containers -----------------------------------------------------------------------------------------


def resolve_containers(
    raw: Sequence[Mapping[str, Any]], refs: Sequence[str]
) -> tuple[list[tuple[str, ContainerRow]], list[str]]:
    """Each typed ref → its container, as the daemon resolves it: full ID, exact name, then a unique ID
    prefix. Returns the matches (in the order typed, duplicates once) and a note per ref that matches none."""
    rows = [container_row(c) for c in raw]
    found: list[tuple[str, ContainerRow]] = []
    problems: list[str] = []
    seen: set[str] = set()
    for ref in refs:
        row = next((r for r in rows if r.id == ref), None)
        row = row or next((r for r in rows if ref in (n.removeprefix("/") for n in r.names)), None)
        if row is None:
            by_prefix = [r for r in rows if r.id.startswith(ref)] if _HEX.fullmatch(ref) else []
            if len(by_prefix) > 1:
                problems.append(f"{ref}: more than one container has an ID starting with it")
                continue
            row = by_prefix[0] if by_prefix else None
        if row is None:
            problems.append(f"No such container: {ref}")
        elif row.id not in seen:
            seen.add(row.id)
            found.append((ref, row))
    return found, problems


def container_target(row: ContainerRow, ref: str = "") -> Target:
    """A container as a plan lists it: name, labels, writable-layer size (when listed), status; `ref` is how
    the command named it (the CLI echoes that)."""
    return Target("container", row.id, row.name, dict(row.labels), row.size_rw, row.status, ref=ref)


def anonymous_volumes(raw: Mapping[str, Any]) -> list[str]:
    """The anonymous volumes a container mounts (what `rm -v` removes along with it)."""
    return [
        str(m.get("Name"))
        for m in raw.get("Mounts") or ()
        if m.get("Type") == "volume" and _ANONYMOUS_VOLUME.fullmatch(str(m.get("Name") or ""))
    ]


# ---- images -------------------------------------------------------------------------------------------


def normalize_tag(ref: str) -> str | None:
    """A typed image reference as `RepoTags` spells it ("app" → "app:latest"), or None for an ID."""
    parsed = parse_normalized_named(ref)
    if parsed is None or parsed.digest:
        return None
    return f"{familiar_name(parsed)}:{parsed.tag or 'latest'}"


def _normalize_digest_ref(ref: str) -> str | None:
    parsed = parse_normalized_named(ref)
    if parsed is None or not parsed.digest:
        return None
    return f"{familiar_name(parsed)}@{parsed.digest}"


def resolve_image(rows: Sequence[ImageRow], ref: str) -> tuple[ImageRow | None, str]:
    """The image a typed ref names, and how: "tag", "digest" or "id" (or None and why not)."""
    tag = normalize_tag(ref)
    if tag is not None:
        for row in rows:
            if tag in row.repo_tags:
                return row, "tag"
    digest_ref = _normalize_digest_ref(ref)
    if digest_ref is not None:
        for row in rows:
            if digest_ref in row.repo_digests:
                return row, "digest"
    hex_id = ref.removeprefix("sha256:")
    if _HEX.fullmatch(hex_id):
        by_id = [r for r in rows if r.id.removeprefix("sha256:").startswith(hex_id)]
        if len(by_id) == 1:
            return by_id[0], "id"
        if len(by_id) > 1:
            return None, f"{ref}: more than one image has an ID starting with it"
    return None, f"No such image: {ref}"


def canonical_reference(ref: str, how: str) -> str | None:
    """The tag or digest `ref` resolved by, spelled as the daemon lists it (`app` → `app:latest`); None when
    it resolved by ID (then the engine is sent the full ID)."""
    if how == "tag":
        return normalize_tag(ref)
    if how == "digest":
        return _normalize_digest_ref(ref)
    return None


def tags_of(row: ImageRow) -> list[str]:
    """The image's real tags (no `<none>:<none>`)."""
    return [t for t in row.repo_tags if t != "<none>:<none>"]


def image_name(row: ImageRow) -> str:
    """How a plan names an image: its first tag, else `<none>:<none>`."""
    tags = tags_of(row)
    return tags[0] if tags else "<none>:<none>"


def users_of(image_id: str, containers: Sequence[ContainerRow]) -> list[ContainerRow]:
    """The containers (any state) created from this image."""
    return [c for c in containers if c.image_id == image_id]


def describe_users(users: Sequence[ContainerRow]) -> str:
    """`web (running), old (exited)`."""
    return ", ".join(f"{c.name} ({c.state})" for c in users)


def image_heads(rows: Sequence[ImageRow]) -> list[ImageRow]:
    """Images no other listed image names as its parent (the daemon's `Heads()`: what prune considers)."""
    parents = {r.parent_id for r in rows if r.parent_id}
    return [r for r in rows if r.id not in parents]


def unique_size(row: ImageRow) -> int:
    """What removing this image alone frees: its size less the layers it shares (as `system df` counts)."""
    if row.shared_size is not None and row.shared_size >= 0:
        return max(row.size - row.shared_size, 0)
    return row.size


def image_target(row: ImageRow, name: str, size: int | None, detail: str) -> Target:
    """An image as a plan lists it; its aliases are all its tags (`<none>:<none>` for none), which the
    policy's name globs must all cover."""
    aliases = tuple(tags_of(row)) or ("<none>:<none>",)
    return Target("image", row.id, name, dict(row.labels), size, detail, aliases=aliases)


def prunable_images(
    images: Sequence[Mapping[str, Any]], *, all: bool, filters: a.Filters, now: float, zone: tzinfo = UTC
) -> list[ImageRow]:
    """The images `image prune` takes, from a `/system/df` (or `/images/json`) image list."""
    rows = [image_row(i) for i in images]
    chosen = []
    for row in image_heads(rows):
        if not all and not row.dangling:
            continue
        if row.containers > 0:
            continue
        if not matches(filters, row.labels, row.created, now, zone):
            continue
        chosen.append(row)
    return chosen


def image_remedy(users: Sequence[ContainerRow], ref: str) -> str:
    """The commands that free an image its containers hold: `stop C && rm C && rmi IMAGE`."""
    running = [c.name for c in users if c.state in RUNNING_STATES]
    steps = [f"stop {' '.join(running)}"] if running else []
    steps += [f"rm {' '.join(c.name for c in users)}", f"rmi {ref}"]
    return " && ".join(steps)


def image_blocking(running: bool) -> str:
    """Why containers block `rmi` of their image, and what `-f` would (not) do about it."""
    if running:
        return (
            "a running container blocks the removal of its image; -f would only untag it, leaving a "
            "dangling <none> image whose layers stay on disk"
        )
    return (
        "a stopped container still holds the image; -f would delete the image record, but its "
        "layers stay on disk as long as the container exists"
    )
