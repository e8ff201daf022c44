"""The credits the index reads that no operation of this database stands for
(`db.credit_models.ChainCredit`): an order credited by an operation a restored backup never
saw, or by a brand calling the ledger itself. Worked out per chunk, in two look-ups: the
brands' rows, and the operations with the chunk's op ids."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ledger_api.chain.abi import Event
from ledger_api.db.credit_models import ChainCredit
from ledger_api.db.models import Brand, Operation
from ledger_api.domain import EarnKind
from ledger_api.domain.refs import ZERO_REF, engagement_key

from .bulk_sql import insert_new


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


#: op ids a gateway hands out stay below this (`state.OP_ID_FOLLOW_LIMIT`): from it on an op id
#: is a brand's own choice, calling the ledger itself, never an operation's here
OWN_IDS_BELOW = 2**62
#: a range of op ids looked up at once spans at most this many ids per credit in it: a
#: gateway's ids are dense, so a chunk's earns of a brand fall in one or a few short ranges
_SPREAD = 4

_OWN = select(Operation.op_id, Operation.order_ref).where(
    Operation.brand_id == bindparam("brand"),
    Operation.op_id >= bindparam("low"),
    Operation.op_id <= bindparam("high"),
)


def record_foreign_credits(session: Session, credits: list[Credit]) -> int:
    """Records the credits among `credits` that no operation of the brand stands for (none
    with that op id and order reference); returns how many. A brand the gateway does not know
    has no orders to hold. The operations are read by ranges of op ids
    (`ix_operations_brand_op_id`): per brand, sorted ids cut where the gap grows (about 2 us an
    earn, where a look-up per key cost 6)."""
    if not credits:
        return 0
    rows = session.execute(
        select(Brand.ledger_id, Brand.id).where(Brand.ledger_id.in_({c.brand for c in credits}))
    )
    brand_rows = {int(ledger_id): int(row_id) for ledger_id, row_id in rows if ledger_id}
    known: set[tuple[int, int, str]] = set()
    ids: dict[int, list[int]] = {}
    for c in credits:
        if c.brand in brand_rows and c.op_id < OWN_IDS_BELOW:
            ids.setdefault(brand_rows[c.brand], []).append(c.op_id)
    connection = session.connection()
    for row_id, wanted in ids.items():
        for low, high in _ranges(sorted(set(wanted))):
            found = connection.execute(_OWN, {"brand": row_id, "low": low, "high": high})
            known.update((row_id, int(op_id), str(ref)) for op_id, ref in found if ref and op_id)
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
    # the first op id that credited an order stays
    insert_new(session, ChainCredit, foreign, ("brand_id", "order_ref"))
    return len(foreign)


def _ranges(ids: list[int]) -> list[tuple[int, int]]:
    """Sorted `ids` cut into ranges, each spanning at most `_SPREAD` ids per id in it."""
    ranges: list[tuple[int, int]] = []
    low = previous = ids[0]
    count = 1
    for op_id in ids[1:]:
        if op_id - low + 1 > _SPREAD * (count + 1):
            ranges.append((low, previous))
            low, count = op_id, 0
        previous, count = op_id, count + 1
    ranges.append((low, previous))
    return ranges
