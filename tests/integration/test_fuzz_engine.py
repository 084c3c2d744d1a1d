"""The fuzz over parser + policy + router, on the real engine: every Engine API request the bot sends names
only an object the plan authorized, whatever the text (path tricks included).

The bot's engine talks to the real dockerd through the recording proxy with `forward_mutations=False`: reads
reach the engine (so plans are made from real listings), every mutating request is recorded and answered
without reaching it (so the world never changes and thousands of chains can run). The policy is wrapped to
record every target of every allowed decision: that is what "authorized" means here.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import docker
import docker.errors
import pytest
from engine_proxy import EngineProxy, Recorded
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import CATALOG
from bot.engine import Engine, Host
from bot.models import Outcome, Target
from bot.policy import Decision, Policy
from bot.references import CONTAINER_NAME, VOLUME_NAME
from bot.router import Invocation, Router
from bot.settings import FileConfig
from bot.startup import policy_of
from bot.store import Store

CHAINS = 5000
_KINDS = {"containers": "container", "images": "image", "volumes": "volume", "networks": "network"}
_FULL_IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")
_FULL_ID = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class World:
    """The objects the fuzz names; all carry one random prefix."""

    prefix: str
    containers: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    image_ids: list[str] = field(default_factory=list)
    volume: str = ""
    network: str = ""

    def names(self) -> list[str]:
        """Every reference a well-formed command could type: names, tags, ID prefixes, full IDs."""
        short = [i[:12] for i in self.ids] + [i.removeprefix("sha256:")[:10] for i in self.image_ids]
        return [*self.containers, *self.images, *short, self.ids[0], self.image_ids[0], self.volume]


@pytest.fixture(scope="module")
def world(docker_api: docker.APIClient, test_image: str) -> Iterator[World]:
    prefix = f"cfz{secrets.token_hex(3)}-"
    made = World(prefix)
    labels = {"ctest.fuzz": prefix}
    specs = [
        ("web-1", True, {"team": "payments"}),
        ("web-2", False, {}),
        ("db-1", False, {"team": "payments"}),
        ("vault", True, {"chatops.protected": "true"}),
    ]
    try:
        for suffix, running, extra in specs:
            name = prefix + suffix
            docker_api.create_container(
                test_image, ["sleep", "1000"], name=name, labels={**labels, **extra}, network_disabled=True
            )
            if running:
                docker_api.start(name)
            made.containers.append(name)
            made.ids.append(docker_api.inspect_container(name)["Id"])
        image_id = docker_api.commit(made.containers[1], f"{prefix}app", "1.0", conf={"Labels": labels})["Id"]
        docker_api.tag(image_id, f"{prefix}app", "latest")
        made.images += [f"{prefix}app:1.0", f"{prefix}app"]
        made.image_ids.append(image_id)
        made.volume = docker_api.create_volume(f"{prefix}data", labels=labels)["Name"]
        made.network = docker_api.create_network(f"{prefix}net", labels=labels)["Id"]
        yield made
    finally:
        for name in made.containers:
            with _quiet():
                docker_api.remove_container(name, force=True)
        for image_id in made.image_ids:
            with _quiet():
                docker_api.remove_image(image_id, force=True)
        with _quiet():
            docker_api.remove_volume(made.volume)
        with _quiet():
            docker_api.remove_network(made.network)


class _quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: Any, trace: Any) -> bool:
        return kind is not None and issubclass(kind, docker.errors.APIError)


class RecordingPolicy:
    """The real policy; remembers every target of every decision that allowed something."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self.allowed: list[Target] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._policy, name)

    def decide(self, principal: Any, **kwargs: Any) -> Decision:
        decision = self._policy.decide(principal, **kwargs)
        if decision.allowed:
            self.allowed.extend(kwargs.get("targets", ()))
        return decision


def _policy(prefix: str) -> Policy:
    config = FileConfig.model_validate(
        {
            "roles": {
                "viewer": {"allow": ["read"]},
                "operator": {"allow": ["read", "operate"]},
                "janitor": {"allow": ["read", "remove", "pull"]},
                "admin": {"allow": ["*"]},
            },
            "bindings": [
                {"role": "viewer", "users": ["*"]},
                {"role": "operator", "users": ["U0OPS"], "containers": [f"{prefix}web-*"]},
                {
                    "role": "janitor",
                    "users": ["U0JAN"],
                    "containers": ["label:team=payments", f"{prefix}app*"],
                },
                {"role": "admin", "users": ["U0ADMIN"]},
            ],
        }
    )
    return policy_of(config)


TRICKS = [
    "x/../../containers/{n}",
    "x/../../volumes/{n}",
    "{n}/..",
    "./{n}",
    "{n}/",
    "{n}//",
    "x//{n}",
    "/{n}",
    "%2e%2e/{n}",
    "{n}%2f..%2f..",
    "x/%2E%2E/containers/{n}",
    "\u2024\u2024/{n}",
    "\uff0e\uff0e/{n}",
    "{n}/./",
    "{n}\u2215..",
    "..",
    ".",
    "{n}:..",
    "{n}@sha256:..",
    "{n}?force=1",
    "{n}#x",
    "{n}/json",
]
VERBS = [spec.name for spec in CATALOG.specs if spec.action_class != "admin"] + ["image rm", "container rm"]
# admins first: hypothesis leans towards the first choices, and most chains should be allowed to run
USERS = ["local", "U0ADMIN", "U0JAN", "U0OPS", "U0NOBODY"]
FLAGS = ["-f", "-a", "-v", "--no-prune", "-t", "0", "--volumes", "--type", "image", "-s", "HUP", "--all"]


CONTAINER_VERBS = {
    "start": [],
    "stop": ["-t 0"],
    "restart": ["-t 0"],
    "kill": ["-s HUP", "-s KILL"],
    "pause": [],
    "unpause": [],
    "rm": ["-f", "-v", "-f -v"],
    "container rm": ["-f"],
    "logs": ["--tail 5"],
    "inspect": ["--type container"],
}
IMAGE_VERBS = {"rmi": ["-f", "--no-prune"], "image rm": ["-f"], "pull": [], "inspect": ["--type image"]}
PRUNES = {
    "container prune": [],
    "image prune": ["-a"],
    "volume prune": ["-a"],
    "network prune": [],
    "system prune": ["-a", "--volumes", "-a --volumes"],
}


def _command(verbs: dict[str, list[str]], refs: st.SearchStrategy[str], most: int) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(verbs)).flatmap(
        lambda verb: st.builds(
            lambda flags, chosen: " ".join([verb, *flags, *chosen]),
            st.lists(st.sampled_from(verbs[verb] or [""]), max_size=1),
            st.lists(refs, min_size=1 if most else 0, max_size=most),
        )
    )


def _texts(world: World) -> st.SearchStrategy[str]:
    """Mostly well-formed commands on the world's objects (so many really run), path tricks in their
    references, prunes (scoped to the world's label or not), chains of all of them, and raw noise."""
    trick = st.builds(
        lambda t, name: t.format(n=name), st.sampled_from(TRICKS), st.sampled_from(world.names())
    )
    container_ref = st.sampled_from([*world.containers, *(i[:12] for i in world.ids), world.ids[0]])
    image_ref = st.sampled_from([*world.images, world.image_ids[0], world.image_ids[0][7:17]])
    containers = _command(CONTAINER_VERBS, container_ref | container_ref | trick, 2)
    images = _command(IMAGE_VERBS, image_ref | trick, 2)
    label = f"--filter label=ctest.fuzz={world.prefix}"
    prunes = _command(PRUNES, st.sampled_from([label, label, "", "--filter until=1h"]), 1)
    step = st.one_of(containers, containers, images, prunes)
    chain = st.lists(step, min_size=2, max_size=3).map(" && ".join)
    noise = st.builds(
        lambda verb, flags, refs: " ".join([verb, *flags, *refs]),
        st.sampled_from(VERBS),
        st.lists(st.sampled_from(FLAGS), max_size=2),
        st.lists(trick | st.text(max_size=6), max_size=2),
    )
    return st.one_of(step, step, step, chain, chain, noise)


def _authorized(targets: list[Target]) -> set[tuple[str, str]]:
    allowed = {(t.kind, t.id) for t in targets}
    allowed |= {(t.kind, t.ref) for t in targets if t.ref}
    return allowed


def _check_request(request: Recorded, allowed: set[tuple[str, str]], targets: list[Target]) -> None:
    path = request.path  # the query is form-encoded by requests: only the path names objects
    for forbidden in ("..", "%2e", "%2f", "//", "%25"):
        assert forbidden not in path.lower(), request
    obj = request.object()
    if not request.mutating:
        if obj is not None and obj[0] == "images":
            assert _FULL_IMAGE_ID.match(obj[1]), f"an image read by a typed reference: {request}"
        if obj is not None and obj[0] == "containers":
            assert CONTAINER_NAME.match(obj[1]), request
        if obj is not None and obj[0] == "volumes":
            assert VOLUME_NAME.match(obj[1]), request
        return
    assert not path.endswith("/prune") or path.endswith("/build/prune"), f"a daemon-side prune: {request}"
    if obj is not None:
        kind, ref, _verb = obj
        assert (_KINDS[kind], ref) in allowed, f"{request} names an object the plan did not authorize"
        if kind in {"containers", "networks"}:
            assert _FULL_ID.match(ref), f"{request}: not a full ID"
        if kind == "images" and not _FULL_IMAGE_ID.match(ref):
            assert any(t.kind == "image" and t.ref == ref for t in targets), request
        return
    query = parse_qs(urlsplit(request.target).query)
    if path.endswith("/images/create"):
        image = query["fromImage"][0] + ":" + query.get("tag", ["latest"])[0]
        pulls = {t.name for t in targets if t.kind == "image" and not t.id}
        assert any(image.startswith(name.split(":")[0]) for name in pulls), request
        return
    if path.endswith("/build/prune"):
        wanted = json.loads(unquote(query["filters"][0]))["id"]
        assert all(("build-cache", rid) in allowed for rid in wanted), request
        return
    pytest.fail(f"an unexpected mutating request: {request}")


def test_no_request_outside_the_authorized_plan(tmp_path: Path, world: World) -> None:
    """5,000 random chains (path tricks, ID prefixes, mixed scopes, `&&`) from random identities: every
    request the engine received named only what an allowed decision's plan held."""
    ran: list[int] = []
    examples: list[str] = []
    with EngineProxy(tmp_path / "fuzz.sock", forward_mutations=False) as proxy:
        policy = RecordingPolicy(_policy(world.prefix))
        router = Router(
            [Engine(Host("local", proxy.url, 30.0))],
            policy=policy,  # type: ignore[arg-type]
            store=Store(":memory:"),
        )

        @settings(
            max_examples=CHAINS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(
            text=_texts(world),
            user=st.sampled_from(USERS),
            confirmed=st.sampled_from([True, True, True, False]),
        )
        def check(text: str, user: str, confirmed: bool) -> None:
            examples.append(text)
            proxy.clear()
            policy.allowed.clear()
            invocation = Invocation(
                text, user_id=user, channel_id="C0OPS", local_admin=user == "local", assume_yes=confirmed
            )
            reply = router.handle(invocation)
            assert reply.outcome in set(Outcome)
            allowed = _authorized(policy.allowed)
            mutating = [r for r in proxy.requests if r.mutating]
            if mutating:
                ran.append(len(mutating))
            for request in proxy.requests:
                _check_request(request, allowed, policy.allowed)

        try:
            check()
        finally:
            router.close()
    assert len(examples) >= CHAINS
    print(f"{len(examples)} chains, {len(ran)} sent mutations ({sum(ran)} mutating requests)")
    assert len(ran) >= CHAINS // 8, f"only {len(ran)} chains sent a mutation: the fuzz must exercise them"
