"""Reconciling a signer's nonces with the chain's, on start and after the node was away.

Confirmed slots whose block the chain no longer holds (it forgot blocks: a development node
restarted from an older state snapshot, or a reorg deeper than the confirmation depth) are
reopened with their operations (`forgotten`), slots the chain forgot are broadcast again
(same bytes, same nonce), a nonce consumed by a
stranger's transaction is found and its operations are re-queued (earns keep their op id,
which the ledger refuses to apply twice), a database counter behind the chain moves up,
and a nonce the database allocated but holds no transaction for is filled with a no-op.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from sqlalchemy import select

from ledger_api.chain.lag import NodeBehind
from ledger_api.chain.port import Block, Chain
from ledger_api.db.models import Signer, TxSlot
from ledger_api.db.types import utcnow
from ledger_api.domain import SlotStatus
from ledger_api.errors import ChainUnavailable
from ledger_api.settings import Settings

from . import txplan
from .clock import FeeCache
from .slots import SlotStore, Tx

log = logging.getLogger(__name__)

#: confirmed slots checked against the chain per database read when looking for lost ones
REOPEN_PAGE = 200
#: how long a nonce the chain counts as used may lack the receipt of our transaction that
#: used it before it counts as a stranger's (seconds), and the pause between two asks
RECEIPT_LAG_S = 2.0
RECEIPT_LAG_POLL_S = 0.1


def mined_as_ours(chain: Chain, slots: Sequence[Sequence[str]]) -> list[bool]:
    """For each slot (its attempts' hashes), whether one of them has a receipt: the nonce the
    chain counts as used went to one of ours. A node may count the nonce a moment before it
    serves the receipts of the block that used it (anvil did, under load), so the slots
    without one are asked about again, together, for up to `RECEIPT_LAG_S` before their
    nonce counts as a stranger's: taken for one, our applied transaction's operations were
    queued again (an earn found applied, any other kind sent a second time)."""
    deadline = time.monotonic() + RECEIPT_LAG_S
    found = [False] * len(slots)
    while True:
        missing = [i for i, ours in enumerate(found) if not ours]
        receipts = chain.receipts([h for i in missing for h in slots[i]])
        for i in missing:
            found[i] = any(receipts.get(h) for h in slots[i])
        if all(found) or time.monotonic() >= deadline:
            return found
        time.sleep(RECEIPT_LAG_POLL_S)


class ForeignNonces:
    """This signer's nonces that transactions the gateway did not make used: a slot's nonce
    taken, or the chain's nonce found ahead of the database's at a reconciliation. Another
    sender holds its key (the brand itself, or a second database of this deployment, whose
    earns take the same op ids: `earlier`), or this database was restored from an older
    backup. The signer reads unhealthy, and the health degraded, for `WINDOW_S` after the
    last one (the operations still go: each stranger's nonce sends its slot's operations
    again)."""

    WINDOW_S = 600.0

    def __init__(self) -> None:
        self.count = 0
        #: (monotonic, first nonce, last nonce, UTC ISO time) of the last sighting
        self._last: tuple[float, int, int, str] | None = None

    def saw(self, nonce: int, last: int | None = None) -> None:
        """Nonces `nonce` to `last` (default: `nonce` alone) went to strangers' transactions
        (a restart found the chain's nonce several ahead: each counts, a review's health
        said 1 where the log named 3)."""
        last = nonce if last is None else last
        self.count += last - nonce + 1
        self._last = (time.monotonic(), nonce, last, utcnow().isoformat(timespec="seconds"))

    def problem(self) -> str | None:
        """The health's words for the last one, within `WINDOW_S`; None otherwise."""
        if self._last is None or time.monotonic() - self._last[0] > self.WINDOW_S:
            return None
        _, first, last, at = self._last
        used = (
            f"nonce {first} was used by a transaction"
            if first == last
            else f"nonces {first} to {last} were used by transactions"
        )
        return (
            f"foreign_sender: {used} this gateway did not make, at {at} ({self.count} such"
            " nonces since start): another sender holds this signer's key (the brand itself,"
            " or a second database of this deployment), or this database was restored from an"
            " older backup"
        )


class Reconciler:
    def __init__(
        self,
        *,
        settings: Settings,
        store: SlotStore,
        fees: FeeCache,
        address: str,
        supersede: Callable[[Chain, TxSlot], None],
    ) -> None:
        self.settings = settings
        self.store = store
        self.fees = fees
        self.address = address
        self.supersede = supersede
        self.foreign = ForeignNonces()  # the nonces strangers' transactions used (health)
        self.lag = NodeBehind(settings.node_lag_patience_s)  # a node behind our blocks
        self.behind: str | None = None  # why `went_back` waits for the node (health)

    def reconcile(self, chain: Chain) -> None:
        """Brings the database and the chain to agree about this signer's nonces."""
        self.forgotten(chain)
        latest = chain.nonce(self.address, "latest")
        pending = chain.nonce(self.address, "pending")
        next_nonce = self._reopen(latest, pending)
        if latest > next_nonce or pending > next_nonce:
            self._adopt_foreign_nonces(chain, next_nonce, latest, pending)
        self._settle_lost_slots(chain, latest)
        self.fill_gaps(chain, latest)

    def went_back(self, chain: Chain) -> bool:
        """Whether the block of this signer's newest confirmed slot left the chain (one
        block read; the worker asks about once a second)."""
        newest = self.newest_confirmed()
        if newest is None:
            return False
        block, self.behind = chain.block(newest[0]), None
        if block is not None:
            self.lag.reset()
        elif self.lag.waits(head := chain.block_number(), newest[0]):
            # a lagging node: its block is asked for again at the next check
            self.behind = self.lag.said(head, newest[0], "a transaction was mined in")
            return False
        return block_left(block, newest[1])

    def problem(self) -> str | None:
        """What the signer's health says of the chain: a node behind its blocks, or a
        stranger's use of its nonces (`ForeignNonces`)."""
        return self.behind or self.foreign.problem()

    def newest_confirmed(self) -> tuple[int, str] | None:
        """(block number, block hash) of this signer's newest confirmed slot, if any."""
        newest = self.store.confirmed_newest_first(1)
        return (newest[0][2], newest[0][3]) if newest else None

    def forgotten(self, chain: Chain) -> int:
        """Reopens the confirmed slots whose block is no longer on the chain, newest first,
        down to the first one whose block still is (blocks chain by hash: everything below
        it is still there). Returns how many slots were reopened.

        Their operations turn `submitted` again; tracking then reads each slot's receipt
        again (a reorg may have mined the same transaction in another block) or sends the
        same signed bytes again, so each applies exactly once (and the ledger refuses an
        earn's op id twice). Raises `ChainUnavailable` while the node's head is below the
        newest confirmed slot's block within `Settings.node_lag_patience_s` (`chain.lag`)."""
        newest = self.newest_confirmed()
        if newest is not None:
            head = chain.block_number()
            if self.lag.waits(head, newest[0]):
                raise ChainUnavailable(self.lag.said(head, newest[0], "a transaction was mined in"))
        blocks: dict[int, str | None] = {}
        total = 0
        while True:
            page = self.store.confirmed_newest_first(REOPEN_PAGE)
            lost: list[tuple[int, int]] = []
            anchored = False
            for slot_id, nonce, number, block_hash in page:
                if number not in blocks:
                    block = chain.block(number)
                    blocks[number] = block.hash if block is not None else None
                if blocks[number] == block_hash:
                    anchored = True
                    break
                lost.append((slot_id, nonce))
            if lost:
                reopened = self.store.reopen([slot_id for slot_id, _ in lost])
                total += len(lost)
                log.error(
                    "sender %s: the chain no longer holds the blocks of nonces %d..%d; %d "
                    "operations are open again and the same signed transactions go out again",
                    self.address,
                    min(n for _, n in lost),
                    max(n for _, n in lost),
                    reopened,
                )
            if anchored or len(page) < REOPEN_PAGE:
                return total

    def _reopen(self, latest: int, pending: int) -> int:
        """Marks every slot the chain may not hold for sending again; returns the next nonce."""
        with self.store.db.write() as session:
            signer = session.get_one(Signer, self.store.signer_id, with_for_update=True)
            if signer.next_nonce is None:
                signer.next_nonce = pending
                log.info("sender %s: starts at nonce %d", self.address, pending)
            # Every open slot is looked up by hash and sent again if the node does not know it.
            for slot in session.scalars(
                select(TxSlot).where(
                    TxSlot.signer_id == self.store.signer_id, TxSlot.status == SlotStatus.PENDING
                )
            ):
                slot.status = SlotStatus.SIGNED
            return signer.next_nonce

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
        with self.store.db.write() as session:
            signer = session.get_one(Signer, self.store.signer_id, with_for_update=True)
            signer.next_nonce = max(signer.next_nonce or 0, latest, pending)
        self.foreign.saw(next_nonce, max(latest, pending) - 1)  # (a review: adopted, never said)

    def _settle_lost_slots(self, chain: Chain, latest: int) -> None:
        """Open slots below the chain's nonce either have our receipt or lost their nonce."""
        slots = [s for s in self.store.open_slots() if s.nonce < latest]
        if not slots:
            return
        attempts = self.store.attempts([s.id for s in slots])
        ours = mined_as_ours(chain, [[a.tx_hash for a in attempts[s.id]] for s in slots])
        for slot, mined in zip(slots, ours, strict=True):
            if not mined:
                log.error(
                    "sender %s: nonce %d was used by a foreign transaction",
                    self.address,
                    slot.nonce,
                )
                self.supersede(chain, slot)

    def fill_gaps(self, chain: Chain, latest: int) -> int:
        """Nonces from the chain's `latest` that the database allocated but holds no
        transaction for get a no-op (one a crash left, or a stranger's that the chain forgot);
        returns how many."""
        missing = self.store.missing_nonces(latest)
        for nonce in missing:
            log.error(
                "sender %s: nonce %d has no transaction; filling it with a no-op",
                self.address,
                nonce,
            )
            self.store.sign_and_store(
                Tx.noop(self.address), self.fees.current(chain), kind=txplan.CANCEL, nonce=nonce
            )
        return len(missing)


def block_left(block: Block | None, block_hash: str) -> bool:
    """Whether a slot confirmed in the block of `block_hash` lost it: the chain holds no
    block at that height, or another one."""
    return block is None or block.hash != block_hash
