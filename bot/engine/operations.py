"""The Docker operations: one method per command operation, each returning a result model.

Listings cost one Engine API call (no inspect per row). Methods are named after the CLI verbs and take the
validated argument models of `bot.commands.args` (plain data); they never format text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, tzinfo
from functools import partial
from typing import Any, TypeVar

from docker.utils import parse_repository_tag

from bot import __version__
from bot.commands import args as a
from bot.engine import plans
from bot.engine.convert import build_cache_row, container_row, df_items, image_row, volume_row
from bot.engine.hosts import LONG_CALL_DEADLINE, Host, HostClient, HostHealth, daemon_words
from bot.errors import ChatOpsError, Conflict, EngineUnavailable, NotFound, OperationFailed
from bot.models import (
    ActionResult,
    ComposeLsResult,
    ComposeProject,
    ComposePsResult,
    DiskUsageResult,
    ImagesResult,
    InfoResult,
    InspectKind,
    InspectResult,
    LogsResult,
    Plan,
    PsResult,
    Target,
    VersionResult,
    VolumesResult,
)
from bot.references import CONTAINER_NAME, VOLUME_NAME, parse_normalized_named
from bot.render.format import human_size

T = TypeVar("T")
PULL_PROGRESS_EVERY = 1.0  # seconds between two progress lines of `pull`
PROJECT_LABEL = "com.docker.compose.project"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
ONEOFF_LABEL = "com.docker.compose.oneoff"
MAX_LOG_BYTES = 2 * 1024 * 1024
DOCKER_STOP_WAIT = 10  # seconds: docker's default stop timeout, what docker-py waits for without -t


def _filters(filters: Mapping[str, tuple[str, ...]]) -> dict[str, list[str]] | None:
    return {key: list(values) for key, values in filters.items()} or None


class Engine:
    """The operations on one Docker host."""

    def __init__(self, host: Host, zone: tzinfo = UTC, *, health: HostHealth | None = None) -> None:
        self.host = host
        self.zone = zone  # where a typed time without an offset (`until=2024-05-01T10:00`) is read
        self.health = health or HostHealth(host)  # the host's circuit breaker; the router asks it too
        self._client = HostClient(host, self.health)

    @property
    def name(self) -> str:
        """The host's name, as replies show it."""
        return self.host.name

    def _call(self, fn: Callable[[Any], T], *, deadline: float | None = None, grace: float = 0.0) -> T:
        """`fn(api)` within a wall-clock `deadline` (default: the host's timeout) plus `grace` (a wait the
        daemon takes by design), through the host's circuit breaker; only our typed errors come out
        (`HostClient.call`)."""
        return self._client.call(fn, deadline, grace=grace)

    def ping(self) -> bool:
        """True when the engine answers; raises `EngineUnavailable` otherwise."""
        return bool(self._call(lambda api: api.ping()))

    def ps(self, args: a.PsArgs) -> PsResult:
        """`docker ps`: one `GET /containers/json`."""
        raw = self._call(
            lambda api: api.containers(
                all=args.all,
                limit=args.last,
                latest=args.latest,
                size=args.size,
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
        return VolumesResult(rows=tuple(volume_row(v) for v in data.get("Volumes") or ()), quiet=args.quiet)

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
            return InspectResult(kind=kind, data=data, now=time.time(), raw=args.raw_json)
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

    def version(self, args: a.NoArgs) -> VersionResult:
        """`docker version`."""
        return VersionResult(client_version=__version__, server=self._call(lambda api: api.version()))

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

    # ---- acting ----------------------------------------------------------------------------------------
    #
    # Every mutating operation takes the plan the policy saw and sends the Engine API only what that plan
    # resolved: full container, image, network and build-cache IDs, volume names as the daemon listed them,
    # and, for an image named by tag or digest, that tag or digest as the daemon lists it (checked against
    # the planned image ID right before it is sent). A reference that resolved to nothing is a `NotFound`
    # for that object and nothing is sent for it. Prunes remove the planned objects one by one: what was
    # confirmed is what goes, even if the host changed meanwhile.

    def _api_version(self) -> str:
        return str(self._call(lambda api: api.api_version))

    def _list_containers(self, *, all: bool = True, size: bool = False) -> list[dict[str, Any]]:
        return list(self._call(lambda api: api.containers(all=all, size=size)) or [])

    def _each_container(
        self,
        verb: str,
        plan: Plan,
        act: Callable[[Any, str], Any],
        grace: Callable[[str], float] | None = None,
    ) -> ActionResult:
        """Act on each container the plan resolved, by its full ID, as the CLI does: echo each reference that
        worked, collect the errors; a reference that named no container is reported, nothing sent for it.
        `grace(id)`: the seconds the daemon will wait on top of the call (asked right before it)."""
        done: list[str] = []
        errors: list[ChatOpsError] = []
        for target in _of_kind(plan, "container"):
            try:
                seconds = grace(target.id) if grace is not None else 0.0
                self._call(_bind_ref(act, target.id), grace=seconds)
            except EngineUnavailable:
                raise
            except ChatOpsError as exc:
                errors.append(exc)
            else:
                done.append(target.ref or target.name)
        errors += [NotFound(message) for message in plan.missing]
        return _finished(ActionResult(verb=verb, lines=tuple(done)), errors)

    def start(self, args: a.ContainersArgs, plan: Plan) -> ActionResult:
        """`docker start`."""
        return self._each_container("start", plan, lambda api, cid: api.start(cid))

    def stop(self, args: a.StopArgs, plan: Plan) -> ActionResult:
        """`docker stop [-t N]`. Without -t the daemon waits the container's own stop timeout, which
        docker-py takes for 10 s: the call is given what the daemon will really wait (`stop_grace`, read
        from the container right before), so a container slow to stop is not cut short."""
        if args.time is not None:  # docker-py adds -t to the request's wait itself
            return self._each_container("stop", plan, lambda api, cid: api.stop(cid, timeout=args.time))
        return self._each_container("stop", plan, lambda api, cid: api.stop(cid), grace=self._stop_grace)

    def _stop_grace(self, container_id: str) -> float:
        """The seconds the daemon waits for `container_id` to stop when no -t is sent (one inspect)."""
        config = self._call(lambda api: api.inspect_container(container_id)).get("Config") or {}
        return stop_grace(config.get("StopTimeout"))

    def restart(self, args: a.StopArgs, plan: Plan) -> ActionResult:
        """`docker restart [-t N]`."""

        # docker 20.10's CLI sends -t 10 unless told otherwise (docker-py cannot send "unset" here).
        seconds = args.time if args.time is not None else 10
        return self._each_container("restart", plan, lambda api, cid: api.restart(cid, timeout=seconds))

    def kill(self, args: a.KillArgs, plan: Plan) -> ActionResult:
        """`docker kill [-s SIGNAL]`."""
        return self._each_container("kill", plan, lambda api, cid: api.kill(cid, signal=args.signal))

    def pause(self, args: a.ContainersArgs, plan: Plan) -> ActionResult:
        """`docker pause`."""
        return self._each_container("pause", plan, lambda api, cid: api.pause(cid))

    def unpause(self, args: a.ContainersArgs, plan: Plan) -> ActionResult:
        """`docker unpause`."""
        return self._each_container("unpause", plan, lambda api, cid: api.unpause(cid))

    def rm(self, args: a.RmArgs, plan: Plan) -> ActionResult:
        """`docker rm [-f] [-v]` (with -v the daemon removes the container's anonymous volumes with it)."""
        return self._each_container(
            "rm", plan, lambda api, cid: api.remove_container(cid, v=args.volumes, force=args.force)
        )

    def _plan_containers(self, verb: str, args: a.ContainersArgs) -> Plan:
        """The containers an OPERATE command names, resolved with one listing call."""
        found, problems = plans.resolve_containers(self._list_containers(), args.containers)
        targets = tuple(plans.container_target(row, ref) for ref, row in found)
        notes = [f"{p} (docker will report it and go on with the others)" for p in problems]
        if verb in {"stop", "kill", "pause"}:
            idle = [row.name for _, row in found if row.state not in plans.RUNNING_STATES]
            if idle:
                notes.append(f"not running: {', '.join(idle)}")
        return Plan(
            command=verb,
            host=self.name,
            verb=verb,
            targets=targets,
            notes=tuple(notes),
            missing=tuple(problems),
        )

    def plan_start(self, args: a.ContainersArgs) -> Plan:
        """The containers `start` names."""
        return self._plan_containers("start", args)

    def plan_stop(self, args: a.StopArgs) -> Plan:
        """The containers `stop` names."""
        return self._plan_containers("stop", args)

    def plan_restart(self, args: a.StopArgs) -> Plan:
        """The containers `restart` names."""
        return self._plan_containers("restart", args)

    def plan_kill(self, args: a.KillArgs) -> Plan:
        """The containers `kill` names."""
        return self._plan_containers("kill", args)

    def plan_pause(self, args: a.ContainersArgs) -> Plan:
        """The containers `pause` names."""
        return self._plan_containers("pause", args)

    def plan_unpause(self, args: a.ContainersArgs) -> Plan:
        """The containers `unpause` names."""
        return self._plan_containers("unpause", args)

    def plan_rm(self, args: a.RmArgs) -> Plan:
        """The containers `rm` removes (a running one only with -f) and, with -v, their anonymous volumes."""
        raw = self._list_containers()
        by_id = {str(c.get("Id")): c for c in raw}
        found, problems = plans.resolve_containers(raw, args.containers)
        targets: list[Target] = []
        volumes: list[Target] = []
        notes = list(problems)
        for ref, row in found:
            if row.state in plans.RUNNING_STATES and not args.force:
                # still a target: the policy must see every object named, even one docker will refuse
                refused = f"{row.state}: docker refuses to remove it without -f (stop it first)"
                targets.append(replace(plans.container_target(row, ref), detail=refused))
                notes.append(f"{row.name} is {refused}")
                continue
            targets.append(plans.container_target(row, ref))
            if args.volumes:
                for name in plans.anonymous_volumes(by_id[row.id]):
                    volumes.append(Target("volume", name, name, detail=f"anonymous volume of {row.name}"))
        if args.volumes:
            notes.append("-v removes anonymous volumes only; named volumes stay")
        return Plan("rm", self.name, "rm", (*targets, *volumes), notes=tuple(notes), missing=tuple(problems))

    # ---- rmi ---------------------------------------------------------------------------------------------

    def _image_references(self) -> dict[str, str]:
        """Every tag and digest reference on the host → the ID of the image it names (one listing)."""
        refs: dict[str, str] = {}
        for raw in self._call(lambda api: api.images(all=True)) or ():
            row = image_row(raw)
            for ref in (*row.repo_tags, *row.repo_digests):
                if not ref.startswith("<none>"):  # `<none>:<none>` and `<none>@<none>` name nothing
                    refs[ref] = row.id
        return refs

    def rmi(self, args: a.RmiArgs, plan: Plan) -> ActionResult:
        """`docker rmi [-f] [--no-prune]`: the daemon's Untagged/Deleted lines; a conflict is explained."""
        lines: list[str] = []
        errors: list[ChatOpsError] = []
        images = _of_kind(plan, "image")
        current = self._image_references() if any(t.ref for t in images) else {}
        for target in images:
            # a tag or digest is sent only while it still names the planned image
            if target.ref and current.get(target.ref) != target.id:
                errors.append(
                    Conflict(
                        f"{target.ref} no longer names the image the plan showed ({target.id[7:19]}); "
                        "nothing was removed for it",
                        hint="run the command again for a fresh plan",
                    )
                )
                continue
            try:
                answer = self._call(
                    _bind_ref(
                        lambda api, ref: api.remove_image(ref, force=args.force, noprune=args.no_prune),
                        target.ref or target.id,
                    )
                )
            except EngineUnavailable:
                raise
            except Conflict as exc:
                errors.append(self._explain_image_conflict(target, exc))
            except ChatOpsError as exc:
                errors.append(exc)
            else:
                lines.extend(plans.image_delete_lines(answer or ()))
        errors += [NotFound(message) for message in plan.missing]
        return _finished(ActionResult(verb="rmi", lines=tuple(lines)), errors)

    def _explain_image_conflict(self, target: Target, exc: Conflict) -> Conflict:
        """Name the containers using the image and the way out (`stop C && rm C && rmi IMAGE`)."""
        image_id = target.id
        ref = target.name
        users = plans.users_of(image_id, [container_row(c) for c in self._list_containers()])
        if not users:
            return Conflict(
                exc.message,
                hint=f"the image {image_id[7:19]} has more than one tag: remove the tags one by one "
                f'("rmi TAG"), or use -f to remove them all',
            )
        running = [c.name for c in users if c.state in plans.RUNNING_STATES]
        steps = []
        if running:
            steps.append("stop " + " ".join(running))
        steps.append("rm " + " ".join(c.name for c in users))
        steps.append(f"rmi {ref}")
        remedy = " && ".join(steps)
        if running:
            blocking = (
                "a running container blocks the removal of its image; -f would only untag it, leaving a "
                "dangling <none> image whose layers stay on disk"
            )
        else:
            blocking = (
                "a stopped container still holds the image; -f would delete the image record, but its "
                "layers stay on disk as long as the container exists"
            )
        hint = f"{blocking}. Remove the containers first: {remedy}"
        message = f"{exc.message}\n{ref} ({image_id[7:19]}) is used by {plans.describe_users(users)}"
        return ImageInUse(message, hint=hint, remedy=remedy, containers=tuple(c.name for c in users))

    def plan_rmi(self, args: a.RmiArgs) -> Plan:
        """The images `rmi` deletes or only untags, with the containers using them (one images listing,
        one containers listing). A container's protection extends to its image (`held_by`)."""
        rows = [image_row(i) for i in self._call(lambda api: api.images(all=True)) or ()]
        containers = [container_row(c) for c in self._list_containers()]
        targets: list[Target] = []
        notes: list[str] = []
        missing: list[str] = []
        reclaim = 0
        for ref in args.images:
            row, how = plans.resolve_image(rows, ref)
            if row is None:
                notes.append(how)
                missing.append(how)
                continue
            users = plans.users_of(row.id, containers)
            running = [c for c in users if c.state in plans.RUNNING_STATES]
            tags = plans.tags_of(row)
            canonical = plans.canonical_reference(ref, how)
            others = [t for t in tags if t != canonical] + [d for d in row.repo_digests if d != canonical]
            used = f"; used by {plans.describe_users(users)}" if users else ""
            image = partial(_rmi_target, row, ref, canonical or "", users)

            if how == "tag" and others:
                targets.append(
                    image(size=None, detail=f"untag only (still {others[0]}){used}", untag_only=True)
                )
            elif users and not args.force:
                # still a target: the policy must see every image named, even one docker will refuse
                failing = f"will fail: used by {plans.describe_users(users)} (stop and rm them first)"
                targets.append(image(size=None, detail=failing))
                notes.append(f"{ref} {failing}")
            elif running and how == "id":
                failing = f"will fail: a running container uses it ({plans.describe_users(running)})"
                targets.append(image(size=None, detail=failing))
                notes.append(f"{ref} {failing}")
            elif running:
                targets.append(
                    image(
                        size=None,
                        detail=f"untag only: -f leaves a dangling <none> image{used}",
                        untag_only=True,
                    )
                )
            elif users:
                targets.append(
                    image(
                        size=None,
                        detail=f"delete the image record; its layers stay while its containers exist{used}",
                    )
                )
            else:
                size = plans.unique_size(row)
                reclaim += size
                shown = ", ".join(tags) or "<none>"
                targets.append(image(size=row.size, detail=f"delete (tags: {shown})"))
        if any(t.size is not None for t in targets):
            notes.append("space is approximate: layers shared with other images stay on disk")
        return Plan(
            "rmi",
            self.name,
            "rmi",
            tuple(targets),
            reclaim=reclaim,
            notes=tuple(notes),
            missing=tuple(missing),
        )

    # ---- prunes: the planned objects, one by one -----------------------------------------------------------

    def _df(self) -> dict[str, Any]:
        return dict(self._call(lambda api: api.df()) or {})

    def _remove_each(
        self, plan: Plan, kind: str, remove: Callable[[Target], Any]
    ) -> tuple[list[tuple[Target, Any]], list[str]]:
        """Remove each planned object of `kind`; (what went with the daemon's answer, a note for each that
        could not go: it changed since the plan, e.g. a container started meanwhile)."""
        removed: list[tuple[Target, Any]] = []
        kept: list[str] = []
        for target in _of_kind(plan, kind):
            try:
                answer = remove(target)
            except EngineUnavailable:
                raise
            except NotFound:
                kept.append(f"{target.name}: already gone")
            except ChatOpsError as exc:
                kept.append(f"{target.name} was not removed: {_daemon_line(exc)}")
            else:
                removed.append((target, answer))
        return removed, kept

    def _by_id(self, act: Callable[[Any, str], Any]) -> Callable[[Target], Any]:
        """`act(api, ID)` for one target, as one Engine API call."""
        return lambda target: self._call(_bind_ref(act, target.id))

    def _prune_containers(self, plan: Plan) -> tuple[list[str], int, list[str]]:
        remove = self._by_id(lambda api, cid: api.remove_container(cid))
        removed, kept = self._remove_each(plan, "container", remove)
        lines = plans.section("Deleted Containers:", [t.id for t, _ in removed])
        return lines, sum(t.size or 0 for t, _ in removed), kept

    def _prune_networks(self, plan: Plan) -> tuple[list[str], list[str]]:
        remove = self._by_id(lambda api, nid: api.remove_network(nid))
        removed, kept = self._remove_each(plan, "network", remove)
        return plans.section("Deleted Networks:", [t.name for t, _ in removed]), kept

    def _prune_volumes(self, plan: Plan) -> tuple[list[str], int, list[str]]:
        removed, kept = self._remove_each(
            plan, "volume", self._by_id(lambda api, name: api.remove_volume(name))
        )
        lines = plans.section("Deleted Volumes:", [t.name for t, _ in removed])
        return lines, sum(t.size or 0 for t, _ in removed), kept

    def _prune_images(self, plan: Plan) -> tuple[list[str], int, list[str]]:
        """Each planned image by ID (its dangling parents go with it, as in a prune); an image with several
        tags is untagged tag by tag (each checked to still name it) until the last removal deletes it."""
        removed, kept = self._remove_each(plan, "image", self._remove_image)
        lines = [line for _, answer in removed for line in plans.image_delete_lines(answer, prune=True)]
        return plans.section("Deleted Images:", lines), sum(t.size or 0 for t, _ in removed), kept

    def _remove_image(self, target: Target) -> list[Any]:
        try:
            return list(self._call(_bind_ref(lambda api, iid: api.remove_image(iid), target.id)) or ())
        except Conflict:
            tags = [ref for ref, iid in self._image_references().items() if iid == target.id]
            users = self._call(
                lambda api: api.containers(all=True, quiet=True, filters={"ancestor": target.id})
            )
            if len(tags) < 2 or users:  # in use since the plan: untagging it would only strip its names
                raise
        answer: list[Any] = []
        for tag in tags:  # each one names the planned image right now (just listed)
            answer += self._call(_bind_ref(lambda api, ref: api.remove_image(ref), tag)) or ()
        return answer

    def _prune_build_cache(self, plan: Plan) -> tuple[list[str], int, list[str]]:
        """Each planned build-cache record by its ID (the builder's `id` filter); nothing when none was
        planned, so a plan without build-cache records never touches the cache."""
        deleted: list[str] = []
        kept: list[str] = []
        space = 0
        for target in _of_kind(plan, "build-cache"):
            answer = self._call(
                _bind_ref(lambda api, rid: api.prune_builds(filters={"id": [rid]}, all=True), target.id)
            )
            caches = [str(c) for c in (answer or {}).get("CachesDeleted") or ()]
            if not caches:
                kept.append(f"build cache {target.id}: already gone or in use")
            deleted += caches
            space += int((answer or {}).get("SpaceReclaimed") or 0)
        return plans.section("Deleted build cache objects:", deleted), space, kept

    def container_prune(self, args: a.ContainerPruneArgs, plan: Plan) -> ActionResult:
        """`docker container prune`: the planned stopped containers."""
        lines, space, notes = self._prune_containers(plan)
        if not lines and not notes:
            running = len(self._call(lambda api: api.containers(quiet=True)) or ())
            notes.append(f"only stopped containers are pruned; {running} running (or paused) here")
        return _prune_result("container prune", lines, space, notes)

    def plan_container_prune(self, args: a.ContainerPruneArgs) -> Plan:
        """The stopped containers the prune takes, with their writable-layer sizes (one listing)."""
        now = time.time()
        raw = self._call(lambda api: api.containers(all=True, size=True)) or []
        rows = [container_row(c) for c in raw]
        chosen = [
            r
            for r in rows
            if r.state not in plans.RUNNING_STATES
            and plans.matches(args.filters, r.labels, r.created, now, self.zone)
        ]
        return Plan(
            "container prune",
            self.name,
            "prune",
            tuple(replace(plans.container_target(r), size=r.size_rw or 0) for r in chosen),
            reclaim=sum(r.size_rw or 0 for r in chosen),
            notes=tuple(plans.until_notes(args.filters, now, self.zone)),
        )

    def image_prune(self, args: a.ImagePruneArgs, plan: Plan) -> ActionResult:
        """`docker image prune [-a]`: the planned images (dangling ones, or with -a every unused one)."""
        lines, space, notes = self._prune_images(plan)
        if not lines and not notes:
            notes.append(self._why_no_images(args))
        return _prune_result("image prune", lines, space, notes)

    def _why_no_images(self, args: a.ImagePruneArgs) -> str:
        if args.all:
            return "every image is used by a container (running or stopped) or kept by the filters"
        with_all = self.plan_image_prune(args.model_copy(update={"all": True}))
        count = len(with_all.targets)
        if not count:
            return "only dangling images are pruned without -a, and there are none; every image is in use"
        return (
            f"only dangling images are pruned without -a; {count} unused tagged "
            f"image{'s' if count != 1 else ''} (about {human_size(with_all.reclaim or 0)}) would go with -a"
        )

    def plan_image_prune(self, args: a.ImagePruneArgs) -> Plan:
        """The images the prune takes (one `/system/df`: sizes, shared sizes and container counts)."""
        data = self._df()
        return self._image_prune_plan(data, all=args.all, filters=args.filters, command="image prune")

    def _image_prune_plan(
        self, data: Mapping[str, Any], *, all: bool, filters: a.Filters, command: str
    ) -> Plan:
        now = time.time()
        chosen = plans.prunable_images(
            df_items(data, "Images", "ImageUsage"), all=all, filters=filters, now=now, zone=self.zone
        )
        targets = tuple(
            plans.image_target(
                r, plans.image_name(r), plans.unique_size(r), ", ".join(plans.tags_of(r)) or "dangling"
            )
            for r in chosen
        )
        notes = [
            "space is approximate (like system df's RECLAIMABLE): each image's size less the layers it "
            "shares with other images",
            *plans.until_notes(filters, now, self.zone),
        ]
        if not all:
            notes.append("without -a only dangling (untagged) images are pruned")
        return Plan(
            command,
            self.name,
            "prune",
            targets,
            reclaim=sum(plans.unique_size(r) for r in chosen),
            notes=tuple(notes),
        )

    def volume_prune(self, args: a.VolumePruneArgs, plan: Plan) -> ActionResult:
        """`docker volume prune [-a]`: the planned unused volumes."""
        lines, space, kept = self._prune_volumes(plan)
        notes = [*self._volume_notes(args.all), *kept]
        if not lines and not kept:
            data = self._df()
            in_use = sum(1 for v in df_items(data, "Volumes", "VolumeUsage") if _ref_count(v) > 0)
            notes.append(
                f"volumes in use by a container (running or stopped) are never pruned: {in_use} in use"
            )
        return _prune_result("volume prune", lines, space, notes)

    def _volume_notes(self, all: bool) -> list[str]:
        version = self._api_version()
        if plans.api_at_least(version, (1, 42)):
            return [] if all else ["named volumes are kept without -a (only anonymous volumes are pruned)"]
        if all:
            return [f"-a changes nothing on this engine (API {version}): it prunes named volumes anyway"]
        return [f"this engine (API {version}) prunes every unused local volume, named ones too"]

    def plan_volume_prune(self, args: a.VolumePruneArgs) -> Plan:
        """The unused local volumes the prune takes, with sizes (one `/system/df`)."""
        return self._volume_plan(self._df(), args, args.all, "volume prune")

    def _volume_plan(
        self, data: Mapping[str, Any], args: a.VolumePruneArgs | a.SystemPruneArgs, all: bool, command: str
    ) -> Plan:
        anonymous_only = not all and plans.api_at_least(self._api_version(), (1, 42))
        filters = {k: v for k, v in args.filters.items() if k != "until"}
        chosen = []
        for raw in df_items(data, "Volumes", "VolumeUsage"):
            row = volume_row(raw)
            if row.driver != "local" or _ref_count(raw) != 0:
                continue
            if anonymous_only and "com.docker.volume.anonymous" not in row.labels:
                continue
            if plans.matches(filters, row.labels, 0.0, 0.0):
                chosen.append(row)
        targets = tuple(
            Target(
                "volume",
                v.name,
                v.name,
                dict(v.labels),
                v.size if v.size is not None and v.size >= 0 else None,
                "anonymous" if v.anonymous else "named",
            )
            for v in chosen
        )
        return Plan(
            command,
            self.name,
            "prune",
            targets,
            reclaim=sum(t.size or 0 for t in targets),
            notes=tuple(self._volume_notes(all)),
        )

    def network_prune(self, args: a.NetworkPruneArgs, plan: Plan) -> ActionResult:
        """`docker network prune`: the planned networks (the daemon reports no space for networks)."""
        lines, notes = self._prune_networks(plan)
        if not lines and not notes:
            notes.append(
                "nothing to prune: the predefined networks (bridge, host, none) and networks a running "
                "container is attached to are never pruned"
            )
        return ActionResult(
            verb="network prune", lines=tuple(lines[:-1] if lines else ()), notes=tuple(notes)
        )

    def plan_network_prune(self, args: a.NetworkPruneArgs) -> Plan:
        """Custom local networks without running containers (one networks, one running-containers listing)."""
        running = self._call(lambda api: api.containers(all=False)) or []
        return self._network_plan(running, args.filters, "network prune")

    def _network_plan(self, running: Sequence[Mapping[str, Any]], filters: a.Filters, command: str) -> Plan:
        now = time.time()
        networks = self._call(lambda api: api.networks()) or []
        attached = {
            str(n.get("NetworkID"))
            for c in running
            for n in ((c.get("NetworkSettings") or {}).get("Networks") or {}).values()
        }
        targets = []
        for net in networks:
            name = str(net.get("Name") or "")
            labels = {str(k): str(v) for k, v in (net.get("Labels") or {}).items()}
            if name in plans.PREDEFINED_NETWORKS or str(net.get("Scope") or "local") != "local":
                continue
            if str(net.get("Id")) in attached or net.get("Containers"):
                continue
            if not plans.matches(filters, labels, plans.parse_created(net.get("Created")), now, self.zone):
                continue
            targets.append(
                Target("network", str(net.get("Id")), name, labels, None, str(net.get("Driver") or ""))
            )
        notes = ("networks take no disk space", *plans.until_notes(filters, now, self.zone))
        return Plan(command, self.name, "prune", tuple(targets), notes=notes)

    def system_prune(self, args: a.SystemPruneArgs, plan: Plan) -> ActionResult:
        """`docker system prune [-a] [--volumes]`: the planned containers, networks, volumes, images and
        build-cache records, in the daemon's order."""
        lines, space, notes = self._prune_containers(plan)
        network_lines, kept = self._prune_networks(plan)
        lines += network_lines
        notes += kept
        if args.volumes:
            volume_lines, volume_space, kept = self._prune_volumes(plan)
            lines += volume_lines
            space += volume_space
            notes += [*self._volume_notes(args.all), *kept]
        image_lines, image_space, kept = self._prune_images(plan)
        lines += image_lines
        space += image_space
        notes += kept
        cache_lines, cache_space, kept = self._prune_build_cache(plan)
        lines += cache_lines
        space += cache_space
        notes += kept
        return _prune_result("system prune", lines, space, notes)

    def plan_system_prune(self, args: a.SystemPruneArgs) -> Plan:
        """The union of the prunes (one `/system/df`, one networks listing)."""
        now = time.time()
        data = self._df()
        containers = df_items(data, "Containers", "ContainerUsage")
        rows = [container_row(c) for c in containers]
        stopped = [
            r
            for r in rows
            if r.state not in plans.RUNNING_STATES
            and plans.matches(args.filters, r.labels, r.created, now, self.zone)
        ]
        targets: list[Target] = [plans.container_target(r) for r in stopped]
        reclaim = sum(r.size_rw or 0 for r in stopped)
        running = [c for c in containers if str(c.get("State")) in plans.RUNNING_STATES]
        networks = self._network_plan(running, args.filters, "system prune")
        targets += networks.targets
        notes: list[str] = list(plans.until_notes(args.filters, now, self.zone))
        if args.volumes:
            volumes = self._volume_plan(data, args, args.all, "system prune")
            targets += volumes.targets
            reclaim += volumes.reclaim or 0
            notes += volumes.notes
        # Images: containers pruned first free their images, so count those as unused too.
        pruned_ids = {r.id for r in stopped}
        images = [
            dict(i, Containers=_users_left(str(i.get("Id")), rows, pruned_ids))
            for i in df_items(data, "Images", "ImageUsage")
        ]
        image_plan = self._image_prune_plan(
            {"Images": images}, all=args.all, filters=args.filters, command="system prune"
        )
        targets += image_plan.targets
        reclaim += image_plan.reclaim or 0
        notes += [note for note in image_plan.notes if note not in notes]
        cache = [
            build_cache_row(b)
            for b in df_items(data, "BuildCache", "BuildCacheUsage")
            if not b.get("InUse") and (args.all or not b.get("Shared"))
        ]
        # Build cache belongs to no container: only a binding whose scope is everything (`*`) may prune it.
        targets += [Target("build-cache", b.id, b.id, {}, b.size, b.type) for b in cache]
        reclaim += sum(b.size for b in cache)
        return Plan("system prune", self.name, "prune", tuple(targets), reclaim=reclaim, notes=tuple(notes))

    # ---- pull --------------------------------------------------------------------------------------------

    def pull(
        self, args: a.PullArgs, plan: Plan, progress: Callable[[str], None] | None = None
    ) -> ActionResult:
        """`docker pull` of the reference the plan shows (checked against the distribution grammar; it goes
        as a query parameter, never in a path): streams the daemon's progress; `progress` hears a one-line
        status at most every `PULL_PROGRESS_EVERY` seconds. A registry error is `OperationFailed` with the
        registry's words."""
        repository, tag = parse_repository_tag(args.image)
        notes: list[str] = []
        if not tag:
            tag = "latest"
            notes.append("Using default tag: latest")
        shown = f"{repository}@{tag}" if tag.startswith("sha256:") else f"{repository}:{tag}"
        events: list[dict[str, Any]] = []

        def run(api: Any) -> None:
            layers: dict[str, tuple[int, int, str]] = {}
            last = 0.0
            for event in api.pull(repository, tag=tag, stream=True, decode=True):
                if event.get("error"):
                    detail = event.get("errorDetail") or {}
                    raise OperationFailed(
                        f"Error response from daemon: {detail.get('message') or event['error']}",
                        hint=f"pulling {shown} on host {self.name}",
                    )
                events.append(event)
                ident, status = str(event.get("id") or ""), str(event.get("status") or "")
                if ident and "Pulling from" not in status and status:
                    detail = event.get("progressDetail") or {}
                    current, total, _ = layers.get(ident, (0, 0, ""))
                    if status == "Downloading":
                        current, total = int(detail.get("current") or 0), int(detail.get("total") or total)
                    elif status in {"Download complete", "Pull complete", "Already exists", "Extracting"}:
                        current = max(current, total)
                    layers[ident] = (current, total, status)
                now = time.monotonic()
                if progress is not None and layers and now - last >= PULL_PROGRESS_EVERY:
                    last = now
                    progress(_pull_progress(shown, layers))

        try:
            self._call(run, deadline=LONG_CALL_DEADLINE)
        except (NotFound, OperationFailed) as exc:
            if daemon_words(exc.__cause__) is None:  # not the daemon's own words: already worded
                raise
            raise OperationFailed(_daemon_line(exc), hint=f"pulling {shown} on host {self.name}") from exc
        lines = plans.pull_status_lines(events)
        parsed = parse_normalized_named(shown)
        if parsed is not None:
            lines.append(
                f"{parsed.domain}/{parsed.path}" + (f"@{parsed.digest}" if parsed.digest else f":{tag}")
            )
        return ActionResult(verb="pull", lines=tuple(lines), notes=tuple(notes))

    def plan_pull(self, args: a.PullArgs) -> Plan:
        """The image reference `pull` fetches (no Docker call: there is nothing to resolve locally)."""
        return Plan("pull", self.name, "pull", (Target("image", "", args.image),))

    def close(self) -> None:
        """Close this thread's connection to the host."""
        self._client.close()


class ImageInUse(Conflict):
    """`rmi` refused because containers use the image: names them and carries the command that clears the way
    (`stop C && rm C && rmi IMAGE`) for a door to offer as a button."""

    def __init__(
        self, message: str, *, hint: str | None = None, remedy: str, containers: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message, hint=hint)
        self.remedy = remedy
        self.containers = containers


class PartialFailure(OperationFailed):
    """A command on several objects failed for some: like the Docker CLI, it went on with the others and
    fails at the end. `result` holds what was done, `errors` each failure; the message lists the failures as
    the CLI prints them (`Error response from daemon: No such container: x`)."""

    def __init__(self, result: ActionResult, errors: Sequence[ChatOpsError]) -> None:
        lines = [_daemon_line(e) for e in errors]
        hint = (
            f"{result.verb} done: {', '.join(result.lines)}"
            if result.lines and result.verb != "rmi"
            else None
        )
        if result.verb == "rmi" and result.lines:
            hint = "done: " + "; ".join(result.lines)
        super().__init__("\n".join(lines), hint=hint)
        self.result = result
        self.errors = tuple(errors)
        # The first image conflict's way out (see ImageInUse), so a door can still offer it as a button.
        self.remedy = next((e.remedy for e in errors if isinstance(e, ImageInUse)), None)


def _daemon_line(error: ChatOpsError) -> str:
    """The CLI's wording: `Error response from daemon: <the daemon's message>`."""
    message = daemon_words(error.__cause__) or error.message
    return message if message.startswith("Error response") else f"Error response from daemon: {message}"


def stop_grace(stop_timeout: object) -> float:
    """How long the daemon waits for a container to stop on its own when no -t is sent: its `StopTimeout`
    (docker-py's 10 s when unset, never less), a negative one (wait for ever) bounded by the longest -t the
    bot accepts."""
    if not isinstance(stop_timeout, int) or isinstance(stop_timeout, bool):
        return float(DOCKER_STOP_WAIT)
    if stop_timeout < 0:
        return float(a.MAX_STOP_SECONDS)
    return float(min(max(stop_timeout, DOCKER_STOP_WAIT), a.MAX_STOP_SECONDS))


def _bind_ref(act: Callable[[Any, str], T], ref: str) -> Callable[[Any], T]:
    return lambda api: act(api, ref)


def _rmi_target(
    row: Any,
    ref: str,
    canonical: str,
    users: Sequence[Any],
    *,
    size: int | None,
    detail: str,
    untag_only: bool = False,
) -> Target:
    """An image `rmi` names: shown as typed, sent as `canonical` (or its ID), held by its containers; a
    change that only untags reaches that one tag, any other every tag of the image."""
    target = replace(
        plans.image_target(row, ref, size, detail),
        ref=canonical,
        held_by=tuple(plans.container_target(c) for c in users),
    )
    return replace(target, aliases=(canonical,)) if untag_only and canonical else target


def _of_kind(plan: Plan, kind: str) -> list[Target]:
    return [target for target in plan.targets if target.kind == kind]


def _finished(result: ActionResult, errors: Sequence[ChatOpsError]) -> ActionResult:
    """The result when everything worked; else the one error (nothing done) or a `PartialFailure`."""
    if len(errors) == 1 and not result.lines:
        raise errors[0]
    if errors:
        raise PartialFailure(result, errors)
    return result


def _prune_result(verb: str, lines: list[str], space: int, notes: list[str]) -> ActionResult:
    """Prune output: the sections, then `Total reclaimed space: 964MB` (go-units HumanSize, 4 digits)."""
    return ActionResult(
        verb=verb,
        lines=(*lines, f"Total reclaimed space: {human_size(space)}"),
        notes=tuple(notes),
        reclaimed=space,
    )


def _ref_count(volume: Mapping[str, Any]) -> int:
    usage = volume.get("UsageData")
    return int(usage.get("RefCount") or 0) if isinstance(usage, Mapping) else 0


def _users_left(image_id: str, rows: Sequence[Any], pruned: set[str]) -> int:
    return sum(1 for r in rows if r.image_id == image_id and r.id not in pruned)


def _pull_progress(shown: str, layers: Mapping[str, tuple[int, int, str]]) -> str:
    """`Pulling app:1.0: 3/5 layers, 12.3MB/40.1MB`."""
    done = sum(1 for _, _, status in layers.values() if status in {"Pull complete", "Already exists"})
    current = sum(c for c, _, _ in layers.values())
    total = sum(t for _, t, _ in layers.values())
    sizes = f", {human_size(current, 3)}/{human_size(total, 3)}" if total else ""
    return f"Pulling {shown}: {done}/{len(layers)} layers{sizes}"


def _since(value: str, zone: tzinfo) -> float:
    """`--since` (validated already) as Unix seconds."""
    return a.point_in_time(value, time.time(), zone)


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
