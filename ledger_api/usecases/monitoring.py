"""The gateway's own health figures, from the database and the chain, for `/v1/stats/gateway`
and `/metrics`.

Every figure is read from shared state (the database, the chain, `ledger work`'s report),
never from one process's memory, so any HTTP worker answers the same truth whichever process
sends: queue depth and the oldest queued operation, operations by kind and status,
transactions in flight per signer, webhook deliveries by status, the index's height, the
chain's head and each signer's balance (asked of the node at most every
`BALANCE_MAX_AGE_S` seconds).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, null, select, union_all
from sqlalchemy.orm import Session

from ledger_api.background.indexer import read_cursor
from ledger_api.background.webhooks import store as webhooks
from ledger_api.db.models import Brand, Operation, Signer, TxSlot
from ledger_api.db.webhook_models import WebhookDelivery, WebhookEndpoint
from ledger_api.domain import OPEN_OP_STATUSES, OPEN_SLOT_STATUSES, OpStatus
from ledger_api.process import health

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime

BALANCE_MAX_AGE_S = 5.0


@dataclass(frozen=True)
class SignerFigures:
    address: str
    brand_id: int | None  # ledger brand id; None for the admin's signer
    in_flight: int
    balance_wei: int | None = None


@dataclass
class Figures:
    """One reading of the gateway's shared state."""

    operations: dict[tuple[str, str], int]  # (kind, open status) -> operations not yet final
    queued_by_brand: dict[int | None, int]  # ledger brand id (None: admin) -> queued ops
    submitted_by_brand: dict[int | None, int]  # the same for ops sent, not yet final
    oldest_queued_age_s: float
    #: ledger brand id (None: admin) -> age of its oldest queued operation (seconds; absent: none)
    queued_age_by_brand: dict[int | None, float]
    signers: list[SignerFigures]
    deliveries: dict[str, int]  # pending / held / dead -> webhook deliveries in it now
    index_block: int
    chain_head: int | None = None
    read_s: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def deliveries_shown(self) -> dict[str, int]:
        """`deliveries` with every status the gauge shows, 0 when none."""
        return {status: self.deliveries.get(status, 0) for status in DELIVERY_STATUSES_SHOWN}

    @property
    def queue_depth(self) -> int:
        return sum(self.queued_by_brand.values())

    @property
    def submitted(self) -> int:
        return sum(self.submitted_by_brand.values())

    @property
    def index_lag_blocks(self) -> int | None:
        return health.lag_blocks(self.chain_head, self.index_block)


#: the webhook deliveries a reading counts: those waiting (pending; `held` when their endpoint
#: is disabled, so not attempted until a retry) and those given up (dead), a deleted
#: endpoint's none (nothing to attempt, list or retry any more); the delivered ones
#: are every event's history, counted as they are delivered instead
DELIVERY_STATES_NOW = (webhooks.PENDING, webhooks.DEAD)
#: how the gauge shows them (`held`: pending for a disabled endpoint)
DELIVERY_STATUSES_SHOWN = (webhooks.PENDING, webhooks.HELD, webhooks.DEAD)


def _open_operations() -> Any:
    """Open operations by (brand row, status, kind) with the oldest's acceptance: each brand's
    open range of `ix_operations_queue` (brand, status, id), and the alliance's own (no brand).
    A `status IN (...)` alone would read the whole index, every operation ever stored."""
    columns = (Operation.status, Operation.kind, func.count(), func.min(Operation.created_at))
    is_open = Operation.status.in_(OPEN_OP_STATUSES)
    of_brands = (
        select(Operation.brand_id, *columns)
        .where(Operation.brand_id.in_(select(Brand.id).scalar_subquery()), is_open)
        .group_by(Operation.brand_id, Operation.status, Operation.kind)
    )
    of_alliance = (
        select(null().label("brand_id"), *columns)
        .where(Operation.brand_id.is_(None), is_open)
        .group_by(Operation.status, Operation.kind)
    )
    return union_all(of_brands, of_alliance)


_OPEN_OPERATIONS = _open_operations()


def read_figures(session: Session) -> Figures:
    """The database's part of a reading (one read transaction). Every statement reads only
    what is in progress, through index ranges: the open operations of each brand's queue
    (`ix_operations_queue`), each signer's open slots (`ix_tx_slots_open`), the pending and
    dead webhook deliveries (`ix_webhook_deliveries_due`). Its cost follows the work in
    progress, never the history: counting every operation and delivery ever stored took
    0.7 s of CPU a scrape at a million operations (`tests/api/db/test_scrape_plans.py`).
    Final operations are counted as they settle (`ledger_operation_confirmation_seconds`'s
    count), delivered webhooks as they are delivered (`ledger_webhook_attempts_total`)."""
    started = time.monotonic()
    ledger_ids = {
        row_id: ledger_id
        for row_id, ledger_id in session.execute(select(Brand.id, Brand.ledger_id))
    }
    operations: dict[tuple[str, str], int] = {}
    open_ops: dict[str, dict[int | None, int]] = {s: {} for s in OPEN_OP_STATUSES}
    oldest: dict[int | None, datetime] = {}  # per ledger brand id: its oldest queued operation
    for brand_row, status, kind, count, first in session.execute(_OPEN_OPERATIONS):
        key = (str(kind), str(status))
        operations[key] = operations.get(key, 0) + int(count)
        per_brand = open_ops[str(status)]
        ledger_id = ledger_ids.get(brand_row) if brand_row is not None else None
        per_brand[ledger_id] = per_brand.get(ledger_id, 0) + int(count)
        if status == OpStatus.QUEUED.value and first is not None:
            if isinstance(first, str):  # an aggregate skips the column type on SQLite
                first = datetime.fromisoformat(first)
            first = first if first.tzinfo else first.replace(tzinfo=UTC)
            oldest[ledger_id] = min(oldest.get(ledger_id, first), first)
    now = datetime.now(UTC)
    ages = {b: round(max(0.0, (now - t).total_seconds()), 3) for b, t in oldest.items()}
    in_flight: dict[int, int] = {
        int(signer_id): int(count)
        for signer_id, count in session.execute(
            select(TxSlot.signer_id, func.count())
            .where(
                TxSlot.signer_id.in_(select(Signer.id).scalar_subquery()),
                TxSlot.status.in_(OPEN_SLOT_STATUSES),
            )
            .group_by(TxSlot.signer_id)
        )
    }
    signers = [
        SignerFigures(address, ledger_id, int(in_flight.get(signer_id, 0)))
        for signer_id, address, ledger_id in session.execute(
            select(Signer.id, Signer.address, Brand.ledger_id)
            .outerjoin(Brand, Brand.id == Signer.brand_id)
            .where(Signer.active.is_(True))
            .order_by(Signer.id)
        )
    ]
    active = {endpoint.id for endpoint in webhooks.active_endpoints(session.connection())}
    deleted = set(
        session.scalars(select(WebhookEndpoint.id).where(WebhookEndpoint.deleted_at.is_not(None)))
    )
    deliveries: dict[str, int] = {}
    for status, endpoint_id, count in session.execute(
        select(WebhookDelivery.status, WebhookDelivery.endpoint_id, func.count())
        .where(WebhookDelivery.status.in_(DELIVERY_STATES_NOW))
        .group_by(WebhookDelivery.status, WebhookDelivery.endpoint_id)
    ):
        if endpoint_id in deleted:  # gone: nothing to attempt, list or retry (an alert clears)
            continue
        # a pending delivery of a disabled endpoint is not attempted until a retry: held
        held = status == webhooks.PENDING and endpoint_id not in active
        shown = webhooks.HELD if held else str(status)
        deliveries[shown] = deliveries.get(shown, 0) + int(count)
    cursor = read_cursor(session)
    return Figures(
        operations=operations,
        queued_by_brand=open_ops[OpStatus.QUEUED.value],
        submitted_by_brand=open_ops[OpStatus.SUBMITTED.value],
        oldest_queued_age_s=max(ages.values(), default=0.0),
        queued_age_by_brand=ages,
        signers=signers,
        deliveries=deliveries,
        index_block=cursor.height if cursor else -1,
        read_s=time.monotonic() - started,
    )


class Monitor:
    """Readings of the gateway's state; balances cached for `BALANCE_MAX_AGE_S`."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._lock = threading.Lock()
        self._balances: dict[str, int | None] = {}
        self._balances_at = 0.0

    def index_and_head(self, stored_index: int) -> tuple[int, int | None]:
        """The index height and the chain's head as one consistent pair: both from the report
        of the process that indexes (`health.lag_blocks`), else `stored_index` (read before)
        and the head asked of the node now (None if away). A stored height beside a report's
        older head showed the index ahead of the head."""
        work = health._work_report(self.runtime)
        head = work["chain"].get("head") if work is not None else None
        if work is not None and head is not None:
            return int(work["index_block"]), int(head)
        try:
            return stored_index, self.runtime.chain().block_number()
        except Exception:  # noqa: BLE001 - an unreachable node is a reading, not an error
            return stored_index, None

    def balances(self, addresses: list[str]) -> dict[str, int | None]:
        with self._lock:
            fresh = time.monotonic() - self._balances_at < BALANCE_MAX_AGE_S
            if fresh and all(a in self._balances for a in addresses):
                return {a: self._balances[a] for a in addresses}
            read: dict[str, int | None] = {}
            for address in addresses:
                try:
                    read[address] = self.runtime.chain().balance(address)
                except Exception:  # noqa: BLE001 - as above
                    read[address] = None
            self._balances, self._balances_at = read, time.monotonic()
            return read

    def figures(self, *, balances: bool = True) -> Figures:
        """A full reading (blocking: database, maybe the node); run it in a worker thread."""
        with self.runtime.db.read() as session:
            figures = read_figures(session)
        figures.index_block, figures.chain_head = self.index_and_head(figures.index_block)
        if balances:
            found = self.balances([s.address for s in figures.signers])
            figures.signers = [
                SignerFigures(s.address, s.brand_id, s.in_flight, found.get(s.address))
                for s in figures.signers
            ]
        return figures
