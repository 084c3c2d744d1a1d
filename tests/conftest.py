"""Root fixtures: an isolated config environment, the Docker engine, the local test image, unique names.

With CI=true a missing Docker engine fails the run; on a developer machine without one the tests that
need it (tests/integration, tests/e2e) are skipped and the unit and component tests still run.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import secrets
import shutil
import socket
import struct
import subprocess
import tarfile
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import docker
import hypothesis
import pytest
import requests
from local_registry import serve_registry

TEST_IMAGE = "chatops-test/busybox:latest"
# Bump with TEST_IMAGE_RECIPE in scripts/lib.sh when the recipe below changes: stale images get rebuilt.
TEST_IMAGE_RECIPE = "1"
RECIPE_LABEL = "chatops.test-image.recipe"
ACCOUNT_FILES = {  # root, and "nobody" for tests of --user
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "etc/group": "root:x:0:\nnogroup:x:65534:\n",
}
TIERS = ("unit", "component", "integration", "e2e")  # each folder under tests/ and its marker
ISOLATED_PREFIXES = ("SLACK_", "CHATOPS_")


def _in_ci() -> bool:
    return os.environ.get("CI") == "true"


# Property tests: each sets its own max_examples where 100 is not right, and CI runs the same numbers. No
# example has a deadline: on a shared 2-CPU machine one slow example is load, not a regression (the speed
# tests measure speed). Under CI=true the base is Hypothesis's own "ci" profile: derandomized, no database.
hypothesis.settings.register_profile("chatops", deadline=None)
hypothesis.settings.register_profile("chatops-ci", hypothesis.settings.get_profile("ci"), deadline=None)
hypothesis.settings.load_profile("chatops-ci" if _in_ci() else "chatops")


def _no_engine(message: str) -> NoReturn:
    """CI must never skip what needs Docker; a developer without Docker still runs the unit tests."""
    if _in_ci():
        pytest.fail(f"{message} (CI=true: a Docker engine is required; ./scripts/test starts one as root)")
    pytest.skip(f"{message}; run ./scripts/test as root, or start Docker / set DOCKER_HOST")


def pytest_configure(config: pytest.Config) -> None:
    """Tests see no Slack or ChatOps settings from the developer's shell (DOCKER_HOST stays).

    Done here rather than in a fixture so that collection-time imports see the cleaned environment too.
    """
    for name in [n for n in os.environ if n.startswith(ISOLATED_PREFIXES)]:
        del os.environ[name]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test gets the marker of its tier folder (tests/unit -> `unit`…), so `-m unit` or
    `-m "not e2e"` select by tier; a test outside the four folders is an error, not a silent extra."""
    root = Path(__file__).parent
    for item in items:
        tier = item.path.relative_to(root).parts[0] if item.path.is_relative_to(root) else ""
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in one of tests/{{{','.join(TIERS)}}}")
        item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def docker_api() -> Iterator[Any]:
    """A low-level `docker.APIClient` (timeout 30 s) to the engine of DOCKER_HOST or the default socket."""
    api, reason = _connect()
    if api is None:
        _no_engine(
            f"no Docker engine answers at {os.environ.get('DOCKER_HOST') or 'the default socket'}: {reason}"
        )
    yield api
    api.close()


def _connect() -> tuple[Any, str]:
    """(client, "") when the engine answers a ping, else (None, why not)."""
    with warnings.catch_warnings():
        # docker-py leaves the socket of a failed connect to the garbage collector: keep its ResourceWarning
        # (an error under filterwarnings=error) from surfacing later in some unrelated test.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            api = docker.APIClient(**docker.utils.kwargs_from_env(), timeout=30)
            api.ping()
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as error:
            reason = str(error) or type(error).__name__
        else:
            return api, ""
        gc.collect()
    return None, reason


@pytest.fixture(scope="session")
def test_image(docker_api: Any) -> str:
    """The local busybox image tests run containers from; built with `docker import` when missing."""
    try:
        labels = docker_api.inspect_image(TEST_IMAGE)["Config"].get("Labels") or {}
    except docker.errors.ImageNotFound:
        labels = {}
    if labels.get(RECIPE_LABEL) != TEST_IMAGE_RECIPE:
        _build_test_image(docker_api)
    return TEST_IMAGE


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """A factory of names no other run can hold: unique_name("web") -> "ctest-3f9a01bc-web"."""

    def make(suffix: str = "") -> str:
        name = f"ctest-{secrets.token_hex(4)}"
        return f"{name}-{suffix}" if suffix else name

    return make


# --- the test image recipe (the same as make_test_image in scripts/lib.sh) ------------------------


def _build_test_image(api: Any) -> None:
    busybox = _static_busybox()
    if busybox is None:
        _no_engine(f"cannot build {TEST_IMAGE}: no static busybox found (apt-get install busybox-static)")
    applets = subprocess.run(
        [str(busybox), "--list"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.split()
    changes = ["ENV PATH=/bin", 'CMD ["sh"]', f"LABEL {RECIPE_LABEL}={TEST_IMAGE_RECIPE}"]
    repository, tag = TEST_IMAGE.rsplit(":", 1)
    api.import_image_from_data(_rootfs_tar(busybox, applets), repository=repository, tag=tag, changes=changes)


def _rootfs_tar(busybox: Path, applets: list[str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for directory, mode in (("bin", 0o755), ("etc", 0o755), ("root", 0o700), ("tmp", 0o1777)):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        tar.add(busybox.resolve(), arcname="bin/busybox")
        for applet in applets:
            if applet != "busybox":
                info = tarfile.TarInfo(f"bin/{applet}")
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, "busybox", 0o777
                tar.addfile(info)
        for path, text in ACCOUNT_FILES.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _static_busybox() -> Path | None:
    """The first busybox that is a statically linked ELF (no PT_INTERP): the image holds no libc."""
    found = shutil.which("busybox")
    for candidate in (Path("/bin/busybox"), Path("/usr/bin/busybox"), *([Path(found)] if found else [])):
        if candidate.is_file() and _is_static_elf(candidate):
            return candidate
    return None


def _is_static_elf(path: Path) -> bool:
    with path.open("rb") as file:
        header = file.read(64)
        if len(header) < 52 or header[:4] != b"\x7fELF":
            return False
        order = "<" if header[5] == 1 else ">"
        if header[4] == 2:  # 64-bit
            (phoff,) = struct.unpack_from(order + "Q", header, 0x20)
            phentsize, phnum = struct.unpack_from(order + "HH", header, 0x36)
        else:
            (phoff,) = struct.unpack_from(order + "I", header, 0x1C)
            phentsize, phnum = struct.unpack_from(order + "HH", header, 0x2A)
        file.seek(phoff)
        table = file.read(phentsize * phnum)
    pt_interp = 3
    return all(struct.unpack_from(order + "I", table, i * phentsize)[0] != pt_interp for i in range(phnum))


@pytest.fixture
def frozen_docker_socket(tmp_path: Path) -> Iterator[str]:
    """A Unix socket that accepts connections and never answers: a hung Docker engine (`unix://…`)."""
    path = tmp_path / "frozen.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(64)
    server.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                held.append(server.accept()[0])

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    yield f"unix://{path}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real local registry (`docker-registry` on 127.0.0.1:PORT) for pull tests; yields its address."""
    yield from serve_registry(tmp_path_factory.mktemp("registry"))
