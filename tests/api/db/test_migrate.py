"""Migrations at process start: a database at the packaged head costs one query, and no
process keeps Alembic resident for it (issue 15's memory figure)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text

from ledger_api.db import Database
from ledger_api.db.migrate import alembic_config, packaged_head, stored_revision, upgrade


def test_the_packaged_head_is_alembics_head() -> None:
    assert packaged_head() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_database_at_the_head_is_opened_without_alembic(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert stored_revision(db) is None
        upgrade(db)
        assert stored_revision(db) == packaged_head()
    finally:
        db.dispose()
    probe = (
        "import sys\n"
        "from ledger_api.db import Database\n"
        "from ledger_api.db.migrate import upgrade\n"
        f"db = Database({database_url!r})\n"
        "upgrade(db)\n"
        "db.dispose()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_processes_migrating_a_new_database_at_once_all_start(database_url: str) -> None:
    """A trial: three `ledger serve` started together on a new PostgreSQL database; two died
    on `alembic_version` already existing (`UniqueViolation`), nothing ordering their
    migrations (on SQLite, one died of `database is locked`). Three processes migrate at the
    same moment here: all finish, and the schema is at the head."""
    script = (
        "import sys, time\n"
        "from ledger_api.db import Database\n"
        "from ledger_api.db.migrate import upgrade\n"
        "start = float(sys.argv[2])\n"
        "time.sleep(max(0.0, start - time.time()))\n"
        "upgrade(Database(sys.argv[1]))\n"
    )
    at = time.time() + 3.0  # after every interpreter has started and imported
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, database_url, str(at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    said = [p.communicate(timeout=300)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], said
    database = Database(database_url)
    try:
        assert stored_revision(database) == packaged_head()
    finally:
        database.dispose()


def test_the_escrows_migration_fills_them_from_the_indexed_bids(database_url: str) -> None:
    """0027 (`idx_escrows`): an index made before it learns its escrows from the `bid` lines
    it holds (their counterparty), so the member figures leave them out at once."""
    database = Database(database_url)
    upgrade(database, "0026")
    escrow, member = "0x" + "e5" * 20, "0x" + "ab" * 20
    line = (
        "INSERT INTO idx_history (member, brand, kind, amount, counterparty, block_number, "
        "log_index, tx_hash, timestamp) VALUES (:member, 1, :kind, 10, :other, 1, :log, "
        "'0x01', 1)"
    )
    with database.write() as session:
        session.execute(text(line), {"member": member, "kind": "bid", "other": escrow, "log": 0})
        session.execute(
            text(line), {"member": member, "kind": "gifted", "other": "0x" + "cd" * 20, "log": 1}
        )
    upgrade(database)
    with database.read() as session:
        assert session.scalars(text("SELECT address FROM idx_escrows")).all() == [escrow]
    database.dispose()


def test_the_bid_live_migration_counts_indexed_bids_whole(database_url: str) -> None:
    """0030 (`idx_auction_bids.live`, `live_until`): a bid indexed before it is counted whole,
    `live = amount`, as a `BidPlaced` sets it (a later `BidRecounted` corrects it)."""
    database = Database(database_url)
    upgrade(database, "0029")
    bid = (
        "INSERT INTO idx_auction_bids (auction_id, bidder, brand, amount, value_micro_usd, "
        "status, updated_at) VALUES (1, :bidder, 1, :amount, '30000000', 'held', 1)"
    )
    with database.write() as session:
        session.execute(text(bid), {"bidder": "0x" + "ab" * 20, "amount": "3000"})
        session.execute(text(bid), {"bidder": "0x" + "cd" * 20, "amount": str(10**12)})
    upgrade(database)
    with database.read() as session:
        rows = session.execute(
            text("SELECT bidder, live, live_until FROM idx_auction_bids ORDER BY bidder")
        ).all()
    assert [tuple(r) for r in rows] == [
        ("0x" + "ab" * 20, "3000", None),
        ("0x" + "cd" * 20, str(10**12), None),
    ]
    database.dispose()
