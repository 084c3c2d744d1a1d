"""Pending plans: created when a step asks to confirm (or a second person to approve), settled by the click
that runs exactly that plan, or cancelled. A click is re-authorized as the requester, at the click."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence

from bot.errors import Denied, NotFound
from bot.mentions import user_ref
from bot.models import ConfirmationResult, Plan
from bot.policy import Policy
from bot.router.audit import AuditLog
from bot.router.invocation import Invocation
from bot.store import PendingPlan, Store


class Confirmations:
    """The plans waiting for a click, kept in the store for `ttl` seconds."""

    def __init__(self, store: Store, policy: Policy, audit: AuditLog, ttl: float = 300.0) -> None:
        self.store = store
        self.policy = policy
        self.audit = audit
        self.ttl = ttl

    def claim(self, clicker: Invocation) -> PendingPlan:
        """The pending plan a click names, if this clicker may settle it; otherwise a clear refusal."""
        pending = self.store.pending(clicker.plan_id or "")
        if pending is None:
            raise NotFound("no such plan: it may belong to another bot or have been cleaned up")
        if pending.state != "pending" or pending.expires_at <= time.time():
            state = "expired" if pending.state == "pending" else f"already {pending.state}"
            raise Denied(f"this plan is {state}; nothing ran. Run the command again for a fresh plan.")
        if pending.approval == "two-person":
            if clicker.user_id == pending.user_id:
                raise Denied("you cannot approve your own request: a second person must approve it")
            if not self.policy.can_approve(clicker.principal, pending.host):
                raise Denied(
                    f'approving needs the "approve" right on host {pending.host}; you do not have it'
                )
        elif clicker.user_id != pending.user_id:
            raise Denied(f"only {user_ref(pending.user_id)} can confirm this plan; nothing ran")
        return pending

    @staticmethod
    def as_requested(clicker: Invocation, pending: PendingPlan) -> Invocation:
        """The requester's own invocation, re-authorized at the click; the clicker is the confirmer."""
        return Invocation(
            text=pending.text,
            user_id=pending.user_id,
            channel_id=pending.channel_id,
            team_id=pending.team_id,
            host=pending.host,
            source=clicker.source,
            groups=frozenset(g for g in pending.groups.split(",") if g),
            # the door said whether the click came from a DM; the plan's own channel is that DM only if the
            # click came from there (a click elsewhere is not taken for a DM: deny in doubt)
            is_dm=clicker.is_dm and clicker.channel_id == pending.channel_id,
            # only the local shell sets local_admin (never a Slack door), and only its own plan keeps it
            local_admin=clicker.local_admin and clicker.user_id == pending.user_id,
            plan_id=pending.id,
            confirmed_by=clicker.user_id,
            progress=clicker.progress,
        )

    def gate(
        self,
        invocation: Invocation,
        *,
        shown: tuple[Plan, ...],
        digest: str,
        host: str,
        needs: bool,
        approval: str,
        pending: PendingPlan | None,
    ) -> ConfirmationResult | None:
        """None when the steps may run now; otherwise the plan to confirm (and nothing has run). A click
        runs only the very plan it was shown, under the approval that plan asked for."""
        if pending is not None:
            if pending.plan_hash != digest or pending.approval != approval:
                return self.create(invocation, shown, digest, host, approval, changed=True)
            # the clicker (a second person for an approval; the requester's own click otherwise)
            settled_by = invocation.confirmed_by or invocation.user_id
            if not self.store.settle_pending(pending.id, "used", settled_by):
                raise Denied("this plan was already confirmed, cancelled or has expired; nothing ran")
            return None
        if not needs and approval == "none":
            return None
        if invocation.assume_yes and approval == "none":
            return None
        return self.create(invocation, shown, digest, host, approval)

    def create(
        self,
        invocation: Invocation,
        plans: tuple[Plan, ...],
        digest: str,
        host: str,
        approval: str,
        *,
        changed: bool = False,
    ) -> ConfirmationResult:
        """Store a pending plan for the requester and say what it will do."""
        stored = self.store.create_pending(
            team_id=invocation.team_id,
            user_id=invocation.user_id,
            channel_id=invocation.channel_id,
            host=host,
            text=invocation.text,
            plan_hash=digest,
            approval=approval,
            groups=",".join(sorted(invocation.groups)),
            ttl=self.ttl,
        )
        return ConfirmationResult(
            plans=plans,
            token=stored.id,
            expires_at=stored.expires_at,
            requester=invocation.user_id,
            approval=approval,
            changed=changed,
        )

    def cancel(self, plan_id: str, clicker: Invocation) -> bool:
        """Cancel a pending plan (its requester, or anyone for a plan awaiting approval); always audited."""
        pending = self.store.pending(plan_id)
        allowed = pending is not None and (pending.approval != "none" or pending.user_id == clicker.user_id)
        done = allowed and self.store.settle_pending(plan_id, "cancelled", clicker.user_id)
        self.audit.click(
            clicker,
            f"cancel {pending.text if pending else '(unknown plan)'}",
            decision="allowed" if allowed else "denied",
            outcome="cancelled" if done else "refused",
            plan_hash=pending.plan_hash if pending else None,
        )
        return done


def chain_digest(plans: Sequence[Plan]) -> str:
    """The hash a click must match: every plan of the chain, in order."""
    return hashlib.sha256("|".join(plan.digest() for plan in plans).encode()).hexdigest()
