"""The outbox's write (`write_events`): an event is fanned out in its writer's transaction,
and one that no endpoint wants is stored already dispatched, never read back nor updated
(issue 15: a bulk import writes an event per operation, most of them for no endpoint).

Each test runs on SQLite and on a real PostgreSQL server (the `db` fixture)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select
from support.gateway import settings_from

from ledger_api.access.apikeys import Principal
from ledger_api.background.webhooks.outbox import NewEvent, write_events
from ledger_api.db import Database
from ledger_api.db.webhook_models import OutboxEvent, WebhookDelivery
from ledger_api.domain import events as ev
from ledger_api.model.webhooks import WebhookCreate
from ledger_api.usecases.webhooks import WebhooksService

ADMIN = Principal(key_prefix="admin", is_admin=True)
#: a statement that reads or changes rows of the outbox once they are written
TOUCHES_EVENTS = re.compile(r"^\s*(SELECT|UPDATE)\b.*\bFROM events\b|^\s*UPDATE events\b", re.S)


def _events(kind: str, count: int, brand: int = 1) -> list[NewEvent]:
    now = datetime.now(UTC)
    return [
        NewEvent(ev.event_id(kind, f"{brand}-{n}"), kind, now, [brand], {"n": n})
        for n in range(count)
    ]


@contextmanager
def _statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _endpoint(db: Database, url: str, *types: str) -> str:
    settings = settings_from({"LEDGER_DATABASE_URL": url, "LEDGER_KEYSTORE_KDF_ITERATIONS": "1000"})
    created = WebhooksService(settings, db).create(
        ADMIN, WebhookCreate(url="http://127.0.0.1:9/hooks", event_types=list(types))
    )
    return created.id


def _stored(db: Database) -> dict[str, tuple[str, bool, int]]:
    """event id -> (type, dispatched, its deliveries)"""
    with db.read() as session:
        events = session.execute(
            select(OutboxEvent.event_id, OutboxEvent.type, OutboxEvent.dispatched, OutboxEvent.seq)
        ).all()
        deliveries = list(session.scalars(select(WebhookDelivery.event_seq)))
    return {e.event_id: (e.type, e.dispatched, deliveries.count(e.seq)) for e in events}


def test_events_no_endpoint_wants_are_written_dispatched(db: Database, database_url: str) -> None:
    _endpoint(db, database_url, ev.POINTS_EARNED)
    unwanted = _events(ev.OPERATION_CONFIRMED, 200)
    with _statements(db) as seen, db.write() as session:
        write_events(session, unwanted)
    assert not [s for s in seen if TOUCHES_EVENTS.search(s)], seen
    stored = _stored(db)
    assert {e.event_id for e in unwanted} == set(stored)
    assert set(stored.values()) == {(ev.OPERATION_CONFIRMED, True, 0)}


def test_wanted_events_get_their_deliveries_in_the_same_write(
    db: Database, database_url: str
) -> None:
    _endpoint(db, database_url, ev.POINTS_EARNED)
    _endpoint(db, database_url)  # every type
    mixed = _events(ev.POINTS_EARNED, 30) + _events(ev.OPERATION_CONFIRMED, 30)
    with db.write() as session:
        write_events(session, mixed)
        write_events(session, mixed[:10])  # written again: nothing new
    stored = _stored(db)
    assert len(stored) == 60
    for kind, dispatched, deliveries in stored.values():
        assert dispatched
        assert deliveries == (2 if kind == ev.POINTS_EARNED else 1)


def test_with_no_endpoint_at_all_nothing_waits_for_a_fan_out(db: Database) -> None:
    with _statements(db) as seen, db.write() as session:
        write_events(session, _events(ev.POINTS_EARNED, 50) + _events(ev.POINTS_EARNED, 5, 2))
    assert not [s for s in seen if TOUCHES_EVENTS.search(s)], seen
    assert {v for v in _stored(db).values()} == {(ev.POINTS_EARNED, True, 0)}
