"""Docker CLI tables rendered from our result models, byte for byte as docker 28.x and compose v2 print them.

Every `render_*` function returns the command's standard output without the final newline. The CLI's
behaviour is reproduced, including its quirks: `docker images -q` repeats an ID once per tag, dangling and
digest-only images get `<none>` rows, `system df` mixes 4-digit and 3-digit sizes. Where the CLI's order
depends on Go map iteration (the repositories of one image), the first-seen order is used.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from bot.models import (
    BuildCacheRow,
    ComposeLsResult,
    ComposeProject,
    ComposePsResult,
    ContainerRow,
    DiskUsageResult,
    HistoryResult,
    ImageRow,
    ImagesResult,
    PortResult,
    PsResult,
    TopResult,
    VolumeRow,
    VolumesResult,
)
from bot.references import familiar_name, parse_normalized_named
from bot.render.format import (
    created_ago,
    displayable_ports,
    ellipsis,
    go_quote,
    human_duration,
    human_size,
    natural_less,
    tabulate,
    truncate_id,
)
from bot.render.mask import mask_secrets

__all__ = [
    "render_compose_ls",
    "render_compose_ps",
    "render_history",
    "render_images",
    "render_port",
    "render_ps",
    "render_system_df",
    "render_top",
    "render_volumes",
    "summarize_compose_ls",
    "summarize_history",
    "summarize_images",
    "summarize_ps",
    "summarize_system_df",
    "summarize_top",
    "summarize_volumes",
]

SERVICE_LABEL = "com.docker.compose.service"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
_NONE = "<none>"

# ---- shared cells ------------------------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    return tabulate([list(header), *rows])


def _strip_slash(name: str) -> str:
    return name.removeprefix("/")


def container_names(row: ContainerRow, trunc: bool) -> str:
    """NAMES: names without their "/"; truncated output keeps only the first that is not a link alias."""
    names = [_strip_slash(name) for name in row.names]
    if trunc:
        for name in names:
            if "/" not in name:
                return name
    return ",".join(names)


def container_image(row: ContainerRow, trunc: bool) -> str:
    """IMAGE: short ID when the container was started from an ID, else the familiar name without digest."""
    if not row.image:
        return "<no image>"
    if not trunc:
        return row.image
    short = truncate_id(row.image_id)
    if short == truncate_id(row.image):
        return short
    ref = parse_normalized_named(row.image)
    if ref is None:
        return row.image
    return f"{familiar_name(ref)}:{ref.tag}" if ref.tag else familiar_name(ref)


@functools.lru_cache(maxsize=4096)
def command_cell(command: str, trunc: bool) -> str:
    """COMMAND as the CLI prints it, with secrets masked first (`mysql -p•••`, also in the cut-off form)."""
    # replicas share their command line: a fleet of a thousand containers is masked and quoted a handful of
    # times
    masked = mask_secrets(command)
    return go_quote(ellipsis(masked, 20) if trunc else masked)


def container_size(row: ContainerRow) -> str:
    """SIZE of `docker ps -s`: writable layer, plus "(virtual …)" when the root filesystem size is known."""
    writable = human_size(row.size_rw or 0, 3)
    if row.size_root_fs is not None and row.size_root_fs > 0:
        return f"{writable} (virtual {human_size(row.size_root_fs, 3)})"
    return writable


def _container_id(container_id: str, trunc: bool) -> str:
    return truncate_id(container_id) if trunc else container_id


# ---- docker ps ---------------------------------------------------------------------------------------------


def render_ps(result: PsResult) -> str:
    """`docker ps [-a] [-q] [-s] [--no-trunc]` exactly as the CLI prints it."""
    trunc = not result.no_trunc
    if result.quiet:
        return "\n".join(_container_id(row.id, trunc) for row in result.rows)
    header = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    if result.size:
        header.append("SIZE")
    rows: list[list[str]] = []
    for row in result.rows:
        cells = [
            _container_id(row.id, trunc),
            container_image(row, trunc),
            command_cell(row.command, trunc),
            created_ago(row.created, result.now),
            row.status,
            displayable_ports(row.ports),
            container_names(row, trunc),
        ]
        if result.size:
            cells.append(container_size(row))
        rows.append(cells)
    return _table(header, rows)


# ---- docker images -----------------------------------------------------------------------------------------


def _cli_dangling(image: ImageRow) -> bool:
    """The CLI's isDangling: no tags and no digests, or exactly `<none>:<none>` and `<none>@<none>`."""
    if not image.repo_tags and not image.repo_digests:
        return True
    return image.repo_tags == ("<none>:<none>",) and image.repo_digests == ("<none>@<none>",)


def repo_tag_pairs(image: ImageRow) -> list[tuple[str, str]]:
    """One (repository, tag) per tag; repositories known only by digest get one `<none>` tag row."""
    if _cli_dangling(image):
        return [(_NONE, _NONE)]
    tags: dict[str, list[str]] = {}
    for ref_text in image.repo_tags:
        ref = parse_normalized_named(ref_text)
        if ref is not None and ref.tag:
            tags.setdefault(familiar_name(ref), []).append(ref.tag)
    digest_repos: dict[str, None] = {}
    for ref_text in image.repo_digests:
        ref = parse_normalized_named(ref_text)
        if ref is not None and ref.digest:
            digest_repos.setdefault(familiar_name(ref), None)
    pairs = [(repo, tag) for repo, repo_tags in tags.items() for tag in repo_tags]
    pairs.extend((repo, _NONE) for repo in digest_repos if repo not in tags)
    return pairs


def render_images(result: ImagesResult) -> str:
    """`docker images [-q] [--no-trunc]`: one row per repository:tag, `<none>` rows for dangling images."""
    trunc = not result.no_trunc
    expanded = [(image, pair) for image in result.rows for pair in repo_tag_pairs(image)]
    if result.quiet:
        # The CLI prints one ID per row, so an image with three tags prints its ID three times.
        return "\n".join(_container_id(image.id, trunc) for image, _ in expanded)
    rows = [
        [
            repo,
            tag,
            _container_id(image.id, trunc),
            created_ago(image.created, result.now),
            human_size(image.size, 3),
        ]
        for image, (repo, tag) in expanded
    ]
    return _table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], rows)


# ---- docker port, top, history -----------------------------------------------------------------------------


def _host_port(host_ip: str, host_port: str) -> str:
    """net.JoinHostPort: an IPv6 host in brackets (`[::]:8080`)."""
    return f"[{host_ip}]:{host_port}" if ":" in host_ip else f"{host_ip}:{host_port}"


def _natural_key(left: str, right: str) -> int:
    return -1 if natural_less(left, right) else 1 if natural_less(right, left) else 0


def render_port(result: PortResult) -> str:
    """`docker port`: `80/tcp -> 0.0.0.0:8080` lines, or only the host side for one named port, in the CLI's
    natural order of the printed lines (`900/tcp` before `8080/tcp`)."""
    if result.private is not None:
        lines = [_host_port(m.host_ip, m.host_port) for m in result.mappings]
    else:
        lines = [f"{m.private} -> {_host_port(m.host_ip, m.host_port)}" for m in result.mappings]
    return "\n".join(sorted(lines, key=functools.cmp_to_key(_natural_key)))


def render_top(result: TopResult) -> str:
    """`docker top`: the engine's titles and rows through Go's text/tabwriter (min width 20, padding 3), as
    the CLI writes them; the command column is masked as `ps` masks COMMAND."""
    titles = list(result.titles)
    command = next((i for i, t in enumerate(titles) if t in {"CMD", "COMMAND"}), len(titles) - 1)
    rows = [
        [mask_secrets(cell) if i == command else cell for i, cell in enumerate(process)]
        for process in result.processes
    ]
    return tabulate([titles, *rows], 20, 3, count_runes=True)


def _history_created_by(text: str, trunc: bool) -> str:
    """CREATED BY: tabs as spaces, secrets masked (build args can hold them), cut to 45 columns with "…"."""
    masked = mask_secrets(text.replace("\t", " "))
    return ellipsis(masked, 45) if trunc else masked


def render_history(result: HistoryResult) -> str:
    """`docker history [-q] [--no-trunc] [--human=false]` exactly as the CLI prints it."""
    trunc = not result.no_trunc
    if result.quiet:
        return "\n".join(_container_id(row.id, trunc) for row in result.rows)
    rows = [
        [
            _container_id(row.id, trunc),
            created_ago(row.created, result.now)
            if result.human
            else datetime.fromtimestamp(row.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            _history_created_by(row.created_by, trunc),
            human_size(row.size, 3) if result.human else str(row.size),
            row.comment,
        ]
        for row in result.rows
    ]
    created = "CREATED" if result.human else "CREATED AT"
    return _table(["IMAGE", created, "CREATED BY", "SIZE", "COMMENT"], rows)


def summarize_top(result: TopResult) -> str:
    """One line: "2 processes in web"."""
    count = len(result.processes)
    return f"{count} process{'' if count == 1 else 'es'} in {result.container}"


def summarize_history(result: HistoryResult) -> str:
    """One line: "3 layers of app:1.0, 12.4MB"."""
    total = human_size(sum(max(row.size, 0) for row in result.rows), 3)
    return f"{_plural(len(result.rows), 'layer')} of {result.image}, {total}"


# ---- docker system df --------------------------------------------------------------------------------------


def _go_div(numerator: int, denominator: int) -> int:
    """Go's integer division (truncates toward zero)."""
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator < 0) == (denominator < 0) else -quotient


def _with_percent(reclaimable: int, total: int) -> str:
    if total > 0:
        return f"{human_size(reclaimable)} ({_go_div(reclaimable * 100, total)}%)"
    return human_size(reclaimable)


_ACTIVE_STATES = frozenset({"running", "paused", "restarting"})


def _images_reclaimable(result: DiskUsageResult) -> int:
    used = sum(
        image.size - image.shared_size
        for image in result.images
        if image.containers != 0 and image.size != -1 and image.shared_size != -1
    )
    return result.layers_size - used


def _containers_sizes(result: DiskUsageResult) -> tuple[int, int]:
    total = sum(row.size_rw or 0 for row in result.containers)
    reclaimable = sum(row.size_rw or 0 for row in result.containers if row.state not in _ACTIVE_STATES)
    return total, reclaimable


def _volume_size(volume: VolumeRow) -> int:
    return -1 if volume.size is None else volume.size


def _volumes_sizes(result: DiskUsageResult) -> tuple[int, int]:
    known = [volume for volume in result.volumes if _volume_size(volume) != -1]
    total = sum(_volume_size(volume) for volume in known)
    reclaimable = sum(_volume_size(volume) for volume in known if not volume.ref_count)
    return total, reclaimable


def _builder_sizes(result: DiskUsageResult) -> tuple[int, int]:
    total = sum(record.size for record in result.build_cache if not record.shared)
    in_use = sum(record.size for record in result.build_cache if record.in_use and not record.shared)
    return total, total - in_use


def _df_summary_rows(result: DiskUsageResult) -> list[list[str]]:
    containers_total, containers_reclaimable = _containers_sizes(result)
    volumes_total, volumes_reclaimable = _volumes_sizes(result)
    builder_total, builder_reclaimable = _builder_sizes(result)
    return [
        [
            "Images",
            str(len(result.images)),
            str(sum(1 for image in result.images if image.containers > 0)),
            human_size(result.layers_size),
            _with_percent(_images_reclaimable(result), result.layers_size),
        ],
        [
            "Containers",
            str(len(result.containers)),
            str(sum(1 for row in result.containers if row.state in _ACTIVE_STATES)),
            human_size(containers_total),
            _with_percent(containers_reclaimable, containers_total),
        ],
        [
            "Local Volumes",
            str(len(result.volumes)),
            str(sum(1 for volume in result.volumes if (volume.ref_count or 0) > 0)),
            human_size(volumes_total),
            _with_percent(volumes_reclaimable, volumes_total),
        ],
        [
            "Build Cache",
            str(len(result.build_cache)),
            str(sum(1 for record in result.build_cache if record.in_use)),
            human_size(builder_total),
            human_size(builder_reclaimable),
        ],
    ]


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _parse_time(text: str) -> float | None:
    """Unix seconds of an RFC 3339 time as the Engine API writes it; None when empty or unreadable."""
    if not text:
        return None
    normalized = _FRACTION.sub(r"\1", text.strip()).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(normalized)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()


# Go's zero time.Time (0001-01-01T00:00:00Z), what a missing CreatedAt decodes to.
_GO_ZERO_TIME = -62135596800.0


def _since(text: str, now: float, *, missing_is_zero_time: bool) -> str:
    moment = _parse_time(text)
    if moment is None:
        if not missing_is_zero_time:
            return ""
        moment = _GO_ZERO_TIME
    return human_duration(now - moment) + " ago"


def _df_image_rows(result: DiskUsageResult) -> list[list[str]]:
    rows: list[list[str]] = []
    for image in result.images:
        repo, tag = _NONE, _NONE
        if image.repo_tags and not _cli_dangling(image):
            ref = parse_normalized_named(image.repo_tags[0])
            if ref is None:
                continue  # the CLI skips an image whose first tag does not parse
            if ref.tag:
                repo, tag = familiar_name(ref), ref.tag
        rows.append(
            [
                repo,
                tag,
                truncate_id(image.id),
                created_ago(image.created, result.now),
                human_size(image.size, 3),
                "N/A" if image.shared_size == -1 else human_size(image.shared_size),
                "N/A"
                if -1 in (image.size, image.shared_size)
                else human_size(image.size - image.shared_size),
                "N/A" if image.containers == -1 else str(image.containers),
            ]
        )
    return rows


def _local_volumes(row: ContainerRow) -> int:
    return len(row.mounts) if row.local_volumes is None else row.local_volumes


def _df_container_rows(result: DiskUsageResult) -> list[list[str]]:
    return [
        [
            truncate_id(row.id),
            container_image(row, trunc=True),
            command_cell(row.command, trunc=True),
            str(_local_volumes(row)),
            human_size(row.size_rw or 0, 3),
            created_ago(row.created, result.now),
            row.status,
            container_names(row, trunc=True),
        ]
        for row in result.containers
    ]


def _df_volume_rows(result: DiskUsageResult) -> list[list[str]]:
    return [
        [
            volume.name,
            "N/A" if volume.ref_count is None else str(volume.ref_count),
            "N/A" if volume.size is None else human_size(volume.size),
        ]
        for volume in result.volumes
    ]


def _build_cache_order(record: BuildCacheRow) -> tuple[bool, float, str]:
    last_used = _parse_time(record.last_used_at)
    return (last_used is not None, last_used or 0.0, record.id)


def _df_build_cache_rows(result: DiskUsageResult) -> list[list[str]]:
    return [
        [
            truncate_id(record.id) + ("*" if record.in_use else ""),
            record.type,
            human_size(record.size, 3),
            _since(record.created_at, result.now, missing_is_zero_time=True),
            _since(record.last_used_at, result.now, missing_is_zero_time=False),
            str(record.usage_count),
            "true" if record.shared else "false",
        ]
        for record in sorted(result.build_cache, key=_build_cache_order)
    ]


def _render_system_df_verbose(result: DiskUsageResult) -> str:
    builder_total, _ = _builder_sizes(result)
    sections = [
        (
            "Images space usage:",
            ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"],
            _df_image_rows(result),
        ),
        (
            "Containers space usage:",
            ["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"],
            _df_container_rows(result),
        ),
        ("Local Volumes space usage:", ["VOLUME NAME", "LINKS", "SIZE"], _df_volume_rows(result)),
        (
            f"Build cache usage: {human_size(builder_total)}",
            ["CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"],
            _df_build_cache_rows(result),
        ),
    ]
    return "\n\n".join(f"{title}\n\n{_table(header, rows)}" for title, header, rows in sections)


def render_system_df(result: DiskUsageResult) -> str:
    """`docker system df [-v]`: the four-line summary, or with -v the per-object sections."""
    if result.verbose:
        return _render_system_df_verbose(result)
    return _table(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], _df_summary_rows(result))


# ---- docker volume ls --------------------------------------------------------------------------------------


def _natural_compare(left: VolumeRow, right: VolumeRow) -> int:
    if natural_less(left.name, right.name):
        return -1
    return 1 if natural_less(right.name, left.name) else 0


def volumes_in_cli_order(volumes: Iterable[VolumeRow]) -> list[VolumeRow]:
    """Volumes in the CLI's natural name order (`v2` before `v10`)."""
    return sorted(volumes, key=functools.cmp_to_key(_natural_compare))


def render_volumes(result: VolumesResult) -> str:
    """`docker volume ls [-q]`: DRIVER and VOLUME NAME, or the names alone, in natural name order."""
    volumes = volumes_in_cli_order(result.rows)
    if result.quiet:
        return "\n".join(volume.name for volume in volumes)
    return _table(["DRIVER", "VOLUME NAME"], ([volume.driver, volume.name] for volume in volumes))


# ---- docker compose ls / ps --------------------------------------------------------------------------------


def _combined_status(containers: Sequence[ContainerRow]) -> str:
    """compose's combinedStatus: "exited(1), running(2)", states in byte order."""
    counts = Counter(row.state for row in containers)
    return ", ".join(f"{state}({counts[state]})" for state in sorted(counts))


def _config_files(project: ComposeProject) -> str:
    """The project's config files, else the union of its containers' config-files labels."""
    if project.config_files:
        return project.config_files
    files: list[str] = []
    for row in project.containers:
        label = row.labels.get(CONFIG_FILES_LABEL)
        if label is None:
            return "N/A"  # compose logs a warning and prints N/A
        for name in label.split(","):
            if name not in files:
                files.append(name)
    return ",".join(files)


def render_compose_ls(result: ComposeLsResult) -> str:
    """`docker compose ls [-q]`: projects by name with their combined status and config files."""
    projects = sorted(result.projects, key=lambda project: project.name)
    if result.quiet:
        return "\n".join(project.name for project in projects)
    rows = [
        [project.name, _combined_status(project.containers), _config_files(project)] for project in projects
    ]
    # compose uses Go's own text/tabwriter (widths in runes) with a minimum width of 20.
    return tabulate([["NAME", "STATUS", "CONFIG FILES"], *rows], min_width=20, count_runes=True)


def _canonical_name(row: ContainerRow) -> str:
    """compose's canonical container name: the first name that is not a link alias."""
    if not row.names:
        return row.id[:12]
    for name in row.names:
        if "/" not in _strip_slash(name):
            return _strip_slash(name)
    return _strip_slash(row.names[0])


def render_compose_ps(result: ComposePsResult) -> str:
    """`docker compose ps [-q]`: containers sorted by name, image as given, service from its label."""
    rows = sorted(result.rows, key=_canonical_name)
    if result.quiet:
        return "\n".join(row.id for row in rows)
    header = ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
    cells = [
        [
            _canonical_name(row),
            row.image,
            command_cell(row.command, trunc=True),
            row.labels.get(SERVICE_LABEL, ""),
            created_ago(row.created, result.now),
            row.status,
            displayable_ports(row.ports),
        ]
        for row in rows
    ]
    return _table(header, cells)


# ---- one-line summaries (ours, not the CLI's) --------------------------------------------------------------


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


_STATE_ORDER = ("running", "exited", "paused", "restarting", "created", "removing", "dead")


def _state_counts(rows: Sequence[ContainerRow]) -> list[str]:
    counts = Counter(row.state for row in rows)
    parts: list[str] = []
    for state in [*_STATE_ORDER, *sorted(set(counts) - set(_STATE_ORDER))]:
        if not counts[state]:
            continue
        part = f"{counts[state]} {state}"
        if state == "running":
            unhealthy = sum(1 for row in rows if row.state == state and row.health == "unhealthy")
            part += f" ({unhealthy} unhealthy)" if unhealthy else ""
        if state == "exited":
            failed = sum(1 for row in rows if row.state == state and row.exit_code not in (None, 0))
            part += f" ({failed} non-zero)" if failed else ""
        parts.append(part)
    return parts


def summarize_ps(result: PsResult) -> str:
    """One line: "12 containers: 8 running (2 unhealthy), 3 exited (1 non-zero), 1 paused"."""
    head = _plural(len(result.rows), "container")
    parts = _state_counts(result.rows)
    return f"{head}: {', '.join(parts)}" if parts else head


def summarize_images(result: ImagesResult) -> str:
    """One line: "5 images, 1.2GB; 2 dangling (340MB)", counting each image ID once."""
    unique = list({image.id: image for image in result.rows}.values())
    text = f"{_plural(len(unique), 'image')}, {human_size(sum(max(image.size, 0) for image in unique), 3)}"
    dangling = [image for image in unique if image.dangling]
    if dangling:
        text += f"; {len(dangling)} dangling ({human_size(sum(max(image.size, 0) for image in dangling), 3)})"
    return text


def summarize_system_df(result: DiskUsageResult) -> str:
    """One line: "1.2GB reclaimable of 3.4GB", over images, containers, volumes and build cache."""
    containers_total, containers_reclaimable = _containers_sizes(result)
    volumes_total, volumes_reclaimable = _volumes_sizes(result)
    builder_total, builder_reclaimable = _builder_sizes(result)
    total = result.layers_size + containers_total + volumes_total + builder_total
    reclaimable = _images_reclaimable(result) + containers_reclaimable + volumes_reclaimable
    reclaimable += builder_reclaimable
    return f"{human_size(max(reclaimable, 0))} reclaimable of {human_size(total)}"


def summarize_volumes(result: VolumesResult) -> str:
    """One line: "4 volumes: 1 anonymous, 2 unused" (unused only when reference counts are known)."""
    parts: list[str] = []
    anonymous = sum(1 for volume in result.rows if volume.anonymous)
    if anonymous:
        parts.append(f"{anonymous} anonymous")
    if result.rows and all(volume.ref_count is not None for volume in result.rows):
        unused = sum(1 for volume in result.rows if volume.ref_count == 0)
        if unused:
            parts.append(f"{unused} unused")
    head = _plural(len(result.rows), "volume")
    return f"{head}: {', '.join(parts)}" if parts else head


def summarize_compose_ls(result: ComposeLsResult) -> str:
    """One line: "3 projects, 7 containers: 5 running, 2 exited"."""
    containers = [row for project in result.projects for row in project.containers]
    head = f"{_plural(len(result.projects), 'project')}, {_plural(len(containers), 'container')}"
    parts = _state_counts(containers)
    return f"{head}: {', '.join(parts)}" if parts else head
