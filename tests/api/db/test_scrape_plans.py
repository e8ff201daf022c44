"""A reading of the gateway's state (`/metrics`, `/v1/stats/gateway`) follows the work in
progress, never the history (issue 15: an idle gateway that idles, scraped every 15 s).

It counted every operation and every webhook delivery ever stored (a `GROUP BY` over each
table, and the open slots through the whole of `ix_tx_slots_open`): 0.7 s of CPU a scrape at a
million operations, growing with every earn. It now reads the open operations through each
brand's open range of `ix_operations_queue`, the open slots through each signer's range of
`ix_tx_slots_open`, and the pending and dead deliveries through `ix_webhook_deliveries_due`;
final operations and delivered webhooks are counted as they happen (Prometheus counters).
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from support.plans import Statements, all_plans
from support.rows import add_brand, queued_earn, webhook_endpoint

from ledger_api.db import Database
from ledger_api.db.migrate import upgrade
from ledger_api.db.models import Signer, TxSlot
from ledger_api.db.types import utcnow
from ledger_api.db.webhook_models import WebhookDelivery
from ledger_api.domain import OpKind, OpStatus, SlotStatus
from ledger_api.usecases.monitoring import read_figures

#: the tables that grow with the history: a reading never reads them whole
HISTORY_TABLES = ("operations", "tx_slots", "webhook_deliveries")


def _signer(session: object, brand_id: int | None, n: int) -> Signer:
    signer = Signer(brand_id=brand_id, address=f"0x{n:040x}", next_nonce=0, active=True)
    session.add(signer)  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    return signer


def _slot(signer_id: int, nonce: int, status: SlotStatus) -> TxSlot:
    return TxSlot(
        signer_id=signer_id,
        nonce=nonce,
        kind="earnBatch",
        status=status,
        to_address="0x" + "11" * 20,
        calldata=b"\x00",
        value_wei=0,
        gas_limit=100_000,
    )


def _delivery(n: int, status: str, endpoint_id: str = "we_1") -> WebhookDelivery:
    return WebhookDelivery(
        id=f"dlv_{n}", endpoint_id=endpoint_id, event_seq=n, status=status, next_attempt_at=utcnow()
    )


def test_a_reading_counts_what_is_in_progress(db: Database) -> None:
    """Open operations by kind and status, per brand (the alliance's own under None, a brand
    not yet on chain too), the oldest queued one's age, each signer's open slots, and the
    pending (held: for a disabled endpoint) and dead deliveries, a deleted endpoint's not; the
    history (confirmed, failed, delivered) is not read."""
    now = utcnow()
    with db.write() as session:
        a = add_brand(session, "Alpha", "ALP", ledger_id=1)
        b = add_brand(session, "Beta", "BET", ledger_id=2)
        newcomer = add_brand(session, "Gamma", "GAM")  # onboarding: no ledger id yet
        signers = [_signer(session, brand_id, n) for n, brand_id in enumerate((a.id, b.id, None))]
        history = [
            queued_earn(a.id, n, now, status=status)
            for n, status in enumerate([OpStatus.CONFIRMED] * 30 + [OpStatus.FAILED] * 4)
        ]
        oldest = now - timedelta(seconds=120)
        open_ops = [
            queued_earn(a.id, 100, oldest),
            queued_earn(a.id, 101, now),
            queued_earn(a.id, 102, now, status=OpStatus.SUBMITTED),
            queued_earn(a.id, 103, now, kind=OpKind.GIFT, op_id=None),
            queued_earn(b.id, 200, now, status=OpStatus.SUBMITTED),
            queued_earn(newcomer.id, 300, now, kind=OpKind.EARN),
            queued_earn(None, 400, now, kind=OpKind.SUSPEND_BRAND, op_id=None),  # type: ignore[arg-type]
        ]
        session.add_all(history + open_ops)
        slots = [_slot(signers[0].id, n, SlotStatus.CONFIRMED) for n in range(20)]
        slots += [
            _slot(signers[0].id, 20, SlotStatus.PENDING),
            _slot(signers[0].id, 21, SlotStatus.SIGNED),
        ]
        slots += [_slot(signers[2].id, 0, SlotStatus.MINED)]
        session.add_all(slots)
        gone = webhook_endpoint("we_3", "disabled")
        gone.deleted_at = now
        session.add_all(
            [webhook_endpoint("we_1", "active"), webhook_endpoint("we_2", "disabled"), gone]
        )
        deliveries = [_delivery(n, "delivered") for n in range(25)]
        deliveries += [_delivery(100 + n, "pending") for n in range(3)] + [_delivery(200, "dead")]
        # a disabled endpoint's pending deliveries are never attempted: held, not waiting
        deliveries += [_delivery(300 + n, "pending", "we_2") for n in range(2)]
        # a deleted endpoint's are not counted: nothing can attempt, list or retry them, so a
        # gauge that counted them could never come back to 0 (a new user's trial)
        deliveries += [_delivery(400, "pending", "we_3"), _delivery(401, "dead", "we_3")]
        session.add_all(deliveries)

    with db.read() as session:
        figures = read_figures(session)
    assert figures.operations == {
        ("earn", "queued"): 3,
        ("earn", "submitted"): 2,
        ("gift", "queued"): 1,
        ("suspend_brand", "queued"): 1,
    }
    assert figures.queued_by_brand == {1: 3, None: 2}  # the newcomer's under no ledger id
    assert figures.submitted_by_brand == {1: 1, 2: 1}
    assert 119 <= figures.oldest_queued_age_s < 600
    assert {s.brand_id: s.in_flight for s in figures.signers} == {1: 2, 2: 0, None: 1}
    assert figures.deliveries == {"pending": 3, "held": 2, "dead": 1}


def _seed_history(path: Path, final_ops: int) -> None:
    """Brand 1 and the alliance with a long history (`final_ops` confirmed earns, a slot for
    every 100, a delivered webhook for each) and a little in progress."""
    stamp = "2026-12-01 00:00:00.000000"
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(
            "INSERT INTO brands (id, ledger_id, name, symbol, status, value_micro_usd,"
            " points_per_usd, points_per_review, points_per_share, points_per_event,"
            " points_per_referral, next_op_id, created_at) VALUES"
            " (1, 1, 'Alpha', 'ALP', 'active', 10000, 10, 5, 3, 10, 20, 1, ?)",
            (stamp,),
        )
        connection.executemany(
            "INSERT INTO signers (id, brand_id, address, next_nonce, active, created_at)"
            " VALUES (?, ?, ?, 0, 1, ?)",
            [(1, 1, "0x" + "01" * 20, stamp), (2, None, "0x" + "02" * 20, stamp)],
        )
        statuses = ["confirmed"] * final_ops + ["queued"] * 5 + ["submitted"] * 5
        connection.executemany(
            "INSERT INTO operations (uid, brand_id, kind, status, op_id, points, payload,"
            " attempts, created_at, updated_at) VALUES (?, ?, 'earn', ?, ?, 0, '{}', 0, ?, ?)",
            (
                (f"op_{n}", 1 if n % 10 else None, status, n, stamp, stamp)
                for n, status in enumerate(statuses)
            ),
        )
        connection.executemany(
            "INSERT INTO tx_slots (signer_id, nonce, kind, status, to_address, calldata,"
            " value_wei, gas_limit, cancelling, created_at, updated_at)"
            " VALUES (?, ?, 'earnBatch', ?, ?, x'00', '0', 100000, 0, ?, ?)",
            (
                (
                    1 + n % 2,
                    n,
                    "confirmed" if n < final_ops // 100 else "pending",
                    "0x" + "11" * 20,
                    stamp,
                    stamp,
                )
                for n in range(final_ops // 100 + 4)
            ),
        )
        connection.execute(
            "INSERT INTO webhook_endpoints (id, brand, url, event_types, secret_encrypted,"
            " status, created_at) VALUES ('we_1', 1, 'https://hooks.example/x', '[]', x'00',"
            " 'active', ?)",
            (stamp,),
        )
        connection.executemany(
            "INSERT INTO webhook_deliveries (id, endpoint_id, event_seq, status, attempts,"
            " next_attempt_at, created_at) VALUES (?, 'we_1', ?, ?, 1, ?, ?)",
            (
                (f"dlv_{n}", n, "delivered" if n < final_ops else "pending", stamp, stamp)
                for n in range(final_ops + 3)
            ),
        )
    connection.close()


@pytest.mark.parametrize("statistics", ["fresh", "of-the-empty-database"])
def test_a_reading_never_reads_the_history_whole(tmp_path: Path, statistics: str) -> None:
    """With 20,000 final operations and delivered webhooks, every statement of a reading
    searches its history table by a key range (`SEARCH`), never reads it or one of its
    indexes whole (`SCAN`), with SQLite's statistics of the full database and with those of
    the empty one a new gateway takes at start."""
    path = tmp_path / "scrape.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    if statistics != "fresh":
        db.refresh_statistics()
    _seed_history(path, 20_000)
    if statistics == "fresh":
        db.refresh_statistics()
    statements = Statements(db)
    try:
        with db.read() as session:
            figures = read_figures(session)
    finally:
        statements.close()
        db.dispose()
    plans = all_plans(path, statements.seen)
    read = [p for p in plans if any(f" {table} " in f"{p} " for table in HISTORY_TABLES)]
    assert len(read) == 3, plans
    for plan in read:
        for table in HISTORY_TABLES:
            assert f"SCAN {table}" not in plan, plan
    assert figures.operations == {("earn", "queued"): 5, ("earn", "submitted"): 5}
    assert figures.deliveries == {"pending": 3}
    assert sum(s.in_flight for s in figures.signers) == 4
