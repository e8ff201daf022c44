"""The credits the index reads that no operation of this database stands for
(`db.credit_models.ChainCredit`): an order credited by an operation a restored backup never
saw, or by a brand calling the ledger itself. Worked out per chunk, in two look-ups: the
brands' rows, and the operations with the chunk's op ids."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ledger_api.chain.abi import Event
from ledger_api.db.credit_models import ChainCredit
from ledger_api.db.keys import exact, superset_of
from ledger_api.db.models import Brand, Operation, table_of
from ledger_api.domain import EarnKind
from ledger_api.domain.refs import ZERO_REF, engagement_key


class Credit(NamedTuple):
    """A credit the chain made: the brand's ledger id, the op id, the order reference as the
    gateway holds it (a purchase's bound `orderRef`, an engagement's key), where."""

    brand: int
    op_id: int
    order_ref: str
    tx_hash: str
    block_number: int


def earned_credit(
    event: Event, brand: int, op_id: int, kind: EarnKind, member: str, ref: str
) -> Credit | None:
    """The credit a `PointsEarned` made (`ref` its `orderRef`, 0x-hex), as the gateway holds
    its order: a purchase's reference, an engagement's key; None without a reference."""
    held = ref if kind is EarnKind.PURCHASE else engagement_key(kind, member, ref)
    if held is None or held == ZERO_REF:
        return None
    return Credit(brand, op_id, held, event.log.tx_hash, event.log.block_number)


@functools.cache
def _insert(dialect: str) -> Any:
    """Records a credit once (the first op id that credited the order stays)."""
    insert_: Any = sqlite_insert if dialect == "sqlite" else pg_insert
    return insert_(table_of(ChainCredit)).on_conflict_do_nothing(
        index_elements=["brand_id", "order_ref"]
    )


def record_foreign_credits(session: Session, credits: list[Credit]) -> int:
    """Records the credits among `credits` that no operation of the brand stands for (none
    with that op id and order reference); returns how many. A brand the gateway does not know
    has no orders to hold."""
    if not credits:
        return 0
    rows = session.execute(
        select(Brand.ledger_id, Brand.id).where(Brand.ledger_id.in_({c.brand for c in credits}))
    )
    brand_rows = {int(ledger_id): int(row_id) for ledger_id, row_id in rows if ledger_id}
    keys = [(brand_rows[c.brand], c.op_id, c.order_ref) for c in credits if c.brand in brand_rows]
    if not keys:
        return 0
    known: set[tuple[Any, ...]] = set()
    for start in range(0, len(keys), 400):
        part = keys[start : start + 400]
        found = session.execute(
            select(Operation.brand_id, Operation.op_id, Operation.order_ref).where(
                superset_of((Operation.brand_id, Operation.op_id, Operation.order_ref), part)
            )
        )
        known.update(tuple(row) for row in exact(found, part))
    foreign = [
        {
            "brand_id": brand_rows[c.brand],
            "order_ref": c.order_ref,
            "op_id": c.op_id,
            "tx_hash": c.tx_hash,
            "block_number": c.block_number,
        }
        for c in credits
        if c.brand in brand_rows and (brand_rows[c.brand], c.op_id, c.order_ref) not in known
    ]
    if foreign:
        connection = session.connection()
        connection.execute(_insert(connection.dialect.name), foreign)
    return len(foreign)
