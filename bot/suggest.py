"""Did-you-mean: the one helper behind every "unknown …" answer (commands, flags, config keys, settings,
policy entries), so a typo gets the same kind of hint wherever it is made."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.6  # difflib's ratio: "stpo" → "stop" (0.75) is close, "top" → "prune" is not


def closest(typed: str, choices: Iterable[str], *, cutoff: float = CUTOFF) -> str | None:
    """The choice closest to `typed`, compared case-insensitively, or None when none is close enough."""
    spelled = {choice.lower(): choice for choice in choices}
    match = difflib.get_close_matches(typed.lower(), list(spelled), n=1, cutoff=cutoff)
    return spelled[match[0]] if match else None


def did_you_mean(typed: str, choices: Iterable[str], *, cutoff: float = CUTOFF) -> str | None:
    """`did you mean "X"?` for the closest choice, or None."""
    match = closest(typed, choices, cutoff=cutoff)
    return f'did you mean "{match}"?' if match is not None else None
