"""Text primitives that reproduce, byte for byte, what the Docker CLI prints.

Each function follows the behaviour of the Go code the CLI runs (docker/cli 28.x, docker/go-units 0.5,
Go's strconv, fmt and text/tabwriter). The Go code is not translated line by
line; the rules it implements are written down here as small pure Python functions.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.models import Port

__all__ = [
    "created_ago",
    "display_width",
    "displayable_ports",
    "ellipsis",
    "go_quote",
    "human_duration",
    "human_size",
    "natural_less",
    "tabulate",
    "truncate_id",
]

# ---- durations (go-units HumanDuration) --------------------------------------------------------------------

_NS_PER_SECOND = 1_000_000_000
_NS_PER_MINUTE = 60 * _NS_PER_SECOND
_NS_PER_HOUR = 60 * _NS_PER_MINUTE
# Go's time.Duration is an int64 of nanoseconds; time.Time.Sub saturates at its bounds.
_MAX_DURATION_NS = 2**63 - 1
_MIN_DURATION_NS = -(2**63)


def _clamp_ns(ns: int) -> int:
    return max(_MIN_DURATION_NS, min(_MAX_DURATION_NS, ns))


def _seconds_to_ns(seconds: float) -> int:
    if math.isnan(seconds):
        return 0
    if math.isinf(seconds):
        return _MAX_DURATION_NS if seconds > 0 else _MIN_DURATION_NS
    return _clamp_ns(round(seconds * _NS_PER_SECOND))


def _go_units(ns: int, unit: int) -> float:
    """Go's Duration.Seconds/Minutes/Hours: whole units plus the remainder as a fraction."""
    whole = abs(ns) // unit
    rest = abs(ns) % unit
    value = float(whole) + float(rest) / float(unit)
    return -value if ns < 0 else value


def _human_duration_ns(ns: int) -> str:
    seconds = int(_go_units(ns, _NS_PER_SECOND))
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = int(_go_units(ns, _NS_PER_MINUTE))
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(_go_units(ns, _NS_PER_HOUR) + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(_go_units(ns, _NS_PER_HOUR)) // 24 // 365} years"


def human_duration(seconds: float) -> str:
    """Describe a duration the way go-units HumanDuration does ("About an hour", "3 days", …).

    Negative durations (a creation time in the future) read "Less than a second"; hours round half up
    (89m59s is "About an hour", 90m is "2 hours"); years count whole 365-day years.
    """
    return _human_duration_ns(_seconds_to_ns(seconds))


def created_ago(created: int, now: float) -> str:
    """The CREATED column of `docker ps`/`docker images`: HumanDuration(now - created) + " ago".

    The CLI prints this for any timestamp: 0 is the Unix epoch ("56 years ago"), a future time is
    "Less than a second ago".
    """
    return _human_duration_ns(_seconds_to_ns(now - created)) + " ago"


# ---- sizes (go-units HumanSizeWithPrecision, fmt %.*g) -----------------------------------------------------

_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def _go_g(value: float, precision: int) -> str:
    """Go's fmt "%.*g": fixed or exponent notation chosen as C's %g does; Go's NaN/Inf names."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.{max(precision, 1)}g}"


def human_size(size: float, precision: int = 4) -> str:
    """Decimal human size as go-units HumanSizeWithPrecision prints it ("1.98MB", "964kB", "1e+03kB").

    The value is divided by 1000 while it is at least 1000 (up to YB) and printed with "%.*g", so rounding
    can carry it to "1000kB" (precision 4) or "1e+03kB" (precision 3). HumanSize is precision 4.
    """
    value = float(size)
    index = 0
    while value >= 1000.0 and index < len(_DECIMAL_UNITS) - 1:
        value /= 1000.0
        index += 1
    return _go_g(value, precision) + _DECIMAL_UNITS[index]


# ---- quoting (strconv.Quote) -------------------------------------------------------------------------------

_SHORT_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def _go_is_print(char: str) -> bool:
    """unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    if char == " ":
        return True
    return unicodedata.category(char)[0] in "LMNPS"


def _escape_rune(char: str) -> str:
    if char in ('"', "\\"):
        return "\\" + char
    if _go_is_print(char):
        return char
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if 0xD800 <= code <= 0xDFFF:
        # A Go string cannot hold a lone surrogate; decoding turns it into U+FFFD, which is printable.
        return "\ufffd"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def go_quote(s: str) -> str:
    """Quote a string exactly like Go's strconv.Quote (printable Unicode kept, the rest escaped)."""
    if s.isprintable():  # Python's printable is Go's IsPrint (L, M, N, P, S and the ASCII space)
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return '"' + "".join(_escape_rune(char) for char in s) + '"'


# ---- widths ------------------------------------------------------------------------------------------------


def _ellipsis_char_width(char: str) -> int:
    """docker/cli formatter charWidth: 2 for East Asian Wide and Fullwidth runes, 1 for every other rune."""
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


_ZERO_WIDTH_FORMAT = frozenset(
    [
        0x00AD,
        0x070F,
        *range(0x180B, 0x180F),
        *range(0x200B, 0x2010),
        *range(0x2028, 0x202F),
        *range(0x206A, 0x2070),
        *(0xFEFF, 0xFFF9, 0xFFFA, 0xFFFB, 0xFFFE, 0xFFFF),
    ]
)


def _rune_width(char: str) -> int:
    """go-runewidth RuneWidth outside East Asian locales: control/format runes 0, wide runes 2, else 1."""
    code = ord(char)
    if code < 0x20 or 0x7F <= code <= 0x9F or code == 0xAD:
        return 0
    if code < 0x300:
        return 1
    east_asian = unicodedata.east_asian_width(char)
    if east_asian in ("Na", "H"):
        return 1
    if code in _ZERO_WIDTH_FORMAT or 0xD800 <= code <= 0xDFFF or unicodedata.category(char) in ("Mn", "Me"):
        return 0
    if east_asian in ("W", "F"):
        return 2
    return 1


def _extends_cluster(char: str, previous: str) -> bool:
    """Whether `char` continues the grapheme cluster `previous` belongs to (marks, joiners, modifiers)."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or code == 0x200D
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
        or ord(previous) == 0x200D
    )


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def display_width(s: str) -> int:
    """Terminal columns of `s` as go-runewidth StringWidth counts them (docker/cli's tabwriter uses it).

    Each grapheme cluster counts as the width of its first non-zero-width rune: East Asian wide runes are 2,
    combining marks and joiners add nothing. Clusters are approximated (marks, ZWJ sequences, variation
    selectors, skin-tone modifiers, flag pairs), which covers what container commands and names contain.
    """
    if s.isascii() and s.isprintable():  # nearly every cell: one column per character, nothing joins
        return len(s)
    return _cluster_width(s)


def _cluster_width(s: str) -> int:
    """`display_width` cluster by cluster (any text)."""
    total = 0
    cluster_width = 0
    previous: str | None = None
    open_flag = False
    for char in s:
        joins = previous is not None and _extends_cluster(char, previous)
        if previous is not None and _is_regional_indicator(char) and open_flag:
            joins = True
            open_flag = False
        elif _is_regional_indicator(char):
            open_flag = not joins
        else:
            open_flag = False
        if joins:
            if cluster_width == 0:
                cluster_width = _rune_width(char)
                total += cluster_width
        else:
            cluster_width = _rune_width(char)
            total += cluster_width
        previous = char
    return total


def ellipsis(s: str, max_width: int) -> str:
    """docker/cli formatter.Ellipsis: cut `s` to `max_width` display columns, ending in "…" when cut.

    Widths count East Asian wide runes as 2. A width of 0 or less gives "", a width of 1 the first rune.
    When the first rune alone is wider than the room left for it, the CLI returns `s` unchanged.
    """
    if max_width <= 0:
        return ""
    if max_width == 1:
        return s[:1]
    if s.isascii():
        return s if len(s) <= max_width else s[: max_width - 1] + "…"
    ends: list[int] = []
    width = 0
    for char in s:
        width += _ellipsis_char_width(char)
        ends.append(width)
        if width > max_width:  # cut: where is known from the runes so far
            break
    if width <= max_width:
        return s
    room = max_width - 1
    for index in range(len(ends) - 1):
        if ends[index] <= room < ends[index + 1]:
            return s[: index + 1] + "…"
    return s


def truncate_id(id: str) -> str:
    """stringid.TruncateID: drop everything up to the first ":" ("sha256:") and keep 12 characters."""
    _, sep, rest = id.partition(":")
    return (rest if sep else id)[:12]


# ---- ports (docker/cli DisplayablePorts) -------------------------------------------------------------------


def _join_host_port(host: str, port: str) -> str:
    """net.JoinHostPort: brackets around hosts that contain a colon (IPv6)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _port_sort_key(port: Port) -> tuple[int, str, int, str]:
    return (port.private_port, port.ip, port.public_port or 0, port.type)


def _port_group(key: tuple[str, str], first: int, last: int) -> str:
    ip, proto = key
    text = str(first) if first == last else f"{first}-{last}"
    if ip:
        text = f"{_join_host_port(ip, text)}->{text}"
    return f"{text}/{proto}"


def displayable_ports(ports: Sequence[Port]) -> str:
    """The PORTS column of `docker ps`, e.g. "443/tcp, 127.0.0.1:18080->80/tcp, [::]:18443->443/udp".

    Ports sort by private port, IP, public port, protocol. Unpublished ports, and ports published on the
    same number, group into consecutive ranges per (IP, protocol) and come first; ports published on another
    number follow as "IP:public->private/proto" (IPv6 hosts in brackets).
    """
    groups: dict[tuple[str, str], list[int]] = {}
    result: list[str] = []
    host_mappings: list[str] = []
    for port in sorted(ports, key=_port_sort_key):
        current = port.private_port
        public = port.public_port or 0
        key = ("", port.type)
        if port.ip:
            if public != current:
                host = _join_host_port(port.ip, str(public))
                host_mappings.append(f"{host}->{current}/{port.type}")
                continue
            key = (port.ip, port.type)
        group = groups.get(key)
        if group is None:
            groups[key] = [current, current]
            continue
        if current == (group[1] + 1) & 0xFFFF:
            group[1] = current
            continue
        result.append(_port_group(key, group[0], group[1]))
        # The CLI replaces the group in place: the key keeps its first-seen position.
        groups[key] = [current, current]
    result.extend(_port_group(key, first, last) for key, (first, last) in groups.items())
    result.extend(host_mappings)
    return ", ".join(result)


# ---- tables (text/tabwriter and docker/cli's copy of it) ---------------------------------------------------


@dataclass
class _Tabwriter:
    """Elastic tabstops: a column block is a run of consecutive lines that all have a cell in that column."""

    lines: Sequence[Sequence[str]]
    min_width: int
    padding: int
    width_of: Callable[[str], int]

    def __post_init__(self) -> None:
        self.widths: list[int] = []
        self.out: list[str] = []

    def write_lines(self, line0: int, line1: int) -> None:
        for line in self.lines[line0:line1]:
            parts: list[str] = []
            for column, text in enumerate(line):
                parts.append(text)
                if column < len(self.widths):
                    parts.append(" " * (self.widths[column] - self.width_of(text)))
            self.out.append("".join(parts))

    def format(self, line0: int, line1: int) -> None:
        column = len(self.widths)
        this = line0
        while this < line1:
            if column >= len(self.lines[this]) - 1:
                this += 1
                continue
            self.write_lines(line0, this)
            line0 = this
            width = self.min_width
            while this < line1 and column < len(self.lines[this]) - 1:
                width = max(width, self.width_of(self.lines[this][column]) + self.padding)
                this += 1
            self.widths.append(width)
            self.format(line0, this)
            self.widths.pop()
            line0 = this
            # Like the Go loop, the line that ended the block is known to have no cell here: skip it.
            this += 1
        self.write_lines(line0, line1)


def tabulate(
    rows: Sequence[Sequence[str]],
    min_width: int = 10,
    padding: int = 3,
    *,
    count_runes: bool = False,
) -> str:
    """Align rows of cells as docker/cli's table formatter does (tabwriter minwidth 10, padding 3, spaces).

    Every cell but a row's last is padded to its column's width: the widest cell plus `padding`, at least
    `min_width`. The last cell is not padded, so a row never ends in spaces unless its last cell is empty.
    Widths are terminal columns (go-runewidth, as docker/cli's tabwriter counts them); `count_runes=True`
    counts code points instead, as Go's standard text/tabwriter does (docker compose ls: min_width 20).
    Lines are joined with "\\n", without a trailing newline.
    """
    # A cell is asked for its width more than once (its column's width, then its padding) and columns repeat
    # values (states, images): each distinct cell is measured once per table.
    width_of = len if count_runes else functools.lru_cache(maxsize=None)(display_width)
    writer = _Tabwriter(rows, min_width, padding, width_of)
    writer.format(0, len(rows))
    return "\n".join(writer.out)


# ---- natural order (fvbommel/sortorder, as `docker volume ls` sorts) ---------------------------------------


def _digit_run_end(data: bytes, index: int) -> int:
    while index < len(data) and data[index : index + 1].isdigit():
        index += 1
    return index


def _zero_run_end(data: bytes, index: int) -> int:
    while index < len(data) and data[index] == ord("0"):
        index += 1
    return index


def natural_less(left: str, right: str) -> bool:
    """sortorder.NaturalLess: digit runs compare by value ("vol2" < "vol10") and sort before other bytes.

    Equal numbers compare by their leading zeros' position, then the shorter string wins; other bytes compare
    by UTF-8 byte value.
    """
    a, b = left.encode(), right.encode()
    i = j = 0
    while i < len(a) and j < len(b):
        digit_a, digit_b = a[i : i + 1].isdigit(), b[j : j + 1].isdigit()
        if digit_a != digit_b:
            return digit_a
        if not digit_a:
            if a[i] != b[j]:
                return a[i] < b[j]
            i += 1
            j += 1
            continue
        start_a, start_b = _zero_run_end(a, i), _zero_run_end(b, j)
        i, j = _digit_run_end(a, start_a), _digit_run_end(b, start_b)
        number_a, number_b = a[start_a:i], b[start_b:j]
        if len(number_a) != len(number_b):
            return len(number_a) < len(number_b)
        if number_a != number_b:
            return number_a < number_b
        if start_a != start_b:
            return start_a < start_b
    return len(a) < len(b)
