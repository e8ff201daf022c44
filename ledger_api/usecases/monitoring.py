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
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger_api.background.indexer import read_cursor
from ledger_api.db.models import Brand, Operation, Signer, TxSlot
from ledger_api.db.webhook_models import WebhookDelivery
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

    operations: dict[tuple[str, str], int]  # (kind, status) -> count
    queued_by_brand: dict[int | None, int]  # ledger brand id (None: admin) -> queued ops
    submitted_by_brand: dict[int | None, int]  # the same for ops sent, not yet final
    oldest_queued_age_s: float
    signers: list[SignerFigures]
    deliveries: dict[str, int]  # webhook delivery status -> count
    index_block: int
    chain_head: int | None = None
    read_s: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def queue_depth(self) -> int:
        return sum(self.queued_by_brand.values())

    @property
    def submitted(self) -> int:
        return sum(self.submitted_by_brand.values())

    @property
    def index_lag_blocks(self) -> int | None:
        return health.lag_blocks(self.chain_head, self.index_block)


def read_figures(session: Session) -> Figures:
    """The database's part of a reading (one read transaction)."""
    started = time.monotonic()
    operations = {
        (str(kind), str(status)): int(count)
        for kind, status, count in session.execute(
            select(Operation.kind, Operation.status, func.count()).group_by(
                Operation.kind, Operation.status
            )
        )
    }
    open_ops: dict[str, dict[int | None, int]] = {s: {} for s in OPEN_OP_STATUSES}
    for ledger_id, status, count in session.execute(
        select(Brand.ledger_id, Operation.status, func.count())
        .select_from(Operation)
        .outerjoin(Brand, Brand.id == Operation.brand_id)
        .where(Operation.status.in_(OPEN_OP_STATUSES))
        .group_by(Brand.ledger_id, Operation.status)
    ):
        per_brand = open_ops[str(status)]
        per_brand[ledger_id] = per_brand.get(ledger_id, 0) + int(count)
    oldest = session.scalar(
        select(func.min(Operation.created_at)).where(Operation.status == OpStatus.QUEUED.value)
    )
    if isinstance(oldest, str):  # an aggregate skips the column type on SQLite
        oldest = datetime.fromisoformat(oldest)
    age = 0.0
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
        age = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
    in_flight: dict[int, int] = {
        int(signer_id): int(count)
        for signer_id, count in session.execute(
            select(TxSlot.signer_id, func.count())
            .where(TxSlot.status.in_(OPEN_SLOT_STATUSES))
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
    deliveries = {
        str(status): int(count)
        for status, count in session.execute(
            select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
        )
    }
    cursor = read_cursor(session)
    return Figures(
        operations=operations,
        queued_by_brand=open_ops[OpStatus.QUEUED.value],
        submitted_by_brand=open_ops[OpStatus.SUBMITTED.value],
        oldest_queued_age_s=round(age, 3),
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
