"""The containers of one bench run: named and labelled after the run, removed by label, nobody else's touched.

Shared by `ps_scaling.py` and `events_throughput.py`, which add how their containers are made. The bench
scripts run as `python bench/NAME.py`, so this folder is on `sys.path` and they import it as `fleet`.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager, suppress
from typing import Any

import docker
import docker.errors

LABEL = "chatops.bench"


class Fleet:
    """One run's containers: named `bench-<run id>-…`, labelled `chatops.bench=<run id>`.

    `api()` gives each thread its own low-level client; `remove_all()` removes exactly this run's containers
    (by label, with the name prefix as a second guard) with `workers` threads; `close()` closes the clients.
    """

    def __init__(
        self, url: str, image: str, workers: int, *, timeout: float, run_id: str | None = None
    ) -> None:
        self.url = url
        self.image = image
        self.workers = workers
        self.timeout = timeout
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.prefix = f"bench-{self.run_id}-"
        self.label = f"{LABEL}={self.run_id}"
        self._local = threading.local()
        self._clients: list[Any] = []
        self._clients_lock = threading.Lock()

    def api(self) -> Any:
        """This thread's low-level client (docker-py does not promise thread safety)."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = docker.APIClient(base_url=self.url, version="auto", timeout=self.timeout)
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        return client

    def owned(self) -> list[str]:
        """The ids of this run's containers: by label, and by name prefix as a second guard."""
        listed = self.api().containers(all=True, filters={"label": [self.label]})
        return [
            c["Id"]
            for c in listed
            if (c.get("Labels") or {}).get(LABEL) == self.run_id
            and any(name.lstrip("/").startswith(self.prefix) for name in c.get("Names") or ())
        ]

    def _remove(self, container_id: str) -> None:
        with suppress(docker.errors.NotFound):
            self.api().remove_container(container_id, force=True)

    def remove_all(self) -> tuple[int, float]:
        """Remove every container of this run; returns (how many, seconds)."""
        started = time.perf_counter()
        ids = self.owned()
        with pool(self.workers) as executor:
            for future in as_completed([executor.submit(self._remove, i) for i in ids]):
                future.result()
        left = self.owned()
        if left:
            raise RuntimeError(f"{len(left)} containers labelled {self.label} are still there")
        return len(ids), time.perf_counter() - started

    def close(self) -> None:
        with self._clients_lock:
            for client in self._clients:
                client.close()


@contextmanager
def pool(workers: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that drops its queued work at once on Ctrl-C instead of finishing it."""
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench")
    try:
        yield executor
    except BaseException:
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ignore Ctrl-C while cleaning up, so that a second Ctrl-C cannot leave containers behind."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
