"""One signer's worker thread: the loop that tracks, fills and broadcasts.

Its cycle:

1. **Track** the open nonce slots: read receipts for every signed attempt;
   a mined slot settles its operations (`settle.py`); an attempt the node
   never accepted is broadcast again with the *same raw bytes*; a stuck one
   gets a fee-bumped attempt (stored before it is sent).
2. **Fill** the window: the scheduler (`schedule.py`) picks the groups of queued
   operations, each gets its gas limit from the node, and the slot store (`slots.py`)
   allocates their nonces, signs and **stores the raw transactions in one commit; then
   each is broadcast**, in nonce order.

On start, and after the node was unreachable, the worker reconciles with the chain
(`reconcile.py`). Nothing in one slot ever blocks the operations of the others; only
the nonce order is shared.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from eth_account.signers.local import LocalAccount

from ledger_api.chain.contracts import Contracts
from ledger_api.chain.port import Chain, Receipt
from ledger_api.db import Database
from ledger_api.db.models import TxAttempt, TxSlot
from ledger_api.db.types import utcnow
from ledger_api.domain import OpKind, SlotStatus
from ledger_api.domain.ids import BrandRowId
from ledger_api.errors import ChainUnavailable, LedgerError, LedgerPaused
from ledger_api.process.threads import Backoff, name_this_thread
from ledger_api.settings import Settings

from . import txplan
from .broadcast import Broadcaster, SignerStalled
from .clock import FeeCache
from .pause import PauseWatch
from .reconcile import Reconciler
from .schedule import Scheduler
from .settle import SenderHooks, Settler
from .slots import SlotStore, Tx
from .txplan import OpRecord

log = logging.getLogger(__name__)

#: A slot this process broadcast is recorded as `pending` only once it has been out this long
#: (or half `stuck_after_s`, if shorter: recorded before it is bumped; issue 15). Most are
#: mined within a block or two and settle without a write of their own in between: the
#: signer's write transactions per chain transaction go from three (store, pending, settle)
#: to two, each one a turn of the one SQLite writer lock. Nothing depends on the record:
#: `broadcaster.sent` has the time in this process, and after a restart every open slot's
#: stored bytes are looked up and sent again whatever its status (`reconcile`).
RECORD_PENDING_AFTER_S = 2.0


#: a signer's `last_error` until its first cycle: it has not yet checked the node holds the
#: deployment nor reconciled its nonces (a health read at start said unhealthy with no reason)
STARTING = "starting: not yet reconciled with the chain"


def admin_role_problem(contracts: Contracts, chain: Chain, address: str) -> str | None:
    """Why the alliance admin's signing key cannot act as the ledger's admin (it lacks
    `DEFAULT_ADMIN_ROLE`: every onboarding and admin operation would fail `not_authorized`),
    or None; the admin's signer reads it on start and after the node was away. A trial's
    gateway ran with another key, said `ok`, and failed its first onboarding."""
    codec = contracts.ledger["hasRole"]
    data = codec.encode(bytes(32), address)  # DEFAULT_ADMIN_ROLE is 0x00
    (holds,) = codec.decode(chain.call(contracts.ledger_address, data))
    if holds:
        return None
    return (
        f"not_authorized: the admin key {address} (LEDGER_ADMIN_PRIVATE_KEY) does not hold the "
        "ledger's DEFAULT_ADMIN_ROLE: onboardings and every admin operation fail on chain until "
        "the gateway runs with the key that does"
    )


class AdminRole:
    """Whether the alliance admin's signer holds the ledger's admin role (`admin_role_problem`;
    a brand's signer has none to hold): read on start and after the node was away, and again
    at each chain check while it lacks it, so that a role granted later reads healthy within
    `chain_check_s` (it read `not_authorized` until a restart)."""

    def __init__(self, contracts: Contracts, address: str, *, admin: bool) -> None:
        self.contracts = contracts
        self.address = address
        self.admin = admin
        self.problem: str | None = None

    def read(self, chain: Chain, *, again: bool = False) -> None:
        """Reads the role (`again`: only while it is lacking); raises `ChainUnavailable`."""
        if self.admin and (not again or self.problem is not None):
            self.problem = admin_role_problem(self.contracts, chain, self.address)


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
        brand_row_id: BrandRowId | None,
        account: LocalAccount,
        wakeable: bool = False,
    ) -> None:
        super().__init__(name=f"sender-{account.address[:10]}", daemon=True)
        # woken by every process that accepts operations (`background.wakeup`); idle, it
        # sleeps until then, or the pool's safety poll or idle chain check (`Sender`)
        self.wakeable = wakeable
        self.settings = settings
        self.chain_factory = chain_factory
        self.hooks = hooks
        self.brand_row_id = brand_row_id
        self.address = account.address
        self.store = SlotStore(
            db,
            signer_id=signer_id,
            brand_row_id=brand_row_id,
            account=account,
            chain_id=contracts.chain_id,
        )
        self.fees = FeeCache(settings)
        self.scheduler = Scheduler(settings, self.store)
        self.settler = Settler(
            settings=settings,
            db=db,
            contracts=contracts,
            hooks=hooks,
            store=self.store,
            address=self.address,
            brand_row_id=brand_row_id,
        )
        self.reconciler = Reconciler(
            settings=settings,
            store=self.store,
            fees=self.fees,
            address=self.address,
            supersede=self.supersede,
        )
        self.broadcaster = Broadcaster(
            store=self.store, fees=self.fees, address=self.address, supersede=self.supersede
        )
        self.contracts = contracts
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._recheck = threading.Event()  # check the chain now (the indexer saw it go back)
        self.idle = False  # the last cycle found nothing in flight, nothing to send (pool reads)
        self._superseded = 0  # slots closed by `supersede` since `track` last looked
        self.healthy = False
        self.last_error: str | None = STARTING
        self.role = AdminRole(contracts, account.address, admin=brand_row_id is None)
        self.pause = PauseWatch(contracts, self.store)  # the ledger's, as this signer meets it

    # ---------------------------------------------------------------- lifecycle

    def wake(self) -> None:
        self._wake.set()

    def recheck(self) -> None:
        """The chain went back (the indexer's last block left it): check this signer's
        confirmed slots at once, idle or not."""
        self._recheck.set()
        self._wake.set()

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()

    def run(self) -> None:
        name_this_thread(f"send-{self.address[2:8]}")
        chain = self.chain_factory()
        backoff = Backoff(self.settings.backoff_max_s)
        reconciled = False
        checked = time.monotonic()
        while not self._halt.is_set():
            try:
                if reconciled and (
                    self._recheck.is_set() or time.monotonic() - checked >= self._check_period()
                ):
                    # the chain may have gone back (forgotten blocks) while it answered us
                    self._recheck.clear()
                    checked = time.monotonic()
                    reconciled = not self.reconciler.went_back(chain)
                    self.role.read(chain, again=True)  # a role granted since reads healthy
                if not reconciled:
                    self.settler.guard.verify(chain)  # the node holds the deployment
                    self.reconciler.reconcile(chain)
                    self.role.read(chain)
                    reconciled = True
                    checked = time.monotonic()
                busy, timeout, lingering = self.step(chain)
                self.last_error = self.role.problem or self.reconciler.problem()
                self.healthy = self.last_error is None
                backoff.reset()
                if busy:
                    continue
                if lingering:
                    self._halt.wait(timeout)  # new operations may not cut a linger short
                else:
                    if self._wake.wait(self._sleep_s(timeout)):
                        self.idle = False  # new operations: the chain check's busy pace
                    self._wake.clear()
            except (ChainUnavailable, SignerStalled) as exc:
                self._pause(exc, backoff)
                reconciled = False
            except Exception as exc:
                log.exception("sender %s: unexpected error", self.address)
                self._pause(exc, backoff)
                reconciled = False

    def _check_period(self) -> float:
        """How long a confirmed slot's block goes unchecked: `chain_check_s` while the signer
        works, `chain_check_idle_s` while it idles (see `Settings.chain_check_idle_s`)."""
        if self.idle and not self.reconciler.behind:  # behind: its block asked for again soon
            return max(self.settings.chain_check_s, self.settings.chain_check_idle_s)
        return self.settings.chain_check_s

    def _sleep_s(self, timeout: float) -> float | None:
        """How long to sleep after a cycle that made no progress. Idle and wakeable: until
        woken, by new operations, by the supervisor's safety poll (operations wait in the
        queue) or by its chain check for every idle signer at once (`Sender`); else the
        cycle's own pace, at most the chain check's period."""
        if self.wakeable and not self.reconciler.behind:
            return None if self.idle else timeout
        return min(timeout, self.settings.chain_check_s)

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
        open_slots = self.store.open_slots()
        if open_slots:
            self.scheduler.observe_block(chain, time.monotonic())
        settled = self.track(chain, open_slots) if open_slots else 0
        in_flight = len(open_slots) - settled
        room = self.settings.inflight_window - in_flight
        sent, linger = self.fill(chain, room) if room > 0 else (0, 0.0)
        self.idle = not (open_slots or sent or linger)
        if settled or sent:
            return True, 0.0, False
        if linger:
            return False, min(linger, self.settings.poll_interval_s) if in_flight else linger, True
        idle = self.settings.sender_idle_poll_s()
        wait = self.settings.poll_interval_s if in_flight else idle
        return False, wait, False

    # -------------------------------------------------------------------- track

    def track(self, chain: Chain, slots: Sequence[TxSlot]) -> int:
        """Follows the open slots; returns how many became final. The slots deep enough to
        settle are settled together, in one write transaction."""
        attempts = self.store.attempts([s.id for s in slots])
        receipts = chain.receipts([a.tx_hash for group in attempts.values() for a in group])
        head: list[int] = []  # the chain's head number, read once when a depth is needed
        final: list[tuple[TxSlot, Receipt, bool]] = []
        unmined: list[TxSlot] = []
        for slot in slots:
            mined = next(
                (receipts[a.tx_hash] for a in attempts[slot.id] if receipts.get(a.tx_hash)), None
            )
            if mined is None:
                unmined.append(slot)
            elif self._deep_enough(chain, slot, mined, head):
                cancel = any(a.is_cancel and a.tx_hash == mined.tx_hash for a in attempts[slot.id])
                final.append((slot, mined, cancel))
        if final:  # before the unmined, whose re-broadcast or bump may raise (SignerStalled)
            self.hooks.mined()  # the indexer reads the blocks while this settles the slots
            for slot, _, _ in final:  # mined: never sent again, settled now or next cycle
                self.broadcaster.sent.pop(slot.id, None)
            self.settler.settle(chain, final)
        for slot in unmined:
            self._follow_unmined(chain, slot, attempts[slot.id])
        count, self._superseded = self._superseded, 0
        return len(final) + count

    def _deep_enough(self, chain: Chain, slot: TxSlot, mined: Receipt, head: list[int]) -> bool:
        """Whether a mined slot is `confirmations` blocks deep; one that is not yet is
        recorded mined (once per block it is in)."""
        depth = self.settings.confirmations
        if depth <= 0:
            return True
        if not head:
            block = chain.block("latest")
            head.append(block.number if block else 0)
        if head[0] >= mined.block_number + depth:
            return True
        if slot.status != SlotStatus.MINED or slot.block_hash != mined.block_hash:
            self.store.mark_mined(slot, mined)
        return False

    def _follow_unmined(self, chain: Chain, slot: TxSlot, attempts: list[TxAttempt]) -> None:
        if slot.status == SlotStatus.MINED:
            log.warning(
                "sender %s: nonce %d left the chain (reorg); re-sending", self.address, slot.nonce
            )
            self.store.set_slot(slot.id, status=SlotStatus.SIGNED)
            self.broadcaster.broadcast(chain, slot, attempts[-1])
        elif slot.status == SlotStatus.SIGNED and slot.id not in self.broadcaster.sent:
            self.broadcaster.broadcast(chain, slot, attempts[-1])
        elif slot.status == SlotStatus.SIGNED and (out := self.broadcaster.out_for(slot)) >= min(
            RECORD_PENDING_AFTER_S, self.settings.stuck_after_s / 2
        ):  # sent by this process a while ago and still not mined: recorded, for operators
            sent_at = utcnow() - timedelta(seconds=out)
            self.store.set_slot(slot.id, status=SlotStatus.PENDING, last_broadcast_at=sent_at)
        elif self._stuck(slot):
            self.unstick(chain, slot, attempts)

    def _stuck(self, slot: TxSlot) -> bool:
        if slot.id in self.broadcaster.sent:
            return self.broadcaster.out_for(slot) > self.settings.stuck_after_s
        out = utcnow() - (slot.last_broadcast_at or slot.created_at)
        return out > timedelta(seconds=self.settings.stuck_after_s)

    def unstick(self, chain: Chain, slot: TxSlot, attempts: list[TxAttempt]) -> bool:
        """A slot pending for too long: send again if the node lost it, else bump its fees."""
        latest = attempts[-1]
        if not chain.transaction_known(latest.tx_hash):
            log.warning("sender %s: node lost nonce %d; same bytes again", self.address, slot.nonce)
            return self.broadcaster.broadcast(chain, slot, latest)
        chain_nonce = chain.nonce(self.address, "latest")
        if chain_nonce > slot.nonce:
            return False  # mined meanwhile; the receipt shows up next cycle
        # nonces below it that strangers took in blocks the chain forgot get no-ops (a trial)
        if chain_nonce < slot.nonce and self.reconciler.fill_gaps(chain, chain_nonce):
            return True
        log.warning("sender %s: nonce %d stuck; bumping fees", self.address, slot.nonce)
        bumped = self.broadcaster.replace(chain, slot, latest, cancel=latest.is_cancel)
        return self.broadcaster.broadcast(chain, slot, bumped)

    def supersede(self, chain: Chain, slot: TxSlot) -> None:
        """The slot's nonce went to a stranger's transaction: its operations go back."""
        if self.settler.supersede(chain, slot):  # nothing of ours applied: a stranger's
            self.reconciler.foreign.saw(slot.nonce)
        self.broadcaster.sent.pop(slot.id, None)
        self._superseded += 1

    # --------------------------------------------------------------------- fill

    def fill(self, chain: Chain, room: int) -> tuple[int, float]:
        """Sends up to `room` new transactions; returns (how many, seconds to linger). They
        are stored in one commit, then broadcast in nonce order."""
        groups, linger = self.scheduler.plan(chain, room, self.pause.runnable(chain))
        if linger:
            return 0, linger
        txs = [tx for ops in groups for tx in self._priced(chain, ops)]
        stored = self.store.store_new(txs, self.fees.current(chain)) if txs else []
        for slot, attempt in stored:
            try:
                self.broadcaster.broadcast(chain, slot, attempt)
            except ChainUnavailable:
                # "maybe sent": the slot stays signed; tracking finds the receipt or sends it
                # again (and the slots after it)
                log.warning(
                    "sender %s: node unreachable while sending nonce %d", self.address, slot.nonce
                )
                raise
        return len(stored), 0.0

    def _priced(self, chain: Chain, ops: list[OpRecord]) -> list[tuple[Tx, str, list[OpRecord]]]:
        """The group's transaction with its gas limit (two or more when it needs more than
        `max_tx_gas`); none when the chain would refuse it: its operations fail now, or, the
        ledger paused (`EnforcedPause`), stay queued until a turn after the unpause
        (`pause.PauseWatch`; the pool's safety poll wakes a signer whose queue waits)."""
        call = txplan.call_for(self.contracts, ops)
        try:
            estimate = chain.estimate_gas(self.address, call.to, call.data, call.value)
        except ChainUnavailable:
            raise
        except LedgerError as error:
            if isinstance(error, LedgerPaused) and OpKind(ops[0].kind).stopped_by_pause:
                self.pause.refused(len(ops))
                return []
            if len(ops) > 1 or OpKind(ops[0].kind) is OpKind.EARN:
                log.error("sender %s: earnBatch would revert: %s", self.address, error.message)
            self.settler.settle_refused(ops, error, chain)
            return []
        gas = estimate * (100 + self.settings.gas_margin_pct) // 100 + 20_000
        if gas > self.settings.max_tx_gas and len(ops) > 1:
            half = len(ops) // 2
            return self._priced(chain, ops[:half]) + self._priced(chain, ops[half:])
        return [(Tx(call.to, call.data, call.value, gas), txplan.slot_kind(ops), ops)]
