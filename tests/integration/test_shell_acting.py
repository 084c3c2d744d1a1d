"""Acting from the local shell: identities under a policy, exit codes, --yes, the REPL's y/N, audit export."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .world import ROOT, shell, shell_env

POLICY = """
[roles.operator]
allow = ["read", "operate"]
[[bindings]]
role = "operator"
users = ["U0OPS"]
channels = ["C0OPS"]
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return shell_env(tmp_path, POLICY)


@pytest.fixture
def stopped(docker_api: Any, test_image: str, unique_name: Any) -> Iterator[str]:
    name = unique_name("shellrm")
    docker_api.create_container(test_image, ["true"], name=name)
    yield name
    if docker_api.containers(all=True, filters={"name": f"^/{name}$"}):
        docker_api.remove_container(name, force=True)


def exists(docker_api: Any, name: str) -> bool:
    return bool(docker_api.containers(all=True, filters={"name": f"^/{name}$"}))


def test_identities_exit_codes_and_yes(env: dict[str, str], docker_api: Any, stopped: str) -> None:
    """As U0OPS rm is denied (3); locally it needs confirmation (4); with --yes it runs (0)."""
    denied = shell(env, "--as", "U0OPS", "--channel", "C0OPS", "-c", f"rm {stopped}")
    assert denied.returncode == 3
    assert f'denied: rm needs "remove" on {stopped}' in denied.stderr
    assert "you (U0OPS) have" in denied.stderr  # the shell shows IDs, not Slack's <@…>
    plan = shell(env, "-c", f"rm {stopped}")
    assert plan.returncode == 4
    assert stopped in plan.stdout
    assert "nothing has run yet" in plan.stdout
    assert exists(docker_api, stopped)
    question = shell(
        env, "--as", "U0OPS", "--channel", "C0OPS", "-c", f"can-i start {stopped} && rm {stopped}"
    )
    assert question.returncode == 0
    assert f"yes: start {stopped}" in question.stdout
    assert f"no: rm {stopped}" in question.stdout
    done = shell(env, "--yes", "-c", f"rm {stopped}")
    assert done.returncode == 0, done.stderr
    assert not exists(docker_api, stopped)
    rows = [
        json.loads(line)
        for line in subprocess.run(
            [sys.executable, "-m", "bot", "audit", "export"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            cwd=ROOT / "tests",
        ).stdout.splitlines()
    ]
    assert [(r["user_id"], r["decision"], r["outcome"]) for r in rows] == [
        ("U0OPS", "denied", "denied"),
        ("local", "allowed", "needs_confirmation"),
        ("U0OPS", "allowed", "ok"),
        ("local", "allowed", "ok"),
    ]
    assert rows[3]["plan_hash"] == rows[1]["plan_hash"]


def test_repl_asks_before_a_plan_runs(env: dict[str, str], docker_api: Any, stopped: str) -> None:
    """In the REPL a plan asks "Proceed? [y/N]": n says "cancelled" and keeps the container, y removes it."""
    controller, terminal = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "shell"],
        env={**env, "TERM": "dumb"},
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=ROOT / "tests",
        close_fds=True,
    )
    os.close(terminal)
    seen = b""

    def expect(text: str, timeout: float = 20) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while text.encode() not in seen:
            ready, _, _ = select.select([controller], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"never saw {text!r}; got {seen.decode(errors='replace')[-2000:]}")
            seen += os.read(controller, 65536)
        seen = seen.split(text.encode(), 1)[1]

    try:
        expect("docker@local> ")
        os.write(controller, f"rm {stopped}\n".encode())
        expect("Proceed? [y/N] ")
        os.write(controller, b"n\n")
        expect("cancelled: nothing ran")
        expect("docker@local> ")
        assert exists(docker_api, stopped)
        os.write(controller, f"rm {stopped}\n".encode())
        expect("Proceed? [y/N] ")
        os.write(controller, b"y\n")
        expect("docker@local> ")
        assert not exists(docker_api, stopped)
        os.write(controller, b"exit\n")
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
