"""Broadcasting a stored attempt, and what a node's refusal means for the slot.

Every attempt is stored before it is sent (`SlotStore.store_new`, `.sign_and_store`); a refusal
leads to a fee bump, a no-op in the slot's place, or a pause of the signer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ledger_api.chain.port import BroadcastRejected, Chain, RejectReason
from ledger_api.db.models import TxAttempt, TxSlot

from .clock import FeeCache, Fees
from .reconcile import mined_as_ours
from .slots import SlotStore, Tx

log = logging.getLogger(__name__)


class SignerStalled(Exception):
    """The signer cannot send for now (no gas money, ...): back off and retry."""


class Broadcaster:
    """Sends one signer's attempts; `sent` remembers when this process sent each slot."""

    def __init__(
        self,
        *,
        store: SlotStore,
        fees: FeeCache,
        address: str,
        supersede: Callable[[Chain, TxSlot], None],
    ) -> None:
        self.store = store
        self.fees = fees
        self.address = address
        self.supersede = supersede
        self.sent: dict[int, float] = {}  # slot id -> when this process last broadcast it

    def out_for(self, slot: TxSlot) -> float:
        """Seconds since this process last broadcast `slot` (it did: the slot is in `sent`)."""
        return time.monotonic() - self.sent[slot.id]

    def replace(
        self, chain: Chain, slot: TxSlot, previous: TxAttempt, *, cancel: bool
    ) -> TxAttempt:
        """A replacement for the slot's nonce with higher fees (or a no-op), stored first."""
        self.fees.forget()
        fees = self.fees.current(chain).bumped_over(
            Fees(previous.max_fee_wei, previous.priority_fee_wei)
        )
        tx = Tx.noop(self.address) if cancel else Tx.of_slot(slot)
        return self.store.sign_and_store(tx, fees, kind=slot.kind, slot=slot)[1]

    # ---------------------------------------------------------------- broadcast

    def broadcast(self, chain: Chain, slot: TxSlot, attempt: TxAttempt) -> bool:
        """Sends a stored attempt. Returns True when the slot's state changed."""
        try:
            chain.send_raw(attempt.raw)
        except BroadcastRejected as rejected:
            return self._rejected(chain, slot, attempt, rejected)
        # No write here: most slots are mined within a block or two and settle; one still out
        # after a while is recorded as pending (`SignerWorker`, `RECORD_PENDING_AFTER_S`).
        self.sent[slot.id] = time.monotonic()
        return True

    def _rejected(
        self, chain: Chain, slot: TxSlot, attempt: TxAttempt, rejected: BroadcastRejected
    ) -> bool:
        self.store.set_slot(slot.id, broadcast_error=rejected.message[:500])
        match rejected.reason:
            case RejectReason.NONCE_TOO_LOW:
                return self._nonce_taken(chain, slot)
            case RejectReason.UNDERPRICED:
                bumped = self.replace(chain, slot, attempt, cancel=attempt.is_cancel)
                try:
                    chain.send_raw(bumped.raw)
                except BroadcastRejected as again:
                    self.store.set_slot(slot.id, broadcast_error=again.message[:500])
                    raise SignerStalled(f"nonce {slot.nonce}: {again.message}") from again
                self.sent[slot.id] = time.monotonic()
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
                cancel = self.replace(chain, slot, attempt, cancel=True)
                return self.broadcast(chain, slot, cancel)
        return False

    def _nonce_taken(self, chain: Chain, slot: TxSlot) -> bool:
        """The node says the slot's nonce is used: ours (receipt) or a stranger's."""
        attempts = self.store.attempts([slot.id])[slot.id]
        if mined_as_ours(chain, [[a.tx_hash for a in attempts]])[0]:
            return False  # ours: the next track cycle settles it
        log.error(
            "sender %s: nonce %d was consumed by a transaction that is not ours",
            self.address,
            slot.nonce,
        )
        self.supersede(chain, slot)
        return True
