"""Notification rules against the clock and a socket: ten thousand events evaluated fast enough, and a
restart loop through the outbox to a fake Slack. The rules themselves: tests/unit/test_notify_rules.py."""

from __future__ import annotations

import time
from pathlib import Path

from fakes import FakeWebApi
from notify_events import ALL_KINDS, OTHER, crash, event, make_rules, run
from slack_sdk import WebClient

from bot.notify.messages import outgoing_messages
from bot.notify.outbox import Outbox
from bot.notify.rules import RuleState


def test_evaluate_is_fast_enough_for_the_bench() -> None:
    """Ten thousand mixed events go through the rules far faster than 2,000 events per second."""
    rules = make_rules(
        {"channel": "C0A", "events": ALL_KINDS, "containers": ["web-*", "label:team=shop"]},
        {"channel": "C0B", "events": ["died"], "hosts": ["prod-*"]},
    )
    state = RuleState()
    stream = []
    for i in range(2000):
        cid = f"{i % 50:064d}"
        stream += [
            event("start", i, cid=cid, name=f"web-{i % 50}"),
            event("health_status: unhealthy", i + 0.1, cid=cid, name=f"web-{i % 50}"),
            event("health_status: healthy", i + 0.2, cid=cid, name=f"web-{i % 50}"),
            event("die", i + 0.3, cid=cid, name=f"web-{i % 50}", exitCode="1"),
            event("exec_start: x", i + 0.4, cid=cid),
        ]
    started = time.perf_counter()
    for item in stream:
        rules.evaluate(item, state)
    elapsed = time.perf_counter() - started
    assert len(stream) / elapsed > 20_000, f"{len(stream) / elapsed:.0f} events/s"


def test_a_300_restart_loop_and_another_crash_through_the_outbox(tmp_path: Path) -> None:
    """Rules → messages → outbox → fake Slack, no Docker: 300 restarts are one post and a few edits, the
    last showing 300; another container's crash queued behind them all goes out next."""
    rules, state = (
        make_rules({"channel": "C0ALERTS", "events": ["died", "restart_loop", "recovered"]}),
        RuleState(),
    )
    notes = run(rules, state, event("start", 0))
    for n in range(300):
        notes += run(rules, state, *crash(1 + n * 0.1))
    notes += run(rules, state, event("die", 40, cid=OTHER, name="db-1", exitCode="5"))
    with FakeWebApi() as slack:
        client = WebClient(base_url=slack.api_url, token=slack.bot_token, timeout=5)
        outbox = Outbox(
            tmp_path / "state.db",
            client,
            per_channel_interval=0.05,
            merge_interval=0.5,
            coalesce_threshold=10,
        )
        for note in notes:  # all queued before the sender starts: the order is the outbox's alone
            for message in outgoing_messages(note):
                outbox.enqueue(message)
        with outbox:
            assert outbox.flush(10)
            counts = outbox.counts()
        posts = [m for m in slack.messages("C0ALERTS") if m.kind == "chat.postMessage"]
        edits = [m for m in slack.messages("C0ALERTS") if m.kind == "chat.update"]
        assert not slack.errors
    assert [m.text for m in posts] == [
        "web-1 exited (1)",
        "web-1 exited (1)",
        "web-1 exited (1)",
        "web-1 is in a restart loop (3 restarts)",
        "db-1 exited (5)",  # an incident: before any edit of the loop
    ]
    loop = posts[3]
    assert [e.ts for e in edits] == [loop.ts]  # every version but the newest merged while paced
    assert edits[0].text == "web-1 is in a restart loop (300 restarts)"
    assert counts["merged"] == 296
