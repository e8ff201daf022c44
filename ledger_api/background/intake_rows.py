"""The rows and statements of one intake group (`intake._Batch`): a brand's row as accepting
needs it, a brand's daily mint counter, and the group's statements built once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update

from ledger_api.db.keys import HELD
from ledger_api.db.models import Brand, IdempotencyRecord, MintCounter, Operation, table_of
from ledger_api.domain.ids import BrandRowId, LedgerBrandId

_BRANDS, _COUNTERS = table_of(Brand), table_of(MintCounter)
_OPERATIONS, _RECORDS = table_of(Operation), table_of(IdempotencyRecord)

# A group's statements, built once: under the writer lock, building a statement per group
# cost more than SQLite's running it (issue 15). Run on the transaction's connection.
BRAND_FOR_UPDATE = (
    select(_BRANDS.c.ledger_id, _BRANDS.c.status, _BRANDS.c.next_op_id, _BRANDS.c.daily_cap_points)
    .where(_BRANDS.c.id == bindparam("brand_id"))
    .with_for_update()
)
COUNTER_FOR_UPDATE = (
    select(_COUNTERS.c.points)
    .where(_COUNTERS.c.brand_id == bindparam("brand_id"), _COUNTERS.c.day == bindparam("day"))
    .with_for_update()
)
NEXT_OP_ID = (
    update(_BRANDS).where(_BRANDS.c.id == bindparam("row")).values(next_op_id=bindparam("next"))
)
COUNTER_POINTS = (
    update(_COUNTERS)
    .where(_COUNTERS.c.brand_id == bindparam("brand"), _COUNTERS.c.day == bindparam("on"))
    .values(points=bindparam("sum"))
)
INSERT_OPERATIONS, INSERT_RECORDS, INSERT_COUNTERS = (
    insert(_OPERATIONS),
    insert(_RECORDS),
    insert(_COUNTERS),
)
NONCE_TAKEN = select(_OPERATIONS.c.id).where(
    _OPERATIONS.c.member == bindparam("member"),
    _OPERATIONS.c.nonce_domain == bindparam("domain"),
    _OPERATIONS.c.member_nonce == bindparam("nonce"),
    HELD,  # the partial index's condition
)


@dataclass(slots=True)
class BrandRow:
    """What accepting needs of a brand (read FOR UPDATE: `next_op_id` is handed out here)."""

    row_id: BrandRowId
    ledger_brand_id: LedgerBrandId | None
    status: str
    daily_cap_points: int | None  # the chain's (`Brand.daily_cap_points`); None: not known yet
    next_op_id: int
    first_op_id: int


@dataclass(slots=True)
class CounterRow:
    brand_row_id: BrandRowId
    day: str
    points: int
    stored: bool  # the row exists (else it is inserted; a concurrent insert retries the group)
    first_points: int
