"""The sender lock's role: indexing, webhook delivery, the tier reviewer, the referral
crediter and a multisig admin's watcher, in one process per database at a time.

`lead` takes the lock when it is free, starts the role and keeps checking that it still holds
the lock. On PostgreSQL the lock belongs to its connection's session, which a server restart
ends without the process knowing: a trial's holder went on indexing beside the process that
took the free lock (two indexers, their cursor moves refused), and the processes whose start
met the restarting server stopped trying for good, so once both holders died nobody indexed.
Now a holder that loses the lock steps down (`step_down`) and competes for it again, and an
unanswered database is asked again."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from ledger_api.db.disk import first_line
from ledger_api.process.deployment import contracts_when_ready

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime

log = logging.getLogger(__name__)


def lead(runtime: Runtime, shared: bool) -> None:
    """Until the process stops: waits for the lock (every `LEDGER_SIGNER_CLAIM_S` with
    PostgreSQL's shared sending, else every 2 s), runs the role while it holds it, steps down
    when it is lost. `shared`: every process sends for its signers (said no warning)."""
    waited = False
    while not runtime.stopping.is_set():
        if not _acquired(runtime):
            if not shared and not waited:
                log.warning("another gateway process sends for this database; waiting for its lock")
            waited = True
            runtime.stopping.wait(runtime.settings.signer_claim_s if shared else 2.0)
            continue
        contracts = contracts_when_ready(runtime, runtime.stopping)
        if contracts is None:
            return
        halt = threading.Event()  # the referral crediter's: set when the role ends
        runtime.is_sender = True
        runtime.start_indexing(contracts, halt)
        while not runtime.stopping.wait(runtime.settings.signer_claim_s):
            if not runtime.sender_lock.held():
                break
        else:
            halt.set()
            return  # stopping: `Runtime.stop_workers` stops the rest
        log.error(
            "the sender lock is lost (the database ended its session: a restart?); stopping "
            "the indexer, webhooks and reviews, then waiting for the lock again"
        )
        step_down(runtime, halt)


def _acquired(runtime: Runtime) -> bool:
    """One try for the lock; False while the database does not answer (tried again)."""
    try:
        return runtime.sender_lock.acquire()
    except SQLAlchemyError as exc:
        log.warning("sender lock: the database does not answer (%s); retrying", first_line(exc))
        return False


def step_down(runtime: Runtime, halt: threading.Event) -> None:
    """Stops the role's workers and lets go of what is left of the lock; the sender (its
    signers have their own locks) and the HTTP side go on."""
    runtime.is_sender = False
    halt.set()
    indexer, runtime.indexer = runtime.indexer, None
    if indexer is not None:
        indexer.stop()
        indexer.join(timeout=5)
    webhooks, runtime.webhooks = runtime.webhooks, None
    if webhooks is not None:
        webhooks.stop()
    watcher, runtime.admin_watcher = runtime.admin_watcher, None
    if watcher is not None:
        watcher.stop()
    reviewer, runtime.tier_reviewer = runtime.tier_reviewer, None
    if reviewer is not None:
        reviewer.stop()
    runtime.sender_lock.release()
