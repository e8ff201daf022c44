"""The slot store: every SQL statement on a signer's nonce slots, attempts and queue.

A slot is one nonce of one signer; an attempt is one signed transaction for it (the
first, a fee bump, or a no-op that cancels it). `store_new` (new transactions and the
operations they carry) and `sign_and_store` (a bump, a cancel, a gap's no-op) are the only
places that sign, and each stores what it signed in one commit before anything is
broadcast.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from sqlalchemy import Connection, and_, func, select, update
from sqlalchemy.orm import Session

from ledger_api.chain.port import Receipt
from ledger_api.chain.signing import SignedTx, sign_transaction
from ledger_api.db import Database
from ledger_api.db.models import Operation, Signer, TxAttempt, TxSlot
from ledger_api.db.types import utcnow
from ledger_api.domain import (
    FINAL_OP_STATUSES,
    OPEN_SLOT_STATUSES,
    OpKind,
    OpStatus,
    SlotStatus,
)
from ledger_api.domain.ids import BrandRowId

from . import slot_rows
from .clock import Fees
from .debit_order import debit_waits, shut_brands
from .txplan import OP_COLUMNS, OpRecord

CANCEL_GAS = 21_000
#: the alliance's pause and unpause, planned first on the admin's queue (`next_groups`)
_SWITCH = Operation.kind == OpKind.SET_PAUSE.value


@dataclass(frozen=True, slots=True)
class Tx:
    """What a signed transaction carries (besides nonce and fees)."""

    to: str
    data: bytes
    value: int
    gas: int
    cancel: bool = False

    @staticmethod
    def noop(address: str) -> Tx:
        """A transfer of nothing to oneself: takes a nonce and applies nothing."""
        return Tx(address, b"", 0, CANCEL_GAS, cancel=True)

    @staticmethod
    def of_slot(slot: TxSlot) -> Tx:
        return Tx(slot.to_address, slot.calldata, slot.value_wei, slot.gas_limit)


def op_rows(session: Session, *where: Any, limit: int | None = None) -> list[OpRecord]:
    """Operations as plain rows of `OP_COLUMNS`, in id order. Run on the session's connection:
    the ORM's execution would load each row through its `instances` (a tenth of the signer's
    time when settling bulk imports), for rows it keeps no identity of."""
    query = select(*OP_COLUMNS).where(*where).order_by(Operation.id)
    if limit is not None:
        query = query.limit(limit)
    return cast(list[OpRecord], session.connection().execute(query).all())


class SlotStore:
    """One signer's slots, attempts and queued operations in the database."""

    def __init__(
        self,
        db: Database,
        *,
        signer_id: int,
        brand_row_id: BrandRowId | None,
        account: LocalAccount,
        chain_id: int,
    ) -> None:
        self.db = db
        self.signer_id = signer_id
        self.brand_row_id = brand_row_id
        self.account = account
        self.chain_id = chain_id

    # ------------------------------------------------------------------ slots

    def open_slots(self) -> list[TxSlot]:
        with self.db.read() as session:
            return list(
                session.scalars(
                    select(TxSlot)
                    .where(
                        TxSlot.signer_id == self.signer_id, TxSlot.status.in_(OPEN_SLOT_STATUSES)
                    )
                    .order_by(TxSlot.nonce)
                )
            )

    def attempts(self, slot_ids: Sequence[int]) -> dict[int, list[TxAttempt]]:
        with self.db.read() as session:
            rows = session.scalars(
                select(TxAttempt).where(TxAttempt.slot_id.in_(slot_ids)).order_by(TxAttempt.id)
            )
            found: dict[int, list[TxAttempt]] = {slot_id: [] for slot_id in slot_ids}
            for attempt in rows:
                found[attempt.slot_id].append(attempt)
            return found

    def set_slot(self, slot_id: int, **values: Any) -> None:
        with self.db.write() as session:
            slot = session.get_one(TxSlot, slot_id)
            for name, value in values.items():
                setattr(slot, name, value)

    def mark_mined(self, slot: TxSlot, receipt: Receipt) -> None:
        self.set_slot(
            slot.id,
            status=SlotStatus.MINED,
            mined_tx_hash=receipt.tx_hash,
            block_number=receipt.block_number,
            block_hash=receipt.block_hash,
            receipt_status=receipt.status,
            gas_used=receipt.gas_used,
        )

    def confirmed_newest_first(self, limit: int) -> list[tuple[int, int, int, str]]:
        """(slot id, nonce, block number, block hash) of the newest confirmed slots."""
        with self.db.read() as session:
            rows = session.execute(
                select(TxSlot.id, TxSlot.nonce, TxSlot.block_number, TxSlot.block_hash)
                .where(
                    TxSlot.signer_id == self.signer_id,
                    TxSlot.status == SlotStatus.CONFIRMED,
                    TxSlot.block_number.is_not(None),
                )
                .order_by(TxSlot.nonce.desc())
                .limit(limit)
            ).all()
            return [(r.id, r.nonce, r.block_number, r.block_hash) for r in rows]

    def reopen(self, slot_ids: Sequence[int]) -> int:
        """Confirmed slots whose block the chain no longer holds become open again (`mined`:
        tracking reads the receipt again, and sends the same bytes when there is none); their
        operations turn `submitted` again. Returns how many operations were reopened."""
        if not slot_ids:
            return 0
        now = utcnow()
        with self.db.write() as session:
            session.execute(
                update(TxSlot)
                .where(TxSlot.id.in_(slot_ids), TxSlot.status == SlotStatus.CONFIRMED)
                .values(status=SlotStatus.MINED)
            )
            reopened = session.execute(
                update(Operation)
                .where(
                    Operation.slot_id.in_(slot_ids),
                    Operation.status.in_(FINAL_OP_STATUSES),
                )
                .values(
                    status=OpStatus.SUBMITTED,
                    block_number=None,
                    result=None,
                    error_code=None,
                    error_message=None,
                    updated_at=now,
                )
            )
            slot_rows.hold_again(session, slot_ids)
            return int(getattr(reopened, "rowcount", 0) or 0)

    def missing_nonces(self, latest: int) -> list[int]:
        """Nonces from `latest` up to the signer's next one that have no slot."""
        with self.db.read() as session:
            signer = session.get_one(Signer, self.signer_id)
            assert signer.next_nonce is not None
            used = set(
                session.scalars(
                    select(TxSlot.nonce).where(
                        TxSlot.signer_id == self.signer_id,
                        and_(TxSlot.nonce >= latest, TxSlot.nonce < signer.next_nonce),
                    )
                )
            )
            return [n for n in range(latest, signer.next_nonce) if n not in used]

    # ------------------------------------------------------------ sign + store

    def sign_and_store(
        self,
        tx: Tx,
        fees: Fees,
        *,
        kind: str,
        slot: TxSlot | None = None,
        nonce: int | None = None,
    ) -> tuple[TxSlot, TxAttempt]:
        """Signs `tx` and stores it in one commit; returns (slot, attempt) to broadcast.

        - `slot` given: a new attempt for the slot's nonce (fee bump, or cancel).
        - `nonce` given: a new slot at that nonce (a gap the database allocated).
        New transactions of queued operations go through `store_new`.
        """
        assert (slot is None) != (nonce is None), "a slot or a nonce"
        now = utcnow()
        with self.db.write() as session:
            connection = session.connection()
            if slot is None:
                slot = _insert_slot(connection, self.signer_id, cast(int, nonce), kind, tx, now)
            elif tx.cancel:
                connection.execute(slot_rows.CANCELLING, {"slot_id": slot.id})
            signed = self._signed(slot.nonce, tx, fees)
            attempt = _insert_attempt(connection, slot.id, tx, signed, fees, now)
        return slot, attempt

    def store_new(
        self, txs: Sequence[tuple[Tx, str, Sequence[OpRecord]]], fees: Fees
    ) -> list[tuple[TxSlot, TxAttempt]]:
        """Signs each transaction (call, slot kind, the operations it carries) at the signer's
        next nonce and stores it, its operations turned `submitted`: all of them in one commit
        (one turn of SQLite's writer lock for all a cycle sends). Returns (slot, attempt) to
        broadcast, in nonce order; a transaction whose operations are no longer all queued
        is left out (changed under us: another process?), its operations tried next cycle.

        The signing (about a millisecond each) happens before the turn, at the nonces the
        signer's row names then; a transaction whose nonce turns out otherwise under the lock
        (one left out before it) is signed again there. Only what was signed at the nonce
        stored is ever stored or broadcast. The statements are prebuilt Core statements on the
        transaction's connection: this is the signer's turn at the lock on every cycle."""
        with self.db.read() as session:
            expected = session.connection().execute(
                slot_rows.NEXT_NONCE, {"signer_id": self.signer_id}
            )
            first = expected.scalar_one()
        assert first is not None, "the signer's nonce is set when its worker starts"
        ahead = {
            first + i: (tx, self._signed(first + i, tx, fees)) for i, (tx, _, _) in enumerate(txs)
        }
        stored: list[tuple[TxSlot, TxAttempt]] = []
        now = utcnow()
        with self.db.write() as session:
            connection = session.connection()
            nonce = connection.execute(
                slot_rows.NEXT_NONCE_FOR_UPDATE, {"signer_id": self.signer_id}
            ).scalar_one()
            assert nonce is not None
            for tx, kind, ops in txs:
                live = connection.execute(
                    slot_rows.QUEUED_AMONG, {"ids": [op.id for op in ops]}
                ).all()
                if len(live) != len(ops):
                    continue
                planned, signed = ahead.get(nonce, (None, None))
                if planned != tx or signed is None:  # another nonce than planned
                    signed = self._signed(nonce, tx, fees)
                slot = _insert_slot(connection, self.signer_id, nonce, kind, tx, now)
                attempt = _insert_attempt(connection, slot.id, tx, signed, fees, now)
                self._submitted(session, ops, slot.id, attempt.tx_hash)
                stored.append((slot, attempt))
                nonce += 1
            if stored:
                connection.execute(
                    slot_rows.SET_NEXT_NONCE, {"signer_id": self.signer_id, "next_nonce": nonce}
                )
        return stored

    def _signed(self, nonce: int, tx: Tx, fees: Fees) -> SignedTx:
        """`tx` signed at `nonce` with `fees`."""
        return sign_transaction(
            self.account,
            chain_id=self.chain_id,
            nonce=nonce,
            to=tx.to,
            data=tx.data,
            value=tx.value,
            gas=tx.gas,
            max_fee_wei=fees.max_fee_wei,
            priority_fee_wei=fees.priority_fee_wei,
        )

    @staticmethod
    def _submitted(session: Session, ops: Sequence[OpRecord], slot_id: int, tx_hash: str) -> None:
        """The operations turn `submitted` in the slot's transaction: one UPDATE for all of
        them (they share every new value, and each one's attempts go up by one), where one
        execution per operation cost the store a fifth of its turn for a batch of 200."""
        if not ops:
            return
        session.connection().execute(
            slot_rows.SUBMITTED,
            {
                "ids": [op.id for op in ops],
                "slot_id": slot_id,
                "tx_hash": tx_hash,
                "updated_at": utcnow(),
            },
        )

    # ------------------------------------------------------------------ queue

    def _queue_filter(self) -> Any:
        return (
            Operation.brand_id.is_(None)
            if self.brand_row_id is None
            else Operation.brand_id == self.brand_row_id
        )

    def _queued(self, kinds: Collection[str] | None) -> tuple[Any, ...]:
        """This signer's queued operations (of `kinds` only, unless None)."""
        where = (self._queue_filter(), Operation.status == OpStatus.QUEUED)
        return where if kinds is None else (*where, Operation.kind.in_(sorted(kinds)))

    def queued_count(self, limit: int | None, kinds: Collection[str] | None = None) -> int:
        """How many operations wait in this signer's queue (counted up to `limit`; of `kinds`
        only, unless None)."""
        with self.db.read() as session:
            waiting = select(Operation.id).where(*self._queued(kinds)).limit(limit).subquery()
            return int(session.scalar(select(func.count()).select_from(waiting)) or 0)

    def next_groups(
        self, room: int, batch_max_ops: int, kinds: Collection[str] | None = None
    ) -> list[list[OpRecord]]:
        """Up to `room` transactions' worth of queued operations (of `kinds` only, unless
        None): earns batched together, any other kind alone, a member's debit only once
        nothing earlier of theirs is open (`debit_order.debit_waits`)."""
        with self.db.read() as session:
            candidates = op_rows(session, *self._queued(kinds), limit=batch_max_ops * room)
            if self.brand_row_id is None:  # the pause goes before routine admin work (a trial)
                urgent = op_rows(session, *self._queued(kinds), _SWITCH, limit=room)
                first = {op.id for op in urgent}
                candidates = urgent + [op for op in candidates if op.id not in first]
            groups: list[list[OpRecord]] = []
            batch: list[OpRecord] | None = None
            shut: list[int] | None = None  # read at the first debit, once per turn
            for op in candidates:
                full = len(groups) >= room
                if op.kind == OpKind.EARN:
                    if batch is None or len(batch) >= batch_max_ops:
                        if full:
                            break
                        batch = []
                        groups.append(batch)
                    batch.append(op)
                elif not full and OpKind(op.kind).member_signed and op.member is not None:
                    shut = shut if shut is not None else shut_brands(session)
                    if not debit_waits(session, op, shut):
                        groups.append([op])
                elif not full:
                    groups.append([op])
            return groups

    def slot_operations(self, slot_ids: Sequence[int]) -> dict[int, list[OpRecord]]:
        """Each slot's operations (in id order), read in one transaction."""
        with self.db.read() as session:
            return {slot_id: op_rows(session, Operation.slot_id == slot_id) for slot_id in slot_ids}


def _insert_slot(
    connection: Connection, signer_id: int, nonce: int, kind: str, tx: Tx, now: datetime
) -> TxSlot:
    """Inserts a new slot (signed, not yet sent); returns it as a detached row."""
    slot = TxSlot(
        signer_id=signer_id,
        nonce=nonce,
        kind=kind,
        status=SlotStatus.SIGNED,
        to_address=tx.to,
        calldata=tx.data,
        value_wei=tx.value,
        gas_limit=tx.gas,
        cancelling=tx.cancel,
        created_at=now,
        updated_at=now,
    )
    slot.id = slot_rows.insert_new(connection, slot)
    return slot


def _insert_attempt(
    connection: Connection, slot_id: int, tx: Tx, signed: SignedTx, fees: Fees, now: datetime
) -> TxAttempt:
    """Inserts what was signed for the slot; returns it as a detached row."""
    attempt = TxAttempt(
        slot_id=slot_id,
        tx_hash=signed.tx_hash,
        raw=signed.raw,
        max_fee_wei=fees.max_fee_wei,
        priority_fee_wei=fees.priority_fee_wei,
        is_cancel=tx.cancel,
        created_at=now,
    )
    attempt.id = slot_rows.insert_new(connection, attempt)
    return attempt


def queues_waiting(db: Database, queues: Sequence[BrandRowId | None]) -> set[BrandRowId | None]:
    """Which of these queues (a brand's row id, or None: the admin's) hold queued operations;
    one indexed lookup per queue (`ix_operations_queue`), in one read."""
    brands = [q for q in queues if q is not None]
    found: set[BrandRowId | None] = set()
    with db.read() as session:
        if brands:
            rows = session.scalars(
                select(Operation.brand_id)
                .where(Operation.brand_id.in_(brands), Operation.status == OpStatus.QUEUED)
                .distinct()
            )
            found.update(BrandRowId(b) for b in rows if b is not None)
        if None in queues:
            admin = select(Operation.id).where(
                Operation.brand_id.is_(None), Operation.status == OpStatus.QUEUED
            )
            if session.scalar(admin.limit(1)) is not None:
                found.add(None)
    return found
