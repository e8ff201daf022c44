from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import postgres

from ledger_api.db import Database
from ledger_api.db.migrate import upgrade


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    postgres.require()
    with postgres.server() as url:
        yield url


@pytest.fixture
def postgres_server() -> Iterator[postgres.Server]:
    """A server of the test's own, which it may stop and start (an outage, a restart)."""
    postgres.require()
    with postgres.server_handle() as handle:
        yield handle


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each storage test runs on SQLite and on a real PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'storage.db'}"
        return
    base: str = request.getfixturevalue("postgres_url")
    # a fresh schema per test: drop everything the previous test created
    from sqlalchemy import create_engine, text

    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield base


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A database at the packaged head, on each of `database_url`'s servers."""
    database = Database(database_url)
    upgrade(database)
    yield database
    database.dispose()
