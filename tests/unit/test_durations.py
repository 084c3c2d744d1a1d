"""Go-style durations: one grammar for arguments (`--since 10m`, `notify mute web 2h`) and the config."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.durations import duration_seconds, seconds_text
from bot.settings import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("250ms", 0.25),
        ("1m30s500ms", 90.5),
        ("2h45m10.5s", 9910.5),
        ("1500us", 0.0015),
        ("0s", 0.0),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    """Any sum of number-unit parts, as Go's time.ParseDuration (and so docker) reads them."""
    assert duration_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "m", "5 m", "-5m", "5min", "1d", "5m ", "1h-30m", "５m", "1e3s"])
def test_everything_else_is_not_a_duration(text: str) -> None:
    """No bare numbers, spaces, signs, days or other spellings."""
    assert duration_seconds(text) is None


@given(
    st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(["h", "m", "s", "ms"])), min_size=1, max_size=4
    )
)
def test_the_parts_add_up(parts: list[tuple[int, str]]) -> None:
    """A duration is the sum of its parts, in any order."""
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    text = "".join(f"{number}{unit}" for number, unit in parts)
    assert duration_seconds(text) == pytest.approx(sum(n * scale[u] for n, u in parts))


def test_config_durations_name_the_setting_and_must_be_positive() -> None:
    """The config's durations take the same grammar; a bad or zero one is one line naming where it is."""
    assert parse_duration(" 1.5m ", "notify.restart_loop.within") == 90.0
    with pytest.raises(ValueError, match=r"^notify.restart_loop.within: '5 minutes' is not a duration"):
        parse_duration("5 minutes", "notify.restart_loop.within")
    with pytest.raises(ValueError, match=r"^notify.restart_loop.stable: '0s' must be longer than zero$"):
        parse_duration("0s", "notify.restart_loop.stable")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (12.0001, "12"),
        (12.0, "12"),
        (2.5, "2.5"),
        (17.04, "17"),
        (0.5, "0.5"),
        (0.25, "0.25"),
        (1800.0, "1800"),
    ],
)
def test_a_wait_reads_as_people_say_it(seconds: float, text: str) -> None:
    """Timeouts in messages are the budget rounded sensibly, never `12.0001 s`."""
    assert seconds_text(seconds) == text
