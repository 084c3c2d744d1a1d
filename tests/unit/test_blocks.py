"""Tests for bot.render.blocks: Block Kit replies, their pages and files, and Slack's limits.

Golden files under tests/golden/blocks/ pin the exact blocks; regenerate them with UPDATE_GOLDEN=1 after
looking at the difference (Slack's Block Kit Builder renders a file's "blocks" list as-is).
A property test throws random tables, logs, chains and problems at the renderer and checks that no limit
is ever broken and that the pages together give back exactly the CLI's text.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import golden
import pytest
from fakes.markup import live_markup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.models import (
    ConfirmationResult,
    ContainerRow,
    ImageRow,
    ImagesResult,
    InspectResult,
    LogsResult,
    Outcome,
    Port,
    Problem,
    PsResult,
    Reply,
    Result,
    Step,
    Target,
    TextResult,
)
from bot.models import Plan as PlanModel
from bot.render import blocks as blocks_module
from bot.render.blocks import (
    CHUNKS_PER_PAGE,
    MAX_PAGES,
    PAGE_TEXT_BUDGET,
    SlackLimitError,
    SlackMessage,
    enforce_limits,
    escape_code,
    escape_mrkdwn,
    limit_violations,
    mention,
    render_audit_line,
    render_container_actions,
    render_in_progress,
    render_problem,
    render_reply,
    render_reply_pages,
    slack_length,
    split_body,
    status_emoji,
)
from bot.render.result import render_result
from bot.render.text import render_reply_text

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden" / "blocks"
NOW = 1_700_000_000.0
T = int(NOW)
MINUTE, HOUR, DAY = 60, 3600, 86400
USER = "U0123ABCD"
HOST = "prod-1"
BODY_ID = re.compile(r"body-(\d+)-(\d+)(-h)?(-w)?")


def hexid(seed: str) -> str:
    """A stable 64-hex ID for a fixture object."""
    return hashlib.sha256(seed.encode()).hexdigest()


def container(
    name: str,
    *,
    status: str = "Up 3 minutes",
    state: str = "running",
    image: str = "chatops-test/busybox:latest",
    command: str = "sleep 3000",
    age: int = 5 * MINUTE,
    ports: tuple[Port, ...] = (),
) -> ContainerRow:
    """One container row as the engine fills it (names without their leading slash)."""
    return ContainerRow(
        id=hexid(name),
        names=(name,),
        image=image,
        image_id="sha256:" + hexid(image),
        command=command,
        created=T - age,
        state=state,
        status=status,
        ports=ports,
    )


def image(repo_tag: str, seed: str, *, size: int = 1_984_216, age: int = DAY) -> ImageRow:
    """One image row; `<none>:<none>` makes a dangling image."""
    return ImageRow(
        id="sha256:" + hexid(seed),
        repo_tags=(repo_tag,),
        repo_digests=(),
        created=T - age,
        size=size,
    )


def reply_of(text: str, *steps: Step, outcome: Outcome = Outcome.OK, elapsed: float = 0.42) -> Reply:
    """A reply as the router returns it."""
    return Reply(text=text, host=HOST, outcome=outcome, steps=steps, elapsed=elapsed)


def single(text: str, result: Result) -> Reply:
    """A one-command reply."""
    return reply_of(text, Step(text, result))


def small_ps() -> PsResult:
    """Two healthy running containers."""
    return PsResult(
        rows=(
            container(
                "shop-web-1",
                status="Up 44 seconds (healthy)",
                command='nginx -g "daemon off;"',
                ports=(Port(80, "tcp", "127.0.0.1", 18080),),
                age=45,
            ),
            container("shop-worker-1", status="Up 2 hours", command="python -m worker", age=2 * HOUR),
        ),
        now=NOW,
        all=True,
    )


def special_ps() -> PsResult:
    """A `<none>` image, `&&` and `>` in a command, a non-zero exit."""
    return PsResult(
        rows=(
            container(
                "build-1",
                image="<none>:<none>",
                command='sh -c "make && make install > /tmp/log"',
                status="Exited (2) 3 minutes ago",
                state="exited",
            ),
            container("cache", image="redis:7", command="redis-server <&1", age=DAY),
        ),
        now=NOW,
        all=True,
    )


def many_images(count: int) -> ImagesResult:
    """`docker images` with `count` rows, every fifth one dangling."""
    rows = tuple(
        image("<none>:<none>" if i % 5 == 0 else f"team/app-{i:04d}:v{i % 7}", f"img-{i}", age=i * HOUR)
        for i in range(count)
    )
    return ImagesResult(rows=rows, now=NOW)


def long_logs(count: int) -> LogsResult:
    """A container's last `count` log lines, with `&`, `<` and backticks in them."""
    lines = tuple(
        f"2023-11-14T22:13:{i % 60:02d}Z GET /api/items?id={i}&sort=<asc> 200 `{i * 7 % 1000}ms`"
        for i in range(count)
    )
    return LogsResult(container="shop-web-1", lines=lines, tail=count)


def three_page_reply() -> Reply:
    """A table long enough for exactly three pages."""
    return single("images", many_images(400))


GOLDENS: dict[str, Any] = {
    "ps_small": lambda: render_reply(single("ps -a", small_ps()), user_id=USER, host=HOST),
    "ps_special": lambda: render_reply(single("ps -a", special_ps()), user_id=USER, host=HOST),
    "table_page0": lambda: render_reply(
        three_page_reply(), user_id=USER, host=HOST, page=0, reply_id=REPLY_ID
    ),
    "table_page2": lambda: render_reply(
        three_page_reply(), user_id=USER, host=HOST, page=2, reply_id=REPLY_ID
    ),
    "chain": lambda: render_reply(
        reply_of(
            "ps -a && images",
            Step("ps -a", special_ps()),
            Step("images", many_images(4)),
        ),
        user_id=USER,
        host=HOST,
    ),
    "file": lambda: render_reply(
        single("logs --tail 2000 shop-web-1", long_logs(2000)), user_id=USER, host=HOST
    ),
    "problem_usage": lambda: render_problem(
        Problem(
            "UsageError",
            "unknown flag: --bogus",
            hint="see `help ps`",
            usage="docker ps [-a] [-q] [--no-trunc] [-s] [-f key=value]",
        ),
        text="ps --bogus",
        host=HOST,
        user_id=USER,
    ),
    "problem_denied": lambda: render_problem(
        Problem(
            "Denied", "role viewer may not run restart on prod-1", hint="ask in #ops for the operator role"
        ),
        text="restart shop-web-1",
        host=HOST,
    ),
    "problem_timeout": lambda: render_problem(
        Problem(
            "Timeout",
            "'ps -a' did not finish within 10 s on host prod-1",
            hint="the engine may be busy or hung; a change already sent to Docker may still complete",
        ),
        text="ps -a",
        host=HOST,
    ),
}


def as_golden(message: SlackMessage) -> str:
    """A message as stable, readable JSON: the attachment by name, size and digest only."""
    attachment = None
    if message.attachment is not None:
        content = message.attachment.content
        attachment = {
            "filename": message.attachment.filename,
            "title": message.attachment.title,
            "lines": content.count("\n"),
            "sha256": hashlib.sha256(content.encode()).hexdigest(),
        }
    data = {
        "text": message.text,
        "page": message.page,
        "pages": message.pages,
        "attachment": attachment,
        "blocks": message.blocks,
    }
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def check_golden(name: str, text: str) -> None:
    """tests/golden/blocks/NAME.json holds `text` (UPDATE_GOLDEN=1 rewrites it)."""
    golden.check_golden("blocks", f"{name}.json", text)


# ---- helpers that read blocks back -------------------------------------------------------------------------


def decode_code(text: str) -> str:
    """The raw text inside a code section: fences off, the backtick guards and mrkdwn escapes undone."""
    assert text.startswith("```"), text[:20]
    assert text.endswith("```"), text[-20:]
    inner = text[3:-3]
    inner = inner.replace("\u200b`\u200b", "`")
    return inner.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


REPLY_ID = "r3PlY1d"


def all_pages(reply: Reply, **options: Any) -> list[SlackMessage]:
    """Every page of a reply, as the door stores them for the paging buttons."""
    return render_reply_pages(reply, user_id=USER, host=HOST, reply_id=REPLY_ID, **options)


def bodies(messages: Sequence[SlackMessage]) -> dict[int, str]:
    """Each step's body rebuilt from the chunk sections of all pages: headers dropped, wraps rejoined."""
    found: dict[int, dict[int, tuple[str, bool, bool]]] = {}
    for message in messages:
        for block in message.blocks:
            match = BODY_ID.fullmatch(block.get("block_id", ""))
            if not match:
                continue
            step, n = int(match.group(1)), int(match.group(2))
            assert n not in found.setdefault(step, {}), f"chunk {step}/{n} shown twice"
            found[step][n] = (decode_code(block["text"]["text"]), bool(match.group(3)), bool(match.group(4)))
    result: dict[int, str] = {}
    for step, chunks in found.items():
        assert sorted(chunks) == list(range(len(chunks))), f"step {step} lost a chunk"
        header = chunks[0][0].split("\n", 1)[0]
        text = ""
        wraps = False
        for n in range(len(chunks)):
            chunk, repeated, next_wraps = chunks[n]
            if repeated:
                first, _, chunk = chunk.partition("\n")
                assert first == header
            text = chunk if n == 0 else text + ("" if wraps else "\n") + chunk
            wraps = next_wraps
        result[step] = text
    return result


def expected_bodies(reply: Reply) -> dict[int, str]:
    """The CLI body of every step that prints one."""
    out = {}
    for index, step in enumerate(reply.steps):
        if step.result is not None:
            body = render_result(step.result).body
            if body:
                out[index] = body
    return out


def cli_text(reply: Reply) -> str:
    """What the shell prints for a reply (results, then errors), with a final newline."""
    stdout, stderr = render_reply_text(reply)
    return "\n\n".join(part for part in (stdout, stderr) if part) + "\n"


def assert_within_limits(message: SlackMessage) -> None:
    """No Slack limit (nor our page budget) broken, and every section within 1..3,000 characters."""
    assert limit_violations(message.blocks, text=message.text) == []
    assert len(message.blocks) <= 50
    assert slack_length(message.text) <= 3000
    for block in message.blocks:
        if block["type"] == "section":
            assert 1 <= slack_length(block["text"]["text"]) <= 3000
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert slack_length(element["value"]) <= 2000
                assert slack_length(element["text"]["text"]) <= 75


def sections(message: SlackMessage) -> list[str]:
    """The mrkdwn text of every section block."""
    return [b["text"]["text"] for b in message.blocks if b["type"] == "section"]


def find(message: SlackMessage, block_type: str) -> list[dict[str, Any]]:
    """The blocks of one type."""
    return [b for b in message.blocks if b["type"] == block_type]


# ---- golden files ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_message_matches_golden(name: str) -> None:
    """Each fixture renders to exactly the blocks in its golden file."""
    check_golden(name, as_golden(GOLDENS[name]()))


def test_three_page_fixture_has_three_pages() -> None:
    """The paging golden files really show the first and the last of three pages."""
    assert render_reply(three_page_reply(), user_id=USER, host=HOST).pages == 3


def test_file_fixture_goes_to_a_file() -> None:
    """The file golden is long enough to need more than MAX_PAGES pages."""
    message = render_reply(single("logs web", long_logs(2000)), user_id=USER, host=HOST)
    assert message.attachment is not None
    assert message.pages == 1


# ---- escaping ----------------------------------------------------------------------------------------------


def test_none_and_ampersand_are_escaped_in_bodies() -> None:
    """`<none>` and `&&` reach Slack as entities, so Slack shows them as typed and parses no link."""
    body = "".join(s for s in sections(render_reply(single("ps -a", special_ps()), user_id=USER, host=HOST)))
    assert "&lt;none&gt;:&lt;none&gt;" in body
    assert "make &amp;&amp; make" in body
    assert "redis-server &lt;&amp;1" in body
    assert "<none>" not in body


def test_escape_mrkdwn_escapes_ampersand_first() -> None:
    """An entity already in the output is escaped again, so it shows literally."""
    assert escape_mrkdwn("a &lt; b <c> & d") == "a &amp;lt; b &lt;c&gt; &amp; d"


def test_triple_backticks_cannot_close_the_code_block() -> None:
    """A "```" in the output gets zero-width spaces, so the section's only fences are its own."""
    message = render_reply(
        single("logs web", LogsResult("web", ("before ```echo hi``` after", "`x`"), tail=2)),
        user_id=USER,
        host=HOST,
    )
    code = next(s for s in sections(message) if s.startswith("```"))
    assert code[3:-3].count("```") == 0
    assert decode_code(code) == "before ```echo hi``` after\n`x`"


def test_escape_code_is_reversible() -> None:
    """Zero-width spaces already in the text survive the backtick guard's round trip."""
    text = "\u200b`\u200b``` & <x>"
    assert decode_code("```" + escape_code(text) + "```") == text


def test_slack_length_counts_astral_characters_twice() -> None:
    """Characters outside the BMP count as two, as UTF-16 does: the safe way to count for Slack."""
    assert slack_length("a😀") == 3
    assert slack_length("日本\u200b") == 3
    assert slack_length("\ud800x") == 2  # a lone surrogate (JSON can carry one) is one unit


@given(st.text(st.characters() | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=40))
def test_slack_length_is_one_unit_per_character_and_one_more_beyond_the_bmp(text: str) -> None:
    """The count is exactly UTF-16's: each character one code unit, and a second one above U+FFFF."""
    assert slack_length(text) == sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


# ---- chunks ------------------------------------------------------------------------------------------------


def test_long_table_repeats_its_header_in_every_chunk() -> None:
    """Every chunk of a long table starts with the table's header line."""
    message = render_reply(single("images", many_images(120)), user_id=USER, host=HOST)
    header = render_result(many_images(120)).body.split("\n", 1)[0]
    chunks = [decode_code(s) for s in sections(message) if s.startswith("```")]
    assert len(chunks) > 1
    assert all(chunk.split("\n", 1)[0] == header for chunk in chunks)


def test_quiet_listing_repeats_no_header() -> None:
    """`-q` output has no header line, so no chunk gets one."""
    rows = tuple(container(f"c{i:04d}") for i in range(400))
    message = render_reply(single("ps -q", PsResult(rows=rows, now=NOW, quiet=True)), user_id=USER, host=HOST)
    ids = [b["block_id"] for b in message.blocks if "block_id" in b]
    assert len(ids) > 1
    assert not any(i.endswith("-h") for i in ids)


def test_a_huge_line_is_hard_wrapped() -> None:
    """A 10,000-character line is cut across chunks of at most 3,000 characters, losing nothing."""
    line = "x&y" * 3400
    chunks = split_body(line, None)
    assert len(chunks) >= 5
    assert all(c.wraps for c in chunks[:-1])
    assert not chunks[-1].wraps
    assert all(slack_length("```" + escape_code(c.text) + "```") <= 3000 for c in chunks)
    assert "".join(c.text for c in chunks) == line


@given(line=st.text(st.sampled_from("ab &<>`日😀"), min_size=1, max_size=120), limit=st.integers(8, 40))
def test_a_wrapped_line_fills_each_chunk(line: str, limit: int) -> None:
    """A line too long for one chunk is cut into the longest pieces that fit (a character alone costing
    more than a chunk holds is a piece of its own), one per chunk, in order."""
    budget = limit - 2 * len("```")
    texts = [chunk.text for chunk in split_body(line, None, limit)]
    assert "".join(texts) == line
    for n, text in enumerate(texts):
        assert len(text) == 1 or slack_length(escape_code(text)) <= budget
        if n + 1 < len(texts):  # the next piece's first character did not fit
            assert slack_length(escape_code(text + texts[n + 1][0])) > budget


def test_a_huge_header_is_not_repeated() -> None:
    """A header longer than half a chunk is not repeated (it would crowd out the rows)."""
    header = "H" * 2000
    body = "\n".join([header] + ["row"] * 1000)
    chunks = split_body(body, header)
    assert len(chunks) > 1
    assert not any(c.repeated_header for c in chunks)


def test_pages_hold_at_most_the_chunk_limit() -> None:
    """No page carries more than CHUNKS_PER_PAGE code sections."""
    for message in all_pages(three_page_reply()):
        assert len([s for s in sections(message) if s.startswith("```")]) <= CHUNKS_PER_PAGE


# ---- summary and status ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "emoji"),
    [
        ((), ":white_circle:"),
        ((container("a", status="Up 1 hour (healthy)"), container("b")), ":large_green_circle:"),
        ((container("a", status="Up 1 hour (unhealthy)"),), ":red_circle:"),
        ((container("a", status="Exited (137) 2 minutes ago", state="exited"),), ":red_circle:"),
        ((container("a", status="Restarting (1) 3 seconds ago", state="restarting"),), ":red_circle:"),
        (
            (container("a"), container("b", status="Exited (0) 1 hour ago", state="exited")),
            ":large_yellow_circle:",
        ),
        ((container("a", status="Up 3 seconds (health: starting)"),), ":large_yellow_circle:"),
    ],
)
def test_status_emoji_follows_container_health(rows: tuple[ContainerRow, ...], emoji: str) -> None:
    """Red for any failing container, green when all run well, white for none, yellow in between."""
    assert status_emoji(PsResult(rows=rows, now=NOW)) == emoji


def test_other_results_get_the_information_emoji() -> None:
    """Results without container states get a neutral emoji before their summary."""
    assert status_emoji(many_images(3)) == ":information_source:"


def test_summary_line_leads_the_message() -> None:
    """The first section is the status emoji and the summary, the body comes after."""
    message = render_reply(single("ps -a", small_ps()), user_id=USER, host=HOST)
    assert sections(message)[0] == ":large_green_circle: 2 containers: 2 running"


def test_context_line_names_user_command_host_and_time() -> None:
    """The closing context says who ran what where, with backticks in the command neutralised."""
    reply = reply_of("logs `web` <x>", Step("logs web", LogsResult("web", ("hi",), tail=1)), elapsed=1.5)
    message = render_reply(reply, user_id=USER, host=HOST)
    last = message.blocks[-1]
    assert last["type"] == "context"
    assert last["elements"][0]["text"] == f"<@{USER}> ran `docker logs ˋwebˋ &lt;x&gt;` on *{HOST}* · 1.50 s"


def test_fallback_text_is_a_short_summary_not_the_body() -> None:
    """The notification text says what ran and its summary, and carries none of the table."""
    message = render_reply(single("ps -a", small_ps()), user_id=USER, host=HOST)
    assert message.text == f"docker ps -a on {HOST}: 2 containers: 2 running"


def test_empty_output_says_so() -> None:
    """A command that prints nothing still gets a visible line."""
    message = render_reply(single("ps -q", PsResult(rows=(), now=NOW, quiet=True)), user_id=USER, host=HOST)
    assert sections(message) == ["_no output_"]


def test_text_results_have_no_summary_section() -> None:
    """An inspect digest starts directly with its code section."""
    result = InspectResult(kind="volume", data={"Name": "data", "Driver": "local"}, now=NOW)
    message = render_reply(single("inspect data", result), user_id=USER, host=HOST)
    assert sections(message)[0].startswith("```")


# ---- chains ------------------------------------------------------------------------------------------------


def test_chain_shows_each_command_before_its_output() -> None:
    """In `A && B` each step's section starts with `$ docker A`, in order."""
    reply = reply_of("ps -a && images", Step("ps -a", small_ps()), Step("images", many_images(3)))
    texts = sections(render_reply(reply, user_id=USER, host=HOST))
    heads = [t.split("\n", 1)[0] for t in texts if t.startswith("`$ docker")]
    assert heads == ["`$ docker ps -a`", "`$ docker images`"]


def test_chain_stopped_by_a_problem_shows_results_then_the_error() -> None:
    """A chain that failed at its second step shows the first result and the warning after it."""
    reply = reply_of(
        "ps -a && logs nope",
        Step("ps -a", small_ps()),
        Step("logs nope", problem=Problem("NotFound", "no such container: nope")),
        outcome=Outcome.FAILED,
    )
    texts = sections(render_reply(reply, user_id=USER, host=HOST))
    assert texts[-1] == ":warning: *error:* (in `docker logs nope`) no such container: nope"
    assert texts[0].startswith("`$ docker ps -a`")


# ---- paging ------------------------------------------------------------------------------------------------


def paging_buttons(message: SlackMessage) -> dict[str, dict[str, Any]]:
    """The paging buttons by action_id, with their values decoded."""
    return {
        e["action_id"]: json.loads(e["value"])
        for block in find(message, "actions")
        for e in block["elements"]
        if e["action_id"] in ("page_prev", "page_next")
    }


def test_first_middle_and_last_pages_have_the_right_buttons() -> None:
    """Page 1 has only Next, the middle both, the last only Prev; values name the stored reply and the page
    to show, never a command to run."""
    first, middle, last = all_pages(three_page_reply())
    assert paging_buttons(first) == {"page_next": {"id": REPLY_ID, "page": 1}}
    assert paging_buttons(middle) == {
        "page_prev": {"id": REPLY_ID, "page": 0},
        "page_next": {"id": REPLY_ID, "page": 2},
    }
    assert paging_buttons(last) == {"page_prev": {"id": REPLY_ID, "page": 1}}
    assert last.blocks[-1]["elements"][-1]["text"] == "Page 3 of 3"


def test_render_reply_pages_are_the_pages_render_reply_shows() -> None:
    """The stored pages are exactly what rendering page N gives, in order, each knowing its number."""
    reply = three_page_reply()
    pages = all_pages(reply)
    assert [m.page for m in pages] == [0, 1, 2]
    assert pages == [
        render_reply(reply, user_id=USER, host=HOST, page=n, reply_id=REPLY_ID) for n in range(3)
    ]
    assert render_reply_pages(single("ps -a", small_ps()), user_id=USER, host=HOST) == [
        render_reply(single("ps -a", small_ps()), user_id=USER, host=HOST)
    ]


def test_page_number_out_of_range_is_clamped() -> None:
    """A stale button asking for page 9 of 3 gets the last page, a negative page the first."""
    assert render_reply(three_page_reply(), user_id=USER, host=HOST, page=9).page == 2
    assert render_reply(three_page_reply(), user_id=USER, host=HOST, page=-1).page == 0


def test_single_page_has_no_paging() -> None:
    """Short output gets no paging buttons and no page counter."""
    message = render_reply(single("ps -a", small_ps()), user_id=USER, host=HOST)
    assert paging_buttons(message) == {}
    assert message.pages == 1
    assert len(message.blocks[-1]["elements"]) == 1


def test_intro_appears_only_on_the_first_page() -> None:
    """The summary line goes with the first chunk, not on every page."""
    first, *rest = all_pages(three_page_reply())
    assert not sections(first)[0].startswith("```")
    assert all(sections(m)[0].startswith("```") for m in rest)


# ---- files -------------------------------------------------------------------------------------------------


def test_more_than_max_pages_goes_to_a_file() -> None:
    """Output needing more than MAX_PAGES pages shows page 1 and attaches the full CLI text."""
    reply = single("logs --tail 2000 shop-web-1", long_logs(2000))
    message = render_reply(reply, user_id=USER, host=HOST)
    assert message.attachment is not None
    assert message.attachment.filename == "docker-logs-tail-2000-shop-web-1.txt"
    assert message.attachment.content == cli_text(reply)
    assert paging_buttons(message) == {}
    assert any("attached as a file" in s for s in sections(message))


def test_force_file_attaches_even_short_output() -> None:
    """`force_file` attaches the text of a one-page reply too."""
    reply = single("ps -a", small_ps())
    message = render_reply(reply, user_id=USER, host=HOST, force_file=True)
    assert message.attachment is not None
    assert message.attachment.filename == "docker-ps-a.txt"
    assert message.attachment.content == cli_text(reply)
    assert "Full output (4 lines) attached as a file" in sections(message)[-1]


def test_a_command_of_any_length_still_pages() -> None:
    """A paging button carries only the stored reply's id, so even a 2,100-character command pages."""
    reply = reply_of("images " + "x" * 2100, Step("images", many_images(400)))
    message = render_reply(reply, user_id=USER, host=HOST, reply_id=REPLY_ID)
    assert message.attachment is None
    assert paging_buttons(message) == {"page_next": {"id": REPLY_ID, "page": 1}}
    assert_within_limits(message)


def test_a_file_reply_has_one_page() -> None:
    """A reply that goes as a file is one stored page, with the file attached."""
    (message,) = all_pages(single("logs web", long_logs(2000)))
    assert message.attachment is not None
    assert message.pages == 1


def test_max_pages_pages_still_page() -> None:
    """Exactly MAX_PAGES pages are browsed with buttons, not sent as a file."""
    count = 10
    while render_reply(single("images", many_images(count)), user_id=USER, host=HOST).pages < MAX_PAGES:
        count += 20
    message = render_reply(single("images", many_images(count)), user_id=USER, host=HOST)
    assert message.pages == MAX_PAGES
    assert message.attachment is None


# ---- per-row actions ---------------------------------------------------------------------------------------


def picker(message: SlackMessage) -> dict[str, Any] | None:
    """The `ps_pick` select of a message, if any."""
    for block in find(message, "actions"):
        for element in block["elements"]:
            if element["action_id"] == "ps_pick":
                return element
    return None


def test_short_ps_offers_a_container_picker() -> None:
    """A ps of up to 25 rows gets a select whose options carry the name and host as JSON."""
    select = picker(render_reply(single("ps -a", small_ps()), user_id=USER, host=HOST))
    assert select is not None
    assert select["type"] == "static_select"
    assert [json.loads(o["value"]) for o in select["options"]] == [
        {"name": "shop-web-1", "host": HOST},
        {"name": "shop-worker-1", "host": HOST},
    ]


@pytest.mark.parametrize(
    "result", [PsResult(rows=(), now=NOW), PsResult(rows=small_ps().rows, now=NOW, quiet=True)]
)
def test_empty_or_quiet_ps_has_no_picker(result: PsResult) -> None:
    """No containers, or `-q` output, offer no picker."""
    assert picker(render_reply(single("ps", result), user_id=USER, host=HOST)) is None


def test_long_ps_has_no_picker() -> None:
    """More than 25 containers offer no picker (the select would be a haystack)."""
    rows = tuple(container(f"c{i}") for i in range(26))
    assert picker(render_reply(single("ps", PsResult(rows=rows, now=NOW)), user_id=USER, host=HOST)) is None


def test_picker_uses_the_short_id_for_very_long_names() -> None:
    """A name that would overflow the 150-character option value is replaced by the short ID."""
    row = container("n" * 200)
    select = picker(render_reply(single("ps", PsResult(rows=(row,), now=NOW)), user_id=USER, host=HOST))
    assert select is not None
    option = select["options"][0]
    assert json.loads(option["value"]) == {"name": row.id[:12], "host": HOST}
    assert len(option["text"]["text"]) == 75


def test_container_actions_offer_logs_and_inspect() -> None:
    """After a pick, Logs and Inspect buttons carry the command to run and the host."""
    blocks = render_container_actions("shop-web-1", HOST)
    buttons = blocks[-1]["elements"]
    assert [(b["action_id"], json.loads(b["value"])) for b in buttons] == [
        ("run_logs", {"text": "logs shop-web-1", "host": HOST}),
        ("run_inspect", {"text": "inspect shop-web-1", "host": HOST}),
    ]
    assert limit_violations(blocks) == []


# ---- problems and progress ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "head"),
    [
        ("UsageError", ":warning: *error:*"),
        ("NotFound", ":warning: *error:*"),
        ("Denied", ":no_entry: *denied:*"),
        ("Timeout", ":hourglass: *timed out:*"),
    ],
)
def test_problem_emoji_by_kind(kind: str, head: str) -> None:
    """Denials and timeouts get their own emoji and word; other errors a warning."""
    message = render_problem(Problem(kind, "it went wrong"), text="ps", host=HOST)
    assert sections(message)[0] == f"{head} it went wrong"


def test_problem_shows_usage_in_monospace_and_hint() -> None:
    """A usage error shows the usage line as code and the hint under the message."""
    message = render_problem(
        Problem("UsageError", "unknown flag: --x", hint="try `help ps`", usage="docker ps [-a] <name>"),
        text="ps --x",
        host=HOST,
    )
    assert sections(message) == [
        ":warning: *error:* unknown flag: --x\n_hint:_ try `help ps`",
        "```usage: docker ps [-a] &lt;name&gt;```",
    ]
    assert message.text == "error: unknown flag: --x"


def test_huge_problem_message_is_clipped() -> None:
    """A 10,000-character error message is cut to fit one section, ending in an ellipsis."""
    message = render_problem(Problem("OperationFailed", "&" * 10_000, usage="u" * 5000), text="ps", host=HOST)
    assert_within_limits(message)
    assert sections(message)[0].endswith("…")


def test_in_progress_names_the_command() -> None:
    """The placeholder says which command runs where."""
    message = render_in_progress("ps -a", HOST)
    assert sections(message) == [f":hourglass_flowing_sand: running `docker ps -a` on *{HOST}*…"]


# ---- the limits checker ------------------------------------------------------------------------------------


def section(text: str) -> dict[str, Any]:
    """A bare mrkdwn section block."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str = "Go", value: str = "v", action_id: str = "a") -> dict[str, Any]:
    """A bare button element."""
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "value": value,
        "action_id": action_id,
    }


@pytest.mark.parametrize(
    "blocks",
    [
        [section("x")] * 51,
        [section("x" * 3001)],
        [section("")],
        [{"type": "actions", "elements": [button()] * 26}],
        [{"type": "actions", "elements": [button(text="b" * 76)]}],
        [{"type": "actions", "elements": [button(value="v" * 2001)]}],
        [{"type": "actions", "elements": [button(action_id="a" * 256)]}],
        [{**section("x"), "block_id": "b" * 256}],
        [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
        [section("x" * 2900)] * 4,
        [
            {
                "type": "actions",
                "elements": [
                    {
                        **button(),
                        "confirm": {
                            "title": {"type": "plain_text", "text": "t" * 101},
                            "text": {"type": "plain_text", "text": "sure?"},
                            "confirm": {"type": "plain_text", "text": "Yes"},
                            "deny": {"type": "plain_text", "text": "No"},
                        },
                    }
                ],
            }
        ],
    ],
    ids=[
        "51-blocks",
        "section-3001",
        "section-empty",
        "26-elements",
        "button-text-76",
        "button-value-2001",
        "action-id-256",
        "block-id-256",
        "context-11",
        "page-budget",
        "confirm-title-101",
    ],
)
def test_enforce_limits_refuses_what_slack_would(blocks: list[dict[str, Any]]) -> None:
    """Each breach of a Slack limit (or of our page text budget) raises SlackLimitError."""
    with pytest.raises(SlackLimitError):
        enforce_limits(blocks)


def test_enforce_limits_refuses_long_fallback_text() -> None:
    """The message text over 3,000 characters is refused too."""
    with pytest.raises(SlackLimitError):
        enforce_limits([section("x")], text="t" * 3001)


def test_enforce_limits_passes_good_blocks_through() -> None:
    """Blocks within every limit come back as they were."""
    blocks = [section("x" * 3000), {"type": "actions", "elements": [button()] * 25}]
    assert enforce_limits(blocks) is blocks


def test_blocks_module_knows_no_bolt() -> None:
    """The renderer is pure: it builds dicts with slack_sdk's models and never imports slack_bolt."""
    source = Path(blocks_module.__file__).read_text(encoding="utf-8")
    assert "slack_bolt" not in source
    assert "WebClient" not in source


# ---- property: random replies never break a limit, and nothing is lost ------------------------------------

ANY_CHAR = st.characters(blacklist_categories=("Cs",))
TRICKY = st.sampled_from([*"&<>`*_~:@!#|\\\"' \t\n日本語😀\u200b\u0301", "&amp;", "<none>", "```", "<!here>"])
SHORT_CELL = st.one_of(st.text(ANY_CHAR, max_size=30), st.lists(TRICKY, max_size=12).map("".join))
CELL = st.one_of(  # also lines of up to 4,000 characters, to be hard-wrapped
    SHORT_CELL,
    st.builds(lambda s, k: s * k, st.text(ANY_CHAR, min_size=1, max_size=5), st.integers(1, 800)),
)
STATES = st.sampled_from(
    [
        ("running", "Up 3 minutes"),
        ("running", "Up 2 hours (healthy)"),
        ("running", "Up 2 hours (unhealthy)"),
        ("exited", "Exited (0) 1 hour ago"),
        ("exited", "Exited (137) 5 seconds ago"),
        ("restarting", "Restarting (1) 2 seconds ago"),
        ("created", "Created"),
        ("paused", "Up 5 minutes (Paused)"),
    ]
)


@st.composite
def container_rows(draw: st.DrawFn, cell: st.SearchStrategy[str]) -> ContainerRow:
    """A container whose every printed field may hold odd characters."""
    state, status = draw(STATES)
    return ContainerRow(
        id=hexid(draw(st.text(max_size=8))),
        names=tuple(draw(st.lists(cell, max_size=2))),
        image=draw(cell),
        image_id="sha256:" + hexid("i"),
        command=draw(cell),
        created=T - draw(st.integers(0, 400 * DAY)),
        state=state,
        status=status,
    )


@st.composite
def image_rows(draw: st.DrawFn, cell: st.SearchStrategy[str]) -> ImageRow:
    """An image with odd tags (or none)."""
    return ImageRow(
        id="sha256:" + hexid(draw(st.text(max_size=8))),
        repo_tags=tuple(draw(st.lists(cell.map(lambda s: s + ":t"), max_size=2))),
        repo_digests=(),
        created=T - draw(st.integers(0, 400 * DAY)),
        size=draw(st.integers(0, 10**10)),
    )


def grow(templates: Sequence[Any], count: int) -> tuple[Any, ...]:
    """`count` rows cycled from a few drawn templates, each with its own ID."""
    if not templates:
        return ()
    return tuple(
        dataclasses.replace(templates[i % len(templates)], id=hexid(f"row-{i}")) for i in range(count)
    )


ROW_COUNTS = st.one_of(st.integers(0, 40), st.integers(0, 600), st.integers(0, 5000))


@st.composite
def results(draw: st.DrawFn) -> Result:
    """A ps, images or logs result of 0–5,000 rows or lines (huge cells only in the smaller ones)."""
    kind = draw(st.sampled_from(["ps", "images", "logs"]))
    count = draw(ROW_COUNTS)
    cell = SHORT_CELL if count > 600 else CELL
    if kind == "ps":
        templates = draw(st.lists(container_rows(cell), min_size=1, max_size=5))
        quiet = draw(st.booleans())
        return PsResult(rows=grow(templates, count), now=NOW, quiet=quiet, no_trunc=draw(st.booleans()))
    if kind == "images":
        templates = draw(st.lists(image_rows(cell), min_size=1, max_size=5))
        return ImagesResult(rows=grow(templates, count), now=NOW, quiet=draw(st.booleans()))
    lines = draw(st.lists(cell, min_size=1, max_size=8))
    return LogsResult("web", tuple(lines[i % len(lines)] for i in range(count)), tail=count)


PROBLEMS = st.builds(
    Problem,
    kind=st.sampled_from(["UsageError", "Denied", "Timeout", "NotFound", "internal"]),
    message=CELL,
    hint=st.none() | CELL,
    usage=st.none() | CELL,
)


@st.composite
def replies(draw: st.DrawFn) -> Reply:
    """A chain of 1–5 steps, the last of which may have failed."""
    texts = draw(st.lists(st.sampled_from(["ps -a", "images", "logs web"]) | CELL, min_size=1, max_size=5))
    steps = [Step(text, draw(results())) for text in texts]
    failed = draw(st.booleans())
    if failed:
        steps[-1] = Step(steps[-1].text, problem=draw(PROBLEMS))
    return Reply(
        text=" && ".join(texts),
        host=HOST,
        outcome=Outcome.FAILED if failed else Outcome.OK,
        steps=tuple(steps),
        elapsed=draw(st.floats(0, 1000)),
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(reply=replies(), user_id=st.sampled_from([USER, "local", "W0ABC"]), host=CELL.filter(bool))
def test_random_replies_keep_limits_and_lose_nothing(reply: Reply, user_id: str, host: str) -> None:
    """No page breaks a limit; the pages' chunks rebuild each body exactly, or the file holds it all."""
    pages = render_reply_pages(reply, user_id=user_id, host=host)  # what the door sends and stores
    first = pages[0]
    assert_within_limits(first)
    if first.attachment is not None:
        assert first.attachment.content == cli_text(reply)
        assert first.pages == len(pages) == 1
        return
    assert first.pages == len(pages)
    if first.pages > 1:  # a page asked for is the page stored (all pages of one reply: see above)
        assert render_reply(reply, user_id=user_id, host=host, page=first.pages - 1) == pages[-1]
    for number, message in enumerate(pages):
        assert message.page == number
        assert_within_limits(message)
    assert bodies(pages) == expected_bodies(reply)
    forced = render_reply(reply, user_id=user_id, host=host, force_file=True)
    assert_within_limits(forced)
    assert forced.attachment is not None
    assert forced.attachment.content == cli_text(reply)


@settings(max_examples=100, deadline=None)
@given(problem=PROBLEMS, text=CELL, host=CELL)
def test_random_problems_keep_limits(problem: Problem, text: str, host: str) -> None:
    """Any problem, command and host render within Slack's limits."""
    assert_within_limits(render_problem(problem, text=text, host=host, user_id=USER))
    assert_within_limits(render_in_progress(text, host))


@settings(max_examples=100, deadline=None)
@given(body=st.lists(CELL, max_size=60).map("\n".join), use_header=st.booleans())
def test_split_body_round_trips(body: str, use_header: bool) -> None:
    """Chunks rejoined (repeated headers dropped, wraps glued) give back the body; each fits a section."""
    header = body.split("\n", 1)[0] if use_header and body else None
    chunks = split_body(body, header)
    text = ""
    for n, chunk in enumerate(chunks):
        assert 1 <= slack_length("```" + escape_code(chunk.text) + "```") <= 3000
        part = chunk.text.partition("\n")[2] if chunk.repeated_header else chunk.text
        text = part if n == 0 else text + ("" if chunks[n - 1].wraps else "\n") + part
    assert text == body


def test_page_budget_is_below_slacks_cumulative_limit() -> None:
    """Our per-message text budget stays under the ~12,000 characters Slack refuses beyond."""
    assert PAGE_TEXT_BUDGET <= 11_000


# ---- nothing typed or printed goes out live ----------------------------------------------------------------

HOSTILE = "<!channel> <https://evil.example|Approve> <@U0EVIL> <#C0EVIL> <!subteam^S1> & `x`"


def live(message: SlackMessage) -> list[str]:
    """The live mentions and links in a message, but the requester's (USER) own."""
    return live_markup({"text": message.text, "blocks": message.blocks}, users={USER}, channels=set())


def hostile_replies() -> list[Reply]:
    """Replies with hostile text in every place a reply carries text: commands, summaries, bodies,
    problems (message, hint, usage, remedy), plan notes and names, the requester."""
    plan = PlanModel(
        command=f"container prune --filter label=x={HOSTILE}",
        host=HOST,
        verb="prune",
        targets=(Target("container", hexid("c"), HOSTILE, {"x": HOSTILE}, 10, HOSTILE),),
        notes=(HOSTILE,),
    )
    problem = Problem("Conflict", HOSTILE, hint=HOSTILE, usage=HOSTILE, remedy=f"rm {HOSTILE}")
    return [
        reply_of(
            f"restart web && ps -a -f 'label=x={HOSTILE}'",
            Step("restart web", TextResult(HOSTILE, HOSTILE)),
            Step(f"ps -a -f 'label=x={HOSTILE}'", long_logs(5)),
            Step(f"logs {HOSTILE}", problem=problem),
            outcome=Outcome.FAILED,
        ),
        single(HOSTILE, LogsResult(container=HOSTILE, lines=(HOSTILE,) * 400, tail=400)),
        single(HOSTILE, ConfirmationResult((plan,), "tok", 0.0, "<!channel>", approval="two-person")),
        single(HOSTILE, ConfirmationResult((plan,), "tok", 0.0, USER)),
    ]


@pytest.mark.parametrize("reply", hostile_replies(), ids=["chain", "pages", "approve", "confirm"])
def test_hostile_text_is_never_live_on_any_page(reply: Reply) -> None:
    """Mentions and links in commands, output, errors and plans come out escaped on every page, in the
    fallback text and in confirm dialogs; only the requester's own mention is live."""
    pages = all_pages(reply)
    for message in pages:
        assert live(message) == []
        assert_within_limits(message)
    assert "&lt;!channel&gt;" in json.dumps([m.blocks for m in pages])
    problem = render_problem(Problem("Denied", HOSTILE, hint=HOSTILE), text=HOSTILE, host=HOST, user_id=USER)
    assert live(problem) == []
    assert live(render_in_progress(HOSTILE, HOST)) == []
    picked = render_container_actions(HOSTILE, HOST)
    assert live(SlackMessage("", picked, 0, 1)) == []


def crowded_replies() -> list[Reply]:
    """Objects at Docker's own extremes: a container with 2,000 hostile labels, an image with 300 hostile
    tags (as `images` lists it, and in an `rmi` plan), a `ps` row with 300 hostile names."""
    labels = {f"{HOSTILE} {n}": f"{HOSTILE} {n}" for n in range(2000)}
    tags = tuple(f"registry.example/{HOSTILE.replace(' ', '')}-{n}:v{n}" for n in range(300))
    image = ImageRow(hexid("img"), tags, (), 0, 10**9, labels=labels)
    crowded = Target("image", hexid("img"), tags[0], labels, 10**9, HOSTILE, aliases=tags, fails=HOSTILE)
    plan = PlanModel(
        command=f"rmi {tags[0]}", host=HOST, verb="rmi", targets=(crowded,) * 60, notes=(HOSTILE,)
    )
    row = ContainerRow(
        id=hexid("ctr"),
        names=tuple(f"/{HOSTILE}-{n}" for n in range(300)),
        image=HOSTILE,
        image_id=hexid("img"),
        command=HOSTILE,
        created=0,
        state="running",
        status=HOSTILE,
        labels=labels,
    )
    return [
        single("inspect web", InspectResult("container", {"Config": {"Labels": labels}}, 0.0)),
        single("images", ImagesResult((image,), 0.0)),
        single("ps --format '{{.Labels}}'", PsResult((row,), 0.0, format="{{.Labels}}")),
        single("ps --no-trunc", PsResult((row,) * 20, 0.0, no_trunc=True)),
        single(f"rmi {tags[0]}", ConfirmationResult((plan,), "tok", 0.0, USER)),
    ]


@pytest.mark.parametrize("reply", crowded_replies(), ids=["labels", "tags", "format", "names", "plan"])
def test_objects_at_dockers_extremes_fit_every_page(reply: Reply) -> None:
    """2,000 labels or 300 tags on one object are paged or attached within Slack's limits, nothing live."""
    for message in all_pages(reply):
        assert live(message) == []
        assert_within_limits(message)


def test_the_requesters_own_mention_stays_live() -> None:
    """The context line mentions the requester (a user ID of the right shape); anything else is text."""
    message = render_reply(single("ps -a", small_ps()), user_id=USER, host=HOST)
    assert f"<@{USER}> ran" in message.blocks[-1]["elements"][0]["text"]
    assert mention(USER) == f"<@{USER}>"
    assert mention("<!channel>") == "&lt;!channel&gt;"
    assert mention("U1|x") == "U1|x"


def test_audit_line_names_who_what_where_and_the_outcome() -> None:
    """The audit channel line: the clicker's and the channel's mention, the command as code, the outcome."""
    line = render_audit_line(user_id="U0ADMIN", text="rm web", host="local", channel_id="C123", outcome="ok")
    assert line == "<@U0ADMIN> ran `rm web` on *local* in <#C123>: ok"


def test_audit_line_escapes_what_was_typed_and_masks_secrets() -> None:
    """What was typed can neither mention nor link nor close the code span, and a secret in it is masked;
    IDs of the wrong shape are shown as text."""
    line = render_audit_line(
        user_id="<!here>",
        text=f"restart web && ps -a -f 'label=x={HOSTILE}' --password hunter2",
        host="local",
        channel_id="<#C0EVIL>",
        outcome="ok",
    )
    assert live_markup({"text": line}, users=set(), channels=set()) == []
    assert "&lt;!channel&gt; &lt;https://evil.example|Approve&gt;" in line
    assert "hunter2" not in line
    assert line.count("`") == 2
    assert line.startswith("&lt;!here&gt; ran `restart web &amp;&amp; ps")


def test_audit_line_of_a_huge_command_fits_a_message() -> None:
    """A 1 MiB command (every character escaped into five) still gives one line within Slack's limits."""
    line = render_audit_line(user_id="U1AB", text="<" * (1 << 20), host="h", channel_id="C123", outcome="ok")
    assert slack_length(line) <= 3000
    assert line.endswith("…` on *h* in <#C123>: ok")


def test_a_secret_typed_in_a_command_never_comes_back_in_the_answer() -> None:
    """The 'ran' line, the fallback text, chain headers, problems and the shell's text mask what was typed."""
    token = "ghp_" + "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"
    text = f"ps -a -f label=token={token} && ps -f label=x"
    step = Step(text, TextResult("ok"))
    problem = Problem("UsageError", f"'{token}' is not a valid value", hint=f"try {token}")
    for reply in (
        reply_of(text, step, Step("ps -f label=x", TextResult("ok"))),
        reply_of(text, Step(text, problem=problem), outcome=Outcome.USAGE),
    ):
        for page in render_reply_pages(reply, user_id="U1", host=HOST):
            assert token not in json.dumps(page.blocks)
            assert token not in page.text
        out, err = render_reply_text(reply)
        assert token not in out + err
    failed = render_problem(problem, text=text, host=HOST, user_id="U1")
    assert token not in json.dumps(failed.blocks) + failed.text
    assert token not in json.dumps(render_in_progress(text, HOST).blocks)
