"""The event outbox and webhook delivery tables (issue 12).

`events` is the durable outbox: one row per event, written in the same transaction as the
state change that causes it (the index projection, an operation's settlement, a reminder's
mark), under a deterministic `event_id` so a replay never writes one twice. `dispatched`
says whether its deliveries were created; `webhook_deliveries` holds one row per (endpoint,
event) with the delivery's lease (`lease_until`), taken by a conditional UPDATE.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column

from ledger_api.db.models import Address, Base, IdxLot, IdxPending
from ledger_api.db.types import PkInteger, utcnow


class OutboxEvent(Base):
    """One event. `brands` lists the ledger brand ids it concerns as `,1,2,` (empty: the
    admin's only); `endpoint_id` is set for a test event meant for one endpoint."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_undispatched", "dispatched", "seq"),
        Index("ix_events_type", "type", "seq"),
    )

    seq: Mapped[int] = mapped_column(PkInteger, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime]
    brands: Mapped[str] = mapped_column(String(400))
    payload: Mapped[dict[str, Any]]
    endpoint_id: Mapped[str | None] = mapped_column(String(40))
    dispatched: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEndpoint(Base):
    """A receiver. `brand` is the owner's ledger brand id (None: the admin, who gets all)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    brand: Mapped[int | None]
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(JSON)
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="active")
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    failing_since: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One event to one endpoint: `pending` (due at `next_attempt_at`), `delivered` or
    `dead` (retries exhausted). A process owns it while `lease_until` is in the future."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Unique("endpoint_id", "event_seq", name="uq_webhook_deliveries_endpoint_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        # an endpoint's deliveries in one status, newest first (the list's status filter)
        Index("ix_webhook_deliveries_endpoint_status", "endpoint_id", "status", "event_seq"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(String(40))
    event_seq: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(SmallInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReminderMark(Base):
    """How far the reminders of one kind and offset were computed: a position in the order
    (reminder time in chain seconds, member, brand). Lots whose reminder time is before
    `until` have had theirs; so have those at `until`, all of them when `after_member` is
    null, else up to (`after_member`, `after_brand`): a pass stops inside an instant that
    holds more lots than one pass takes (every lot of a month expires at one instant)."""

    __tablename__ = "reminder_marks"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    offset_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    until: Mapped[int]
    after_member: Mapped[str | None] = mapped_column(Address)
    after_brand: Mapped[int | None]


#: the reminders page through lots, and pending positions, in (time, member, brand) order
LOTS_BY_EXPIRY = Index("ix_idx_lots_expiry_order", IdxLot.expires_at, IdxLot.member, IdxLot.brand)
PENDING_BY_RELEASE = Index(
    "ix_idx_pending_release_order", IdxPending.release_at, IdxPending.member, IdxPending.brand
)
