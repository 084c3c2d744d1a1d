"""`--format` output: each listing's rows as the Docker CLI's formatter contexts show them to a template.

The fields, their table headers and their wording are the CLI's (`docker ps --format '{{json .}}'` on the
same engine is the oracle): `ps` rows are `*formatter.ContainerContext`, `images` rows
`*formatter.imageContext`, `volume ls` rows `*formatter.volumeContext`; `inspect` hands the template the
object's JSON (masked), as the CLI's raw fallback does, and `version` the client and server structs.
Cells are the ones the default tables print (the same functions), so `{{.Command}}` is quoted, cut and
masked exactly as the COMMAND column is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.models import (
    ContainerRow,
    ImageRow,
    ImagesResult,
    InspectResult,
    PsResult,
    VersionResult,
    VolumeRow,
    VolumesResult,
)
from bot.references import familiar_name, parse_normalized_named
from bot.render import table
from bot.render.digest import masked_json
from bot.render.format import created_ago, displayable_ports, ellipsis, human_size, truncate_id
from bot.render.mask import mask_secrets
from bot.render.template import Struct, Template

_NA = "N/A"

CONTAINER_HEADERS = {
    "ID": "CONTAINER ID",
    "Image": "IMAGE",
    "Command": "COMMAND",
    "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED",
    "Ports": "PORTS",
    "State": "STATE",
    "Status": "STATUS",
    "Size": "SIZE",
    "Names": "NAMES",
    "Labels": "LABELS",
    "Mounts": "MOUNTS",
    "LocalVolumes": "LOCAL VOLUMES",
    "Networks": "NETWORKS",
    "Platform": "PLATFORM",
}
IMAGE_HEADERS = {
    "ID": "IMAGE ID",
    "Repository": "REPOSITORY",
    "Tag": "TAG",
    "Digest": "DIGEST",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "Size": "SIZE",
    "Containers": "CONTAINERS",
    "SharedSize": "SHARED SIZE",
    "UniqueSize": "UNIQUE SIZE",
    "VirtualSize": "SIZE",  # sic: the CLI heads it SIZE
}
VOLUME_HEADERS = {
    "Name": "VOLUME NAME",
    "Driver": "DRIVER",
    "Scope": "SCOPE",
    "Mountpoint": "MOUNTPOINT",
    "Labels": "LABELS",
    "Links": "LINKS",
    "Size": "SIZE",
    "Group": "GROUP",
    "Availability": "AVAILABILITY",
    "Status": "STATUS",
}


def go_time(seconds: float) -> str:
    """A Unix time as Go's `time.Time.String()` prints it in UTC: `2026-12-07 12:02:59 +0000 UTC`."""
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%d %H:%M:%S} +0000 UTC"


def _labels(labels: Mapping[str, str]) -> str:
    return mask_secrets(",".join(f"{key}={value}" for key, value in sorted(labels.items())))


def _label_of(labels: Mapping[str, str]) -> Any:
    return lambda key: mask_secrets(labels.get(key, ""))


# ---- ps ---------------------------------------------------------------------------------------------------


def container_context(row: ContainerRow, result: PsResult) -> Struct:
    """One `docker ps` row as `*formatter.ContainerContext`."""
    trunc = not result.no_trunc
    mounts = [ellipsis(name, 15) if trunc else name for name in row.mounts]
    fields = {
        "ID": truncate_id(row.id) if trunc else row.id,
        "Image": table.container_image(row, trunc),
        "Command": table.command_cell(row.command, trunc),
        "CreatedAt": go_time(row.created),
        "RunningFor": created_ago(row.created, result.now),
        "Ports": displayable_ports(row.ports),
        "State": row.state,
        "Status": row.status,
        "Size": table.container_size(row),
        "Names": table.container_names(row, trunc),
        "Labels": _labels(row.labels),
        "Mounts": ",".join(mounts),
        "LocalVolumes": str(row.local_volumes if row.local_volumes is not None else len(row.mounts)),
        "Networks": ",".join(row.networks),
        "Platform": None,
    }
    return Struct(
        "*formatter.ContainerContext", fields, {"Label": _label_of(row.labels)}, CONTAINER_HEADERS, sort=True
    )


def _shape(type_name: str, headers: Mapping[str, str], methods: Sequence[str] = ()) -> Struct:
    """A row of this type with every field empty: the table header's source, and what a template is
    checked against when the command is parsed (an unknown field fails before any engine call)."""
    empty = dict.fromkeys(headers, "")
    return Struct(type_name, empty, {name: lambda _key: "" for name in methods}, headers, sort=True)


PS_SHAPE = _shape("*formatter.ContainerContext", CONTAINER_HEADERS, ["Label"])
IMAGES_SHAPE = _shape("*formatter.imageContext", IMAGE_HEADERS)
VOLUMES_SHAPE = _shape("*formatter.volumeContext", VOLUME_HEADERS, ["Label"])


def render_ps(result: PsResult, template: Template) -> str:
    """`docker ps --format …`."""
    return template.render([container_context(row, result) for row in result.rows], PS_SHAPE)


# ---- images -----------------------------------------------------------------------------------------------


def _digest_of(image: ImageRow, repository: str) -> str:
    for text in image.repo_digests:
        ref = parse_normalized_named(text)
        if ref is not None and ref.digest and familiar_name(ref) == repository:
            return ref.digest
    return "<none>"


def image_context(image: ImageRow, repository: str, tag: str, result: ImagesResult) -> Struct:
    """One `docker images` row (one repository:tag of an image) as `*formatter.imageContext`."""
    trunc = not result.no_trunc
    image_id = image.id if not trunc else truncate_id(image.id)
    fields = {
        "Containers": _NA if image.containers < 0 else str(image.containers),
        "CreatedAt": go_time(image.created),
        "CreatedSince": created_ago(image.created, result.now),
        "Digest": _digest_of(image, repository),
        "ID": image_id,
        "Repository": repository,
        "SharedSize": _NA if image.shared_size < 0 else human_size(image.shared_size, 3),
        "Size": human_size(image.size, 3),
        "Tag": tag,
        "UniqueSize": _NA if image.shared_size < 0 else human_size(image.size - image.shared_size, 3),
        "VirtualSize": human_size(image.size, 4),
    }
    return Struct("*formatter.imageContext", fields, {}, IMAGE_HEADERS, sort=True)


def render_images(result: ImagesResult, template: Template) -> str:
    """`docker images --format …`."""
    rows = [
        image_context(image, repository, tag, result)
        for image in result.rows
        for repository, tag in table.repo_tag_pairs(image)
    ]
    return template.render(rows, IMAGES_SHAPE)


# ---- volume ls --------------------------------------------------------------------------------------------


def volume_context(volume: VolumeRow) -> Struct:
    """One `docker volume ls` row as `*formatter.volumeContext`."""
    fields = {
        "Availability": _NA,
        "Driver": volume.driver,
        "Group": _NA,
        "Labels": _labels(volume.labels),
        "Links": _NA if volume.ref_count is None else str(volume.ref_count),
        "Mountpoint": volume.mountpoint,
        "Name": volume.name,
        "Scope": volume.scope,
        "Size": _NA if volume.size is None or volume.size < 0 else human_size(volume.size, 3),
        "Status": _NA,
    }
    return Struct(
        "*formatter.volumeContext", fields, {"Label": _label_of(volume.labels)}, VOLUME_HEADERS, sort=True
    )


def render_volumes(result: VolumesResult, template: Template) -> str:
    """`docker volume ls --format …`."""
    rows = [volume_context(volume) for volume in table.volumes_in_cli_order(result.rows)]
    return template.render(rows, VOLUMES_SHAPE)


# ---- inspect, version -------------------------------------------------------------------------------------


def render_inspect(result: InspectResult, template: Template) -> str:
    """`docker inspect --format …`: the template on the object's JSON, secrets masked first."""
    return template.execute(masked_json(dict(result.data)))


_SERVER_FIELDS = (  # Go field name, JSON key
    ("Platform", "Platform"),
    ("Components", "Components"),
    ("Version", "Version"),
    ("APIVersion", "ApiVersion"),
    ("MinAPIVersion", "MinAPIVersion"),
    ("GitCommit", "GitCommit"),
    ("GoVersion", "GoVersion"),
    ("Os", "Os"),
    ("Arch", "Arch"),
    ("KernelVersion", "KernelVersion"),
    ("Experimental", "Experimental"),
    ("BuildTime", "BuildTime"),
)


def _go_struct(type_name: str, data: Mapping[str, Any], names: Sequence[tuple[str, str]]) -> Struct:
    fields = {go: data.get(key) for go, key in names}
    return Struct(type_name, fields, json_value={key: data.get(key) for _, key in names if key in data})


def version_context(client_version: str, server: Mapping[str, Any]) -> Struct:
    """`docker version`'s template data: `.Client` is this bot, `.Server` the engine's `/version`."""
    client = {"Version": client_version, "ApiVersion": server.get("ApiVersion"), "Os": "linux"}
    names = (("Version", "Version"), ("APIVersion", "ApiVersion"), ("Os", "Os"))
    fields = {
        "Client": _go_struct("*types.ClientVersion", client, names),
        "Server": _go_struct("*types.ServerVersion", server, _SERVER_FIELDS),
    }
    return Struct("system.versionInfo", fields)


VERSION_SHAPE = version_context("", {})


def render_version(result: VersionResult, template: Template) -> str:
    """`docker version --format …`."""
    return template.execute(version_context(result.client_version, result.server))
