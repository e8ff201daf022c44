"""The slot store's writes on SQLite and PostgreSQL: what `store_new` signs and stores, what
`sign_and_store` adds to a slot, what a settlement writes on the slots (issue 15: the signer's
turn at the writer lock runs prebuilt statements, its signing done before the turn).

Only what was signed at the nonce a slot holds may be stored: a transaction signed ahead at a
nonce that another one ends up taking must be signed again, never stored as it was."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes
from sqlalchemy import select, update
from support.rows import add_brand, queued_earn

from ledger_api.background.sender.clock import Fees
from ledger_api.background.sender.slot_rows import settle_slots, take_back
from ledger_api.background.sender.slots import SlotStore, Tx, op_rows
from ledger_api.chain.port import Receipt
from ledger_api.db import Database
from ledger_api.db.models import Operation, Signer, TxAttempt, TxSlot
from ledger_api.domain import OpStatus, SlotStatus
from ledger_api.domain.ids import BrandRowId

CHAIN_ID = 31337
LEDGER = "0x" + "11" * 20
FEES = Fees(max_fee_wei=3 * 10**9, priority_fee_wei=10**9)


def _signed_as(raw: bytes) -> tuple[int, bytes, str]:
    """(nonce, calldata, the signer's address) of a stored raw transaction."""
    decoded = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
    return int(decoded["nonce"]), bytes(decoded["data"]), Account.recover_transaction(raw)


def _store(db: Database, next_nonce: int) -> tuple[SlotStore, LocalAccount, BrandRowId]:
    account: LocalAccount = Account.create()
    stamp = datetime(2026, 12, 2, tzinfo=UTC)
    with db.write() as session:
        brand = add_brand(session, "Shop", "SHP", ledger_id=1)
        signer = Signer(brand_id=brand.id, address=account.address, next_nonce=next_nonce)
        session.add(signer)
        session.flush()
        session.add_all(queued_earn(brand.id, i, stamp) for i in range(6))
        signer_id, brand_row = signer.id, BrandRowId(brand.id)
    store = SlotStore(
        db, signer_id=signer_id, brand_row_id=brand_row, account=account, chain_id=CHAIN_ID
    )
    return store, account, brand_row


def _groups(db: Database) -> list[list]:  # type: ignore[type-arg]
    with db.read() as session:
        ops = op_rows(session, Operation.status == OpStatus.QUEUED)
    return [ops[0:2], ops[2:4], ops[4:6]]


def _tx(n: int) -> Tx:
    return Tx(LEDGER, bytes([n]) * 36, 0, 100_000 + n)


def test_new_transactions_are_stored_at_consecutive_nonces_signed_at_them(db: Database) -> None:
    store, account, _ = _store(db, next_nonce=5)
    groups = _groups(db)
    stored = store.store_new([(_tx(i), "earn_batch", g) for i, g in enumerate(groups)], FEES)
    assert [slot.nonce for slot, _ in stored] == [5, 6, 7]
    with db.read() as session:
        assert session.get_one(Signer, store.signer_id).next_nonce == 8
        slots = {s.id: s for s in session.scalars(select(TxSlot))}
        attempts = {a.slot_id: a for a in session.scalars(select(TxAttempt))}
        ops = {op.uid: op for op in session.scalars(select(Operation))}
    for i, (slot, attempt) in enumerate(stored):
        row, kept = slots[slot.id], attempts[slot.id]
        assert (row.nonce, row.status, row.kind) == (slot.nonce, SlotStatus.SIGNED, "earn_batch")
        assert (row.to_address.lower(), row.calldata, row.gas_limit) == (
            LEDGER,
            _tx(i).data,
            100_000 + i,
        )
        assert (kept.id, kept.tx_hash, kept.raw) == (attempt.id, attempt.tx_hash, attempt.raw)
        assert (kept.max_fee_wei, kept.priority_fee_wei, kept.is_cancel) == (
            FEES.max_fee_wei,
            FEES.priority_fee_wei,
            False,
        )
        assert _signed_as(kept.raw) == (slot.nonce, _tx(i).data, account.address)
        for op in groups[i]:
            stored_op = ops[op.uid]
            assert (stored_op.status, stored_op.slot_id, stored_op.tx_hash) == (
                OpStatus.SUBMITTED,
                slot.id,
                attempt.tx_hash,
            )
            assert stored_op.attempts == op.attempts + 1


def test_a_transaction_left_out_moves_the_later_ones_down_and_they_are_signed_again(
    db: Database,
) -> None:
    """The first group's operations stopped being queued between the plan and the store (the
    signing ahead used nonces 5, 6, 7): the other two go to 5 and 6, each signed at its own."""
    store, account, _ = _store(db, next_nonce=5)
    groups = _groups(db)
    with db.write() as session:
        session.execute(
            update(Operation)
            .where(Operation.id.in_([op.id for op in groups[0]]))
            .values(status=OpStatus.FAILED)
        )
    stored = store.store_new([(_tx(i), "earn_batch", g) for i, g in enumerate(groups)], FEES)
    assert [slot.nonce for slot, _ in stored] == [5, 6]
    for (slot, attempt), i in zip(stored, (1, 2), strict=True):
        assert _signed_as(attempt.raw) == (slot.nonce, _tx(i).data, account.address)
    with db.read() as session:
        kept = session.scalars(select(TxAttempt).order_by(TxAttempt.id)).all()
        assert [_signed_as(a.raw)[:2] for a in kept] == [(5, _tx(1).data), (6, _tx(2).data)]
        assert session.get_one(Signer, store.signer_id).next_nonce == 7
        left = session.scalars(
            select(Operation.status).where(Operation.id.in_([op.id for op in groups[0]]))
        ).all()
    assert set(left) == {OpStatus.FAILED}


def test_the_signers_nonce_moved_after_the_signing_ahead(db: Database) -> None:
    """Another writer took nonce 5 between the read and the turn (a gap's no-op): the
    transactions go to 6 and 7, signed there."""
    store, account, _ = _store(db, next_nonce=5)
    groups = _groups(db)[:2]
    txs = [(_tx(i), "earn_batch", g) for i, g in enumerate(groups)]
    original = store._signed  # noqa: SLF001 - the nonce moves right after the signing ahead
    moved: list[int] = []

    def sign_then_move(nonce: int, tx: Tx, fees: Fees):  # type: ignore[no-untyped-def]
        if not moved:
            moved.append(nonce)
            with db.write() as session:
                session.execute(
                    update(Signer).where(Signer.id == store.signer_id).values(next_nonce=6)
                )
        return original(nonce, tx, fees)

    store._signed = sign_then_move  # type: ignore[method-assign]  # noqa: SLF001
    stored = store.store_new(txs, FEES)
    assert moved == [5]
    assert [slot.nonce for slot, _ in stored] == [6, 7]
    for (slot, attempt), i in zip(stored, (0, 1), strict=True):
        assert _signed_as(attempt.raw) == (slot.nonce, _tx(i).data, account.address)


def test_a_cancel_marks_its_slot_and_adds_a_no_op_attempt_at_its_nonce(db: Database) -> None:
    store, account, _ = _store(db, next_nonce=3)
    (slot, first), *_ = store.store_new([(_tx(0), "earn_batch", _groups(db)[0])], FEES)
    bumped = Fees(FEES.max_fee_wei * 2, FEES.priority_fee_wei * 2)
    same, cancel = store.sign_and_store(Tx.noop(account.address), bumped, kind="earn", slot=slot)
    assert same is slot
    gap, filler = store.sign_and_store(Tx.noop(account.address), FEES, kind="noop", nonce=9)
    with db.read() as session:
        row = session.get_one(TxSlot, slot.id)
        attempts = session.scalars(
            select(TxAttempt).where(TxAttempt.slot_id == slot.id).order_by(TxAttempt.id)
        ).all()
        gap_row = session.get_one(TxSlot, gap.id)
    assert row.cancelling is True
    assert [a.tx_hash for a in attempts] == [first.tx_hash, cancel.tx_hash]
    assert (attempts[1].is_cancel, attempts[1].max_fee_wei) == (True, bumped.max_fee_wei)
    assert _signed_as(attempts[1].raw) == (3, b"", account.address)
    assert (gap_row.nonce, gap_row.kind, gap_row.cancelling) == (9, "noop", True)
    assert _signed_as(filler.raw) == (9, b"", account.address)


def test_settling_writes_the_receipt_on_mined_slots_and_only_the_status_on_the_others(
    db: Database,
) -> None:
    store, _, _ = _store(db, next_nonce=0)
    groups = _groups(db)
    stored = store.store_new([(_tx(i), "earn_batch", g) for i, g in enumerate(groups)], FEES)
    (mined, _), (superseded, _), (untouched, _) = stored
    with db.write() as session:  # the superseded slot had been recorded mined before
        session.execute(
            update(TxSlot).where(TxSlot.id == superseded.id).values(block_number=40, gas_used=9)
        )
    receipt = Receipt(
        tx_hash="0x" + "cd" * 32,
        status=1,
        block_number=42,
        block_hash="0x" + "ef" * 32,
        gas_used=123_456,
        logs=(),
    )
    now = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
    with db.write() as session:
        settle_slots(
            session,
            [
                (mined.id, SlotStatus.CONFIRMED, receipt),
                (superseded.id, SlotStatus.SUPERSEDED, None),
            ],
            now,
        )
    with db.read() as session:
        rows = {s.id: s for s in session.scalars(select(TxSlot))}
    got = rows[mined.id]
    assert (got.status, got.mined_tx_hash, got.block_number, got.block_hash) == (
        SlotStatus.CONFIRMED,
        receipt.tx_hash,
        42,
        receipt.block_hash,
    )
    assert (got.receipt_status, got.gas_used) == (1, 123_456)
    assert got.updated_at == now
    other = rows[superseded.id]
    assert (other.status, other.mined_tx_hash, other.block_number, other.gas_used) == (
        SlotStatus.SUPERSEDED,
        None,
        40,
        9,
    )
    assert rows[untouched.id].status == SlotStatus.SIGNED


@pytest.mark.parametrize("count", [1, 3])
def test_nothing_queued_stores_nothing_and_keeps_the_nonce(db: Database, count: int) -> None:
    store, _, _ = _store(db, next_nonce=4)
    groups = _groups(db)[:count]
    with db.write() as session:
        session.execute(update(Operation).values(status=OpStatus.CONFIRMED))
    assert store.store_new([(_tx(i), "earn_batch", g) for i, g in enumerate(groups)], FEES) == []
    with db.read() as session:
        assert session.get_one(Signer, store.signer_id).next_nonce == 4
        assert session.scalars(select(TxSlot)).all() == []


def test_a_reopened_failure_holds_its_order_again_unless_a_later_operation_took_it(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """The chain forgot the block where two purchases failed (`SlotStore.reopen`): both are
    `submitted` again. The one whose order nobody took holds it again; the other's order went
    to a later purchase meanwhile, which keeps it (the unique index allows one holder), and
    the log names the reopened one: both signed transactions go out."""
    store, _, _ = _store(db, next_nonce=0)
    groups = _groups(db)
    (slot, _), *_ = store.store_new([(_tx(0), "earn_batch", groups[0])], FEES)
    first, second = groups[0]
    failed_at = datetime(2026, 12, 3, tzinfo=UTC)
    with db.write() as session:
        session.execute(update(TxSlot).where(TxSlot.id == slot.id).values(status="confirmed"))
        for op, ref in ((first, "0x" + "01" * 32), (second, "0x" + "02" * 32)):
            session.execute(
                update(Operation)
                .where(Operation.id == op.id)
                .values(status=OpStatus.FAILED, order_ref=ref, keys_released_at=failed_at)
            )
        # the second order, bought again once the first try failed: with its op id (`intake`)
        later = groups[1][0]
        session.execute(
            update(Operation)
            .where(Operation.id == later.id)
            .values(order_ref="0x" + "02" * 32, op_id=second.op_id)
        )
    with caplog.at_level("WARNING", logger="ledger_api.background.sender.slot_rows"):
        assert store.reopen([slot.id]) == 2
    with db.read() as session:
        rows = {
            r.id: (r.status, r.keys_released_at is None)
            for r in session.execute(
                select(Operation.id, Operation.status, Operation.keys_released_at)
            )
        }
    assert rows[first.id] == (OpStatus.SUBMITTED, True)
    assert rows[second.id] == (OpStatus.SUBMITTED, False)
    assert rows[later.id] == (OpStatus.QUEUED, True)
    assert [r.getMessage() for r in caplog.records] == [
        f"operation {second.uid} reopened by a forgotten block: a later operation took its "
        "order or member nonce meanwhile and keeps it; both are sent, and of two with one op id "
        "(a retried order) or one member nonce the ledger applies one, which then holds it"
    ]
    # the chain applies the reopened one after all (their shared op id): it takes its order
    # back from the later one, which the ledger will refuse
    with db.write() as session:
        take_back(session, [second.id], failed_at)
    with db.read() as session:
        held = {
            row.id: row.keys_released_at is None
            for row in session.execute(
                select(Operation.id, Operation.keys_released_at).where(
                    Operation.id.in_([second.id, later.id])
                )
            )
        }
    assert held == {second.id: True, later.id: False}
