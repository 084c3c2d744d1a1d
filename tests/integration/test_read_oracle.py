"""`port`, `top`, `image history` and `images PATTERN` against the Docker CLI on the same engine: the bot's
lines are the CLI's, cell by cell (ages, CPU and TIME may tick between two looks; see _oracle.compare)."""

from __future__ import annotations

from dataclasses import dataclass

import docker
import pytest

from ._oracle import HEADERS, _run, compare, run_bot, run_docker
from .world import Scratch

LONG_STEP = "echo hi > /f; dd if=/dev/zero of=/big bs=1k count=300 2>/dev/null; echo done with it"


@dataclass(frozen=True)
class Scene:
    """A running container with published ports, and a two-layer image tagged `<prefix>hist:1`."""

    web: str
    stopped: str
    repo: str
    image: str


@pytest.fixture
def scene(scratch: Scratch, docker_api: docker.APIClient) -> Scene:
    bindings = {80: None, 900: None, "53/udp": ("127.0.0.1",)}
    web = scratch.prefix + "web"
    docker_api.create_container(
        scratch.image,
        ["sleep", "300"],
        name=web,
        labels=scratch.labels,
        ports=[80, 900, (53, "udp")],
        host_config=docker_api.create_host_config(port_bindings=bindings),
    )
    docker_api.start(web)
    stopped = scratch.container("stopped", start=False)
    builder = scratch.container("builder", ["sh", "-c", LONG_STEP])
    docker_api.wait(builder, timeout=30)
    repo = scratch.prefix + "hist"
    first = docker_api.commit(
        builder, repository=repo, tag="0", message="first layer", conf={"Labels": scratch.labels}
    )
    scratch.images.append(str(first["Id"]))
    second_source = scratch.prefix + "second"
    docker_api.create_container(
        f"{repo}:0", ["sh", "-c", "echo two > /g"], name=second_source, labels=scratch.labels
    )
    docker_api.start(second_source)
    docker_api.wait(second_source, timeout=30)
    second = docker_api.commit(second_source, repository=repo, tag="1", conf={"Labels": scratch.labels})
    scratch.images.append(str(second["Id"]))
    return Scene(web=web, stopped=stopped, repo=repo, image=f"{repo}:1")


def _bot_lines(text: str) -> list[str]:
    run = run_bot(text)
    assert run.returncode == 0, run.describe()
    return run.stdout.splitlines()


@pytest.mark.parametrize("private", [None, "80", "80/tcp", "900", "53/udp"])
def test_port_prints_what_docker_port_prints(scene: Scene, private: str | None) -> None:
    args = [scene.web] if private is None else [scene.web, private]
    docker_lines = run_docker("port", *args).stdout.splitlines()
    assert docker_lines, "the scene publishes ports"
    assert _bot_lines(" ".join(["port", *args])) == docker_lines
    assert _bot_lines(" ".join(["container port", *args])) == docker_lines


@pytest.mark.parametrize("private", ["81", "53", "80/udp", "080"])
def test_port_not_published_is_the_clis_error(scene: Scene, private: str) -> None:
    docker = _run(["docker", "port", scene.web, private])
    bot = run_bot(f"port {scene.web} {private}")
    assert docker.returncode == bot.returncode == 1, bot.describe()
    wanted = f"No public port '{private}' published for {scene.web}"
    assert wanted in docker.stderr
    assert f"error: {wanted}" in bot.output, bot.describe()


def test_top_is_docker_top(scene: Scene) -> None:
    comparison = compare(("top", scene.web), f"top {scene.web}", "UID")
    assert not comparison.mismatches, comparison.explain()
    assert comparison.bot[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert comparison.bot[1].startswith("root ")
    assert comparison.bot[1].endswith("sleep 300")
    again = compare(("container", "top", scene.web), f"container top {scene.web}", "UID")
    assert not again.mismatches, again.explain()


def test_top_of_a_stopped_container_is_the_daemons_refusal(scene: Scene) -> None:
    docker = _run(["docker", "top", scene.stopped])
    bot = run_bot(f"top {scene.stopped}")
    assert docker.returncode != 0
    assert bot.returncode != 0, bot.describe()
    assert "is not running" in docker.stderr
    assert "is not running" in bot.output, bot.describe()


def test_top_takes_no_ps_options(scene: Scene) -> None:
    bot = run_bot(f"top {scene.web} aux")
    assert bot.returncode == 2, bot.describe()
    assert "requires exactly 1 argument" in bot.output


@pytest.mark.parametrize(
    ("docker_args", "bot_args"),
    [
        ((), ""),
        (("--no-trunc",), "--no-trunc"),
        (("--human=false",), "--human=false"),
    ],
)
def test_history_is_docker_history(scene: Scene, docker_args: tuple[str, ...], bot_args: str) -> None:
    comparison = compare(("history", *docker_args, scene.image), f"history {bot_args} {scene.image}", "IMAGE")
    assert not comparison.mismatches, comparison.explain()
    assert len(comparison.bot) == 4  # header, two commits, the busybox import
    shown = "\n".join(comparison.bot)
    assert "first layer" in shown
    assert "Imported from -" in shown
    if not docker_args:
        assert "…" in comparison.bot[2]  # the long step, cut to 45 columns


@pytest.mark.parametrize("flags", [("-q",), ("-q", "--no-trunc")])
def test_history_quiet_is_docker_history_quiet(scene: Scene, flags: tuple[str, ...]) -> None:
    docker_lines = run_docker("history", *flags, scene.image).stdout.splitlines()
    assert len(docker_lines) == 3
    assert _bot_lines(f"image history {' '.join(flags)} {scene.image}") == docker_lines


def test_images_patterns_are_docker_images_patterns(scene: Scene) -> None:
    for pattern in (f"{scene.repo[:-2]}*", f"{scene.repo}:*", f"{scene.repo}:1", "*/nothing-here-*"):
        comparison = compare(("images", pattern), f"images '{pattern}'", HEADERS["images"])
        assert not comparison.mismatches, comparison.explain()
    found = compare(("images", f"{scene.repo}:*"), f"images '{scene.repo}:*'", HEADERS["images"])
    assert len(found.bot) == 3, found.explain()
