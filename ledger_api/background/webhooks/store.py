"""The delivery side's SQL: fan-out of new events, leases, outcomes (SQLite and PostgreSQL).

A delivery is claimed with a conditional UPDATE (`status = 'pending'` and no live lease):
of several processes trying at once exactly one changes the row. Its outcome is written
only while the lease is still the claimer's.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ledger_api.db.models import table_of
from ledger_api.db.webhook_models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from ledger_api.domain import events as ev

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
#: how a pending delivery of a disabled endpoint shows (never stored: such a
#: delivery stays pending, and is not attempted until a retry re-enables its endpoint)
HELD = "held"
ACTIVE, DISABLED = "active", "disabled"
FANOUT_BATCH = 500
#: the transaction advisory lock that orders event writers on PostgreSQL ("LEDGEV")
EVENTS_LOCK = 0x4C4544474556


def lock_events(session: Session) -> None:
    """PostgreSQL: waits for `EVENTS_LOCK`, held until the transaction ends (taken again by the
    same transaction, it is already held); SQLite has one writer at a time."""
    if session.get_bind().dialect.name != "sqlite":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENTS_LOCK})


def new_delivery_id() -> str:
    return "dlv_" + uuid.uuid4().hex


class Routable(Protocol):
    """What routing reads of an event: its type and the brands it concerns."""

    @property
    def type(self) -> str: ...

    @property
    def brands(self) -> str: ...


class Receiving(Protocol):
    """What routing reads of an endpoint: its owner's brand (None: the admin) and its types."""

    @property
    def brand(self) -> int | None: ...

    @property
    def event_types(self) -> list[str]: ...


def wants(endpoint: Receiving, event: Routable) -> bool:
    """Whether the endpoint receives the event: in its owner's scope, of a type it chose."""
    if endpoint.brand is not None and endpoint.brand not in ev.brands_of(event.brands):
        return False
    return not endpoint.event_types or event.type in endpoint.event_types


_DELIVERIES = table_of(WebhookDelivery)
_EVENTS = table_of(OutboxEvent)
_ENDPOINTS = table_of(WebhookEndpoint)
#: the statements of a fan-out, built once (a statement built per call costs its cache key on
#: every write transaction that records an event: the settler's, the indexer's, the intake's)
_NEW_DELIVERIES = {
    "sqlite": sqlite_insert(_DELIVERIES).on_conflict_do_nothing(
        index_elements=["endpoint_id", "event_seq"]
    ),
    "postgresql": pg_insert(_DELIVERIES).on_conflict_do_nothing(
        index_elements=["endpoint_id", "event_seq"]
    ),
}
_UNDISPATCHED = (
    select(_EVENTS.c.seq, _EVENTS.c.type, _EVENTS.c.brands, _EVENTS.c.endpoint_id)
    .where(_EVENTS.c.dispatched.is_(False))
    .order_by(_EVENTS.c.seq)
    .limit(bindparam("limit"))
)
_ACTIVE_ENDPOINTS = select(_ENDPOINTS.c.id, _ENDPOINTS.c.brand, _ENDPOINTS.c.event_types).where(
    _ENDPOINTS.c.status == ACTIVE, _ENDPOINTS.c.deleted_at.is_(None)
)
_DISPATCHED = (
    update(_EVENTS)
    .where(_EVENTS.c.seq.in_(bindparam("seqs", expanding=True)))
    .values(dispatched=True)
)


@dataclass(frozen=True, slots=True)
class _Route:
    type: str
    brands: str


def active_endpoints(connection: Connection) -> Sequence[Any]:
    """The endpoints that receive events now: id, brand and event types."""
    return connection.execute(_ACTIVE_ENDPOINTS).all()


def routing(endpoints: Sequence[Receiving]) -> Callable[[Mapping[str, Any]], bool]:
    """Whether any of `endpoints` wants an event row (its `type` and `brands` scope),
    answered once per type and scope."""
    answers: dict[tuple[str, str], bool] = {}

    def wanted(row: Mapping[str, Any]) -> bool:
        key = (row["type"], row["brands"])
        answer = answers.get(key)
        if answer is None:
            route = _Route(*key)
            answer = answers[key] = any(wants(endpoint, route) for endpoint in endpoints)
        return answer

    return wanted


def insert_deliveries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Inserts deliveries (one per endpoint and event: a pair already stored is skipped)."""
    if not rows:
        return
    connection = session.connection()
    connection.execute(_NEW_DELIVERIES[connection.dialect.name], list(rows))


def undispatched(session: Session) -> bool:
    """Whether an event waits for its fan-out (one indexed lookup, for a read transaction)."""
    first = select(OutboxEvent.seq).where(OutboxEvent.dispatched.is_(False)).limit(1)
    return session.scalar(first) is not None


def fan_out(
    session: Session,
    now: datetime,
    limit: int = FANOUT_BATCH,
    endpoints: Sequence[Any] | None = None,
) -> int:
    """Creates the deliveries of the oldest events not yet dispatched; returns how many events
    (at most `limit`). Only the routing columns are read: the payloads are read at delivery (a
    bulk import writes an event per operation, most of them for no endpoint). On PostgreSQL
    under `EVENTS_LOCK`: two fan-outs never wait on each other's rows. `endpoints`: the active
    endpoints, when the caller has just read them in this transaction (`active_endpoints`)."""
    lock_events(session)
    connection = session.connection()
    events = connection.execute(_UNDISPATCHED, {"limit": limit}).all()
    if not events:
        return 0
    if endpoints is None:
        endpoints = active_endpoints(connection)
    rows = [
        {
            "id": new_delivery_id(),
            "endpoint_id": endpoint.id,
            "event_seq": event.seq,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for event in events
        if event.endpoint_id is None
        for endpoint in endpoints
        if wants(endpoint, event)
    ]
    insert_deliveries(session, rows)
    connection.execute(_DISPATCHED, {"seqs": [e.seq for e in events]})
    return len(events)


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: str
    endpoint_id: str
    url: str
    secret_encrypted: bytes
    event_id: str
    type: str
    occurred_at: datetime
    brands: str
    payload: dict[str, Any]
    attempts: int


def due(
    session: Session,
    now: datetime,
    limit: int,
    busy: Sequence[str] = (),
    busy_owners: Sequence[int | None] = (),
) -> list[tuple[str, str, int | None]]:
    """(delivery id, endpoint id, the endpoint's owner: its brand, None for the admin) of
    deliveries due and free of any live lease, leaving out the `busy` endpoints and the
    endpoints of the `busy_owners` (at their limits in this process: their backlog must not
    fill the page and starve the others)."""
    query = (
        select(WebhookDelivery.id, WebhookDelivery.endpoint_id, WebhookEndpoint.brand)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            _free(now),
            WebhookEndpoint.status == ACTIVE,
            WebhookEndpoint.deleted_at.is_(None),
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    if busy:
        query = query.where(WebhookDelivery.endpoint_id.not_in(list(busy)))
    brands = [owner for owner in busy_owners if owner is not None]
    if brands:
        query = query.where(
            or_(WebhookEndpoint.brand.is_(None), WebhookEndpoint.brand.not_in(brands))
        )
    if None in busy_owners:
        query = query.where(WebhookEndpoint.brand.is_not(None))
    return [(r.id, r.endpoint_id, r.brand) for r in session.execute(query).all()]


def next_attempt_at(session: Session) -> datetime | None:
    """When the earliest pending delivery of an active endpoint is due (UTC), if any."""
    at: datetime | None = session.scalar(
        select(func.min(WebhookDelivery.next_attempt_at))
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookEndpoint.status == ACTIVE,
            WebhookEndpoint.deleted_at.is_(None),
        )
    )
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # SQLite hands back naive datetimes
    return at


def _free(now: datetime) -> Any:
    return or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now)


def claim(
    session: Session, delivery_id: str, owner: str, now: datetime, lease_s: float
) -> Claimed | None:
    """Takes the delivery's lease if nobody holds it (one conditional UPDATE)."""
    taken = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == PENDING,
            _free(now),
        )
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_s))
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) != 1:
        return None
    row = session.execute(
        select(WebhookDelivery, WebhookEndpoint, OutboxEvent)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(OutboxEvent, OutboxEvent.seq == WebhookDelivery.event_seq)
        .where(WebhookDelivery.id == delivery_id)
    ).one()
    delivery, endpoint, event = row
    return Claimed(
        delivery.id,
        endpoint.id,
        endpoint.url,
        endpoint.secret_encrypted,
        event.event_id,
        event.type,
        event.occurred_at,
        event.brands,
        event.payload,
        delivery.attempts,
    )


@dataclass(frozen=True, slots=True)
class Attempt:
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def record(
    session: Session,
    claimed: Claimed,
    owner: str,
    attempt: Attempt,
    now: datetime,
    *,
    schedule: Sequence[float],
    jitter: float,
    disable_after_s: float,
) -> str | None:
    """Writes an attempt's outcome while the lease is still `owner`'s. Returns the delivery's
    status after it (`delivered`, `pending` for a retry later, `dead` once the schedule is
    spent), or None when the lease had run out (another process's outcome counts)."""
    attempts = claimed.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": attempt.status_code,
        "last_error": attempt.error,
        "last_attempt_at": now,
        "lease_owner": None,
        "lease_until": None,
    }
    if attempt.ok:
        values.update(status=DELIVERED, delivered_at=now)
    elif attempts > len(schedule):
        values.update(status=DEAD)
    else:
        delay = schedule[attempts - 1] * (1 + random.uniform(-jitter, jitter))
        values.update(next_attempt_at=now + timedelta(seconds=max(0.0, delay)))
    written = session.execute(
        update(WebhookDelivery)
        .where(
            and_(
                WebhookDelivery.id == claimed.delivery_id,
                WebhookDelivery.lease_owner == owner,
                WebhookDelivery.status == PENDING,
            )
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(written, "rowcount", 0) != 1:
        return None  # the lease ran out and another process took it: its outcome counts
    _endpoint_health(session, claimed.endpoint_id, attempt.ok, now, disable_after_s)
    return str(values.get("status", PENDING))


def _endpoint_health(
    session: Session, endpoint_id: str, ok: bool, now: datetime, disable_after_s: float
) -> None:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        return
    if ok:
        endpoint.failing_since = None
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    elif (now - endpoint.failing_since).total_seconds() > disable_after_s:
        endpoint.status = DISABLED
        endpoint.disabled_reason = (
            f"every delivery failed since {endpoint.failing_since.isoformat()}"
        )
