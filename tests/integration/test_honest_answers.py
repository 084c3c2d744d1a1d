"""Answers that say what is true: a typo is "No such container" for everyone, a plan Docker will refuse is
refused before anyone confirms it (with the way out), a prune with nothing to take asks nothing, and the
kill plan names its signal. Each is a reproduction from a new user's first hour, through the real shell."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .world import shell, shell_env

ROOT = Path(__file__).resolve().parents[2]
POLICY = """
[roles.operator]
allow = ["read", "operate"]
[[bindings]]
role = "operator"
users = ["U0OPS"]
channels = ["C0OPS"]
containers = ["ctest-*-mine*"]
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return shell_env(tmp_path, POLICY)


@pytest.fixture
def running(docker_api: Any, test_image: str, unique_name: Any) -> Iterator[str]:
    name = unique_name("honest")
    docker_api.create_container(test_image, ["sleep", "1000"], name=name)
    docker_api.start(name)
    yield name
    docker_api.remove_container(name, force=True)


def shell_c(env: dict[str, str], text: str, *identity: str) -> subprocess.CompletedProcess[str]:
    return shell(env, *identity, "-c", text)


OPS = ("--as", "U0OPS", "--channel", "C0OPS")


@pytest.mark.parametrize("identity", [(), OPS], ids=["local", "scoped operator"])
def test_a_missing_container_is_no_such_container_for_everyone(
    env: dict[str, str], identity: tuple[str, ...]
) -> None:
    result = shell_c(env, "restart ctest-gone-nowhere", *identity)
    assert result.returncode == 1, result.stderr
    assert "No such container: ctest-gone-nowhere" in result.stderr
    assert "denied" not in result.stderr


def test_an_existing_container_outside_the_scope_stays_denied(env: dict[str, str], running: str) -> None:
    result = shell_c(env, f"restart {running}", *OPS)
    assert result.returncode == 3
    assert result.stderr.startswith("denied: restart needs")


def test_rm_of_a_running_container_is_refused_before_any_confirmation(
    env: dict[str, str], running: str, docker_api: Any
) -> None:
    result = shell_c(env, f"rm {running}")
    assert result.returncode == 1
    assert "Confirm" not in result.stdout + result.stderr
    assert f"{running}: running: docker refuses to remove it without -f" in result.stderr
    assert f"hint: nothing ran; first: stop {running} && rm {running}" in result.stderr
    assert docker_api.inspect_container(running)["State"]["Running"]


def test_the_way_out_as_a_chain_is_planned_not_refused(env: dict[str, str], running: str) -> None:
    """`stop X && rm X`: the rm is judged after the stop, so the chain goes to its confirmation."""
    result = shell_c(env, f"stop {running} && rm {running}")
    assert result.returncode == 4, result.stderr
    assert "Confirm to go ahead" in result.stdout


def test_a_prune_with_nothing_to_take_asks_nothing(env: dict[str, str]) -> None:
    result = shell_c(env, "container prune --filter label=ctest.honest=nothing-has-this")
    assert result.returncode == 0, result.stderr
    assert "Confirm" not in result.stdout
    assert result.stdout.startswith("container prune: nothing to remove")


def test_the_kill_plan_names_its_signal(env: dict[str, str], running: str) -> None:
    result = shell_c(env, f"kill -s HUP {running}")
    assert result.returncode == 4
    assert "This will send HUP to 1 container" in result.stdout
    bad = shell_c(env, f"kill -s FOO {running}")
    assert bad.returncode == 2
    assert "invalid signal: FOO" in bad.stderr
    assert "Confirm" not in bad.stdout
