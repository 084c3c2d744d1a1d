"""The outbox against the fake Slack over real sockets: order, pacing, digests, 429s, restarts, threads."""

from __future__ import annotations

import itertools
import math
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeWebApi, RecordedRequest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.notify.outbox import Outbox, OutgoingMessage, merge_blocks
from bot.render.blocks.limits import limit_violations, slack_length
from bot.render.blocks.notification import DIGEST_MAX_CHARS

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
    assert all(slack_length(text) <= DIGEST_MAX_CHARS for text in bodies)
    for request in sent:  # each digest is also a verbatim section Slack would take
        if "containers died on prod" not in request.body["text"]:
            continue
        blocks = request.body["blocks"]
        assert limit_violations(blocks, text=request.body["text"]) == []
        assert all(block["text"]["verbatim"] is True for block in blocks)
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
        assert restarted.counts() == {
            "pending": 0,
            "sending": 0,
            "sent": 1,
            "failed": 0,
            "unknown": 1,
            "merged": 0,
        }
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
        assert outbox.counts() == {
            "pending": 0,
            "sending": 0,
            "sent": 2,
            "failed": 2,
            "unknown": 0,
            "merged": 0,
        }
    assert texts(fake, "C1") == ["C1 message 0", "C1 message 2"]


def test_refuses_a_client_that_sleeps_through_rate_limits(fake: FakeWebApi, db: Path) -> None:
    """A WebClient with RateLimitErrorRetryHandler would hide 429s from the outbox, so it is refused."""
    client = WebClient(
        base_url=fake.api_url, token=fake.bot_token, retry_handlers=[RateLimitErrorRetryHandler()]
    )
    with pytest.raises(ValueError, match="RateLimitErrorRetryHandler"):
        Outbox(db, client)


# ---- fairness: priority, order per key, newest state wins -----------------------------------------------


def edit(channel: str, key: str, n: int, **extra: object) -> OutgoingMessage:
    """Version `n` of the counter of episode `key`: an edit of its message, merged by the key."""
    return OutgoingMessage(
        channel=channel,
        text=f"{key} count {n}",
        dedupe_key=f"{channel}-{key}-count-{n}",
        update_key=key,
        merge_key=key,
        **extra,  # type: ignore[arg-type]
    )


def calls(fake: FakeWebApi, channel: str) -> list[RecordedRequest]:
    """Every chat.postMessage and chat.update to `channel`, in arrival order."""
    return [
        r
        for r in fake.requests()
        if r.api_method in ("chat.postMessage", "chat.update") and r.body.get("channel") == channel
    ]


def test_a_new_incident_goes_before_every_queued_update(
    fake: FakeWebApi, client: WebClient, db: Path
) -> None:
    """Queued behind ten thread replies and an edit of one episode, a new top-level alert goes right
    after the episode's parent; the updates follow in the order they were queued."""
    outbox = Outbox(db, client, per_channel_interval=FAST)
    outbox.enqueue(message("C1", 0, episode_key="loop:web"))
    for n in range(1, 11):
        outbox.enqueue(message("C1", n, thread_key="loop:web"))
    outbox.enqueue(message("C1", 11, update_key="loop:web"))
    outbox.enqueue(message("C1", 12))  # another container's crash, queued last
    with outbox:
        assert outbox.flush(10)
    sent = fake.messages("C1")
    assert [m.text for m in sent] == [f"C1 message {n}" for n in (0, 12, *range(1, 12))]
    assert [m.thread_ts for m in sent[2:12]] == [sent[0].ts] * 10
    assert (sent[-1].kind, sent[-1].ts) == ("chat.update", sent[0].ts)


def test_an_alert_enqueued_during_a_flood_of_replies_waits_one_interval_at_most(
    fake: FakeWebApi, client: WebClient, db: Path
) -> None:
    """At Slack's pace, 30 replies are going out when an alert arrives: it is the next call (≤ 1 s later),
    and every call to the channel, posts and edits alike, stays a second apart."""
    with Outbox(db, client, per_channel_interval=1.0) as outbox:
        outbox.enqueue(message("C1", 0, episode_key="loop:web"))
        for n in range(1, 31):
            outbox.enqueue(message("C1", n, thread_key="loop:web"))
        fake.wait_for("chat.postMessage", count=3, timeout=10)
        queued = time.monotonic()
        outbox.enqueue(message("C1", 99))
        top = fake.wait_for_messages(2, channel="C1", timeout=5, predicate=lambda m: m.thread_ts is None)
        alert = top[1]
        waited = alert.time - queued
        replies_before = [m for m in fake.messages("C1") if m.thread_ts is not None and m.time < alert.time]
        outbox.enqueue(edit("C1", "loop:web", 1))
        outbox.stop()
    assert alert.text == "C1 message 99"
    assert waited <= 1.0 + 0.3, waited  # the call in flight, then the alert: never the 27 replies left
    assert len(replies_before) <= 4
    assert min(gaps(calls(fake, "C1"))) >= 1.0 - JITTER


def test_an_episode_keeps_its_order_even_behind_a_paced_key(
    fake: FakeWebApi, client: WebClient, db: Path
) -> None:
    """A reply whose parent is still unsent waits for it, even when the parent itself waits behind a
    paced edit: parent before replies before edits, whatever the priorities let through."""
    with Outbox(db, client, per_channel_interval=FAST, merge_interval=1.0) as outbox:
        outbox.enqueue(message("C1", 0, episode_key="A"))
        assert outbox.flush(5)
        outbox.enqueue(edit("C1", "A", 1))  # paced: an interval after A's post
        outbox.enqueue(message("C1", 1, thread_key="A", episode_key="B"))  # behind the edit of A
        outbox.enqueue(message("C1", 2, thread_key="B"))  # its parent is the reply above
        outbox.enqueue(message("C1", 3))  # an incident overtakes all of it
        assert outbox.flush(5)
    first, incident, counter, parent, child = fake.messages("C1")
    assert (incident.text, incident.thread_ts) == ("C1 message 3", None)
    assert (counter.kind, counter.ts, counter.text) == ("chat.update", first.ts, "A count 1")
    assert (parent.text, parent.thread_ts) == ("C1 message 1", first.ts)
    assert (child.text, child.thread_ts) == ("C1 message 2", parent.ts)  # in B's thread, not top level
    assert counter.time - first.time >= 1.0 - JITTER


def test_unsent_versions_of_one_key_merge_and_the_newest_wins(
    fake: FakeWebApi, client: WebClient, db: Path
) -> None:
    """50 counter edits queued while the key is paced become one edit showing the last count; the other 49
    are settled as merged, never sent, and their keys stay spent."""
    with Outbox(db, client, per_channel_interval=FAST, merge_interval=1.0) as outbox:
        outbox.enqueue(message("C1", 0, episode_key="loop:web"))
        fake.wait_for_messages(channel="C1", timeout=5)
        settled_by = time.monotonic() + 5  # Slack has it; the outbox may not have marked it sent yet
        while outbox.pending_count() and time.monotonic() < settled_by:
            time.sleep(0.01)
        for n in range(1, 51):
            assert outbox.enqueue(edit("C1", "loop:web", n))
        assert outbox.pending_count() == 1
        assert outbox.flush(5)
        assert not outbox.enqueue(edit("C1", "loop:web", 7))  # merged is settled: at most once holds
        assert outbox.counts() == {
            "pending": 0,
            "sending": 0,
            "sent": 2,
            "failed": 0,
            "unknown": 0,
            "merged": 49,
        }
    first, counter = fake.messages("C1")
    assert (counter.kind, counter.ts, counter.text) == ("chat.update", first.ts, "loop:web count 50")


def test_a_stream_of_versions_is_paced_per_key_and_never_delays_an_incident(
    fake: FakeWebApi, client: WebClient, db: Path
) -> None:
    """A version every 20 ms for 3 s: at most one edit per merge interval (⌈3 / 0.5⌉ + 1 in all), the last
    one the newest; an alert queued meanwhile goes out within one channel interval."""
    interval, channel_interval, span = 0.5, 0.05, 3.0
    with Outbox(db, client, per_channel_interval=channel_interval, merge_interval=interval) as outbox:
        outbox.enqueue(message("C1", 0, episode_key="loop:web"))
        started = time.monotonic()
        n = 0
        alert_queued = 0.0
        while time.monotonic() - started < span:
            n += 1
            outbox.enqueue(edit("C1", "loop:web", n))
            if n == 60:
                alert_queued = time.monotonic()
                outbox.enqueue(message("C1", 1))
            time.sleep(0.02)
        assert outbox.flush(5)
    updates = [m for m in fake.messages("C1") if m.kind == "chat.update"]
    (alert,) = [m for m in fake.messages("C1") if m.text == "C1 message 1"]
    assert alert.time - alert_queued <= channel_interval + 0.3
    assert 2 <= len(updates) <= math.ceil(span / interval) + 1, [u.text for u in updates]
    assert updates[-1].text == f"loop:web count {n}"
    assert min(gaps([r for r in fake.requests("chat.update") if r.status == 200])) >= interval - JITTER
    assert min(gaps(calls(fake, "C1"))) >= channel_interval - JITTER


def test_a_rate_limited_edit_is_replaced_by_the_newer_version_waiting_out_the_429(
    fake: FakeWebApi, client: WebClient, db: Path
) -> None:
    """A 429 on an edit: Retry-After is honoured, and a version queued meanwhile is the one Slack gets."""
    fake.rate_limit("chat.update", count=1, retry_after=1)
    with Outbox(db, client, per_channel_interval=FAST, merge_interval=FAST) as outbox:
        outbox.enqueue(message("C1", 0, episode_key="loop:web"))
        outbox.enqueue(edit("C1", "loop:web", 1))
        fake.wait_for("chat.update", predicate=lambda r: r.status == 429)
        deadline = time.monotonic() + 2
        while outbox.counts()["sending"] and time.monotonic() < deadline:  # the 429 is being recorded
            time.sleep(0.01)
        outbox.enqueue(edit("C1", "loop:web", 2))
        assert outbox.flush(5)
        assert outbox.counts()["merged"] == 1
    refused, accepted = fake.requests("chat.update")
    assert (refused.status, refused.body.get("text")) == (429, "loop:web count 1")
    assert (accepted.status, accepted.body.get("text")) == (200, "loop:web count 2")
    assert accepted.time - refused.time >= 1.0 - JITTER


def test_an_edit_with_keep_blocks_replaces_only_the_blocks_it_names(
    fake: FakeWebApi, client: WebClient, db: Path
) -> None:
    """The counter edit swaps the headline and facts and keeps the first crash's log lines, edit after
    edit (each builds on what the message shows now); an edit without keep_blocks replaces everything."""

    def section(block_id: str, text: str) -> dict[str, object]:
        return {"type": "section", "block_id": block_id, "text": {"type": "mrkdwn", "text": text}}

    opener = [section("headline", "loop (3)"), section("logs", "boom")]
    with Outbox(db, client, per_channel_interval=FAST, merge_interval=FAST) as outbox:
        outbox.enqueue(
            OutgoingMessage(channel="C1", text="loop", dedupe_key="open", blocks=opener, episode_key="E")
        )
        for n, blocks in enumerate(
            ([section("headline", "loop (4)"), section("facts", "4")], [section("headline", "loop (9)")])
        ):
            outbox.enqueue(edit("C1", "E", n, blocks=blocks, keep_blocks=True))
            assert outbox.flush(5)
        outbox.enqueue(edit("C1", "E", 2, blocks=[section("headline", "recovered")]))
        assert outbox.flush(5)
    shown = [[b["text"]["text"] for b in m.blocks] for m in fake.messages("C1")]
    assert shown == [
        ["loop (3)", "boom"],
        ["loop (4)", "boom", "4"],
        ["loop (9)", "boom", "4"],
        ["recovered"],
    ]


def test_merge_blocks_replaces_by_block_id_and_needs_an_id_on_every_new_block() -> None:
    """Blocks of the edit replace those with the same block_id, new ids are added at the end; an edit
    block without an id makes the edit a full replacement."""
    old = [{"block_id": "a", "v": 1}, {"block_id": "b", "v": 1}, {"type": "divider"}]
    assert merge_blocks(old, [{"block_id": "b", "v": 2}, {"block_id": "c", "v": 2}]) == [
        {"block_id": "a", "v": 1},
        {"block_id": "b", "v": 2},
        {"type": "divider"},
        {"block_id": "c", "v": 2},
    ]
    assert merge_blocks(old, [{"block_id": "a", "v": 3}, {"v": 3}]) == [{"block_id": "a", "v": 3}, {"v": 3}]


def test_priorities_and_merges_survive_a_restart(fake: FakeWebApi, client: WebClient, db: Path) -> None:
    """Queued by one outbox, sent by the next on the same file: the alert still goes before the episode's
    replies, and versions queued across the restart still merge."""
    first = Outbox(db, client, per_channel_interval=FAST, merge_interval=FAST)
    first.enqueue(message("C1", 0, episode_key="loop:web"))
    first.enqueue(message("C1", 1, thread_key="loop:web"))
    first.enqueue(edit("C1", "loop:web", 1))
    assert first.stop()
    second = Outbox(db, client, per_channel_interval=FAST, merge_interval=FAST)
    second.enqueue(edit("C1", "loop:web", 2))
    second.enqueue(message("C1", 2))
    with second:
        assert second.flush(5)
        assert second.counts()["merged"] == 1
    assert [m.text for m in fake.messages("C1")] == [
        "C1 message 0",
        "C1 message 2",
        "C1 message 1",
        "loop:web count 2",
    ]


OLD_SCHEMA = """
CREATE TABLE outbox_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, dedupe_key TEXT NOT NULL UNIQUE, channel TEXT NOT NULL,
    text TEXT NOT NULL, blocks TEXT, group_key TEXT, digest_line TEXT NOT NULL, digest_title TEXT NOT NULL,
    thread_key TEXT, episode_key TEXT, update_key TEXT, state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, enqueued_at REAL NOT NULL, done_at REAL, ts TEXT, batch INTEGER,
    error TEXT
);
CREATE INDEX outbox_messages_queue ON outbox_messages (state, channel, id);
CREATE TABLE outbox_episodes (
    episode_key TEXT PRIMARY KEY, channel TEXT NOT NULL, ts TEXT NOT NULL, is_digest INTEGER NOT NULL,
    at REAL NOT NULL
);
"""


def test_a_file_from_the_fifo_version_is_migrated_and_its_replies_become_updates(
    fake: FakeWebApi, client: WebClient, db: Path
) -> None:
    """Rows an older version queued (no priority column) are served by the new rules: the reply that
    was queued first goes after the incident queued later."""
    with sqlite3.connect(db) as raw:
        raw.executescript(OLD_SCHEMA)
        for n, thread_key in ((0, None), (1, "old:ep"), (2, None)):
            raw.execute(
                "INSERT INTO outbox_messages (dedupe_key, channel, text, digest_line, digest_title,"
                " thread_key, state, enqueued_at) VALUES (?, 'C1', ?, '', '', ?, 'pending', 0)",
                (f"old-{n}", f"old {n}", thread_key),
            )
        raw.execute("INSERT INTO outbox_episodes VALUES ('old:ep', 'C1', '1.000001', 0, ?)", (time.time(),))
    raw.close()
    with Outbox(db, client, per_channel_interval=FAST) as outbox:
        assert outbox.flush(5)
    assert [m.text for m in fake.messages("C1")] == ["old 0", "old 2", "old 1"]
