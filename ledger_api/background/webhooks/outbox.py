"""Writing events into the outbox (`events`), always inside the caller's transaction.

`write_events` inserts with ON CONFLICT (event_id) DO NOTHING on SQLite and PostgreSQL: an
event whose cause was already recorded (a replayed projection, a reminder computed again)
is not written twice. On PostgreSQL the writer first takes a transaction advisory lock
(`store.EVENTS_LOCK`, held until its commit), so event-writing transactions take their `seq` values
one after the other, in commit order: a feed reader (`GET /v1/events?after=`) that sees
`seq` n has seen every committed event below n, and an event committed late can never land
behind a cursor already handed out. `operation_events` gives the events of settled operations (the
sender's settlement and a multisig admin's watcher call it in the transaction that settles
them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ledger_api.background.notify import Settled
from ledger_api.db.models import table_of
from ledger_api.db.webhook_models import OutboxEvent
from ledger_api.domain import OpStatus
from ledger_api.domain import events as ev

from .store import active_endpoints, fan_out, lock_events, routing


@dataclass(slots=True)
class NewEvent:
    """An event to record: `payload` is self-contained (ids, amounts, addresses, dates)."""

    event_id: str
    type: str
    occurred_at: datetime
    brands: Sequence[int | None]
    payload: dict[str, Any]
    endpoint_id: str | None = None
    dispatched: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "type": self.type,
            "occurred_at": self.occurred_at,
            "brands": ev.scope_of(self.brands),
            "payload": self.payload,
            "endpoint_id": self.endpoint_id,
            "dispatched": self.dispatched,
            "created_at": datetime.now(UTC),
        }


_OUTBOX = table_of(OutboxEvent)
#: INSERT ... ON CONFLICT (event_id) DO NOTHING, built once per dialect
_NEW_EVENTS = {
    "sqlite": sqlite_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["event_id"]),
    "postgresql": pg_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["event_id"]),
}


def write_events(session: Session, events: Iterable[NewEvent]) -> None:
    """Inserts the events in the caller's transaction (an event id already stored is skipped)
    and fans them out there: their deliveries are written with them, without a turn of the
    webhook thread's own at SQLite's one writer lock (issue 15: a tenth of the lock's time
    under load). An event no active endpoint wants (most of a bulk import's) is written
    already dispatched: no delivery to create, so neither read back nor updated. For the
    others it fans out at most as many events as it wrote that some endpoint wants, oldest
    first; what is left (a backlog) is the webhook thread's.

    SQLite has one writer at a time; PostgreSQL writers wait for `EVENTS_LOCK` (see above)."""
    rows = [e.row() for e in events]
    if not rows:
        return
    lock_events(session)
    connection = session.connection()  # a Core statement: no ORM execution around it
    endpoints = active_endpoints(connection)  # read once: the routing and the fan-out's
    wanted = routing(endpoints)
    fanned = 0
    for row in rows:
        if not row["dispatched"]:
            row["dispatched"] = row["endpoint_id"] is not None or not wanted(row)
            fanned += not row["dispatched"]
    connection.execute(_NEW_EVENTS[connection.dialect.name], rows)
    if fanned:
        fan_out(session, datetime.now(UTC), limit=fanned, endpoints=endpoints)


def operation_events(settled: Iterable[Settled], *, admins: bool) -> list[NewEvent]:
    """`operation.confirmed` / `operation.failed` for settled operations, with the brand their
    status shows (`Settled.ledger_brand_id`, `brand_id` in the event). `admins`: they are the
    admin's (queued on its queue), so only the admin's endpoints and feed get them, also when
    they act on one brand (a suspension, a point value...); a brand's go to its scope."""
    out: list[NewEvent] = []
    for state in settled:
        status = OpStatus(state.status)
        if status not in (OpStatus.CONFIRMED, OpStatus.FAILED):
            continue
        confirmed = status is OpStatus.CONFIRMED
        kind_name = ev.OPERATION_CONFIRMED if confirmed else ev.OPERATION_FAILED
        payload: dict[str, Any] = {
            "operation_id": state.uid,
            "kind": state.kind,
            "brand_id": state.ledger_brand_id,
            "status": status.value,
            "tx_hash": state.tx_hash,
            "block_number": state.block_number,
        }
        if confirmed:
            payload["result"] = state.result
        else:
            payload["error"] = {"code": state.error_code, "message": state.error_message}
        scope = [None if admins else state.ledger_brand_id]
        event_id = ev.event_id(kind_name, state.uid)
        out.append(NewEvent(event_id, kind_name, state.updated_at, scope, payload))
    return out
