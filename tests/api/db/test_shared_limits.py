"""Per-key rate limits shared through PostgreSQL by every gateway process (issue 14 item 3)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from ledger_api.access.ratelimit import SharedRateLimiter
from ledger_api.db import Database
from ledger_api.db.migrate import upgrade
from ledger_api.errors import RateLimited


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(database)
    yield database
    database.dispose()


def test_two_processes_share_one_bucket_per_key(pg: Database, postgres_url: str) -> None:
    other_process = Database(postgres_url)  # its own engine and connections
    try:
        # a slow refill: one token in 1000 s, so the test does not depend on timing
        one = SharedRateLimiter(pg, rate=0.001, burst=4)
        two = SharedRateLimiter(other_process, rate=0.001, burst=4)
        for limiter in (one, two, one, two):
            limiter.check("key-a")
        with pytest.raises(RateLimited) as refused:
            two.check("key-a")
        assert 0 < refused.value.details["retry_after_s"] <= 1000
        with pytest.raises(RateLimited):
            one.check("key-a")
        two.check("key-b")  # another key has its own bucket
    finally:
        other_process.dispose()
