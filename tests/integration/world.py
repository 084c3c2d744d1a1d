"""The integration tier's world: the zoo (one set of real containers, images and volumes in every state the
bot must print), scratch objects of one test, and the plan-then-run helpers the mutation tests share.
conftest.py makes fixtures of them.

The zoo is built once per session through docker-py's low-level `APIClient` (the root conftest's
`docker_api`), with one random name prefix, and removed afterwards even when tests fail. States are reached
by polling `inspect` with a deadline, never by sleeping a fixed time.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from bot.commands import Command, parse
from bot.commands.args import Args
from bot.commands.catalog import Act
from bot.engine import Engine
from bot.models import Change, Plan
from bot.render.actions import cli_lines
from bot.router.authorize import Authorizer

# Engine objects that take a few seconds to reach their state (health checks, restart back-off) get this long.
STATE_DEADLINE_S = 30.0
POLL_S = 0.05

# A fake Slack bot token, assembled so secret scanners do not flag the source file.
FAKE_SLACK_TOKEN = "xoxb-" + "1234567890" + "-" + "1234567890123" + "-" + "FakeTokenForMaskTest0042"
LOG_LINES = (
    "zoo says hello",
    "password=hunter2",
    f"slack token {FAKE_SLACK_TOKEN}",
    "second to last line",
    "the last line",
)


@dataclass(frozen=True)
class Zoo:
    """Names and ids of everything the zoo made; every name starts with `prefix`."""

    prefix: str
    secret_value: str
    bind_dir: Path
    # containers, by state
    created: str
    web: str  # running; published + exposed ports, SECRET_TOKEN env, named volume and bind mount, labels
    exited0: str  # exited 0; holds the anonymous volume
    exited3: str
    paused: str
    restarting: str
    healthy: str
    unhealthy: str
    quoted: str  # sh -c 'echo "hello world" && sleep 1000'
    logger: str  # printed LOG_LINES, then sleeps
    shop_web: str  # compose project <prefix>shop, running
    shop_db: str  # compose project <prefix>shop, exited
    container_ids: tuple[str, ...]  # full ids, in the order of `containers`
    # images
    base_tag: str  # an extra tag on the test image
    app_id: str  # one committed image tagged app:1.0, app:latest and other:2
    app_tags: tuple[str, ...]
    dangling_id: str
    # volumes
    named_volume: str  # mounted by `web`
    spare_volume: str  # named, mounted by nothing (dangling)
    anonymous_volume: str  # mounted by `exited0`

    @property
    def project(self) -> str:
        """The compose project name the two `shop` containers carry."""
        return f"{self.prefix}shop"

    @property
    def containers(self) -> tuple[str, ...]:
        """Every zoo container name."""
        return (
            self.created,
            self.web,
            self.exited0,
            self.exited3,
            self.paused,
            self.restarting,
            self.healthy,
            self.unhealthy,
            self.quoted,
            self.logger,
            self.shop_web,
            self.shop_db,
        )


def wait_until(what: str, probe: Callable[[], bool], deadline_s: float = STATE_DEADLINE_S) -> None:
    """Poll `probe` until it is true; fail naming `what` once the deadline passes."""
    deadline = time.monotonic() + deadline_s
    while not probe():
        if time.monotonic() > deadline:
            pytest.fail(f"zoo: timed out after {deadline_s:.0f} s waiting until {what}")
        time.sleep(POLL_S)


def _state(api: docker.APIClient, name: str) -> dict[str, Any]:
    state: dict[str, Any] = api.inspect_container(name)["State"]
    return state


def _health(api: docker.APIClient, name: str) -> str | None:
    health = _state(api, name).get("Health")
    return None if health is None else str(health["Status"])


def _tiny_tar(content: str) -> bytes:
    """A one-file root filesystem: enough for `docker import` to make an image."""
    buffer = io.BytesIO()
    data = content.encode()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("zoo.txt")
        info.size = len(data)
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _imported_id(answer: str) -> str:
    """The image id from the JSON lines `POST /images/create?fromSrc=-` answers."""
    for line in reversed(answer.splitlines()):
        status = json.loads(line).get("status", "")
        if status.startswith("sha256:"):
            return str(status)
    pytest.fail(f"zoo: docker import answered no image id: {answer!r}")


class ZooBuilder:
    """Creates zoo objects and remembers how to remove each one, newest first."""

    def __init__(self, api: docker.APIClient, image: str, prefix: str) -> None:
        self.api = api
        self.image = image
        self.prefix = prefix
        self._undo: list[Callable[[], None]] = []

    def container(
        self,
        role: str,
        command: list[str],
        *,
        start: bool = True,
        host_config: dict[str, Any] | None = None,
        **create: Any,
    ) -> str:
        name = f"{self.prefix}{role}"
        labels = {"ctest.zoo": self.prefix, **create.pop("labels", {})}
        self.api.create_container(
            self.image,
            command=command,
            name=name,
            labels=labels,
            host_config=host_config or self.api.create_host_config(),
            **create,
        )
        self._undo.append(lambda: self.api.remove_container(name, v=True, force=True))
        if start:
            self.api.start(name)
        return name

    def volume(self, role: str) -> str:
        name = f"{self.prefix}{role}"
        self.api.create_volume(name, labels={"ctest.zoo": self.prefix})
        self._undo.append(lambda: self.api.remove_volume(name, force=True))
        return name

    def tag(self, image: str, repository: str, tag: str) -> str:
        assert self.api.tag(image, repository, tag), f"zoo: tagging {image} as {repository}:{tag} failed"
        ref = f"{repository}:{tag}"
        self._undo.append(lambda: self.api.remove_image(ref, noprune=True))
        return ref

    def image_by_id(self, image_id: str) -> None:
        self._undo.append(lambda: self.api.remove_image(image_id, force=True))

    def tear_down(self) -> list[str]:
        """Undo everything in reverse order; collect (never raise) what could not be removed."""
        problems = []
        for undo in reversed(self._undo):
            try:
                undo()
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                problems.append(str(exc))
        self._undo.clear()
        return problems


def build_zoo(b: ZooBuilder, bind_dir: Path) -> Zoo:
    api = b.api
    p = b.prefix
    sleep = ["sleep", "1000"]
    secret_value = f"s3cr3t-{secrets.token_hex(8)}"
    (bind_dir / "hello.txt").write_text("from the host\n")

    # Volumes first: `web` mounts the named one.
    named_volume = b.volume("data")
    spare_volume = b.volume("spare")

    created = b.container("created", sleep, start=False)
    web = b.container(
        "web",
        sleep,
        ports=[(80, "tcp"), (53, "udp"), (443, "tcp")],
        environment={"SECRET_TOKEN": secret_value, "GREETING": "hello"},
        labels={"team": "payments", "tier": "front"},
        host_config=api.create_host_config(
            # 80/tcp on loopback, 53/udp on every interface, both to random host ports; 443/tcp only exposed.
            port_bindings={"80/tcp": ("127.0.0.1",), "53/udp": None},
            binds={
                named_volume: {"bind": "/data", "mode": "rw"},
                str(bind_dir): {"bind": "/srv/host", "mode": "ro"},
            },
        ),
    )
    exited0 = b.container("exited0", ["true"], volumes=["/data"])
    exited3 = b.container("exited3", ["sh", "-c", "exit 3"])
    paused = b.container("paused", sleep)
    restarting = b.container(
        "restarting",
        ["sh", "-c", "exit 1"],
        host_config=api.create_host_config(restart_policy={"Name": "always"}),
    )
    one_second = 1_000_000_000
    healthy = b.container(
        "healthy",
        sleep,
        healthcheck={"test": ["CMD-SHELL", "echo probe-ok"], "interval": one_second, "retries": 1},
    )
    unhealthy = b.container(
        "unhealthy",
        sleep,
        healthcheck={
            "test": ["CMD-SHELL", "echo probe-failed; false"],
            "interval": one_second,
            "retries": 1,
        },
    )
    quoted = b.container("quoted", ["sh", "-c", 'echo "hello world" && sleep 1000'])
    script = "; ".join(f"echo '{line}'" for line in LOG_LINES) + "; sleep 1000"
    logger = b.container("logger", ["sh", "-c", script])

    project = f"{p}shop"

    def compose_labels(service: str) -> dict[str, str]:
        return {
            "com.docker.compose.project": project,
            "com.docker.compose.service": service,
            "com.docker.compose.project.config_files": "/srv/shop/compose.yaml",
            "com.docker.compose.project.working_dir": "/srv/shop",
            "com.docker.compose.container-number": "1",
            "com.docker.compose.oneoff": "False",
        }

    shop_db = b.container("shop-db-1", ["true"], labels=compose_labels("db"))
    shop_web = b.container("shop-web-1", sleep, labels=compose_labels("web"))

    # Images: an extra tag on the test image; one committed image with three tags; one dangling import.
    base_tag = b.tag(b.image, f"{p}base", "1.0")
    app_id = str(api.commit(created, repository=f"{p}app", tag="1.0", pause=False)["Id"])
    b.image_by_id(app_id)
    app_tags = (f"{p}app:1.0", b.tag(app_id, f"{p}app", "latest"), b.tag(app_id, f"{p}other", "2"))
    dangling_id = _imported_id(api.import_image_from_data(_tiny_tar(f"dangling {p}\n")))
    b.image_by_id(dangling_id)

    # Now wait for every state; the slowest (health checks, restart back-off) run concurrently meanwhile.
    api.pause(paused)
    wait_until(f"{paused} is paused", lambda: bool(_state(api, paused)["Paused"]))
    for name, code in ((exited0, 0), (exited3, 3), (shop_db, 0)):
        wait_until(
            f"{name} exited {code}",
            lambda name=name, code=code: (
                _state(api, name)["Status"] == "exited" and _state(api, name)["ExitCode"] == code
            ),
        )
    wait_until(f"{healthy} is healthy", lambda: _health(api, healthy) == "healthy")
    wait_until(f"{unhealthy} is unhealthy", lambda: _health(api, unhealthy) == "unhealthy")
    wait_until(
        f"{restarting} restarted twice",
        lambda: int(api.inspect_container(restarting)["RestartCount"]) >= 2,
    )
    wait_until(
        f"{logger} printed its lines",
        lambda: LOG_LINES[-1] in api.logs(logger, stdout=True, stderr=True).decode(),
    )
    for name in (web, paused, healthy, unhealthy, quoted, logger, shop_web):
        assert _state(api, name)["Running"], f"zoo: {name} should be running"

    anonymous = [m["Name"] for m in api.inspect_container(exited0)["Mounts"] if m["Type"] == "volume"]
    assert len(anonymous) == 1, f"zoo: {exited0} should hold one anonymous volume, has {anonymous}"

    names = (created, web, exited0, exited3, paused, restarting, healthy, unhealthy, quoted, logger)
    names += (shop_web, shop_db)
    return Zoo(
        prefix=p,
        container_ids=tuple(str(api.inspect_container(name)["Id"]) for name in names),
        secret_value=secret_value,
        bind_dir=bind_dir,
        created=created,
        web=web,
        exited0=exited0,
        exited3=exited3,
        paused=paused,
        restarting=restarting,
        healthy=healthy,
        unhealthy=unhealthy,
        quoted=quoted,
        logger=logger,
        shop_web=shop_web,
        shop_db=shop_db,
        base_tag=base_tag,
        app_id=app_id,
        app_tags=app_tags,
        dangling_id=dangling_id,
        named_volume=named_volume,
        spare_volume=spare_volume,
        anonymous_volume=anonymous[0],
    )


# ---- scratch objects of one test (mutations) ------------------------------------------------------------

SCRATCH_LABEL = "ctest.scratch"
SLEEP = ["sleep", "1000"]


class Scratch:
    """Objects of one test: `ctest-<hex>-…` names, all labelled; removed afterwards, whatever happened."""

    def __init__(self, api: docker.APIClient, image: str) -> None:
        self.api = api
        self.image = image
        self.token = secrets.token_hex(4)
        self.prefix = f"ctest-{self.token}-"
        self.label = f"{SCRATCH_LABEL}={self.token}"
        self.labels = {SCRATCH_LABEL: self.token}
        self.images: list[str] = []
        self.volumes: list[str] = []

    def container(
        self, suffix: str, command: list[str] | None = None, *, start: bool = True, **kw: Any
    ) -> str:
        name = self.prefix + suffix
        labels = {**self.labels, **kw.pop("labels", {})}
        self.api.create_container(self.image, command or SLEEP, name=name, labels=labels, **kw)
        if start:
            self.api.start(name)
        return name

    def exited(self, suffix: str, **kw: Any) -> str:
        name = self.container(suffix, ["true"], **kw)
        self.api.wait(name, timeout=30)
        return name

    def commit(self, source: str, repository: str | None = None, tag: str | None = None) -> str:
        """A new image (own ID, labelled) from `source`, tagged `repository:tag` when given."""
        image_id = str(
            self.api.commit(source, repository=repository, tag=tag, conf={"Labels": self.labels})["Id"]
        )
        self.images.append(image_id)
        return image_id

    def volume(self, suffix: str | None = None) -> str:
        name = str(
            self.api.create_volume(self.prefix + suffix if suffix else None, labels=self.labels)["Name"]
        )
        self.volumes.append(name)
        return name

    def network(self, suffix: str) -> str:
        return str(self.api.create_network(self.prefix + suffix, labels=self.labels)["Id"])

    def container_ids(self, *, all: bool = True) -> set[str]:
        return {c["Id"] for c in self.api.containers(all=all, filters={"label": [self.label]})}

    def image_ids(self) -> set[str]:
        return {i["Id"] for i in self.api.images(all=True, filters={"label": [self.label]})}

    def volume_names(self) -> set[str]:
        return {v["Name"] for v in self.api.volumes(filters={"label": [self.label]})["Volumes"] or ()}

    def network_ids(self) -> set[str]:
        return {n["Id"] for n in self.api.networks(filters={"label": [self.label]})}

    def tear_down(self) -> None:
        with contextlib.suppress(docker.errors.APIError):
            for cid in self.container_ids():
                self.api.remove_container(cid, force=True, v=True)
        for image_id in [*self.image_ids(), *reversed(self.images)]:
            with contextlib.suppress(docker.errors.APIError):
                self.api.remove_image(image_id, force=True)
        for name in {*self.volume_names(), *self.volumes}:
            with contextlib.suppress(docker.errors.APIError):
                self.api.remove_volume(name, force=True)
        for nid in self.network_ids():
            with contextlib.suppress(docker.errors.APIError):
                self.api.remove_network(nid)


def command(text: str) -> tuple[Command, Args]:
    """The command and validated args the parser makes of `text`."""
    (parsed,) = parse(text)
    return parsed, parsed.args


def plan_of(engine: Engine, text: str) -> Plan:
    """The plan the catalog's planner for `text` makes (what the policy is shown)."""
    parsed, _ = command(text)
    plan = Authorizer.plan(engine, parsed, text)
    assert plan is not None, text
    return plan


def run(engine: Engine, text: str) -> Change:
    """Plan `text`, then run exactly that plan (as the router does once the policy allowed it)."""
    parsed, args = command(text)
    handler = parsed.spec.handler
    assert isinstance(handler, Act), text
    result = handler.run(engine, args, plan_of(engine, text), None)
    assert isinstance(result, Change)
    return result


def lines(result: Change) -> tuple[str, ...]:
    """The lines the Docker CLI prints for what the command did, as every door shows them."""
    return tuple(cli_lines(result))


def state(api: docker.APIClient, name: str) -> dict[str, Any]:
    result: dict[str, Any] = api.inspect_container(name)["State"]
    return result


def ids_of(plan: Plan, kind: str) -> set[str]:
    return {t.id for t in plan.targets if t.kind == kind}


# ---- the local shell as a process, under a policy file --------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def shell_env(tmp_path: Path, policy: str) -> dict[str, str]:
    """The test's environment without Slack or bot settings, plus a config file holding `policy` and a
    state file and history of the test's own."""
    config = tmp_path / "chatops.toml"
    config.write_text(policy, encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CHATOPS_"))}
    return {
        **base,
        "PYTHONPATH": str(ROOT),
        "CHATOPS_CONFIG": str(config),
        "CHATOPS_STATE_PATH": str(tmp_path / "state.db"),
        "CHATOPS_HISTORY_FILE": str(tmp_path / "history"),
    }


def shell(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot shell ARGS` to its end."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "shell", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT / "tests",
    )
