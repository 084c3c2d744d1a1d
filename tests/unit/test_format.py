"""Unit tests for bot.render.format: each primitive against the Go code the Docker CLI runs."""

from __future__ import annotations

import itertools
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.models import Port
from bot.references import familiar_name, parse_normalized_named
from bot.render.format import (
    _cluster_width,
    _escape_rune,
    _go_is_print,
    created_ago,
    display_width,
    displayable_ports,
    ellipsis,
    go_quote,
    human_duration,
    human_size,
    natural_less,
    tabulate,
    truncate_id,
)

HOUR = 3600.0
ALL_V4 = "0.0.0.0"  # noqa: S104 - a published port's host IP in a fixture, nothing listens
DAY = 24 * HOUR


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-5.0, "Less than a second"),
        (0.0, "Less than a second"),
        (0.999, "Less than a second"),
        (1.0, "1 second"),
        (1.999, "1 second"),
        (2.0, "2 seconds"),
        (59.999, "59 seconds"),
        (60.0, "About a minute"),
        (119.999, "About a minute"),
        (120.0, "2 minutes"),
        (3599.999, "59 minutes"),
        (3600.0, "About an hour"),
        (5399.0, "About an hour"),
        (5400.0, "2 hours"),
        (47 * HOUR + 1799, "47 hours"),
        (47 * HOUR + 1800, "2 days"),
        (14 * DAY - 1801, "13 days"),
        (14 * DAY - 1800, "2 weeks"),
        (60 * DAY - 1801, "8 weeks"),
        (60 * DAY - 1800, "2 months"),
        (730 * DAY - 1801, "24 months"),
        (730 * DAY - 1800, "1 years"),
        (730 * DAY, "2 years"),
        (10 * 365 * DAY, "10 years"),
        (float("inf"), "292 years"),
    ],
)
def test_human_duration_thresholds(seconds: float, expected: str) -> None:
    """HumanDuration switches units exactly where go-units does, hours rounding half up, years truncated."""
    assert human_duration(seconds) == expected


@pytest.mark.parametrize(
    ("created", "now", "expected"),
    [
        (1_700_000_000, 1_700_000_000.0, "Less than a second ago"),
        (1_700_000_000, 1_700_000_042.9, "42 seconds ago"),
        (1_700_000_100, 1_700_000_000.0, "Less than a second ago"),
        (0, 1_700_000_000.0, "53 years ago"),
        (1_700_000_000 - 3 * 86400, 1_700_000_000.5, "3 days ago"),
    ],
)
def test_created_ago(created: int, now: float, expected: str) -> None:
    """CREATED is HumanDuration + " ago"; the epoch prints its real age, the future "Less than a second"."""
    assert created_ago(created, now) == expected


@pytest.mark.parametrize(
    ("size", "precision", "expected"),
    [
        (0, 4, "0B"),
        (-1, 4, "-1B"),
        (999, 4, "999B"),
        (1000, 4, "1kB"),
        (1024, 4, "1.024kB"),
        (1883, 3, "1.88kB"),
        (1_984_000, 4, "1.984MB"),
        (1_984_000, 3, "1.98MB"),
        (1_985_816, 4, "1.986MB"),
        (963_900_000, 3, "964MB"),
        (999_499, 4, "999.5kB"),
        (999_950, 4, "1000kB"),
        (999_500, 3, "1e+03kB"),
        (999_949, 3, "1e+03kB"),
        (999_449, 3, "999kB"),
        (123_456_789_012, 4, "123.5GB"),
        (10**27, 4, "1000YB"),
        (10**30, 4, "1e+06YB"),
        (0.5, 4, "0.5B"),
        (float("inf"), 4, "+InfYB"),
        (float("nan"), 4, "NaNB"),
    ],
)
def test_human_size(size: float, precision: int, expected: str) -> None:
    """HumanSizeWithPrecision: decimal units and Go's %.*g, including its exponent form past rounding."""
    assert human_size(size, precision) == expected


def test_human_size_default_precision_is_four() -> None:
    """HumanSize (system df, shared/unique sizes) is HumanSizeWithPrecision(size, 4)."""
    assert human_size(1_985_816) == human_size(1_985_816, 4) == "1.986MB"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sleep 1000", '"sleep 1000"'),
        ("", '""'),
        ('echo "hi"', '"echo \\"hi\\""'),
        ("a\\b", '"a\\\\b"'),
        ("l1\nl2\tx\r", '"l1\\nl2\\tx\\r"'),
        ("\a\b\f\v", '"\\a\\b\\f\\v"'),
        ("\x00\x1b\x7f", '"\\x00\\x1b\\x7f"'),
        ("\x80\u00a0\u200b\u2028", '"\\u0080\\u00a0\\u200b\\u2028"'),
        ("\ue000", '"\\ue000"'),
        ("\U000e0001", '"\\U000e0001"'),
        ("café 日本語 😀 …", '"café 日本語 😀 …"'),
        ("'single'", "\"'single'\""),
    ],
)
def test_go_quote(text: str, expected: str) -> None:
    """strconv.Quote escapes quotes, backslashes and non-printables, and keeps printable Unicode."""
    assert go_quote(text) == expected


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("hello", 0, ""),
        ("hello", -1, ""),
        ("hello", 1, "h"),
        ("", 1, ""),
        ("hello", 5, "hello"),
        ("hello world", 5, "hell…"),
        ("sh -c 'echo \"hello world\"'", 20, "sh -c 'echo \"hello …"),
        ("exactly twenty chars", 20, "exactly twenty chars"),
        ("日本語テキスト", 7, "日本語…"),
        ("日本語テキスト", 8, "日本語…"),
        ("echo 日本語のテキストです", 15, "echo 日本語の…"),
        ("日本", 2, "日本"),
        ("a日本", 3, "a…"),
        ("café au lait!", 20, "café au lait!"),
        ("café au lait, please", 8, "café au…"),
    ],
)
def test_ellipsis(text: str, width: int, expected: str) -> None:
    """Ellipsis cuts to display width (wide runes count 2) and keeps the CLI's edge cases."""
    assert ellipsis(text, width) == expected


@given(st.text(st.characters() | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=30))
def test_printable_text_is_quoted_as_the_rune_by_rune_escape_does(text: str) -> None:
    """The shortcut for printable text (only quotes and backslashes escaped) is the per-rune escape, and
    Python's printable is Go's IsPrint."""
    assert go_quote(text) == '"' + "".join(_escape_rune(char) for char in text) + '"'
    assert go_quote(text + "\x00") == go_quote(text)[:-1] + '\\x00"'
    assert all(char.isprintable() == _go_is_print(char) for char in text)


def _cli_ellipsis(text: str, max_width: int) -> str:
    """formatter.Ellipsis as docker/cli writes it: the width of every rune summed, then the cut looked for."""
    if max_width <= 0:
        return ""
    if max_width == 1:
        return text[:1]
    ends = list(itertools.accumulate(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text))
    if not ends or ends[-1] <= max_width:
        return text
    cut = [i for i in range(len(ends) - 1) if ends[i] <= max_width - 1 < ends[i + 1]]
    return text[: cut[0] + 1] + "…" if cut else text


@given(st.text(st.sampled_from("ab 日本😀é\u0301\t"), max_size=30), st.integers(-1, 32))
def test_ellipsis_cuts_where_the_whole_string_walk_cuts(text: str, width: int) -> None:
    """The cut, found as soon as the text is known to be too wide, is the CLI's."""
    assert ellipsis(text, width) == _cli_ellipsis(text, width)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("abc", 3),
        ("日本語", 6),
        ("…", 1),
        ("e\u0301", 1),
        ("\x1b", 0),
        ("👍🏽", 2),
        ("👩\u200d💻", 2),
        ("🇫🇷", 1),
    ],
)
def test_display_width(text: str, expected: int) -> None:
    """Table cells are measured like go-runewidth: wide runes 2, marks, controls and joined runes 0."""
    assert display_width(text) == expected


@pytest.mark.parametrize(
    ("image_id", "expected"),
    [
        ("sha256:e164ddf2224c3ca0acdd42d89a03f247ae58a8dba339195ad1e208eb397d9688", "e164ddf2224c"),
        ("8cbad154d69500000000000000000000", "8cbad154d695"),
        ("abc", "abc"),
        ("", ""),
    ],
)
def test_truncate_id(image_id: str, expected: str) -> None:
    """TruncateID drops the algorithm prefix and keeps 12 characters."""
    assert truncate_id(image_id) == expected


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        ((), ""),
        ((Port(80, "tcp"),), "80/tcp"),
        (
            (Port(443, "tcp"), Port(80, "tcp", "127.0.0.1", 18080)),
            "443/tcp, 127.0.0.1:18080->80/tcp",
        ),
        (
            (
                Port(443, "udp", "::", 18443),
                Port(443, "udp", ALL_V4, 18443),
                Port(80, "tcp", "127.0.0.1", 18080),
            ),
            "127.0.0.1:18080->80/tcp, 0.0.0.0:18443->443/udp, [::]:18443->443/udp",
        ),
        (tuple(Port(p, "tcp") for p in (9003, 9001, 9000, 9002)), "9000-9003/tcp"),
        (
            (Port(80, "tcp"), Port(81, "tcp"), Port(83, "tcp"), Port(82, "udp")),
            "80-81/tcp, 83/tcp, 82/udp",
        ),
        (
            (
                *(Port(p, "tcp", ALL_V4, p) for p in (7000, 7001, 7002)),
                *(Port(p, "tcp", "::", p) for p in (7000, 7001, 7002)),
                Port(7100, "tcp", "127.0.0.1", 7100),
                *(Port(p, "tcp") for p in (9000, 9001, 9002, 9003)),
                Port(80, "tcp", "127.0.0.1", 28080),
                Port(443, "udp", ALL_V4, 28443),
                Port(443, "udp", "::", 28443),
            ),
            # measured: docker ps on this machine (CLI 28.2.2, engine 20.10)
            "0.0.0.0:7000-7002->7000-7002/tcp, [::]:7000-7002->7000-7002/tcp, 127.0.0.1:7100->7100/tcp, "
            "9000-9003/tcp, 127.0.0.1:28080->80/tcp, 0.0.0.0:28443->443/udp, [::]:28443->443/udp",
        ),
        ((Port(80, "tcp", ALL_V4),), "0.0.0.0:0->80/tcp"),
        ((Port(53, "udp"), Port(53, "tcp")), "53/tcp, 53/udp"),
        ((Port(80, "tcp"), Port(80, "tcp")), "80/tcp, 80/tcp"),
    ],
)
def test_displayable_ports(ports: tuple[Port, ...], expected: str) -> None:
    """PORTS sorts, groups consecutive ports into ranges, brackets IPv6 and lists host mappings last."""
    assert displayable_ports(ports) == expected


@pytest.mark.parametrize(
    ("rows", "kwargs", "expected"),
    [
        ([], {}, ""),
        ([["A", "BB"], ["ccc", "d"]], {}, "A         BB\nccc       d"),
        ([["NAME", "X"], ["a-very-long-name", "y"]], {}, f"{'NAME':<19}X\na-very-long-name   y"),
        ([["A", "B"], ["x", ""]], {}, "A         B\nx         "),
        ([["a", "b", "c"], ["dd"], ["e", "f"]], {}, "a         b         c\ndd\ne         f"),
        ([["a", "b", "c"], ["d", "e"]], {}, "a         b         c\nd         e"),
        ([["日本", "x"], ["ab", "y"]], {}, "日本      x\nab        y"),
        ([["日本", "x"], ["ab", "y"]], {"count_runes": True}, "日本        x\nab        y"),
        (
            [["NAME", "STATUS"], ["p", "running(1)"]],
            {"min_width": 20},
            f"{'NAME':<20}STATUS\n{'p':<20}running(1)",
        ),
    ],
)
def test_tabulate(rows: list[list[str]], kwargs: dict[str, object], expected: str) -> None:
    """Elastic tabstops as docker/cli configures tabwriter: min width 10, padding 3, last cell unpadded."""
    assert tabulate(rows, **kwargs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("vol2", "vol10", True),
        ("vol10", "vol2", False),
        ("a", "b", True),
        ("1", "a", True),
        ("a", "1", False),
        ("1", "01", True),
        ("01", "1", False),
        ("x", "x0", True),
        ("same", "same", False),
        ("Z", "a", True),
    ],
)
def test_natural_less(left: str, right: str, *, expected: bool) -> None:
    """Volume names sort naturally: numbers by value, digits before letters, bytes otherwise."""
    assert natural_less(left, right) is expected


@pytest.mark.parametrize(
    ("text", "familiar", "tag", "digest"),
    [
        ("busybox", "busybox", "", ""),
        ("busybox:1.36", "busybox", "1.36", ""),
        ("docker.io/library/busybox:latest", "busybox", "latest", ""),
        ("index.docker.io/library/busybox", "busybox", "", ""),
        ("chatops-test/busybox:latest", "chatops-test/busybox", "latest", ""),
        ("docker.io/chatops/app", "chatops/app", "", ""),
        ("localhost:5000/foo/bar:dev", "localhost:5000/foo/bar", "dev", ""),
        ("registry.example.com/team/app:1", "registry.example.com/team/app", "1", ""),
        ("busybox@sha256:" + "a" * 64, "busybox", "", "sha256:" + "a" * 64),
        ("busybox:1@sha256:" + "b" * 64, "busybox", "1", "sha256:" + "b" * 64),
    ],
)
def test_parse_normalized_named(text: str, familiar: str, tag: str, digest: str) -> None:
    """References normalize like distribution/reference and print back in their familiar form."""
    ref = parse_normalized_named(text)
    assert ref is not None
    assert (familiar_name(ref), ref.tag, ref.digest) == (familiar, tag, digest)


@pytest.mark.parametrize(
    "text",
    ["", "<none>:<none>", "<none>@<none>", "Busybox", "e164ddf2224c" + "0" * 52, "busybox@sha256:abc", "a b"],
)
def test_parse_normalized_named_rejects(text: str) -> None:
    """What ParseNormalizedNamed refuses (placeholders, uppercase, bare IDs, bad digests) yields None."""
    assert parse_normalized_named(text) is None


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_the_printable_ascii_shortcut_counts_as_the_cluster_walk_does(text: str) -> None:
    assert display_width(text) == _cluster_width(text) == len(text)


def test_text_outside_printable_ascii_takes_the_cluster_walk() -> None:
    assert display_width("a\tb") == _cluster_width("a\tb")
    assert display_width("日本") == 4
    assert display_width("e\u0301") == 1
