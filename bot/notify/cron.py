"""Cron expressions: `cronsim` reads them; this wrapper adds aliases, the time zone rule and one-line errors.

Five fields, `minute hour day-of-month month day-of-week`, each a `*`, a number, a range `a-b`, a step
`*/n`, `a-b/n` or `a/n` (from `a` to the field's end), or a comma-separated list of those. Months and
weekdays also take their three-letter English names (`jan`…`dec`, `sun`…`sat`, any case); weekday `7` is
Sunday, like `0`. cronsim also reads `L` (the last day of the month), `LW` (its last weekday), `5L` (its
last Friday) and `1#2` (its second Monday). The aliases `@hourly`, `@daily` (`@midnight`), `@weekly`,
`@monthly` and `@yearly` (`@annually`) stand for their usual expressions.

Days follow Vixie cron: when both day-of-month and day-of-week are restricted (neither starts with `*`),
a day matching either fires (`0 9 1 * mon`: the 1st and every Monday); otherwise both must match.

Times are wall-clock times in the schedule's time zone: cronsim walks naive wall times, and `next_after`
places each in the zone. Across daylight saving changes:
- a time that does not exist that day (the clocks jump forward over it) fires once, when the jump ends
  (`30 2 * * *` in Europe/Berlin fires at 03:00 on the last Sunday of March);
- a time that happens twice (the clocks go back) fires the first time only.
(cronsim's own zone handling follows Debian cron instead, where `@hourly` fires in both passes of a
repeated hour; hence the naive walk.)

An expression that can never fire (`0 0 30 2 *`) is refused by `parse_cron`, as is every malformed one,
with one `ValueError` line naming the field and the bad value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
# Our name and accepted values of each field, by the message cronsim raises for it.
_FIELDS = {
    "Bad minute": (0, "minute", "0-59"),
    "Bad hour": (1, "hour", "0-23"),
    "Bad day-of-month": (2, "day of month", "1-31, L or LW"),
    "Bad month": (3, "month", "1-12 or jan…dec"),
    "Bad day-of-week": (4, "day of week", "0-7 or sun…sat"),
}
_FORMS = "*, a, a-b, */n, a-b/n, a/n or a list a,b"
_START = datetime(2001, 1, 1)  # any start: cronsim checks the fields when it is built
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A parsed cron expression in a time zone; `next_after` says when it fires next."""

    expression: str  # as written
    zone: tzinfo
    fields: str  # the five fields cronsim reads (an alias expanded)

    def next_after(self, moment: datetime) -> datetime:
        """The first fire time strictly after `moment` (an aware datetime), in the schedule's zone."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("next_after needs an aware datetime (with a time zone)")
        wall = moment.astimezone(self.zone).replace(tzinfo=None)
        for found in CronSim(self.fields, wall):
            instant = self._instant(found)
            if instant > moment:  # (a wall time in the second pass of a repeated hour has passed already)
                return instant
        raise ValueError(f"{self.expression!r} never fires within 50 years")

    def _instant(self, wall: datetime) -> datetime:
        """When a wall time happens: its first occurrence, or the first minute after the jump over it."""
        local = wall.replace(tzinfo=self.zone, fold=0)
        while local.astimezone(UTC).astimezone(self.zone).replace(tzinfo=None) != local.replace(tzinfo=None):
            local += _MINUTE  # wall-clock arithmetic: still inside the gap the clocks jumped over
        return local


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
    try:
        CronSim(text, _START)
    except CronSimError as exc:
        raise ValueError(_explain(expression.strip(), fields, exc)) from None
    schedule = CronSchedule(expression=expression.strip(), zone=zone_info, fields=text)
    schedule.next_after(_START.replace(tzinfo=UTC))
    return schedule


def _explain(expression: str, fields: list[str], exc: CronSimError) -> str:
    """cronsim's `Bad minute` as one line naming the field and its value, or why the schedule never fires."""
    if str(exc) not in _FIELDS:
        return f"{expression!r}: {exc}"
    index, name, values = _FIELDS[str(exc)]
    if index == 2 and _reads(f"0 0 {fields[2]} * *"):  # the days read alone: no month named has them
        return f"{expression!r} never fires: none of those months has those days"
    return f"{name} field: {fields[index]!r} is not valid (values {values}; forms {_FORMS})"


def _reads(text: str) -> bool:
    try:
        CronSim(text, _START)
    except CronSimError:
        return False
    return True
