"""Look-ups by composite keys that both databases answer from an index.

SQLite 3.40 (the embedded default) answers `(a, b) IN (VALUES (?, ?), ...)` by scanning
the whole table (`SCAN idx_lots`, 114 ms for 400 keys at a million lots), and the gateway
looked rows up that way on every intake batch (idempotency records, order references) and
every indexed chunk (lots, pending positions): each got slower as the tables grew.
`superset_of` writes one `IN` per column instead, which SQLite and PostgreSQL both answer
from the composite index; `exact` keeps the rows whose leading values are one of the keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, literal, select
from sqlalchemy.orm import Session

from ledger_api.db.credit_models import ChainCredit
from ledger_api.db.models import Operation
from ledger_api.domain import DEPOSIT_STEP_KINDS, OPEN_OP_STATUSES, OpKind, OpStatus

R = TypeVar("R", bound=Sequence[Any])


def superset_of(columns: Sequence[Any], keys: Sequence[Sequence[Any]]) -> ColumnElement[bool]:
    """`columns[0] IN (...) AND columns[1] IN (...) ...`: every row whose key is in `keys`,
    and possibly rows that mix the values of different keys (`exact` drops them)."""
    return and_(
        *(
            column.in_(sorted({key[i] for key in keys}, key=repr))
            for i, column in enumerate(columns)
        )
    )


def exact(rows: Iterable[R], keys: Iterable[Sequence[Any]]) -> list[R]:
    """The rows whose first `len(key)` values are one of `keys`."""
    wanted = {tuple(key) for key in keys}
    width = len(next(iter(wanted))) if wanted else 0
    return [row for row in rows if tuple(row[:width]) in wanted]


# Conditions on an operation's status written into the SQL itself: SQLite uses a partial index
# only when the query implies its condition, which a bound parameter (`status IN (?, ?)`)
# never does (an order look-up once read every operation of the brand that way: 20 ms at
# 21,000 operations, growing with them).
NOT_FAILED = Operation.status != literal(OpStatus.FAILED.value, literal_execute=True)
#: open (queued or submitted): the condition of `ix_operations_member_open` and
#: `ix_operations_beneficiary_open`, word for word (`partial.OPEN_CONDITION`)
OPEN = Operation.status.in_([literal(status, literal_execute=True) for status in OPEN_OP_STATUSES])
#: a settlement deposit's step: the condition of `ix_operations_deposit_steps`, word for word
#: (`partial.DEPOSIT_STEP_CONDITION`)
DEPOSIT_STEP = Operation.kind.in_(
    [literal(kind, literal_execute=True) for kind in DEPOSIT_STEP_KINDS]
)
#: the operation holds its member's nonce and its order, as it does until it fails
#: (`Operation.keys_released_at`, which no other status change writes): the condition of
#: `uq_operations_member_nonce` and `uq_operations_brand_order` besides their keys
HELD = Operation.keys_released_at.is_(None)
#: an order a failure gave back: the condition of `ix_operations_released_orders` besides its
#: keys (`partial.RELEASED_CONDITION`; the keys' `IN` implies `order_ref IS NOT NULL`)
RELEASED = Operation.keys_released_at.is_not(None)


def credited_orders(session: Session, keys: Sequence[tuple[int | None, str]]) -> list[Any]:
    """(brand row id, order ref, uid) of the operations not failed among `keys` (and possibly
    rows mixing two keys' values: see `exact`)."""
    return list(
        session.execute(
            select(Operation.brand_id, Operation.order_ref, Operation.uid).where(
                superset_of((Operation.brand_id, Operation.order_ref), keys), HELD
            )
        )
    )


#: whether the chain made any credit with no operation behind it (`ChainCredit`): most
#: databases never hold one, and this costs about 15 us where the look-up by keys cost 160
ANY_CHAIN_CREDIT = select(literal(1)).select_from(ChainCredit).limit(1)


def chain_credits(session: Session, keys: Sequence[tuple[int | None, str]]) -> list[Any]:
    """(brand row id, order ref, tx hash, op id) of the credits among `keys` that the chain
    made with no operation behind them (`ChainCredit`: a restored backup's, a brand's own
    call; and possibly rows mixing two keys' values: see `exact`)."""
    return list(
        session.execute(
            select(
                ChainCredit.brand_id, ChainCredit.order_ref, ChainCredit.tx_hash, ChainCredit.op_id
            ).where(superset_of((ChainCredit.brand_id, ChainCredit.order_ref), keys))
        )
    )


def credits_by_op_id(session: Session, keys: Sequence[tuple[int, int]]) -> list[Any]:
    """(brand row id, op id, order ref) of the chain's credits without an operation among
    `keys` (brand row id, op id), by `ix_chain_credits_brand_op_id` (and possibly rows mixing
    two keys' values: see `exact`)."""
    return list(
        session.execute(
            select(ChainCredit.brand_id, ChainCredit.op_id, ChainCredit.order_ref).where(
                superset_of((ChainCredit.brand_id, ChainCredit.op_id), keys)
            )
        )
    )


def released_op_ids(session: Session, keys: Sequence[tuple[int | None, str]]) -> list[Any]:
    """(brand row id, order ref, op id) of the earns among `keys` whose failure gave their
    order back, newest last (and possibly rows mixing two keys' values: see `exact`). A retry
    of such an order carries its op id again (`intake`), so that the ledger's op-id bitmap
    applies at most one of them even if a chain that forgets the failure's block applies the
    failed one after all. No condition on the op id: `op_id IS NOT NULL` made SQLite range
    over the brand's every operation by `ix_operations_brand_op_id` instead of this lookup's
    partial index (the caller skips a missing op id)."""
    return list(
        session.execute(
            select(Operation.brand_id, Operation.order_ref, Operation.op_id)
            .where(
                superset_of((Operation.brand_id, Operation.order_ref), keys),
                RELEASED,
                Operation.kind == OpKind.EARN.value,
            )
            .order_by(Operation.id)
        )
    )
