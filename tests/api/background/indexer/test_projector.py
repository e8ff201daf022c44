"""Property tests of the index projector: lots, conservation of points, positions summing to
zero."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from support.events import ledger_event

from ledger_api.background.indexer import ZERO, Projector
from ledger_api.chain.abi import Event
from ledger_api.db import Database
from ledger_api.db.metadata import INDEX_TABLES
from ledger_api.db.migrate import upgrade
from ledger_api.db.models import (
    IdxBrand,
    IdxLot,
    IdxMember,
    IdxPending,
    IdxPosition,
)
from ledger_api.db.value_models import IdxPendingMonth
from ledger_api.domain import lot_expiry, month_of

MEMBERS = ["0x" + f"{i:040x}" for i in range(1, 5)]
MONTH = 30 * 86_400
START = 1_767_225_600  # 2026-01-01


def _index_database(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path_factory.mktemp(name) / 'index.db'}")
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from _index_database(tmp_path_factory, "projector")


event = ledger_event


def transfer(sender: str, receiver: str, brand: int, amount: int, timestamp: int) -> Event:
    return event(
        "Transfer",
        {"caller": ZERO, "sender": sender, "receiver": receiver, "id": brand, "amount": amount},
        timestamp,
    )


class Model:
    """The simplest possible lot book: a list of (month, amount) per holder and brand."""

    def __init__(self) -> None:
        self.lots: dict[tuple[str, int], list[list[int]]] = defaultdict(list)

    def live(self, member: str, brand: int, now: int) -> int:
        month = month_of(now)
        return sum(a for m, a in self.lots[(member, brand)] if month - 12 <= m <= month)

    def take(self, member: str, brand: int, amount: int, now: int) -> list[tuple[int, int]]:
        month, taken = month_of(now), []
        for lot in sorted(self.lots[(member, brand)], key=lambda lot: lot[0]):
            if amount and month - 12 <= lot[0] <= month:
                part = min(lot[1], amount)
                lot[1] -= part
                amount -= part
                taken.append((lot[0], part))
        return taken


action = st.tuples(
    st.sampled_from(["mint", "move", "burn", "wait"]),
    st.sampled_from(MEMBERS),
    st.sampled_from(MEMBERS),
    st.integers(1, 2),
    st.integers(1, 500),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=st.lists(action, min_size=1, max_size=40))
def test_lots_follow_the_ledger_and_points_are_conserved(
    db: Database, actions: list[tuple[str, str, str, int, int]]
) -> None:
    with db.write() as session:
        for table in INDEX_TABLES:
            session.execute(delete(table))
    model, now = Model(), START
    issued: dict[int, int] = defaultdict(int)
    burned: dict[int, int] = defaultdict(int)
    with db.write() as session:
        projector = Projector(session)
        for kind, a, b, brand, amount in actions:
            if kind == "wait":
                now += amount * 86_400  # up to 500 days: lots expire along the way
                continue
            if kind == "mint":
                projector.apply(transfer(ZERO, a, brand, amount, now), now)
                model.lots[(a, brand)].append([month_of(now), amount])
                issued[brand] += amount
                continue
            amount = min(amount, model.live(a, brand, now))
            if amount == 0:
                continue
            taken = model.take(a, brand, amount, now)
            if kind == "move":
                projector.apply(transfer(a, b, brand, amount, now), now)
                model.lots[(b, brand)].extend([m, part] for m, part in taken)
            else:
                projector.apply(transfer(a, ZERO, brand, amount, now), now)
                burned[brand] += amount
        projector.flush()
        for brand in (1, 2):
            total = session.scalar(
                select(func.coalesce(func.sum(IdxLot.amount), 0)).where(IdxLot.brand == brand)
            )
            assert total == issued[brand] - burned[brand]  # nothing created or lost
            account = session.get(IdxBrand, brand)
            assert (
                (account.issued, account.redeemed) == (issued[brand], burned[brand])
                if account
                else issued[brand] == 0
            )
            for member in MEMBERS:
                lots = session.scalars(
                    select(IdxLot).where(IdxLot.member == member, IdxLot.brand == brand)
                ).all()
                assert all(
                    lot.amount >= 0 and lot.expires_at == lot_expiry(lot.month) for lot in lots
                )
                live = sum(lot.amount for lot in lots if lot.expires_at > now)
                assert live == model.live(member, brand, now)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    flows=st.lists(
        st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 10**9)), max_size=30
    )
)
def test_settlement_positions_sum_to_zero(db: Database, flows: list[tuple[int, int, int]]) -> None:
    with db.write() as session:
        session.execute(delete(IdxPosition))
    with db.write() as session:
        projector = Projector(session)
        owed: dict[int, int] = defaultdict(int)  # net owed by each brand
        for debtor, creditor, value in flows:
            if debtor == creditor:
                continue
            projector.add_debt(debtor, creditor, value)
            owed[debtor] += value
            owed[creditor] -= value
        projector.flush()
        net: dict[int, int] = defaultdict(int)
        for row in session.scalars(select(IdxPosition)):
            net[row.brand_lo] += row.amount_micro_usd
            net[row.brand_hi] -= row.amount_micro_usd
        assert sum(net.values()) == 0
        assert {k: v for k, v in net.items() if v} == {k: v for k, v in owed.items() if v}


def test_tier_spend_comes_from_the_chain_event_alone(db: Database) -> None:
    """The index rebuilds from the chain: a purchase's spend is read from
    `PointsEarned.spendCents`, with no row of the gateway's operations table behind it."""
    member = "0x" + "ab" * 20
    with db.write() as session:
        session.execute(delete(IdxMember))
        projector = Projector(session)
        for op_id, (kind, points, spend) in enumerate([(0, 120, 1_234), (1, 5, 0), (0, 77, 766)]):
            args = {"brand": 1, "member": member, "opId": op_id + 1, "kind": kind}
            args |= {"points": points, "spendCents": spend, "orderRef": b"\0" * 32}
            projector.apply(event("PointsEarned", args, START), START)
        projector.flush()
        row = session.get(IdxMember, member)
        assert row is not None
        assert (row.spend_cents, row.orders, row.engagements) == (2_000, 2, 1)


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from _index_database(tmp_path_factory, "projector-twin")


def _chunk(actions: list[tuple[str, str, str, int, int]], start: int) -> tuple[list[Event], int]:
    """Mints (each with its `PointsEarned`), moves and burns of `actions` as one chunk's
    events from chain time `start`; a move or a burn takes 1 point (each member gets 500
    first), so no holder goes below zero."""
    events, now = [], start
    for kind, a, b, brand, amount in actions:
        if kind == "wait":
            now += amount * 3_600
        elif kind == "mint":
            events.append(transfer(ZERO, a, brand, amount * 10, now))
            args = {"brand": brand, "member": a, "opId": amount, "kind": 0}
            args |= {"points": amount * 10, "spendCents": amount, "orderRef": b"\1" * 32}
            events.append(event("PointsEarned", args, now))
        elif kind == "move":
            events.append(transfer(a, b, brand, 1, now))
        else:
            events.append(transfer(a, ZERO, brand, 1, now))
    return events, now


def _index_rows(database: Database) -> dict[str, list[tuple[object, ...]]]:
    rows: dict[str, list[tuple[object, ...]]] = {}
    with database.read() as session:
        for table in INDEX_TABLES:
            columns = [c for c in table.columns if c.name != "id"]
            found = session.execute(select(*columns)).all()
            rows[table.name] = sorted(tuple(map(repr, row)) for row in found)
    return rows


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    before=st.lists(action, max_size=15),
    chunk=st.lists(action, min_size=1, max_size=25),
)
def test_a_chunk_projected_before_the_lock_writes_what_the_locked_projection_writes(
    db: Database,
    twin: Database,
    before: list[tuple[str, str, str, int, int]],
    chunk: list[tuple[str, str, str, int, int]],
) -> None:
    """Issue 15: a chunk of mints, moves, burns and earns is applied in a read transaction and
    only flushed under the writer lock (`Projector.rebind`, as `Indexer._project_before_lock`
    does); the index must come out row for row as when the whole chunk runs in the writer's
    transaction, over rows that earlier chunks left."""
    first, now = _chunk([("mint", m, m, 1, 50) for m in MEMBERS] + before, START)
    second, _ = _chunk(chunk, now + 86_400)
    for database in (db, twin):
        with database.write() as session:
            for table in INDEX_TABLES:
                session.execute(delete(table))
            projector = Projector(session)
            for item in first:
                projector.apply(item, item.log.timestamp or 0)
            projector.flush()
    with db.write() as session:  # the locked projection
        projector = Projector(session)
        projector.preload(second)
        for item in second:
            projector.apply(item, item.log.timestamp or 0)
        projector.flush()
    with twin.read() as reader:  # projected before the lock, then written
        early = Projector(reader)
        early.preload(second)
        for item in second:
            early.apply(item, item.log.timestamp or 0)
        early.settle_burn(None)
    with twin.write() as session:
        early.rebind(session)
        early.flush()
    assert _index_rows(twin) == _index_rows(db)


def test_pending_points_stay_in_the_lot_of_their_earn_month(db: Database) -> None:
    """A review of 2026-12-06, as the ledger does since: a purchase late in January, pending
    into February, and a tier-gift share locked with it sit in January's lot. A gift of the
    member's live February points takes those (skipping January's pending ones), the order's
    return and the share's cancellation burn January's (before: the gift took January's, the
    burns the newest lots). Two chunks: the second reads the first's pending months back."""
    alice, bob = MEMBERS[0], MEMBERS[1]
    january, day = month_of(START), 86_400
    purchase_at, review_at = START + 25 * day, START + 32 * day  # January 26, February 2
    release = purchase_at - purchase_at % day + 15 * day
    ref = b"\7" * 32
    with db.write() as session:
        for table in INDEX_TABLES:
            session.execute(delete(table))
    first = [
        transfer(ZERO, alice, 1, 1_000, purchase_at),
        event(
            "PointsEarned",
            {"brand": 1, "member": alice, "opId": 1, "kind": 0, "points": 1_000}
            | {"spendCents": 10_000, "orderRef": ref, "releaseAt": release},
            purchase_at,
        ),
        transfer(ZERO, alice, 1, 500, purchase_at),
        event(
            "TierGiftPaid",
            {"member": alice, "brand": 1, "points": 500, "releaseAt": release},
            purchase_at,
        ),
    ]
    second = [
        transfer(ZERO, alice, 1, 50, review_at),
        event(
            "PointsEarned",
            {"brand": 1, "member": alice, "opId": 2, "kind": 1, "points": 50}
            | {"spendCents": 0, "orderRef": b"\0" * 32, "releaseAt": 0},
            review_at,
        ),
        transfer(alice, bob, 1, 50, review_at + 60),
        transfer(alice, ZERO, 1, 1_000, review_at + 120),
        event(
            "PointsReversed",
            {"brand": 1, "member": alice, "opId": 3, "points": 1_000, "spendCents": 10_000}
            | {"orderRef": ref, "releaseAt": release, "month": january},
            review_at + 120,
        ),
        transfer(alice, ZERO, 1, 500, review_at + 120),
        event(
            "TierGiftCancelled",
            {"member": alice, "brand": 1, "points": 500, "releaseAt": release},
            review_at + 120,
        ),
    ]
    for chunk in (first, second):
        with db.write() as session:
            projector = Projector(session)
            for item in chunk:
                projector.apply(item, item.log.timestamp)
            projector.flush()
    with db.read() as session:
        lots = session.execute(
            select(IdxLot.member, IdxLot.month, IdxLot.amount).where(IdxLot.amount > 0)
        ).all()
        account = session.get(IdxBrand, 1)
    assert sorted(lots) == [(bob, january + 1, 50)]
    assert account is not None and (account.reversed, account.redeemed) == (1_500, 0)


def test_a_reversal_of_points_pending_before_the_months_were_indexed_takes_the_newest(
    db: Database,
) -> None:
    """A database upgraded to migration 0029 with points pending has no month for them: their
    reversal takes the newest lots, as the index did before (and the ledger did then)."""
    alice, day = MEMBERS[2], 86_400
    january = month_of(START)
    with db.write() as session:
        for table in INDEX_TABLES:
            session.execute(delete(table))
        projector = Projector(session)
        for item in (
            transfer(ZERO, alice, 1, 100, START + day),
            transfer(ZERO, alice, 1, 50, START + 32 * day),
            transfer(alice, ZERO, 1, 30, START + 33 * day),
            event(
                "PointsReversed",
                {"brand": 1, "member": alice, "opId": 9, "points": 30, "spendCents": 300}
                | {"orderRef": b"\0" * 32, "releaseAt": START + 40 * day, "month": january + 1},
                START + 33 * day,
            ),
        ):
            projector.apply(item, item.log.timestamp)
        projector.flush()
        lots = session.execute(select(IdxLot.month, IdxLot.amount)).all()
    assert sorted(lots) == [(january, 100), (january + 1, 20)]


def test_a_merge_of_pending_positions_moves_the_index_and_a_reversal_follows_the_points(
    db: Database,
) -> None:
    """A review of 2026-12-06: a fifth purchase day, the ledger merges two pending positions
    of one month into the later day (`PendingPointsMoved`): the index's pending rows (per
    release and per release and month) move with them, and a reversal of a moved purchase
    (`PointsReversed` naming the position it left and its month) takes them there."""
    alice, day = MEMBERS[3], 86_400
    january = month_of(START)
    first, second, third = (START + (19 + i) * day for i in range(3))  # January 20 to 22
    release = [t - t % day + 15 * day for t in (first, second, third)]

    def earned(op_id: int, points: int, at: int, release_at: int) -> list[Event]:
        args = {"brand": 1, "member": alice, "opId": op_id, "kind": 0, "points": points}
        args |= {"spendCents": points * 10, "orderRef": b"\0" * 32, "releaseAt": release_at}
        return [transfer(ZERO, alice, 1, points, at), event("PointsEarned", args, at)]

    moved = {"brand": 1, "member": alice, "month": january}
    moved |= {"fromReleaseAt": release[0], "toReleaseAt": release[1]}
    reversed_ = {"brand": 1, "member": alice, "opId": 9, "points": 100, "spendCents": 1_000}
    reversed_ |= {"orderRef": b"\0" * 32, "releaseAt": release[1], "month": january}
    with db.write() as session:
        for table in INDEX_TABLES:
            session.execute(delete(table))
        projector = Projector(session)
        for item in (
            *earned(1, 100, first, release[0]),
            *earned(2, 200, second, release[1]),
            event("PendingPointsMoved", moved, third),
            *earned(3, 50, third, release[2]),
            transfer(alice, ZERO, 1, 100, third + 60),
            event("PointsReversed", reversed_, third + 60),
        ):
            projector.apply(item, item.log.timestamp)
        projector.settle_burn(None)
        projector.flush()
    with db.read() as session:
        pending = session.execute(
            select(IdxPending.release_at, IdxPending.amount).where(IdxPending.member == alice)
        ).all()
        months = session.execute(
            select(IdxPendingMonth.release_at, IdxPendingMonth.month, IdxPendingMonth.amount).where(
                IdxPendingMonth.member == alice, IdxPendingMonth.amount > 0
            )
        ).all()
        lots = session.execute(select(IdxLot.month, IdxLot.amount).where(IdxLot.member == alice))
        assert sorted(lots) == [(january, 250)]
    assert sorted(pending) == [(release[0], 0), (release[1], 200), (release[2], 50)]
    assert sorted(months) == [(release[1], january, 200), (release[2], january, 50)]
