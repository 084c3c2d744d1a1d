"""One request path for every door: `Router.handle(Invocation) -> Reply`.

The router knows no Slack and formats no text. Its parts:

- `pipeline`: parse → authorize → gate → run → audit, each step returning a value;
- `authorize`: plan a step and ask the policy about that plan (no when in doubt), for runs and `can-i`;
- `confirmations`: pending plans (create, settle at the click, cancel);
- `builtins`: `help`, `whoami`, `can-i`, `audit`, `notify …`, answered as models;
- `dispatch`: the per-host bounded pools and the deadlines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.commands import CATALOG, Catalog
from bot.engine import Engine
from bot.models import Reply
from bot.policy import Policy
from bot.router.audit import AuditLog
from bot.router.authorize import Authorizer
from bot.router.builtins import Builtins, Notifications
from bot.router.confirmations import Confirmations
from bot.router.dispatch import MAX_GRACE_EXTENSION, Dispatcher
from bot.router.invocation import Invocation
from bot.router.pipeline import Pipeline
from bot.store import Store

__all__ = ["MAX_GRACE_EXTENSION", "Invocation", "Notifications", "Router"]


class Router:
    """Parses, authorizes and runs invocations against named Docker hosts: the parts, put together."""

    def __init__(
        self,
        engines: Sequence[Engine],
        catalog: Catalog = CATALOG,
        *,
        workers: int = 8,
        policy: Policy | None = None,
        store: Store | None = None,
        confirm_ttl: float = 300.0,
        own_container_id: str | None = None,
        notifications: Notifications | None = None,
    ) -> None:
        if not engines:
            raise ValueError("the router needs at least one Docker host")
        self.engines = {engine.name: engine for engine in engines}
        self.default_host = engines[0].name
        self.catalog = catalog
        self.policy = policy or Policy.default(catalog)
        if self.policy.catalog is not catalog:
            raise ValueError("the policy decides on another catalog than the router's: build it on the same")
        self.store = store or Store(":memory:")
        self.audit = AuditLog(self.store, self.default_host)
        authorizer = Authorizer(self.policy, own_container_id)
        self.confirmations = Confirmations(self.store, self.policy, self.audit, confirm_ttl)
        self.builtins = Builtins(catalog, authorizer, self.store, self.engines, notifications)
        self.pipeline = Pipeline(
            self.engines,
            self.default_host,
            catalog,
            authorizer=authorizer,
            confirmations=self.confirmations,
            builtins=self.builtins,
            audit=self.audit,
        )
        self.dispatcher = Dispatcher(
            engines,
            workers,
            where=self.pipeline.where,
            handle=lambda invocation, audit_id: self.handle(invocation, audit_id),  # noqa: PLW0108 - late-bound: what replaces router.handle runs
            audit=self.audit,
        )

    def handle(self, invocation: Invocation, audit_id: int | None = None) -> Reply:
        """Answer one invocation on the caller's thread and audit it; never raises for what a user types."""
        return self.pipeline.handle(invocation, audit_id)

    def dispatch(self, invocation: Invocation, timeout: float, deliver: Callable[[Reply], None]) -> None:
        """Run `invocation` on its host's pool and `deliver` its reply (or a timeout reply) exactly once."""
        self.dispatcher.dispatch(invocation, timeout, deliver)

    def handle_within(self, invocation: Invocation, timeout: float) -> Reply:
        """`dispatch` and wait: the reply, or a timeout reply after `timeout` seconds."""
        return self.dispatcher.handle_within(invocation, timeout)

    def background(self, job: Callable[[], None]) -> bool:
        """Run `job` on the background pool; False when that pool is full and the job was dropped."""
        return self.dispatcher.background(job)

    def cancel(self, plan_id: str, clicker: Invocation) -> bool:
        """Cancel a pending plan (its requester, or anyone for a plan awaiting approval); always audited."""
        return self.confirmations.cancel(plan_id, clicker)

    def note_click(
        self,
        clicker: Invocation,
        text: str,
        *,
        decision: str = "none",
        outcome: str = "ok",
        plan_hash: str | None = None,
    ) -> None:
        """An audit row for a click that runs no command (cancel, picking a container)."""
        self.audit.click(clicker, text, decision=decision, outcome=outcome, plan_hash=plan_hash)

    def close(self) -> None:
        """Stop the worker pools without waiting for hung commands."""
        self.dispatcher.close()
