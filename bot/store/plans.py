"""Pending plans (awaiting their Confirm or Approve click: single-use, expiring, bound to the requester) and
the rendered pages of long replies (◀ Prev / Next ▶ show them; nothing runs again)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bot.store.audit import AuditText
from bot.store.db import Tables, new_token

# The pages of a reply live as long as the response_url that posted them (30 minutes): past that the
# answer is stale, and a page click says so instead of showing an old listing.
PAGES_TTL = 1800.0
PLAN_KEPT_AFTER = 3600.0  # seconds a pending plan stays after it expired (its raw text goes with it)


@dataclass(frozen=True, slots=True)
class PendingPlan:
    """A plan shown with Confirm (or Approve) buttons, waiting for its one click."""

    id: str
    team_id: str
    user_id: str
    channel_id: str
    host: str
    text: str
    plan_hash: str
    approval: str
    groups: str
    created_at: float
    expires_at: float
    state: str
    decided_by: str | None = None


@dataclass(frozen=True, slots=True)
class StoredReply:
    """The rendered pages of one long reply, for its ◀ Prev / Next ▶ buttons (nothing is run again).

    `pages` are the door's own serialized messages, opaque here; `text` is the command (masked, capped)
    for the audit rows of page clicks; `private` says the reply was answered only to its requester.
    """

    id: str
    team_id: str
    channel_id: str
    user_id: str
    text: str
    private: bool
    pages: tuple[str, ...]
    created_at: float
    expires_at: float


class Plans(Tables):
    """The pending_plans and reply_pages tables (a part of `Store`)."""

    def _sweep_plans(self, now: float) -> None:
        """Forget expired pages, and plans an hour after they expired; lock held."""
        self._db.execute("DELETE FROM reply_pages WHERE expires_at <= ?", (now,))
        # settled or expired plans hold the raw command text: kept an hour for "already used" answers
        self._db.execute("DELETE FROM pending_plans WHERE expires_at < ?", (now - PLAN_KEPT_AFTER,))

    # ---- stored pages of long replies ----------------------------------------------------------------

    def save_pages(
        self,
        reply_id: str,
        *,
        team_id: str,
        channel_id: str,
        user_id: str,
        text: str,
        private: bool,
        pages: Sequence[str],
        ttl: float = PAGES_TTL,
        now: float | None = None,
    ) -> StoredReply:
        """Keep the rendered pages of a reply under `reply_id` (from `new_token`) for `ttl` seconds."""
        now = time.time() if now is None else now
        stored = StoredReply(
            id=reply_id,
            team_id=team_id,
            channel_id=channel_id,
            user_id=user_id,
            text=AuditText.of(text).text,
            private=private,
            pages=tuple(pages),
            created_at=now,
            expires_at=now + ttl,
        )
        row = (
            stored.id,
            stored.team_id,
            stored.channel_id,
            stored.user_id,
            stored.text,
            int(stored.private),
            json.dumps(list(stored.pages)),
            stored.created_at,
            stored.expires_at,
        )
        with self._lock:
            self._db.execute("INSERT INTO reply_pages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            self._prune(now)
        return stored

    def stored_reply(self, reply_id: str, now: float | None = None) -> StoredReply | None:
        """The stored pages under `reply_id`; None when there are none or they have expired."""
        now = time.time() if now is None else now
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM reply_pages WHERE id = ? AND expires_at > ?", (reply_id, now)
            ).fetchone()
        if row is None:
            return None
        pages = json.loads(row[6])
        return StoredReply(
            id=row[0],
            team_id=row[1],
            channel_id=row[2],
            user_id=row[3],
            text=row[4],
            private=bool(row[5]),
            pages=tuple(str(page) for page in pages),
            created_at=row[7],
            expires_at=row[8],
        )

    # ---- pending plans -------------------------------------------------------------------------------

    def create_pending(
        self,
        *,
        team_id: str,
        user_id: str,
        channel_id: str,
        host: str,
        text: str,
        plan_hash: str,
        approval: str,
        groups: str = "",
        ttl: float,
        now: float | None = None,
    ) -> PendingPlan:
        """Store a plan awaiting its click; its id is an unguessable token."""
        now = time.time() if now is None else now
        plan = PendingPlan(
            id=new_token(),
            team_id=team_id,
            user_id=user_id,
            channel_id=channel_id,
            host=host,
            text=text,
            plan_hash=plan_hash,
            approval=approval,
            groups=groups,
            created_at=now,
            expires_at=now + ttl,
            state="pending",
        )
        columns = [getattr(plan, name) for name in PendingPlan.__slots__]
        with self._lock:
            self._db.execute(f"INSERT INTO pending_plans VALUES ({', '.join('?' * len(columns))})", columns)  # noqa: S608 - placeholders only
        return plan

    def pending(self, plan_id: str) -> PendingPlan | None:
        """The pending plan with this id, in whatever state it is."""
        with self._lock:
            row = self._db.execute("SELECT * FROM pending_plans WHERE id = ?", (plan_id,)).fetchone()
        return PendingPlan(*row) if row else None

    def settle_pending(self, plan_id: str, state: str, decided_by: str, now: float | None = None) -> bool:
        """Move a pending, unexpired plan to `state` (used, cancelled); False if anyone got there first."""
        now = time.time() if now is None else now
        with self._lock:
            cursor = self._db.execute(
                "UPDATE pending_plans SET state = ?, decided_by = ? "
                "WHERE id = ? AND state = 'pending' AND expires_at > ?",
                (state, decided_by, plan_id, now),
            )
            return cursor.rowcount == 1
