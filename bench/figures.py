"""What every bench script prints with: percentiles, milliseconds, PASS/FAIL goal lines, and its exit.

The bench scripts run as `python bench/NAME.py`, so this folder is on `sys.path` and they import it as
`figures` (as they import `fleet`).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p % of the values at or below it (NaN for
    no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def goal(ok: bool | None, text: str) -> bool | None:
    """Print one goal line, `PASS: …`, `FAIL: …` or `SKIP: …` (None: not measured); return `ok`."""
    print(f"{'SKIP' if ok is None else 'PASS' if ok else 'FAIL'}: {text}")
    return ok


def run_main(main: Callable[[], int], interrupted: str) -> None:
    """Exit with `main()`'s status; on Ctrl-C say `interrupted` (what was cleaned up) and exit 130."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        sys.exit(130)
