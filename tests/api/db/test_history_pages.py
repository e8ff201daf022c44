"""The points growth report page by page (`usecases.history`): every line once, in one order,
whatever the page size, on SQLite and PostgreSQL. Lines that share a block and a log (two kinds
of one event), lines of one second in several blocks, and the released and expired lines
worked out at the read (which sort among the index's by their time) each meet a page's edge."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from ledger_api.access.apikeys import Principal
from ledger_api.db import Database
from ledger_api.db.models import IdxHistory, IdxLot, IdxPending
from ledger_api.domain.ids import LedgerBrandId
from ledger_api.errors import InvalidCursor
from ledger_api.model import schemas
from ledger_api.usecases.history import member_history

MEMBER = "0x" + "ab" * 20
T = 1_796_083_200  # 2026-12-01T00:00:00Z
NOW = T + 10 * 86_400
ADMIN = Principal("admin", True)
BRAND_2 = Principal("brand", False, ledger_brand_id=LedgerBrandId(2))
AS_OF = schemas.AsOf(block=1, timestamp=datetime.fromtimestamp(NOW, UTC))


def line(session: Session, block: int, log: int, kind: str, ts: int, brand: int = 1) -> None:
    session.add(
        IdxHistory(
            member=MEMBER,
            brand=brand,
            kind=kind,
            amount=block * 100 + log,
            block_number=block,
            log_index=log,
            tx_hash="0x" + f"{block:064x}",
            timestamp=ts,
        )
    )


@pytest.fixture
def history(db: Database) -> Database:
    with db.write() as session:
        line(session, 1, 0, "earned", T)
        line(session, 2, 0, "earned", T + 5)  # blocks 2 and 3 in one second
        line(session, 3, 1, "gifted", T + 5)
        line(session, 3, 1, "received", T + 5)  # one log, two kinds (a gift to oneself)
        line(session, 3, 2, "earned", T + 5, brand=2)
        line(session, 4, 0, "pending", T + 86_400)
        line(session, 5, 0, "redeemed", T + 3 * 86_400, brand=2)
        line(session, 6, 0, "donated", T + 4 * 86_400)
        # worked out at the read: a release at block 3's second, one between blocks 4 and 5,
        # an expiry at block 5's second, and a release not yet due (not a line)
        session.add(IdxPending(member=MEMBER, brand=1, release_at=T + 5, amount=7))
        session.add(IdxPending(member=MEMBER, brand=2, release_at=T + 2 * 86_400, amount=8))
        session.add(IdxPending(member=MEMBER, brand=1, release_at=NOW + 1, amount=9))
        session.add(IdxLot(member=MEMBER, brand=1, month=659, amount=11, expires_at=T + 3 * 86_400))
    return db


def pages(db: Database, who: Principal, limit: int) -> list[list[tuple[str, int, datetime]]]:
    found, before = [], None
    while True:
        with db.read() as session:
            page = member_history(
                session, who, MEMBER, limit=limit, before=before, as_of=AS_OF, now=NOW
            )
        found.append([(e.kind, e.amount, e.at) for e in page.entries])
        assert len(page.entries) <= limit
        if page.next_cursor is None:
            return found
        before = page.next_cursor
        assert len(found) < 50, "the pages do not end"


@pytest.mark.parametrize("who", [ADMIN, BRAND_2], ids=["admin", "brand"])
def test_pages_of_any_size_give_every_line_once_in_one_order(
    history: Database, who: Principal
) -> None:
    (whole,) = pages(history, who, 1_000)
    times = [at for _, _, at in whole]
    assert times == sorted(times, reverse=True)
    if who.is_admin:
        assert [(kind, amount) for kind, amount, _ in whole] == [
            ("donated", 600),
            ("redeemed", 500),
            ("expired", 11),
            ("released", 8),
            ("pending", 400),
            ("earned", 302),
            ("received", 301),
            ("gifted", 301),
            ("earned", 200),
            ("released", 7),
            ("earned", 100),
        ]
    else:  # brand 2's lines only
        assert [(kind, amount) for kind, amount, _ in whole] == [
            ("redeemed", 500),
            ("released", 8),
            ("earned", 302),
        ]
    for limit in range(1, len(whole) + 1):
        split = pages(history, who, limit)
        assert [entry for page in split for entry in page] == whole, limit
        assert all(split[:-1]) and len(split) == -(-len(whole) // limit), limit


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "x",
        "1.2.3.4",
        "1.3.0.0.",
        "1.2.3.4.",
        "1.1.3.4.earned",
        "1.2.3.4.nope",
        "9" * 20 + ".0.0.0.",
    ],
)
def test_a_cursor_no_page_handed_out_is_invalid_cursor(history: Database, cursor: str) -> None:
    with history.read() as session, pytest.raises(InvalidCursor):
        member_history(session, ADMIN, MEMBER, limit=5, before=cursor or "-", as_of=AS_OF, now=NOW)
