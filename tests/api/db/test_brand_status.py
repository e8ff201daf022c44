"""A brand's status in the gateway follows the chain's suspension (`domain.brands`), also when
the suspension lands while the brand waits for its daily cap to be set at onboarding: the
indexer leaves an onboarding brand's status alone, so the cap's confirmation reads the index.
The daily mint cap the intake counts earns against follows the index the same way."""

from __future__ import annotations

import secrets
import uuid

import pytest
from sqlalchemy import text
from support.rows import add_brand

from ledger_api.background.intake import Accepted, Draft, Intake
from ledger_api.db import Database
from ledger_api.db.migrate import upgrade
from ledger_api.db.models import Brand, IdxBrand
from ledger_api.db.types import utcnow
from ledger_api.domain import BrandStatus, OpKind
from ledger_api.domain.brands import after_admin_operation, follow_indexed_brands
from ledger_api.domain.ids import BrandRowId, LedgerBrandId
from ledger_api.errors import DailyCapExceeded
from ledger_api.model.payloads import DailyCapPayload, EarnPayload, OnboardBrandPayload


@pytest.mark.parametrize("suspended_on_chain", [True, False])
def test_a_brand_activated_by_its_daily_cap_takes_the_indexed_suspension(
    db: Database, suspended_on_chain: bool
) -> None:
    with db.write() as session:
        brand = add_brand(session, "Waiting", "WAI", ledger_id=7)
        brand.status = BrandStatus.ONBOARDING
        session.add(IdxBrand(brand=7, value_micro_usd=10_000, suspended=suspended_on_chain))
        row_id = brand.id
    cap = DailyCapPayload(
        brand=LedgerBrandId(7), daily_cap_points=50_000, brand_row_id=BrandRowId(row_id)
    )
    with db.write() as session:
        changed = after_admin_operation(session, cap, confirmed=True, onboarded_as=None)
    with db.read() as session:
        status = session.get_one(Brand, row_id).status
    assert changed
    assert status == (BrandStatus.SUSPENDED if suspended_on_chain else BrandStatus.ACTIVE)


def test_the_brands_take_the_indexed_daily_cap_the_intake_counts_against(db: Database) -> None:
    """The intake counts earns against the brand row's cap; the row takes the index's once the
    indexer has caught up (`follow_indexed_brands`), a cap the index has not seen stays."""
    with db.write() as session:
        capped = add_brand(session, "Capped", "CAP", ledger_id=7)
        unseen = add_brand(session, "Unseen", "UNS", ledger_id=8, daily_cap_points=2**100)
        session.add(IdxBrand(brand=7, value_micro_usd=10_000, daily_cap_points=5_000))
        session.add(IdxBrand(brand=8, value_micro_usd=10_000))
        rows = capped.id, unseen.id
    with db.write() as session:
        follow_indexed_brands(session, None)
    with db.read() as session:
        assert [session.get_one(Brand, row).daily_cap_points for row in rows] == [5_000, 2**100]
    outcomes = Intake(db, max_batch=8).store([_earn(rows[0], points) for points in (4_000, 1_001)])
    assert isinstance(outcomes[0], Accepted) and outcomes[0].status_code == 202
    assert isinstance(outcomes[1], DailyCapExceeded)


def test_an_onboarding_confirmed_after_the_index_applied_its_block_takes_the_cap(
    db: Database,
) -> None:
    """The indexer may apply the onboarding's block (the chain's default cap) before the sender
    settles it: the follow found no brand row by that ledger id, so the settlement copies it."""
    with db.write() as session:
        brand = add_brand(session, "Newcomer", "NEW")
        brand.status = BrandStatus.ONBOARDING
        session.add(IdxBrand(brand=9, value_micro_usd=10_000, daily_cap_points=100_000_000))
        row_id = brand.id
    onboarding = OnboardBrandPayload(
        brand_row_id=BrandRowId(row_id),
        signer="0x" + "11" * 20,
        value_micro_usd=10_000,
        rule=(10, 5, 3, 10, 20),
        name="Newcomer",
        symbol="NEW",
    )
    with db.write() as session:
        after_admin_operation(
            session, onboarding, confirmed=True, onboarded_as=LedgerBrandId(9), uid=None
        )
    with db.read() as session:
        settled = session.get_one(Brand, row_id)
        assert (settled.status, settled.daily_cap_points) == (BrandStatus.ACTIVE, 100_000_000)


def test_the_migration_fills_the_brands_caps_from_the_index(database_url: str) -> None:
    """0022: a database from before keeps counting earns against the caps it had indexed."""
    db = Database(database_url)
    try:
        upgrade(db, "0021")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO brands (id, ledger_id, name, symbol, status, value_micro_usd,"
                    " points_per_usd, points_per_review, points_per_share, points_per_event,"
                    " points_per_referral, next_op_id, created_at) VALUES"
                    " (1, 3, 'Old', 'OLD', 'active', 10000, 10, 5, 3, 10, 20, 1, :now),"
                    " (2, NULL, 'Pending', 'PEN', 'onboarding', 10000, 10, 5, 3, 10, 20, 1, :now)"
                ),
                {"now": utcnow()},
            )
            connection.execute(
                text(
                    "INSERT INTO idx_brands (brand, value_micro_usd, suspended, issued, redeemed,"
                    " daily_cap_points) VALUES (3, 10000, false, 0, 0, '12345678901234567890123')"
                )
            )
        upgrade(db)
        with db.read() as session:
            caps = [session.get_one(Brand, row).daily_cap_points for row in (1, 2)]
        assert caps == [12_345_678_901_234_567_890_123, None]
    finally:
        db.dispose()


def _earn(brand_row_id: int, points: int) -> Draft:
    """A purchase's draft as the intake takes it, for a new order."""
    key, member = str(uuid.uuid4()), "0x" + "22" * 20
    order_ref = "0x" + secrets.token_hex(32)
    return Draft(
        scope=f"brand:{brand_row_id}",
        idempotency_key=key,
        request_hash=key,
        kind=OpKind.EARN,
        brand_row_id=BrandRowId(brand_row_id),
        payload=EarnPayload(
            member=member, earn_kind=0, multiplier_pct=100, amount_cents=1, order_ref=order_ref
        ),
        member=member,
        points=points,
        order_ref=order_ref,
    )


@pytest.mark.parametrize("index_applied_the_block", [False, True])
def test_a_brand_activated_by_its_daily_cap_counts_earns_against_it_at_once(
    db: Database, index_applied_the_block: bool
) -> None:
    """A new user's trial: a brand onboarded with a cap of 100 turned `active` when its
    `setDailyMintCap` was confirmed, while its row still held the chain's default cap (taken at
    onboarding) until the indexer applied that block: an earn of 200 points got 202, then
    failed on chain. The confirmation now sets the cap it put on chain; when the index has
    already applied that block, the index's cap, which a later change sent straight to the
    chain may have moved (here to 300)."""
    with db.write() as session:
        brand = add_brand(session, "Waiting", "WAI", ledger_id=7, daily_cap_points=100_000_000)
        brand.status = BrandStatus.ONBOARDING
        indexed_cap = 300 if index_applied_the_block else 100_000_000
        session.add(IdxBrand(brand=7, value_micro_usd=10_000, daily_cap_points=indexed_cap))
        row_id = brand.id
    cap = DailyCapPayload(
        brand=LedgerBrandId(7), daily_cap_points=100, brand_row_id=BrandRowId(row_id)
    )
    with db.write() as session:
        after_admin_operation(
            session, cap, confirmed=True, onboarded_as=None, indexed=index_applied_the_block
        )
    expected = 300 if index_applied_the_block else 100
    with db.read() as session:
        settled = session.get_one(Brand, row_id)
        assert (settled.status, settled.daily_cap_points) == (BrandStatus.ACTIVE, expected)
    (refused,) = Intake(db, max_batch=8).store([_earn(row_id, expected + 1)])
    assert isinstance(refused, DailyCapExceeded), refused
