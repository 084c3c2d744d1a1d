"""Nothing but `bot.errors` comes out of the engine, whatever a broken engine answers.

Every Engine API call the catalog reaches (each `Read` handler, each `Act` planner and the run of the plan it
made) and every call of the event watcher (`bot.engine.events.EventSource`) is made against a fake Engine
API server (`tests/fakes/engine.py`, real sockets, no mocks) answering with each of its bad answers: a 500
with a JSON message, a 500 that is not JSON, a 200 whose body is not JSON or JSON of another shape than the
route sends, a body cut short, a connection
reset in the middle of a body, a redirect, a 404, a 409. Only `ChatOpsError` subclasses may come out (never a
docker-py, requests, urllib3, json or socket exception, nor a KeyError or TypeError), with a message and hint
meant for people (no traceback).

Each kind is tried three ways: from a cold start (the API version negotiation itself gets the bad answer;
the same path for every call of a client, so one command's, the stream's and the details' client suffice),
once connected with every route answering badly, and once connected with the listings answering well, so
the plans resolve their targets and the bad answer comes to the call that acts on one (a removal, a stop, a
pull, a log stream).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from fakes.engine import BAD_ANSWERS, Behaviour, FakeEngine

from bot.commands import CATALOG, CommandSpec
from bot.commands.catalog import Act, Read
from bot.commands.parser import parse
from bot.engine import Engine, Host
from bot.engine.events import EventSource
from bot.errors import ChatOpsError
from bot.models import Plan

WEB_ID, OLD_ID, WORKER_ID = "a" * 64, "b" * 64, "c" * 64
APP_1, APP_2, DANGLING = "sha256:" + "1" * 64, "sha256:" + "2" * 64, "sha256:" + "3" * 64
NETWORK_ID = "d" * 64
SHOP = {"com.docker.compose.project": "shop", "com.docker.compose.project.config_files": "/srv/shop.yml"}


def _container(cid: str, name: str, image: tuple[str, str], state: str, labels: dict[str, str]) -> Any:
    return {
        "Id": cid,
        "Names": [f"/{name}"],
        "Image": image[0],
        "ImageID": image[1],
        "Command": "run",
        "Created": 1_700_000_000,
        "State": state,
        "Status": "Up 1 hour" if state == "running" else "Exited (1) 1 hour ago",
        "Ports": [{"PrivatePort": 80, "Type": "tcp"}],
        "Labels": labels,
        "Mounts": [{"Type": "volume", "Name": "e" * 64, "Driver": "local", "Destination": "/data"}],
        "NetworkSettings": {"Networks": {"shop_default": {"NetworkID": NETWORK_ID}}},
        "SizeRw": 1000,
        "SizeRootFs": 5000,
    }


CONTAINERS = [
    _container(WEB_ID, "web", ("app:1.0", APP_1), "running", SHOP),
    _container(OLD_ID, "old-job", ("app:1.1", APP_2), "exited", {}),
    _container(WORKER_ID, "worker", ("app:1.0", APP_1), "running", SHOP),
]


def _image(iid: str, tags: list[str], containers: int) -> Any:
    return {
        "Id": iid,
        "RepoTags": tags,
        "RepoDigests": [],
        "Created": 1_700_000_000,
        "Size": 10_000,
        "SharedSize": 0,
        "Containers": containers,
        "Labels": {},
        "ParentId": "",
    }


IMAGES = [_image(APP_1, ["app:1.0"], 2), _image(APP_2, ["app:1.1"], 1), _image(DANGLING, [], 0)]
VOLUMES = [
    {
        "Name": "data",
        "Driver": "local",
        "Mountpoint": "/var/lib/docker/volumes/data/_data",
        "Labels": {"com.docker.volume.anonymous": ""},
        "Scope": "local",
        "UsageData": {"RefCount": 0, "Size": 300},
    }
]
INSPECTED = {
    "Id": WEB_ID,
    "Name": "/web",
    "Config": {"Tty": False, "StopTimeout": None, "Labels": SHOP},
    "State": {"Status": "running", "Running": True, "ExitCode": 0, "FinishedAt": "0001-01-01T00:00:00Z"},
}
# What the fake answers well: every listing a planner reads, and the objects the examples name.
ANSWERS: dict[str, Any] = {
    "/images/json": IMAGES,
    "/system/df": {
        "LayersSize": 30_000,
        "Images": IMAGES,
        "Containers": CONTAINERS,
        "Volumes": VOLUMES,
        "BuildCache": [{"ID": "cache1", "Type": "regular", "Size": 70, "InUse": False, "Shared": False}],
    },
    "/networks": [
        {"Name": "bridge", "Id": "f" * 64, "Scope": "local", "Driver": "bridge", "Labels": {}},
        {
            "Name": "old_default",
            "Id": NETWORK_ID.replace("d", "9"),
            "Scope": "local",
            "Driver": "bridge",
            "Labels": {},
            "Created": "2024-01-01T00:00:00Z",
        },
    ],
    "/volumes": {"Volumes": VOLUMES, "Warnings": None},
    "/info": {"SystemTime": "2024-05-01T12:00:00.123456789Z", "Containers": 3, "ServerVersion": "20.10"},
    "/containers/web/json": INSPECTED,
    f"/containers/{WEB_ID}/json": INSPECTED,
    f"/images/{APP_1}/json": {"Id": APP_1, "RepoTags": ["app:1.0"]},
    "/volumes/data": VOLUMES[0],
}
# While acting, the listings and inspects answer well: the bad answer comes to what acts or streams.
GOOD_WHILE_ACTING = ("/_ping", "/version", "/containers/json", *ANSWERS)
SCOPES = ("cold", "connected", "acting")
# A positional argument's value when a spec has no example (names the fixtures above hold).
PLACEHOLDERS = {
    "CONTAINER": "web",
    "IMAGE": "app:1.0",
    "NAME|ID": "web",
    "VOLUME": "data",
    "PROJECT": "shop",
    "NAME[:TAG|@DIGEST]": "app:1.0",
}


def _text(spec: CommandSpec[Any]) -> str:
    """Minimal valid words for `spec`: its first example, else its name and a value per required
    positional."""
    if spec.examples:
        return spec.examples[0]
    values = [PLACEHOLDERS[p.metavar] for p in spec.positionals if p.required]
    return " ".join([spec.name, *values])


ENGINE_SPECS = [spec for spec in CATALOG.specs if isinstance(spec.handler, Read | Act)]
Call = Callable[[Engine, EventSource], object]


def _catalog_calls(plans: dict[str, Plan]) -> Iterator[tuple[str, Call]]:
    """(what, call) for every engine method the catalog reaches: reads, planners, runs of a good plan."""
    for spec in ENGINE_SPECS:
        (command,) = parse(_text(spec))
        args, handler = command.args, spec.handler
        if isinstance(handler, Read):
            yield command.text, lambda engine, _, h=handler, a=args: h.run(engine, a)
        else:
            assert isinstance(handler, Act)
            yield f"plan {command.text}", lambda engine, _, h=handler, a=args: h.plan(engine, a)
            plan = plans[command.text]
            yield (
                f"run {command.text}",
                lambda engine, _, h=handler, a=args, p=plan: h.run(engine, a, p, lambda line: None),
            )


def _watcher_calls() -> Iterator[tuple[str, Call]]:
    """(what, call) for every call of the event watcher's `EventSource`."""
    yield "events: system_time", lambda _, source: source.system_time()
    yield "events: containers", lambda _, source: source.containers()
    yield "events: ping", lambda _, source: source.ping()
    yield (
        "events: stream",
        lambda _, source: list(source.subscribe("1714564800.000000000", {"type": ["container"]})),
    )
    yield "events: log_tail", lambda _, source: source.log_tail(WEB_ID, 10, 2.0)
    yield "events: container_state", lambda _, source: source.container_state(WEB_ID, 2.0)


def _good_plans(host: Host) -> dict[str, Plan]:
    """Every `Act` spec's plan, made while the fake answers well (each resolves real targets)."""
    engine = Engine(host)
    try:
        made: dict[str, Plan] = {}
        for spec in ENGINE_SPECS:
            if isinstance(spec.handler, Act):
                (command,) = parse(_text(spec))
                made[command.text] = spec.handler.plan(engine, command.args)
        return made
    finally:
        engine.close()


def _escape(what: str, kind: Behaviour, scope: str, exc: BaseException) -> str | None:
    """Why `exc` may not come out of the engine, or None when it is a message for people."""
    where = f"{what} [{kind}, {scope}]"
    if not isinstance(exc, ChatOpsError):
        return f"{where}: {type(exc).__module__}.{type(exc).__qualname__}: {str(exc)[:300]}"
    for text in (exc.message, exc.hint or ""):
        if "Traceback" in text or 'File "' in text or not exc.message.strip():
            return f"{where}: {type(exc).__name__} with an unfit message: {text[:300]!r}"
    return None


def test_only_our_typed_errors_come_out_of_the_engine_whatever_it_answers() -> None:
    started = time.monotonic()
    with FakeEngine(listing=CONTAINERS, answers=ANSWERS) as fake:  # TCP, so a reset is a real RST
        host = Host("bad", fake.url, 2.0)
        plans = _good_plans(host)
        assert all(plan.targets for name, plan in plans.items() if "pull" not in name), plans
        calls = [*_catalog_calls(plans), *_watcher_calls()]
        cold = [calls[0], *((w, c) for w, c in calls if w in ("events: stream", "events: log_tail"))]
        assert len(cold) == 3
        escapes: list[str] = []
        tried = 0
        for kind in BAD_ANSWERS:
            for scope in SCOPES:
                for what, call in calls if scope != "cold" else cold:
                    fake.behave(everything="ok")
                    engine, source = Engine(host), EventSource(host)
                    try:
                        if scope != "cold":  # connect first: the API version is negotiated
                            engine.ping()
                            source.ping()
                            source.container_state(WEB_ID, 2.0)
                        fake.behave(everything=kind)
                        if scope == "acting":
                            fake.behave(routes=dict.fromkeys(GOOD_WHILE_ACTING, "ok"))
                        tried += 1
                        call(engine, source)
                    except BaseException as exc:
                        problem = _escape(what, kind, scope, exc)
                        if problem is not None:
                            escapes.append(problem)
                    finally:
                        engine.close()
                        source.close()
    assert escapes == [], "\n".join(escapes)
    assert tried == len(BAD_ANSWERS) * ((len(SCOPES) - 1) * len(calls) + len(cold))
    assert time.monotonic() - started < 60
