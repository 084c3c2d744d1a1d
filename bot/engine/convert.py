"""Engine API JSON → our frozen models. Defensive: any list may be null, any field missing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.models import (
    BuildCacheRow,
    ContainerRow,
    EngineEvent,
    HistoryRow,
    ImageRemoved,
    ImageRow,
    Port,
    PortMapping,
    VolumeRow,
)


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _dig_map(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    for key in keys:
        value = data.get(key)
        if not isinstance(value, Mapping):
            return {}
        data = value
    return data


def _int(value: Any, default: int = 0) -> int:
    return int(value) if isinstance(value, int | float) else default


def container_row(data: Mapping[str, Any]) -> ContainerRow:
    """One entry of `GET /containers/json`."""
    ports = tuple(
        Port(
            private_port=_int(p.get("PrivatePort")),
            type=str(p.get("Type") or "tcp"),
            ip=str(p.get("IP") or ""),
            public_port=_int(p["PublicPort"]) if p.get("PublicPort") else None,
        )
        for p in _list(data.get("Ports"))
    )
    mounts = _list(data.get("Mounts"))
    return ContainerRow(
        id=str(data.get("Id", "")),
        names=tuple(str(n).removeprefix("/") for n in _list(data.get("Names"))),
        image=str(data.get("Image") or ""),
        image_id=str(data.get("ImageID") or ""),
        command=str(data.get("Command") or ""),
        created=_int(data.get("Created")),
        state=str(data.get("State") or ""),
        status=str(data.get("Status") or ""),
        ports=ports,
        labels=_map(data.get("Labels")),
        size_rw=_int(data["SizeRw"]) if "SizeRw" in data else None,
        size_root_fs=_int(data["SizeRootFs"]) if "SizeRootFs" in data else None,
        mounts=tuple(str(m.get("Name") or m.get("Source") or "") for m in mounts),
        local_volumes=sum(1 for m in mounts if m.get("Driver") == "local"),
        networks=tuple(sorted(str(name) for name in _dig_map(data, "NetworkSettings", "Networks"))),
    )


def image_row(data: Mapping[str, Any]) -> ImageRow:
    """One entry of `GET /images/json` (or of `Images` in `/system/df`)."""
    return ImageRow(
        id=str(data.get("Id", "")),
        repo_tags=tuple(str(t) for t in _list(data.get("RepoTags"))),
        repo_digests=tuple(str(d) for d in _list(data.get("RepoDigests"))),
        created=_int(data.get("Created")),
        size=_int(data.get("Size")),
        shared_size=_int(data.get("SharedSize"), -1),
        containers=_int(data.get("Containers"), -1),
        labels=_map(data.get("Labels")),
        parent_id=str(data.get("ParentId") or ""),
    )


def port_mappings(data: Any) -> tuple[PortMapping, ...]:
    """The published ports of a container's inspect: `NetworkSettings.Ports`, `"80/tcp": [{HostIp,
    HostPort}]`, null for a port exposed but not published."""
    ports = _dig_map(data, "NetworkSettings", "Ports") if isinstance(data, Mapping) else {}
    return tuple(
        PortMapping(
            private=str(private), host_ip=str(b.get("HostIp") or ""), host_port=str(b.get("HostPort") or "")
        )
        for private, bindings in ports.items()
        for b in _list(bindings)
        if isinstance(b, Mapping)
    )


def top_table(data: Any) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """`GET /containers/{id}/top`: its `Titles` and `Processes`, every cell as text."""
    if not isinstance(data, Mapping):
        return (), ()
    titles = tuple(str(t) for t in _list(data.get("Titles")))
    return titles, tuple(tuple(str(cell) for cell in _list(row)) for row in _list(data.get("Processes")))


def history_rows(data: Any) -> tuple[HistoryRow, ...]:
    """`GET /images/{id}/history`, newest layer first as the engine lists them."""
    return tuple(
        HistoryRow(
            id=str(layer.get("Id") or ""),
            created=_int(layer.get("Created")),
            created_by=str(layer.get("CreatedBy") or ""),
            size=_int(layer.get("Size")),
            comment=str(layer.get("Comment") or ""),
        )
        for layer in _list(data)
        if isinstance(layer, Mapping)
    )


def volume_row(data: Mapping[str, Any]) -> VolumeRow:
    """One volume of `GET /volumes` or of `Volumes` in `/system/df` (with `UsageData`)."""
    usage = data.get("UsageData") if isinstance(data.get("UsageData"), Mapping) else None
    return VolumeRow(
        name=str(data.get("Name", "")),
        driver=str(data.get("Driver") or ""),
        mountpoint=str(data.get("Mountpoint") or ""),
        created_at=str(data.get("CreatedAt") or ""),
        scope=str(data.get("Scope") or "local"),
        labels=_map(data.get("Labels")),
        ref_count=_int(usage.get("RefCount"), -1) if usage else None,
        size=_int(usage.get("Size"), -1) if usage else None,
    )


def build_cache_row(data: Mapping[str, Any]) -> BuildCacheRow:
    """One record of `BuildCache` in `/system/df`."""
    return BuildCacheRow(
        id=str(data.get("ID", "")),
        type=str(data.get("Type") or ""),
        size=_int(data.get("Size")),
        in_use=bool(data.get("InUse")),
        shared=bool(data.get("Shared")),
        description=str(data.get("Description") or ""),
        created_at=str(data.get("CreatedAt") or ""),
        last_used_at=str(data.get("LastUsedAt") or ""),
        usage_count=_int(data.get("UsageCount")),
    )


def df_items(data: Mapping[str, Any], old_key: str, new_key: str) -> list[Any]:
    """A `/system/df` list: `Images` up to API 1.51, `ImageUsage.Items` (and likewise) from 1.52 on."""
    if isinstance(data.get(old_key), list):
        return list(data[old_key])
    usage = data.get(new_key)
    return _list(usage.get("Items")) if isinstance(usage, Mapping) else []


def image_removals(answer: Iterable[Any] | None) -> tuple[ImageRemoved, ...]:
    """The answer of `DELETE /images/{name}`: its `Untagged` and `Deleted` records, in the daemon's order."""
    removed: list[ImageRemoved] = []
    for item in answer or ():
        if not isinstance(item, Mapping):
            continue
        if item.get("Untagged"):
            removed.append(ImageRemoved("Untagged", str(item["Untagged"])))
        if item.get("Deleted"):
            removed.append(ImageRemoved("Deleted", str(item["Deleted"])))
    return tuple(removed)


def engine_event(data: Mapping[str, Any]) -> EngineEvent:
    """One message of `GET /events` (API ≥ 1.22: `Type`, `Action`, `Actor`; the old `status`, `id`, `from`
    kept for `--format json`)."""
    actor = _dig_map(data, "Actor")
    return EngineEvent(
        type=str(data.get("Type") or ""),
        action=str(data.get("Action") or ""),
        actor_id=str(actor.get("ID") or ""),
        attributes=_map(actor.get("Attributes")),
        scope=str(data.get("scope") or ""),
        time=_int(data.get("time")),
        time_nano=_int(data.get("timeNano")),
        status=str(data.get("status") or ""),
        id=str(data.get("id") or ""),
        from_=str(data.get("from") or ""),
    )
