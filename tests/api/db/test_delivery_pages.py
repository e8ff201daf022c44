"""An endpoint's deliveries, a page at a time and by status (`GET /v1/webhooks/{id}/deliveries`):
the list showed the newest 500 at most, so a dead delivery behind them could not be found to
retry it. `status` filters (pending, held, delivered, dead) and `before` takes a page's
`next_cursor`; a status is searched by `ix_webhook_deliveries_endpoint_status`."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.plans import Statements, all_plans
from support.rows import webhook_endpoint

from ledger_api.access.apikeys import Principal
from ledger_api.db import Database
from ledger_api.db.migrate import upgrade
from ledger_api.db.types import utcnow
from ledger_api.db.webhook_models import OutboxEvent, WebhookDelivery
from ledger_api.domain.ids import BrandRowId, LedgerBrandId
from ledger_api.errors import InvalidCursor
from ledger_api.model.webhooks import DeliveryList, DeliveryQuery, DeliveryStatus
from ledger_api.settings import Settings
from ledger_api.usecases.webhooks import WebhooksService

BRAND = Principal("k", False, BrandRowId(1), LedgerBrandId(1))
#: the active endpoint's deliveries by event seq: dead ones among delivered and pending ones
ACTIVE_STATUSES = {seq: "delivered" for seq in range(1, 15)} | {
    2: "dead",
    5: "dead",
    13: "dead",
    14: "pending",
    12: "pending",
}


def _seed(db: Database) -> None:
    now = utcnow()
    with db.write() as session:
        for endpoint_id, status in (("we_active", "active"), ("we_off", "disabled")):
            session.add(webhook_endpoint(endpoint_id, status))
        for seq in range(1, 18):
            session.add(
                OutboxEvent(
                    seq=seq,
                    event_id=f"evt_{seq}",
                    type="operation.confirmed",
                    occurred_at=now,
                    brands=",1,",
                    payload={"n": seq},
                )
            )
        deliveries = [(seq, "we_active", status) for seq, status in ACTIVE_STATUSES.items()]
        deliveries += [(15, "we_off", "delivered"), (16, "we_off", "pending")]
        deliveries += [(17, "we_off", "pending")]
        for seq, endpoint_id, status in deliveries:
            session.add(
                WebhookDelivery(
                    id=f"dlv_{endpoint_id}_{seq}",
                    endpoint_id=endpoint_id,
                    event_seq=seq,
                    status=status,
                    next_attempt_at=now,
                )
            )


@pytest.fixture
def service(db: Database) -> WebhooksService:
    _seed(db)
    return WebhooksService(Settings(), db)


def _pages(
    service: WebhooksService, endpoint: str, status: DeliveryStatus | None, limit: int
) -> list[list[tuple[int, str]]]:
    """Every page, following `next_cursor`: (event seq, shown status) per delivery."""
    pages: list[list[tuple[int, str]]] = []
    before = None
    while True:
        page: DeliveryList = service.deliveries(
            BRAND, endpoint, DeliveryQuery(status, before, limit)
        )
        pages.append([(int(d.event_id.removeprefix("evt_")), d.status) for d in page.deliveries])
        before = page.next_cursor
        if before is None:
            return pages
        assert len(pages) < 20, "the cursor does not move"


def test_every_delivery_a_page_at_a_time_newest_first(service: WebhooksService) -> None:
    pages = _pages(service, "we_active", None, 4)
    assert [len(page) for page in pages] == [4, 4, 4, 2]
    listed = [row for page in pages for row in page]
    assert listed == sorted(ACTIVE_STATUSES.items(), reverse=True)


def test_the_dead_ones_to_retry(service: WebhooksService) -> None:
    assert _pages(service, "we_active", "dead", 2) == [
        [(13, "dead"), (5, "dead")],
        [(2, "dead")],
    ]
    assert _pages(service, "we_active", "pending", 100) == [[(14, "pending"), (12, "pending")]]
    # a page exactly as long as what is left is the last: no cursor to an empty page
    assert _pages(service, "we_active", "dead", 3) == [[(13, "dead"), (5, "dead"), (2, "dead")]]


def test_a_disabled_endpoints_pending_deliveries_are_the_held_ones(
    service: WebhooksService,
) -> None:
    assert _pages(service, "we_off", "held", 100) == [[(17, "held"), (16, "held")]]
    assert _pages(service, "we_off", "pending", 100) == [[]]
    assert _pages(service, "we_active", "held", 100) == [[]]
    assert _pages(service, "we_off", None, 100) == [[(17, "held"), (16, "held"), (15, "delivered")]]


@pytest.mark.parametrize("cursor", ["x", "0", "-3", "1.5", "+5", "1_0", str(2**63), "9" * 20])
def test_a_cursor_that_is_not_one_is_refused(service: WebhooksService, cursor: str) -> None:
    """Past a 64-bit integer too: the database refused to bind it, a 500 (a new user's trial),
    in the event feed's `after` as well."""
    with pytest.raises(InvalidCursor):
        service.deliveries(BRAND, "we_active", DeliveryQuery(None, cursor, 10))
    if cursor != "0":  # the feed's start
        with pytest.raises(InvalidCursor):
            service.feed(BRAND, cursor, None, 10)


def test_an_empty_cursor_is_none_on_both_routes(service: WebhooksService) -> None:
    """The feed's empty `after` read from the start while the deliveries' empty `before`
    answered 422 (the second trial): both now mean no cursor."""
    first = service.deliveries(BRAND, "we_active", DeliveryQuery(None, None, 10))
    assert service.deliveries(BRAND, "we_active", DeliveryQuery(None, "", 10)) == first
    assert service.feed(BRAND, "", None, 10).events == service.feed(BRAND, None, None, 10).events


def test_a_status_is_searched_by_its_index(tmp_path: Path) -> None:
    """SQLite's plan of the status filter ranges over the endpoint's deliveries in that
    status; without one, over the endpoint's deliveries (never a scan of the table)."""
    path = tmp_path / "pages.db"
    db = Database(f"sqlite:///{path}")
    try:
        upgrade(db)
        _seed(db)
        service = WebhooksService(Settings(), db)
        statements = Statements(db)
        try:
            service.deliveries(BRAND, "we_active", DeliveryQuery("dead", "9", 10))
            service.deliveries(BRAND, "we_active", DeliveryQuery(None, "9", 10))
        finally:
            statements.close()
    finally:
        db.dispose()
    listing = [s for s in statements.seen if "webhook_deliveries" in s[0]]
    with_status, without = all_plans(path, listing)
    assert "ix_webhook_deliveries_endpoint_status" in with_status, with_status
    for plan in (with_status, without):
        assert "SCAN webhook_deliveries" not in plan, plan
