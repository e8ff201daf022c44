"""The chain's rules the gateway applies (`chain_rules`: the campaigns' multiplier cap) follow
the index only once it has caught up with the chain: a rebuild empties `idx_meta` and replays
older caps, and campaigns were capped at those meanwhile (`tests/api/api/test_admin.py` steps
a rebuild through a gateway; these check the rows)."""

from __future__ import annotations

from sqlalchemy import delete, text

from ledger_api.background.indexer.cursor import (
    MAX_MULTIPLIER,
    follow_indexed_rules,
    followed_max_multiplier,
)
from ledger_api.db import Database
from ledger_api.db.migrate import upgrade
from ledger_api.db.models import IdxMeta
from ledger_api.domain import MAX_MULTIPLIER_PCT


def test_the_cap_follows_the_index_once_caught_up_and_stays_through_a_replay(
    db: Database,
) -> None:
    with db.read() as session:  # before the index ever caught up: the index's as it stands
        assert followed_max_multiplier(session) == MAX_MULTIPLIER_PCT
    with db.write() as session:
        session.add(IdxMeta(key=MAX_MULTIPLIER, value="800"))
    with db.read() as session:
        assert followed_max_multiplier(session) == 800
    with db.write() as session:  # caught up
        follow_indexed_rules(session)
    with db.write() as session:  # a rebuild: the index empty, then an older cap replayed
        session.execute(delete(IdxMeta))
    with db.read() as session:
        assert followed_max_multiplier(session) == 800
    with db.write() as session:
        session.add(IdxMeta(key=MAX_MULTIPLIER, value="300"))
    with db.read() as session:
        assert followed_max_multiplier(session) == 800
    with db.write() as session:  # caught up again, on a chain that forgot every change
        session.execute(delete(IdxMeta))
        follow_indexed_rules(session)
    with db.read() as session:
        assert followed_max_multiplier(session) == MAX_MULTIPLIER_PCT


def test_the_migration_takes_the_indexed_cap(database_url: str) -> None:
    """0024: a database from before keeps the cap its campaigns were held to."""
    db = Database(database_url)
    try:
        upgrade(db, "0023")
        with db.engine.begin() as connection:
            connection.execute(
                text("INSERT INTO idx_meta (key, value) VALUES (:key, '450'), ('other', 'x')"),
                {"key": MAX_MULTIPLIER},
            )
        upgrade(db)
        with db.engine.begin() as connection:  # the index emptied: the followed cap stays
            connection.execute(text("DELETE FROM idx_meta"))
        with db.read() as session:
            assert followed_max_multiplier(session) == 450
    finally:
        db.dispose()
