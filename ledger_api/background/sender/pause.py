"""The alliance's one pause, as a signer meets it (`AllianceLedger.pause`, which every contract
obeys with `EnforcedPause()`).

An operation the chain refuses as paused is never failed for it: it stays queued and goes once
the ledger is unpaused (docs/gateway.md, "The ledger's pause"). Two things keep that true:

- `PauseWatch`: once a signer's gas estimate met the pause, its turns plan only the kinds the
  pause does not stop (`domain.RUN_WHILE_PAUSED`: a brand's suspension, its return window,
  onboarding and a signer's funding share the admin's queue with its paused work, and a
  queue's first groups held back once blocked them all, a trial), asking the ledger's
  `paused()` each turn until it is lifted;
- `already.asked_state_holds`: a pause or unpause the chain refuses because the ledger
  already is so is confirmed (`already`), never failed;
- `paused_at`: a transaction that reverted is requeued, whatever its attempts, when the ledger
  was paused where it ran in its block (a replay at the head missed a pause lifted since, a
  trial: the operation failed `tx_reverted` after its attempts).
"""

from __future__ import annotations

from ledger_api.chain.contracts import Contracts
from ledger_api.chain.manifest import LEDGER
from ledger_api.chain.port import BlockTag, Chain, Receipt
from ledger_api.domain import RUN_WHILE_PAUSED, OpKind
from ledger_api.errors import ChainUnavailable

from .slots import SlotStore

#: the kinds a paused ledger still takes, as the operations table stores them
RUNNABLE_WHILE_PAUSED = frozenset(kind.value for kind in RUN_WHILE_PAUSED)
#: the kinds it refuses
STOPPED_BY_PAUSE = frozenset(kind.value for kind in OpKind if kind.stopped_by_pause)


def chain_paused(contracts: Contracts, chain: Chain, tag: BlockTag = "latest") -> bool:
    """The ledger's `paused()` as of `tag`; raises `ChainUnavailable`."""
    call = contracts.paused_call()
    return bool(contracts.ledger["paused"].decode(chain.call(call.to, call.data, tag=tag))[0])


class PauseWatch:
    """One signer's view of the pause: `paused` since a turn's estimate met `EnforcedPause()`
    until `paused()` says it was lifted; `held`: its queued operations the chain refuses now."""

    def __init__(self, contracts: Contracts, store: SlotStore) -> None:
        self.contracts = contracts
        self.store = store
        self.paused = False
        self.held = 0

    def runnable(self, chain: Chain) -> frozenset[str] | None:
        """The kinds this turn may plan: None (all) unless the ledger is paused. Costs one
        `eth_call` and one count per turn while paused, nothing otherwise."""
        if self.paused:
            self.paused = chain_paused(self.contracts, chain)
        if not self.paused:
            self.held = 0
            return None
        self.held = self.store.queued_count(None, STOPPED_BY_PAUSE)
        return RUNNABLE_WHILE_PAUSED

    def refused(self, count: int) -> None:
        """A group of `count` operations met `EnforcedPause()` at its estimate: kept queued."""
        self.paused = True
        self.held += count


def paused_at(contracts: Contracts, chain: Chain, receipt: Receipt) -> bool:
    """Whether the ledger was paused where the receipt's transaction ran: `paused()` as of the
    block before, then the block's `Paused` / `Unpaused` from transactions before it (a call,
    the block's transactions and its ledger logs: only for a transaction that reverted)."""
    number = receipt.block_number
    try:
        paused = chain_paused(contracts, chain, number - 1)
    except ChainUnavailable:  # a node that no longer holds that block's state: its head's
        paused = chain_paused(contracts, chain)
    order = {ref.tx_hash: i for i, ref in enumerate(chain.block_transactions(number))}
    ours = order.get(receipt.tx_hash, len(order))
    logs = chain.logs([contracts.ledger_address], number, number)
    for log in sorted(logs, key=lambda lg: lg.log_index):
        event = contracts.events.decode(log)
        if event is None or event.contract != LEDGER or event.name not in _PAUSE_EVENTS:
            continue
        if order.get(log.tx_hash, ours) < ours:
            paused = event.name == "Paused"
    return bool(paused)


_PAUSE_EVENTS = ("Paused", "Unpaused")
