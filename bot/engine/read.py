"""The reading operations: `ps`, `images`, `system df`, `volume ls`/`inspect`, `inspect`, `logs`, `port`,
`top`, `image history`, `version`, `info`, `compose ls`/`ps`. Each costs one Engine API call where it can
(listings inspect no row) and returns its result model; none formats text.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import tzinfo
from typing import Any

from bot import __version__
from bot.commands import args as a
from bot.engine import plans
from bot.engine.base import EngineBase
from bot.engine.convert import (
    build_cache_row,
    container_row,
    df_items,
    engine_event,
    history_rows,
    image_row,
    port_mappings,
    top_table,
    volume_row,
)
from bot.engine.events import read_events
from bot.errors import NotFound, UsageError
from bot.models import (
    ComposeLsResult,
    ComposeProject,
    ComposePsResult,
    DiskUsageResult,
    EventsResult,
    HistoryResult,
    ImagesResult,
    InfoResult,
    InspectKind,
    InspectResult,
    LogsResult,
    PortResult,
    PsResult,
    TopResult,
    VersionResult,
    VolumesResult,
)
from bot.references import CONTAINER_NAME, VOLUME_NAME

PROJECT_LABEL = "com.docker.compose.project"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
ONEOFF_LABEL = "com.docker.compose.oneoff"
MAX_LOG_BYTES = 2 * 1024 * 1024


class Reads(EngineBase):
    """The reading operations of the `Engine`."""

    def ps(self, args: a.PsArgs) -> PsResult:
        """`docker ps`: one `GET /containers/json` (with sizes when `-s` or a `--format` shows `.Size`)."""
        raw = self._call(
            lambda api: api.containers(
                all=args.all,
                limit=args.last,
                latest=args.latest,
                size=args.wants_sizes,
                filters=_filters(args.filters),
            )
        )
        return PsResult(
            rows=tuple(container_row(c) for c in raw or ()),
            now=time.time(),
            quiet=args.quiet,
            no_trunc=args.no_trunc,
            size=args.size,
            all=args.all or args.latest or args.last > 0,
            format=args.format,
        )

    def images(self, args: a.ImagesArgs) -> ImagesResult:
        """`docker images`: one `GET /images/json`."""
        raw = self._call(
            lambda api: api.images(name=args.reference, all=args.all, filters=_filters(args.filters))
        )
        return ImagesResult(
            rows=tuple(image_row(i) for i in raw or ()),
            now=time.time(),
            quiet=args.quiet,
            no_trunc=args.no_trunc,
            format=args.format,
        )

    def system_df(self, args: a.SystemDfArgs) -> DiskUsageResult:
        """`docker system df`: one `GET /system/df`."""
        data = self._call(lambda api: api.df()) or {}
        volumes = df_items(data, "Volumes", "VolumeUsage")
        return DiskUsageResult(
            images=tuple(image_row(i) for i in df_items(data, "Images", "ImageUsage")),
            containers=tuple(container_row(c) for c in df_items(data, "Containers", "ContainerUsage")),
            volumes=tuple(volume_row(v) for v in volumes),
            build_cache=tuple(build_cache_row(b) for b in df_items(data, "BuildCache", "BuildCacheUsage")),
            layers_size=int(data.get("LayersSize") or 0),
            now=time.time(),
            verbose=args.verbose,
        )

    def volume_ls(self, args: a.VolumeLsArgs) -> VolumesResult:
        """`docker volume ls`: one `GET /volumes`."""
        data = self._call(lambda api: api.volumes(filters=_filters(args.filters))) or {}
        rows = tuple(volume_row(v) for v in data.get("Volumes") or ())
        return VolumesResult(rows=rows, quiet=args.quiet, format=args.format)

    def volume_inspect(self, args: a.VolumeInspectArgs) -> InspectResult:
        """`docker volume inspect`."""
        data = self._call(lambda api: api.inspect_volume(args.name))
        return InspectResult(kind="volume", data=data, now=time.time(), raw=args.raw_json)

    def inspect(self, args: a.InspectArgs) -> InspectResult:
        """`docker inspect`: a container, else an image, else a volume (or only `--type`)."""
        lookups: dict[InspectKind, Callable[[], Any]] = {
            "container": lambda: self._call(lambda api: api.inspect_container(args.target)),
            "image": lambda: self._inspect_image(args.target),
            "volume": lambda: self._call(lambda api: api.inspect_volume(args.target)),
        }
        kinds: list[InspectKind] = [args.type] if args.type else ["container", "image", "volume"]
        # a reference goes only into the path of a kind whose grammar it fits (an image's: its resolved ID)
        fits = {"container": CONTAINER_NAME, "volume": VOLUME_NAME}
        for kind in kinds:
            if kind in fits and not fits[kind].fullmatch(args.target):
                continue
            try:
                data = lookups[kind]()
            except NotFound:
                continue
            return InspectResult(kind=kind, data=data, now=time.time(), raw=args.raw_json, format=args.format)
        what = f"{args.type}" if args.type else "object"
        raise NotFound(f"No such {what}: {args.target}", hint=f'on host {self.name}; try "ps -a" or "images"')

    def _inspect_image(self, ref: str) -> Any:
        image_id = self._image_id(ref)
        return self._call(lambda api: api.inspect_image(image_id))

    def _image_id(self, ref: str) -> str:
        """The full ID of the image `ref` names (tag, digest or ID prefix), resolved against the image
        listing as `rmi` does, so only an ID ever reaches an image path; `NotFound` otherwise."""
        rows = [image_row(i) for i in self._call(lambda api: api.images(all=True)) or ()]
        row, how = plans.resolve_image(rows, ref)
        if row is None:
            raise NotFound(how)
        return row.id

    def logs(self, args: a.LogsArgs) -> LogsResult:
        """`docker logs --tail N`, read up to a size cap."""
        since = _since(args.since, self.zone) if args.since else None

        def read(api: Any) -> bytes:
            stream = api.logs(
                args.container,
                stdout=True,
                stderr=True,
                timestamps=args.timestamps,
                tail=args.tail,
                since=since,
                stream=True,
                follow=False,  # docker-py turns follow on whenever stream is on
            )
            return _read_capped(stream, MAX_LOG_BYTES)

        text = self._call(read).decode("utf-8", "replace")
        lines = tuple(text.splitlines()[-args.tail :]) if args.tail else ()
        return LogsResult(container=args.container, lines=lines, tail=args.tail, timestamps=args.timestamps)

    def events(self, args: a.EventsArgs) -> EventsResult:
        """`docker events --since … --until …`: one `GET /events` with both ends always sent (without an
        `until` the engine follows the stream forever), `until` never later than now, within the host's
        wall-clock deadline; at most `MAX_EVENTS` events are kept (one more is read to know there were
        more)."""
        try:
            window = a.events_window(args.since, args.until, time.time(), self.zone)
        except ValueError as exc:
            raise UsageError(str(exc)) from None

        def read(api: Any) -> list[Mapping[str, Any]]:
            raw = api.events(
                since=_api_time(window.since),
                until=_api_time(window.until),
                filters=_filters(args.filters),
                decode=True,
            )
            return read_events(self.host, raw, a.MAX_EVENTS + 1)

        items = self._call(read)
        return EventsResult(
            events=tuple(engine_event(item) for item in items[: a.MAX_EVENTS]),
            since=window.since,
            until=window.until,
            zone=self.zone,
            limit=a.MAX_EVENTS,
            truncated=len(items) > a.MAX_EVENTS,
            clamped=window.clamped,
            format=args.format,
        )

    def port(self, args: a.PortArgs) -> PortResult:
        """`docker port`: one `GET /containers/{id}/json`, of which only `NetworkSettings.Ports` is kept.
        A named port that is not published is the CLI's error (`No public port '81' published for web`)."""
        mappings = port_mappings(self._call(lambda api: api.inspect_container(args.container)))
        if args.port is None:
            return PortResult(container=args.container, mappings=mappings)
        number, _, proto = args.port.partition("/")
        wanted = f"{number}/{proto or 'tcp'}"  # as typed, as the CLI looks it up: `080` is not `80`
        chosen = tuple(m for m in mappings if m.private == wanted)
        if not chosen:
            raise NotFound(f"No public port '{args.port}' published for {args.container}")
        return PortResult(container=args.container, mappings=chosen, private=wanted)

    def top(self, args: a.TopArgs) -> TopResult:
        """`docker top`: one `GET /containers/{id}/top`, with no `ps_args` ever (the engine would hand them to
        `ps` on its host)."""
        titles, processes = top_table(self._call(lambda api: api.top(args.container)))
        return TopResult(container=args.container, titles=titles, processes=processes)

    def history(self, args: a.HistoryArgs) -> HistoryResult:
        """`docker history`: the image resolved to its ID from the listing (as `inspect` does, so only an ID
        reaches the image path), then one `GET /images/{id}/history`."""
        image_id = self._image_id(args.image)
        rows = history_rows(self._call(lambda api: api.history(image_id)))
        return HistoryResult(
            image=args.image,
            rows=rows,
            now=time.time(),
            quiet=args.quiet,
            no_trunc=args.no_trunc,
            human=args.human,
        )

    def version(self, args: a.VersionArgs) -> VersionResult:
        """`docker version`."""
        server = self._call(lambda api: api.version())
        return VersionResult(client_version=__version__, server=server, format=args.format)

    def info(self, args: a.NoArgs) -> InfoResult:
        """`docker info`."""
        return InfoResult(data=self._call(lambda api: api.info()))

    def _compose_containers(self, project: str | None, *, all: bool) -> list[Any]:
        label = f"{PROJECT_LABEL}={project}" if project else PROJECT_LABEL
        raw = self._call(lambda api: api.containers(all=all, filters={"label": [label]})) or []
        # the label is checked again: an answer is not trusted to hold only what the filter asked for
        return [
            c
            for c in raw
            if PROJECT_LABEL in (labels := c.get("Labels") or {})
            and (project is None or labels[PROJECT_LABEL] == project)
            and str(labels.get(ONEOFF_LABEL, "False")).lower() != "true"
        ]

    def compose_ls(self, args: a.ComposeLsArgs) -> ComposeLsResult:
        """`docker compose ls`: projects grouped from one container listing by label."""
        grouped: dict[str, list[Any]] = {}
        for raw in self._compose_containers(None, all=True):
            grouped.setdefault(raw["Labels"][PROJECT_LABEL], []).append(raw)
        projects = []
        for name in sorted(grouped):
            rows = tuple(container_row(c) for c in grouped[name])
            if not args.all and not any(r.state == "running" for r in rows):
                continue
            files = sorted({r.labels.get(CONFIG_FILES_LABEL, "") for r in rows} - {""})
            projects.append(ComposeProject(name=name, containers=rows, config_files=",".join(files)))
        return ComposeLsResult(projects=tuple(projects), quiet=args.quiet)

    def compose_ps(self, args: a.ComposePsArgs) -> ComposePsResult:
        """`docker compose ps PROJECT`."""
        raw = self._compose_containers(args.project, all=args.all)
        if not raw and not self._compose_containers(args.project, all=True):
            known = sorted({c["Labels"][PROJECT_LABEL] for c in self._compose_containers(None, all=True)})
            hint = (
                f"projects on {self.name}: {', '.join(known)}"
                if known
                else f"no compose projects on {self.name}"
            )
            raise NotFound(f"no such compose project: {args.project}", hint=hint)
        rows = tuple(sorted((container_row(c) for c in raw), key=lambda r: r.name))
        return ComposePsResult(project=args.project, rows=rows, now=time.time(), quiet=args.quiet)


def _filters(filters: Mapping[str, tuple[str, ...]]) -> dict[str, list[str]] | None:
    return {key: list(values) for key, values in filters.items()} or None


def _since(value: str, zone: tzinfo) -> float:
    """`--since` (validated already) as Unix seconds."""
    return a.point_in_time(value, time.time(), zone)


def _api_time(seconds: float) -> str:
    """A Unix time as the Engine API's `since`/`until` take it: `<seconds>.<nanoseconds>`."""
    whole = math.floor(seconds)
    return f"{whole}.{min(999_999_999, round((seconds - whole) * 1e9)):09d}"


def _read_capped(chunks: Iterator[bytes], limit: int) -> bytes:
    out = bytearray()
    for chunk in chunks:
        out += chunk
        if len(out) >= limit:
            break
    close = getattr(chunks, "close", None)
    if callable(close):
        close()
    return bytes(out[-limit:])
