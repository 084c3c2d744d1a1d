"""The audit log: every decision, its (masked, capped) text, and how it ended; kept as long as configured."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

from bot.mentions import render_refs
from bot.render.mask import mask_secrets
from bot.store.db import Tables

AUDIT_TEXT_MAX_BYTES = 4096  # of a command's (masked) text in the audit; its length and sha256 are kept
AUDIT_MASKED_MAX_CHARS = 16_384  # of an oversized text, what is masked (and hashed) before the cut
_ELLIPSIS = "…"

_AUDIT_FINISH = (
    "UPDATE audit SET decision = ?, rule = ?, outcome = ?, duration = ?, plan_hash = ?, error = ?"
    " WHERE id = ?"
)
_AUDIT_FINISH_IF_RUNNING = _AUDIT_FINISH + " AND outcome = 'running'"


@dataclass(frozen=True, slots=True)
class AuditText:
    """A command's text as the audit keeps it: masked, at most 4 KB, with its full length and digest.

    `length` counts the characters typed; `sha256` is the hex digest of the masked text (UTF-8; of its
    first AUDIT_MASKED_MAX_CHARS characters for longer input), so two long commands can be told apart or
    matched without storing them, and no masked secret can be recovered from the digest.
    """

    text: str
    length: int
    sha256: str

    @classmethod
    def of(cls, text: str) -> AuditText:
        # oversized input (the parser refuses it anyway) is masked and hashed only as far as it is kept-ish:
        # a 1 MiB command costs microseconds, never a full masking pass
        masked = mask_secrets(text[:AUDIT_MASKED_MAX_CHARS])
        digest = hashlib.sha256(masked.encode("utf-8", "surrogatepass")).hexdigest()
        return cls(clip_utf8(masked, AUDIT_TEXT_MAX_BYTES), len(text), digest)


def clip_utf8(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8 (an ellipsis marks a cut; never half a character; lone surrogates
    become U+FFFD, which SQLite can store)."""
    raw = text.encode("utf-8", "replace")
    if len(raw) <= limit:
        return raw.decode("utf-8")
    room = limit - len(_ELLIPSIS.encode())
    return raw[:room].decode("utf-8", "ignore") + _ELLIPSIS


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One decision: who asked what where, what was decided and why, what happened.

    `text` is masked and at most 4 KB; `text_length` and `text_sha256` describe the whole text (see
    `AuditText`; None on rows written before they were recorded).
    """

    id: int
    at: float
    team_id: str
    user_id: str
    channel_id: str
    source: str
    host: str
    text: str
    decision: str
    rule: str
    plan_hash: str | None
    outcome: str
    duration: float | None
    error: str | None
    text_length: int | None = None
    text_sha256: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The row as plain JSON-ready data."""
        return {name: getattr(self, name) for name in self.__slots__}


_AUDIT_COLUMNS = ", ".join(AuditRow.__slots__)


class AuditLog(Tables):
    """The audit table (a part of `Store`)."""

    audit_retention: float | None  # seconds; None: rows are kept

    def _sweep_audit(self, now: float) -> None:
        """Delete the rows older than the retention; lock held."""
        if self.audit_retention is not None:
            self._db.execute("DELETE FROM audit WHERE at < ?", (now - self.audit_retention,))

    def audit_start(
        self, *, team_id: str, user_id: str, channel_id: str, source: str, host: str, text: str
    ) -> int:
        """Open the audit row of one invocation (outcome "running"); returns its id.

        The text is kept masked and cut to AUDIT_TEXT_MAX_BYTES, with its full length and digest.
        """
        kept = AuditText.of(text)
        now = time.time()
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO audit (at, team_id, user_id, channel_id, source, host, text, decision, rule,"
                " outcome, text_length, text_sha256)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', '', 'running', ?, ?)",
                (now, team_id, user_id, channel_id, source, host, kept.text, kept.length, kept.sha256),
            )
            self._prune(now)
            return int(cursor.lastrowid or 0)

    def audit_finish(
        self,
        row_id: int,
        *,
        decision: str,
        rule: str,
        outcome: str,
        duration: float,
        plan_hash: str | None = None,
        error: str | None = None,
        only_if_running: bool = False,
    ) -> None:
        """Record how the invocation ended (a timeout marks it, the late result then overwrites it).

        The error is kept masked and cut like the text (an error may quote what was typed), its mentions
        (`bot.mentions` refs, which only this process reads) as the bare IDs.
        """
        query = _AUDIT_FINISH_IF_RUNNING if only_if_running else _AUDIT_FINISH
        if error is not None:
            error = AuditText.of(render_refs(error, user=str, channel=str)).text
        with self._lock:
            self._db.execute(query, (decision, rule, outcome, duration, plan_hash, error, row_id))

    def audit_rows(self, *, user_id: str | None = None, limit: int = 20) -> list[AuditRow]:
        """The newest audit rows, optionally of one user."""
        query = f"SELECT {_AUDIT_COLUMNS} FROM audit"  # noqa: S608 - our own column names
        params: tuple[object, ...] = ()
        if user_id:
            query += " WHERE user_id = ?"
            params = (user_id,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id DESC LIMIT ?", (*params, limit)).fetchall()
        return [AuditRow(*row) for row in rows]

    def audit_export(self) -> Iterator[AuditRow]:
        """Every audit row, oldest first."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_AUDIT_COLUMNS} FROM audit ORDER BY id").fetchall()  # noqa: S608 - our own column names
        for row in rows:
            yield AuditRow(*row)
