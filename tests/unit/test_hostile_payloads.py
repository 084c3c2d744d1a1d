"""Payloads built from hostile objects stay within Slack's limits and carry no live markup.

Docker accepts 5,000-character names, labels and probe output full of backticks and `<!channel>`; every
notification and App Home view built from such objects must pass the limits check (Slack would otherwise
refuse the whole payload and the user would see nothing), keep its code blocks closed, and name containers
in buttons by something a command accepts.
"""

from __future__ import annotations

import json
import string
import time
from typing import Any

from fakes.markup import live_markup
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import ContainerRow, Notification, PsResult
from bot.render.blocks.home import HostDashboard, home_view
from bot.render.blocks.limits import FENCE, HEADER_TEXT_MAX, SECTION_TEXT_MAX, limit_violations
from bot.render.blocks.notification import (
    DIGEST_MAX_CHARS,
    digest_blocks,
    digest_entry,
    digest_fit,
    digest_text,
    format_span,
    notification_blocks,
)

HOSTILE = ["<!channel>", "<!here>", "<@U0ADMIN>", "```", "`", "&", "<https://evil.example|click>", "*_~"]
KINDS = ["died", "oom", "unhealthy", "restart_loop", "restart_loop_update", "recovered", "started"]
FULL_ID = "c" * 64

hostile_text = st.lists(
    st.one_of(st.sampled_from(HOSTILE), st.text(string.printable, max_size=40)), max_size=60
).map("".join)


def long_hostile(size: int) -> str:
    return ("x`<!channel>```&" * (size // 16 + 1))[:size]


def note(**changes: Any) -> Notification:
    values: dict[str, Any] = {
        "kind": "died",
        "host": "local",
        "container": "web",
        "container_id": FULL_ID,
        "image": "nginx:latest",
        "channels": ("C1",),
        "time_nano": 1,
        "dedupe_key": "k",
        "exit_code": 1,
    }
    values.update(changes)
    return Notification(**values)


def check_notification(blocks: list[dict[str, Any]], fallback: str = "") -> None:
    assert limit_violations(blocks, text=fallback) == []
    payload = {"text": fallback, "blocks": blocks}
    assert live_markup(payload, users=(), channels=()) == []
    for block in blocks:
        if block.get("block_id") in ("probe", "logs"):  # our fences only: opened once, closed at the end
            body = block["text"]["text"].split(FENCE, 1)[1]
            assert body.endswith(FENCE)
            assert FENCE not in body[: -len(FENCE)]


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    container=st.one_of(hostile_text, st.just(long_hostile(5000)), st.just("n" * 5000)),
    image=st.one_of(hostile_text, st.just(long_hostile(5000))),
    probe=st.one_of(st.none(), hostile_text, st.just(long_hostile(10_000))),
    logs=st.lists(st.one_of(hostile_text, st.just(long_hostile(3000))), max_size=12),
)
def test_a_notification_from_hostile_objects_fits_and_renders_nothing_live(
    kind: str, container: str, image: str, probe: str | None, logs: list[str]
) -> None:
    n = note(kind=kind, container=container, image=image, health_output=probe, log_tail=tuple(logs))
    check_notification(notification_blocks(n))


def test_a_5000_character_name_is_carried_in_buttons_by_full_id() -> None:
    blocks = notification_blocks(note(container="n" * 5000))
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    commands = [json.loads(button["value"])["text"] for button in actions["elements"]]
    assert commands == [f"logs {FULL_ID} --tail 50", f"inspect {FULL_ID}", f"restart {FULL_ID}"]


def test_a_short_name_is_carried_as_typed() -> None:
    blocks = notification_blocks(note(container="web"))
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    assert json.loads(actions["elements"][2]["value"])["text"] == "restart web"


def test_a_name_no_command_accepts_and_no_full_id_gets_no_buttons() -> None:
    blocks = notification_blocks(note(container="<!channel> x", container_id="not-an-id"))
    assert [b for b in blocks if b["type"] == "actions"] == []
    check_notification(blocks)


def test_a_probe_printing_backticks_cannot_close_the_code_block() -> None:
    blocks = notification_blocks(note(kind="unhealthy", health_output="ok ``` *bold* <!channel> ```"))
    (probe,) = [b for b in blocks if b.get("block_id") == "probe"]
    assert "*bold*" in probe["text"]["text"]  # shown, but inside the block
    check_notification(blocks)


def test_notification_text_is_verbatim() -> None:
    for block in notification_blocks(note(container="example.com", health_output="see http://x.io")):
        text = block.get("text")
        if text:
            assert text["verbatim"] is True


def row(name: str, status: str = "Exited (1) 2 minutes ago") -> ContainerRow:
    return ContainerRow(
        id="a" * 64,
        names=(f"/{name}",),
        image="img",
        image_id="sha256:" + "b" * 64,
        command="sh",
        created=0,
        state="exited",
        status=status,
    )


def dashboard(names: list[str], host: str = "local") -> HostDashboard:
    return HostDashboard(host=host, ps=PsResult(rows=tuple(row(n) for n in names), now=time.time(), all=True))


def check_home(view: dict[str, Any]) -> None:
    assert view["type"] == "home"
    assert limit_violations(view["blocks"], max_blocks=100, text_budget=None) == []
    assert live_markup(view, users=(), channels=()) == []
    for block in view["blocks"]:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_TEXT_MAX
        elif block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_TEXT_MAX
            assert block["text"]["verbatim"] is True


def test_home_with_ten_300_character_names_is_published_within_limits() -> None:
    view = home_view([dashboard([f"{i}" + "n" * 299 for i in range(10)])])
    check_home(view)
    (trouble,) = [b for b in view["blocks"] if "Needs attention" in b.get("text", {}).get("text", "")]
    assert "more: `/docker ps -a -f status=exited`" not in trouble["text"]["text"]  # all ten fit


def test_home_with_5000_character_names_lists_what_fits_and_counts_the_rest() -> None:
    view = home_view([dashboard([long_hostile(5000) for _ in range(30)], host=long_hostile(5000))])
    check_home(view)
    (trouble,) = [b for b in view["blocks"] if "Needs attention" in b.get("text", {}).get("text", "")]
    assert "…and 20 more" in trouble["text"]["text"]


def test_home_with_more_hosts_than_a_view_holds_says_how_many_are_left_out() -> None:
    view = home_view([dashboard(["a"], host=f"h{i}") for i in range(60)])
    check_home(view)
    assert "more hosts not shown" in view["blocks"][-2]["text"]["text"]


def test_home_shows_a_host_that_gave_no_listing() -> None:
    view = home_view([HostDashboard(host="far", problem="no Docker engine answers <!channel>")])
    check_home(view)
    assert "no Docker engine answers &lt;!channel&gt;" in view["blocks"][1]["text"]["text"]


# ---- digests: a burst of notifications in one message -----------------------------------------------------


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


@settings(max_examples=100, deadline=None)
@given(names=st.lists(st.one_of(hostile_text, st.just(long_hostile(5000))), min_size=1, max_size=400))
def test_a_digest_of_hostile_names_fits_and_renders_nothing_live(names: list[str]) -> None:
    entries = [digest_entry(f"{name} (137)") for name in names]
    fit = digest_fit(entries)
    text = digest_text("containers died on <!channel>", entries[:fit], 3.0, more=len(entries) - fit)
    blocks = digest_blocks(text)
    assert limit_violations(blocks, text=text) == []
    assert [block["text"]["verbatim"] for block in blocks] == [True]
    assert live_markup({"blocks": blocks, "text": text}, users=(), channels=()) == []
