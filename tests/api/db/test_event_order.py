"""The event feed's cursor on PostgreSQL (issue 12 gap): an event committed late never lands
behind a cursor already handed out."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from support.progress import wait_for

from ledger_api.background.webhooks.outbox import NewEvent, write_events
from ledger_api.background.webhooks.store import EVENTS_LOCK
from ledger_api.db import Database
from ledger_api.db.migrate import upgrade
from ledger_api.db.webhook_models import OutboxEvent


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(database)
    yield database
    database.dispose()


def _event(name: str) -> NewEvent:
    return NewEvent(f"evt_{name}_{uuid.uuid4().hex[:8]}", "test", datetime.now(UTC), [1], {})


def _visible(db: Database) -> list[tuple[int, str]]:
    with db.read() as session:
        return [(r.seq, r.event_id) for r in session.scalars(select(OutboxEvent))]


def _waiting_for_the_events_lock(db: Database) -> bool:
    with db.engine.connect() as connection:
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND ((classid::bigint << 32) | objid::bigint) = :key"
            ),
            {"key": EVENTS_LOCK},
        ).scalar()
    return bool(waiting)


def test_a_later_writer_waits_so_seq_follows_commit_order(pg: Database) -> None:
    first, second = _event("first"), _event("second")
    with pg.write() as session:
        write_events(session, [first])  # takes its seq, not yet committed
        done = threading.Event()

        def later() -> None:
            with pg.write() as other:
                write_events(other, [second])
            done.set()

        thread = threading.Thread(target=later)
        thread.start()
        wait_for(lambda: _waiting_for_the_events_lock(pg), what="the second writer waiting")
        # a reader now sees no event: none that a cursor could pass over the first one
        assert _visible(pg) == []
        assert not done.is_set()
    thread.join(timeout=60)
    assert done.is_set()
    rows = _visible(pg)
    assert [event_id for _, event_id in sorted(rows)] == [first.event_id, second.event_id]
