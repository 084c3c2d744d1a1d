"""How many Docker events per second go from the stream through the rules into the outbox, and how long the
event reader is held up by one event.

Two parts:

  (a) pipeline  in-process, no engine. The work the notification path does for every event, one event
                after the other on one thread: decode the event's JSON (docker-py does that on the reader
                thread), `DockerEvent.from_api`, `Rules.evaluate`, then what the watcher's deliverer does
                with each notification: `Rules.muted` (one read of a real mute `Store` on a temporary SQLite
                file, as the bot gives it), and `NotificationService.deliver`: `outgoing_messages` and
                `Outbox.enqueue` into a real `Outbox` on a temporary SQLite file. The events are realistic
                Engine API messages (Actor.Attributes with a dozen image labels, exitCode on `die`) for
                `--containers` (300) container ids that crash and restart (restart loops), turn unhealthy
                and recover, get OOM-killed, are restarted by hand, or live briefly (create … destroy), plus
                the odd image `delete`; four routes match some of them.
                The outbox is *started*, against the tests' fake Slack (`tests/fakes`, in this process): that
                is how the bot runs it, with one sender thread per channel waking on every enqueue and taking
                the same lock and SQLite file as `enqueue`, so their cost is in the figure. (Not starting it
                would time `enqueue` without the senders it competes with; an unroutable URL would turn every
                send into retries.) At one post per channel per second the fake is idle almost all the time.
                Each run gets a fresh rule state, mute store and outbox file; runs alternate between the
                garbage collector as Python sets it up and `gc.freeze()` called after start-up (every object
                alive then is moved out of the collector's sight, so a full collection has less to walk).

                Printed per run: events/s over the whole loop (the goal: at least 2,000), and per event the
                "reader" time (decode + parse + evaluate: what the watcher's reader thread does, minus its own
                bookkeeping) and the "pipeline" time (the reader time + muted + outgoing_messages + enqueue,
                which the bot does on the watcher's deliverer thread) as p50 / p99 / p99.9 / max.

  (b) watcher   a real `HostWatcher` on the real engine. Once it is connected (subscribed, listed,
                reconciled) `--batch` (300) containers with unique names and a bench label are created and
                started, `--workers` (8) at a time, by a child process (this same file with a hidden option:
                the generator's own docker-py threads must not compete with the reader for the GIL); each
                runs `true`, every fourth `false` (exit 1: a `died`
                notification, which the watcher sends to its enrichment pool for logs and inspect, off the
                reader thread). Each container makes create, start and die events; one route sends this run's
                `started`, `stopped` and `died` to a channel, and the sink is `NotificationService.deliver`'s
                two lines into a started outbox against the fake Slack. Two batches: the first with the
                collector as it is, then `gc.freeze()`, then the second.

                What is measured: a subclass of `HostWatcher` times every call of its `_handle(raw)`, which is
                everything the reader thread does for one decoded event: `from_api`, waiting for and holding
                the watcher's lock (the watchdog takes it too), dedupe, cursor, known states, pending
                re-list events, `Rules.evaluate`, and handing the notifications to the deliverer queue or the
                enrichment pool. Only the JSON decoding inside docker-py's stream iterator is outside it.
                A subclass of `Rules` times `evaluate` too (it runs inside `_handle`, under the lock; the
                watchdog calls it as well for re-listed changes), so rule time and lock/bookkeeping time can
                be told apart.
                The sink is wrapped to count and time what reaches it (on the deliverer thread). Printed:
                the batch's events handled per second (from the first bench event handled to the last; the
                engine's own pace bounds it, so the engine's span is printed next to it), the lag from an
                event's timeNano to its handling, notifications and messages enqueued, and the `_handle`
                times as p50 / p99 / p99.9 / max (the goal: max at most 10 ms).

Garbage collection: every collection is timed through `gc.callbacks` (all threads: a collection stops them
all) and the longest pause per generation is printed per run, so that a slow event can be told apart from a
collector pause. The bot's Slack modules are imported first (when they import) so that a full collection
walks about as many objects as it would in the bot, and the pause of one `gc.collect()` on that heap is
printed at the start, without and with `gc.freeze()`: a generation-2 collection is rare (CPython 3.11 runs one
only when the objects that survived younger collections exceed a quarter of the old ones), so a run may see
none, but when one lands on the reader it costs about that much.

Goals (PASS/FAIL): (a) median events/s ≥ 2,000; the longest reader time of (a) with the collector as Python
sets it up ≤ 10 ms; the longest `_handle` of (b) ≤ 10 ms (both batches). The exit status is 0 unless
`--strict` is given and a goal fails. The containers are named `bench-<run id>-bNNNN` and labelled
`chatops.bench=<run id>`; all of them, and only them, are removed at the end, also on Ctrl-C or SIGTERM.
`--skip-engine` runs (a) only. About 1 minute in all.

    .venv/bin/python bench/events_throughput.py [--events 20000] [--runs 6] [--batch 300] [--strict]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import docker
import docker.errors
from figures import goal, percentile, run_main  # bench/ is on sys.path: run as a script
from fleet import LABEL, Fleet, interrupts_deferred, pool
from slack_sdk import WebClient

from bot.engine import Host
from bot.models import Notification
from bot.notify.events import DockerEvent
from bot.notify.messages import outgoing_messages
from bot.notify.outbox import Outbox
from bot.notify.rules import Rules, RuleState
from bot.notify.watcher import HostWatcher, SqliteCursorStore
from bot.settings import FileConfig, NotifyConfig
from bot.store import Store

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fakes.web_api import FakeWebApi  # noqa: E402 - needs tests/ on sys.path

DEFAULT_IMAGE = "chatops-test/busybox:latest"
DEFAULT_URL = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
API_TIMEOUT = 60.0
HOST = "prod-1"
EVENTS_GOAL = 2000.0
BLOCK_GOAL_MS = 10.0
SETTLE_TIMEOUT = 60.0  # seconds to wait for a batch's events and notifications to arrive
BENCH_CHANNEL = "C0BENCH"


# --- measuring -------------------------------------------------------------------------------------------


class GcPauses:
    """Every garbage collection while installed, as (generation, seconds); a collection stops all threads."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: Mapping[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((int(info["generation"]), time.perf_counter() - self._started))

    @contextmanager
    def installed(self) -> Iterator[GcPauses]:
        gc.callbacks.append(self)
        try:
            yield self
        finally:
            gc.callbacks.remove(self)

    def describe(self) -> str:
        parts = []
        for generation in (0, 1, 2):
            times = [s for g, s in self.pauses if g == generation]
            longest = f"max {max(times) * 1000:.2f} ms" if times else "—"
            parts.append(f"gen{generation} ×{len(times)} {longest}")
        return "GC: " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Spread:
    """p50 / p99 / p99.9 / max of per-event times, in milliseconds."""

    p50: float
    p99: float
    p999: float
    max: float
    count: int

    @classmethod
    def of_ns(cls, values_ns: Sequence[int]) -> Spread:
        ms = sorted(v / 1e6 for v in values_ns)
        if not ms:
            return cls(math.nan, math.nan, math.nan, math.nan, 0)
        return cls(percentile(ms, 50), percentile(ms, 99), percentile(ms, 99.9), ms[-1], len(ms))

    def __str__(self) -> str:
        return f"p50 {span(self.p50)}  p99 {span(self.p99)}  p99.9 {span(self.p999)}  max {span(self.max)}"


def span(ms: float) -> str:
    """A duration given in ms, in µs below 1 ms."""
    return f"{ms * 1000:6.1f} µs" if ms < 1 else f"{ms:6.2f} ms"


def full_collection_ms(repeat: int = 5) -> tuple[float, float]:
    """The median pause of `gc.collect()` on this process's heap, as is and after `gc.freeze()`."""

    def median_pause() -> float:
        pauses = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            gc.collect()
            pauses.append((time.perf_counter() - t0) * 1000)
        return statistics.median(pauses)

    plain = median_pause()
    gc.freeze()
    try:
        frozen = median_pause()
    finally:
        gc.unfreeze()
    return plain, frozen


# --- the configuration -----------------------------------------------------------------------------------


def notify_config(extra_routes: Sequence[Mapping[str, Any]] = ()) -> NotifyConfig:
    """A `[notify]` section with four routes, validated as the bot validates its file."""
    routes: list[Mapping[str, Any]] = [
        {
            "channel": "C0PROD",
            "events": ["died", "oom", "unhealthy", "restart_loop", "recovered"],
            "containers": ["web-*", "api-*", "label:team=payments"],
        },
        {
            "channel": "C0OPS",
            "events": ["started", "stopped"],
            "hosts": ["prod-*"],
            "containers": ["project:shop"],
        },
        {"channel": "C0DB", "containers": ["db-*"]},
        {"channel": "C0IMAGES", "events": ["image_removed"]},
        *extra_routes,
    ]
    return FileConfig.model_validate({"notify": {"routes": routes}}).notify


# --- (a) the in-process pipeline -------------------------------------------------------------------------

IMAGE_LABELS = {
    "org.opencontainers.image.created": "2024-05-01T10:00:00Z",
    "org.opencontainers.image.revision": "3f2c9a1e5b7d4c8f9a0b1c2d3e4f5a6b7c8d9e0f",
    "org.opencontainers.image.source": "https://github.com/example/shop",
    "org.opencontainers.image.title": "shop",
    "org.opencontainers.image.version": "1.42.0",
    "maintainer": "platform@example.com",
}
KINDS = ("web", "api", "worker", "db", "cache")


@dataclass(slots=True)
class FakeContainer:
    """One container of the synthetic fleet: who it is and how it behaves each round."""

    index: int
    id: str
    name: str
    image: str
    labels: dict[str, str]
    behaviour: int  # 0 crashes, 1 flaps health, 2 OOM, 3 lives briefly (new id each round), 4 restarted
    generation: int = 0

    def attributes(self, exit_code: int | None = None) -> dict[str, str]:
        attributes = {**IMAGE_LABELS, **self.labels, "image": self.image, "name": self.name}
        if exit_code is not None:
            attributes["exitCode"] = str(exit_code)
        return attributes

    def round_actions(self) -> list[tuple[str, int | None]]:
        """This container's (Action, exitCode) for one round."""
        if self.behaviour == 0:
            return [("start", None), ("die", 1)]
        if self.behaviour == 1:
            return [
                ("start", None),
                ("health_status: healthy", None),
                ("health_status: unhealthy", None),
                ("health_status: healthy", None),
                ("kill", None),
                ("die", 143),
            ]
        if self.behaviour == 2:
            return [("start", None), ("oom", None), ("die", 137)]
        if self.behaviour == 3:
            return [("create", None), ("start", None), ("die", 0), ("destroy", None)]
        return [("kill", None), ("die", 137), ("start", None)]


def make_fleet(count: int) -> list[FakeContainer]:
    fleet = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        labels = {
            "com.docker.compose.project": "shop" if i % 3 else "search",
            "com.docker.compose.service": kind,
        }
        if i % 7 == 0:
            labels["team"] = "payments"
        if i % 50 == 49:
            labels["chatops.notify"] = "false"
        fleet.append(
            FakeContainer(
                index=i,
                id=f"{i:016x}" * 4,
                name=f"{kind}-{i:03d}",
                image=f"registry.example.com/shop/{kind}:1.42.0",
                labels=labels,
                behaviour=(i // len(KINDS)) % 5,
            )
        )
    return fleet


def make_events(count: int, containers: int) -> list[bytes]:
    """`count` Engine API event messages as JSON, as `GET /events` sends them, in time order."""
    fleet = make_fleet(containers)
    base = time.time_ns() - 3600 * 10**9
    out: list[bytes] = []
    tick = 0
    while len(out) < count:
        scripts = [(c, c.round_actions()) for c in fleet]
        for c, _ in scripts:
            if c.behaviour == 3:  # a fresh short-lived container each round
                c.generation += 1
                c.id = f"{c.generation:08x}{c.id[8:]}"
        steps = max(len(actions) for _, actions in scripts)
        for step in range(steps):
            for c, actions in scripts:
                if step >= len(actions):
                    continue
                action, code = actions[step]
                tick += 1
                time_nano = base + tick * 250_000  # 4,000 events per second of event time
                raw = {
                    "status": action,
                    "id": c.id,
                    "from": c.image,
                    "Type": "container",
                    "Action": action,
                    "Actor": {"ID": c.id, "Attributes": c.attributes(code)},
                    "scope": "local",
                    "time": time_nano // 10**9,
                    "timeNano": time_nano,
                }
                out.append(json.dumps(raw).encode())
        tick += 1
        image_id = f"sha256:{tick:064x}"
        image_event = {
            "Type": "image",
            "Action": "delete",
            "Actor": {"ID": image_id, "Attributes": {"name": f"registry.example.com/old:{tick}"}},
            "scope": "local",
            "time": (base + tick * 250_000) // 10**9,
            "timeNano": base + tick * 250_000,
        }
        out.append(json.dumps(image_event).encode())
    return out[:count]


@dataclass(slots=True)
class PipelineRun:
    frozen: bool
    events: int
    seconds: float
    notes: int
    enqueued: int
    reader: Spread
    pipeline: Spread
    gc: GcPauses
    kinds: Counter[str]

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def pipeline_run(
    payloads: Sequence[bytes], config: NotifyConfig, slack: FakeWebApi, frozen: bool
) -> PipelineRun:
    """One pass of every payload through parse → evaluate → outgoing_messages → enqueue."""
    with tempfile.TemporaryDirectory(prefix="bench-events-") as tmp:
        mutes = Store(Path(tmp) / "mutes.db")
        client = WebClient(base_url=slack.api_url, token=slack.bot_token, timeout=10)
        outbox = Outbox(Path(tmp) / "outbox.db", client)
        outbox.start()
        rules = Rules(config, mutes=mutes)
        state = RuleState()
        reader_ns = [0] * len(payloads)
        total_ns = [0] * len(payloads)
        notes = enqueued = 0
        kinds: Counter[str] = Counter()
        gc.collect()
        if frozen:
            gc.freeze()
        pauses = GcPauses()
        try:
            with pauses.installed():
                clock = time.perf_counter_ns
                started = clock()
                for i, data in enumerate(payloads):
                    t0 = clock()
                    event = DockerEvent.from_api(HOST, json.loads(data))
                    made = rules.evaluate(event, state)
                    t1 = clock()
                    for note in made:
                        if rules.muted(note):  # the watcher's deliverer asks this before the sink
                            continue
                        for message in outgoing_messages(note):
                            enqueued += outbox.enqueue(message)
                    t2 = clock()
                    notes += len(made)
                    kinds.update(note.kind for note in made)
                    reader_ns[i] = t1 - t0
                    total_ns[i] = t2 - t0
                seconds = (clock() - started) / 1e9
        finally:
            if frozen:
                gc.unfreeze()
            outbox.stop(5.0)
            mutes.close()
    return PipelineRun(
        frozen,
        len(payloads),
        seconds,
        notes,
        enqueued,
        Spread.of_ns(reader_ns),
        Spread.of_ns(total_ns),
        pauses,
        kinds,
    )


def part_a(options: argparse.Namespace, slack: FakeWebApi) -> list[PipelineRun]:
    payloads = make_events(options.events, options.containers)
    config = notify_config()
    print(
        f"\n(a) pipeline: {len(payloads):,} events for {options.containers} containers, {options.runs} runs "
        f"alternating GC as is / gc.freeze(); {len(config.routes)} routes; "
        "outbox started against the fake Slack"
    )
    pipeline_run(payloads[: min(2000, len(payloads))], config, slack, frozen=False)  # warm-up
    runs: list[PipelineRun] = []
    for n in range(options.runs):
        run = pipeline_run(payloads, config, slack, frozen=n % 2 == 1)
        runs.append(run)
        print(
            f"  run {n + 1} {'frozen' if run.frozen else 'gc as is'}: {run.rate:8,.0f} events/s "
            f"({run.seconds:.2f} s; {run.notes:,} notifications, {run.enqueued:,} messages enqueued)"
        )
        print(f"      reader   {run.reader}")
        print(f"      pipeline {run.pipeline}")
        print(f"      {run.gc.describe()}")
    if runs:
        shown = ", ".join(f"{kind} {count:,}" for kind, count in runs[0].kinds.most_common())
        print(f"  notifications per run by kind: {shown}")
    return runs


# --- (b) a real HostWatcher on the real engine -----------------------------------------------------------


class TimedMutes:
    """The mute `Store` as the rules see it; every `is_muted` (one SQLite read per notification, asked on the
    watcher's deliverer thread) timed."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.is_muted_ns: list[int] = []

    def is_muted(self, host: str, container: str) -> bool:
        t0 = time.perf_counter_ns()
        try:
            return self.store.is_muted(host, container)
        finally:
            self.is_muted_ns.append(time.perf_counter_ns() - t0)


class TimedRules(Rules):
    """Rules that time every `evaluate` (called by the reader under the watcher's lock) and `is_muted`
    (called through `muted` by the deliverer)."""

    def __init__(self, config: NotifyConfig, mutes: Store) -> None:
        self.timed_mutes = TimedMutes(mutes)
        super().__init__(config, mutes=self.timed_mutes)
        self.evaluate_ns: list[int] = []

    def evaluate(self, event: DockerEvent, state: RuleState) -> list[Notification]:
        t0 = time.perf_counter_ns()
        try:
            return super().evaluate(event, state)
        finally:
            self.evaluate_ns.append(time.perf_counter_ns() - t0)

    def take(self) -> tuple[list[int], list[int]]:
        taken = (self.evaluate_ns, self.timed_mutes.is_muted_ns)
        self.evaluate_ns, self.timed_mutes.is_muted_ns = [], []
        return taken


class TimedWatcher(HostWatcher):
    """A HostWatcher that times everything its reader does for one decoded event (`_handle`)."""

    def __init__(self, *args: Any, run_id: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.run_id = run_id
        self.handle_ns: list[int] = []
        self.bench_handled: list[tuple[int, int, float]] = []  # (timeNano, wall ns, perf seconds) of ours
        self._times_lock = threading.Lock()

    def _handle(self, raw: Mapping[str, Any], generation: int) -> bool:
        t0 = time.perf_counter_ns()
        try:
            return super()._handle(raw, generation)
        finally:
            elapsed = time.perf_counter_ns() - t0
            actor = raw.get("Actor") or {}
            ours = (actor.get("Attributes") or {}).get(LABEL) == self.run_id
            with self._times_lock:
                self.handle_ns.append(elapsed)
                if ours:
                    self.bench_handled.append(
                        (int(raw.get("timeNano") or 0), time.time_ns(), time.perf_counter())
                    )

    def take(self) -> tuple[list[int], list[tuple[int, int, float]]]:
        with self._times_lock:
            taken = (self.handle_ns, self.bench_handled)
            self.handle_ns, self.bench_handled = [], []
        return taken


class Sink:
    """`NotificationService.deliver`, counted and timed (runs on the watcher's deliverer thread)."""

    def __init__(self, outbox: Outbox, run_id: str) -> None:
        self.outbox = outbox
        self.run_id = run_id
        self.lock = threading.Condition()
        self.notes: list[Notification] = []
        self.enqueued = 0
        self.deliver_ns: list[int] = []
        self.arrived: list[float] = []

    def __call__(self, note: Notification) -> None:
        t0 = time.perf_counter_ns()
        count = 0
        for message in outgoing_messages(note):
            count += self.outbox.enqueue(message)
        elapsed = time.perf_counter_ns() - t0
        with self.lock:
            self.notes.append(note)
            self.enqueued += count
            self.deliver_ns.append(elapsed)
            self.arrived.append(time.perf_counter())
            self.lock.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: len(self.notes) >= count, timeout)

    def take(self) -> tuple[list[Notification], int, list[int], list[float]]:
        with self.lock:
            taken = (self.notes, self.enqueued, self.deliver_ns, self.arrived)
            self.notes, self.enqueued, self.deliver_ns, self.arrived = [], 0, [], []
        return taken


class Containers(Fleet):
    """The containers of this run, created and started concurrently from a child process."""

    def __init__(self, url: str, image: str, workers: int, run_id: str | None = None) -> None:
        super().__init__(url, image, workers, timeout=API_TIMEOUT, run_id=run_id)

    def _run_one(self, batch: int, index: int) -> None:
        command = ["false"] if index % 4 == 3 else ["true"]
        # No network at all (not even "none", which still makes an endpoint): hundreds of endpoints released
        # at once can deadlock dockerd 20.10's libnetwork, and then every API call hangs. Same events.
        created = self.api().create_container(
            self.image,
            command=command,
            name=f"{self.prefix}b{batch}{index:04d}",
            labels={LABEL: self.run_id},
            network_disabled=True,
        )
        self.api().start(created["Id"])

    def spawn_batch(self, batch: int, count: int) -> float:
        """Create and start `count` containers from a child process (its threads must not compete with the
        watcher's reader for this process's GIL); returns the seconds from spawning to the child's exit."""
        argv = [
            *(sys.executable, str(Path(__file__).resolve()), "--url", self.url, "--image", self.image),
            *("--workers", str(self.workers), "--spawn-batch", f"{self.run_id}:{batch}:{count}"),
        ]
        started = time.perf_counter()
        subprocess.run(argv, check=True, timeout=SETTLE_TIMEOUT * 4)
        return time.perf_counter() - started

    def run_batch(self, batch: int, count: int) -> float:
        """Create and start `count` containers; returns the seconds it took."""
        started = time.perf_counter()
        with pool(self.workers) as executor:
            for future in as_completed([executor.submit(self._run_one, batch, i) for i in range(count)]):
                future.result()
        return time.perf_counter() - started


@dataclass(slots=True)
class BatchResult:
    frozen: bool
    containers: int
    start_seconds: float
    events: int
    handled_span: float
    engine_span: float
    lag: Spread
    notes: int
    enqueued: int
    handle: Spread
    evaluate: Spread
    is_muted: Spread
    deliver: Spread
    complete: bool
    gc: GcPauses = field(default_factory=GcPauses)

    @property
    def rate(self) -> float:
        return self.events / self.handled_span if self.handled_span > 0 else math.nan


def run_batch(
    containers: Containers,
    watcher: TimedWatcher,
    rules: TimedRules,
    sink: Sink,
    *,
    batch: int,
    count: int,
    frozen: bool,
) -> BatchResult:
    watcher.take()
    rules.take()
    sink.take()
    pauses = GcPauses()
    expected_events = 3 * count  # create, start, die
    expected_notes = 2 * count  # started, then stopped (exit 0) or died (exit 1)
    with pauses.installed():
        start_seconds = containers.spawn_batch(batch, count)
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while time.monotonic() < deadline:
            with watcher._times_lock:
                seen = len(watcher.bench_handled)
            if seen >= expected_events:
                break
            time.sleep(0.05)
        complete = (
            sink.wait_for(expected_notes, max(0.0, deadline - time.monotonic())) and seen >= expected_events
        )
        time.sleep(0.2)  # let the last stragglers of other containers' events in
    handle_ns, ours = watcher.take()
    evaluate_ns, is_muted_ns = rules.take()
    notes, enqueued, deliver_ns, _ = sink.take()
    if ours:
        handled_span = ours[-1][2] - ours[0][2]
        engine_span = (max(t for t, _, _ in ours) - min(t for t, _, _ in ours)) / 1e9
        lag = Spread.of_ns([wall - t for t, wall, _ in ours])
    else:
        handled_span = engine_span = math.nan
        lag = Spread.of_ns([])
    return BatchResult(
        frozen=frozen,
        containers=count,
        start_seconds=start_seconds,
        events=len(ours),
        handled_span=handled_span,
        engine_span=engine_span,
        lag=lag,
        notes=len(notes),
        enqueued=enqueued,
        handle=Spread.of_ns(handle_ns),
        evaluate=Spread.of_ns(evaluate_ns),
        is_muted=Spread.of_ns(is_muted_ns),
        deliver=Spread.of_ns(deliver_ns),
        complete=complete,
        gc=pauses,
    )


def part_b(options: argparse.Namespace, slack: FakeWebApi, containers: Containers) -> list[BatchResult]:
    print(
        f"\n(b) watcher: HostWatcher on {options.url}; {options.batches} batches of "
        f"{options.batch} containers ({containers.prefix}*, label {containers.label}), "
        f"{options.workers} at a time"
    )
    results: list[BatchResult] = []
    with tempfile.TemporaryDirectory(prefix="bench-events-") as tmp:
        route = {
            "channel": BENCH_CHANNEL,
            "events": ["started", "stopped", "died"],
            "containers": [f"label:{containers.label}"],
        }
        mutes = Store(Path(tmp) / "state.db")
        client = WebClient(base_url=slack.api_url, token=slack.bot_token, timeout=10)
        outbox = Outbox(Path(tmp) / "state.db", client)
        cursors = SqliteCursorStore(Path(tmp) / "state.db")
        rules = TimedRules(notify_config([route]), mutes)
        sink = Sink(outbox, containers.run_id)
        host = Host("local", options.url, API_TIMEOUT)
        watcher = TimedWatcher(host, rules, sink, cursors, cursors, run_id=containers.run_id)
        outbox.start()
        watcher.start()
        try:
            if not watcher.wait_connected(1, timeout=30.0):
                raise RuntimeError("the watcher did not connect to the engine within 30 s")
            for batch in range(options.batches):
                frozen = batch % 2 == 1
                gc.collect()
                if frozen:
                    gc.freeze()
                try:
                    result = run_batch(
                        containers, watcher, rules, sink, batch=batch, count=options.batch, frozen=frozen
                    )
                finally:
                    if frozen:
                        gc.unfreeze()
                results.append(result)
                print_batch(batch, result)
        finally:
            watcher.stop()
            outbox.stop(5.0)
            cursors.close()
            mutes.close()
    return results


def print_batch(batch: int, r: BatchResult) -> None:
    state = "frozen" if r.frozen else "gc as is"
    print(
        f"  batch {batch + 1} {state}: {r.containers} containers created + started "
        f"in {r.start_seconds:.1f} s; "
        f"{r.events:,} of their events handled in {r.handled_span:.2f} s = {r.rate:,.0f} events/s "
        f"(the engine's own span {r.engine_span:.2f} s){'' if r.complete else '  INCOMPLETE'}"
    )
    print(f"      lag timeNano → handled  {r.lag}")
    print(f"      _handle (all events)    {r.handle}  ({r.handle.count:,} events)")
    print(f"        of which evaluate     {r.evaluate}  (also the watchdog's re-list events)")
    print(f"      is_muted (deliverer)    {r.is_muted}  (Store, one SQLite read per notification)")
    print(f"      sink (deliver thread)   {r.deliver}  ({r.notes:,} notifications, {r.enqueued:,} enqueued)")
    print(f"      {r.gc.describe()}")


# --- goals and main --------------------------------------------------------------------------------------


def check_goals(runs: Sequence[PipelineRun], batches: Sequence[BatchResult]) -> list[bool | None]:
    print("\nGoals")
    results: list[bool | None] = []
    rate = statistics.median(r.rate for r in runs) if runs else None
    results.append(
        goal(
            None if rate is None else rate >= EVENTS_GOAL,
            f"(a) at least {EVENTS_GOAL:,.0f} events/s through rules into the outbox "
            f"(median of {len(runs)} runs: {rate or 0:,.0f}/s)",
        )
    )
    plain = [r for r in runs if not r.frozen]
    frozen = [r for r in runs if r.frozen]
    worst = max((r.reader.max for r in plain), default=None)
    worst_frozen = max((r.reader.max for r in frozen), default=None)
    worst_pipeline = max((r.pipeline.max for r in runs), default=None)
    extra = f"; with gc.freeze() {worst_frozen:.2f} ms" if worst_frozen is not None else ""
    results.append(
        goal(
            None if worst is None else worst <= BLOCK_GOAL_MS,
            f"(a) the reader never blocked more than {BLOCK_GOAL_MS:g} ms on one event "
            f"(max {worst or 0:.2f} ms with GC as is{extra}; "
            f"whole pipeline incl. enqueue max {worst_pipeline or 0:.2f} ms)",
        )
    )
    if batches:
        # `docker-chatops run` calls gc.freeze() after start-up: the frozen batches are the bot as it runs
        judged = [b for b in batches if b.frozen] or list(batches)
        worst_b = max(b.handle.max for b in judged)
        shown = ", ".join(f"{'frozen' if b.frozen else 'gc as is'} {b.handle.max:.2f} ms" for b in batches)
        complete = all(b.complete for b in batches)
        results.append(
            goal(
                worst_b <= BLOCK_GOAL_MS,
                f"(b) HostWatcher._handle never took more than {BLOCK_GOAL_MS:g} ms on one event, with "
                f"gc.freeze() as the bot runs (max per batch: {shown})",
            )
        )
        results.append(
            goal(complete, "(b) every event and notification of every batch reached the reader and the sink")
        )
    else:
        results.append(goal(None, "(b) HostWatcher on the real engine (skipped)"))
    return results


def load_bot_modules() -> str:
    """Import what `docker-chatops run` imports, so a full collection walks a bot-sized heap."""
    try:
        import bot.cli  # noqa: PLC0415
        import bot.notify.service  # noqa: PLC0415
        import bot.slack.app  # noqa: PLC0415
        import bot.slack.runner  # noqa: F401, PLC0415
    except Exception as exc:
        return f"the Slack modules do not import ({type(exc).__name__}: {exc}); heap smaller than the bot's"
    return "bot modules incl. Slack/Bolt imported"


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=20_000, help="events per run of (a) (default: 20000)")
    parser.add_argument("--containers", type=int, default=300, help="container ids in (a) (default: 300)")
    parser.add_argument("--runs", type=int, default=6, help="timed runs of (a), after a warm-up (default: 6)")
    parser.add_argument("--batch", type=int, default=300, help="containers per batch in (b) (default: 300)")
    parser.add_argument("--batches", type=int, default=2, help="batches in (b), odd ones frozen (default: 2)")
    parser.add_argument("--workers", type=int, default=8, help="threads creating/removing containers")
    parser.add_argument("--image", default=DEFAULT_IMAGE, help=f"local image to run ({DEFAULT_IMAGE})")
    parser.add_argument("--url", default=DEFAULT_URL, help=f"Docker engine (default: {DEFAULT_URL})")
    parser.add_argument("--skip-engine", action="store_true", help="run (a) only")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal fails")
    parser.add_argument("--spawn-batch", help=argparse.SUPPRESS)  # RUN:BATCH:COUNT, the child of (b)
    options = parser.parse_args(argv)
    if (
        min(options.events, options.containers, options.runs, options.batch, options.batches, options.workers)
        < 1
    ):
        parser.error("every count must be at least 1")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    if options.spawn_batch:
        run_id, batch, count = options.spawn_batch.split(":")
        child = Containers(options.url, options.image, options.workers, run_id)
        try:
            child.run_batch(int(batch), int(count))
        finally:
            child.close()
        return 0
    started = time.perf_counter()
    signal.signal(signal.SIGTERM, _terminate)
    heap = load_bot_modules()
    print(
        f"events throughput: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {heap}; "
        f"{len(gc.get_objects()):,} GC-tracked objects; gc thresholds {gc.get_threshold()}"
    )
    plain, frozen = full_collection_ms()
    print(
        f"a full collection (gc.collect()) of this heap: {plain:.2f} ms; after gc.freeze(): {frozen:.2f} ms"
    )
    runs: list[PipelineRun] = []
    batches: list[BatchResult] = []
    with FakeWebApi() as slack:
        runs = part_a(options, slack)
        if not options.skip_engine:
            containers = Containers(options.url, options.image, options.workers)
            try:
                containers.api().inspect_image(options.image)
            except docker.errors.ImageNotFound:
                print(f"image {options.image} is not on the engine; pass --image", file=sys.stderr)
                return 2
            try:
                print(f"dockerd {containers.api().version().get('Version', '?')}")
                batches = part_b(options, slack, containers)
            finally:
                with interrupts_deferred():
                    print(f"\ncleaning up run {containers.run_id}…", flush=True)
                    removed, seconds = containers.remove_all()
                    print(f"removed {removed:,} containers in {seconds:.1f} s")
                    containers.close()
        posted = len(slack.messages())
    print(f"\nthe fake Slack received {posted:,} posts in all (one per channel per second at most, digests)")
    results = check_goals(runs, batches)
    print(f"\ntotal time {time.perf_counter() - started:.1f} s")
    return 1 if options.strict and False in results else 0


if __name__ == "__main__":
    run_main(main, "interrupted; the containers of this run were removed")
