"""One watcher per Docker host: the event stream, its cursor, reconciliation, a watchdog, enrichment.

Threads of one `HostWatcher`, each with its own low-level Docker client:
- the reader subscribes to `GET /events` first (resuming with `since` = the cursor), then lists every
  container (one call) and reconciles with the last known states, then reads events: dedupes them on
  (id, Action, timeNano), moves the cursor, updates the known states and runs the rules. It never calls
  Docker per event and never waits for Slack.
- the watchdog pings the engine (a failed ping closes the stream: the reader reconnects with back-off; a
  reader stuck in a request that never answers is replaced), lets time pass for the rules, reports
  re-listed changes no event explained, and saves cursor, states, rule memory and the notifications not yet
  handed to the sink (the checkpoint), woken at once when the rules made a notification.
- a small enrichment pool adds the last log lines (masked), the health probe's output and, for a death whose
  exit code a label shadowed, the code the engine recorded (`exit_code_at`): those calls have the wall-clock
  deadline of command calls (the host's timeout), unlike the stream;
  a deliverer hands notifications to the sink in the order the rules made them. It waits for a note's
  enrichment at most `enrich_timeout` (plus the quick check) from the moment the note was made; a note
  whose details did not come in time goes without them and says so ("log tail unavailable: the engine did
  not answer within N s"), so an engine that trickles `/logs` delays its host's notifications by at most
  that much, and `stop()` is bounded.

**No notification is lost on a crash, none is posted twice.** A notification is handed to the sink (the
outbox, which commits it before it returns) only once a checkpoint holding it has been committed: the
checkpoint saves, in one transaction, the cursor past its event, the rule memory and states that event
produced, and the notification itself, un-enriched, in `notify_inflight`. Its row is deleted by a later
checkpoint once the sink took it. So after a SIGKILL at any instant, every event is either after the saved
cursor (the stream replays it, or the re-list reports its change, and the outbox never had its notification)
or at/before it (its notification is in the outbox or in `notify_inflight`, which the next start hands to
the sink again; the outbox drops a dedupe key it already has). A replayed event has the same
(id, Action, timeNano), hence the same dedupe key.

**Facts come from the engine** (`events.trusted_event`): the rules read events rebuilt from the known
labels and names, never an attribute a label of the same key can shadow (Docker copies a container's
labels over the event's own attributes: `exitCode=0` as a label hides a crash's real code).

**The engine is reached only through `bot.engine.events.EventSource`** (the stream, the listing, the
daemon's clock, the ping, the details), which raises only `bot.errors` types: the watcher handles an engine
failure as a `ChatOpsError` and sees no docker-py, requests or socket exception.

A change the stream never delivered (the daemon keeps only 256 events and loses them when it restarts) is
still reported: after a re-list, a difference from the last known state becomes a synthesized event
(`away=True`), held back `settle` seconds in case a replayed event explains it, then evaluated.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from bot.durations import seconds_text
from bot.engine.events import EventSource, EventStream
from bot.engine.hosts import CHECK_DEADLINE, Host
from bot.errors import ChatOpsError, EngineUnavailable
from bot.models import ContainerState, Notification, Target
from bot.notify.events import (
    DockerEvent,
    engine_time,
    exit_code_at,
    since_param,
    trusted_event,
)
from bot.notify.rules import NS, Rules, RuleState
from bot.render.mask import mask_secrets
from bot.store.notify import Checkpoint, EventKey, SqliteCursorStore

log = logging.getLogger(__name__)
T = TypeVar("T")

# What the rules read; everything else (exec_*, attach, network, volume…) is filtered out by the daemon.
EVENT_FILTERS = {
    "type": ["container", "image"],
    "event": [
        "create",
        "start",
        "die",
        "kill",
        "oom",
        "destroy",
        "rename",
        "pause",
        "unpause",
        "health_status",
        "delete",
    ],
}
ENRICHED_KINDS = frozenset({"died", "oom", "unhealthy", "restart_loop"})
_SEEN_KEYS = 4096
_GONE_KEPT = 1024  # containers gone since the last list whose labels replayed events may still need
_SINK_TRIES = 3
_SAVE_GATHER = 0.02  # seconds a checkpoint woken by new notifications waits for more of them
_ENRICH_SLACK = 1.0  # seconds the deliverer waits for enrichment beyond its deadline and quick check
_WAIT_SLICE = 0.1  # seconds between two looks of the deliverer at a stop while it waits for enrichment
_UP = frozenset({"running", "paused", "restarting"})
_DOWN = frozenset({"exited", "dead", "created"})


class CursorStore(Protocol):
    """Where a host's stream position (the last event's timeNano) survives a restart."""

    def get(self, host: str) -> int | None:
        """The last timeNano read from `host`, or None."""
        ...

    def put(self, host: str, time_nano: int) -> None:
        """Remember the last timeNano read from `host`."""
        ...


class StateStore(Protocol):
    """Where the last known container states and the rules' memory survive a restart."""

    def load_states(self, host: str) -> dict[str, ContainerState] | None:
        """The states saved for `host`, or None when none were ever saved (the first start)."""
        ...

    def load_rules(self, host: str) -> tuple[str | None, list[EventKey]]:
        """The rules' memory saved for `host` (`RuleState.snapshot`, or None) and the keys of the events
        already handled at the saved cursor's very timeNano (`since` replays those)."""
        ...

    def load_inflight(self, host: str) -> list[tuple[int, Notification]]:
        """The notifications a checkpoint saved that the sink has not taken yet, oldest first, with their
        sequence numbers."""
        ...

    def checkpoint(self, host: str, changes: Checkpoint) -> None:
        """Save states, removals, the rules' memory, the cursor and the notifications of one moment, all or
        nothing."""
        ...


@dataclass(slots=True)
class _Pending:
    """A synthesized event waiting to see whether the stream explains the change it stands for."""

    due: float
    event: DockerEvent


@dataclass(frozen=True, slots=True)
class _Queued:
    """A notification on its way to the sink: its sequence number (its row in notify_inflight once saved),
    its enrichment (a note, or None when enrichment found there is nothing to announce), the note as the
    rules made it, and until when (monotonic) the deliverer waits for the enrichment."""

    seq: int
    note: Future[Notification | None]
    plain: Notification
    due: float


class _Ledger:
    """The notifications between the rules and the sink: numbered as they are made, saved by a checkpoint,
    handed to the sink once saved, settled (their saved row deleted by a later checkpoint) once the sink took
    them. `add`, `take`, `put_back` and `settle` run under the watcher's lock; the gate has its own."""

    def __init__(self, durable: bool) -> None:
        self.made = 0  # the last sequence number given out
        self.unsaved: list[tuple[int, Notification]] = []
        self.settled: list[int] = []
        self._saved = 0  # every notification up to this one is in a committed checkpoint
        self._open = not durable  # nowhere to make a notification durable: hand it on at once
        self._gate = threading.Condition()

    def add(self, note: Notification) -> int:
        """Number a new notification and keep it for the next checkpoint."""
        self.made += 1
        self.unsaved.append((self.made, note))
        return self.made

    def restored(self, seq: int) -> None:
        """A notification the last run saved: numbering goes on after it, and it counts as saved."""
        self.made = max(self.made, seq)
        with self._gate:
            self._saved = max(self._saved, seq)

    def take(self) -> tuple[list[tuple[int, Notification]], list[int]]:
        """What the next checkpoint saves: the unsaved notifications and the settled numbers."""
        notes, settled = self.unsaved, self.settled
        self.unsaved, self.settled = [], []
        return notes, settled

    def put_back(self, notes: list[tuple[int, Notification]], settled: list[int]) -> None:
        """A checkpoint failed: what it took waits for the next one, in front."""
        self.unsaved[:0] = notes
        self.settled[:0] = settled

    def saved(self, notes: list[tuple[int, Notification]]) -> None:
        """A checkpoint holding `notes` was committed: they may go to the sink."""
        if notes:
            with self._gate:
                self._saved = max(self._saved, notes[-1][0])
                self._gate.notify_all()

    def open(self) -> None:
        """Hand everything on without waiting for a checkpoint (saving failed when the watcher stops)."""
        with self._gate:
            self._open = True
            self._gate.notify_all()

    def wait_saved(self, seq: int) -> None:
        """Wait until a committed checkpoint holds notification `seq` (or the gate is open)."""
        with self._gate:
            self._gate.wait_for(lambda: self._open or self._saved >= seq)


class HostWatcher:
    """Watches one Docker host and hands every notification the rules make to `sink`."""

    def __init__(
        self,
        host: Host,
        rules: Rules,
        sink: Callable[[Notification], None],
        cursors: CursorStore,
        states: StateStore | None = None,
        *,
        ping_interval: float = 10.0,
        tick_interval: float = 0.5,
        settle: float = 1.0,
        backoff: tuple[float, float] = (0.5, 30.0),
        enrich_workers: int = 2,
        log_lines: int = 10,
        observe: Callable[[DockerEvent], None] | None = None,
        enrich_timeout: float | None = None,
    ) -> None:
        self.host = host
        self.rules = rules
        self.sink = sink
        self.cursors = cursors
        self.states = states
        self.ping_interval = ping_interval
        self.tick_interval = tick_interval
        self.settle = settle
        self.backoff = backoff
        self.log_lines = log_lines
        self.observe = observe
        # wall-clock seconds the details of one notification may take (its log tail and inspect together)
        self.enrich_timeout = host.timeout if enrich_timeout is None else enrich_timeout
        self._engine = EventSource(host)
        self._hurry: float | None = None  # once stopping: no enrichment is waited for past this instant
        self.rule_state = RuleState()
        self.reconnects = 0
        self.duplicates = 0
        self.events = 0
        self.ping_failures = 0
        self.stuck_readers = 0
        self._lock = threading.Lock()
        self._connected = threading.Condition()
        self._connections = 0
        self._stopping = threading.Event()
        self._stream: EventStream | None = None
        self._cursor: int | None = None
        self._saved_cursor: int | None = None
        self._saved_rules: str | None = None
        self._saved_at_cursor: list[EventKey] = []
        self._tick_after: float | None = None  # monotonic time from which `rules.tick` may run
        self._persisting = threading.Lock()  # one checkpoint at a time, in order
        self._skew = 0
        self._seen: set[EventKey] = set()
        self._seen_order: deque[EventKey] = deque()
        self._known: dict[str, ContainerState] | None = None
        self._gone: dict[str, ContainerState] = {}  # oldest first, at most _GONE_KEPT
        self._unverified: set[str] = set()  # known from an event only, whose labels were a guess
        self._dirty: set[str] = set()
        self._removed: set[str] = set()
        self._pending: dict[str, list[_Pending]] = {}
        self._out: queue.Queue[_Queued | None] = queue.Queue()
        self._ledger = _Ledger(durable=states is not None)
        self._wake = threading.Event()  # the watchdog saves at once when notifications wait for it
        self._pool = ThreadPoolExecutor(
            max(1, enrich_workers), thread_name_prefix=f"notify-enrich-{host.name}"
        )
        self._threads: list[threading.Thread] = []
        self._reader: threading.Thread | None = None
        self._generation = 0
        self._connecting_since: float | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Load cursor and states, then start the reader, watchdog and deliverer threads."""
        self._cursor = self._saved_cursor = self.cursors.get(self.host.name)
        if self.states is not None:
            self._known = self.states.load_states(self.host.name)
            self._saved_rules, at_cursor = self.states.load_rules(self.host.name)
            if self._saved_rules is not None:
                self.rule_state = RuleState.restore(self._saved_rules)
            for key in at_cursor:  # `since` is inclusive: these come again and were handled already
                if key[2] == self._cursor:
                    self._remember(key)
            # saved before the last run could hand them to the sink: they go again (the outbox drops any
            # dedupe key it already has)
            inflight = self.states.load_inflight(self.host.name)
            if inflight:
                log.info(
                    "notify: %d notification(s) of host %s saved by the last run go out again",
                    len(inflight),
                    self.host.name,
                )
            with self._lock:
                for seq, note in inflight:
                    self._ledger.restored(seq)
                    self._queue(seq, note)
        self._start_reader()
        for name, target in (("watchdog", self._watchdog_loop), ("deliver", self._deliver_loop)):
            thread = threading.Thread(target=target, name=f"notify-{name}-{self.host.name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _start_reader(self) -> None:
        """Start a reader thread; an older one (stuck in a hung request) is abandoned and ignored."""
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._connecting_since = None
        thread = threading.Thread(
            target=self._read_loop, args=(generation,), name=f"notify-reader-{self.host.name}", daemon=True
        )
        self._reader = thread
        thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop reading; save cursor, states and what is queued; deliver that (what is still being enriched
        waits at most `timeout / 2`); save again; close clients. Bounded: about `3 × timeout` at most."""
        self._stopping.set()
        self._wake.set()
        self.force_reconnect()
        watchdog, deliverer = self._threads or (None, None)
        for thread in (self._reader, watchdog):
            if thread is not None:
                thread.join(timeout)
        with self._lock:  # re-list changes still held back would be lost: their states are saved below
            self._register(self._flush_pending(math.inf))
        if not self._persist():  # not durable: deliver anyway rather than lose (a replay has the same keys)
            self._ledger.open()
        # what is still being enriched gets half the time left, then goes without its details
        self._hurry = time.monotonic() + timeout / 2
        self._out.put(None)
        if deliverer is not None:
            deliverer.join(timeout)
        # an enrichment still running ends at its own deadline; nothing waits for it
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._persist()
        self._engine.close()

    def force_reconnect(self) -> None:
        """Close the current event stream; the reader resumes from the cursor (watchdog, tests)."""
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()

    def wait_connected(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait until the reader has (re)connected and reconciled `count` times in all."""
        with self._connected:
            return self._connected.wait_for(lambda: self._connections >= count, timeout)

    @property
    def connections(self) -> int:
        """How many times the reader subscribed and reconciled."""
        return self._connections

    # ---- the reader ----------------------------------------------------------------------------------

    def _current(self, generation: int) -> bool:
        return self._generation == generation and not self._stopping.is_set()

    def _read_loop(self, generation: int) -> None:
        delay = self.backoff[0]
        while self._current(generation):
            stream = None
            try:
                self._connecting_since = time.monotonic()
                if self._cursor is None:
                    self._cursor = self._daemon_time()
                since = since_param(self._cursor) if self._cursor else None
                # Subscribe first, then list: nothing that happens in between can fall through.
                stream = self._engine.subscribe(since, EVENT_FILTERS)
                with self._lock:
                    if not self._current(generation):
                        break
                    self._stream = stream
                rows = self._engine.containers()
                with self._lock:
                    if not self._current(generation):
                        break
                    self._register(self._reconcile(rows))
                    self._connecting_since = None
                    # Let the daemon's replay (events since the cursor, sent at once) land before time may
                    # close a restored episode: its container may have died again while nobody watched.
                    self._tick_after = time.monotonic() + self.settle
                with self._connected:
                    self._connections += 1
                    self._connected.notify_all()
                delay = self.backoff[0]
                for raw in stream:
                    if not self._handle(raw, generation):
                        break
            except ChatOpsError as exc:  # a failing stream ends in a reconnect
                if self._current(generation):
                    log.warning("notify: event stream of host %s failed: %s", self.host.name, exc.message)
            except Exception:  # a bug of the watcher's own: logged with its traceback, never a dead thread
                if self._current(generation):
                    log.exception("notify: the event reader of host %s failed; reconnecting", self.host.name)
            finally:
                with self._lock:
                    if self._stream is stream:
                        self._stream = None
                if stream is not None:
                    stream.close()
            if not self._current(generation):
                break
            self._connecting_since = None
            self.reconnects += 1
            self._stopping.wait(delay)
            delay = min(delay * 2, self.backoff[1])

    def _daemon_time(self) -> int | None:
        """The daemon's clock in ns: where a first subscription starts; None if unknown."""
        try:
            return engine_time(self._engine.system_time())
        except ChatOpsError:
            return None

    def _handle(self, raw: Mapping[str, Any], generation: int) -> bool:
        """Process one event; False when this reader was replaced or the watcher stops (its events are no
        longer wanted: the cursor stays before them)."""
        event = DockerEvent.from_api(self.host.name, raw)
        key = event.key
        with self._lock:
            if self._generation != generation or self._stopping.is_set():
                return False
            if key in self._seen:
                self.duplicates += 1
                return True
            self._remember(key)
            if self._cursor is None or event.time_nano > self._cursor:
                self._cursor = event.time_nano
            self._skew = time.time_ns() - event.time_nano
            self.events += 1
            event = self._trusted(event)
            self._apply_known(event)
            pending = self._pending.get(event.actor_id)
            if pending:
                pending[:] = [p for p in pending if p.event.action != event.action]
                if not pending:
                    del self._pending[event.actor_id]
            notes = self.rules.evaluate(event, self.rule_state)
            if event.action == "die" and event.exit_code is None:
                notes = [_unknown_exit(note, event) for note in notes]
            self._register(notes)
        if self.observe is not None:
            self.observe(event)
        return True

    def _trusted(self, event: DockerEvent) -> DockerEvent:
        """`trusted_event` over what the engine told of the container (under the lock)."""
        cid = event.actor_id
        known = None if cid in self._unverified else self._state_of(cid)
        trusted = trusted_event(event, known)
        if trusted.type == "container":
            if trusted.known_labels is None:
                self._unverified.add(cid)
            elif trusted.action == "create":
                self._unverified.discard(cid)
        return trusted

    def _state_of(self, container_id: str) -> ContainerState | None:
        """What is known of a container, also one gone since the last list (under the lock)."""
        known = self._known.get(container_id) if self._known is not None else None
        return known or self._gone.get(container_id)

    def _forget(self, container_id: str) -> None:
        """A container is gone: drop its state, keeping it a while for replayed events (under the lock)."""
        if self._known is None:
            return
        state = self._known.pop(container_id, None)
        if container_id in self._unverified:
            self._unverified.discard(container_id)
        elif state is not None:
            self._gone.pop(container_id, None)
            self._gone[container_id] = state
            while len(self._gone) > _GONE_KEPT:
                del self._gone[next(iter(self._gone))]
        self._dirty.discard(container_id)
        self._removed.add(container_id)

    def _remember(self, key: EventKey) -> None:
        """Note an event as handled, forgetting the oldest beyond `_SEEN_KEYS` (under the lock)."""
        self._seen.add(key)
        self._seen_order.append(key)
        if len(self._seen_order) > _SEEN_KEYS:
            self._seen.discard(self._seen_order.popleft())

    def _apply_known(self, event: DockerEvent) -> None:
        """Keep the last known state of a container up to date from its events (called under the lock)."""
        if event.type != "container" or self._known is None:
            return
        cid, action = event.actor_id, event.action
        if action == "destroy":
            self._forget(cid)
            return
        old = self._state_of(cid) or ContainerState(
            cid, event.name, event.image, "created", created=event.time_nano // NS, labels=event.labels
        )
        if action in {"start", "unpause"}:
            new = replace(old, state="running", health=None if action == "start" else old.health)
        elif action == "die":
            new = replace(old, state="exited", exit_code=event.exit_code)
        elif action == "pause":
            new = replace(old, state="paused")
        elif action.startswith("health_status: "):
            new = replace(old, health=action.removeprefix("health_status: "))
        elif action in ("create", "rename"):
            new = old
        else:
            return
        if "name" in event.attributes and new.name != event.attributes["name"]:
            new = replace(new, name=event.attributes["name"])
        self._known[cid] = new
        self._dirty.add(cid)
        self._removed.discard(cid)

    def _reconcile(self, rows: list[Any]) -> list[Notification]:
        """Compare a fresh list with the last known states (under the lock); hold back what differs."""
        snapshot = {row.id: ContainerState.from_row(row) for row in rows}
        self._unverified.difference_update(snapshot)  # listed: their labels are the engine's now
        if self._known is None:  # the very first start for this host: this list is the baseline
            self._known = snapshot
            self._dirty.update(snapshot)
            return []
        now_nano = time.time_ns() - self._skew
        due = time.monotonic() + self.settle
        notes: list[Notification] = []
        for cid, new in snapshot.items():
            old = self._known.get(cid)
            for action, code in _changes(old, new, self._cursor):
                event = _listed_event(self.host.name, action, new, code, now_nano)
                self._pending.setdefault(cid, []).append(_Pending(due, event))
            if old != new:
                self._known[cid] = new
                self._dirty.add(cid)
        for cid in [c for c in self._known if c not in snapshot]:
            self._forget(cid)
            self._pending.pop(cid, None)
            gone = DockerEvent(self.host.name, "container", "destroy", cid, {}, now_nano, away=True)
            notes.extend(self.rules.evaluate(gone, self.rule_state))
        return notes

    # ---- the watchdog --------------------------------------------------------------------------------

    def _watchdog_loop(self) -> None:
        next_ping = time.monotonic() + self.ping_interval
        while True:
            if self._wake.wait(self.tick_interval):
                # woken for new notifications: gather a burst's next ones into the same checkpoint
                self._stopping.wait(_SAVE_GATHER)
            self._wake.clear()
            if self._stopping.is_set():
                return
            # three independent chores: one failing must never stop the others (saving above all)
            with self._logged("ping"):
                if time.monotonic() >= next_ping:
                    next_ping = time.monotonic() + self.ping_interval
                    self._ping()
                    self._unstick()
            with self._logged("rules"):
                self._tick()
            with self._logged("save"):
                self._persist()

    @contextlib.contextmanager
    def _logged(self, chore: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            log.warning("notify: watchdog of host %s (%s): %s", self.host.name, chore, exc)

    def _tick(self) -> None:
        """Let time pass for the rules, once connected and caught up; settle the held-back re-list events."""
        with self._lock:
            notes = self._flush_pending(time.monotonic())
            caught_up = self._tick_after is not None and time.monotonic() >= self._tick_after
            if caught_up and self._connecting_since is None:
                notes.extend(self.rules.tick(self.host.name, time.time_ns() - self._skew, self.rule_state))
            self._register(notes)

    def _ping(self) -> None:
        try:
            self._engine.ping()
        except ChatOpsError as exc:
            self.ping_failures += 1
            log.warning(
                "notify: host %s does not answer a ping (%s); reconnecting", self.host.name, exc.message
            )
            self.force_reconnect()

    def _unstick(self) -> None:
        """A reader stuck connecting (a request that never answers) is abandoned for a fresh one."""
        since = self._connecting_since
        if since is not None and time.monotonic() - since > max(2 * self.host.timeout, 1.0):
            self.stuck_readers += 1
            log.warning(
                "notify: the event reader of host %s hangs while connecting; replacing it", self.host.name
            )
            self._start_reader()

    def _flush_pending(self, now: float) -> list[Notification]:
        """Evaluate the synthesized events no real event explained within `settle` (under the lock)."""
        notes: list[Notification] = []
        for cid in list(self._pending):
            waiting = self._pending[cid]
            ready = [p for p in waiting if p.due <= now]
            if not ready:
                continue
            self._pending[cid] = [p for p in waiting if p.due > now]
            if not self._pending[cid]:
                del self._pending[cid]
            for item in ready:
                notes.extend(self.rules.evaluate(item.event, self.rule_state))
        return notes

    def _persist(self) -> bool:
        """Save what changed since the last save, as one moment (see `Checkpoint`); one save at a time, so an
        older moment is never written over a newer one. Then the notifications it holds may go to the sink.
        False when saving failed (everything is tried again at the next save)."""
        with self._persisting:
            return self._persist_once()

    def _persist_once(self) -> bool:
        with self._lock:
            cursor = self._cursor if self._cursor != self._saved_cursor else None
            held = set(self._pending)  # a re-listed change not yet evaluated: its old state stays saved
            if self._known is not None:
                states = [self._known[c] for c in self._dirty if c in self._known and c not in held]
            else:
                states = []
            horizon = time.time_ns() - self._skew - self.rules.loop_within_ns
            memory = self.rule_state.snapshot(horizon) if self.states is not None else None
            # every event handled at the cursor's very timeNano, also those handled after the cursor moved
            at_cursor = [key for key in self._seen_order if key[2] == self._cursor]
            changed_at_cursor = at_cursor if at_cursor != self._saved_at_cursor else None
            rules = memory if memory != self._saved_rules else None
            notes, settled = self._ledger.take()
            if self.states is None:
                notes, settled = [], []
            changes = Checkpoint(
                states, list(self._removed), rules, cursor, changed_at_cursor, notes, settled
            )
            self._dirty.intersection_update(held)
            self._removed.clear()
        if not changes:
            return True
        try:
            if self.states is not None:
                self.states.checkpoint(self.host.name, changes)
            if cursor is not None and cast(object, self.cursors) is not self.states:
                self.cursors.put(self.host.name, cursor)
        except Exception as exc:
            with self._lock:  # try again at the next save
                self._dirty.update(state.id for state in changes.states)
                self._removed.update(changes.removed)
                self._ledger.put_back(notes, settled)
            log.warning("notify: cannot save the state of host %s: %s", self.host.name, exc)
            return False
        if cursor is not None:
            self._saved_cursor = cursor
        if changes.rules is not None:
            self._saved_rules = changes.rules
        if changes.at_cursor is not None:
            self._saved_at_cursor = changes.at_cursor
        self._ledger.saved(notes)
        return True

    # ---- enrichment and delivery ---------------------------------------------------------------------

    def _register(self, notes: list[Notification]) -> None:
        """Number new notifications, keep them for the next checkpoint and queue them (under the lock, so a
        checkpoint of this moment holds every notification it made)."""
        for note in notes:
            self._queue(self._ledger.add(note), note)
        if notes:
            self._wake.set()

    def _queue(self, seq: int, note: Notification) -> None:
        """Send a note to the enrichment pool when it wants details, and queue it for the deliverer."""
        wanted = note.exit_unknown or (note.kind in ENRICHED_KINDS and note.container_id)
        due = time.monotonic() + self.enrich_timeout + min(CHECK_DEADLINE, self.host.timeout) + _ENRICH_SLACK
        if wanted and not self._stopping.is_set():
            try:
                self._out.put(_Queued(seq, self._pool.submit(self._enrich, note), note, due))
                return
            except RuntimeError:  # the pool is shutting down
                pass
        done: Future[Notification | None] = Future()
        done.set_result(note)
        self._out.put(_Queued(seq, done, note, due))

    def _enrich(self, note: Notification) -> Notification | None:
        """Add the last log lines (masked), the health probe's output and an exit code a label hid; None when
        the engine says it was a clean exit after all. Never raises, never drops `note` for a failure."""
        try:
            return self._enriched(note)
        except ChatOpsError as exc:  # an engine that cannot answer must not cost the notification itself
            log.info("notify: no details for %s of %s: %s", note.kind, note.container, exc.message)
            return note
        except Exception:  # nor a bug of the enrichment's own (logged with its traceback)
            log.exception("notify: no details for %s of %s", note.kind, note.container)
            return note

    def _enriched(self, note: Notification) -> Notification | None:
        """The details of `note` from the engine, all within `enrich_timeout` of wall-clock time; what did not
        come in time is said to be unavailable (a container gone meanwhile just has no details)."""
        due = time.monotonic() + self.enrich_timeout
        cid = note.container_id
        changes: dict[str, Any] = {}
        if note.kind in ENRICHED_KINDS:
            try:
                lines = self._ask(lambda within: self._engine.log_tail(cid, self.log_lines, within), due)
            except EngineUnavailable as exc:
                changes.update(_unavailable(note, self._why(exc, due), logs=True))
            except ChatOpsError:
                pass
            else:
                changes["log_tail"] = tuple(mask_secrets(line)[:500] for line in lines)
        if note.kind in ("died", "unhealthy") or note.exit_unknown:
            try:
                state = self._ask(lambda within: self._engine.container_state(cid, within), due)
            except EngineUnavailable as exc:
                changes.update(_unavailable(note, self._why(exc, due), probe=True))
            except ChatOpsError:
                pass
            else:
                changes.update(self._from_state(note, state))
        enriched = replace(note, **changes) if changes else note
        if note.kind == "died" and changes.get("exit_code") == 0 and not enriched.oom_killed:
            return self._clean_exit(enriched)
        return enriched

    @staticmethod
    def _from_state(note: Notification, state: Mapping[str, Any]) -> dict[str, Any]:
        """What a container's inspected `State` adds to `note` (nothing for a shape it cannot read)."""
        changes: dict[str, Any] = {}
        with contextlib.suppress(Exception):
            if note.exit_unknown:
                code = exit_code_at(state, note.time_nano)
                if code is not None:
                    changes.update(exit_code=code, exit_unknown=False)
            if note.kind == "died" and state.get("OOMKilled"):
                changes["oom_killed"] = True
            health_log = (state.get("Health") or {}).get("Log") or []
            if note.kind == "unhealthy" and health_log:
                output = str(health_log[-1].get("Output") or "").strip()
                changes["health_output"] = mask_secrets(output)[-1000:]
        return changes

    def _why(self, error: EngineUnavailable, due: float) -> str:
        """Why a detail is missing: the enrichment's time ran out, or what the engine's failure was."""
        if time.monotonic() >= due - 0.1:
            return f"the engine did not answer within {seconds_text(self.enrich_timeout)} s"
        return error.message

    def _ask(self, fn: Callable[[float], T], due: float) -> T:
        """`fn(seconds left)`, an `EventSource` detail call ending by `due` (monotonic); `EngineUnavailable`
        at once when no time is left."""
        left = due - time.monotonic()
        if left < 0.05:
            within = seconds_text(self.enrich_timeout)
            raise EngineUnavailable(f"Docker on host {self.host.name} did not answer within {within} s")
        return fn(left)

    def _clean_exit(self, note: Notification) -> Notification | None:
        """A death of unknown code that the engine says was exit 0: a `stopped`, for the routes wanting that
        (None when none does)."""
        with self._lock:
            known = self._state_of(note.container_id)
        labels = known.labels if known is not None else {}
        target = Target("container", note.container_id, note.container, labels)
        channels = self.rules.channels("stopped", note.host, target)
        return replace(note, kind="stopped", channels=channels, log_tail=()) if channels else None

    def _deliver_loop(self) -> None:
        while True:
            item = self._out.get()
            if item is None:
                return
            self._ledger.wait_saved(item.seq)
            note = self._awaited(item)
            if note is None or self._hand_over(note):
                with self._lock:
                    self._ledger.settled.append(item.seq)

    def _awaited(self, item: _Queued) -> Notification | None:
        """The enriched note (None: nothing to announce), or, when its enrichment did not finish by its due
        time (or half-way through a stop), the note without its details, saying so. Never waits longer."""
        while True:
            until = item.due if self._hurry is None else min(item.due, self._hurry)
            left = until - time.monotonic()
            try:
                return item.note.result(timeout=max(0.0, min(left, _WAIT_SLICE)))
            except TimeoutError:
                if left > _WAIT_SLICE:
                    continue
            except CancelledError:
                pass
            except Exception as exc:  # `_enrich` never raises; were it to, the note still goes
                log.warning("notify: enrichment of %s failed: %s", item.plain.container, exc)
                return item.plain
            break
        item.note.cancel()  # still queued: it never runs
        log.info(
            "notify: no details for %s of %s on host %s in time; sent without them",
            item.plain.kind,
            item.plain.container,
            self.host.name,
        )
        why = f"the engine did not answer within {seconds_text(self.enrich_timeout)} s"
        return replace(item.plain, **_unavailable(item.plain, why, logs=True, probe=True))

    def _hand_over(self, note: Notification) -> bool:
        """Give `note` to the sink unless muted; False when the sink refused it while the watcher stops (it
        stays saved and goes again at the next start). A refusal otherwise is retried, then given up."""
        for attempt in range(1, _SINK_TRIES + 1):
            try:
                if not self.rules.muted(note):
                    self.sink(note)
                return True
            except Exception as exc:
                log.warning("notify: the sink refused %s for %s: %s", note.kind, note.container, exc)
                if self._stopping.is_set():
                    return False
                if attempt < _SINK_TRIES:
                    self._stopping.wait(1.0)
        return True


def _unavailable(note: Notification, why: str, *, logs: bool = False, probe: bool = False) -> dict[str, Any]:
    """The fields of `note` that say its details did not come, and `why`: `(log tail unavailable: the
    engine did not answer within 10 s)` where its log tail (`logs`) or health probe's output (`probe`)
    would be."""
    changes: dict[str, Any] = {}
    if logs and note.kind in ENRICHED_KINDS:
        changes["log_tail"] = (f"(log tail unavailable: {why})",)
    if probe and note.kind == "unhealthy":
        changes["health_output"] = f"(health probe output unavailable: {why})"
    return changes


def _unknown_exit(note: Notification, event: DockerEvent) -> Notification:
    """A notification of a `die` whose exit code a label shadowed: marked for the engine to tell."""
    if note.container_id != event.actor_id or note.kind not in _DEATH_KINDS:
        return note
    return replace(note, exit_code=None, exit_unknown=True)


_DEATH_KINDS = frozenset({"died", "oom", "stopped", "restart_loop_update"})


def _listed_event(
    host: str, action: str, state: ContainerState, code: int | None, now_nano: int
) -> DockerEvent:
    """A synthesized event for a change a re-list found, built from the listed state (the engine's own
    record: labels, name, image, the exit code of its status text)."""
    attributes = {k: v for k, v in state.labels.items() if k not in ("name", "image", "exitCode")}
    attributes.update(name=state.name, image=state.image)
    if code is not None:
        attributes["exitCode"] = str(code)
    return DockerEvent(
        host, "container", action, state.id, attributes, now_nano, away=True, known_labels=dict(state.labels)
    )


def _changes(
    old: ContainerState | None, new: ContainerState, cursor: int | None
) -> list[tuple[str, int | None]]:
    """The events that explain going from `old` to `new` (a re-list), as (Action, exitCode)."""
    if old is None:
        if cursor is None or new.created * NS <= cursor:
            return []  # not new since we last looked: nothing to say about it
        if new.state in _UP:
            return [("start", None)]
        if new.state in ("exited", "dead"):
            return [("start", None), ("die", new.exit_code)]
        return []
    changes: list[tuple[str, int | None]] = []
    if old.state in _UP and new.state in ("exited", "dead", "restarting"):
        changes.append(("die", new.exit_code))
    elif old.state in _DOWN and new.state in _UP:
        changes.append(("start", None))
    if new.state == "running" and new.health != old.health:
        if new.health == "unhealthy":
            changes.append(("health_status: unhealthy", None))
        elif new.health == "healthy" and old.health == "unhealthy":
            changes.append(("health_status: healthy", None))
    return changes


def start_watchers(
    hosts: Iterable[Host],
    rules: Rules,
    sink: Callable[[Notification], None],
    state_path: Path | str,
    **options: Any,
) -> tuple[list[HostWatcher], SqliteCursorStore]:
    """Start one watcher per host sharing one SQLite store; stop each with `stop()`, then close the store."""
    store = SqliteCursorStore(state_path)
    watchers = [HostWatcher(host, rules, sink, store, store, **options) for host in hosts]
    for watcher in watchers:
        watcher.start()
    return watchers, store
