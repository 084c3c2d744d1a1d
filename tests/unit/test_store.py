"""The SQLite store: single-use, expiring pending plans and the audit log."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from bot.store import Store


def _pending(store: Store, *, ttl: float = 300.0, now: float | None = None) -> str:
    return store.create_pending(
        team_id="T1",
        user_id="U1",
        channel_id="C1",
        host="local",
        text="rm web",
        plan_hash="abc",
        approval="none",
        groups="S1,S2",
        ttl=ttl,
        now=now,
    ).id


def test_pending_plan_is_single_use(tmp_path: Path) -> None:
    """A pending plan settles once; a second settle (double click, replayed payload) does nothing."""
    store = Store(tmp_path / "s.db")
    plan_id = _pending(store)
    assert store.settle_pending(plan_id, "used", "U1")
    assert not store.settle_pending(plan_id, "used", "U1")
    assert not store.settle_pending(plan_id, "cancelled", "U1")
    stored = store.pending(plan_id)
    assert stored is not None
    assert (stored.state, stored.decided_by, stored.groups) == ("used", "U1", "S1,S2")


def test_pending_plan_expires(tmp_path: Path) -> None:
    """An expired plan cannot be settled."""
    store = Store(tmp_path / "s.db")
    plan_id = _pending(store, ttl=10, now=time.time() - 11)
    assert not store.settle_pending(plan_id, "used", "U1")


def test_only_one_of_many_concurrent_clicks_wins(tmp_path: Path) -> None:
    """Twenty threads clicking the same Confirm at once: exactly one settles it."""
    store = Store(tmp_path / "s.db")
    plan_id = _pending(store)
    wins: list[bool] = []
    barrier = threading.Barrier(20)

    def click() -> None:
        barrier.wait()
        wins.append(store.settle_pending(plan_id, "used", "U1"))

    threads = [threading.Thread(target=click) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 1


def test_plan_ids_are_unguessable(tmp_path: Path) -> None:
    """Plan ids are long random tokens, all different."""
    store = Store(tmp_path / "s.db")
    ids = {_pending(store) for _ in range(50)}
    assert len(ids) == 50
    assert all(len(plan_id) >= 24 for plan_id in ids)


def test_audit_rows_record_decision_and_outcome(tmp_path: Path) -> None:
    """An audit row opens as running and is finished with decision, rule, outcome, duration and error."""
    store = Store(tmp_path / "s.db")
    row = store.audit_start(
        team_id="T1", user_id="U1", channel_id="C1", source="slack", host="local", text="ps"
    )
    store.audit_finish(row, decision="allowed", rule="default", outcome="ok", duration=0.2, plan_hash=None)
    other = store.audit_start(
        team_id="T1", user_id="U2", channel_id="C1", source="slack", host="local", text="rm x"
    )
    store.audit_finish(other, decision="denied", rule="r", outcome="denied", duration=0.1, error="Denied: …")
    store.audit_finish(other, decision="x", rule="x", outcome="timeout", duration=9, only_if_running=True)
    rows = store.audit_rows()
    assert [(r.user_id, r.decision, r.outcome) for r in rows] == [
        ("U2", "denied", "denied"),
        ("U1", "allowed", "ok"),
    ]
    assert [r.text for r in store.audit_rows(user_id="U1")] == ["ps"]
    assert [r.id for r in store.audit_export()] == [row, other]
    assert rows[0].as_dict()["error"] == "Denied: …"
