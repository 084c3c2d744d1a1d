"""A real local image registry for pull tests (Debian's `docker-registry` on 127.0.0.1) and images to push."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import requests


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_registry(root: Path) -> Iterator[str]:
    """Run `docker-registry` with its own storage under `root`; yields `127.0.0.1:PORT` while it runs.

    The engine trusts 127.0.0.0/8 registries over plain HTTP by default. CI installs the binary
    (scripts/lib.sh); without it, CI fails and a developer's run skips, saying why.
    """
    binary = shutil.which("docker-registry")
    if binary is None:
        message = "the docker-registry binary is missing (apt-get install docker-registry)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI=true: scripts/lib.sh installs it with the engine")
        pytest.skip(message)
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = (root / "registry.log").open("w")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    try:
        _wait_for_registry(address, process, root / "registry.log")
        yield address
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for_registry(address: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"docker-registry exited with {process.returncode}: {log.read_text()[-2000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"http://{address}/v2/", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"docker-registry did not answer on {address} within 20 s: {log.read_text()[-2000:]}")


def unique_layer_image(api: docker.APIClient, ref: str) -> str:
    """An image with a layer of its own (random content, 3 MB), so that a pull really downloads."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = os.urandom(3_000_000)
        info = tarfile.TarInfo("blob.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    repository, tag = ref.rsplit(":", 1)
    answer = api.import_image_from_data(buffer.getvalue(), repository=repository, tag=tag)
    for line in reversed(str(answer).splitlines()):
        status = json.loads(line).get("status", "")
        if status.startswith("sha256:"):
            return str(status)
    pytest.fail(f"docker import answered no image id: {answer!r}")
