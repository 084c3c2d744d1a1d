"""The outbox against the fake Slack over real sockets: order, pacing, digests, 429s, restarts, threads."""

from __future__ import annotations

import itertools
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeWebApi, RecordedRequest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.notify.outbox import (
    DIGEST_MAX_CHARS,
    Outbox,
    OutgoingMessage,
    digest_entry,
    digest_fit,
    digest_text,
    format_span,
)

FAST = 0.2  # seconds between posts where a test is about logic, not Slack's real pace
JITTER = 0.02  # float slack: the outbox paces from its own clock, the fake stamps with its own reading


@pytest.fixture
def fake() -> Iterator[FakeWebApi]:
    with FakeWebApi() as slack:
        yield slack
    assert not slack.errors


@pytest.fixture
def client(fake: FakeWebApi) -> WebClient:
    return WebClient(base_url=fake.api_url, token=fake.bot_token, timeout=5)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "chatops.db"


def message(
    channel: str,
    n: int,
    *,
    group: str | None = None,
    digest_line: str = "",
    thread_key: str | None = None,
    episode_key: str | None = None,
    update_key: str | None = None,
) -> OutgoingMessage:
    return OutgoingMessage(
        channel=channel,
        text=f"{channel} message {n}",
        dedupe_key=f"{channel}-{n}",
        group=group,
        digest_line=digest_line,
        thread_key=thread_key,
        episode_key=episode_key,
        update_key=update_key,
    )


def died(n: int) -> OutgoingMessage:
    return OutgoingMessage(
        channel="C1",
        text=f"web-{n} died on prod (exit {n % 140})",
        dedupe_key=f"die-web-{n}",
        group="die:prod",
        digest_title="containers died on prod",
        digest_line=f"web-{n} ({n % 140})",
    )


def posts(fake: FakeWebApi, channel: str, *, ok_only: bool = True) -> list[RecordedRequest]:
    return [
        r
        for r in fake.requests("chat.postMessage")
        if r.body.get("channel") == channel and (r.status == 200 or not ok_only)
    ]


def texts(fake: FakeWebApi, channel: str) -> list[str]:
    return [m.text or "" for m in fake.messages(channel) if m.kind == "chat.postMessage"]


def gaps(requests: list[RecordedRequest]) -> list[float]:
    return [later.time - earlier.time for earlier, later in itertools.pairwise(requests)]


def test_order_per_channel_and_channels_interleave(fake: FakeWebApi, client: WebClient, db: Path) -> None:
    """Each channel gets its messages in enqueue order, and channels are served side by side."""
    with Outbox(db, client, per_channel_interval=FAST) as outbox:
        for n in range(5):
            for channel in ("C1", "C2"):
                assert outbox.enqueue(message(channel, n))
        assert outbox.flush(10)
        assert outbox.posted_count() == 10
        assert outbox.pending_count() == 0
    for channel in ("C1", "C2"):
        assert texts(fake, channel) == [f"{channel} message {n}" for n in range(5)]
    c1, c2 = posts(fake, "C1"), posts(fake, "C2")
    assert abs(c1[-1].time - c2[-1].time) < 0.5  # side by side, not one channel after the other


def test_at_most_one_post_per_second_per_channel(fake: FakeWebApi, client: WebClient, db: Path) -> None:
    """At Slack's real pace, posts to one channel are a second apart while another channel runs too."""
    with Outbox(db, client, per_channel_interval=1.0) as outbox:
        for n in range(4):
            outbox.enqueue(message("C1", n))
            outbox.enqueue(message("C2", n))
        assert outbox.flush(10)
    for channel in ("C1", "C2"):
        sent = posts(fake, channel, ok_only=False)
        assert len(sent) == 4
        assert min(gaps(sent)) >= 1.0 - JITTER
    both = sorted(posts(fake, "C1") + posts(fake, "C2"), key=lambda r: r.time)
    assert min(gaps(both)) < 0.5  # the two channels do not share one budget


def test_burst_coalesces_into_few_digests_naming_everyone(
    fake: FakeWebApi, client: WebClient, db: Path
) -> None:
    """300 deaths in a burst become a few paced digests under 3,000 chars naming each container once."""
    with Outbox(db, client, per_channel_interval=1.0) as outbox:
        for n in range(300):
            outbox.enqueue(died(n))
        assert outbox.flush(20)
        assert outbox.posted_count() == 300
    sent = posts(fake, "C1", ok_only=False)
    assert 2 <= len(sent) <= 5
    assert min(gaps(sent)) >= 1.0 - JITTER
    bodies = texts(fake, "C1")
    assert all(len(text) <= DIGEST_MAX_CHARS for text in bodies)
    digests = [text for text in bodies if "containers died on prod" in text]
    assert digests
    assert digests[0].split(" ", 1)[1].startswith("containers died on prod in ")
    named = sorted(int(n) for text in bodies for n in re.findall(r"\bweb-(\d+)\b", text))
    assert named == list(range(300))  # everyone, once


def test_few_grouped_messages_go_out_one_by_one(fake: FakeWebApi, client: WebClient, db: Path) -> None:
    """At or below the threshold, grouped messages are posted individually with their own text."""
    with Outbox(db, client, per_channel_interval=FAST, coalesce_threshold=3) as outbox:
        for n in range(3):
            outbox.enqueue(died(n))
        assert outbox.flush(5)
    assert texts(fake, "C1") == [f"web-{n} died on prod (exit {n})" for n in range(3)]


def test_half_the_calls_rate_limited_still_all_delivered_in_order(
    fake: FakeWebApi, client: WebClient, db: Path
) -> None:
    """With every other call answered 429 Retry-After 1, each channel still receives everything in order."""
    fake.fail_half("chat.postMessage", retry_after=1)
    with Outbox(db, client, per_channel_interval=FAST) as outbox:
        for n in range(4):
            outbox.enqueue(message("C1", n))
            outbox.enqueue(message("C2", n))
        assert outbox.flush(20)
        assert outbox.posted_count() == 8
    limited = [r for r in fake.requests("chat.postMessage") if r.status == 429]
    assert limited
    for channel in ("C1", "C2"):
        assert texts(fake, channel) == [f"{channel} message {n}" for n in range(4)]
        attempts = posts(fake, channel, ok_only=False)
        for earlier, later in itertools.pairwise(attempts):
            if earlier.status == 429:
                assert later.time - earlier.time >= 1.0 - JITTER  # Retry-After was honoured


def test_a_rate_limited_channel_does_not_delay_another(fake: FakeWebApi, client: WebClient, db: Path) -> None:
    """While C1 waits out a 3 s Retry-After, C2's message goes out at once."""
    fake.rate_limit("chat.postMessage", count=1, retry_after=3)
    with Outbox(db, client, per_channel_interval=FAST) as outbox:
        outbox.enqueue(message("C1", 0))
        fake.wait_for("chat.postMessage", predicate=lambda r: r.status == 429)
        started = time.monotonic()
        outbox.enqueue(message("C2", 0))
        fake.wait_for_messages(channel="C2", timeout=2)
        assert time.monotonic() - started < 1.0
        assert not fake.messages("C1")
        assert outbox.flush(6)
    assert texts(fake, "C1") == ["C1 message 0"]


def test_restart_resends_pending_and_never_reposts_sent(
    fake: FakeWebApi, client: WebClient, db: Path
) -> None:
    """Stopped while a 429 pauses the channel, a new outbox on the same file delivers the rest once."""
    first = Outbox(db, client, per_channel_interval=FAST)
    first.start()
    for n in range(2):
        first.enqueue(message("C1", n))
    assert first.flush(5)
    fake.rate_limit("chat.postMessage", count=1, retry_after=30)
    for n in range(2, 6):
        first.enqueue(message("C1", n))
    fake.wait_for("chat.postMessage", predicate=lambda r: r.status == 429)
    assert first.pending_count() == 4
    assert first.stop(5)

    second = Outbox(db, client, per_channel_interval=FAST)
    assert not second.enqueue(message("C1", 0))  # already sent, and remembered across the restart
    assert not second.enqueue(message("C1", 3))  # already queued
    with second:
        assert second.flush(10)
        assert second.posted_count() == 6
    assert texts(fake, "C1") == [f"C1 message {n}" for n in range(6)]
    assert len(posts(fake, "C1")) == 6


def test_a_message_caught_mid_send_by_a_crash_is_not_resent(
    fake: FakeWebApi, client: WebClient, db: Path
) -> None:
    """A row left `sending` by a crash is marked unknown at the next start, never posted twice."""
    outbox = Outbox(db, client, per_channel_interval=FAST)
    outbox.enqueue(message("C1", 0))
    outbox.enqueue(message("C1", 1))
    outbox.stop()
    with sqlite3.connect(db) as raw:  # what a crash between Slack's 200 and our commit leaves behind
        raw.execute("UPDATE outbox_messages SET state = 'sending' WHERE dedupe_key = 'C1-0'")
    raw.close()
    with Outbox(db, client, per_channel_interval=FAST) as restarted:
        assert restarted.flush(5)
        assert restarted.counts() == {"pending": 0, "sending": 0, "sent": 1, "failed": 0, "unknown": 1}
    assert texts(fake, "C1") == ["C1 message 1"]


def test_same_dedupe_key_twice_posts_once(fake: FakeWebApi, client: WebClient, db: Path) -> None:
    """A second enqueue with the same key is refused, before and after the first was sent."""
    with Outbox(db, client, per_channel_interval=FAST) as outbox:
        assert outbox.enqueue(message("C1", 0))
        assert not outbox.enqueue(message("C1", 0))
        assert outbox.flush(5)
        assert not outbox.enqueue(message("C1", 0))
        time.sleep(2 * FAST)
    assert len(fake.requests("chat.postMessage")) == 1


def test_thread_replies_and_updates_use_the_remembered_ts(
    fake: FakeWebApi, client: WebClient, db: Path
) -> None:
    """thread_key replies under the episode's message and update_key edits it with chat.update."""
    with Outbox(db, client, per_channel_interval=FAST) as outbox:
        outbox.enqueue(message("C1", 0, episode_key="loop:web"))
        outbox.enqueue(message("C1", 1, thread_key="loop:web"))
        outbox.enqueue(message("C1", 2, update_key="loop:web"))
        outbox.enqueue(message("C1", 3, thread_key="never-posted"))
        assert outbox.flush(5)
    first, reply, edit, orphan = fake.messages("C1")
    assert (first.kind, first.thread_ts) == ("chat.postMessage", None)
    assert (reply.kind, reply.thread_ts, reply.text) == ("chat.postMessage", first.ts, "C1 message 1")
    assert (edit.kind, edit.ts, edit.text) == ("chat.update", first.ts, "C1 message 2")
    assert (orphan.kind, orphan.thread_ts) == ("chat.postMessage", None)


def test_updating_a_digest_replies_in_its_thread(fake: FakeWebApi, client: WebClient, db: Path) -> None:
    """An update aimed at a message that went out inside a digest answers in the digest's thread instead."""
    with Outbox(db, client, per_channel_interval=FAST, coalesce_threshold=1) as outbox:
        outbox.enqueue(message("C1", 0))  # holds the channel for one interval while the group gathers
        for n in range(1, 4):
            outbox.enqueue(message("C1", n, group="g", digest_line=f"line {n}", episode_key=f"ep{n}"))
        outbox.enqueue(message("C1", 4, update_key="ep2"))
        assert outbox.flush(5)
    _first, digest, answer = fake.messages("C1")
    assert digest.text is not None
    assert digest.text.startswith("3 notifications in ")
    assert digest.text.endswith("line 1, line 2, line 3")
    assert (answer.kind, answer.thread_ts, answer.text) == ("chat.postMessage", digest.ts, "C1 message 4")


def test_errors_are_retried_then_given_up_without_blocking_the_queue(
    fake: FakeWebApi, client: WebClient, db: Path
) -> None:
    """A transient error is retried with backoff; a permanent one fails that message and the next goes on."""
    fake.fail_next("chat.postMessage", "internal_error", count=2)
    with Outbox(db, client, per_channel_interval=0.05, backoff=0.05, max_attempts=3) as outbox:
        outbox.enqueue(message("C1", 0))
        assert outbox.flush(5)
        fake.fail_next("chat.postMessage", "channel_not_found")
        outbox.enqueue(message("C1", 1))
        outbox.enqueue(message("C1", 2))
        assert outbox.flush(5)
        fake.fail_next("chat.postMessage", "internal_error", count=3)
        outbox.enqueue(message("C1", 3))
        assert outbox.flush(5)
        assert outbox.counts() == {"pending": 0, "sending": 0, "sent": 2, "failed": 2, "unknown": 0}
    assert texts(fake, "C1") == ["C1 message 0", "C1 message 2"]


def test_refuses_a_client_that_sleeps_through_rate_limits(fake: FakeWebApi, db: Path) -> None:
    """A WebClient with RateLimitErrorRetryHandler would hide 429s from the outbox, so it is refused."""
    client = WebClient(
        base_url=fake.api_url, token=fake.bot_token, retry_handlers=[RateLimitErrorRetryHandler()]
    )
    with pytest.raises(ValueError, match="RateLimitErrorRetryHandler"):
        Outbox(db, client)


def test_digest_text_splits_long_bursts_and_says_how_long_they_took() -> None:
    """Digest pieces stay under the limit, name every entry once, and read like a sentence."""
    entries = [digest_entry(f"container-with-a-rather-long-name-{n:03d} (137)") for n in range(200)]
    pieces = []
    rest = entries
    while rest:
        fit = digest_fit(rest)
        pieces.append(digest_text("containers died on prod", rest[:fit], 20.2, more=len(rest) - fit))
        rest = rest[fit:]
    assert len(pieces) > 1
    assert all(len(piece) <= DIGEST_MAX_CHARS for piece in pieces)
    assert sum(piece.count("container-with") for piece in pieces) == 200
    assert pieces[0].endswith("more in the next message)")
    assert digest_text("containers died on prod", ["web-1 (137)", "web-2 (1)"], 20.2) == (
        "2 containers died on prod in 20 s: web-1 (137), web-2 (1)"
    )
    assert [format_span(s) for s in (0.2, 59.6, 300, 9000)] == [
        "in under 1 s",
        "in 60 s",
        "in 5 min",
        "in 2 h",
    ]
    assert len(digest_entry("x" * 1000)) == 300
    assert digest_entry("two\nlines") == "two lines"
