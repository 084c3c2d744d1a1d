"""The container verbs (`start`, `stop`, `restart`, `kill`, `pause`, `unpause`, `rm`) and `rmi`, each with
its planner.

A planner resolves what the command names with one or two listings and returns the `Plan` the policy and
the confirmation see. The action then sends the Engine API only what that plan resolved: full container and
image IDs, and, for an image named by tag or digest, that tag or digest as the daemon lists it (checked
against the planned image ID right before it is sent). A reference that resolved to nothing is a `NotFound`
for that object and nothing is sent for it. Like the Docker CLI, a verb on several objects goes on past a
failure and fails at the end (`PartialFailure`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

from bot.commands import args as a
from bot.engine import plans
from bot.engine.base import EngineBase, bind_ref, of_kind
from bot.engine.convert import container_row, image_removals, image_row
from bot.errors import ChatOpsError, Conflict, EngineUnavailable, ImageInUse, NotFound, PartialFailure
from bot.models import ActionResult, ImageRemoved, Plan, RmiResult, Target

DOCKER_STOP_WAIT = 10  # seconds: docker's default stop timeout, what docker-py waits for without -t
Done = TypeVar("Done", ActionResult, RmiResult)


class Actions(EngineBase):
    """The container verbs and `rmi` of the `Engine`, with their planners."""

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
        for target in of_kind(plan, "container"):
            try:
                seconds = grace(target.id) if grace is not None else 0.0
                self._call(bind_ref(act, target.id), grace=seconds)
            except EngineUnavailable:
                raise
            except ChatOpsError as exc:
                errors.append(exc)
            else:
                done.append(target.ref or target.name)
        errors += [NotFound(message) for message in plan.missing]
        return _finished(ActionResult(verb=verb, done=tuple(done)), done, errors)

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
        signal = plan.signal or args.signal  # the confirmed plan's signal
        return self._each_container("kill", plan, lambda api, cid: api.kill(cid, signal=signal))

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
        """The containers `kill` names, and the signal it sends them."""
        return replace(self._plan_containers("kill", args), signal=args.signal)

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
                target = plans.container_target(row, ref)
                targets.append(
                    replace(target, detail=refused, fails=refused, remedy=f"stop {ref} && rm {ref}")
                )
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

    def rmi(self, args: a.RmiArgs, plan: Plan) -> RmiResult:
        """`docker rmi [-f] [--no-prune]`: the daemon's Untagged/Deleted records; a conflict is explained."""
        removed: list[ImageRemoved] = []
        errors: list[ChatOpsError] = []
        images = of_kind(plan, "image")
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
                    bind_ref(
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
                removed.extend(image_removals(answer))
        errors += [NotFound(message) for message in plan.missing]
        return _finished(RmiResult(removed=tuple(removed)), removed, errors)

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
        remedy = plans.image_remedy(users, ref)
        hint = f"{plans.image_blocking(bool(running))}. Remove the containers first: {remedy}"
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
                why = f"{failing}: {plans.image_blocking(bool(running))}"
                remedy = plans.image_remedy(users, ref)
                targets.append(replace(image(size=None, detail=failing), fails=why, remedy=remedy))
                notes.append(f"{ref} {failing}")
            elif running and how == "id":
                failing = f"will fail: a running container uses it ({plans.describe_users(running)})"
                why = f"{failing}: {plans.image_blocking(True)}"
                remedy = plans.image_remedy(users, ref)
                targets.append(replace(image(size=None, detail=failing), fails=why, remedy=remedy))
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


def stop_grace(stop_timeout: object) -> float:
    """How long the daemon waits for a container to stop on its own when no -t is sent: its `StopTimeout`
    (docker-py's 10 s when unset, never less), a negative one (wait for ever) bounded by the longest -t the
    bot accepts."""
    if not isinstance(stop_timeout, int) or isinstance(stop_timeout, bool):
        return float(DOCKER_STOP_WAIT)
    if stop_timeout < 0:
        return float(a.MAX_STOP_SECONDS)
    return float(min(max(stop_timeout, DOCKER_STOP_WAIT), a.MAX_STOP_SECONDS))


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


def _finished(result: Done, done: Sequence[object], errors: Sequence[ChatOpsError]) -> Done:
    """The result when everything worked; else the one error (nothing `done`) or a `PartialFailure`."""
    if len(errors) == 1 and not done:
        raise errors[0]
    if errors:
        raise PartialFailure(result, errors)
    return result
