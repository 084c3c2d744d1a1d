"""The audit rows the router writes: one when a request arrives, finished once it is answered."""

from __future__ import annotations

from bot.router.invocation import Invocation
from bot.store import Store


class AuditLog:
    """Starts and finishes audit rows in the store; a click that runs no command gets a row of its own."""

    def __init__(self, store: Store, default_host: str) -> None:
        self.store = store
        self.default_host = default_host

    def start(self, invocation: Invocation, host: str) -> int:
        """The row of a request, before anything is decided; its id is finished later."""
        text = invocation.text or f"(confirmation {invocation.plan_id or ''})"
        return self.store.audit_start(
            team_id=invocation.team_id,
            user_id=invocation.user_id,
            channel_id=invocation.channel_id,
            source=invocation.source,
            host=host,
            text=text,
        )

    def unanswered(
        self,
        row: int,
        outcome: str,
        *,
        duration: float = 0.0,
        error: str | None = None,
        only_if_running: bool = False,
    ) -> None:
        """Finish the row of a request the pipeline did not answer (busy, host down, timed out);
        `only_if_running` leaves a row the pipeline already finished as it is."""
        self.store.audit_finish(
            row,
            decision="none",
            rule="",
            outcome=outcome,
            duration=duration,
            error=error,
            only_if_running=only_if_running,
        )

    def click(
        self,
        clicker: Invocation,
        text: str,
        *,
        decision: str = "none",
        outcome: str = "ok",
        plan_hash: str | None = None,
    ) -> None:
        """An audit row for a click that runs no command (cancel, picking a container)."""
        host = clicker.host or self.default_host
        row = self.store.audit_start(
            team_id=clicker.team_id,
            user_id=clicker.user_id,
            channel_id=clicker.channel_id,
            source=clicker.source,
            host=host,
            text=text,
        )
        self.store.audit_finish(
            row, decision=decision, rule="click", outcome=outcome, duration=0.0, plan_hash=plan_hash
        )
