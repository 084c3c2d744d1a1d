"""A second, throw-away dockerd beside the test engine: another Docker host that tests may stop and start.

The main engine is never disturbed. As FACTS.md says, the second daemon gets its own `--host` (a unix
socket), `--data-root`, `--exec-root`, `--pidfile`, `--iptables=false` and its own pre-created bridge
(`--bridge NAME`): never `--bridge none`, which deletes the main daemon's docker0. Its config file is an empty
one of its own, so /etc/docker/daemon.json cannot leak in.

Everything lives under `/tmp/ctd-<token>/` (short: a unix socket path must stay under 108 bytes) and the
bridge is `ctd<token>`. The owner's pid is written next to it: `clean_debris()` removes what runs whose owner
is gone left behind (the daemon, found by its pidfile, gets SIGTERM), and leaves a live run's daemon alone.

    daemon = SecondDaemon()
    try:
        daemon.start()
        daemon.load_image(main_api, "chatops-test/busybox:latest")
        api = daemon.api()
        ...
        daemon.stop()   # SIGTERM, wait: running containers are stopped by the daemon itself
        daemon.start()  # the same data root: containers, images and restart policies come back
    finally:
        daemon.teardown()  # containers, daemon, bridge, directories
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import docker
import docker.errors

BASE = Path("/tmp")  # noqa: S108 - short paths (socket length limit); names are unique, dirs 0700
PREFIX = "ctd"
OWNER_FILE = "owner"
_TOKEN = re.compile(r"^[0-9a-f]{6}$")
_API_VERSION = "1.41"  # the oldest engine these tests run on; every newer one speaks it too


class SecondDaemon:
    """One extra dockerd with its own socket, directories and bridge; `teardown()` removes all of it."""

    def __init__(self, base: Path = BASE) -> None:
        clean_debris(base)
        self.token = secrets.token_hex(3)
        self.root = base / f"{PREFIX}-{self.token}"
        self.bridge = f"{PREFIX}{self.token}"  # at most 15 characters (IFNAMSIZ)
        self.socket = self.root / "d.sock"
        self.data_root = self.root / "data"
        self.exec_root = self.root / "x"
        self.pidfile = self.root / "d.pid"
        self.config = self.root / "daemon.json"
        self.log = self.root / "dockerd.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._clients: list[Any] = []
        self._bridge_made = False
        self.root.mkdir(mode=0o700)
        (self.root / OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")
        self.config.write_text("{}\n", encoding="ascii")

    @property
    def url(self) -> str:
        """The daemon's address for docker-py and the bot: `unix:///tmp/ctd-…/d.sock`."""
        return f"unix://{self.socket}"

    # ---- lifecycle ---------------------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> None:
        """Start dockerd (again, on the same data root) and wait until it answers `/_ping`."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"the second daemon {self.token} is already running")
        if not self._bridge_made:
            _make_bridge(self.bridge)
            self._bridge_made = True
        command = [
            shutil.which("dockerd") or "dockerd",
            f"--host={self.url}",
            f"--data-root={self.data_root}",
            f"--exec-root={self.exec_root}",
            f"--pidfile={self.pidfile}",
            f"--config-file={self.config}",
            f"--bridge={self.bridge}",
            "--iptables=false",
            "--ip-forward=false",
        ]
        with self.log.open("ab") as log:
            log.write(f"--- start {self.starts + 1}: {' '.join(command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C meant for pytest must not hit it; teardown stops it
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while not _pings(self.socket):
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the second dockerd exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"the second dockerd did not answer in {timeout} s:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, wait for the exit (the daemon first stops its running containers); SIGKILL if stuck."""
        self.close_clients()
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def running(self) -> bool:
        """True while the daemon process is alive."""
        return self.process is not None and self.process.poll() is None

    def teardown(self) -> None:
        """Remove every container, stop the daemon, delete the bridge and the directories. Safe twice."""
        if self.running():
            with contextlib.suppress(Exception):
                self.remove_containers()
        self.stop()
        if self._bridge_made:
            _delete_bridge(self.bridge)
            self._bridge_made = False
        _remove_tree(self.root)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.teardown()

    # ---- talking to it -----------------------------------------------------------------------------------

    def api(self, timeout: float = 30.0) -> Any:
        """A new low-level client of this daemon; closed by stop() and teardown()."""
        client = docker.APIClient(base_url=self.url, version=_API_VERSION, timeout=timeout)
        self._clients.append(client)
        return client

    def close_clients(self) -> None:
        """Close every client api() handed out."""
        clients, self._clients = self._clients, []
        for client in clients:
            client.close()

    def load_image(self, source_api: Any, image: str) -> None:
        """Copy `image` from the engine behind `source_api` into this daemon (`get_image` → `load_image`)."""
        data = b"".join(source_api.get_image(image))
        api = self.api(timeout=120.0)
        for message in api.load_image(data):
            if isinstance(message, dict) and message.get("error"):
                raise RuntimeError(f"loading {image} into the second daemon: {message['error']}")
        api.inspect_image(image)  # raises ImageNotFound when the load silently did nothing

    def remove_containers(self) -> None:
        """Force-remove every container of this daemon."""
        api = self.api()
        for container in api.containers(all=True):
            with contextlib.suppress(docker.errors.NotFound):
                api.remove_container(container["Id"], force=True)

    def log_tail(self, lines: int = 30) -> str:
        """The end of the daemon's log, for failure messages."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


# ---- the pieces ----------------------------------------------------------------------------------------


def _pings(path: Path) -> bool:
    """True when a daemon answers `GET /_ping` with 200 on this unix socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2.0)
        try:
            probe.connect(str(path))
            probe.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            answer = probe.recv(256)
        except OSError:
            return False
    return answer.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200"))


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def _used_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network an address or a route of this machine covers."""
    used: list[ipaddress.IPv4Network] = []
    for entry in json.loads(_ip("-j", "-4", "addr").stdout or "[]"):
        for info in entry.get("addr_info", []):
            used.append(ipaddress.IPv4Network(f"{info['local']}/{info['prefixlen']}", strict=False))
    for route in json.loads(_ip("-j", "-4", "route").stdout or "[]"):
        destination = route.get("dst", "")
        if destination and destination != "default":
            used.append(ipaddress.IPv4Network(destination, strict=False))
    return used


def _make_bridge(name: str) -> None:
    """`ip link add NAME type bridge`, a free 10.x.y.1/24 on it, up."""
    used = _used_networks()
    chooser = random.SystemRandom()
    for _ in range(100):
        network = ipaddress.IPv4Network(f"10.{chooser.randint(200, 250)}.{chooser.randint(0, 255)}.0/24")
        if not any(network.overlaps(other) for other in used):
            break
    else:
        raise RuntimeError("no free 10.x.y.0/24 for the second daemon's bridge")
    _ip("link", "add", name, "type", "bridge")
    try:
        _ip("addr", "add", f"{network.network_address + 1}/24", "dev", name)
        _ip("link", "set", name, "up")
    except BaseException:
        _delete_bridge(name)
        raise


def _delete_bridge(name: str) -> None:
    _ip("link", "del", name, check=False)


def _mounts_under(root: Path) -> list[str]:
    """Mount points at or below `root`, deepest first."""
    found: list[str] = []
    with contextlib.suppress(OSError), Path("/proc/self/mountinfo").open(encoding="utf-8") as mounts:
        for line in mounts:
            point = line.split()[4].replace("\\040", " ")
            if point == str(root) or point.startswith(f"{root}/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def _remove_tree(root: Path) -> None:
    """Unmount whatever a killed daemon left mounted below `root`, then delete it."""
    for point in _mounts_under(root):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False, timeout=30)
    shutil.rmtree(root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def clean_debris(base: Path = BASE) -> None:
    """Remove second daemons, bridges and directories whose owning test process no longer runs."""
    for root in base.glob(f"{PREFIX}-*"):
        if not _TOKEN.match(root.name.removeprefix(f"{PREFIX}-")):
            continue
        owner = _read_pid(root / OWNER_FILE)
        if owner is not None and _alive(owner):
            continue  # another test run is using it right now
        token = root.name.removeprefix(f"{PREFIX}-")
        daemon = _read_pid(root / "d.pid")
        if daemon is not None and _alive(daemon) and str(root) in _cmdline(daemon):
            os.kill(daemon, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while _alive(daemon) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(daemon):
                os.kill(daemon, signal.SIGKILL)
        _delete_bridge(f"{PREFIX}{token}")
        _remove_tree(root)
    for entry in json.loads(_ip("-j", "link", "show", "type", "bridge").stdout or "[]"):
        name = str(entry.get("ifname", ""))
        token = name.removeprefix(PREFIX)
        if name.startswith(PREFIX) and _TOKEN.match(token) and not (base / f"{PREFIX}-{token}").exists():
            _delete_bridge(name)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
