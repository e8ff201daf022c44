"""Settling: what a mined (or superseded) slot means for each of its operations.

Each operation gets its own outcome (confirmed with a result, failed with a code, or
back to the queue); the slots a cycle found mined and their operations are written in one
transaction, together with the brand rule that follows an admin operation
(`ledger_api.domain.brands`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger_api.background.campaigns import referral_earns_failed
from ledger_api.background.deployment_guard import DeploymentGuard
from ledger_api.background.indexer.cursor import stored_height
from ledger_api.background.notify import Settled
from ledger_api.background.webhooks.outbox import operation_events, write_events
from ledger_api.chain.contracts import Contracts
from ledger_api.chain.port import Chain, Receipt
from ledger_api.db import Database
from ledger_api.db.models import Brand, Operation, TxSlot
from ledger_api.db.types import utcnow
from ledger_api.domain import OpKind, OpStatus, SlotStatus
from ledger_api.domain.brands import after_admin_operation
from ledger_api.domain.ids import BrandRowId, LedgerBrandId
from ledger_api.errors import ChainUnavailable, LedgerError, LedgerPaused
from ledger_api.model.payloads import concerned_brand, payload_of
from ledger_api.settings import Settings

from . import earlier, txplan
from .already import asked_state_holds
from .pause import paused_at
from .slot_rows import settle_slots, take_back, update_operations
from .slots import SlotStore
from .txplan import OpRecord, Outcome, Verdict


class _SlotOutcomes(NamedTuple):
    """A slot to settle: its operations, the outcome of each, its receipt, its new status."""

    slot_id: int
    ops: Sequence[OpRecord]
    outcomes: Mapping[int, Outcome]
    receipt: Receipt | None
    status: SlotStatus


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


class Settler:
    """Applies receipts (and lost nonces) to one signer's operations."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        contracts: Contracts,
        hooks: SenderHooks,
        store: SlotStore,
        address: str,
        brand_row_id: BrandRowId | None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.contracts = contracts
        self.guard = DeploymentGuard(contracts, db)
        self.hooks = hooks
        self.store = store
        self.address = address
        self.brand_row_id = brand_row_id
        self._ledger_brand_id: LedgerBrandId | None = None
        self.earlier = earlier.Earlier(db, contracts, self._brand_ids)

    def settle(self, chain: Chain, mined: Sequence[tuple[TxSlot, Receipt, bool]]) -> None:
        """Applies receipts, `(slot, its receipt, whether it is the slot's cancel)` each in
        nonce order, to the slots' operations, each operation with its own outcome; every slot
        in one write transaction (a turn of SQLite's one writer lock for all that one cycle
        found mined). When a slot's outcomes cannot be worked out (the node went away while
        replaying a revert), the slots before it settle and the error is raised after."""
        ops = self.store.slot_operations([slot.id for slot, _, _ in mined])
        settling: list[_SlotOutcomes] = []
        failure: Exception | None = None
        for slot, receipt, cancelled in mined:
            try:
                outcomes = self._outcomes(chain, slot, receipt, ops[slot.id], cancelled=cancelled)
            except Exception as exc:  # the later slots wait for the next cycle
                failure = exc
                break
            settling.append(
                _SlotOutcomes(slot.id, ops[slot.id], outcomes, receipt, SlotStatus.CONFIRMED)
            )
        if settling:
            self.hooks.operations_settled(self._apply_outcomes(settling))
        if failure is not None:
            raise failure

    def _outcomes(
        self,
        chain: Chain,
        slot: TxSlot,
        receipt: Receipt,
        ops: Sequence[OpRecord],
        *,
        cancelled: bool,
    ) -> dict[int, Outcome]:
        """What the receipt means for each of the slot's operations."""
        if receipt.status == 1 and not receipt.logs and ops and not cancelled:
            # none of our calls succeeds without a log but a reclaim of nothing: a node that
            # lost the deployment runs them against addresses with no code (`ChainUnavailable`
            # then: nothing is settled until it holds the deployment again)
            self.guard.verify(chain)
        if cancelled or not ops:
            return self.earlier.requeue_outcomes(chain, ops)
        stopped = OpKind(ops[0].kind).stopped_by_pause  # not `pause()` itself: it fails
        if receipt.status != 1 and stopped and paused_at(self.contracts, chain, receipt):
            # sent before the pause, run after it: queued again whatever its attempts, where
            # it waits for the unpause (`pause`)
            return {op.id: Outcome(Verdict.REQUEUE) for op in ops}
        if slot.kind == txplan.EARN_BATCH:
            if receipt.status == 1:
                outcomes = txplan.earn_outcomes(self.contracts, ops, receipt)
                return {
                    op.id: self.earlier.judge(chain, op, receipt.block_number, outcomes[op.id])
                    for op in ops
                }
            return {op.id: self._retry_or_fail(op, "tx_reverted") for op in ops}
        if receipt.status == 1:
            return {
                op.id: Outcome(Verdict.CONFIRMED, txplan.single_result(self.contracts, op, receipt))
                for op in ops
            }
        return {op.id: self._explain_revert(chain, slot, op) for op in ops}

    def supersede(self, chain: Chain, slot: TxSlot) -> bool:
        """The slot's nonce went to a stranger's transaction: nothing of ours was applied.
        Returns whether the transaction was a stranger's indeed: no operation of the slot
        found applied by its own credit (else ours, its receipt later than we waited)."""
        ops = self.store.slot_operations([slot.id])[slot.id]
        outcomes = self.earlier.requeue_outcomes(chain, ops)
        settled = self._apply_outcomes(
            [_SlotOutcomes(slot.id, ops, outcomes, None, SlotStatus.SUPERSEDED)]
        )
        self.hooks.operations_settled(settled)
        return not any(o.verdict is Verdict.CONFIRMED for o in outcomes.values())

    def settle_refused(
        self, ops: Sequence[OpRecord], error: LedgerError, chain: Chain | None = None
    ) -> None:
        """Operations the chain would reject fail now: no transaction, no nonce used; but one
        refused because what it asks is in place already is confirmed
        (`already.asked_state_holds`, which may read the chain: before the write transaction,
        so no node round trip holds the database's writer lock)."""
        settled: list[Settled] = []
        now = utcnow()
        ledger_brand_id = self._own_ledger_brand_id()
        redeemed = self._escrow_redeemed(chain) if chain is not None else None
        holds = {op.id: asked_state_holds(op.kind, op.payload, error, redeemed) for op in ops}
        with self.db.write() as session:
            rows = session.scalars(
                select(Operation)
                .where(Operation.id.in_(list(holds)), Operation.status == OpStatus.QUEUED)
                .with_for_update()
            )
            for op in rows:
                held = holds[op.id]
                outcome = (
                    Outcome(Verdict.CONFIRMED, held)
                    if held is not None
                    else Outcome(Verdict.FAILED, code=error.error_code)
                )
                op.status = OpStatus.CONFIRMED if held is not None else OpStatus.FAILED
                op.keys_released_at = now  # its nonce and order are free again
                op.result = held
                op.error_code = None if held is not None else error.error_code
                op.error_message = None if held is not None else error.message
                op.updated_at = now
                self._follow_brand_rule(session, op, outcome, None)  # refused before sending
                values = {
                    "status": op.status,
                    "tx_hash": None,
                    "block_number": None,
                    "result": held,
                    "error_code": op.error_code,
                    "error_message": op.error_message,
                    "updated_at": now,
                }
                settled.append(self._settled(op, values, ledger_brand_id))
                if held is None:  # a campaign's referral earn waits again (`campaigns`)
                    referral_earns_failed(session, [(op.uid, op.brand_id, op.payload)])
            write_events(session, operation_events(settled, admins=self.brand_row_id is None))
        self.hooks.operations_settled({state.uid: state for state in settled})

    # --------------------------------------------------------------- outcomes

    def _retry_or_fail(self, op: OpRecord, code: str) -> Outcome:
        if op.attempts >= self.settings.max_op_attempts:
            return Outcome(
                Verdict.FAILED, code=code, message=f"gave up after {op.attempts} transactions"
            )
        return Outcome(Verdict.REQUEUE)

    def _explain_revert(self, chain: Chain, slot: TxSlot, op: OpRecord) -> Outcome:
        """A single operation's transaction reverted (not for the pause): replay it to learn
        why. Paused since: back to the queue, where it waits for the unpause."""
        error = self._replay(chain, slot)
        if error is None:
            return self._retry_or_fail(op, "tx_reverted")
        if isinstance(error, LedgerPaused) and OpKind(op.kind).stopped_by_pause:
            return Outcome(Verdict.REQUEUE)
        held = asked_state_holds(op.kind, op.payload, error, self._escrow_redeemed(chain))
        if held is not None:
            return Outcome(Verdict.CONFIRMED, held)
        # a reversal whose op id an earlier transaction of ours applied (also one of this
        # database before it was restored): its credit on chain decides (`judge`)
        if error.error_code == "operation_used" and op.kind == OpKind.REVERSAL:
            earlier = Outcome(Verdict.CONFIRMED, {"applied_earlier": True})
            return self.earlier.judge(chain, op, chain.block_number(), earlier)
        return Outcome(Verdict.FAILED, code=error.error_code, message=error.message)

    def _escrow_redeemed(self, chain: Chain) -> Callable[[str], bool]:
        """Whether an auction escrow's nonce is used: its one redemption, the bid's, is done."""

        def redeemed(escrow: str) -> bool:
            codec = self.contracts.ledger["nonces"]
            (used,) = codec.decode(chain.call(self.contracts.ledger_address, codec.encode(escrow)))
            return int(used) != 0

        return redeemed

    def _replay(self, chain: Chain, slot: TxSlot) -> LedgerError | None:
        """Why the slot's transaction would revert now (None: it would not); raises
        `ChainUnavailable`."""
        try:
            chain.call(slot.to_address, slot.calldata, sender=self.address)
        except ChainUnavailable:
            raise
        except LedgerError as error:
            return error
        return None

    def _brand_ids(self) -> tuple[int, int] | None:
        """This signer's brand: its ledger id and row id (None: the admin's, or onboarding)."""
        ledger_brand_id = self._own_ledger_brand_id()
        if ledger_brand_id is None or self.brand_row_id is None:
            return None
        return int(ledger_brand_id), int(self.brand_row_id)

    def _own_ledger_brand_id(self) -> LedgerBrandId | None:
        """The ledger's id of this signer's brand (fixed once the brand is onboarded)."""
        if self.brand_row_id is None:
            return None
        if self._ledger_brand_id is None:
            with self.db.read() as session:
                onboarded = session.get_one(Brand, self.brand_row_id).ledger_id
            self._ledger_brand_id = LedgerBrandId(onboarded) if onboarded is not None else None
        return self._ledger_brand_id

    def _apply_outcomes(self, slots: Sequence[_SlotOutcomes]) -> dict[str, Settled]:
        """Settles the slots and each of their operations in one transaction (bulk update).

        Returns the final state of the operations that became final (not the re-queued)."""
        now = utcnow()
        ledger_brand_id = self._own_ledger_brand_id()
        pairs: list[tuple[OpRecord, dict[str, Any]]] = []
        with self.db.write() as session:
            for _, ops, outcomes, receipt, _ in slots:
                pairs += (
                    (
                        op,
                        _final_values(op, _own(session, op, outcomes[op.id]), receipt, now),
                    )
                    for op in ops
                )
            settle_slots(session, [(s.slot_id, s.status, s.receipt) for s in slots], now)
            update_operations(session, [values for _, values in pairs])
            failed = [op for op, values in pairs if values["status"] == OpStatus.FAILED]
            referral_earns_failed(session, ((o.uid, o.brand_id, o.payload) for o in failed))
            # reopened by a forgotten block while a later one held their keys: applied now
            taken = [
                op.id
                for op, values in pairs
                if values["status"] == OpStatus.CONFIRMED and op.keys_released_at is not None
            ]
            if taken:
                take_back(session, taken, now)
            for _, ops, outcomes, receipt, _ in slots:
                for op in ops:
                    if outcomes[op.id].verdict is not Verdict.REQUEUE:
                        self._follow_brand_rule(session, op, outcomes[op.id], receipt)
            final = {
                op.uid: self._settled(op, values, ledger_brand_id)
                for op, values in pairs
                if values["status"] != OpStatus.QUEUED
            }
            # the outbox's operation.confirmed / operation.failed, in the same transaction
            write_events(
                session, operation_events(final.values(), admins=self.brand_row_id is None)
            )
        return final

    def _follow_brand_rule(
        self, session: Session, op: OpRecord, outcome: Outcome, receipt: Receipt | None
    ) -> None:
        """An admin operation's outcome moves the brand's local state (domain.brands)."""
        if not OpKind(op.kind).admin:
            return
        confirmed = outcome.verdict is Verdict.CONFIRMED
        onboarded_as = outcome.result.get("brand_id") if confirmed else None
        changed = after_admin_operation(
            session,
            payload_of(op.kind, op.payload),
            confirmed=confirmed,
            onboarded_as=LedgerBrandId(int(onboarded_as)) if onboarded_as is not None else None,
            uid=op.uid,
            indexed=receipt is not None and stored_height(session) >= receipt.block_number,
        )
        if changed:
            self.hooks.brands_changed()

    @staticmethod
    def _settled(
        op: OpRecord, values: Mapping[str, Any], ledger_brand_id: LedgerBrandId | None
    ) -> Settled:
        """The operation's final state: with this signer's brand, or, on the admin's queue,
        the brand the operation acts on (`concerned_brand`), as `GET /v1/operations` shows."""
        return Settled(
            uid=op.uid,
            kind=op.kind,
            status=OpStatus(values["status"]).value,
            ledger_brand_id=ledger_brand_id
            if op.brand_id is not None
            else concerned_brand(op.kind, op.payload, values["result"]),
            op_id=op.op_id,
            tx_hash=values["tx_hash"],
            block_number=values["block_number"],
            result=values["result"],
            error_code=values["error_code"],
            error_message=values["error_message"],
            created_at=op.created_at,
            updated_at=values["updated_at"],
        )


def _own(session: Session, op: OpRecord, outcome: Outcome) -> Outcome:
    """`outcome`, unless another earn of the order applied the op id they share (a retry of a
    failed earn carries its op id, `intake`). An earn whose op id the ledger marks used on a
    later attempt (`applied_earlier`) was applied by an earlier transaction of its own unless
    such an earn is confirmed: then that one applied it, and this one fails. An earn the
    ledger refused for its used op id (`operation_used`) names the earn that holds it (its
    member and points: a retry may have named others). Read only for those two outcomes."""
    earlier = bool(outcome.result.get("applied_earlier"))
    if not (earlier or outcome.code == "operation_used"):
        return outcome
    if op.kind != OpKind.EARN or op.op_id is None:
        return outcome
    statuses = [OpStatus.CONFIRMED.value]
    if not earlier or op.attempts <= 1:  # a first attempt finds the op id used (`txplan`):
        # the other earn, reopened by a forgotten block, may settle in this same transaction
        statuses.append(OpStatus.SUBMITTED.value)
    holder = session.execute(
        select(Operation.uid, Operation.member, Operation.points)
        .where(
            Operation.brand_id == op.brand_id,
            Operation.op_id == op.op_id,
            Operation.id != op.id,
            Operation.status.in_(statuses),
        )
        .order_by(Operation.id)
        .limit(1)
    ).first()
    if holder is None:
        return outcome
    message = (
        f"op id {op.op_id} is applied for operation {holder.uid} of this order (member"
        f" {holder.member}, {holder.points} points): the order is credited once"
    )
    return Outcome(Verdict.FAILED, code="operation_used", message=message)


def _final_values(
    op: OpRecord, outcome: Outcome, receipt: Receipt | None, now: datetime
) -> dict[str, Any]:
    """The operation's new row values for its outcome."""
    requeue = outcome.verdict is Verdict.REQUEUE
    mined = receipt if receipt is not None and not requeue else None
    applied = outcome.applied_by if outcome.verdict is Verdict.CONFIRMED else None
    status = {
        Verdict.REQUEUE: OpStatus.QUEUED,
        Verdict.CONFIRMED: OpStatus.CONFIRMED,
        Verdict.FAILED: OpStatus.FAILED,
    }[outcome.verdict]
    return {
        "id": op.id,
        "status": status,
        # a final operation stays in its slot: naming the column would rewrite its index
        **({"slot_id": None} if requeue else {}),
        "tx_hash": applied[0] if applied else mined.tx_hash if mined else None,
        "block_number": applied[1] if applied else mined.block_number if mined else None,
        "result": (outcome.result or None) if not requeue else None,
        "error_code": outcome.code,
        "error_message": outcome.message,
        "updated_at": now,
        # only a failure names it: an UPDATE that sets it rewrites the unique indexes of
        # nonces and orders (`Operation.keys_released_at`)
        **({"keys_released_at": now} if status is OpStatus.FAILED else {}),
    }


__all__ = ["SenderHooks", "Settler"]
