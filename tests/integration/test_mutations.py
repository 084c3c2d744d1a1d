"""The mutating operations on the real engine: each does what the Docker CLI does (checked with inspect), and
every plan names exactly what then goes (checked against the engine's listings before and after).

Everything here is made with a unique name prefix and a unique label (`ctest.scratch=<hex>`); every prune runs
with `--filter label=ctest.scratch=<hex>`, so nothing outside this test's own objects is ever touched on a
shared engine.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import time
from collections.abc import Callable

import docker
import docker.errors
import pytest
from local_registry import free_port, unique_layer_image

from bot.commands import parse
from bot.commands.args import PullArgs
from bot.engine import Engine
from bot.errors import Conflict, ImageInUse, NotFound, OperationFailed, PartialFailure
from bot.render.actions import notes_of, render_pull_progress
from bot.render.format import human_size
from bot.router.authorize import Authorizer

from .world import SLEEP, Scratch, command, ids_of, lines, plan_of, run, state


def _in_ci() -> bool:
    return os.environ.get("CI") == "true"


# ---- start / stop / restart / kill / pause / unpause --------------------------------------------------


def test_container_lifecycle_like_the_cli(engine: Engine, scratch: Scratch) -> None:
    """Each verb echoes the containers as typed and leaves them in the state `docker <verb>` would."""
    api = scratch.api
    a = scratch.container("a", start=False)
    b = scratch.container("b", start=False)
    b_id = api.inspect_container(b)["Id"]

    assert lines(run(engine, f"start {a} {b_id[:12]}")) == (a, b_id[:12])
    assert state(api, a)["Running"]
    assert state(api, b)["Running"]

    assert lines(run(engine, f"pause {a}")) == (a,)
    assert state(api, a)["Paused"]
    assert lines(run(engine, f"container unpause {a}")) == (a,)
    assert not state(api, a)["Paused"]

    started = state(api, a)["StartedAt"]
    assert lines(run(engine, f"restart -t 0 {a}")) == (a,)
    assert state(api, a)["Running"]
    assert state(api, a)["StartedAt"] != started

    assert lines(run(engine, f"stop -t 0 {a} {b}")) == (a, b)
    assert not state(api, a)["Running"]
    assert state(api, b)["ExitCode"] == 137  # sleep ignores nothing: -t 0 means SIGKILL at once

    run(engine, f"start {a}")
    assert lines(run(engine, f"kill {a}")) == (a,)
    assert state(api, a)["ExitCode"] == 137

    trapper = scratch.container("trap", ["sh", "-c", "trap 'exit 42' HUP; while :; do sleep 0.1; done"])
    time.sleep(0.3)  # let the shell install its trap
    assert lines(run(engine, f"container kill -s hup {trapper}")) == (trapper,)
    api.wait(trapper, timeout=10)
    assert state(api, trapper)["ExitCode"] == 42


def test_a_missing_container_is_reported_and_the_others_still_act(engine: Engine, scratch: Scratch) -> None:
    """Like `docker stop a nope b`: a and b stop, the missing one is reported as the daemon words it, and
    the command fails at the end. Alone, a missing container is a plain NotFound."""
    a, b = scratch.container("a"), scratch.container("b")
    missing = scratch.prefix + "nope"
    with pytest.raises(PartialFailure) as caught:
        run(engine, f"stop -t 0 {a} {missing} {b}")
    assert caught.value.message == f"Error response from daemon: No such container: {missing}"
    assert lines(caught.value.result) == (a, b)
    assert not state(scratch.api, a)["Running"]
    assert not state(scratch.api, b)["Running"]
    with pytest.raises(NotFound, match=f"No such container: {missing}"):
        run(engine, f"start {missing}")


def test_operate_plans_resolve_names_and_id_prefixes(engine: Engine, scratch: Scratch) -> None:
    """The plan of `stop`/`kill` names the real containers (id, name, labels, status) for the policy."""
    a = scratch.container("a", labels={"team": "payments"})
    b = scratch.exited("b")
    a_id = scratch.api.inspect_container(a)["Id"]
    plan = plan_of(engine, f"stop {a_id[:10]} {b} {scratch.prefix}ghost")
    assert [(t.kind, t.id, t.name) for t in plan.targets] == [
        ("container", a_id, a),
        ("container", scratch.api.inspect_container(b)["Id"], b),
    ]
    assert plan.targets[0].labels["team"] == "payments"
    assert plan.targets[0].detail.startswith("Up ")
    assert any("No such container" in note for note in plan.notes)
    assert any(f"not running: {b}" in note for note in plan.notes)
    assert plan_of(engine, f"kill {a}").verb == "kill"
    assert Authorizer.plan(engine, command("ps")[0]) is None


# ---- rm -------------------------------------------------------------------------------------------------


def test_rm_plan_equals_what_goes(engine: Engine, scratch: Scratch) -> None:
    """`rm -v`: the stopped container and its anonymous volume go; a running one needs -f (plan says so)."""
    api = scratch.api
    stopped = scratch.exited("stopped", volumes=["/data"])
    running = scratch.container("running")
    (volume,) = [m["Name"] for m in api.inspect_container(stopped)["Mounts"] if m["Type"] == "volume"]
    scratch.volumes.append(volume)

    plan = plan_of(engine, f"rm -v {stopped} {running}")
    stopped_id, running_id = api.inspect_container(stopped)["Id"], api.inspect_container(running)["Id"]
    # the running one is still a target (the policy must see it), marked as what docker will refuse
    assert ids_of(plan, "container") == {stopped_id, running_id}
    refused = {t.id for t in plan.targets if "refuses" in t.detail}
    assert refused == {running_id}
    assert ids_of(plan, "volume") == {volume}
    assert any(f"{running} is running" in note for note in plan.notes)

    before = scratch.container_ids()
    volumes_before = {v["Name"] for v in api.volumes()["Volumes"] or ()}
    with pytest.raises(PartialFailure, match="You cannot remove a running container") as caught:
        run(engine, f"rm -v {stopped} {running}")  # Docker removes `stopped`, refuses `running`
    assert lines(caught.value.result) == (stopped,)
    assert isinstance(caught.value.errors[0], Conflict)
    gone = before - scratch.container_ids()
    assert gone == ids_of(plan, "container") - refused
    assert volumes_before - {v["Name"] for v in api.volumes()["Volumes"] or ()} == {volume}

    plan = plan_of(engine, f"rm -f {running}")
    assert ids_of(plan, "container") == {api.inspect_container(running)["Id"]}
    assert lines(run(engine, f"container rm -f {running}")) == (running,)
    assert scratch.container_ids() == set()


# ---- rmi ------------------------------------------------------------------------------------------------


def test_rmi_untags_then_deletes_like_the_cli(engine: Engine, scratch: Scratch) -> None:
    """An image with two tags: the first `rmi` only untags (plan: untag only), the last one deletes."""
    source = scratch.exited("source")
    repo = f"{scratch.prefix}app"
    image_id = scratch.commit(source, repo, "1.0")
    scratch.api.tag(image_id, repo, "latest")

    plan = plan_of(engine, f"rmi {repo}:1.0")
    (target,) = plan.targets
    assert (target.id, target.size) == (image_id, None)
    assert target.detail.startswith("untag only")
    assert lines(run(engine, f"rmi {repo}:1.0")) == (f"Untagged: {repo}:1.0",)
    assert scratch.api.inspect_image(image_id)["RepoTags"] == [f"{repo}:latest"]

    plan = plan_of(engine, f"image rm {repo}")
    (target,) = plan.targets
    assert target.id == image_id
    assert target.size is not None
    result = run(engine, f"image rm {repo}")
    assert lines(result)[0] == f"Untagged: {repo}:latest"
    assert f"Deleted: {image_id}" in lines(result)
    assert image_id not in scratch.image_ids()


def test_rmi_conflicts_name_the_containers_and_the_way_out(engine: Engine, scratch: Scratch) -> None:
    """A running user, then a stopped one: ImageInUse names them with their state and the remedy; `-f`
    only untags, leaving a dangling image while the container lives; the remedy then works."""
    api = scratch.api
    source = scratch.exited("source")
    ref = f"{scratch.prefix}app:1.0"
    image_id = scratch.commit(source, f"{scratch.prefix}app", "1.0")
    user = scratch.container("user", labels={}, start=False)
    api.remove_container(user)
    api.create_container(ref, SLEEP, name=user, labels=scratch.labels)
    api.start(user)

    plan = plan_of(engine, f"rmi {ref}")
    # still a target (the policy must see every image named), marked as what will fail
    assert [t.detail.split(":")[0] for t in plan.targets] == ["will fail"]
    assert any(f"{user} (running)" in note for note in plan.notes)
    with pytest.raises(ImageInUse) as caught:
        run(engine, f"rmi {ref}")
    error = caught.value
    assert error.containers == (user,)
    assert f"{user} (running)" in error.message
    assert error.remedy == f"stop {user} && rm {user} && rmi {ref}"
    assert error.hint is not None
    assert "running container blocks" in error.hint
    assert "-f would only untag" in error.hint

    # -f with a running user only untags: the image stays, dangling, while the container runs.
    plan = plan_of(engine, f"rmi -f {ref}")
    assert [t.detail.split(";")[0] for t in plan.targets] == ["untag only: -f leaves a dangling <none> image"]
    assert lines(run(engine, f"rmi -f {ref}")) == (f"Untagged: {ref}",)
    assert api.inspect_image(image_id)["RepoTags"] == []
    (dangling,) = parse("images -f dangling=true")
    assert image_id in {row.id for row in engine.images(dangling.args).rows}  # what -f left behind
    api.tag(image_id, f"{scratch.prefix}app", "1.0")

    api.stop(user, timeout=0)
    with pytest.raises(ImageInUse) as caught:
        run(engine, f"rmi {ref}")
    assert f"{user} (exited)" in caught.value.message
    assert caught.value.remedy == f"rm {user} && rmi {ref}"
    assert caught.value.hint is not None
    assert "stopped container still holds" in caught.value.hint

    # The remedy, run through the engine as the door's button would.
    for step in caught.value.remedy.split(" && "):
        run(engine, step)
    assert image_id not in scratch.image_ids()


# ---- prunes ---------------------------------------------------------------------------------------------


def test_container_prune_plan_equals_what_goes(engine: Engine, scratch: Scratch) -> None:
    """Stopped (exited, created) containers go with their writable layers; running and paused stay."""
    api = scratch.api
    exited = scratch.container("exited", ["sh", "-c", "echo x > /tmp/f"])
    api.wait(exited, timeout=30)
    created = scratch.container("created", start=False)
    scratch.container("running")
    paused = scratch.container("paused")
    api.pause(paused)

    text = f"container prune -f --filter label={scratch.label}"
    plan = plan_of(engine, text)
    assert {t.name for t in plan.targets} == {exited, created}
    before = scratch.container_ids()
    result = run(engine, text)
    gone = before - scratch.container_ids()
    assert gone == ids_of(plan, "container")
    assert lines(result)[0] == "Deleted Containers:"
    assert set(lines(result)[1:-2]) == gone
    assert result.reclaimed == plan.reclaim
    assert lines(result)[-1] == f"Total reclaimed space: {human_size(plan.reclaim or 0)}"

    again = run(engine, text)
    assert lines(again) == ("Total reclaimed space: 0B",)
    assert any("only stopped containers are pruned" in note for note in again.notes)
    api.unpause(paused)


def test_image_prune_dangling_then_all(engine: Engine, scratch: Scratch) -> None:
    """Without -a only dangling images go, and a 0 B answer says what -a would take; with -a every unused
    image goes; an image a container uses never does. Plans match the deletions."""
    api = scratch.api
    source = scratch.exited("source")
    dangling = scratch.commit(source)
    unused = scratch.commit(source, f"{scratch.prefix}unused", "1")
    used = scratch.commit(source, f"{scratch.prefix}used", "1")
    api.create_container(used, SLEEP, name=f"{scratch.prefix}user", labels=scratch.labels)

    text = f"image prune --filter label={scratch.label}"
    plan = plan_of(engine, text)
    assert ids_of(plan, "image") == {dangling}
    before = scratch.image_ids()
    result = run(engine, text)
    assert before - scratch.image_ids() == {dangling}
    assert lines(result)[:2] == ("Deleted Images:", f"deleted: {dangling}")

    again = run(engine, text)
    assert lines(again) == ("Total reclaimed space: 0B",)
    assert any("1 unused tagged image" in note and "-a" in note for note in notes_of(again)), again

    text_all = f"image prune -a --filter label={scratch.label}"
    plan = plan_of(engine, text_all)
    assert ids_of(plan, "image") == {unused}
    result = run(engine, text_all)
    assert before - {dangling} - scratch.image_ids() == {unused}
    assert f"untagged: {scratch.prefix}unused:1" in lines(result)
    assert f"deleted: {unused}" in lines(result)
    assert used in scratch.image_ids()


def test_volume_prune_on_this_engine(engine: Engine, scratch: Scratch) -> None:
    """API < 1.42 (Engine 20.10): every unused local volume goes, named or anonymous, and -a changes
    nothing; from 1.42 only anonymous ones unless -a. Volumes in use (even by a stopped container) stay."""
    api = scratch.api
    named = scratch.volume("named")
    anonymous = scratch.volume()
    in_use = scratch.volume("in-use")
    scratch.exited("holder", host_config=api.create_host_config(binds={in_use: {"bind": "/v", "mode": "rw"}}))
    modern = tuple(int(p) for p in api.api_version.split(".")) >= (1, 42)

    text = f"volume prune --filter label={scratch.label}"
    plan = plan_of(engine, text)
    if modern:
        assert ids_of(plan, "volume") == set()  # our anonymous one has no anonymous label
    else:
        assert ids_of(plan, "volume") == {named, anonymous}
        assert any("prunes every unused local volume" in note for note in plan.notes)
        plan_all = plan_of(engine, text.replace("prune", "prune -a"))
        assert ids_of(plan_all, "volume") == {named, anonymous}
        assert any("-a changes nothing" in note for note in plan_all.notes)

    before = scratch.volume_names()
    result = run(engine, text)
    assert before - scratch.volume_names() == ids_of(plan, "volume")
    if not modern:
        assert lines(result)[0] == "Deleted Volumes:"
        assert set(lines(result)[1:-2]) == {named, anonymous}

    again = run(engine, text + (" -a" if modern else ""))
    if not modern:
        assert lines(again) == ("Total reclaimed space: 0B",)
        assert any("never pruned: " in note for note in again.notes)
    assert in_use in scratch.volume_names()


def test_network_prune_takes_networks_without_running_containers(engine: Engine, scratch: Scratch) -> None:
    """A network with only a stopped container attached is pruned too (no endpoints): the plan says so;
    one with a running container stays; the answer lists names and no space."""
    api = scratch.api
    empty = scratch.network("empty")
    idle = scratch.network("idle")
    busy = scratch.network("busy")
    scratch.container("stopped", start=False, host_config=api.create_host_config(network_mode=idle))
    scratch.container("running", host_config=api.create_host_config(network_mode=busy))

    text = f"network prune --filter label={scratch.label}"
    plan = plan_of(engine, text)
    assert ids_of(plan, "network") == {empty, idle}
    before = scratch.network_ids()
    result = run(engine, text)
    assert before - scratch.network_ids() == {empty, idle}
    assert lines(result)[0] == "Deleted Networks:"
    assert set(lines(result)[1:]) == {scratch.prefix + "empty", scratch.prefix + "idle"}
    assert result.reclaimed is None
    again = run(engine, text)
    assert lines(again) == ()
    assert again.notes


def test_system_prune_plan_is_the_union_of_what_goes(engine: Engine, scratch: Scratch) -> None:
    """Stopped containers, unused networks, volumes (--volumes) and images (-a) in one go, as planned; the
    image of a container pruned in the same run counts as unused."""
    api = scratch.api
    source = scratch.exited("source")
    image = scratch.commit(source, f"{scratch.prefix}app", "1")
    api.create_container(image, ["true"], name=f"{scratch.prefix}from-app", labels=scratch.labels)
    network = scratch.network("net")
    volume = scratch.volume("vol")
    running = scratch.container("running")

    text = f"system prune -a --volumes --filter label={scratch.label}"
    plan = plan_of(engine, text)
    stopped = scratch.container_ids() - {api.inspect_container(running)["Id"]}
    assert ids_of(plan, "container") == stopped
    assert ids_of(plan, "network") == {network}
    assert ids_of(plan, "volume") == {volume}
    assert ids_of(plan, "image") == {image}

    result = run(engine, text)
    assert scratch.container_ids() == {api.inspect_container(running)["Id"]}
    assert scratch.network_ids() == set()
    assert scratch.volume_names() == set()
    assert image not in scratch.image_ids()
    headers = [line for line in lines(result) if line.startswith("Deleted ")]
    assert headers == ["Deleted Containers:", "Deleted Networks:", "Deleted Volumes:", "Deleted Images:"]
    assert lines(result)[-1].startswith("Total reclaimed space: ")


# ---- pull from a real local registry --------------------------------------------------------------------


def test_pull_from_a_local_registry(
    engine: Engine, docker_api: docker.APIClient, registry: str, unique_name: Callable[[str], str]
) -> None:
    """Push a fresh image to the registry, remove it locally, pull it back through the engine: the CLI's
    final lines, throttled progress lines, and the image is back under its reference."""
    ref = f"{registry}/{unique_name('pull')}/app:1.0"
    image_id = unique_layer_image(docker_api, ref)
    try:
        repository, tag = ref.rsplit(":", 1)
        for event in docker_api.push(repository, tag=tag, stream=True, decode=True):
            assert "error" not in event, event
        docker_api.remove_image(ref)
        with pytest.raises(docker.errors.ImageNotFound):
            docker_api.inspect_image(ref)

        calls: list[tuple[float, str]] = []
        _, args = command(f"pull {ref}")
        assert isinstance(args, PullArgs)
        started = time.monotonic()
        result = engine.pull(
            args,
            plan_of(engine, f"pull {ref}"),
            progress=lambda now: calls.append((time.monotonic(), render_pull_progress(now))),
        )
        elapsed = time.monotonic() - started

        assert lines(result)[0] == f"1.0: Pulling from {repository.split('/', 1)[1]}"
        assert any(line.endswith(": Pull complete") for line in lines(result))
        assert any(line.startswith("Digest: sha256:") for line in lines(result))
        assert f"Status: Downloaded newer image for {ref}" in lines(result)
        assert lines(result)[-1] == ref
        assert calls
        assert calls[0][1].startswith(f"Pulling {ref}: ")
        assert "layers" in calls[0][1]
        assert len(calls) <= elapsed / 1.0 + 1
        assert all(b[0] - a[0] >= 0.99 for a, b in itertools.pairwise(calls))
        assert docker_api.inspect_image(ref)["RepoTags"] == [ref]

        again = run(engine, f"image pull {ref}")
        assert f"Status: Image is up to date for {ref}" in lines(again)
    finally:
        with contextlib.suppress(docker.errors.APIError):
            docker_api.remove_image(ref, force=True)
        with contextlib.suppress(docker.errors.APIError):
            docker_api.remove_image(image_id, force=True)


def test_pull_errors_carry_the_registrys_words(engine: Engine, registry: str) -> None:
    """An unknown repository on the registry, and a registry that is not there: OperationFailed."""
    with pytest.raises(OperationFailed, match=r"Error response from daemon: .*(manifest unknown|not found)"):
        run(engine, f"pull {registry}/ctest-{secrets.token_hex(4)}/nothing:1")
    with pytest.raises(OperationFailed, match=r"connection refused|dial tcp"):
        run(engine, f"pull 127.0.0.1:{free_port()}/ctest/nothing:1")


def test_rmi_force_with_a_stopped_user_deletes_the_record_only(engine: Engine, scratch: Scratch) -> None:
    """Engine 20.10: `rmi -f` of an image only a stopped container uses untags *and* deletes the image
    record (the container keeps its layers and still starts); the plan says no space comes back."""
    api = scratch.api
    source = scratch.exited("source")
    ref = f"{scratch.prefix}app:1.0"
    image_id = scratch.commit(source, f"{scratch.prefix}app", "1.0")
    user = f"{scratch.prefix}user"
    api.create_container(ref, SLEEP, name=user, labels=scratch.labels)

    (target,) = plan_of(engine, f"rmi -f {ref}").targets
    assert target.detail.startswith("delete the image record")
    assert target.size is None
    assert lines(run(engine, f"rmi -f {ref}")) == (f"Untagged: {ref}", f"Deleted: {image_id}")
    assert image_id not in scratch.image_ids()
    api.start(user)
    assert state(api, user)["Running"]
