"""Credits the chain made that no operation of this database stands for (`chain_credits`):
the index records them as it reads them, the intake's look-ups hold their orders, and an
order's failed op id that the chain gave another order is not carried again. SQLite and
PostgreSQL; `tests/api/background/sender/test_restore.py` runs the restore end to end."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from support.rows import add_brand, queued_earn

from ledger_api.background.drafts import Draft
from ledger_api.background.indexer.credits import Credit, record_foreign_credits
from ledger_api.background.lookups import look_up
from ledger_api.db import Database
from ledger_api.db.credit_models import ChainCredit
from ledger_api.domain import OpKind, OpStatus
from ledger_api.domain.ids import BrandRowId
from ledger_api.model.payloads import EarnPayload

STAMP = datetime(2026, 12, 6, tzinfo=UTC)
MEMBER = "0x" + "ab" * 20


def ref(n: int) -> str:
    return "0x" + f"{n:064x}"


def draft(brand_row: int, order: str) -> Draft:
    payload = EarnPayload(
        member=MEMBER, earn_kind=0, multiplier_pct=100, amount_cents=100, order_ref=order
    )
    return Draft(
        scope=f"brand:{brand_row}",
        idempotency_key=order,
        request_hash="h",
        kind=OpKind.EARN,
        brand_row_id=BrandRowId(brand_row),
        payload=payload,
        member=MEMBER,
        points=10,
        order_ref=order,
    )


def test_credits_without_an_operation_are_recorded_and_hold_their_orders(db: Database) -> None:
    with db.write() as session:
        row = add_brand(session, "Restored", "RES", ledger_id=3).id
        session.add(queued_earn(row, 0, STAMP, order_ref=ref(1)))  # op id 1, order 1: ours
        # op id 7 failed (`operation_used`) and gave order 2 back: a restored backup's id
        failed = queued_earn(row, 6, STAMP, order_ref=ref(2), status=OpStatus.FAILED)
        failed.keys_released_at = STAMP
        session.add(failed)
        # op id 9 failed and gave order 4 back: the chain never used 9
        other = queued_earn(row, 8, STAMP, order_ref=ref(4), status=OpStatus.FAILED)
        other.keys_released_at = STAMP
        session.add(other)
    with db.write() as session:
        recorded = record_foreign_credits(
            session,
            [
                Credit(3, 1, ref(1), "0x" + "01" * 32, 10),  # ours: not recorded
                Credit(3, 7, ref(3), "0x" + "07" * 32, 11),  # order 3, by the lost op id 7
                Credit(3, 8, ref(5), "0x" + "08" * 32, 12),  # order 5, by a brand's own call
                Credit(9, 1, ref(6), "0x" + "09" * 32, 12),  # a brand the gateway does not know
                Credit(3, 2**64 - 1, ref(7), "0x" + "0a" * 32, 13),  # a brand's own id, past ours
                Credit(3, 4_000, ref(8), "0x" + "0b" * 32, 14),  # far from the others: own range
            ],
        )
    assert recorded == 4
    with db.read() as session:
        rows = session.execute(select(ChainCredit.order_ref, ChainCredit.op_id)).all()
        assert sorted((r, int(o)) for r, o in rows) == [
            (ref(3), 7),
            (ref(5), 8),
            (ref(7), 2**64 - 1),
            (ref(8), 4_000),
        ]
        known = look_up([draft(row, ref(n)) for n in (1, 2, 3, 4, 5)], session)
    brand = BrandRowId(row)
    assert known.orders[(brand, ref(1))] == "op_0"
    assert known.orders[(brand, ref(3))] == "chain-credit " + "0x" + "07" * 32 + " 7"
    assert known.orders[(brand, ref(5))].startswith("chain-credit ")
    assert (brand, ref(2)) not in known.orders and (brand, ref(4)) not in known.orders
    # order 2's op id 7 credited order 3 on chain: its retry takes a new id; order 4 keeps 9
    assert known.released == {(brand, ref(4)): 9}
    error = draft(row, ref(3)).duplicate(known.orders[(brand, ref(3))])
    assert (error.code, error.details) == (
        "duplicate_order",
        {"operation_id": None, "tx_hash": "0x" + "07" * 32, "op_id": 7},
    )
