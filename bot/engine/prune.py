"""The prunes (`container`, `image`, `volume`, `network` and `system prune`), each with its planner.

A planner decides, with the daemon's own rules (`plans.py`), what the prune takes and what space it frees;
the prune then removes the planned objects one by one, by ID (volumes by the name the daemon listed): what
was confirmed is what goes, even if the host changed meanwhile. An object that changed since the plan
stays, with a note saying why. The result is a `PruneResult`: what went, per kind, and the space freed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from bot.commands import args as a
from bot.engine import plans
from bot.engine.base import EngineBase, bind_ref, of_kind
from bot.engine.convert import build_cache_row, container_row, df_items, image_removals, volume_row
from bot.errors import ChatOpsError, Conflict, EngineUnavailable, NotFound
from bot.models import ImageRemoved, Plan, PruneResult, Target


class Prunes(EngineBase):
    """The prunes of the `Engine`, with their planners."""

    def _df(self) -> dict[str, Any]:
        return dict(self._call(lambda api: api.df()) or {})

    def _api_version(self) -> str:
        return str(self._call(lambda api: api.api_version))

    def _remove_each(
        self, plan: Plan, kind: str, remove: Callable[[Target], Any]
    ) -> tuple[list[tuple[Target, Any]], list[str]]:
        """Remove each planned object of `kind`; (what went with the daemon's answer, a note for each that
        could not go: it changed since the plan, e.g. a container started meanwhile)."""
        removed: list[tuple[Target, Any]] = []
        kept: list[str] = []
        for target in of_kind(plan, kind):
            try:
                answer = remove(target)
            except EngineUnavailable:
                raise
            except NotFound:
                kept.append(f"{target.name}: already gone")
            except ChatOpsError as exc:
                kept.append(f"{target.name} was not removed: {exc.daemon_line}")
            else:
                removed.append((target, answer))
        return removed, kept

    def _by_id(self, act: Callable[[Any, str], Any]) -> Callable[[Target], Any]:
        """`act(api, ID)` for one target, as one Engine API call."""
        return lambda target: self._call(bind_ref(act, target.id))

    def _prune_containers(self, plan: Plan) -> tuple[tuple[str, ...], int, list[str]]:
        """The planned containers: (the IDs removed, their space, a note for each that stayed)."""
        remove = self._by_id(lambda api, cid: api.remove_container(cid))
        removed, kept = self._remove_each(plan, "container", remove)
        return tuple(t.id for t, _ in removed), sum(t.size or 0 for t, _ in removed), kept

    def _prune_networks(self, plan: Plan) -> tuple[tuple[str, ...], list[str]]:
        """The planned networks: (the names removed, a note for each that stayed)."""
        remove = self._by_id(lambda api, nid: api.remove_network(nid))
        removed, kept = self._remove_each(plan, "network", remove)
        return tuple(t.name for t, _ in removed), kept

    def _prune_volumes(self, plan: Plan) -> tuple[tuple[str, ...], int, list[str]]:
        """The planned volumes: (the names removed, their space, a note for each that stayed)."""
        remove = self._by_id(lambda api, name: api.remove_volume(name))
        removed, kept = self._remove_each(plan, "volume", remove)
        return tuple(t.name for t, _ in removed), sum(t.size or 0 for t, _ in removed), kept

    def _prune_images(self, plan: Plan) -> tuple[tuple[ImageRemoved, ...], int, list[str]]:
        """Each planned image by ID (its dangling parents go with it, as in a prune); an image with several
        tags is untagged tag by tag (each checked to still name it) until the last removal deletes it.
        (The daemon's records, the space of the images removed, a note for each that stayed.)"""
        removed, kept = self._remove_each(plan, "image", self._remove_image)
        records = tuple(record for _, answer in removed for record in image_removals(answer))
        return records, sum(t.size or 0 for t, _ in removed), kept

    def _remove_image(self, target: Target) -> list[Any]:
        try:
            return list(self._call(bind_ref(lambda api, iid: api.remove_image(iid), target.id)) or ())
        except Conflict:
            tags = [ref for ref, iid in self._image_references().items() if iid == target.id]
            users = self._call(
                lambda api: api.containers(all=True, quiet=True, filters={"ancestor": target.id})
            )
            if len(tags) < 2 or users:  # in use since the plan: untagging it would only strip its names
                raise
        answer: list[Any] = []
        for tag in tags:  # each one names the planned image right now (just listed)
            answer += self._call(bind_ref(lambda api, ref: api.remove_image(ref), tag)) or ()
        return answer

    def _prune_build_cache(self, plan: Plan) -> tuple[tuple[str, ...], int, list[str]]:
        """Each planned build-cache record by its ID (the builder's `id` filter); nothing when none was
        planned, so a plan without build-cache records never touches the cache. (The record IDs the builder
        deleted, the space it reclaimed, a note for each planned record that stayed.)"""
        deleted: list[str] = []
        kept: list[str] = []
        space = 0
        for target in of_kind(plan, "build-cache"):
            answer = self._call(
                bind_ref(lambda api, rid: api.prune_builds(filters={"id": [rid]}, all=True), target.id)
            )
            caches = [str(c) for c in (answer or {}).get("CachesDeleted") or ()]
            if not caches:
                kept.append(f"build cache {target.id}: already gone or in use")
            deleted += caches
            space += int((answer or {}).get("SpaceReclaimed") or 0)
        return tuple(deleted), space, kept

    def container_prune(self, args: a.ContainerPruneArgs, plan: Plan) -> PruneResult:
        """`docker container prune`: the planned stopped containers."""
        containers, space, notes = self._prune_containers(plan)
        if not containers and not notes:
            running = len(self._call(lambda api: api.containers(quiet=True)) or ())
            notes.append(f"only stopped containers are pruned; {running} running (or paused) here")
        return PruneResult("container prune", containers=containers, reclaimed=space, notes=tuple(notes))

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

    def image_prune(self, args: a.ImagePruneArgs, plan: Plan) -> PruneResult:
        """`docker image prune [-a]`: the planned images (dangling ones, or with -a every unused one)."""
        images, space, notes = self._prune_images(plan)
        unused_tagged = None
        if not images and not notes:
            unused_tagged = self._unused_tagged(args)
            if unused_tagged is None:
                notes.append(
                    "every image is used by a container (running or stopped) or kept by the filters"
                    if args.all
                    else "only dangling images are pruned without -a, and there are none; every image is "
                    "in use"
                )
        return PruneResult(
            "image prune", images=images, reclaimed=space, notes=tuple(notes), unused_tagged=unused_tagged
        )

    def _unused_tagged(self, args: a.ImagePruneArgs) -> tuple[int, int] | None:
        """(count, bytes) of the unused tagged images a prune without -a leaves and -a would take; None with
        -a, or when there are none (one `/system/df`)."""
        if args.all:
            return None
        with_all = self.plan_image_prune(args.model_copy(update={"all": True}))
        return (len(with_all.targets), with_all.reclaim or 0) if with_all.targets else None

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

    def volume_prune(self, args: a.VolumePruneArgs, plan: Plan) -> PruneResult:
        """`docker volume prune [-a]`: the planned unused volumes."""
        volumes, space, kept = self._prune_volumes(plan)
        notes = [*self._volume_notes(args.all), *kept]
        if not volumes and not kept:
            data = self._df()
            in_use = sum(1 for v in df_items(data, "Volumes", "VolumeUsage") if _ref_count(v) > 0)
            notes.append(
                f"volumes in use by a container (running or stopped) are never pruned: {in_use} in use"
            )
        return PruneResult("volume prune", volumes=volumes, reclaimed=space, notes=tuple(notes))

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

    def network_prune(self, args: a.NetworkPruneArgs, plan: Plan) -> PruneResult:
        """`docker network prune`: the planned networks (the daemon reports no space for networks)."""
        networks, notes = self._prune_networks(plan)
        if not networks and not notes:
            notes.append(
                "nothing to prune: the predefined networks (bridge, host, none) and networks a running "
                "container is attached to are never pruned"
            )
        return PruneResult("network prune", networks=networks, notes=tuple(notes))

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

    def system_prune(self, args: a.SystemPruneArgs, plan: Plan) -> PruneResult:
        """`docker system prune [-a] [--volumes]`: the planned containers, networks, volumes, images and
        build-cache records, in the daemon's order."""
        containers, space, notes = self._prune_containers(plan)
        networks, kept = self._prune_networks(plan)
        notes += kept
        volumes: tuple[str, ...] = ()
        if args.volumes:
            volumes, volume_space, kept = self._prune_volumes(plan)
            space += volume_space
            notes += [*self._volume_notes(args.all), *kept]
        images, image_space, kept = self._prune_images(plan)
        space += image_space
        notes += kept
        build_cache, cache_space, kept = self._prune_build_cache(plan)
        space += cache_space
        notes += kept
        return PruneResult(
            "system prune",
            containers=containers,
            networks=networks,
            volumes=volumes,
            images=images,
            build_cache=build_cache,
            reclaimed=space,
            notes=tuple(notes),
        )

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


def _ref_count(volume: Mapping[str, Any]) -> int:
    usage = volume.get("UsageData")
    return int(usage.get("RefCount") or 0) if isinstance(usage, Mapping) else 0


def _users_left(image_id: str, rows: Sequence[Any], pruned: set[str]) -> int:
    return sum(1 for r in rows if r.image_id == image_id and r.id not in pruned)
