"""The gateway's long-lived parts, wired together: database, chain, intake, sender, indexer.

`Runtime` is the one place that starts the sender and the indexer (`_start_sender`,
`run_starter`); which process runs them is decided in `process.supervision`."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import BigInteger, case, cast, func, select
from starlette.concurrency import run_in_threadpool

from ledger_api.access.apikeys import ApiKeys
from ledger_api.access.ratelimit import RateLimiter, SharedRateLimiter
from ledger_api.access.sealing import (
    BrandRefs,
    backfill_ref_secrets,
    check_passphrase,
    reseal_keystores,
)
from ledger_api.background.indexer import Indexer, stored_height
from ledger_api.background.intake import Intake
from ledger_api.background.notify import Notifier, Settled
from ledger_api.background.wakeup import Topic, wake_bus
from ledger_api.background.webhooks.secrets import reseal_endpoint_secrets
from ledger_api.chain.contracts import Contracts
from ledger_api.chain.manifest import load_manifest
from ledger_api.chain.port import Chain
from ledger_api.chain.web3_adapter import Web3Chain
from ledger_api.db import Database
from ledger_api.db.migrate import upgrade
from ledger_api.db.models import Brand, Operation
from ledger_api.domain import FINAL_OP_STATUSES, OpKind
from ledger_api.errors import IndexNotReady
from ledger_api.model.payloads import BRAND_ADMIN_KINDS
from ledger_api.process import metrics, role
from ledger_api.process.deployment import check_deployment, contracts_when_ready, start_reason
from ledger_api.process.health import (
    DatabaseProbe,
    read_work_status,
    reports_work,
    sender_reports,
    shared_report_file,
    write_work_status,
)
from ledger_api.process.lock import SenderLock
from ledger_api.process.wakeups import WakeUps
from ledger_api.settings import Settings

if TYPE_CHECKING:
    from ledger_api.background.multisig import AdminWatcher
    from ledger_api.background.reviews import TierReviewer
    from ledger_api.background.sender import Sender
    from ledger_api.background.webhooks.delivery import Deliverer

log = logging.getLogger(__name__)
T = TypeVar("T")


SETTLED_COLUMNS = (
    Operation.uid,
    Operation.kind,
    Operation.status,
    Operation.op_id,
    Operation.tx_hash,
    Operation.block_number,
    Operation.result,
    Operation.error_code,
    Operation.error_message,
    Operation.created_at,
    Operation.updated_at,
)
#: `payloads.concerned_brand` in SQL, beside the operation's own brand: the ledger id a plain
#: row's status shows (an admin operation's from its payload or result, no query per row)
SHOWN_BRAND = func.coalesce(
    Brand.ledger_id,
    case(
        (
            Operation.kind.in_(sorted(BRAND_ADMIN_KINDS)),
            cast(Operation.payload["brand"].as_string(), BigInteger),
        ),
        (
            Operation.kind == OpKind.ONBOARD_BRAND.value,
            cast(Operation.result["brand_id"].as_string(), BigInteger),
        ),
    ),
)


class Runtime(WakeUps):
    """Owns the process-wide objects; the app creates one in its lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
        self.db.observe_writer_lock(metrics.observe_writer_lock)
        self.db.observe_wal_sync(metrics.observe_wal_sync)
        self.notifier = Notifier()
        # wake-ups to and from the gateway's other processes (`background.wakeup`)
        self.bus = wake_bus(settings, self.db)
        self.limiter: RateLimiter | SharedRateLimiter = (
            RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
            if self.db.is_sqlite
            else SharedRateLimiter(self.db, settings.rate_limit_per_s, settings.rate_limit_burst)
        )
        admin_key = settings.admin_api_key.get_secret_value() if settings.admin_api_key else None
        self.api_keys = ApiKeys(self.db, admin_key=admin_key)
        self.refs = BrandRefs(self.db, settings)
        self.intake = Intake(
            self.db,
            max_batch=settings.intake_max_batch,
            accepted=self.wake_sender,
            admit=self.refs.admit,
        )
        self.db_probe = DatabaseProbe(
            self.db,
            timeout_s=settings.health_db_timeout_s,
            max_age_s=settings.health_probe_max_age_s,
        )
        self._work_status: tuple[float, dict[str, Any] | None] = (-1.0, None)
        self.sender: Sender | None = None
        self.indexer: Indexer | None = None
        self.webhooks: Deliverer | None = None
        self.admin_watcher: AdminWatcher | None = None
        self.tier_reviewer: TierReviewer | None = None
        self._contracts: Contracts | None = None
        self.contracts_checked = False  # the node confirmed the manifest (`check_deployment`)
        self._next_check = 0.0
        self.sender_lock = SenderLock(self.db)
        self._local = threading.local()
        self.stopping = threading.Event()  # set once, by `stop_workers`
        self._starter: threading.Thread | None = None
        #: why the sender and the indexer do not run: a start that failed (`run_starter`),
        #: or the manifest they wait for (`contracts_when_ready`)
        self.start_error: str | None = None
        self.is_sender = False

    # ------------------------------------------------------------------ chain

    def contracts(self) -> Contracts:
        """The deployment; `IndexNotReady` until the manifest exists, reads, and names the
        node's chain (`check_deployment`). One the node could not be asked about is asked
        again every 2 s until it answers (`contracts_checked`: nothing is signed before)."""
        # the hot path (checked) reads two attributes; the clock only while unchecked
        if self._contracts is None or (
            not self.contracts_checked and time.monotonic() >= self._next_check
        ):
            self._contracts, self._next_check = None, time.monotonic() + 2.0
            contracts = Contracts(load_manifest(self.settings.manifest))
            s = self.settings
            chain = Web3Chain(s.rpc_url, contracts.errors, timeout_s=2.0)
            self.contracts_checked = check_deployment(contracts, chain, self.db)
            self._contracts = contracts
        return self._contracts

    def new_chain(self) -> Chain:
        return Web3Chain(
            self.settings.rpc_url, self.contracts().errors, timeout_s=self.settings.rpc_timeout_s
        )

    def chain(self) -> Chain:
        """A chain client for the calling thread."""
        chain: Chain | None = getattr(self._local, "chain", None)
        if chain is None:
            chain = self._local.chain = self.new_chain()
        return chain

    # -------------------------------------------------------------- lifecycle

    def migrate(self) -> None:
        """The schema, then the secrets at rest: the passphrase checked against the sealed
        keys (`KeyPassphraseMismatch` when it opens none), keystores sealed with the old
        built-in passphrase and webhook secrets of the first format re-encrypted, a
        reference secret for every brand (`access.sealing`), and fresh table statistics for
        the query planner."""
        upgrade(self.db)
        self.db.refresh_statistics()
        check_passphrase(self.db, self.settings)  # before sealing anything with it
        reseal_keystores(self.db, self.settings)
        reseal_endpoint_secrets(self.db, self.settings)
        backfill_ref_secrets(self.db, self.settings)

    async def start(self) -> None:
        """The HTTP side: intake, and sender + indexer unless they run in their own process."""
        await asyncio.to_thread(self.migrate)
        self.notifier.bind(asyncio.get_running_loop())
        self.intake.start()
        if self.settings.sender_process:
            woken = self.bus.cross_process
            if woken:
                self.bus.subscribe(Topic.SETTLED, lambda uids: self.notifier.poke())
                self.bus.subscribe(Topic.INDEXED, self._indexed_elsewhere)
            self.notifier.start_polling(
                lambda uids: self.read(lambda: settled_among(self.db, uids)),
                min(1.0, self.settings.wake_safety_poll_s)
                if woken
                else self.settings.cross_process_poll_s,
                woken=woken,
            )
        elif self.settings.sender_enabled or self.settings.indexer_enabled:
            self.bus.subscribe(Topic.QUEUED, self._queued_elsewhere)
            self.bus.subscribe(Topic.SETTLED, self._settled_elsewhere)
            self.bus.subscribe(Topic.WEBHOOKS, self._wake_deliverer)
            self._starter = threading.Thread(
                target=run_starter, args=(self,), name="starter", daemon=True
            )
            self._starter.start()
        await asyncio.to_thread(self.bus.start)

    async def read(self, query: Callable[[], T]) -> T:
        """Runs a short database read: on the event loop for SQLite (`sqlite_inline_reads`),
        else in a worker thread."""
        if self.db.is_sqlite and self.settings.sqlite_inline_reads:
            return query()
        return await run_in_threadpool(query)

    def start_workers_in_background(self) -> None:
        """`ledger work` (see `process.supervision.run_background`): migrate, then start the
        sender and the indexer in a starter thread."""
        self.migrate()
        self.bus.subscribe(Topic.QUEUED, self._queued_elsewhere)
        self.bus.subscribe(Topic.SETTLED, self._settled_elsewhere)
        self.bus.subscribe(Topic.WEBHOOKS, self._wake_deliverer)
        self.bus.start()
        self._starter = threading.Thread(
            target=run_starter, args=(self,), name="starter", daemon=True
        )
        self._starter.start()

    def send_if_free(self) -> bool:
        """The CLI, with no gateway running: starts the sender here if no process holds the
        sender lock (stop it with `stop_sending`). False when a gateway sends."""
        if not self.sender_lock.acquire():
            return False
        self._start_sender(self.contracts())
        return True

    def stop_sending(self) -> None:
        """Stops a sender `send_if_free` started, and releases the sender lock."""
        if self.sender is not None:
            self.sender.stop()
            self.sender = None
        self.sender_lock.release()

    def chain_status(self) -> dict[str, Any]:
        """Whether the node answers, as this process's indexer last saw it (`chain_status_of`)."""
        return chain_status_of(self.indexer)

    def cached_work_status(self, max_age_s: float = 0.5) -> dict[str, Any] | None:
        """`ledger work`'s last report, read from its status file at most every `max_age_s`
        (each 202 asks whether the chain is away)."""
        read_at, report = self._work_status
        if time.monotonic() - read_at > max_age_s:
            report = read_work_status()
            self._work_status = (time.monotonic(), report)
        return report

    def queued_reason(self) -> str | None:
        """Why a new operation waits in the queue, when something it needs is away: None, or
        `chain_unavailable` (the node does not answer) or `sender_unavailable` (`ledger work`
        does not report, or the sender does not run: `start_error`, e.g. no manifest yet;
        `LEDGER_SENDER_ENABLED=false`, whose queued operations gave no reason: a trial)."""
        if not self.settings.sender_enabled:
            return "sender_unavailable"
        if self.start_error is not None:  # `ChainUnavailable.code` while the node is away
            return start_reason(self.start_error)
        if self.is_sender:
            return "chain_unavailable" if self.chain_status()["status"] == "unavailable" else None
        if not sender_reports(self.settings):
            return None
        report = self.cached_work_status()
        if report is None:
            return "sender_unavailable"
        if report.get("start_error"):
            return start_reason(report["start_error"])
        if report.get("chain", {}).get("status") == "unavailable":
            return "chain_unavailable"
        return None

    def start_workers_now(self) -> None:
        """Takes the sender lock, waits for the manifest, then starts sender and indexer.

        On PostgreSQL every process sends for its share of the signers (one lock per signer,
        `background.sender.ownership`) from the start; the sender lock then only decides which
        process indexes and delivers webhooks."""
        shared = not self.db.is_sqlite and self.settings.sender_enabled
        if shared:
            contracts = contracts_when_ready(self, self.stopping)
            if contracts is None:
                return
            self._start_sender(contracts)
        role.lead(self, shared)  # the sender lock's work, while this process holds the lock

    def start_indexing(self, contracts: Contracts, halt: threading.Event) -> None:
        """The sender lock's work: the indexer, the sender (SQLite: all of it), the webhooks
        and, with a multisig admin, the admin watcher."""
        # imported here: an HTTP process beside `ledger work` never runs them (their imports,
        # httpx and cryptography among them, cost it memory: issue 15's `gateway_rss_mb`)
        from ledger_api.background.campaigns import start_referral_crediter
        from ledger_api.background.multisig import AdminWatcher
        from ledger_api.background.reviews import start_tier_reviewer
        from ledger_api.background.webhooks.delivery import Deliverer

        if self.settings.indexer_enabled:
            self.indexer = Indexer(
                settings=self.settings,
                db=self.db,
                contracts=contracts,
                chain_factory=self.new_chain,
                advanced=self._index_advanced,
                rewound=self._index_rewound,
                unpaused=self._pause_lifted,
            )
            self.indexer.start()
        if self.settings.sender_enabled and self.sender is None:
            self._start_sender(contracts)
        if self.settings.webhooks_enabled:
            self.webhooks = Deliverer(settings=self.settings, db=self.db)
            self.webhooks.start()
        self.tier_reviewer = start_tier_reviewer(self.settings, self.db, self.wake_sender)
        start_referral_crediter(self.settings, self.db, self.wake_sender, halt)
        if not self.settings.admin_signs:
            self.admin_watcher = AdminWatcher(
                db=self.db,
                contracts=contracts,
                chain_factory=self.new_chain,
                # as the sender's: waiters here and in other processes, and the deliverer
                # (the watcher wrote the operations' events)
                settled=self._operations_settled,
                poll_s=self.settings.index_poll_s,
            )
            self.admin_watcher.start()

    def _start_sender(self, contracts: Contracts) -> None:
        """The one place a `Sender` is started."""
        from ledger_api.background.sender import Sender, SenderHooks  # see `start_indexing`

        hooks = SenderHooks(
            operations_settled=self._operations_settled,
            mined=self._wake_indexer,
        )
        sender = Sender(
            settings=self.settings,
            db=self.db,
            contracts=contracts,
            chain_factory=self.new_chain,
            hooks=hooks,
            wakeable=self._sender_wakeable(),
        )
        sender.start()
        self.sender = sender
        if self.stopping.is_set():  # `stop_workers` ran meanwhile (its join timed out)
            sender.stop()

    async def stop(self) -> None:
        self.stopping.set()
        await self.notifier.stop_polling()
        await asyncio.to_thread(self.bus.stop)
        await self.intake.stop()
        await asyncio.to_thread(self.stop_workers)

    def stop_workers(self) -> None:
        """Stops the sender and the indexer, releases the sender lock, closes the database."""
        self.stopping.set()
        if self._starter is not None:
            self._starter.join(timeout=5)
        if self.sender is not None:
            self.sender.stop()
        if self.indexer is not None:
            self.indexer.stop()
            self.indexer.join(timeout=5)
        if self.webhooks is not None:
            self.webhooks.stop()
        self.bus.stop()
        if self.admin_watcher is not None:
            self.admin_watcher.stop()
        if self.tier_reviewer is not None:
            self.tier_reviewer.stop()
        self.sender_lock.release()
        self.db.dispose()


def settled_among(db: Database, uids: list[str]) -> tuple[dict[str, Settled], int]:
    """The final ones among `uids` and the index height, for `Notifier.start_polling`.

    Plain rows (no ORM objects), each with the brand its status shows (`SHOWN_BRAND`, in the
    same query): it runs a hundred times a second while requests wait."""
    settled: dict[str, Settled] = {}
    with db.read() as session:
        for start in range(0, len(uids), 500):
            rows = session.execute(
                select(*SETTLED_COLUMNS, SHOWN_BRAND.label("ledger_id"))
                .outerjoin(Brand, Brand.id == Operation.brand_id)
                .where(
                    Operation.uid.in_(uids[start : start + 500]),
                    Operation.status.in_(FINAL_OP_STATUSES),
                )
            )
            for row in rows:
                settled[row.uid] = Settled.of(row, row.ledger_id)
        height = stored_height(session)
    return settled, height


def chain_status_of(indexer: Indexer | None) -> dict[str, Any]:
    """Whether the node answers, as `indexer` last saw it (it asks several times a second):
    {"status": "ok" | "unavailable" | "unknown", "head", "error"}."""
    if indexer is None or (indexer.chain_head is None and indexer.chain_error is None):
        return {"status": "unknown", "head": None, "error": None}
    if indexer.chain_error is not None:
        return {"status": "unavailable", "head": indexer.chain_head, "error": indexer.chain_error}
    return {"status": "ok", "head": indexer.chain_head, "error": None}


def run_starter(runtime: Runtime) -> None:
    """The starter thread: `Runtime.start_workers_now`; a start that fails is logged and kept
    for `worker_status` (unhealthy: `/v1/health` says `degraded` with `start_error`), where it
    left the sender unstarted while the health said `ok` (a new user's trial: a brand's
    keystore sealed with another passphrase)."""
    report_to = shared_report_file(runtime.settings)
    if report_to is not None:
        threading.Thread(
            target=report_to_workers, args=(runtime, report_to), name="reporter", daemon=True
        ).start()
    try:
        runtime.start_workers_now()
    except Exception as exc:  # the thread ends here; the process serves on, degraded
        runtime.start_error = f"{exc.__class__.__name__}: {exc}"[:300]
        log.exception("the sender did not start: %s", runtime.start_error)


def report_to_workers(runtime: Runtime, file: Path) -> None:
    """With several HTTP workers (`health.shared_report_file`): once this one holds the
    sender lock (or its start failed), its `worker_status` goes to `file` every second,
    where the other workers answer `/v1/health` and `queued_reason` from; until then it
    looks every 0.1 s."""
    while not runtime.stopping.wait(1.0 if runtime.is_sender else 0.1):
        if reports_work(runtime):
            try:
                write_work_status(file, worker_status(runtime))
            except OSError as exc:  # its folder went (the server stopping): said, not raised
                log.warning("could not report to the other HTTP workers: %s", exc)


def worker_status(runtime: Runtime) -> dict[str, Any]:
    """What the sender and the indexer of `runtime`'s process are doing (for /v1/health, and
    `ledger work`'s status line)."""
    indexer = runtime.indexer
    sender = runtime.sender.status() if runtime.sender else []
    # the index height first, then the head: the indexer records a head before it indexes
    # up to it, so the pair never shows the index ahead of the head (`health.lag_blocks`)
    index_block = runtime.notifier.index_height
    chain = runtime.chain_status()
    try:
        chain_id: int | None = runtime.contracts().chain_id
    except IndexNotReady:  # no manifest, or not one (`start_error` says which)
        chain_id = None
    return {
        "chain_id": chain_id,
        "index_block": index_block,
        "chain": chain,
        "sender": sender,
        "indexer": {
            "running": indexer is not None,
            "healthy": bool(indexer and indexer.healthy),
            "last_error": indexer.last_error if indexer else None,
        },
        "webhooks": runtime.webhooks.status() if runtime.webhooks else None,
        "start_error": runtime.start_error,
        "indexes": runtime.is_sender,  # else it sends for its signers only (PostgreSQL)
        "healthy": runtime.start_error is None
        and (bool(indexer and indexer.healthy) or not runtime.is_sender)
        and all(w["healthy"] for w in sender),
    }
