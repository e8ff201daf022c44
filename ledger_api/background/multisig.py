"""An alliance admin that is a multisig: the gateway holds no admin key (issue 14).

Without `LEDGER_ADMIN_PRIVATE_KEY` (allowed in production), an admin operation (onboard a
brand, suspend it, change its point value, set a tier rule or the campaigns' multiplier cap,
pause or unpause the ledger, fund a signer) is stored in the
admin queue, which no signer sends, and its answer carries the transaction the multisig
executes: `admin_transaction(contracts, payload)` = {"to", "data", "value", "chain_id"}
(the admin's settlement of a pair, `POST /v1/settlement/settle`, answers the same way)
(`to` an EIP-55 address, `data` 0x-hex calldata, `value` wei as a decimal string).

`AdminWatcher` (a thread of the process that indexes) then looks for each queued admin
operation's effect in the index (and, for an onboarding, the ledger's `brandOf(signer)`) and
settles the operation `confirmed` once it is there, as the sender would after a receipt, in
one transaction: the brand rule that follows (`domain.brands.after_admin_operation`), the
sender's `result` for the kind (null where the transaction tells nothing more; a settlement's
`SettlementPaid`, with its transaction, from the index's row) and the admin's
`operation.confirmed` (`webhooks.outbox`, its id the operation's: written once). An effect
that is already in place when the operation is queued (suspending a suspended brand) settles
it at once: the state asked for holds. The watcher fails no operation: one the multisig never
executes stays `queued`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger_api.background.indexer.cursor import (
    LEDGER_PAUSED,
    indexed_max_multiplier,
    indexed_order_floor,
)
from ledger_api.background.notify import Settled
from ledger_api.background.sender.txplan import event_result, single_call
from ledger_api.background.webhooks.outbox import operation_events, write_events
from ledger_api.chain.contracts import Contracts
from ledger_api.chain.port import Chain
from ledger_api.db import Database
from ledger_api.db.models import (
    IdxBrand,
    IdxMeta,
    IdxPosition,
    IdxSettlement,
    IdxTierRule,
    Operation,
)
from ledger_api.db.types import utcnow
from ledger_api.db.webhook_models import OutboxEvent
from ledger_api.domain import OpKind, OpStatus
from ledger_api.domain import events as ev
from ledger_api.domain.brands import after_admin_operation
from ledger_api.domain.ids import LedgerBrandId
from ledger_api.model.payloads import (
    DailyCapPayload,
    FundSignerPayload,
    MaxMultiplierPayload,
    OnboardBrandPayload,
    OperationPayload,
    OrderFloorPayload,
    PausePayload,
    PointValuePayload,
    ReturnWindowPayload,
    SettlePayload,
    SuspendBrandPayload,
    TierRulePayload,
    concerned_brand,
    payload_of,
)
from ledger_api.process.threads import name_this_thread

log = logging.getLogger(__name__)

#: how far a node's block time may lag the gateway's clock (a settlement's row is looked for
#: from the operation's creation less this)
CLOCK_SKEW_S = 60


class Landed(NamedTuple):
    """An admin operation whose effect is in place: its result as the sender would store it
    (`{}`: none), and the transaction when the index names it (a settlement's)."""

    result: dict[str, Any]
    tx_hash: str | None = None
    block_number: int | None = None


def admin_transaction(contracts: Contracts, payload: OperationPayload) -> dict[str, Any]:
    """The transaction the multisig executes for an admin operation's payload."""
    call = single_call(contracts, payload)
    return {
        "to": call.to,
        "data": "0x" + call.data.hex(),
        "value": str(call.value),
        "chain_id": contracts.chain_id,
    }


class AdminWatcher(threading.Thread):
    """Settles queued admin operations once the multisig's transaction shows in the index."""

    def __init__(
        self,
        *,
        db: Database,
        contracts: Contracts,
        chain_factory: Callable[[], Chain],
        settled: Callable[[Mapping[str, Settled]], None],
        poll_s: float,
    ) -> None:
        super().__init__(name="admin-watcher", daemon=True)
        self.db = db
        self.contracts = contracts
        self.chain_factory = chain_factory
        self.settled = settled
        self.poll_s = poll_s
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        name_this_thread("admin-watcher")
        # said once: a production gateway without LEDGER_ADMIN_PRIVATE_KEY became a multisig's
        # without a word (a new user's trial)
        log.info(
            "the admin is a multisig (no LEDGER_ADMIN_PRIVATE_KEY): admin operations answer with "
            "the transaction to execute, and are confirmed once it lands"
        )
        chain = self.chain_factory()
        while not self._halt.wait(self.poll_s):
            try:
                self.step(chain)
            except Exception:  # the chain or the database away: the next turn tries again
                log.exception("admin watcher: could not look for landed admin operations")

    def step(self, chain: Chain) -> int:
        """One look at every queued admin operation; returns how many it settled."""
        with self.db.read() as session:
            queued = list(
                session.execute(
                    select(
                        Operation.id, Operation.kind, Operation.payload, Operation.created_at
                    ).where(Operation.brand_id.is_(None), Operation.status == OpStatus.QUEUED)
                )
            )
            landed = []
            for op_id, kind, stored, created_at in queued:
                payload = payload_of(kind, stored)
                effect = self._landed(session, chain, payload, created_at)
                if effect is not None:
                    landed.append((op_id, payload, effect))
        settled: dict[str, Settled] = {}
        for op_id, payload, effect in landed:
            with self.db.write() as session:
                op = session.get_one(Operation, op_id)
                if op.status != OpStatus.QUEUED:
                    continue
                op.status = OpStatus.CONFIRMED.value
                op.result = effect.result or None  # as the sender stores it (`_final_values`)
                op.tx_hash, op.block_number = effect.tx_hash, effect.block_number
                op.updated_at = utcnow()
                brand_id = effect.result.get("brand_id")
                after_admin_operation(
                    session,
                    payload,
                    confirmed=True,
                    onboarded_as=LedgerBrandId(brand_id) if brand_id is not None else None,
                    uid=op.uid,
                    indexed=True,  # the watcher found its effect in the index
                )
                session.flush()
                state = Settled.of(op, concerned_brand(op.kind, op.payload, op.result))
                # the admin's operation.confirmed, in the transaction that confirms it
                write_events(session, operation_events([state], admins=True))
                settled[op.uid] = state
        if settled:
            self.settled(settled)
        return len(settled)

    def _landed(
        self, session: Session, chain: Chain, payload: OperationPayload, created_at: datetime
    ) -> Landed | None:
        """The operation's result when its effect is in the index, else None."""
        result = self._result(session, chain, payload)
        if isinstance(payload, PausePayload):
            return _pause_landed(session, payload, created_at, result)
        if isinstance(payload, SettlePayload):  # what is below a token unit stays owed
            paid = _settlement(session, payload, created_at)
            return paid or (Landed({}) if result is not None else None)
        if result is None:
            return None
        return Landed(result)

    def _result(
        self, session: Session, chain: Chain, payload: OperationPayload
    ) -> dict[str, Any] | None:
        """What the operation produced when its effect is in the index, else None."""
        match payload:
            case OnboardBrandPayload():
                call = self.contracts.brand_of_call(payload.signer)
                brand = int.from_bytes(chain.call(call.to, call.data)[-32:] or b"\0", "big")
                if brand == 0 or session.get(IdxBrand, brand) is None:
                    return None
                return {"brand_id": brand}
            case (
                SuspendBrandPayload()
                | PointValuePayload()
                | DailyCapPayload()
                | ReturnWindowPayload()
            ):
                return _brand_result(session.get(IdxBrand, payload.brand), payload)
            case TierRulePayload():
                rule = session.get(IdxTierRule, payload.tier)
                wanted = (
                    payload.spend_cents,
                    payload.orders,
                    payload.engagements,
                    payload.gift_points,
                )
                if rule is None:
                    return None
                have = (rule.spend_cents, rule.orders, rule.engagements, rule.gift_points)
                return {} if have == wanted else None
            case MaxMultiplierPayload() | OrderFloorPayload() | PausePayload():
                return _globals_result(session, payload)
            case FundSignerPayload():
                return {} if chain.balance(payload.address) >= int(payload.value_wei) else None
            case SettlePayload():  # landed (with no settlement) once the debtor owes nothing
                lo, hi = sorted((payload.debtor, payload.creditor))
                position = session.get(IdxPosition, (lo, hi))
                amount = position.amount_micro_usd if position else 0
                owed = amount if payload.debtor == lo else -amount
                return {} if owed <= 0 else None
        log.error("admin watcher: a %s is not an admin operation", type(payload).__name__)
        return None


def _globals_result(
    session: Session, payload: MaxMultiplierPayload | OrderFloorPayload | PausePayload
) -> dict[str, Any] | None:
    """An act on the ledger's globals word, once the index shows its setting."""
    match payload:
        case MaxMultiplierPayload():
            landed = indexed_max_multiplier(session) == payload.max_multiplier_pct
            return {} if landed else None
        case OrderFloorPayload():
            return {} if indexed_order_floor(session) == payload.order_floor_usd else None
        case PausePayload():
            paused = session.get(IdxMeta, LEDGER_PAUSED)
            landed = (paused is not None and paused.value == "1") == payload.paused
            return {"paused": payload.paused} if landed else None


def _pause_landed(
    session: Session, payload: PausePayload, created_at: datetime, holds: dict[str, Any] | None
) -> Landed | None:
    """A pause or unpause: the index's `ledger.paused` (`ledger.unpaused`) since it was queued,
    with its transaction (the ledger may have been paused and lifted again before the watcher
    looked: a trial's stayed queued, then took a later pause's), else the state asked for
    holding now (already in place when queued)."""
    wanted = ev.LEDGER_PAUSED if payload.paused else ev.LEDGER_UNPAUSED
    since = created_at - timedelta(seconds=CLOCK_SKEW_S)
    row = session.scalar(
        select(OutboxEvent)
        .where(OutboxEvent.type == wanted, OutboxEvent.occurred_at >= since)
        .order_by(OutboxEvent.seq)
        .limit(1)
    )
    if row is not None:
        where = row.payload["chain"]
        return Landed({"paused": payload.paused}, where["tx_hash"], where["block_number"])
    return Landed(holds) if holds is not None else None


def _settlement(session: Session, payload: SettlePayload, created_at: datetime) -> Landed | None:
    """A landed settlement's result as the sender reads it from `SettlementPaid` (`txplan`),
    from the index's latest settlement of the pair since the operation was queued; None when
    there is none (the vault pays whole token units, so a settled pair may still owe less than
    one: the settlement, not a cleared position, is the effect)."""
    since = int(created_at.timestamp()) - CLOCK_SKEW_S
    row = session.scalar(
        select(IdxSettlement)
        .where(
            IdxSettlement.debtor == payload.debtor,
            IdxSettlement.creditor == payload.creditor,
            IdxSettlement.timestamp >= since,
        )
        .order_by(IdxSettlement.block_number.desc(), IdxSettlement.log_index.desc())
        .limit(1)
    )
    if row is None:
        return None
    paid = {
        "debtor": row.debtor,
        "creditor": row.creditor,
        "valueMicroUsd": row.value_micro_usd,
        "tokenAmount": row.token_amount,
    }
    result = event_result(OpKind.SETTLE, "SettlementPaid", paid)
    return Landed(result, row.tx_hash, row.block_number)


def _brand_result(
    row: IdxBrand | None,
    payload: SuspendBrandPayload | PointValuePayload | DailyCapPayload | ReturnWindowPayload,
) -> dict[str, Any] | None:
    """The operation's result once the index's brand row shows its setting, else None: a
    suspension's says which way (`{"suspended": ...}`, as the sender reads it from
    `BrandSuspensionChanged`, `txplan`), the others' is empty."""
    if not _brand_holds(row, payload):
        return None
    if isinstance(payload, SuspendBrandPayload):
        changed = {"suspended": payload.suspended}
        return event_result(OpKind.SUSPEND_BRAND, "BrandSuspensionChanged", changed)
    return {}


def _brand_holds(
    row: IdxBrand | None,
    payload: SuspendBrandPayload | PointValuePayload | DailyCapPayload | ReturnWindowPayload,
) -> bool:
    """Whether the index's brand row shows the admin operation's setting."""
    if row is None:
        return False
    match payload:
        case SuspendBrandPayload():
            return row.suspended == payload.suspended
        case PointValuePayload():
            return row.value_micro_usd == payload.value_micro_usd
        case DailyCapPayload():
            return row.daily_cap_points == payload.daily_cap_points
        case ReturnWindowPayload():
            return row.return_window_days == payload.days
