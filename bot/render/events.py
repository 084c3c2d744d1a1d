"""`events`: each event as `docker events` prints it, one line per event, and as its `--format` sees it.

The line is the CLI's (`prettyPrintEvent` in docker/cli): the time in RFC 3339 with nine fraction digits in
the local zone (here the bot's `CHATOPS_TIMEZONE`, else UTC: `…Z`), type, action, the actor's full ID, then
the actor's attributes sorted by key in parentheses — `docker events --since X --until Y` on the same
engine is the oracle. Names, images, labels and exec commands are anybody's text: every value is stripped
of control characters (an event stays one line) and masked like log lines (`password=•••`).

A `--format` template sees `*events.Message` as the CLI hands it: `.Type`, `.Action`, `.Actor.ID`,
`.Actor.Attributes` (a map: a missing key prints `<no value>`, `index` of one is empty, as Go's map does),
`.Scope`, `.Time`, `.TimeNano` and the old `.Status`, `.ID`, `.From`; `json` prints it with Go's field
order, the old fields left out when empty.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from bot.models import EngineEvent, EventsResult
from bot.render.digest import clean_text
from bot.render.mask import mask_secrets
from bot.render.template import Struct, Template, parse


def _text(value: str) -> str:
    return mask_secrets(clean_text(value))


def event_time(seconds: int, nanos: int, zone: tzinfo) -> str:
    """Go's `jsonmessage.RFC3339NanoFixed` in `zone`: `2026-12-07T17:03:11.123456789Z` (or `+01:00`)."""
    moment = datetime.fromtimestamp(seconds, UTC).astimezone(zone)
    total = int((moment.utcoffset() or timedelta(0)).total_seconds()) // 60
    hours, minutes = divmod(abs(total), 60)
    suffix = "Z" if total == 0 else f"{'-' if total < 0 else '+'}{hours:02d}:{minutes:02d}"  # Go's Z07:00
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{nanos:09d}{suffix}"


def _stamp(event: EngineEvent, zone: tzinfo) -> str | None:
    if event.time_nano:
        return event_time(event.time_nano // 1_000_000_000, event.time_nano % 1_000_000_000, zone)
    if event.time:
        return event_time(event.time, 0, zone)
    return None


def event_line(event: EngineEvent, zone: tzinfo) -> str:
    """One event as `docker events` prints it (masked, on one line)."""
    stamp = _stamp(event, zone)
    line = f"{stamp} " if stamp else ""
    line += f"{_text(event.type)} {_text(event.action)} {_text(event.actor_id)}"
    if event.attributes:
        pairs = ", ".join(f"{_text(k)}={_text(v)}" for k, v in sorted(event.attributes.items()))
        line += f" ({pairs})"
    return line


class GoStringMap(dict[str, str]):
    """A Go `map[string]string` as a template reads it: `.key` of a missing key is `<no value>` (not an
    error), `index` of one is the empty string; ranging, `len` and `json` see the real entries only."""

    def __missing__(self, key: str) -> str:
        return "<no value>"

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str)

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key, "")


def event_context(event: EngineEvent) -> Struct:
    """One event as the CLI's template sees `*events.Message` (every text masked)."""
    attributes = {_text(k): _text(v) for k, v in event.attributes.items()}
    actor = Struct(
        "events.Actor",
        {"ID": _text(event.actor_id), "Attributes": GoStringMap(attributes)},
        json_value={"ID": _text(event.actor_id), "Attributes": dict(sorted(attributes.items()))},
    )
    old = {"status": event.status, "id": event.id, "from": event.from_}
    json_value: dict[str, Any] = {key: _text(value) for key, value in old.items() if value}
    json_value |= {
        "Type": _text(event.type),
        "Action": _text(event.action),
        "Actor": actor,
        "scope": _text(event.scope),
        "time": event.time,
        "timeNano": event.time_nano,
    }
    fields = {
        "Status": _text(event.status),
        "ID": _text(event.id),
        "From": _text(event.from_),
        "Type": _text(event.type),
        "Action": _text(event.action),
        "Actor": actor,
        "Scope": _text(event.scope),
        "Time": event.time,
        "TimeNano": event.time_nano,
    }
    return Struct("*events.Message", fields, json_value=json_value)


EMPTY_EVENT = event_context(EngineEvent(type="", action="", actor_id="", attributes={}))
FORMAT_ERROR = "Error parsing format"  # how `docker events` words a template it cannot parse or run


def events_template(value: str) -> Template:
    """The parsed `--format` of `events`: `json` is `{{json .}}`; no `table`, and `\\t` stays as typed
    (the CLI hands the text to Go's template package as it is)."""
    return parse("{{json .}}" if value == "json" else value, tables=False)


def truncation_line(result: EventsResult) -> str:
    """The honest line under a cut answer."""
    return (
        f"(more than {result.limit:,} events in this window: only the first {result.limit:,} are shown; "
        "narrow --since/--until or add -f filters)"
    )


def render_events(result: EventsResult) -> str:
    """The events, one line each, oldest first, as `docker events` prints them."""
    lines = [event_line(event, result.zone) for event in result.events]
    if result.truncated:
        lines.append(truncation_line(result))
    return "\n".join(lines)


def render_events_format(result: EventsResult, template: Template) -> str:
    """`events --format …`: the template once per event, one line each."""
    lines = [template.execute(event_context(event)) for event in result.events]
    if result.truncated:
        lines.append(truncation_line(result))
    return "\n".join(lines)


def summarize_events(result: EventsResult) -> str:
    """`7 events from 17:02:11 to 17:12:11 UTC` (and why the window ends now, when it was moved)."""
    count = len(result.events)
    start, end = (
        datetime.fromtimestamp(t, UTC).astimezone(result.zone) for t in (result.since, result.until)
    )
    zone = end.tzname() or "UTC"
    day = "%Y-%m-%d " if start.date() != end.date() or _days_ago(end) else ""
    span = f"from {start.strftime(day + '%H:%M:%S')} to {end.strftime(day + '%H:%M:%S')} {zone}"
    what = f"{'more than ' if result.truncated else ''}{count:,} event{'' if count == 1 else 's'}"
    if count == 0:
        what = "no events"
    clamped = " (--until was in the future: read up to now, events are never followed)"
    return f"{what} {span}" + (clamped if result.clamped else "")


def _days_ago(moment: datetime) -> bool:
    return (datetime.now(UTC) - moment).total_seconds() > 12 * 3600
