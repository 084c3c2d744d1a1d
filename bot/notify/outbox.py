"""The outbox: a persistent queue of Slack messages per channel, paced, retried, fair and ordered per key.

Notifications are written to SQLite (tables `outbox_*` in the store's file, read and written through
`bot.store.outbox`) before anything is sent, so a restart re-sends whatever was still pending. Each channel
has its own sender thread: at most one call to Slack per channel per `per_channel_interval` (Slack allows
about one message per second per channel), and a slow or rate-limited channel never holds up another.

Whose turn it is, per channel:
- **Incidents first.** A message that opens something new (a top-level post: no `thread_key`, no
  `update_key`) goes before every update (a thread reply or an edit), whenever they were queued; within one
  priority, the oldest goes first. So a new alert waits for at most the call in flight and one interval,
  never behind another container's replies and edits.
- **In order per key.** A reply or an edit waits while the message it answers or edits (the row holding
  that `episode_key`) is still unsent in the channel, and behind any earlier message aimed at the same key
  that is still waiting: an episode's parent goes before its replies, and those before later edits.
- **Newest state wins.** Messages with one `merge_key` are versions of one thing (the counter of a restart
  loop): queuing a new one retires the older versions not yet sent (state `merged`: settled, never sent,
  their dedupe keys still remembered), so at most one waits per key. A `merge_key` is also paced: sent at
  most once per `merge_interval`, counted from its last send or the post of the message remembered under
  the same key (the episode it edits). An episode whose edits share its key is thus one post and at most
  ⌈T / merge_interval⌉ + 1 edits, T the time from that post to its last update, however many updates
  were queued: edits are an interval apart, and each but the first needs a version queued after the
  previous edit went out.
- A 429 pauses the channel for `Retry-After` seconds and the same message is tried again first (it kept
  its turn). Other errors are retried with exponential backoff (`backoff`, doubling) up to
  `max_attempts`, holding the channel meanwhile, then the message is marked `failed` and logged; errors
  that cannot heal (`channel_not_found`, `invalid_blocks`…) fail at once.

Digests. When the message whose turn it is has a `group` and more than `coalesce_threshold` messages of
that group and priority are pending (and free to go) in the channel, they go out together as one digest
("17 containers died on prod in 20 s: web-1 (137), web-2 (1), …") at the position of the oldest one. Every
member is named; a digest longer than `DIGEST_MAX_CHARS` is split over several messages, one per interval.
The first message of a burst goes out alone (nothing else is pending yet); the interval it starts is what
gathers the rest.

Threads and edits. A message with `episode_key` has its ts (and blocks) remembered under that key (a
digest's ts for the members it carried); a later message with `thread_key` is posted in that thread, one
with `update_key` edits that message with chat.update — with `keep_blocks`, only the blocks whose
`block_id` it carries are replaced and the message's other blocks (its log lines) stay. An update whose
target was a digest is posted in the digest's thread instead (editing would erase the other members); an
unknown key falls back to a plain post.

Delivery guarantee — at most once per `dedupe_key`:
- `enqueue` of a key already in the table is a no-op (False). Keys are remembered for `keep_for` (7 days by
  default) after their message was settled, which covers any replay of the Docker event stream.
- Before a call to Slack the message is marked `sending` (committed); Slack's answer and the ts are then
  recorded in one transaction (`sent` + ts + the episode keys) before the channel moves on. A restart re-sends
  only `pending` rows, so nothing Slack confirmed is ever posted again.
- The one window left is between Slack accepting a post and our commit (a crash, a kill, a power cut there;
  microseconds long), or a call whose answer never came back (a read timeout, a connection dropped after the
  request was sent). Slack may or may not have posted it and offers no idempotency key to ask. We choose
  at-most-once: such a message is marked `unknown` (at the next start, for a crash) and logged, never re-sent.
  Errors that prove the request never went out whole (connection refused, DNS, a reset while sending — a
  `URLError`) and every answer Slack gave are retried safely.
- Give the outbox a `WebClient` without `RateLimitErrorRetryHandler` (it would sleep through 429s in the
  sender thread and hide them from us; refused with ValueError). slack-sdk's default
  `ConnectionErrorRetryHandler` also retries once on a connection reset after the request was sent; pass
  `retry_handlers=[]` if even that rare duplicate is unacceptable.
- One process owns the outbox file's queue at a time (two `Outbox` objects started on one file would both
  send). The pacing of merge keys lives in memory: after a restart, a key's first version may go at once.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.render.blocks.notification import digest_blocks, digest_entry, digest_fit, digest_text
from bot.store.outbox import (
    FAILED,
    PENDING,
    SENDING,
    SENT,
    UNKNOWN,
    Episode,
    OutboxTables,
    QueuedRow,
)

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 3600.0
MAX_BACKOFF = 300.0
KEEP_FOR = 7 * 24 * 3600.0
# One version of a merge key (an episode's counter) per this many seconds: a restart loop of any length is
# one post and about one edit per 10 s, and the channel keeps nine of every ten seconds for everyone else.
MERGE_INTERVAL = 10.0
INCIDENT, UPDATE = 0, 1  # priorities: a new top-level message, then thread replies and edits
_PRUNE_EVERY = 500  # enqueues between two prunings of settled rows
# Slack errors a retry cannot fix: the message fails at once instead of holding its channel.
PERMANENT_ERRORS = frozenset(
    {
        "account_inactive",
        "cant_update_message",
        "channel_not_found",
        "edit_window_closed",
        "invalid_arguments",
        "invalid_auth",
        "invalid_blocks",
        "invalid_blocks_format",
        "is_archived",
        "message_not_found",
        "missing_scope",
        "msg_too_long",
        "no_text",
        "not_allowed_token_type",
        "not_authed",
        "not_in_channel",
        "restricted_action",
        "token_revoked",
    }
)


@dataclass(frozen=True, kw_only=True)
class OutgoingMessage:
    """One notification for one channel; `dedupe_key` names it for good (enqueued twice, posted once).

    `group`: pending messages of one group are coalesced into a digest built from their `digest_line`s
    (the message text when empty) under `digest_title` ("containers died on prod"). `episode_key`: remember
    this message's ts; `thread_key`: reply in the thread of that remembered message; `update_key`: edit it
    (with `keep_blocks`: replace only the blocks whose `block_id` this message carries). `merge_key`: a
    newer message with the same key replaces this one while it is unsent, and the key is sent at most once
    per merge interval. A message with `thread_key` or `update_key` is an update: it goes after every
    pending incident of its channel.
    """

    channel: str
    text: str
    dedupe_key: str
    blocks: list[dict[str, Any]] | None = None
    group: str | None = None
    digest_line: str = ""
    digest_title: str = ""
    thread_key: str | None = None
    episode_key: str | None = None
    update_key: str | None = None
    merge_key: str | None = None
    keep_blocks: bool = False

    @property
    def priority(self) -> int:
        """INCIDENT for a new top-level message, UPDATE for a thread reply or an edit."""
        return UPDATE if self.thread_key is not None or self.update_key is not None else INCIDENT


@dataclass(frozen=True)
class _Send:
    """One Slack call: a post (maybe in a thread) or an edit, carrying one message or a digest of several."""

    ids: tuple[int, ...]
    channel: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    update: Episode | None
    episode_keys: tuple[str, ...]
    is_digest: bool
    attempts: int
    edited_key: str | None = None  # the episode key whose message this call edits
    merge_key: str | None = None


@dataclass(frozen=True)
class _Outcome:
    kind: Literal["sent", "ratelimited", "retry", "failed", "unknown"]
    ts: str = ""
    retry_after: float = 0.0
    error: str = ""


def merge_blocks(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The blocks of an edit that keeps what it does not change: `old` with every block whose `block_id`
    a block of `new` carries replaced by that block, then the blocks of `new` that `old` lacks.

    When a block of `new` has no `block_id` it cannot say what it replaces: `new` then replaces everything
    (merging would add that block again at every edit).
    """
    if not all(block.get("block_id") for block in new):
        return [dict(block) for block in new]
    fresh = {str(block["block_id"]): block for block in new}
    kept = {str(block.get("block_id")) for block in old}
    merged = [dict(fresh.get(str(block.get("block_id")), block)) for block in old]
    merged.extend(dict(block) for key, block in fresh.items() if key not in kept)
    return merged


class Outbox:
    """Persistent per-channel queues of Slack messages, sent by one thread per busy channel.

    Enqueue any time (before start() too); start() launches the senders and resumes what a previous run
    left pending; stop() ends them, leaving unsent messages in the database for the next start.
    `clock` paces the channels (a call to Slack no sooner than `per_channel_interval` after both the start
    and the answer of the channel's previous one); waiting itself is real time.
    """

    def __init__(
        self,
        db_path: Path | str,
        client: WebClient,
        *,
        per_channel_interval: float = 1.0,
        coalesce_threshold: int = 3,
        clock: Callable[[], float] = time.monotonic,
        max_attempts: int = 5,
        backoff: float = 1.0,
        keep_for: float = KEEP_FOR,
        merge_interval: float = MERGE_INTERVAL,
    ) -> None:
        if any(isinstance(handler, RateLimitErrorRetryHandler) for handler in client.retry_handlers):
            raise ValueError(
                "give the outbox a WebClient without RateLimitErrorRetryHandler: it paces 429s itself"
            )
        self._client = client
        self._interval = per_channel_interval
        self._threshold = coalesce_threshold
        self._clock = clock
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff
        self._keep_for = keep_for
        self._merge_interval = merge_interval
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._tables = OutboxTables(db_path)
        self._workers: dict[str, threading.Thread] = {}
        self._ready_at: dict[str, float] = {}  # per channel, on self._clock: no call to Slack before it
        self._key_ready: dict[tuple[str, str], float] = {}  # per (channel, merge key), on self._clock
        self._started = False
        self._stopping = False
        self._closed = False
        self._enqueued = 0

    # ---- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start sending: what a previous run left pending goes first, in order; a second call is a no-op."""
        with self._cond:
            if self._stopping:
                raise RuntimeError("a stopped outbox cannot start again: make a new one on the same file")
            if self._started:
                return
            self._started = True
            with self._tables.transaction():
                stranded = self._tables.strand_sending(
                    time.time(), "interrupted while being sent: not re-sent (at most once)"
                )
                self._prune()
            for key in stranded:
                log.warning("outbox: %s was being sent when the last run ended; not re-sending it", key)
            for channel in self._tables.pending_channels():
                self._spawn(channel)

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the senders (pending messages stay queued for the next start); True when all have ended.

        A sender inside a Slack call finishes that call first. Once every sender has ended the database is
        closed and the outbox is done: enqueue() and the counters then raise RuntimeError.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            self._stopping = True
            workers = list(self._workers.values())
            self._cond.notify_all()
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        alive = [worker.name for worker in workers if worker.is_alive()]
        if alive:
            log.warning("outbox: senders still inside a Slack call after %.1f s: %s", timeout, alive)
            return False
        with self._cond:
            if not self._closed:
                self._closed = True
                self._tables.close()
        return True

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- the queue ---------------------------------------------------------------------------------------

    def enqueue(self, message: OutgoingMessage) -> bool:
        """Queue a message for its channel; False (and nothing queued) when its dedupe key was seen before."""
        if not message.dedupe_key:
            raise ValueError("an outgoing message needs a dedupe_key")
        if not message.channel or not message.text.strip():
            raise ValueError("an outgoing message needs a channel and a text (Slack's notification fallback)")
        with self._cond:
            self._check_open()
            with self._tables.transaction():
                row_id = self._tables.insert(message, time.time())
                if row_id is None:
                    return False
                if message.merge_key is not None:  # the newest version wins: older unsent ones retire
                    self._tables.retire_versions(
                        message.merge_key, message.channel, row_id, message.dedupe_key, time.time()
                    )
            self._enqueued += 1
            if self._enqueued % _PRUNE_EVERY == 0:
                with self._tables.transaction():
                    self._prune()
            if self._started and not self._stopping:
                self._spawn(message.channel)
            self._cond.notify_all()
        return True

    def pending_count(self) -> int:
        """Messages not yet settled (waiting, or inside a Slack call right now)."""
        with self._cond:
            return self._count(PENDING, SENDING)

    def posted_count(self) -> int:
        """Messages Slack accepted (each member of a digest counts once)."""
        with self._cond:
            return self._count(SENT)

    def counts(self) -> dict[str, int]:
        """How many messages are in each state: pending, sending, sent, failed, unknown, merged."""
        with self._cond:
            self._check_open()
            return self._tables.counts()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is pending (all sent, failed or unknown); False after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._count(PENDING, SENDING):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.5))
        return True

    # ---- internals (the lock is held where a docstring says so) ------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the outbox is stopped")

    def _count(self, *states: str) -> int:
        self._check_open()
        return self._tables.count(*states)

    def _prune(self) -> None:
        """Forget settled messages (and their dedupe keys) and episodes older than keep_for; lock held."""
        self._tables.prune(time.time() - self._keep_for)

    def _spawn(self, channel: str) -> None:
        """Make sure a sender runs for this channel; lock held."""
        if channel in self._workers:
            return
        worker = threading.Thread(target=self._run, args=(channel,), name=f"outbox-{channel}", daemon=True)
        self._workers[channel] = worker
        worker.start()

    def _run(self, channel: str) -> None:
        """The sender of one channel: claim the next send, make the call, record the outcome; never raises."""
        try:
            while True:
                try:
                    with self._cond:
                        send = self._claim(channel)
                    if send is None:
                        return
                    outcome = self._deliver(send)
                    with self._cond:
                        if self._closed:
                            return
                        self._settle(send, outcome)
                        self._cond.notify_all()
                except Exception:
                    log.exception("outbox: sender of %s hit an unexpected error; going on", channel)
                    with self._cond:
                        if self._closed or self._stopping:
                            return
                        self._ready_at[channel] = self._clock() + max(self._backoff, self._interval)
        finally:
            with self._cond:
                if self._workers.get(channel) is threading.current_thread():
                    del self._workers[channel]
                self._cond.notify_all()

    def _claim(self, channel: str) -> _Send | None:
        """Wait for the channel's turn, then take its next send (marked `sending`); None to end. Lock held."""
        while True:
            if self._stopping or self._closed:
                return None
            wait = self._ready_at.get(channel, float("-inf")) - self._clock()
            if wait > 0:
                self._cond.wait(wait)
                continue
            send = self._next_send(channel)
            if send is None:
                del self._workers[channel]  # under the same lock as enqueue's check: no message is stranded
                return None
            if isinstance(send, float):  # only paced messages are pending: look again when one is free
                self._cond.wait(max(send - self._clock(), 0.001))
                continue
            self._ready_at[channel] = self._clock() + self._interval
            return send

    def _free_at(self, row: QueuedRow, unsent: Mapping[str, int], now: float) -> float | None:
        """None when `row` may go now; else when it may (inf: once the message it aims at is sent)."""
        for key in (row.thread_key, row.update_key):
            if key is not None and unsent.get(key, row.id) < row.id:
                return math.inf
        if row.merge_key is not None:
            ready = self._key_ready.get((row.channel, row.merge_key), now)
            if ready > now:
                return ready
        return None

    def _turn(self, channel: str) -> tuple[QueuedRow | None, float, set[str], dict[str, int]]:
        """Whose turn it is in the channel: the first row, by priority then age, free to go and not behind
        a waiting row aimed at the same key. Returns it (None when no row is free), the earliest time a
        waiting one is free (inf: none pending), the keys held back, and the unsent episodes. Lock held."""
        now = self._clock()
        unsent = self._tables.unsent_episodes(channel)
        held: set[str] = set()
        wake = math.inf
        seen = False
        with closing(self._tables.pending_in_turn_order(channel)) as rows:
            for row in rows:
                seen = True
                free_at = self._free_at(row, unsent, now)
                if free_at is None and not row.aims & held:
                    return row, wake, held, unsent
                held |= row.aims
                if free_at is not None:  # a row held only behind another waits as long as that one
                    wake = min(wake, free_at)
        if seen and wake == math.inf:  # cannot happen (a row waits only for an older one); never spin
            wake = now + self._interval
        return None, wake, held, unsent

    def _episode(self, key: str | None) -> Episode | None:
        return None if key is None else self._tables.episode(key)

    def _thread_ts(self, channel: str, key: str | None) -> str | None:
        episode = self._episode(key)
        if key is not None and (episode is None or episode.channel != channel):
            log.info("outbox: no message remembered as %s in %s; posting at the top level", key, channel)
            return None
        return episode.ts if episode else None

    def _next_send(self, channel: str) -> _Send | float | None:
        """The message whose turn it is, or the digest it heads, its rows marked `sending`; or, when every
        pending message waits (paced), the clock time to look again; None when nothing is pending. Lock held.
        """
        head, wake, held, unsent = self._turn(channel)
        if head is None:
            return None if wake == math.inf else wake
        members = [head]
        if head.group_key is not None and head.update_key is None:
            now = self._clock()
            group = [
                row
                for row in self._tables.pending_group(channel, head.group_key, head.priority)
                if self._free_at(row, unsent, now) is None and not row.aims & held
            ]
            if len(group) > self._threshold:
                members = group
        send = self._digest(channel, members) if len(members) > 1 else self._single(channel, head)
        with self._tables.transaction():
            self._tables.mark_sending(send.ids)
        return send

    def _single(self, channel: str, row: QueuedRow) -> _Send:
        blocks = row.blocks
        update = self._episode(row.update_key)
        thread_ts = self._thread_ts(channel, row.thread_key)
        if row.update_key is not None and update is None:
            log.info("outbox: no message remembered as %s to update; posting instead", row.update_key)
        elif update is not None and update.is_digest:
            # Editing a digest would erase its other members: answer in its thread instead.
            thread_ts, update = (update.ts if update.channel == channel else thread_ts), None
        if update is not None and row.keep_blocks and blocks is not None and update.blocks is not None:
            blocks = merge_blocks(update.blocks, blocks)
        return _Send(
            ids=(row.id,),
            channel=channel,
            text=row.text,
            blocks=blocks,
            thread_ts=thread_ts,
            update=update,
            episode_keys=(row.episode_key,) if row.episode_key else (),
            is_digest=False,
            attempts=row.attempts,
            edited_key=row.update_key if update is not None else None,
            merge_key=row.merge_key,
        )

    def _digest(self, channel: str, group: list[QueuedRow]) -> _Send:
        entries = [digest_entry(row.digest_line or row.text) for row in group]
        fit = digest_fit(entries)
        members = group[:fit]
        span = members[-1].enqueued_at - members[0].enqueued_at
        text = digest_text(members[0].digest_title, entries[:fit], span, more=len(group) - fit)
        thread_keys = {row.thread_key for row in members}
        thread_key = thread_keys.pop() if len(thread_keys) == 1 else None
        return _Send(
            ids=tuple(row.id for row in members),
            channel=channel,
            text=text,
            blocks=digest_blocks(text),
            thread_ts=self._thread_ts(channel, thread_key),
            update=None,
            episode_keys=tuple(row.episode_key for row in members if row.episode_key),
            is_digest=True,
            attempts=max(row.attempts for row in members),
        )

    def _deliver(self, send: _Send) -> _Outcome:
        """Make the one Slack call of a send (no lock held) and say how it went."""
        try:
            if send.update is not None:
                response = self._client.chat_update(
                    channel=send.update.channel, ts=send.update.ts, text=send.text, blocks=send.blocks
                )
            else:
                response = self._client.chat_postMessage(
                    channel=send.channel, text=send.text, blocks=send.blocks, thread_ts=send.thread_ts
                )
        except SlackApiError as error:  # Slack answered: the message was not posted, trying again is safe
            status = error.response.status_code
            code = str(error.response.get("error") or "")
            if status == 429 or code == "ratelimited":
                return _Outcome("ratelimited", retry_after=_retry_after(error.response.headers))
            if code in PERMANENT_ERRORS:
                return _Outcome("failed", error=code)
            return _Outcome("retry", error=code or f"HTTP {status}")
        except SlackRequestError as error:  # refused before sending
            return _Outcome("failed", error=str(error))
        except URLError as error:  # connecting or sending failed: Slack never got the whole request
            return _Outcome("retry", error=str(error.reason))
        except Exception as error:  # the request went out, no answer came back: Slack may have posted it
            return _Outcome("unknown", error=repr(error))
        ts = str(response.get("ts") or (send.update.ts if send.update else ""))
        return _Outcome("sent", ts=ts)

    def _settle(self, send: _Send, outcome: _Outcome) -> None:
        """Record a call's outcome in one transaction and pace the channel accordingly. Lock held."""
        now = time.time()
        # The interval also counts from the answer: Slack then sees calls at least an interval apart however
        # long one took to travel.
        ready = self._clock() + self._interval
        self._ready_at[send.channel] = max(self._ready_at.get(send.channel, ready), ready)
        with self._tables.transaction():
            if outcome.kind == "sent":
                self._tables.mark_sent(send.ids, outcome.ts, now)
                self._tables.remember_episodes(
                    send.episode_keys,
                    channel=send.update.channel if send.update else send.channel,
                    ts=outcome.ts,
                    is_digest=send.is_digest,
                    blocks=send.blocks,
                    now=now,
                )
                if send.edited_key is not None:  # the edited message now shows these blocks
                    self._tables.update_episode_blocks(send.edited_key, send.blocks)
            elif outcome.kind == "ratelimited":
                self._tables.back_to_pending(send.ids)
                paused = self._clock() + outcome.retry_after
                self._ready_at[send.channel] = max(self._ready_at[send.channel], paused)
            elif outcome.kind == "retry" and send.attempts + 1 < self._max_attempts:
                self._tables.retry_later(send.ids, outcome.error)
                delay = min(MAX_BACKOFF, self._backoff * 2**send.attempts)
                self._ready_at[send.channel] = max(self._ready_at[send.channel], self._clock() + delay)
            else:
                state = UNKNOWN if outcome.kind == "unknown" else FAILED
                self._tables.give_up(send.ids, state, outcome.error, now)
        if outcome.kind in ("sent", "unknown"):
            self._pace_keys(send)
        if outcome.kind == "ratelimited":
            log.info("outbox: %s rate limited; pausing it %.1f s", send.channel, outcome.retry_after)
        elif outcome.kind == "retry" and send.attempts + 1 < self._max_attempts:
            log.info("outbox: %s: %s; retrying", send.channel, outcome.error)
        elif outcome.kind != "sent":
            log.error(
                "outbox: giving up on %d message(s) for %s (%s): %s",
                len(send.ids),
                send.channel,
                "maybe posted" if outcome.kind == "unknown" else "failed",
                outcome.error,
            )

    def _pace_keys(self, send: _Send) -> None:
        """After a send: its merge key, and the keys of the episodes it opened, wait merge_interval before
        their next version (so the first edit of an episode comes an interval after its post). Lock held."""
        now = self._clock()
        for free in [k for k, ready in self._key_ready.items() if ready <= now]:
            del self._key_ready[free]  # forget what is free again: the map holds only recent keys
        for key in (send.merge_key, *send.episode_keys):
            if key is not None:
                self._key_ready[(send.channel, key)] = now + self._merge_interval


def _retry_after(headers: Any) -> float:
    """Seconds from a 429's Retry-After header (1 when missing or unreadable), at most MAX_RETRY_AFTER."""
    value: Any = None
    if isinstance(headers, dict):
        for name, found in headers.items():
            if str(name).lower() == "retry-after":
                value = found
                break
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
