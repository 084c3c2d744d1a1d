"""SQLite state in one file (`CHATOPS_STATE_PATH`): what must survive a restart or be shared by threads.

`db` owns the file: how it is opened (0600, WAL), its one schema and its migrations. Beside it, one module
per concern: `requests` (Slack requests and deliveries already taken: a replay or redelivery runs nothing),
`plans` (pending plans awaiting their click, the pages of long replies), `audit` (every decision),
`notify` (mutes; the watchers' cursor, rule memory, states and unsent notifications) and `outbox` (the
persistent queues of Slack messages). `Store` gathers the first ones on one connection.
"""

from bot.store.audit import (
    AUDIT_MASKED_MAX_CHARS,
    AUDIT_TEXT_MAX_BYTES,
    AuditRow,
    AuditText,
    clip_utf8,
)
from bot.store.db import STATE_FILE_MODE, IsolationLevel, connect, new_token, open_state_db
from bot.store.plans import PAGES_TTL, PLAN_KEPT_AFTER, PendingPlan, StoredReply
from bot.store.requests import DELIVERY_WINDOW, REPLAY_WINDOW
from bot.store.state import PRUNE_EVERY, Store

__all__ = [
    "AUDIT_MASKED_MAX_CHARS",
    "AUDIT_TEXT_MAX_BYTES",
    "DELIVERY_WINDOW",
    "PAGES_TTL",
    "PLAN_KEPT_AFTER",
    "PRUNE_EVERY",
    "REPLAY_WINDOW",
    "STATE_FILE_MODE",
    "AuditRow",
    "AuditText",
    "IsolationLevel",
    "PendingPlan",
    "Store",
    "StoredReply",
    "clip_utf8",
    "connect",
    "new_token",
    "open_state_db",
]
