"""The sender: turns queued operations into transactions, exactly once.

One worker thread per signer owns that signer's nonces. Its cycle:

1. **Track** the open nonce slots: read receipts for every signed attempt;
   a mined slot settles its operations (each with its own outcome from the
   receipt's `PointsEarned` / `OperationSkipped` events); an attempt the node
   never accepted is broadcast again with the *same raw bytes*; a stuck one
   gets a fee-bumped attempt (stored before it is sent).
2. **Fill** the window: take queued operations in order, pack earns into one
   `earnBatch` (up to `batch_max_ops`), simulate the rest, and for each
   transaction allocate the nonce from the database, sign, **store the raw
   transaction and commit, then broadcast**.

On start, and after the node was unreachable, the worker **reconciles** with
the chain: slots the chain forgot are broadcast again (same bytes, same nonce),
a nonce consumed by a stranger's transaction is found and its operations are
re-queued (earns keep their op id, which the ledger refuses to apply twice), a
database counter behind the chain moves up, and a nonce the database skipped
is filled with a no-op. Nothing in one slot ever blocks the operations of the
others; only the nonce order is shared.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.orm import Session

from ledger_api.chain.contracts import Call, Contracts
from ledger_api.chain.port import BroadcastRejected, Chain, Receipt, RejectReason
from ledger_api.chain.signing import account_from_key, sign_transaction, unlock_keystore
from ledger_api.db import Database
from ledger_api.db.models import Brand, Operation, Signer, TxAttempt, TxSlot, table_of
from ledger_api.db.types import utcnow
from ledger_api.domain import (
    OPEN_OP_STATUSES,
    OPEN_SLOT_STATUSES,
    BrandStatus,
    OpKind,
    OpStatus,
    SlotStatus,
)
from ledger_api.errors import ChainUnavailable, LedgerError
from ledger_api.services import txplan
from ledger_api.services.notify import Settled
from ledger_api.services.threads import name_this_thread
from ledger_api.services.txplan import OP_COLUMNS, OpRecord, Outcome, Verdict
from ledger_api.settings import Settings

log = logging.getLogger(__name__)

CANCEL_GAS = 21_000
FEE_BUMP_PCT = 125  # replacements need +10% on most nodes; bump a quarter


class SignerStalled(Exception):
    """The signer cannot send for now (no gas money, ...): back off and retry."""


@dataclass(frozen=True, slots=True)
class _Fees:
    max_fee_wei: int
    priority_fee_wei: int


class Backoff:
    def __init__(self, maximum: float, initial: float = 0.1) -> None:
        self.maximum = maximum
        self.initial = initial
        self._next = initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self.maximum, self._next * 2)
        return delay

    def reset(self) -> None:
        self._next = self.initial


def _op_rows(session: Session, *where: Any, limit: int | None = None) -> list[OpRecord]:
    """Operations as plain rows of `OP_COLUMNS`, in id order."""
    query = select(*OP_COLUMNS).where(*where).order_by(Operation.id)
    if limit is not None:
        query = query.limit(limit)
    return cast(list[OpRecord], session.execute(query).all())


_OPERATIONS = table_of(Operation)


def _update_operations(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE operations SET ... WHERE id = row["id"], one statement executed many times."""
    if not rows:
        return
    statement = update(_OPERATIONS).where(_OPERATIONS.c.id == bindparam("row_id"))
    session.execute(
        statement, [{**{k: v for k, v in r.items() if k != "id"}, "row_id": r["id"]} for r in rows]
    )


class BlockClock:
    """When the chain's next block is due, learnt from when new block numbers first appear.

    A block is seen some time after it is sealed (at the next poll), never before, so the
    least late sighting of the recent ones fixes the phase. Only a steady pace counts: while
    more than a quarter of the gaps between sightings stray by more than half from the
    typical one (a chain that mines on demand, a congested node), `next_due` answers None.
    """

    SAMPLES = 16

    def __init__(self) -> None:
        self._seen: deque[tuple[int, float]] = deque(maxlen=self.SAMPLES)

    def observe(self, number: int, now: float) -> None:
        if not self._seen or number > self._seen[-1][0]:
            self._seen.append((number, now))

    def interval(self) -> float | None:
        if len(self._seen) < 4:
            return None
        gaps = sorted((t2 - t1) / (n2 - n1) for (n1, t1), (n2, t2) in pairwise(self._seen))
        typical = gaps[len(gaps) // 2]
        # A sighting delayed by a busy moment makes one long gap and one short one; that must
        # not switch pacing off for a whole window, so a quarter of the gaps may stray.
        steady = sum(abs(gap - typical) <= typical / 2 for gap in gaps)
        if typical <= 0 or steady < 0.75 * len(gaps):
            return None
        (first, at_first), (last, at_last) = self._seen[0], self._seen[-1]
        return (at_last - at_first) / (last - first)

    def next_due(self, now: float) -> tuple[int, float, float] | None:
        """(number, when, interval) of the first block expected after `now`."""
        interval = self.interval()
        if interval is None:
            return None
        last = self._seen[-1][0]
        # when block `last` was sealed, from the least late sighting
        sealed = min(at + (last - number) * interval for number, at in self._seen)
        ahead = int((now - sealed) // interval) + 1
        return last + ahead, sealed + ahead * interval, interval


class SenderHooks:
    """What the sender tells the rest of the gateway."""

    def __init__(
        self,
        operations_settled: Callable[[Mapping[str, Settled]], None] = lambda settled: None,
        brands_changed: Callable[[], None] = lambda: None,
        mined: Callable[[], None] = lambda: None,
    ) -> None:
        self.operations_settled = operations_settled
        self.brands_changed = brands_changed
        self.mined = mined


class SignerWorker(threading.Thread):
    """Sends the operations of one queue (a brand, or the alliance admin) with one key."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        contracts: Contracts,
        chain_factory: Callable[[], Chain],
        hooks: SenderHooks,
        signer_id: int,
        brand_id: int | None,
        account: LocalAccount,
    ) -> None:
        super().__init__(name=f"sender-{account.address[:10]}", daemon=True)
        self.settings = settings
        self.db = db
        self.contracts = contracts
        self.chain_factory = chain_factory
        self.hooks = hooks
        self.signer_id = signer_id
        self.brand_id = brand_id
        self.account = account
        self.address = account.address
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._fees: tuple[float, _Fees] | None = None
        self._sent: dict[int, float] = {}  # slot id -> when this process last broadcast it
        self._superseded = 0  # slots closed by `supersede` since `track` last looked
        self._last_fill = 0.0
        self._clock = BlockClock()
        self._batched_block = -1  # the block this worker last sent its batch for
        self._sighted_at = 0.0
        self._ledger_brand_id: int | None = None
        self.healthy = False
        self.last_error: str | None = None

    # ---------------------------------------------------------------- lifecycle

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()

    def run(self) -> None:
        name_this_thread(f"send-{self.address[2:8]}")
        chain = self.chain_factory()
        backoff = Backoff(self.settings.backoff_max_s)
        reconciled = False
        while not self._halt.is_set():
            try:
                if not reconciled:
                    self.reconcile(chain)
                    reconciled = True
                busy, timeout, lingering = self.step(chain)
                self.healthy = True
                self.last_error = None
                backoff.reset()
                if busy:
                    continue
                if lingering:
                    self._halt.wait(timeout)  # new operations may not cut a linger short
                else:
                    self._wake.wait(timeout)
                    self._wake.clear()
            except (ChainUnavailable, SignerStalled) as exc:
                self._pause(exc, backoff)
                reconciled = False
            except Exception as exc:
                log.exception("sender %s: unexpected error", self.address)
                self._pause(exc, backoff)
                reconciled = False

    def _pause(self, exc: Exception, backoff: Backoff) -> None:
        self.healthy = False
        self.last_error = f"{exc.__class__.__name__}: {exc}"
        delay = backoff.next()
        log.warning("sender %s: %s; retrying in %.1fs", self.address, self.last_error, delay)
        self._halt.wait(delay)

    # -------------------------------------------------------------------- cycle

    def step(self, chain: Chain) -> tuple[bool, float, bool]:
        """One cycle: (made progress, how long to sleep when it did not, lingering)."""
        self._superseded = 0
        open_slots = self._open_slots()
        if open_slots:
            self._observe_block(chain, time.monotonic())
        settled = self.track(chain, open_slots) if open_slots else 0
        in_flight = len(open_slots) - settled
        room = self.settings.inflight_window - in_flight
        sent, linger = self.fill(chain, room) if room > 0 else (0, 0.0)
        if settled or sent:
            return True, 0.0, False
        if linger:
            return False, min(linger, self.settings.poll_interval_s) if in_flight else linger, True
        wait = self.settings.poll_interval_s if in_flight else self.settings.sender_idle_poll_s
        return False, wait, False

    def _open_slots(self) -> list[TxSlot]:
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

    def _attempts(self, slot_ids: Sequence[int]) -> dict[int, list[TxAttempt]]:
        with self.db.read() as session:
            rows = session.scalars(
                select(TxAttempt).where(TxAttempt.slot_id.in_(slot_ids)).order_by(TxAttempt.id)
            )
            found: dict[int, list[TxAttempt]] = {slot_id: [] for slot_id in slot_ids}
            for attempt in rows:
                found[attempt.slot_id].append(attempt)
            return found

    # -------------------------------------------------------------------- track

    def track(self, chain: Chain, slots: Sequence[TxSlot]) -> int:
        """Follows the open slots; returns how many became final."""
        attempts = self._attempts([s.id for s in slots])
        receipts = chain.receipts([a.tx_hash for group in attempts.values() for a in group])
        settled = 0
        head_number: int | None = None
        for slot in slots:
            mined = next(
                (receipts[a.tx_hash] for a in attempts[slot.id] if receipts.get(a.tx_hash)), None
            )
            if mined is not None:
                depth = self.settings.confirmations
                if depth > 0:
                    if head_number is None:
                        head = chain.block("latest")
                        head_number = head.number if head else 0
                    if head_number < mined.block_number + depth:
                        if slot.status != SlotStatus.MINED or slot.block_hash != mined.block_hash:
                            self._mark_mined(slot, mined)
                        continue
                cancel = any(a.is_cancel and a.tx_hash == mined.tx_hash for a in attempts[slot.id])
                self.hooks.mined()  # the indexer reads the block while this settles the slot
                self.settle(chain, slot, mined, cancelled=cancel)
                self._sent.pop(slot.id, None)
                settled += 1
            elif slot.status == SlotStatus.MINED:
                log.warning(
                    "sender %s: nonce %d left the chain (reorg); re-sending",
                    self.address,
                    slot.nonce,
                )
                self._set_slot(slot.id, status=SlotStatus.SIGNED)
                self.broadcast(chain, slot, attempts[slot.id][-1])
            elif slot.status == SlotStatus.SIGNED and slot.id not in self._sent:
                self.broadcast(chain, slot, attempts[slot.id][-1])
            elif slot.status == SlotStatus.SIGNED:
                # sent by this process and not mined at once: record it as pending
                self._set_slot(slot.id, status=SlotStatus.PENDING, last_broadcast_at=utcnow())
            elif self._stuck(slot):
                self.unstick(chain, slot, attempts[slot.id])
        return settled + self._superseded_count(reset=True)

    def _superseded_count(self, *, reset: bool = False) -> int:
        count = self._superseded
        if reset:
            self._superseded = 0
        return count

    def _stuck(self, slot: TxSlot) -> bool:
        sent = self._sent.get(slot.id)
        if sent is not None:
            return time.monotonic() - sent > self.settings.stuck_after_s
        since = slot.last_broadcast_at or slot.created_at
        return utcnow() - since > timedelta(seconds=self.settings.stuck_after_s)

    def _mark_mined(self, slot: TxSlot, receipt: Receipt) -> None:
        self._set_slot(
            slot.id,
            status=SlotStatus.MINED,
            mined_tx_hash=receipt.tx_hash,
            block_number=receipt.block_number,
            block_hash=receipt.block_hash,
            receipt_status=receipt.status,
            gas_used=receipt.gas_used,
        )

    def _set_slot(self, slot_id: int, **values: Any) -> None:
        with self.db.write() as session:
            slot = session.get_one(TxSlot, slot_id)
            for name, value in values.items():
                setattr(slot, name, value)

    def unstick(self, chain: Chain, slot: TxSlot, attempts: list[TxAttempt]) -> bool:
        """A slot pending for too long: send again if the node lost it, else bump its fees."""
        latest = attempts[-1]
        if not chain.transaction_known(latest.tx_hash):
            log.warning(
                "sender %s: node lost nonce %d; re-sending the same bytes", self.address, slot.nonce
            )
            return self.broadcast(chain, slot, latest)
        chain_nonce = chain.nonce(self.address, "latest")
        if chain_nonce > slot.nonce:
            return False  # mined meanwhile; the receipt shows up next cycle
        log.warning("sender %s: nonce %d stuck; bumping fees", self.address, slot.nonce)
        bumped = self._new_attempt(chain, slot, latest, cancel=latest.is_cancel)
        return self.broadcast(chain, slot, bumped)

    # ---------------------------------------------------------------- broadcast

    def broadcast(self, chain: Chain, slot: TxSlot, attempt: TxAttempt) -> bool:
        """Sends a stored attempt. Returns True when the slot's state changed."""
        try:
            chain.send_raw(attempt.raw)
        except BroadcastRejected as rejected:
            return self._rejected(chain, slot, attempt, rejected)
        # No write here: a node that mines at once has the receipt by the next cycle; a slot
        # still open then is recorded as pending (see `track`).
        self._sent[slot.id] = time.monotonic()
        return True

    def _rejected(
        self, chain: Chain, slot: TxSlot, attempt: TxAttempt, rejected: BroadcastRejected
    ) -> bool:
        self._set_slot(slot.id, broadcast_error=rejected.message[:500])
        match rejected.reason:
            case RejectReason.NONCE_TOO_LOW:
                return self._nonce_taken(chain, slot)
            case RejectReason.UNDERPRICED:
                self._fees = None
                bumped = self._new_attempt(chain, slot, attempt, cancel=attempt.is_cancel)
                try:
                    chain.send_raw(bumped.raw)
                except BroadcastRejected as again:
                    self._set_slot(slot.id, broadcast_error=again.message[:500])
                    raise SignerStalled(f"nonce {slot.nonce}: {again.message}") from again
                self._sent[slot.id] = time.monotonic()
                return True
            case RejectReason.INSUFFICIENT_FUNDS:
                raise SignerStalled(f"{self.address} needs gas money: {rejected.message}")
            case RejectReason.INVALID:
                if attempt.is_cancel:
                    raise SignerStalled(
                        f"nonce {slot.nonce}: even a no-op is refused: {rejected.message}"
                    )
                log.error(
                    "sender %s: nonce %d refused (%s); filling it with a no-op and re-queueing",
                    self.address,
                    slot.nonce,
                    rejected.message,
                )
                cancel = self._new_attempt(chain, slot, attempt, cancel=True)
                return self.broadcast(chain, slot, cancel)
        return False

    def _nonce_taken(self, chain: Chain, slot: TxSlot) -> bool:
        """The node says the slot's nonce is used: ours (receipt) or a stranger's."""
        attempts = self._attempts([slot.id])[slot.id]
        receipts = chain.receipts([a.tx_hash for a in attempts])
        if any(receipts.values()):
            return False  # ours: the next track cycle settles it
        log.error(
            "sender %s: nonce %d was consumed by a transaction that is not ours",
            self.address,
            slot.nonce,
        )
        self.supersede(chain, slot)
        return True

    # ------------------------------------------------------------------- settle

    def settle(self, chain: Chain, slot: TxSlot, receipt: Receipt, *, cancelled: bool) -> None:
        """Applies a receipt to the slot's operations, each with its own outcome."""
        with self.db.read() as session:
            ops = _op_rows(session, Operation.slot_id == slot.id)
        outcomes: dict[int, Outcome]
        if cancelled or not ops:
            outcomes = self._requeue_outcomes(chain, ops)
        elif slot.kind == txplan.EARN_BATCH:
            if receipt.status == 1:
                outcomes = txplan.earn_outcomes(self.contracts, ops, receipt)
            else:
                outcomes = {op.id: self._retry_or_fail(op, "tx_reverted") for op in ops}
        elif receipt.status == 1:
            outcomes = {
                op.id: Outcome(Verdict.CONFIRMED, txplan.single_result(self.contracts, op, receipt))
                for op in ops
            }
        else:
            outcomes = {op.id: self._explain_revert(chain, slot, op) for op in ops}
        settled = self._apply_outcomes(
            slot.id, ops, outcomes, receipt=receipt, status=SlotStatus.CONFIRMED
        )
        self.hooks.operations_settled(settled)

    def _retry_or_fail(self, op: OpRecord, code: str) -> Outcome:
        if op.attempts >= self.settings.max_op_attempts:
            return Outcome(
                Verdict.FAILED, code=code, message=f"gave up after {op.attempts} transactions"
            )
        return Outcome(Verdict.REQUEUE)

    def _explain_revert(self, chain: Chain, slot: TxSlot, op: OpRecord) -> Outcome:
        """A single operation's transaction reverted: replay it to learn why."""
        try:
            chain.call(slot.to_address, slot.calldata, sender=self.address)
        except LedgerError as error:
            if isinstance(error, ChainUnavailable):
                raise
            return Outcome(Verdict.FAILED, code=error.error_code, message=error.message)
        return self._retry_or_fail(op, "tx_reverted")

    def _requeue_outcomes(self, chain: Chain, ops: Sequence[OpRecord]) -> dict[int, Outcome]:
        """Operations whose transaction never applied them go back to the queue.

        An earn whose op id the ledger already marks used was applied by an earlier
        transaction of ours: it is confirmed, never sent again under a new id.
        """
        outcomes: dict[int, Outcome] = {}
        ledger_brand = self._ledger_brand()
        for op in ops:
            if op.kind == OpKind.EARN and op.op_id is not None and ledger_brand is not None:
                call = self.contracts.is_operation_used_call(ledger_brand, op.op_id)
                (used,) = self.contracts.ledger["isOperationUsed"].decode(
                    chain.call(call.to, call.data)
                )
                if used:
                    outcomes[op.id] = Outcome(Verdict.CONFIRMED, {"applied_earlier": True})
                    continue
            outcomes[op.id] = Outcome(Verdict.REQUEUE)
        return outcomes

    def _ledger_brand(self) -> int | None:
        """The ledger's id of this worker's brand (fixed once the brand is onboarded)."""
        if self.brand_id is None:
            return None
        if self._ledger_brand_id is None:
            with self.db.read() as session:
                self._ledger_brand_id = session.get_one(Brand, self.brand_id).ledger_id
        return self._ledger_brand_id

    def _apply_outcomes(
        self,
        slot_id: int,
        ops: Sequence[OpRecord],
        outcomes: dict[int, Outcome],
        *,
        receipt: Receipt | None,
        status: SlotStatus,
    ) -> dict[str, Settled]:
        """Settles the slot and each of its operations in one transaction (bulk update).

        Returns the final state of the operations that became final (not the re-queued)."""
        now = utcnow()
        updates: list[dict[str, Any]] = []
        for op in ops:
            outcome = outcomes[op.id]
            requeue = outcome.verdict is Verdict.REQUEUE
            updates.append(
                {
                    "id": op.id,
                    "status": OpStatus.QUEUED
                    if requeue
                    else OpStatus.CONFIRMED
                    if outcome.verdict is Verdict.CONFIRMED
                    else OpStatus.FAILED,
                    "slot_id": None if requeue else slot_id,
                    "tx_hash": receipt.tx_hash if receipt and not requeue else None,
                    "block_number": receipt.block_number if receipt and not requeue else None,
                    "result": (outcome.result or None) if not requeue else None,
                    "error_code": outcome.code,
                    "error_message": outcome.message,
                    "updated_at": now,
                }
            )
        with self.db.write() as session:
            slot = session.get_one(TxSlot, slot_id)
            slot.status = status
            if receipt is not None:
                slot.mined_tx_hash = receipt.tx_hash
                slot.block_number = receipt.block_number
                slot.block_hash = receipt.block_hash
                slot.receipt_status = receipt.status
                slot.gas_used = receipt.gas_used
            _update_operations(session, updates)
            for op in ops:
                outcome = outcomes[op.id]
                if OpKind(op.kind).admin and outcome.verdict is not Verdict.REQUEUE:
                    self._side_effects(session, op, outcome)
        ledger_brand = self._ledger_brand()
        return {
            op.uid: self._settled(op, values, ledger_brand)
            for op, values in zip(ops, updates, strict=True)
            if values["status"] != OpStatus.QUEUED
        }

    @staticmethod
    def _settled(op: OpRecord, values: Mapping[str, Any], ledger_brand: int | None) -> Settled:
        return Settled(
            uid=op.uid,
            kind=op.kind,
            status=OpStatus(values["status"]).value,
            brand_id=ledger_brand if op.brand_id is not None else None,
            op_id=op.op_id,
            tx_hash=values["tx_hash"],
            block_number=values["block_number"],
            result=values["result"],
            error_code=values["error_code"],
            error_message=values["error_message"],
            created_at=op.created_at,
            updated_at=values["updated_at"],
        )

    def _side_effects(self, session: Session, op: OpRecord, outcome: Outcome) -> None:
        """Local state that follows an admin operation's outcome."""
        kind = OpKind(op.kind)
        if kind is OpKind.ONBOARD_BRAND:
            brand = session.get_one(Brand, op.payload["brand_row_id"])
            if outcome.verdict is Verdict.CONFIRMED:
                brand.ledger_id = int(outcome.result["brand_id"])
                brand.status = BrandStatus.ACTIVE
            else:
                brand.status = BrandStatus.FAILED
            self.hooks.brands_changed()
        elif kind is OpKind.SUSPEND_BRAND and outcome.verdict is Verdict.CONFIRMED:
            brand = session.get_one(Brand, op.payload["brand_row_id"])
            brand.status = BrandStatus.SUSPENDED if op.payload["suspended"] else BrandStatus.ACTIVE
        elif kind is OpKind.SET_POINT_VALUE and outcome.verdict is Verdict.CONFIRMED:
            brand = session.get_one(Brand, op.payload["brand_row_id"])
            brand.value_micro_usd = int(op.payload["value_micro_usd"])

    def supersede(self, chain: Chain, slot: TxSlot) -> None:
        """The slot's nonce went to a stranger's transaction: nothing of ours was applied."""
        with self.db.read() as session:
            ops = _op_rows(session, Operation.slot_id == slot.id)
        outcomes = self._requeue_outcomes(chain, ops)
        settled = self._apply_outcomes(
            slot.id, ops, outcomes, receipt=None, status=SlotStatus.SUPERSEDED
        )
        self._sent.pop(slot.id, None)
        self._superseded += 1
        self.hooks.operations_settled(settled)

    # --------------------------------------------------------------------- fill

    def fill(self, chain: Chain, room: int) -> tuple[int, float]:
        """Sends up to `room` new transactions; returns (how many, seconds to linger).

        Concurrent operations share a transaction. On a chain with a steady block pace the
        sender sends one batch per block, `block_send_guard_s` before the block is due (a
        full batch goes at once); otherwise, under load, it lingers up to `batch_linger_s`
        after its previous transaction while a batch is not full, and an operation arriving
        after a quiet period goes out at once.
        """
        queued = self._queued(self.settings.batch_max_ops)
        if not queued:
            return 0, 0.0
        now = time.monotonic()
        linger, due_block = self._linger(chain, now)
        if linger > 0 and queued < self.settings.batch_max_ops:
            return 0, linger
        groups = self._next_groups(room)
        if not groups:
            return 0, 0.0
        self._last_fill = now
        if due_block is not None and linger <= 0:
            self._batched_block = due_block
        sent = 0
        for ops in groups:
            if self._send_group(chain, ops):
                sent += 1
        return sent, 0.0

    def _linger(self, chain: Chain, now: float) -> tuple[float, int | None]:
        """Seconds to wait before sending, and the block the next batch is for (if aligned)."""
        fallback = self._last_fill + self.settings.batch_linger_s - now
        if not self.settings.block_align:
            return fallback, None
        self._observe_block(chain, now)
        due = self._clock.next_due(now)
        if due is None or not (
            self.settings.block_align_min_interval_s
            <= due[2]
            <= self.settings.block_align_max_interval_s
        ):
            return fallback, None
        number, at, interval = due
        guard = max(self.settings.block_send_guard_s, interval / 4)
        if number <= self._batched_block:  # this block has its batch: the next one's turn
            return at + interval - guard - now, number + 1
        return at - guard - now, number

    def _observe_block(self, chain: Chain, now: float) -> None:
        """A sighting of the chain's head for the block clock (at most one per poll interval)."""
        if self.settings.block_align and now - self._sighted_at >= self.settings.poll_interval_s:
            self._sighted_at = now
            self._clock.observe(chain.block_number(), now)

    def _queue_filter(self) -> Any:
        return (
            Operation.brand_id.is_(None)
            if self.brand_id is None
            else Operation.brand_id == self.brand_id
        )

    def _queued(self, limit: int) -> int:
        """How many operations wait in this worker's queue (counted up to `limit`)."""
        with self.db.read() as session:
            waiting = (
                select(Operation.id)
                .where(self._queue_filter(), Operation.status == OpStatus.QUEUED)
                .limit(limit)
                .subquery()
            )
            return int(session.scalar(select(func.count()).select_from(waiting)) or 0)

    def _next_groups(self, room: int) -> list[list[OpRecord]]:
        limit = self.settings.batch_max_ops * room
        with self.db.read() as session:
            candidates = _op_rows(
                session, self._queue_filter(), Operation.status == OpStatus.QUEUED, limit=limit
            )
            groups: list[list[OpRecord]] = []
            batch: list[OpRecord] | None = None
            for op in candidates:
                full = len(groups) >= room
                if op.kind == OpKind.EARN:
                    if batch is None or len(batch) >= self.settings.batch_max_ops:
                        if full:
                            break
                        batch = []
                        groups.append(batch)
                    batch.append(op)
                elif not full and not self._blocked(session, op):
                    groups.append([op])
            return groups

    @staticmethod
    def _blocked(session: Session, op: OpRecord) -> bool:
        """A member's debit waits until every earlier operation touching the member is final."""
        if not OpKind(op.kind).member_signed or op.member is None:
            return False
        earlier = exists().where(
            Operation.id < op.id,
            Operation.status.in_(OPEN_OP_STATUSES),
            or_(Operation.member == op.member, Operation.beneficiary == op.member),
        )
        return bool(session.scalar(select(earlier)))

    def _send_group(self, chain: Chain, ops: list[OpRecord]) -> bool:
        call = txplan.call_for(self.contracts, ops)
        try:
            estimate = chain.estimate_gas(self.address, call.to, call.data, call.value)
        except ChainUnavailable:
            raise
        except LedgerError as error:
            if len(ops) > 1 or OpKind(ops[0].kind) is OpKind.EARN:
                log.error("sender %s: earnBatch would revert: %s", self.address, error.message)
            self.hooks.operations_settled(self._fail_unsent(ops, error))
            return False
        gas = estimate * (100 + self.settings.gas_margin_pct) // 100 + 20_000
        if gas > self.settings.max_tx_gas and len(ops) > 1:
            half = len(ops) // 2
            first = self._send_group(chain, ops[:half])
            second = self._send_group(chain, ops[half:])
            return first or second
        fees = self._current_fees(chain)
        stored = self._store(chain, ops, call, gas, fees, txplan.slot_kind(ops))
        if stored is None:
            return False
        slot, attempt = stored
        try:
            self.broadcast(chain, slot, attempt)
        except ChainUnavailable:
            # "maybe sent": the slot stays signed; tracking finds the receipt or sends it again
            log.warning(
                "sender %s: node unreachable while sending nonce %d", self.address, slot.nonce
            )
            raise
        return True

    def _fail_unsent(self, ops: Sequence[OpRecord], error: LedgerError) -> dict[str, Settled]:
        """Operations the chain would reject fail now: no transaction, no nonce used."""
        failed: list[Operation] = []
        now = utcnow()
        with self.db.write() as session:
            rows = session.scalars(
                select(Operation)
                .where(Operation.id.in_([op.id for op in ops]), Operation.status == OpStatus.QUEUED)
                .with_for_update()
            )
            for op in rows:
                op.status = OpStatus.FAILED
                op.error_code = error.error_code
                op.error_message = error.message
                op.updated_at = now
                self._side_effects(session, op, Outcome(Verdict.FAILED, code=error.error_code))
                failed.append(op)
        values = {
            "status": OpStatus.FAILED,
            "tx_hash": None,
            "block_number": None,
            "result": None,
            "error_code": error.error_code,
            "error_message": error.message,
            "updated_at": now,
        }
        ledger_brand = self._ledger_brand()
        return {op.uid: self._settled(op, values, ledger_brand) for op in failed}

    def _current_fees(self, chain: Chain) -> _Fees:
        now = time.monotonic()
        if self._fees is not None and self._fees[0] > now:
            return self._fees[1]
        head = chain.block("latest")
        base = head.base_fee_wei if head else 0
        tip = self.settings.priority_fee_wei
        if tip is None:
            tip = chain.priority_fee()
        fees = _Fees(max_fee_wei=2 * base + tip, priority_fee_wei=tip)
        self._fees = (now + 2.0, fees)
        return fees

    def _store(
        self,
        chain: Chain,
        ops: Sequence[OpRecord],
        call: Call,
        gas: int,
        fees: _Fees,
        kind: str,
    ) -> tuple[TxSlot, TxAttempt] | None:
        """Allocates the nonce, signs, and stores slot + raw transaction in one commit."""
        with self.db.write() as session:
            signer = session.get_one(Signer, self.signer_id, with_for_update=True)
            live = set(
                session.scalars(
                    select(Operation.id).where(
                        Operation.id.in_([op.id for op in ops]),
                        Operation.status == OpStatus.QUEUED,
                    )
                )
            )
            if len(live) != len(ops):
                return None  # changed under us (another process?): try again next cycle
            assert signer.next_nonce is not None
            nonce = signer.next_nonce
            signed = sign_transaction(
                self.account,
                chain_id=self.contracts.chain_id,
                nonce=nonce,
                to=call.to,
                data=call.data,
                value=call.value,
                gas=gas,
                max_fee_wei=fees.max_fee_wei,
                priority_fee_wei=fees.priority_fee_wei,
            )
            slot = TxSlot(
                signer_id=self.signer_id,
                nonce=nonce,
                kind=kind,
                status=SlotStatus.SIGNED,
                to_address=call.to,
                calldata=call.data,
                value_wei=call.value,
                gas_limit=gas,
            )
            session.add(slot)
            session.flush()
            attempt = TxAttempt(
                slot_id=slot.id,
                tx_hash=signed.tx_hash,
                raw=signed.raw,
                max_fee_wei=fees.max_fee_wei,
                priority_fee_wei=fees.priority_fee_wei,
            )
            session.add(attempt)
            now = utcnow()
            _update_operations(
                session,
                [
                    {
                        "id": op.id,
                        "status": OpStatus.SUBMITTED,
                        "slot_id": slot.id,
                        "tx_hash": signed.tx_hash,
                        "attempts": op.attempts + 1,
                        "updated_at": now,
                    }
                    for op in ops
                ],
            )
            signer.next_nonce = nonce + 1
        return slot, attempt

    def _new_attempt(
        self, chain: Chain, slot: TxSlot, previous: TxAttempt, *, cancel: bool
    ) -> TxAttempt:
        """A replacement for the slot's nonce with higher fees (or a no-op), stored first."""
        self._fees = None
        fees = self._current_fees(chain)
        max_fee = max(fees.max_fee_wei, previous.max_fee_wei * FEE_BUMP_PCT // 100 + 1)
        tip = max(fees.priority_fee_wei, previous.priority_fee_wei * FEE_BUMP_PCT // 100 + 1)
        to: str
        if cancel:
            to, data, value, gas = self.address, b"", 0, CANCEL_GAS
        else:
            to, data, value, gas = slot.to_address, slot.calldata, slot.value_wei, slot.gas_limit
        signed = sign_transaction(
            self.account,
            chain_id=self.contracts.chain_id,
            nonce=slot.nonce,
            to=to,
            data=data,
            value=value,
            gas=gas,
            max_fee_wei=max_fee,
            priority_fee_wei=tip,
        )
        attempt = TxAttempt(
            slot_id=slot.id,
            tx_hash=signed.tx_hash,
            raw=signed.raw,
            max_fee_wei=max_fee,
            priority_fee_wei=tip,
            is_cancel=cancel,
        )
        with self.db.write() as session:
            session.add(attempt)
            if cancel:
                session.get_one(TxSlot, slot.id).cancelling = True
        return attempt

    # ---------------------------------------------------------------- reconcile

    def reconcile(self, chain: Chain) -> None:
        """Brings the database and the chain to agree about this signer's nonces."""
        latest = chain.nonce(self.address, "latest")
        pending = chain.nonce(self.address, "pending")
        with self.db.write() as session:
            signer = session.get_one(Signer, self.signer_id, with_for_update=True)
            if signer.next_nonce is None:
                signer.next_nonce = pending
                log.info("sender %s: starts at nonce %d", self.address, pending)
            next_nonce = signer.next_nonce
            # The chain forgot blocks (a dev node restarted without its state): the same
            # signed bytes are sent again, in nonce order, and apply exactly once.
            forgotten = session.scalars(
                select(TxSlot).where(
                    TxSlot.signer_id == self.signer_id,
                    TxSlot.status == SlotStatus.CONFIRMED,
                    TxSlot.nonce >= latest,
                )
            ).all()
            for slot in forgotten:
                log.error(
                    "sender %s: the chain lost nonce %d; sending it again", self.address, slot.nonce
                )
                slot.status = SlotStatus.SIGNED
            # Every open slot is looked up by hash and sent again if the node does not know it.
            for slot in session.scalars(
                select(TxSlot).where(
                    TxSlot.signer_id == self.signer_id, TxSlot.status == SlotStatus.PENDING
                )
            ):
                slot.status = SlotStatus.SIGNED
        if latest > next_nonce or pending > next_nonce:
            self._adopt_foreign_nonces(chain, next_nonce, latest, pending)
        self._settle_lost_slots(chain, latest)
        self._fill_gaps(chain, latest)

    def _adopt_foreign_nonces(
        self, chain: Chain, next_nonce: int, latest: int, pending: int
    ) -> None:
        """The chain is ahead of the database: someone else used this key. Find and log it."""
        found: list[str] = []
        head = chain.block("latest")
        if head is not None and latest > next_nonce:
            lowest = max(0, head.number - self.settings.foreign_nonce_scan_blocks)
            for number in range(head.number, lowest - 1, -1):
                for tx in chain.block_transactions(number):
                    if tx.sender == self.address and next_nonce <= tx.nonce < latest:
                        found.append(f"nonce {tx.nonce}: {tx.tx_hash}")
                if len(found) >= latest - next_nonce:
                    break
        log.error(
            "sender %s: chain nonce %d (pending %d) is ahead of ours %d; foreign transactions: %s",
            self.address,
            latest,
            pending,
            next_nonce,
            found or "not found in recent blocks",
        )
        with self.db.write() as session:
            signer = session.get_one(Signer, self.signer_id, with_for_update=True)
            signer.next_nonce = max(signer.next_nonce or 0, latest, pending)

    def _settle_lost_slots(self, chain: Chain, latest: int) -> None:
        """Open slots below the chain's nonce either have our receipt or lost their nonce."""
        slots = [s for s in self._open_slots() if s.nonce < latest]
        if not slots:
            return
        attempts = self._attempts([s.id for s in slots])
        receipts = chain.receipts([a.tx_hash for group in attempts.values() for a in group])
        for slot in slots:
            if not any(receipts.get(a.tx_hash) for a in attempts[slot.id]):
                log.error(
                    "sender %s: nonce %d was used by a foreign transaction",
                    self.address,
                    slot.nonce,
                )
                self.supersede(chain, slot)

    def _fill_gaps(self, chain: Chain, latest: int) -> None:
        """Nonces the database allocated but holds no transaction for get a no-op."""
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
            missing = [n for n in range(latest, signer.next_nonce) if n not in used]
        for nonce in missing:
            log.error(
                "sender %s: nonce %d has no transaction; filling it with a no-op",
                self.address,
                nonce,
            )
            fees = self._current_fees(chain)
            signed = sign_transaction(
                self.account,
                chain_id=self.contracts.chain_id,
                nonce=nonce,
                to=self.address,
                data=b"",
                value=0,
                gas=CANCEL_GAS,
                max_fee_wei=fees.max_fee_wei,
                priority_fee_wei=fees.priority_fee_wei,
            )
            with self.db.write() as session:
                slot = TxSlot(
                    signer_id=self.signer_id,
                    nonce=nonce,
                    kind=txplan.CANCEL,
                    status=SlotStatus.SIGNED,
                    to_address=self.address,
                    calldata=b"",
                    value_wei=0,
                    gas_limit=CANCEL_GAS,
                    cancelling=True,
                )
                session.add(slot)
                session.flush()
                session.add(
                    TxAttempt(
                        slot_id=slot.id,
                        tx_hash=signed.tx_hash,
                        raw=signed.raw,
                        max_fee_wei=fees.max_fee_wei,
                        priority_fee_wei=fees.priority_fee_wei,
                        is_cancel=True,
                    )
                )


class Sender:
    """Starts one `SignerWorker` per active signer and keeps the set current."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        contracts: Contracts,
        chain_factory: Callable[[], Chain],
        hooks: SenderHooks,
    ) -> None:
        self.settings = settings
        self.db = db
        self.contracts = contracts
        self.chain_factory = chain_factory
        self.hooks = hooks
        self.workers: dict[int, SignerWorker] = {}
        self._by_brand: dict[int | None, SignerWorker] = {}
        self._halt = threading.Event()
        self._refresh = threading.Event()
        self._thread = threading.Thread(
            target=self._supervise, name="sender-supervisor", daemon=True
        )
        self._admin = (
            account_from_key(settings.admin_private_key.get_secret_value())
            if settings.admin_private_key
            else None
        )

    def start(self) -> None:
        self.ensure_admin_signer()
        self._sync_workers()
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        self._refresh.set()
        for worker in self.workers.values():
            worker.stop()
        for worker in self.workers.values():
            worker.join(timeout=5)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def wake(self, brand_ids: set[int | None]) -> None:
        for brand_id in brand_ids:
            worker = self._by_brand.get(brand_id)
            if worker is not None:
                worker.wake()
            else:
                self._refresh.set()

    def ensure_admin_signer(self) -> None:
        if self._admin is None:
            return
        with self.db.write() as session:
            existing = session.scalar(select(Signer).where(Signer.address == self._admin.address))
            if existing is None:
                session.add(Signer(brand_id=None, address=self._admin.address, keystore=None))

    def _supervise(self) -> None:
        while not self._halt.is_set():
            self._refresh.wait(1.0)
            self._refresh.clear()
            if self._halt.is_set():
                return
            try:
                self._sync_workers()
            except Exception:
                log.exception("sender: could not refresh the signers")

    def _sync_workers(self) -> None:
        with self.db.read() as session:
            signers = list(session.scalars(select(Signer).where(Signer.active.is_(True))))
        for signer in signers:
            if signer.id in self.workers:
                continue
            account = self._account(signer)
            if account is None:
                continue
            worker = SignerWorker(
                settings=self.settings,
                db=self.db,
                contracts=self.contracts,
                chain_factory=self.chain_factory,
                hooks=self.hooks,
                signer_id=signer.id,
                brand_id=signer.brand_id,
                account=account,
            )
            self.workers[signer.id] = worker
            self._by_brand[signer.brand_id] = worker
            worker.start()

    def _account(self, signer: Signer) -> LocalAccount | None:
        if signer.keystore is None:
            if self._admin is not None and self._admin.address == signer.address:
                return self._admin
            log.error("sender: no key for signer %s", signer.address)
            return None
        return unlock_keystore(signer.keystore, self.settings.passphrase())

    def status(self) -> list[dict[str, Any]]:
        return [
            {
                "address": w.address,
                "brand_row_id": w.brand_id,
                "healthy": w.healthy,
                "last_error": w.last_error,
            }
            for w in self.workers.values()
        ]
