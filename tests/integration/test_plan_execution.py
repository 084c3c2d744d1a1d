"""What runs is exactly what was authorized, on the real engine: Step 5's reproductions and their variants.

The bot's engine talks to the real dockerd through the recording proxy (tests/engine_proxy.py), so each test
sees every request path the bot sent. What the engine actually did is read from the engine itself (its event
stream and `inspect`), never from the bot's answer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import docker
import docker.errors
import pytest
from engine_proxy import EngineProxy, Recorded

from bot.engine import Engine, Host
from bot.errors import Conflict
from bot.models import Outcome, Reply
from bot.policy import Policy
from bot.router import Invocation, Router
from bot.settings import FileConfig
from bot.startup import policy_of
from bot.store import Store

from .world import Scratch, command, lines, plan_of, run

PROTECTED = {"chatops.protected": "true"}
FULL_ID = 64


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[EngineProxy]:
    with EngineProxy(tmp_path / "engine.sock") as made:
        yield made


def router_for(proxy: EngineProxy, policy: Policy | None = None, zone: Any = UTC) -> Router:
    return Router([Engine(Host("local", proxy.url, 30.0), zone)], policy=policy, store=Store(":memory:"))


def handle(router: Router, text: str, **who: Any) -> Reply:
    who.setdefault("local_admin", True)
    who.setdefault("assume_yes", True)
    try:
        return router.handle(Invocation(text, **who))
    finally:
        router.close()


def exists(api: docker.APIClient, kind: str, ref: str) -> bool:
    inspect = {"container": api.inspect_container, "image": api.inspect_image, "volume": api.inspect_volume}
    try:
        inspect[kind](ref)
    except docker.errors.NotFound:
        return False
    return True


def engine_events(api: docker.APIClient, since: float, label: str) -> list[dict[str, Any]]:
    """What the engine did to the objects carrying `label` (containers) since `since`, from its own log."""
    until = time.time() + 0.5
    time.sleep(0.6)  # let the daemon log the last events before reading up to `until`
    stream = api.events(since=since, until=until, decode=True, filters={"label": [label]})
    return [e for e in stream if e.get("Type") in {"container", "image", "volume"}]


def mutations(proxy: EngineProxy) -> list[Recorded]:
    return [r for r in proxy.requests if r.mutating]


# ---- 1. references that walk the Engine API's URL space --------------------------------------------------

PATH_TRICKS = (
    "x/../../containers/{c}",
    "x/../../volumes/{v}",
    "./{c}",
    "{c}/..",
    "{c}/",
    "/{c}",
    "x//{c}",
    "x/%2e%2e/%2e%2e/containers/{c}",
    "x%2f..%2f..%2fcontainers%2f{c}",
    "x/\u2024\u2024/\u2024\u2024/containers/{c}",  # one-dot leaders look like dots
    "x/\uff0e\uff0e/\uff0e\uff0e/containers/{c}",  # full-width full stops
    "x/../{c}",
)


@pytest.mark.parametrize("verb", ["rmi", "rmi -f", "image rm", "inspect --type image", "inspect", "pull"])
def test_path_tricks_never_reach_the_engine(
    verb: str, proxy: EngineProxy, scratch: Scratch, docker_api: docker.APIClient
) -> None:
    """Reproduction 1: `rmi x/../../containers/web` removed a protected container through dockerd's 301.
    Every such reference is a usage error now: nothing is sent, the objects stay."""
    web = scratch.container("web", labels=PROTECTED)
    data = scratch.volume("data")
    since = time.time()
    for trick in PATH_TRICKS:
        text = f"{verb} {trick.format(c=web, v=data)}"
        reply = handle(router_for(proxy), text)
        assert reply.outcome is Outcome.USAGE, (text, reply)
        assert reply.problem is not None
        assert "not a valid" in reply.problem.message, reply.problem.message
    assert mutations(proxy) == []
    assert not [r for r in proxy.requests if ".." in r.target or "%2" in r.target.lower()]
    assert exists(docker_api, "container", web)
    assert exists(docker_api, "volume", data)
    assert not [e for e in engine_events(docker_api, since, scratch.label) if e["Action"] == "destroy"]


def test_scoped_role_cannot_reach_outside_its_scope(
    proxy: EngineProxy, scratch: Scratch, docker_api: docker.APIClient
) -> None:
    """`rmi -f in-scope-img x/../../containers/out-of-scope` and friends, for a role scoped to `in-*`."""
    inside = scratch.container("in-web", ["true"], start=False)
    outside = scratch.container("out-web", ["true"], start=False)
    image_id = scratch.commit(inside, f"{scratch.prefix}in-img", "1")
    config = FileConfig.model_validate(
        {
            "roles": {"janitor": {"allow": ["read", "remove", "operate"]}},
            "bindings": [{"role": "janitor", "users": ["U0JAN"], "containers": [f"{scratch.prefix}in-*"]}],
        }
    )
    policy = policy_of(config)
    who = {"user_id": "U0JAN", "channel_id": "C0OPS", "local_admin": False}
    since = time.time()
    for text in (
        f"rmi -f {scratch.prefix}in-img:1 x/../../containers/{outside}",
        f"rmi -f {scratch.prefix}in-img:1 {scratch.prefix}in-img/../../containers/{outside}",
        f"rm -f {inside} {outside}",
        f"restart {inside} && rm {outside}",
        f"start {inside} && rm -f x/../../containers/{outside}",
    ):
        reply = handle(router_for(proxy, policy), text, **who)
        assert reply.outcome in {Outcome.USAGE, Outcome.DENIED}, (text, reply)
    assert mutations(proxy) == []
    assert exists(docker_api, "container", outside)
    assert exists(docker_api, "container", inside)
    assert exists(docker_api, "image", image_id)
    assert [e for e in engine_events(docker_api, since, scratch.label) if e["Type"] == "container"] == []


def test_a_redirect_from_the_engine_is_refused_never_followed(
    tmp_path: Path, scratch: Scratch, docker_api: docker.APIClient
) -> None:
    """The proxy answers the bot's `DELETE /containers/<id>` with a 301 to another container: the bot reports
    the redirect and sends nothing more; both containers stay."""
    victim = scratch.container("victim", ["true"], start=False)
    bait = scratch.container("bait", ["true"], start=False)
    bait_id = docker_api.inspect_container(bait)["Id"]
    victim_id = docker_api.inspect_container(victim)["Id"]

    def redirect(method: str, target: str) -> str | None:
        if method == "DELETE" and bait_id in target:
            return target.replace(bait_id, victim_id)
        if method == "GET" and target.endswith("/info"):
            return "/v1.41/version"
        return None

    with EngineProxy(tmp_path / "redirecting.sock", redirect=redirect) as proxy:
        reply = handle(router_for(proxy), f"rm {bait}")
        assert reply.outcome is Outcome.FAILED
        assert reply.problem is not None
        assert "redirect" in reply.problem.message
        assert "never follows redirects" in reply.problem.message
        deletes = [r for r in proxy.requests if r.method == "DELETE"]
        assert len(deletes) == 1
        assert bait_id in deletes[0].target
        assert not [r for r in proxy.requests if victim_id in r.target]

        info = handle(router_for(proxy), "info")
        assert info.outcome is Outcome.FAILED
        assert "/v1.41/version" not in [r.target for r in proxy.requests]  # the redirect's target
    assert exists(docker_api, "container", victim)
    assert exists(docker_api, "container", bait)


# ---- what reaches the engine: the plan's IDs ---------------------------------------------------------------


def test_mutations_send_the_full_ids_the_plan_resolved(
    proxy: EngineProxy, scratch: Scratch, docker_api: docker.APIClient
) -> None:
    """Names and ID prefixes are resolved in the plan; every mutating request path carries a full ID."""
    a = scratch.container("a")
    b = scratch.container("b")
    a_id = docker_api.inspect_container(a)["Id"]
    b_id = docker_api.inspect_container(b)["Id"]
    reply = handle(router_for(proxy), f"restart -t 0 {a} {b_id[:10]} && stop -t 0 {a} && rm {a}")
    assert reply.outcome is Outcome.OK, reply
    sent = [r.object() for r in mutations(proxy)]
    assert sent == [
        ("containers", a_id, "restart"),
        ("containers", b_id, "restart"),
        ("containers", a_id, "stop"),
        ("containers", a_id, ""),
    ]
    assert reply.steps[0].result is not None
    assert not exists(docker_api, "container", a)
    assert docker_api.inspect_container(b)["State"]["Running"]


def test_a_reference_that_resolves_to_nothing_is_not_found_and_nothing_is_sent(
    proxy: EngineProxy, scratch: Scratch, docker_api: docker.APIClient
) -> None:
    """`stop ghost a`: a stops, ghost is `No such container` and no request names it; `rmi nosuch:1` sends
    no DELETE at all."""
    a = scratch.container("a")
    a_id = docker_api.inspect_container(a)["Id"]
    ghost = f"{scratch.prefix}ghost"
    reply = handle(router_for(proxy), f"stop -t 0 {ghost} {a}")
    assert reply.outcome is Outcome.FAILED
    assert reply.problem is not None
    assert f"No such container: {ghost}" in reply.problem.message
    assert [r.object() for r in mutations(proxy)] == [("containers", a_id, "stop")]
    assert not docker_api.inspect_container(a)["State"]["Running"]

    proxy.clear()
    reply = handle(router_for(proxy), f"rmi {scratch.prefix}nosuch:1")
    assert reply.outcome is Outcome.FAILED
    assert reply.problem is not None
    assert reply.problem.kind == "NotFound"
    assert mutations(proxy) == []


def test_rmi_sends_the_tag_only_while_it_names_the_planned_image(
    proxy: EngineProxy, scratch: Scratch, docker_api: docker.APIClient
) -> None:
    """A tag is untagged by name (the CLI's semantics), but only if it still names the image the plan showed:
    retagged between plan and run, nothing is removed."""
    base = scratch.container("base", ["true"], start=False)
    repo = f"{scratch.prefix}app"
    first = scratch.commit(base, repo, "1.0")
    scratch.commit(base, repo, "keep")
    docker_api.tag(first, repo, "keep")  # the first image has two tags: untag only
    engine = Engine(Host("local", proxy.url, 30.0))
    plan = plan_of(engine, f"rmi {repo}:1.0")
    (target,) = plan.targets
    assert (target.id, target.ref) == (first, f"{repo}:1.0")

    second = scratch.commit(base, repo, "2.0")
    docker_api.tag(second, repo, "1.0")  # the tag moves to another image after the plan
    _, parsed = command(f"rmi {repo}:1.0")
    with pytest.raises(Conflict, match="no longer names the image the plan showed"):
        engine.rmi(parsed, plan)  # type: ignore[arg-type]
    assert mutations(proxy) == []
    assert f"{repo}:1.0" in docker_api.inspect_image(second)["RepoTags"]
    assert exists(docker_api, "image", first)

    untag = run(engine, f"rmi {repo}:1.0")  # planned afresh: now it names `second`, which it untags
    assert lines(untag) == (f"Untagged: {repo}:1.0",)
    assert [r.object() for r in mutations(proxy)] == [("images", f"{repo}:1.0", "")]
    engine.close()


# ---- 2. prunes delete what the plan showed ------------------------------------------------------------


def test_prune_removes_the_planned_objects_not_what_appeared_since(
    proxy: EngineProxy, scratch: Scratch, docker_api: docker.APIClient
) -> None:
    """Confirmed is what goes: a container stopped after the plan stays; one started after it stays too
    (reported); only the planned IDs are sent."""
    planned = scratch.exited("planned")
    restarted = scratch.container("restarted", start=False)  # `sleep 1000`, created: prunable
    engine = Engine(Host("local", proxy.url, 30.0))
    text = f"container prune --filter label={scratch.label}"
    plan = plan_of(engine, text)
    assert {t.name for t in plan.targets} == {planned, restarted}
    later = scratch.exited("later")  # appears after the plan
    docker_api.start(restarted)  # runs again after the plan

    _, args = command(text)
    result = engine.container_prune(args, plan)  # type: ignore[arg-type]
    assert exists(docker_api, "container", later)
    assert exists(docker_api, "container", restarted)
    assert not exists(docker_api, "container", planned)
    assert any(restarted in note and "was not removed" in note for note in result.notes), result.notes
    planned_id = next(t.id for t in plan.targets if t.name == planned)
    assert planned_id in result.containers
    assert all(r.method == "DELETE" for r in mutations(proxy))
    assert not [r for r in proxy.requests if r.path.endswith("/prune")]
    engine.close()


@pytest.fixture
def tokyo() -> Iterator[None]:
    """The bot's process in Asia/Tokyo (UTC+9), as in the reproduction."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_prune_until_is_one_instant_whatever_the_bot_zone(
    tokyo: None, proxy: EngineProxy, scratch: Scratch, docker_api: docker.APIClient
) -> None:
    """Reproduction 2: with the bot at TZ=Asia/Tokyo, `until=<UTC now + 1h>` (no offset) planned "nothing to
    remove" while the daemon deleted a protected container. Now the zone-less time is read as UTC: the plan
    takes the container, so the protection denies the prune, and the plan prints the instant it used."""
    guarded = scratch.exited("guarded", labels=PROTECTED)
    plain = scratch.exited("plain")
    until = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    text = f"container prune --filter until={until} --filter label={scratch.label}"

    denied = handle(router_for(proxy), text)
    assert denied.outcome is Outcome.DENIED, denied
    assert mutations(proxy) == []
    assert exists(docker_api, "container", guarded)

    engine = Engine(Host("local", proxy.url, 30.0))
    plan = plan_of(engine, f"container prune --filter until={until} --filter label=ctest.plain")
    assert any(f"until={until}: created before {until.replace('T', ' ')} UTC" in n for n in plan.notes)
    docker_api.remove_container(guarded, force=True)
    reply = handle(router_for(proxy), text)
    assert reply.outcome is Outcome.OK, reply
    assert not exists(docker_api, "container", plain)

    # a zone set on purpose is used for the plan and the run alike: Tokyo's 'now + 1h UTC' is 8 h ago
    kept = scratch.exited("kept")
    in_tokyo = router_for(proxy, zone=ZoneInfo("Asia/Tokyo"))
    reply = handle(in_tokyo, text)
    assert reply.outcome is Outcome.OK
    assert exists(docker_api, "container", kept)
    engine.close()


def test_build_cache_is_pruned_only_when_the_plan_listed_records(
    proxy: EngineProxy, scratch: Scratch
) -> None:
    """A system prune whose plan holds no build-cache record never calls the builder's prune."""
    scratch.exited("old")
    reply = handle(router_for(proxy), f"system prune --filter label={scratch.label}")
    assert reply.outcome is Outcome.OK, reply
    assert not [r for r in proxy.requests if "/build/prune" in r.path]
    assert not [r for r in proxy.requests if r.path.endswith("/prune")]


# ---- 3. protection follows what it protects ---------------------------------------------------------------


@pytest.mark.parametrize("running", [False, True])
def test_the_image_of_a_protected_container_is_protected(
    running: bool, proxy: EngineProxy, scratch: Scratch, docker_api: docker.APIClient
) -> None:
    """Reproduction 6: `rmi -f IMG` stripped the image record from under a stopped protected container."""
    base = scratch.container("base", ["true"], start=False)
    repo = f"{scratch.prefix}held"
    image_id = scratch.commit(base, repo, "1")
    guarded = f"{scratch.prefix}guarded"
    docker_api.create_container(
        f"{repo}:1", ["sleep", "1000"], name=guarded, labels={**scratch.labels, **PROTECTED}
    )
    if running:
        docker_api.start(guarded)
    for text in (f"rmi -f {repo}:1", f"rmi -f {image_id}", f"rmi {repo}:1"):
        reply = handle(router_for(proxy), text)
        assert reply.outcome is Outcome.DENIED, (text, reply)
        assert reply.problem is not None
        assert f"of container {guarded}, which uses it" in reply.problem.message
    assert mutations(proxy) == []
    assert exists(docker_api, "image", image_id)
    assert docker_api.inspect_image(image_id)["RepoTags"] == [f"{repo}:1"]

    prune = handle(router_for(proxy), f"image prune -a --filter label={scratch.label}")
    assert prune.outcome is Outcome.OK
    assert not [r for r in mutations(proxy) if image_id in r.target]
    assert exists(docker_api, "image", image_id)


def test_image_prune_all_removes_a_many_tagged_image_by_its_tags(
    proxy: EngineProxy, scratch: Scratch, docker_api: docker.APIClient
) -> None:
    """An unused image with two tags: its ID alone is refused by the daemon (several references), so each
    tag goes by name (each just listed as naming it) and the last removal deletes it."""
    base = scratch.container("base", ["true"], start=False)
    repo = f"{scratch.prefix}twice"
    image_id = scratch.commit(base, repo, "1")
    docker_api.tag(image_id, repo, "2")
    docker_api.remove_container(base)
    reply = handle(router_for(proxy), f"image prune -a --filter label={scratch.label}")
    assert reply.outcome is Outcome.OK, reply
    assert not exists(docker_api, "image", image_id)
    sent = [r.object() for r in mutations(proxy)]
    assert sent[0] == ("images", image_id, "")
    assert sorted(sent[1:]) == [("images", f"{repo}:1", ""), ("images", f"{repo}:2", "")]


def test_not_modified_is_an_answer_not_a_redirect(
    proxy: EngineProxy, scratch: Scratch, docker_api: docker.APIClient
) -> None:
    """dockerd answers `start` of a running container and `stop` of a stopped one with 304 Not Modified;
    like the Docker CLI, the bot reports the container and succeeds (a 304 is not refused as a redirect)."""
    running = scratch.container("running")
    stopped = scratch.container("stopped", start=False)
    reply = handle(router_for(proxy), f"start {running} && stop -t 0 {stopped}")
    assert reply.outcome is Outcome.OK, reply
    assert [step.result.done for step in reply.steps] == [(running,), (stopped,)]  # type: ignore[union-attr]
    assert docker_api.inspect_container(running)["State"]["Running"]


def test_a_name_glob_must_cover_every_tag_and_container_an_image_change_reaches(
    proxy: EngineProxy, scratch: Scratch, docker_api: docker.APIClient
) -> None:
    """A role scoped to `<prefix>*` typed an ID prefix that fits its glob and deleted another team's image
    (`rmi -f db` → `Deleted: sha256:db…`). The policy now scopes an image by all its tags, and by the
    containers using it."""
    base = scratch.container("base", ["true"], start=False)
    victim = scratch.commit(base, f"{scratch.prefix}victim", "1")
    short = victim.removeprefix("sha256:")[:12]
    mine = f"{scratch.prefix}mine"
    shared = scratch.commit(base, f"{mine}-img", "1")
    docker_api.tag(shared, f"{scratch.prefix}prod-api", "2")  # also goes by a name outside the scope
    used = scratch.commit(base, f"{mine}-used", "1")
    outsider = f"{scratch.prefix}outsider"
    docker_api.create_container(f"{mine}-used:1", ["true"], name=outsider, labels=scratch.labels)
    config = FileConfig.model_validate(
        {
            "roles": {"janitor": {"allow": ["read", "remove"]}},
            "bindings": [{"role": "janitor", "users": ["U0JAN"], "containers": [f"{short}*", f"{mine}*"]}],
        }
    )
    policy = policy_of(config)
    who = {"user_id": "U0JAN", "channel_id": "C0OPS", "local_admin": False}
    for text in (f"rmi -f {short}", f"rmi -f {shared}", f"rmi -f {mine}-used:1"):
        reply = handle(router_for(proxy, policy), text, **who)
        assert reply.outcome is Outcome.DENIED, (text, reply)
    untag = handle(router_for(proxy, policy), f"rmi {mine}-img:1", **who)  # only that tag: in scope
    assert untag.outcome is Outcome.OK, untag
    assert [r.object() for r in mutations(proxy)] == [("images", f"{mine}-img:1", "")]
    for image_id in (victim, shared, used):
        assert exists(docker_api, "image", image_id)
