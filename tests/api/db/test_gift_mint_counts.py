"""A tier gift's shares count toward each paying brand's daily mint (the chain's `_payGift`
adds them to the brand's day), so the gateway's count (`mint_counters`) takes them as the
index applies `TierGiftPaid`: added to what the intake counted, per brand and UTC day, chunk
after chunk, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select
from support.events import ledger_event
from support.rows import add_brand

from ledger_api.background.indexer import Projector
from ledger_api.chain.abi import Event
from ledger_api.db import Database
from ledger_api.db.models import MintCounter

DAY = 1_796_083_200  # 2026-12-01T00:00:00Z
MEMBER = "0x" + "ab" * 20


def gift_paid(brand: int, points: int, timestamp: int) -> Event:
    args = {"member": MEMBER, "brand": brand, "points": points, "releaseAt": 0}
    return ledger_event("TierGiftPaid", args, timestamp)


def project(db: Database, events: list[Event]) -> None:
    with db.write() as session:
        projector = Projector(session)
        projector.preload(events)
        for e in events:
            projector.apply(e, e.log.timestamp or 0)
        projector.flush()


def counts(db: Database) -> dict[tuple[int, str], int]:
    with db.read() as session:
        rows = session.execute(select(MintCounter.brand_id, MintCounter.day, MintCounter.points))
        return {(brand, day): points for brand, day, points in rows}


def test_gift_shares_add_to_the_paying_brands_day(db: Database) -> None:
    with db.write() as session:
        paying = add_brand(session, "Paying", "PAY", ledger_id=3).id
        completing = add_brand(session, "Completing", "CMP", ledger_id=4).id
        session.add(MintCounter(brand_id=paying, day="2026-12-01", points=1_000))  # the intake's
    # one chunk: two shares of brand 3 on one day, one the next day, one of brand 4, one of a
    # brand the gateway does not know (onboarded around it: no count, no error)
    project(
        db,
        [
            gift_paid(3, 25, DAY + 10),
            gift_paid(4, 25, DAY + 10),
            gift_paid(3, 7, DAY + 86_399),
            gift_paid(3, 11, DAY + 86_400),
            gift_paid(9, 50, DAY + 10),
        ],
    )
    project(db, [gift_paid(4, 5, DAY + 20)])  # a later chunk adds to the stored count
    assert counts(db) == {
        (paying, "2026-12-01"): 1_032,
        (paying, "2026-12-02"): 11,
        (completing, "2026-12-01"): 30,
    }
