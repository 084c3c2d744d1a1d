"""Docker's grammar for references, as the parser enforces it before anything can reach an Engine API path."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import parse
from bot.commands.args import point_in_time
from bot.errors import UsageError
from bot.references import CONTAINER_NAME, image_reference_problem

ACCEPTED = [
    "busybox",
    "busybox:1.36",
    "library/busybox:latest",
    "registry.example.com:5000/team/app:1.2.3",
    "localhost:5000/app",
    "ghcr.io/org/sub/app@sha256:" + "a" * 64,
    "app:1.0@sha256:" + "b" * 64,
    "a.b_c__d-e/f",
    "sha256:" + "c" * 64,
    "c" * 64,
    "9f86d0",
    "[::1]:5000/app",
]
REFUSED = {
    "x/../../containers/web": "'.' and '..'",
    "x/./y": "'.' and '..'",
    "..": "'.' and '..'",
    "a//b": "empty path component",
    "a/": "empty path component",
    "/a": "empty path component",
    "a%2e%2e": "'%'",
    "%2e%2e/containers/web": "'%'",
    "Busybox": "lowercase",
    "team/App:1": "lowercase",
    "a/\uff0e\uff0e/b": "only ASCII",
    "a/\u2024\u2024/b": "only ASCII",
    "web\u2215..": "only ASCII",
    "a b": "distribution reference grammar",
    "a\nb": "only ASCII",
    "a..b": "distribution reference grammar",
    "-a": "distribution reference grammar",
    "a:": "distribution reference grammar",
    "a@sha256:short": "distribution reference grammar",
    "a?force=1": "distribution reference grammar",
    "a#frag": "distribution reference grammar",
    "": "empty",
    "a" * 600: "longer than",
}


@pytest.mark.parametrize("reference", ACCEPTED)
def test_references_docker_accepts(reference: str) -> None:
    assert image_reference_problem(reference) is None


@pytest.mark.parametrize(("reference", "why"), REFUSED.items())
def test_references_docker_refuses_name_the_problem(reference: str, why: str) -> None:
    problem = image_reference_problem(reference)
    assert problem is not None
    assert why in problem


@given(st.text(max_size=40))
def test_no_accepted_reference_can_leave_its_path_segment(text: str) -> None:
    """Whatever is accepted has no dot segment, no empty segment, no escape and nothing outside ASCII."""
    if image_reference_problem(text) is None:
        parts = text.split("@", 1)[0].split("/")
        assert all(part not in {"", ".", ".."} for part in parts)
        assert "%" not in text
        assert text.isascii()
        assert "?" not in text
        assert "#" not in text


@pytest.mark.parametrize(
    "text",
    [
        "rmi x/../../containers/web",
        "rmi -f ok x/../../volumes/data",
        "image rm ./web",
        "pull a/../b",
        "inspect x/../../containers/web",
        "inspect --type image web/",
        "images x/../y",
        "stop web/..",
        "logs ../web",
        "volume inspect ../data",
    ],
)
def test_the_parser_refuses_path_tricks_in_every_command(text: str) -> None:
    with pytest.raises(UsageError, match="not a valid"):
        parse(text)


def test_container_names_cannot_form_a_path() -> None:
    for name in ("web", "web.1", "a..b", "web_1-x"):
        assert CONTAINER_NAME.fullmatch(name)
    for name in ("..", ".web", "web/x", "web%2f", "-web", ""):
        assert not CONTAINER_NAME.fullmatch(name)


def test_a_time_without_offset_is_read_in_the_given_zone_never_the_local_one() -> None:
    utc = point_in_time("2024-05-01T10:00:00", 0.0)
    assert utc == 1714557600.0
    assert point_in_time("2024-05-01T10:00:00", 0.0, UTC) == utc
    assert point_in_time("2024-05-01T10:00:00", 0.0, ZoneInfo("Asia/Tokyo")) == utc - 9 * 3600
    assert point_in_time("2024-05-01T10:00:00+02:00", 0.0, ZoneInfo("Asia/Tokyo")) == utc - 2 * 3600
    assert point_in_time("1714557600", 0.0, ZoneInfo("Asia/Tokyo")) == utc
