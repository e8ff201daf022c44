"""The admin's queue while the ledger is paused (`SlotStore.next_groups`, `pause.PauseWatch`),
on SQLite and PostgreSQL.

Two trials of the gateway's pause: held operations at the head of the admin's queue kept a
suspension behind them from being sent (a turn plans the queue's first groups), and a pause
asked behind 80 routine admin operations reached the chain after all of them (11.6 s with 2 s
blocks). The switch now goes first, and a paused ledger's turns plan only what it still takes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from eth_account import Account
from support.rows import queued_earn

from ledger_api.background.sender.pause import RUNNABLE_WHILE_PAUSED, STOPPED_BY_PAUSE
from ledger_api.background.sender.slots import SlotStore
from ledger_api.db import Database
from ledger_api.db.models import Signer
from ledger_api.domain import OpKind

STAMP = datetime(2026, 12, 5, tzinfo=UTC)


def _admin_queue(db: Database, kinds: list[OpKind]) -> SlotStore:
    """The admin's queue holding one operation of each of `kinds`, in that order (`op_{n}`)."""
    with db.write() as session:
        signer = Signer(brand_id=None, address=Account.create().address)
        session.add(signer)
        session.flush()
        session.add_all(
            queued_earn(None, n, STAMP, kind=kind, op_id=None)
            for n, kind in enumerate(kinds)  # type: ignore[arg-type]
        )
        signer_id = signer.id
    return SlotStore(
        db, signer_id=signer_id, brand_row_id=None, account=Account.create(), chain_id=31337
    )


def _planned(store: SlotStore, room: int, kinds: frozenset[str] | None = None) -> list[str]:
    return [op.uid for group in store.next_groups(room, 10, kinds) for op in group]


def test_the_pause_goes_before_routine_admin_work(db: Database) -> None:
    routine = [OpKind.SET_POINT_VALUE] * 20
    store = _admin_queue(db, [*routine, OpKind.SET_PAUSE, OpKind.SET_POINT_VALUE])
    assert _planned(store, 4) == ["op_20", "op_0", "op_1", "op_2"]
    assert _planned(store, 1) == ["op_20"]


def test_a_paused_ledgers_turn_plans_what_it_still_takes_past_what_it_holds(
    db: Database,
) -> None:
    held = [OpKind.SET_POINT_VALUE, OpKind.SET_TIER_RULE, OpKind.TIER_REVIEW_BATCH] * 6
    runnable = [OpKind.SUSPEND_BRAND, OpKind.SET_RETURN_WINDOW, OpKind.ONBOARD_BRAND]
    store = _admin_queue(db, [*held, *runnable, OpKind.SET_PAUSE])
    everything = _planned(store, 16)
    assert everything[0] == "op_21" and everything[1:] == [f"op_{n}" for n in range(15)]
    assert _planned(store, 16, RUNNABLE_WHILE_PAUSED) == ["op_21", "op_18", "op_19", "op_20"]
    assert store.queued_count(None, STOPPED_BY_PAUSE) == len(held)
