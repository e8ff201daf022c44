"""Webhook endpoints, their deliveries and the event feed: what the routes call (issue 12).

A brand key manages the endpoints of its brand and reads the events in its brand's scope;
the admin key manages its own endpoints (which receive every event) and sees everything.
Each method opens its own session and may block (DNS resolution of an endpoint's host):
routes run them in a worker thread.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ledger_api.access.apikeys import Principal
from ledger_api.access.audit import AuditAction, AuditNote, note, record
from ledger_api.background.webhooks import secrets as endpoint_secrets
from ledger_api.background.webhooks import store
from ledger_api.background.webhooks.outbox import NewEvent, write_events
from ledger_api.background.webhooks.targets import check_url
from ledger_api.db import Database
from ledger_api.db.models import Brand
from ledger_api.db.webhook_models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from ledger_api.domain import events as ev
from ledger_api.errors import (
    BrandNotReady,
    InvalidCursor,
    InvalidEventType,
    TooManyWebhooks,
    UnknownDelivery,
    UnknownWebhook,
)
from ledger_api.model import webhooks as views
from ledger_api.settings import Settings

#: endpoints a brand (or the admin) may hold, deleted ones aside: every event fans out one
#: delivery, with its retries, per endpoint (a trial made 37 with one brand key)
MAX_ENDPOINTS_PER_OWNER = 20
#: the first key of the PostgreSQL advisory lock that takes one owner's creations in turn
#: ("LEDW"; `sender.ownership` uses "LEDG"); on SQLite the writers' lock does
WEBHOOK_SPACE = 0x4C454457


def owner_brand(principal: Principal) -> int | None:
    """The ledger brand an endpoint of this caller belongs to (None: the admin's)."""
    if principal.is_admin:
        return None
    principal.require_brand()
    if principal.ledger_brand_id is None:
        raise BrandNotReady("the brand is not onboarded on the ledger yet")
    return int(principal.ledger_brand_id)


def check_types(types: list[str]) -> list[str]:
    unknown = sorted(set(types) - set(ev.EVENT_TYPES))
    if unknown:
        raise InvalidEventType(
            f"unknown event types: {', '.join(unknown)}", known=list(ev.EVENT_TYPES)
        )
    return sorted(set(types))


def _view(endpoint: WebhookEndpoint) -> dict[str, Any]:
    status = "deleted" if endpoint.deleted_at is not None else endpoint.status
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "brand_id": endpoint.brand,
        "status": status,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": endpoint.created_at,
    }


def _audited(
    session: Session, who: Principal, action: AuditAction, endpoint: WebhookEndpoint
) -> AuditNote:
    """The audit note of an endpoint's change, for its brand: its id, event types and host
    (a URL's path and query may carry a token of the receiver: not kept), never its secret."""
    brand = endpoint.brand
    row = session.scalar(select(Brand.id).where(Brand.ledger_id == brand)) if brand else None
    host = urlsplit(endpoint.url).hostname or ""
    types = list(endpoint.event_types)
    return note(who, action, brand_id=row, target=endpoint.id, host=host, event_types=types)


class WebhooksService:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    # ------------------------------------------------------------- endpoints

    def create(self, who: Principal, body: views.WebhookCreate) -> views.WebhookCreated:
        brand = owner_brand(who)
        types = check_types(body.event_types)
        url = check_url(
            body.url,
            allow_private=self.settings.webhook_allow_private,
            allow_loopback=self.settings.webhook_loopback_allowed,
        )
        secret = endpoint_secrets.new_secret()
        encrypted = endpoint_secrets.encrypt(
            secret, self.settings.passphrase(), self.settings.keystore_kdf_iterations
        )
        endpoint = WebhookEndpoint(
            id="we_" + uuid.uuid4().hex,
            brand=brand,
            url=url,
            event_types=types,
            secret_encrypted=encrypted,
            status=store.ACTIVE,
            created_at=datetime.now(UTC),
        )
        with self.db.write() as session:
            self._check_room(session, brand)
            session.add(endpoint)
            session.flush()
            view = _view(endpoint)
            record(session, _audited(session, who, AuditAction.WEBHOOK_CREATED, endpoint))
        return views.WebhookCreated(**view, secret=secret)

    def _check_room(self, session: Session, brand: int | None) -> None:
        """`TooManyWebhooks` (409) when the owner already holds `MAX_ENDPOINTS_PER_OWNER`
        endpoints not deleted (disabled ones count: deleting one makes room)."""
        if not self.db.is_sqlite:
            session.execute(
                text("SELECT pg_advisory_xact_lock(:space, :owner)"),
                {"space": WEBHOOK_SPACE, "owner": 0 if brand is None else brand},
            )
        owner = WebhookEndpoint.brand.is_(None) if brand is None else WebhookEndpoint.brand == brand
        held = session.scalar(
            select(func.count())
            .select_from(WebhookEndpoint)
            .where(owner, WebhookEndpoint.deleted_at.is_(None))
        )
        if (held or 0) >= MAX_ENDPOINTS_PER_OWNER:
            raise TooManyWebhooks(max_endpoints=MAX_ENDPOINTS_PER_OWNER)

    def list(self, who: Principal) -> views.WebhookList:
        with self.db.read() as session:
            query = select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None))
            if not who.is_admin:
                query = query.where(WebhookEndpoint.brand == owner_brand(who))
            rows = session.scalars(query.order_by(WebhookEndpoint.created_at)).all()
            return views.WebhookList(webhooks=[views.WebhookView(**_view(r)) for r in rows])

    def _endpoint(self, session: Session, who: Principal, endpoint_id: str) -> WebhookEndpoint:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None or endpoint.deleted_at is not None:
            raise UnknownWebhook(endpoint_id=endpoint_id)
        if not who.is_admin and endpoint.brand != owner_brand(who):
            raise UnknownWebhook(endpoint_id=endpoint_id)  # another brand's: not disclosed
        return endpoint

    def delete(self, who: Principal, endpoint_id: str) -> views.WebhookView:
        """Deletes the endpoint; its pending deliveries are no longer attempted."""
        with self.db.write() as session:
            endpoint = self._endpoint(session, who, endpoint_id)
            endpoint.deleted_at = datetime.now(UTC)
            record(session, _audited(session, who, AuditAction.WEBHOOK_DELETED, endpoint))
            return views.WebhookView(**_view(endpoint))

    def test(self, who: Principal, endpoint_id: str) -> views.DeliveryView:
        """A `webhook.test` event delivered to this endpoint only."""
        now = datetime.now(UTC)
        with self.db.write() as session:
            endpoint = self._endpoint(session, who, endpoint_id)
            event_id = "evt_" + uuid.uuid4().hex
            payload = {"endpoint_id": endpoint.id, "message": "a test event from the gateway"}
            test = NewEvent(
                event_id, ev.WEBHOOK_TEST, now, [endpoint.brand], payload, endpoint.id, True
            )
            write_events(session, [test])
            seq = session.scalars(
                select(OutboxEvent.seq).where(OutboxEvent.event_id == event_id)
            ).one()
            delivery = WebhookDelivery(
                id=store.new_delivery_id(),
                endpoint_id=endpoint.id,
                event_seq=seq,
                status=store.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            session.add(delivery)
            session.flush()
            return _delivery_view(delivery, event_id, ev.WEBHOOK_TEST, endpoint)

    # ------------------------------------------------------------ deliveries

    def deliveries(
        self, who: Principal, endpoint_id: str, page: views.DeliveryQuery
    ) -> views.DeliveryList:
        """A page of the endpoint's deliveries, newest event first (`UnknownWebhook` 404,
        `InvalidCursor` 422); searched by `ix_webhook_deliveries_endpoint_status` with a
        status, else by the endpoint's unique (endpoint, event) index."""
        before = _cursor(page.before)
        with self.db.read() as session:
            endpoint = self._endpoint(session, who, endpoint_id)
            query = (
                select(WebhookDelivery, OutboxEvent.event_id, OutboxEvent.type)
                .join(OutboxEvent, OutboxEvent.seq == WebhookDelivery.event_seq)
                .where(WebhookDelivery.endpoint_id == endpoint_id)
            )
            if page.status is not None:
                stored = _stored_status(page.status, endpoint)
                if stored is None:  # held of an active endpoint, pending of a disabled one
                    return views.DeliveryList(deliveries=[])
                query = query.where(WebhookDelivery.status == stored)
            if before is not None:
                query = query.where(WebhookDelivery.event_seq < before)
            rows = session.execute(
                query.order_by(WebhookDelivery.event_seq.desc()).limit(page.limit + 1)
            ).all()
            more = len(rows) > page.limit
            rows = rows[: page.limit]
            return views.DeliveryList(
                deliveries=[_delivery_view(d, i, t, endpoint) for d, i, t in rows],
                next_cursor=str(rows[-1][0].event_seq) if more else None,
            )

    def retry(self, who: Principal, endpoint_id: str, delivery_id: str) -> views.DeliveryView:
        """Attempts the delivery again now (a dead one too); re-enables a disabled endpoint."""
        with self.db.write() as session:
            endpoint = self._endpoint(session, who, endpoint_id)
            delivery = session.get(WebhookDelivery, delivery_id)
            if delivery is None or delivery.endpoint_id != endpoint.id:
                raise UnknownDelivery(delivery_id=delivery_id)
            if delivery.status != store.DELIVERED:
                delivery.status = store.PENDING
                delivery.next_attempt_at = datetime.now(UTC)
                delivery.lease_owner = delivery.lease_until = None
            if endpoint.status == store.DISABLED:
                endpoint.status, endpoint.disabled_reason = store.ACTIVE, None
                endpoint.failing_since = None
            event = session.get_one(OutboxEvent, delivery.event_seq)
            session.flush()
            return _delivery_view(delivery, event.event_id, event.type, endpoint)

    # ------------------------------------------------------------------ feed

    def feed(
        self, who: Principal, after: str | None, types: str | None, limit: int
    ) -> views.EventPage:
        """Events after the cursor, oldest first, in the caller's scope."""
        start = parse_cursor(after, lowest=0) if after else 0
        wanted = check_types([t for t in (types or "").split(",") if t])
        query = select(OutboxEvent).where(
            OutboxEvent.seq > start, OutboxEvent.endpoint_id.is_(None)
        )
        brand = owner_brand(who)
        if brand is not None:
            query = query.where(OutboxEvent.brands.like(ev.scope_pattern(brand)))
        if wanted:
            query = query.where(OutboxEvent.type.in_(wanted))
        with self.db.read() as session:
            rows = session.scalars(query.order_by(OutboxEvent.seq).limit(limit + 1)).all()
            more, rows = len(rows) > limit, rows[:limit]
            events = [
                views.EventView(
                    id=r.event_id,
                    type=r.type,
                    timestamp=r.occurred_at,
                    brands=ev.brands_of(r.brands),
                    data=r.payload,
                    cursor=str(r.seq),
                )
                for r in rows
            ]
        # an empty page hands back the cursor it was given, as pages hand them out ("0005": "5")
        last = events[-1].cursor if events else (str(start) if after else after)
        return views.EventPage(events=events, next_cursor=last, has_more=more)


#: the largest event `seq` (a signed 64-bit integer on every database): a cursor above it is
#: not one a page handed out
MAX_SEQ = 2**63 - 1


#: a cursor as pages hand them out: an event's `seq` in decimal digits, nothing else (`int()`
#: also took "+5", " 5" and "1_0"); leading zeros whatever their number ("0005" was taken,
#: the same seq in 20 characters refused)
_CURSOR = re.compile(r"0*([0-9]{1,19})")


def parse_cursor(cursor: str, *, lowest: int) -> int:
    """The event `seq` a cursor names (the feed's `after`: from 0, a deliveries page's `before`:
    from 1); `InvalidCursor` (422) for anything a page does not hand out, of any length (one
    past a 64-bit integer had answered 500 from the database, one of over 20 characters
    `invalid_request`)."""
    digits = _CURSOR.fullmatch(cursor)
    if digits is None or not lowest <= int(digits[1]) <= MAX_SEQ:
        raise InvalidCursor(cursor=cursor[:40])
    return int(digits[1])


def _cursor(before: str | None) -> int | None:
    """A deliveries page's cursor (an event's `seq`, as `next_cursor` gives it); None or
    empty: none (as the feed's `after`)."""
    return parse_cursor(before, lowest=1) if before else None


def _stored_status(shown: views.DeliveryStatus, endpoint: WebhookEndpoint) -> str | None:
    """The stored status of the deliveries listed as `shown` for this endpoint (None: none
    can be): a disabled endpoint's pending deliveries are listed as held (`_delivery_view`)."""
    if shown not in (store.PENDING, store.HELD):
        return shown
    held = endpoint.status != store.ACTIVE
    return store.PENDING if (shown == store.HELD) == held else None


def _delivery_view(
    delivery: WebhookDelivery, event_id: str, type_: str, endpoint: WebhookEndpoint
) -> views.DeliveryView:
    """A delivery as its endpoint's owner sees it: a pending delivery of a disabled endpoint is
    `held` (never attempted until a retry re-enables the endpoint), with no next attempt."""
    pending = delivery.status == store.PENDING
    held = pending and endpoint.status != store.ACTIVE
    return views.DeliveryView(
        id=delivery.id,
        event_id=event_id,
        event_type=type_,
        status=store.HELD if held else delivery.status,
        attempts=delivery.attempts,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        last_attempt_at=delivery.last_attempt_at,
        next_attempt_at=delivery.next_attempt_at if pending and not held else None,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
    )
