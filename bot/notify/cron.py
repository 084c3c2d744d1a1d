"""Cron expressions: a small parser and next-fire calculator, pure (no clock, no I/O).

Five fields, `minute hour day-of-month month day-of-week`, each a `*`, a number, a range `a-b`, a step
`*/n`, `a-b/n` or `a/n` (from `a` to the field's end), or a comma-separated list of those. Months and
weekdays also take their three-letter English names (`jan`…`dec`, `sun`…`sat`, any case); weekday `7` is
Sunday, like `0`. The aliases `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly` and `@yearly`
(`@annually`) stand for their usual expressions.

Days follow Vixie cron: when both day-of-month and day-of-week are restricted (neither starts with `*`),
a day matching either fires (`0 9 1 * mon`: the 1st and every Monday); otherwise both must match.

Times are wall-clock times in the schedule's time zone. Across daylight saving changes:
- a time that does not exist that day (the clocks jump forward over it) fires once, when the jump ends
  (`30 2 * * *` in Europe/Berlin fires at 03:00 on the last Sunday of March);
- a time that happens twice (the clocks go back) fires the first time only.

An expression that can never fire (`0 0 30 2 *`) is refused by `parse_cron`, as is every malformed one,
with one `ValueError` line naming the field and the bad value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

# Calendar dates repeat their weekdays every 28 years (between 1901 and 2099): a schedule that fires at
# all fires within that span from any start. The search stops there.
HORIZON_DAYS = 28 * 366 + 7
_MINUTE = timedelta(minutes=1)

ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NUMBER = re.compile(r"^\d{1,2}$")
# The longest each month can be (February: in leap years).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True, slots=True)
class _Field:
    """How one of the five fields reads: its name, its bounds and the names it accepts."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    names_start: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day of week", 0, 7, _WEEKDAYS, 0),
)


def _value(text: str, field: _Field) -> int:
    """One number or name of `field`, within its bounds."""
    lowered = text.lower()
    if lowered in field.names:
        return field.names.index(lowered) + field.names_start
    if not _NUMBER.match(text):
        known = f" or a name ({field.names[0]}…{field.names[-1]})" if field.names else ""
        raise ValueError(f"{field.name} field: {text!r} is not a number{known}")
    number = int(text)
    if not field.low <= number <= field.high:
        raise ValueError(f"{field.name} field: {number} is out of range {field.low}-{field.high}")
    return number


def _step(text: str, field: _Field) -> int:
    if not _NUMBER.match(text) or int(text) == 0:
        raise ValueError(f"{field.name} field: step {text!r} must be a number from 1")
    return int(text)


def _part(part: str, field: _Field) -> set[int]:
    """The values of one list item: `*`, `N`, `a-b`, `*/n`, `a-b/n` or `a/n`."""
    if not part:
        raise ValueError(f"{field.name} field: empty list item")
    span, slash, step_text = part.partition("/")
    step = _step(step_text, field) if slash else 1
    if span == "*":
        low, high = field.low, field.high
    elif "-" in span:
        first, _, last = span.partition("-")
        low, high = _value(first, field), _value(last, field)
        if low > high:
            raise ValueError(f"{field.name} field: range {span!r} runs backwards")
    else:
        low = _value(span, field)
        high = field.high if slash else low
    return set(range(low, high + 1, step))


def _field_values(text: str, field: _Field) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        values |= _part(part, field)
    return frozenset(values)


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A parsed cron expression in a time zone; `next_after` says when it fires next."""

    expression: str
    zone: tzinfo
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday … 6 = Saturday
    days_restricted: bool
    weekdays_restricted: bool

    def day_matches(self, day: date) -> bool:
        """True when the schedule fires on this calendar day (at its hours and minutes)."""
        if day.month not in self.months:
            return False
        in_days = day.day in self.days
        in_weekdays = day.isoweekday() % 7 in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def matches(self, wall: datetime) -> bool:
        """True when this wall-clock time (naive, in the schedule's zone) is one of the schedule's."""
        return wall.minute in self.minutes and wall.hour in self.hours and self.day_matches(wall.date())

    def next_after(self, moment: datetime) -> datetime:
        """The first fire time strictly after `moment` (an aware datetime), in the schedule's zone."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("next_after needs an aware datetime (with a time zone)")
        local = moment.astimezone(self.zone)
        floor = (local.hour, local.minute)
        day = local.date()
        for _ in range(HORIZON_DAYS):
            if self.day_matches(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        if day == local.date() and (hour, minute) < floor:
                            continue  # earlier wall times of that day are earlier instants, DST or not
                        instant = self._instant(datetime.combine(day, time(hour, minute)))
                        if instant > moment:
                            return instant.astimezone(self.zone)
            day += timedelta(days=1)
        raise ValueError(f"{self.expression!r} never fires within {HORIZON_DAYS // 366} years")

    def _instant(self, wall: datetime) -> datetime:
        """When a wall-clock time happens: its first occurrence, or the end of the gap it falls in."""
        instant = wall.replace(tzinfo=self.zone).astimezone(UTC)
        if instant.astimezone(self.zone).replace(tzinfo=None) == wall:
            return instant
        return self._gap_end(wall)

    def _gap_end(self, wall: datetime) -> datetime:
        """The first whole minute after the clocks jumped over `wall` (which does not exist that day)."""
        # PEP 495: in a gap, fold=1 reads the time with the offset after the jump (an instant before it),
        # fold=0 with the offset before it (an instant after it). The jump lies between the two.
        low = wall.replace(tzinfo=self.zone, fold=1).astimezone(UTC).replace(second=0, microsecond=0)
        high = wall.replace(tzinfo=self.zone, fold=0).astimezone(UTC)
        steps = int((high - low) / _MINUTE) + 1
        first, last = 0, steps  # binary search: the first minute whose wall time is past `wall`
        while first < last:
            middle = (first + last) // 2
            if (low + middle * _MINUTE).astimezone(self.zone).replace(tzinfo=None) > wall:
                last = middle
            else:
                first = middle + 1
        return low + first * _MINUTE


def parse_cron(expression: str, zone: tzinfo | str = UTC) -> CronSchedule:
    """Parse five fields or an alias; one `ValueError` line for anything malformed or impossible."""
    zone_info = ZoneInfo(zone) if isinstance(zone, str) else zone
    text = " ".join(expression.split())
    if text.startswith("@"):
        if text.lower() not in ALIASES:
            raise ValueError(f"unknown alias {text!r}; known: {', '.join(ALIASES)}")
        text = ALIASES[text.lower()]
    fields = text.split(" ") if text else []
    if len(fields) != len(_FIELDS):
        raise ValueError(
            f"{expression!r} has {len(fields)} field(s); write 5: minute hour day-of-month month day-of-week"
        )
    minutes, hours, days, months, weekdays = (
        _field_values(part, field) for part, field in zip(fields, _FIELDS, strict=True)
    )
    schedule = CronSchedule(
        expression=expression.strip(),
        zone=zone_info,
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=days,
        months=months,
        weekdays=frozenset(day % 7 for day in weekdays),
        days_restricted=not fields[2].startswith("*"),
        weekdays_restricted=not fields[4].startswith("*"),
    )
    _check_possible(schedule)
    return schedule


def _check_possible(schedule: CronSchedule) -> None:
    """Refuse a schedule no calendar day ever matches (`0 0 30 2 *`), naming why."""
    if schedule.days_restricted and schedule.weekdays_restricted:
        return  # every month has every weekday
    if not any(day <= _MONTH_DAYS[month - 1] for month in schedule.months for day in schedule.days):
        raise ValueError(f"{schedule.expression!r} never fires: none of those months has those days")
    start = datetime(2001, 1, 1, tzinfo=UTC)  # any start: the search covers the 28-year weekday cycle
    schedule.next_after(start)
