"""Go-style durations (`90s`, `5m`, `1h30m`, `1.5h`, `250ms`): the grammar of docker's `--since 10m`, used for
command arguments and for the durations in the config file alike."""

from __future__ import annotations

import re

GO_DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+")
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text: str) -> float | None:
    """The seconds a Go duration stands for (a sum of number-unit parts, `1h30m` = 5400.0); None otherwise."""
    if not GO_DURATION.fullmatch(text):
        return None
    return sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(text))


def go_duration(seconds: float) -> str:
    """Whole seconds written back as Docker users type a duration: `10m`, `1h30m`, `45s` (`0s` for none)."""
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


def seconds_text(value: float) -> str:
    """How a wait reads in a message: `12` for 12.0001, `2.5`, `0.25`, `1800` (never `12.0001`)."""
    if value >= 1:
        return f"{round(value, 1):g}"
    return f"{value:.2g}"
