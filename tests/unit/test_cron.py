"""Cron expressions (cronsim behind `bot.notify.cron`): parsing, one-line errors, aliases, the
day-of-month/day-of-week rule, DST, and `next_after` against a brute-force search minute by minute."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.notify.cron import ALIASES, CronSchedule, parse_cron

BERLIN = ZoneInfo("Europe/Berlin")
MINUTE = timedelta(minutes=1)


def at(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


def fires(schedule: CronSchedule, start: datetime, count: int) -> list[datetime]:
    found: list[datetime] = []
    moment = start
    for _ in range(count):
        moment = schedule.next_after(moment)
        found.append(moment)
    return found


# ---- parsing ---------------------------------------------------------------------------------------------


def test_fields_steps_ranges_lists() -> None:
    """Every field form expands to the values it names."""
    schedule = parse_cron("*/15 9-17/4 1,15,20-22 * *")
    january = fires(schedule, at(UTC, 2026, 1, 1), 61)
    days, hours, minutes = (1, 15, 20, 21, 22), (9, 13, 17), (0, 15, 30, 45)
    assert [(m.day, m.hour, m.minute) for m in january[:60]] == [
        (day, hour, minute) for day in days for hour in hours for minute in minutes
    ]
    assert january[60] == at(UTC, 2026, 2, 1, 9, 0)


def test_single_value_with_step_runs_to_the_end_of_the_field() -> None:
    """`a/n` means from a to the field's end, every n (as cronie reads it)."""
    assert [m.minute for m in fires(parse_cron("50/5 * * * *"), at(UTC, 2026, 1, 1), 3)] == [50, 55, 50]


def within_a_year(expression: str) -> list[datetime]:
    schedule = parse_cron(expression)
    found = fires(schedule, at(UTC, 2026, 1, 1), 400)
    return [moment for moment in found if moment.year == 2026]


def test_names_are_case_insensitive_and_seven_is_sunday() -> None:
    """Month and weekday names in any case; 0 and 7 both mean Sunday."""
    found = within_a_year("0 8 * JAN-mar,Dec Mon-FRI")
    assert {m.month for m in found} == {1, 2, 3, 12}
    assert {m.isoweekday() for m in found} == {1, 2, 3, 4, 5}
    assert {m.isoweekday() for m in within_a_year("0 0 * * 7")} == {7}
    assert {m.isoweekday() for m in within_a_year("0 0 * * fri-7")} == {5, 6, 7}
    assert within_a_year("0 0 * * sun") == within_a_year("0 0 * * 0")


@pytest.mark.parametrize(("alias", "expanded"), sorted(ALIASES.items()))
def test_aliases_equal_their_expressions(alias: str, expanded: str) -> None:
    """Each alias fires exactly when its expression does."""
    start = at(BERLIN, 2026, 1, 1, 12, 34)
    aliased = parse_cron(alias.upper(), BERLIN)
    written = parse_cron(expanded, BERLIN)
    assert fires(aliased, start, 5) == fires(written, start, 5)


def test_aliases_fire_when_expected() -> None:
    """@hourly on the hour, @weekly on Sunday midnight, @yearly on 1 January."""
    start = at(UTC, 2026, 5, 13, 10, 30)
    assert parse_cron("@hourly").next_after(start) == at(UTC, 2026, 5, 13, 11, 0)
    assert parse_cron("@weekly").next_after(start) == at(UTC, 2026, 5, 17, 0, 0)
    assert parse_cron("@annually").next_after(start) == at(UTC, 2027, 1, 1, 0, 0)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "has 0 field(s); write 5"),
        ("* * * *", "has 4 field(s); write 5"),
        ("* * * * * *", "has 6 field(s)"),
        ("60 * * * *", "minute field: '60' is not valid (values 0-59;"),
        ("* 24 * * *", "hour field: '24' is not valid (values 0-23;"),
        ("* * 0 * *", "day of month field: '0' is not valid (values 1-31"),
        ("* * * 13 *", "month field: '13' is not valid (values 1-12"),
        ("* * * * 8", "day of week field: '8' is not valid (values 0-7"),
        ("*/0 * * * *", "minute field: '*/0' is not valid"),
        ("*/x * * * *", "minute field: '*/x' is not valid"),
        ("5-1 * * * *", "minute field: '5-1' is not valid"),
        ("a * * * *", "minute field: 'a' is not valid"),
        ("1,,2 * * * *", "minute field: '1,,2' is not valid"),
        ("-5 * * * *", "minute field: '-5' is not valid"),
        ("* * * jan-foo *", "month field: 'jan-foo' is not valid (values 1-12 or jan…dec;"),
        ("* * * * funday", "day of week field: 'funday' is not valid (values 0-7 or sun…sat;"),
        ("* * * mon *", "month field: 'mon' is not valid"),
        ("@reboot", "unknown alias '@reboot'"),
        ("0 0 30 2 *", "never fires: none of those months has those days"),
        ("0 0 31 4,6,9,11 *", "never fires"),
    ],
)
def test_errors_are_one_line_naming_field_and_value(expression: str, message: str) -> None:
    """A malformed or impossible expression is one ValueError line that says what is wrong."""
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        parse_cron(expression)
    assert "\n" not in str(caught.value)


def test_february_29th_is_possible() -> None:
    """A leap day is rare, not impossible: it fires in the next leap year."""
    schedule = parse_cron("0 12 29 2 *")
    assert schedule.next_after(at(UTC, 2025, 3, 1)) == at(UTC, 2028, 2, 29, 12, 0)


def test_naive_datetimes_are_refused() -> None:
    """next_after needs to know which instant is meant."""
    with pytest.raises(ValueError, match="aware"):
        parse_cron("@daily").next_after(datetime(2026, 1, 1))


# ---- the day-of-month / day-of-week rule -----------------------------------------------------------------


def test_both_day_fields_restricted_fire_on_either() -> None:
    """`0 9 13 * fri`: the 13th of every month and every Friday (Vixie cron)."""
    schedule = parse_cron("0 9 13 * fri")
    days = [moment.date().isoformat() for moment in fires(schedule, at(UTC, 2026, 2, 1), 6)]
    assert days == ["2026-02-06", "2026-02-13", "2026-02-20", "2026-02-27", "2026-03-06", "2026-03-13"]


def test_a_star_day_field_means_both_must_match() -> None:
    """A day field that starts with `*` (even `*/2`) is not restricted: then both must match."""
    weekdays_only = parse_cron("0 9 * * fri")
    assert [m.day for m in fires(weekdays_only, at(UTC, 2026, 2, 1), 2)] == [6, 13]
    odd_fridays = parse_cron("0 9 */2 * fri")
    assert [m.date().isoformat() for m in fires(odd_fridays, at(UTC, 2026, 2, 1), 3)] == [
        "2026-02-13",
        "2026-02-27",
        "2026-03-13",
    ]


def test_month_restricts_both_day_fields() -> None:
    """The OR of the day fields applies only inside the months named."""
    schedule = parse_cron("0 0 1 jun mon")
    found = fires(schedule, at(UTC, 2026, 1, 1), 3)
    assert [m.date().isoformat() for m in found] == ["2026-06-01", "2026-06-08", "2026-06-15"]


# ---- daylight saving time --------------------------------------------------------------------------------


def test_a_skipped_time_fires_when_the_clocks_jump() -> None:
    """02:30 does not exist on 2026-03-29 in Berlin: the report goes at 03:00 CEST, once."""
    schedule = parse_cron("30 2 * * *", BERLIN)
    found = fires(schedule, at(BERLIN, 2026, 3, 28, 12, 0), 3)
    assert [m.isoformat() for m in found] == [
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
        "2026-03-31T02:30:00+02:00",
    ]


def test_several_skipped_times_fire_once() -> None:
    """Every quarter hour of the skipped hour collapses into one fire at the jump, then 03:00 is not
    repeated."""
    schedule = parse_cron("*/15 2,3 * * *", BERLIN)
    found = fires(schedule, at(BERLIN, 2026, 3, 29, 1, 0), 4)
    assert [m.strftime("%H:%M %Z") for m in found] == ["03:00 CEST", "03:15 CEST", "03:30 CEST", "03:45 CEST"]


def test_a_repeated_time_fires_the_first_time_only() -> None:
    """02:30 happens twice on 2026-10-25 in Berlin: it fires at 02:30 CEST, not again at 02:30 CET."""
    schedule = parse_cron("30 2 * * *", BERLIN)
    found = fires(schedule, at(BERLIN, 2026, 10, 24, 12, 0), 3)
    assert [m.isoformat() for m in found] == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
        "2026-10-27T02:30:00+01:00",
    ]


def test_hourly_across_the_fall_back_hour() -> None:
    """@hourly during the repeated hour fires at 02:00 CEST, then 03:00 CET: two hours of real time."""
    schedule = parse_cron("@hourly", BERLIN)
    found = fires(schedule, at(BERLIN, 2026, 10, 25, 0, 30), 4)
    assert [m.isoformat() for m in found] == [
        "2026-10-25T01:00:00+02:00",
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T04:00:00+01:00",
    ]


def test_moment_inside_the_repeated_hour() -> None:
    """From the second 02:40 (CET) the next 02:45 is the one already past: next is 03:00 CET."""
    schedule = parse_cron("*/15 * * * *", BERLIN)
    second_pass = datetime(2026, 10, 25, 1, 40, tzinfo=UTC)  # 02:40 CET
    assert schedule.next_after(second_pass).isoformat() == "2026-10-25T03:00:00+01:00"


def test_cron_times_are_read_in_the_zone() -> None:
    """08:00 in Berlin is 07:00 UTC in winter and 06:00 UTC in summer."""
    schedule = parse_cron("0 8 * * 1-5", "Europe/Berlin")
    winter = schedule.next_after(at(UTC, 2026, 1, 5, 0, 0))
    summer = schedule.next_after(at(UTC, 2026, 7, 6, 0, 0))
    assert winter.astimezone(UTC) == at(UTC, 2026, 1, 5, 7, 0)
    assert summer.astimezone(UTC) == at(UTC, 2026, 7, 6, 6, 0)


# ---- next_after against a brute-force search ------------------------------------------------------------

ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kolkata",
)
# Instants near daylight-saving changes in those zones (and a few ordinary ones).
ANCHORS = (
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # Europe: spring forward
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # Europe: fall back
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # New York: spring forward
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),  # New York: fall back
    datetime(2026, 4, 4, 15, 0, tzinfo=UTC),  # Lord Howe: back 30 minutes
    datetime(2026, 10, 3, 15, 30, tzinfo=UTC),  # Lord Howe: forward 30 minutes
    datetime(2026, 4, 5, 3, 0, tzinfo=UTC),  # Santiago: fall back at midnight
    datetime(2026, 9, 6, 4, 0, tzinfo=UTC),  # Santiago: spring forward at midnight
    datetime(2026, 6, 15, 12, 0, tzinfo=UTC),
    datetime(2027, 2, 27, 23, 59, tzinfo=UTC),
)
HORIZON = timedelta(days=4)


@st.composite
def cron_fields(draw: st.DrawFn, low: int, high: int, dense: bool) -> tuple[str, frozenset[int]]:
    """One field as text, with the set of values it stands for (computed independently of the parser)."""
    form = draw(
        st.sampled_from(["*", "step", "list", "range"] if dense else ["*", "*", "step", "list", "range"])
    )
    if form == "*":
        return "*", frozenset(range(low, high + 1))
    if form == "step":
        step = draw(st.integers(1, max(1, (high - low) // 2)))
        return f"*/{step}", frozenset(range(low, high + 1, step))
    if form == "range":
        first = draw(st.integers(low, high))
        last = draw(st.integers(first, high))
        step = draw(st.integers(1, 5))
        return f"{first}-{last}/{step}", frozenset(range(first, last + 1, step))
    values = draw(st.lists(st.integers(low, high), min_size=1, max_size=6, unique=True))
    return ",".join(map(str, values)), frozenset(values)


def brute_next(
    minutes: frozenset[int],
    hours: frozenset[int],
    matches_day: Callable[[date], bool],
    zone: ZoneInfo,
    moment: datetime,
) -> datetime | None:
    """The first fire after `moment`, walking every minute of real time: a minute fires when its wall
    time matches and is its first occurrence, or when the clocks just jumped over a matching wall time."""

    def wall_matches(wall: datetime) -> bool:
        return wall.minute in minutes and wall.hour in hours and matches_day(wall.date())

    instant = moment.astimezone(UTC).replace(second=0, microsecond=0)
    previous = instant.astimezone(zone).replace(tzinfo=None)
    for _ in range(int(HORIZON / MINUTE) + 1):
        instant += MINUTE
        local = instant.astimezone(zone)
        wall = local.replace(tzinfo=None)
        hit = local.fold == 0 and wall_matches(wall)
        skipped = previous + MINUTE
        while not hit and skipped < wall:  # wall times the clocks jumped over
            hit = wall_matches(skipped)
            skipped += MINUTE
        previous = max(previous, wall)
        if hit and instant > moment:
            return instant
    return None


@settings(max_examples=150, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    anchor=st.sampled_from(ANCHORS),
    offset=st.integers(-3 * 86_400, 3 * 86_400),
    minute=cron_fields(0, 59, dense=False),
    hour=cron_fields(0, 23, dense=True),
    day=cron_fields(1, 31, dense=True),
    month=st.sampled_from([("*", frozenset(range(1, 13))), ("2-4,9-11", frozenset({2, 3, 4, 9, 10, 11}))]),
    weekday=cron_fields(0, 7, dense=True),
)
def test_next_after_equals_a_minute_by_minute_search(  # noqa: PLR0917 - one argument per strategy
    zone_name: str,
    anchor: datetime,
    offset: int,
    minute: tuple[str, frozenset[int]],
    hour: tuple[str, frozenset[int]],
    day: tuple[str, frozenset[int]],
    month: tuple[str, frozenset[int]],
    weekday: tuple[str, frozenset[int]],
) -> None:
    """next_after finds the same instant as walking real time minute by minute, DST changes included."""
    zone = ZoneInfo(zone_name)
    moment = anchor + timedelta(seconds=offset)
    expression = " ".join(text for text, _ in (minute, hour, day, month, weekday))
    days_restricted = not day[0].startswith("*")
    weekdays_restricted = not weekday[0].startswith("*")
    weekdays = frozenset(value % 7 for value in weekday[1])

    def matches_day(when: date) -> bool:
        if when.month not in month[1]:
            return False
        in_days = when.day in day[1]
        in_weekdays = when.isoweekday() % 7 in weekdays
        return (
            (in_days or in_weekdays) if days_restricted and weekdays_restricted else in_days and in_weekdays
        )

    try:
        schedule = parse_cron(expression, zone)
    except ValueError as error:
        assert "never fires" in str(error)  # noqa: PT017 - only impossible schedules may be refused
        return
    found = schedule.next_after(moment)
    expected = brute_next(minute[1], hour[1], matches_day, zone, moment)
    if expected is None:
        assert found - moment > HORIZON
    else:
        # (compared in UTC: PEP 495 makes == false across zones for a time inside a repeated hour)
        assert found.astimezone(UTC) == expected, (
            f"{expression} in {zone_name} after {moment.astimezone(zone)}"
        )
        assert found.tzinfo is zone
