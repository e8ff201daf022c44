"""Two deliverers (as two gateway processes) on one database: each delivery is claimed by
one of them at a time, and every event reaches the receiver once (issue 12).

Each test runs on SQLite and on a real PostgreSQL server (the `database_url` fixture); the
two deliverers have an engine (a connection pool) each, as two processes would."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from support.gateway import settings_from
from support.progress import wait_for
from support.receiver import Receiver

from ledger_api.access.apikeys import Principal
from ledger_api.background.webhooks import store
from ledger_api.background.webhooks.delivery import Deliverer
from ledger_api.background.webhooks.outbox import NewEvent, write_events
from ledger_api.db import Database
from ledger_api.db.migrate import upgrade
from ledger_api.db.webhook_models import WebhookDelivery
from ledger_api.domain import events as ev
from ledger_api.model.webhooks import WebhookCreate
from ledger_api.usecases.webhooks import WebhooksService

ADMIN = Principal(key_prefix="admin", is_admin=True)


def test_two_deliverers_deliver_each_event_once(database_url: str) -> None:
    url = database_url
    settings = settings_from(
        {
            "LEDGER_DATABASE_URL": url,
            "LEDGER_WEBHOOK_POLL_S": "0.02",
            "LEDGER_REMINDER_POLL_S": "3600",
            "LEDGER_KEYSTORE_KDF_ITERATIONS": "1000",
        }
    )
    databases = [Database(url), Database(url)]
    upgrade(databases[0])
    with Receiver() as receiver:
        endpoint = WebhooksService(settings, databases[0]).create(
            ADMIN, WebhookCreate(url=receiver.url)
        )
        now = datetime.now(UTC)
        events = [
            NewEvent(ev.event_id("test", n), ev.POINTS_EARNED, now, [1], {"n": n})
            for n in range(60)
        ]
        with databases[0].write() as session:
            write_events(session, events)
            write_events(session, events[:10])  # written again: nothing new
        workers = [Deliverer(settings=settings, db=db) for db in databases]
        for worker in workers:
            worker.start()
        try:
            got = wait_for(
                lambda: (seen := receiver.events(endpoint.secret)) and len(seen) >= 60 and seen,
                what="60 events delivered",
            )
        finally:
            for worker in workers:
                worker.stop()
        with databases[0].read() as session:
            rows = session.query(WebhookDelivery).all()
            assert len(rows) == 60 and {r.status for r in rows} == {"delivered"}
        for db in databases:
            db.dispose()
    assert Counter(e["id"] for e in got) == {e.event_id: 1 for e in events}


def test_a_lease_is_taken_by_one_claimer_until_it_runs_out(database_url: str) -> None:
    url = database_url
    db = Database(url)
    upgrade(db)
    settings = settings_from({"LEDGER_DATABASE_URL": url, "LEDGER_KEYSTORE_KDF_ITERATIONS": "1000"})
    endpoint = WebhooksService(settings, db).create(
        ADMIN, WebhookCreate(url="http://127.0.0.1:9/hooks")
    )
    with db.write() as session:  # its writer fans it out: a delivery due now
        write_events(session, [NewEvent("evt_one", ev.POINTS_EARNED, datetime.now(UTC), [1], {})])
    now = datetime.now(UTC)
    with db.read() as session:
        [(delivery_id, endpoint_id, _)] = store.due(session, now, 10)
    assert endpoint_id == endpoint.id
    with db.write() as session:
        assert store.claim(session, delivery_id, "a", now, 30) is not None
    with db.write() as session:
        assert store.claim(session, delivery_id, "b", now, 30) is None
    later = now + timedelta(seconds=31)
    with db.write() as session:
        claimed = store.claim(session, delivery_id, "b", later, 30)
    assert claimed is not None
    # the first claimer's late outcome is not written: the lease is b's now
    attempt = store.Attempt(204, None)
    with db.write() as session:
        store.record(
            session, claimed, "a", attempt, later, schedule=[1], jitter=0, disable_after_s=60
        )
    with db.read() as session:
        assert session.get_one(WebhookDelivery, delivery_id).status == "pending"
    with db.write() as session:
        store.record(
            session, claimed, "b", attempt, later, schedule=[1], jitter=0, disable_after_s=60
        )
    with db.read() as session:
        assert session.get_one(WebhookDelivery, delivery_id).status == "delivered"
    db.dispose()


def test_a_slow_endpoint_never_holds_another_endpoints_deliveries(database_url: str) -> None:
    """The slow receiver answers nothing until the fast one has every event: with a shared
    queue and no per-endpoint limit the slow one would hold every worker and this would
    never finish."""
    settings = settings_from(
        {
            "LEDGER_DATABASE_URL": database_url,
            "LEDGER_WEBHOOK_POLL_S": "0.02",
            "LEDGER_REMINDER_POLL_S": "3600",
            "LEDGER_KEYSTORE_KDF_ITERATIONS": "1000",
            "LEDGER_WEBHOOK_WORKERS": "4",
            "LEDGER_WEBHOOK_CONCURRENCY_PER_ENDPOINT": "2",
            "LEDGER_WEBHOOK_TIMEOUT_S": "600",
        }
    )
    db = Database(database_url)
    upgrade(db)
    gate = threading.Event()
    with Receiver() as slow, Receiver() as fast:
        slow.gate = gate
        service = WebhooksService(settings, db)
        service.create(ADMIN, WebhookCreate(url=slow.url))
        quick = service.create(ADMIN, WebhookCreate(url=fast.url))
        now = datetime.now(UTC)
        events = [
            NewEvent(ev.event_id("slow", n), ev.POINTS_EARNED, now, [1], {"n": n})
            for n in range(20)
        ]
        with db.write() as session:
            write_events(session, events)
        worker = Deliverer(settings=settings, db=db)
        worker.start()
        try:
            got = wait_for(
                lambda: (seen := fast.events(quick.secret)) and len(seen) >= 20 and seen,
                what="the fast endpoint's 20 events while the slow one hangs",
            )
            assert slow.accepted == []  # still hanging on its first requests
        finally:
            gate.set()
            worker.stop()
        db.dispose()
    assert Counter(e["id"] for e in got) == {e.event_id: 1 for e in events}
