"""The slot store's write statements, built once: the signer's turn at SQLite's one writer lock
runs them on every cycle that sends or settles (a statement built and run through the ORM
session costs several times one prebuilt and run on the transaction's connection)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, exists, insert, or_, select, update
from sqlalchemy.orm import Session

from ledger_api.chain.port import Receipt
from ledger_api.db.keys import HELD
from ledger_api.db.models import Operation, Signer, TxAttempt, TxSlot, table_of
from ledger_api.domain import OpStatus, SlotStatus

log = logging.getLogger(__name__)
OPERATIONS = table_of(Operation)
SLOTS = table_of(TxSlot)
ATTEMPTS = table_of(TxAttempt)
SIGNERS = table_of(Signer)
# store_new's statements, built once (it runs them on every cycle that sends)
NEXT_NONCE = select(SIGNERS.c.next_nonce).where(SIGNERS.c.id == bindparam("signer_id"))
NEXT_NONCE_FOR_UPDATE = NEXT_NONCE.with_for_update()
SET_NEXT_NONCE = (
    update(SIGNERS)
    .where(SIGNERS.c.id == bindparam("signer_id"))
    .values(next_nonce=bindparam("next_nonce"))
)
QUEUED_AMONG = select(OPERATIONS.c.id).where(
    OPERATIONS.c.id.in_(bindparam("ids", expanding=True)),
    OPERATIONS.c.status == OpStatus.QUEUED,
)
NEW_SLOT = insert(SLOTS)
NEW_ATTEMPT = insert(ATTEMPTS)
SETTLE_BARE = (
    update(SLOTS)
    .where(SLOTS.c.id == bindparam("slot_id"))
    .values(status=bindparam("status"), updated_at=bindparam("updated_at"))
)
SETTLE_MINED = SETTLE_BARE.values(
    mined_tx_hash=bindparam("mined_tx_hash"),
    block_number=bindparam("block_number"),
    block_hash=bindparam("block_hash"),
    receipt_status=bindparam("receipt_status"),
    gas_used=bindparam("gas_used"),
)
CANCELLING = update(SLOTS).where(SLOTS.c.id == bindparam("slot_id")).values(cancelling=True)
SUBMITTED = (
    update(OPERATIONS)
    .where(OPERATIONS.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        status=OpStatus.SUBMITTED,
        slot_id=bindparam("slot_id"),
        tx_hash=bindparam("tx_hash"),
        attempts=OPERATIONS.c.attempts + 1,
        updated_at=bindparam("updated_at"),
    )
)


def insert_new(connection: Connection, row: TxSlot | TxAttempt) -> int:
    """Inserts a new slot or attempt built as an ORM object (the values set on it; the
    columns' defaults for the rest); returns its id."""
    table: Table = row.__table__  # type: ignore[assignment]
    values = {
        column.key: value
        for column in table.columns
        if (value := getattr(row, column.key, None)) is not None
    }
    key = connection.execute(NEW_SLOT if table is SLOTS else NEW_ATTEMPT, values)
    assert key.inserted_primary_key is not None
    return int(key.inserted_primary_key[0])


#: the settler's per-operation outcome (SET from the rows' keys), built once like the rest
UPDATE_OPERATION = update(OPERATIONS).where(OPERATIONS.c.id == bindparam("row_id"))


def update_operations(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE operations SET ... WHERE id = row["id"], one statement per set of columns
    executed many times (on the session's connection: the ORM's bulk-update path costs more
    than the statement). Rows name different columns (a failure also writes
    `keys_released_at`): each set of columns is its own statement, so that the others' never
    names a column it does not change (SQLite rewrites every index over a named column)."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        shapes.setdefault(tuple(r), []).append(
            {**{k: v for k, v in r.items() if k != "id"}, "row_id": r["id"]}
        )
    connection = session.connection()
    for params in shapes.values():
        connection.execute(UPDATE_OPERATION, params)


def settle_slots(
    session: Session, slots: Sequence[tuple[int, SlotStatus, Receipt | None]], now: datetime
) -> None:
    """Each (slot id, new status, its receipt or None) written: the status, and the receipt's
    block, hash, status and gas when there is one (a superseded slot keeps what it held). One
    prebuilt statement per shape, executed many times, on the session's connection."""
    mined = [
        {
            "slot_id": slot_id,
            "status": status,
            "mined_tx_hash": receipt.tx_hash,
            "block_number": receipt.block_number,
            "block_hash": receipt.block_hash,
            "receipt_status": receipt.status,
            "gas_used": receipt.gas_used,
            "updated_at": now,
        }
        for slot_id, status, receipt in slots
        if receipt is not None
    ]
    bare = [
        {"slot_id": slot_id, "status": status, "updated_at": now}
        for slot_id, status, receipt in slots
        if receipt is None
    ]
    connection = session.connection()
    if mined:
        connection.execute(SETTLE_MINED, mined)
    if bare:
        connection.execute(SETTLE_BARE, bare)


def hold_again(session: Session, slot_ids: Sequence[int]) -> None:
    """The reopened operations that had failed hold their nonce and order again, each one
    unless a later operation took it meanwhile: that one keeps it, for now. Both signed
    transactions go out again; the ledger applies at most one of them: of two with one member
    nonce, the first; of two of one order, the first with their shared op id (a retry of an
    order whose earn failed carries its op id, `intake`). The earn that applies takes its order
    back then (`take_back`)."""
    for op in _key_rows(session, Operation.slot_id.in_(slot_ids)):
        _hold(session, op)


def take_back(session: Session, op_ids: Sequence[int], now: datetime) -> None:
    """Reopened operations the chain applied after all, whose nonce or order a later
    operation took meanwhile (`hold_again`), hold it again: a later earn of the order with
    the same op id cannot apply any more (the ledger's op-id bitmap) and gives it back."""
    for op in _key_rows(session, Operation.id.in_(op_ids)):
        if op.order_ref is not None and op.op_id is not None:
            session.execute(
                update(Operation)
                .where(
                    HELD,
                    Operation.brand_id == op.brand_id,
                    Operation.order_ref == op.order_ref,
                    Operation.op_id == op.op_id,
                    Operation.id != op.id,
                )
                .values(keys_released_at=now)
            )
        _hold(session, op)


def _key_rows(session: Session, where: Any) -> Sequence[Any]:
    """The released operations among `where`, with their keys (order, member nonce)."""
    return session.execute(
        select(
            Operation.id,
            Operation.uid,
            Operation.brand_id,
            Operation.order_ref,
            Operation.op_id,
            Operation.member,
            Operation.nonce_domain,
            Operation.member_nonce,
        ).where(where, Operation.keys_released_at.is_not(None))
    ).all()


def _hold(session: Session, op: Any) -> None:
    """`op` holds its order and member nonce again, unless another operation holds one."""
    taken = []
    if op.order_ref is not None:
        taken.append(
            exists().where(
                HELD, Operation.brand_id == op.brand_id, Operation.order_ref == op.order_ref
            )
        )
    if op.member_nonce is not None:
        taken.append(
            exists().where(
                HELD,
                Operation.member == op.member,
                Operation.nonce_domain == op.nonce_domain,
                Operation.member_nonce == op.member_nonce,
            )
        )
    if taken and session.scalar(select(or_(*taken))):
        log.warning(
            "operation %s reopened by a forgotten block: a later operation took its order or "
            "member nonce meanwhile and keeps it; both are sent, and of two with one op id (a "
            "retried order) or one member nonce the ledger applies one, which then holds it",
            op.uid,
        )
        return
    session.execute(update(Operation).where(Operation.id == op.id).values(keys_released_at=None))
