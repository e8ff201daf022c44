"""The sender's supervisor: one `SignerWorker` per active signer this process owns, kept
current (which signers it owns: `ownership`, one lock per signer on PostgreSQL)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import select, update

from ledger_api.chain.contracts import Contracts
from ledger_api.chain.port import Chain
from ledger_api.chain.signing import account_from_key, unlock_keystore
from ledger_api.db import Database
from ledger_api.db.models import Signer
from ledger_api.db.types import utcnow
from ledger_api.domain.ids import BrandRowId
from ledger_api.errors import ChainUnavailable, KeyPassphraseMismatch
from ledger_api.settings import Settings

from .ownership import LocksLost, SignerOwnership
from .reconcile import block_left
from .settle import SenderHooks
from .slots import queues_waiting
from .worker import SignerWorker

log = logging.getLogger(__name__)

UNSEALABLE = (
    "the signing key does not unseal with this passphrase; the brand's new operations are "
    "refused, those stored before wait"
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
        wakeable: bool = False,
    ) -> None:
        self.settings = settings
        self.wakeable = wakeable  # every process that queues operations wakes this one
        self.db = db
        self.contracts = contracts
        self.chain_factory = chain_factory
        self.hooks = hooks
        self.workers: dict[int, SignerWorker] = {}
        #: signers whose keystore did not unseal: signer id -> (its brand, the keystore); not
        #: derived again until the keystore changes, shown unhealthy in `status`
        self.unsealable: dict[int, tuple[BrandRowId | None, str]] = {}
        self._by_brand: dict[BrandRowId | None, SignerWorker] = {}
        self.ownership = SignerOwnership(db)
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
        """Stops the supervisor first (so it starts no worker after this), then every worker,
        then ends the lock session."""
        self._halt.set()
        self._refresh.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        workers = list(self.workers.values())
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.join(timeout=5)
        self.ownership.reset()

    def wake(self, brand_row_ids: set[BrandRowId | None]) -> None:
        """New operations wait in these queues (a brand's, or None: the admin's)."""
        for brand_row_id in brand_row_ids:
            worker = self._by_brand.get(brand_row_id)
            if worker is not None:
                worker.wake()
            elif not self.ownership.shared:
                # a new signer; on PostgreSQL the queue may belong to another process, and
                # the supervisor looks for new signers every `signer_claim_s` anyway
                self._refresh.set()

    def pause_lifted(self) -> None:
        """The index followed an `Unpaused`: every signer holding operations for the pause
        (`PauseWatch.paused`) takes a turn now instead of at the next safety poll."""
        for worker in list(self.workers.values()):
            if worker.pause.paused:
                worker.wake()

    def recheck(self) -> None:
        """The chain went back: every signer checks its confirmed slots at once."""
        for worker in list(self.workers.values()):
            worker.recheck()

    def ensure_admin_signer(self) -> None:
        if self._admin is None:
            return
        with self.db.write() as session:
            existing = session.scalar(select(Signer).where(Signer.address == self._admin.address))
            if existing is None:
                session.add(Signer(brand_id=None, address=self._admin.address, keystore=None))

    def _supervise(self) -> None:
        polled = checked = time.monotonic()
        chain: Chain | None = None
        while not self._halt.is_set():
            if self.ownership.shared:  # PostgreSQL: new signers may be claimed here any turn
                pause = self.settings.signer_claim_s
            else:
                pause = self.settings.wake_safety_poll_s if self.wakeable else 1.0
            self._refresh.wait(pause)
            self._refresh.clear()
            if self._halt.is_set():
                return
            try:
                self._sync_workers()
                if self.wakeable and time.monotonic() - polled >= self.settings.wake_safety_poll_s:
                    polled = time.monotonic()
                    self._safety_poll()
                if self.wakeable and time.monotonic() - checked >= self._idle_check_period():
                    checked = time.monotonic()
                    chain = chain or self.chain_factory()
                    self._idle_chain_check(chain)
            except ChainUnavailable as exc:  # the workers meet it too, and say so
                log.warning("sender: the idle signers' chain check could not run: %s", exc)
            except Exception:
                log.exception("sender: could not refresh the signers")

    def _idle_check_period(self) -> float:
        return max(self.settings.chain_check_s, self.settings.chain_check_idle_s)

    def _idle_chain_check(self, chain: Chain) -> None:
        """Whether the block of each idle signer's newest confirmed slot is still on the
        chain (a reorg, a node restarted from an older state): one batch of block reads for
        every idle signer, every `chain_check_idle_s`, instead of a read per signer. A signer
        whose block left checks all its confirmed slots at once (`SignerWorker.recheck`), as
        do an admin signer whose key lacked the admin role (read again then) and a signer that
        found the node behind its blocks.
        Idle wakeable workers sleep until woken, so this and the safety poll are their only
        clocks (issue 15: 20 idle signers each reading the chain cost 0.3% of a core)."""
        newest: dict[SignerWorker, tuple[int, str]] = {}
        for worker in list(self.workers.values()):
            if worker.idle and (worker.role.problem or worker.reconciler.behind):
                # its admin role read again (`AdminRole`), its block asked of a node that was
                # behind (`chain.lag`): a healthy read clears what its health says
                worker.recheck()
                continue
            confirmed = worker.reconciler.newest_confirmed() if worker.idle else None
            if confirmed is not None:
                newest[worker] = confirmed
        numbers = sorted({number for number, _ in newest.values()})
        found = dict(zip(numbers, chain.blocks(numbers), strict=True))
        for worker, (number, block_hash) in newest.items():
            if block_left(found[number], block_hash):
                worker.recheck()

    def _safety_poll(self) -> None:
        """Wakes the idle workers whose queue holds operations: one query for all of them,
        in case a wake-up message was lost (it costs latency, never an operation)."""
        for queue in queues_waiting(self.db, list(self._by_brand)):
            worker = self._by_brand.get(queue)
            if worker is not None:
                worker.wake()

    def _sync_workers(self) -> None:
        """Starts a worker for each signer this process claims, stops those it gives back."""
        with self.db.read() as session:
            signers = {
                signer.id: signer
                for signer in session.scalars(select(Signer).where(Signer.active.is_(True)))
            }
        for gone in set(self.unsealable) - set(signers):  # deactivated since
            del self.unsealable[gone]
        usable = sorted(sid for sid, signer in signers.items() if self._has_key(signer))
        try:
            plan = self.ownership.plan(usable)
        except LocksLost as exc:
            log.error("sender: lost the signer locks (%s); stopping every worker", exc)
            self._stop_workers(list(self.workers))
            self.ownership.reset()
            return
        self._stop_workers(plan.give)
        for signer_id in plan.take:
            if self._halt.is_set():  # stopping: start nothing more
                self.ownership.give(signer_id)
                continue
            signer = signers[signer_id]
            account = self._account(signer)
            if account is None:
                self.ownership.give(signer_id)
                continue
            worker = SignerWorker(
                settings=self.settings,
                db=self.db,
                contracts=self.contracts,
                chain_factory=self.chain_factory,
                hooks=self.hooks,
                signer_id=signer.id,
                brand_row_id=_row_id(signer.brand_id),
                account=account,
                wakeable=self.wakeable,
            )
            self.workers[signer.id] = worker
            self._by_brand[_row_id(signer.brand_id)] = worker
            worker.start()

    def _stop_workers(self, signer_ids: list[int]) -> None:
        """Stops these signers' workers, then gives their locks back (a worker that does not
        stop in time keeps its lock until a later turn)."""
        workers = [(sid, self.workers[sid]) for sid in signer_ids if sid in self.workers]
        for _, worker in workers:
            worker.stop()
        for signer_id, worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                log.warning("sender: worker of signer %s still busy; keeping it", signer_id)
                continue
            del self.workers[signer_id]
            if self._by_brand.get(worker.brand_row_id) is worker:
                del self._by_brand[worker.brand_row_id]
            self.ownership.give(signer_id)
        for signer_id in signer_ids:
            if signer_id not in self.workers and signer_id in self.ownership.owned:
                self.ownership.give(signer_id)

    def _has_key(self, signer: Signer) -> bool:
        """A brand signer (its keystore, unless it did not unseal as it is), or the admin
        signer when this process has its key."""
        if signer.keystore is not None:
            refused = self.unsealable.get(signer.id)
            return refused is None or refused[1] != signer.keystore
        return self._admin is not None and self._admin.address == signer.address

    def _account(self, signer: Signer) -> LocalAccount | None:
        """The signer's key; None when this process has none. A keystore sealed with another
        passphrase leaves that one signer unstarted (`unsealable`) while the others send: it
        had stopped the whole sender's start (a new user's trial)."""
        if signer.keystore is None:
            if self._admin is not None and self._admin.address == signer.address:
                return self._admin
            log.error("sender: no key for signer %s", signer.address)
            return None
        try:
            account = unlock_keystore(signer.keystore, self.settings.passphrase())
        except ValueError as exc:
            self.unsealable[signer.id] = (_row_id(signer.brand_id), signer.keystore)
            self._say_refused(signer.id, refused=True)
            log.error(
                "sender: the keystore of signer %s (brand row %s) does not unseal with this "
                "passphrase (%s); its brand's stored operations wait until it does",
                signer.address,
                signer.brand_id,
                exc,
            )
            return None
        self.unsealable.pop(signer.id, None)
        if signer.key_refused_at is not None:
            self._say_refused(signer.id, refused=False)
        return account

    def _say_refused(self, signer_id: int, *, refused: bool) -> None:
        """Writes whether the signer's key opened (`Signer.key_refused_at`) where every
        process scheduling a debit reads it: a shut key's queued earns no longer hold back
        their members' debits at the other brands (`debit_order.debit_waits`)."""
        with self.db.write() as session:
            session.execute(
                update(Signer)
                .where(Signer.id == signer_id)
                .values(key_refused_at=utcnow() if refused else None)
            )

    def status(self) -> list[dict[str, Any]]:
        """One entry per signer: {"brand_row_id", "healthy", "last_error", "held_by_pause"};
        a signer whose keystore did not unseal is unhealthy with `key_passphrase_mismatch`."""
        running = [
            {
                "brand_row_id": w.brand_row_id,
                "healthy": w.healthy,
                "last_error": w.last_error,
                "held_by_pause": w.pause.held,
            }
            for w in self.workers.values()
        ]
        refused = [
            {
                "brand_row_id": brand_row_id,
                "healthy": False,
                "last_error": f"{KeyPassphraseMismatch.code}: {UNSEALABLE}",
                "held_by_pause": 0,
            }
            for brand_row_id, _ in list(self.unsealable.values())
        ]
        return running + refused


def _row_id(value: int | None) -> BrandRowId | None:
    return BrandRowId(value) if value is not None else None
