"""Storage on SQLite and PostgreSQL: migrations, exactly-once acceptance, the sender lock, a
full run."""

from __future__ import annotations

import concurrent.futures
import secrets
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select
from support.chain import Anvil
from support.flows import balance, earn, signed_gift
from support.gateway import Gateway, Member, gateway_env
from support.rows import add_brand

from ledger_api.background.intake import Accepted, Draft, Intake
from ledger_api.db import Database
from ledger_api.db.migrate import upgrade
from ledger_api.db.models import IdempotencyRecord, IdxBrand, Operation
from ledger_api.domain import OpKind
from ledger_api.domain.brands import follow_indexed_brands
from ledger_api.domain.ids import BrandRowId, LedgerBrandId
from ledger_api.errors import DailyCapExceeded, IdempotencyConflict
from ledger_api.model.payloads import (
    DailyCapPayload,
    EarnPayload,
    FundSignerPayload,
    MaxMultiplierPayload,
    OnboardBrandPayload,
    OperationPayload,
    PointValuePayload,
    ReturnWindowPayload,
    SuspendBrandPayload,
)
from ledger_api.process.lock import SenderLock
from ledger_api.process.runtime import settled_among


@pytest.fixture
def brand_row(db: Database) -> int:
    with db.write() as session:
        brand = add_brand(session, "Storage", "STO", ledger_id=1)
        # the chain's cap as indexed (`DailyMintCapChanged`), which the brand's row takes once
        # the indexer has caught up: what the intake enforces
        session.add(IdxBrand(brand=1, value_micro_usd=10_000, daily_cap_points=1_000))
        session.flush()
        follow_indexed_brands(session, {1})
        return brand.id


def draft(brand_id: int, key: str, points: int = 10, member: str = "0x" + "11" * 20) -> Draft:
    return Draft(
        scope=f"brand:{brand_id}",
        idempotency_key=key,
        request_hash=f"hash-{key}-{points}",
        kind=OpKind.EARN,
        brand_row_id=BrandRowId(brand_id),
        payload=EarnPayload(
            member=member,
            earn_kind=0,
            multiplier_pct=100,
            amount_cents=points * 10,
            order_ref="0x" + "00" * 32,
        ),
        member=member,
        beneficiary=member,
        points=points,
    )


def test_migrations_create_the_schema_and_run_again_harmlessly(db: Database) -> None:
    upgrade(db)
    tables = set(inspect(db.engine).get_table_names())
    assert {
        "operations",
        "idempotency_keys",
        "tx_slots",
        "tx_attempts",
        "idx_lots",
        "alembic_version",
    } <= tables


def test_intake_allocates_dense_op_ids_and_replays_keys(db: Database, brand_row: int) -> None:
    intake = Intake(db, max_batch=100)
    answers = intake.store([draft(brand_row, f"k{i}") for i in range(5)] + [draft(brand_row, "k0")])
    assert all(isinstance(a, Accepted) for a in answers)
    accepted = [a for a in answers if isinstance(a, Accepted)]
    assert [a.body["op_id"] for a in accepted[:5]] == [1, 2, 3, 4, 5]
    assert accepted[5].replayed and accepted[5].body == accepted[0].body
    (conflict,) = intake.store([draft(brand_row, "k1", points=11)])
    assert isinstance(conflict, IdempotencyConflict)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Operation)) == 5
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 5


def test_daily_cap_counts_points_accepted_today(db: Database, brand_row: int) -> None:
    intake = Intake(db, max_batch=100)
    first, second, third = intake.store(
        [draft(brand_row, "a", 600), draft(brand_row, "b", 500), draft(brand_row, "c", 400)]
    )
    assert isinstance(first, Accepted) and isinstance(third, Accepted)
    assert isinstance(second, DailyCapExceeded)
    assert second.details == {"daily_cap_points": 1_000, "minted_today": 600, "requested": 500}


def test_concurrent_writers_with_the_same_key_create_one_operation(
    db: Database, brand_row: int
) -> None:
    intakes = [Intake(db, max_batch=10) for _ in range(8)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: i.store([draft(brand_row, "same")])[0], intakes))
    assert all(isinstance(a, Accepted) for a in answers)
    uids = {a.operation_uid for a in answers if isinstance(a, Accepted)}
    assert len(uids) == 1
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Operation)) == 1


def test_only_one_process_holds_the_sender_lock(db: Database) -> None:
    other = Database(db.url)
    first, second = SenderLock(db), SenderLock(other)
    try:
        assert first.acquire()
        assert not second.acquire()
        first.release()
        assert second.acquire()
        second.release()
    finally:
        other.dispose()


def test_the_cross_process_poll_shows_the_brand_an_admin_operation_names(db: Database) -> None:
    """`settled_among` (how a process without the sender learns what settled) shows the ledger
    brand an admin operation names, read from its payload in SQL on either server, as a GET
    and the sender's wake-up show it (`test_admin`); alliance-wide ones show none."""
    big = 3_000_000_000  # past a 32-bit integer: PostgreSQL reads the payload's brand as BIGINT
    row = BrandRowId(1)
    named: list[tuple[OpKind, OperationPayload, int | None]] = [
        (
            OpKind.SUSPEND_BRAND,
            SuspendBrandPayload(brand=LedgerBrandId(big), suspended=False, brand_row_id=row),
            big,
        ),
        (
            OpKind.SET_POINT_VALUE,
            PointValuePayload(brand=LedgerBrandId(7), value_micro_usd=5, brand_row_id=row),
            7,
        ),
        (OpKind.SET_RETURN_WINDOW, ReturnWindowPayload(brand=LedgerBrandId(7), days=3), 7),
        (
            OpKind.SET_DAILY_CAP,
            DailyCapPayload(brand=LedgerBrandId(7), daily_cap_points=9, brand_row_id=row),
            7,
        ),
        (OpKind.FUND_SIGNER, FundSignerPayload(address="0x" + "22" * 20, value_wei="1"), None),
        (OpKind.SET_MAX_MULTIPLIER, MaxMultiplierPayload(max_multiplier_pct=200), None),
    ]
    onboard = OnboardBrandPayload(
        brand_row_id=row,
        signer="0x" + "33" * 20,
        value_micro_usd=1,
        rule=(1, 1, 1, 1, 1),
        name="Polled",
        symbol="POL",
    )
    expected: dict[str, int | None] = {}
    uids: list[str] = []
    with db.write() as session:
        brand = add_brand(session, "Polled", "POL", ledger_id=7)
        rows = [(k, p, b, None, "confirmed", {}) for k, p, b in named]
        rows += [
            (OpKind.ONBOARD_BRAND, onboard, 8, None, "confirmed", {"brand_id": 8}),
            (OpKind.ONBOARD_BRAND, onboard, None, None, "failed", None),
            (OpKind.EARN, draft(brand.id, "polled").payload, 7, brand.id, "confirmed", {}),
            (OpKind.SET_DAILY_CAP, named[3][1], 7, None, "queued", None),  # not final: left out
        ]
        for kind, payload, shown, brand_id, status, result in rows:
            op = Operation(
                uid=str(uuid.uuid4()),
                brand_id=brand_id,
                kind=kind,
                status=status,
                payload=payload.stored(),
                result=result,
                points=0,
                attempts=0,
            )
            session.add(op)
            uids.append(op.uid)
            if status != "queued":
                expected[op.uid] = shown
    settled, _ = settled_among(db, uids)
    assert {uid: s.ledger_brand_id for uid, s in settled.items()} == expected


def test_a_full_gateway_run(database_url: str, anvil: Anvil, manifest: Path) -> None:
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=database_url,
        admin_api_key="admin-" + secrets.token_urlsafe(24),
    )
    with Gateway(env) as gateway:
        brand = gateway.create_brand()
        alice, bob = Member(), Member()
        earn(brand, alice, 2_000)
        gift = brand.api.post(
            "/v1/gifts", signed_gift(brand, alice, bob.address, 50), params={"wait": "true"}
        )
        assert gift.json()["status"] == "confirmed", gift.text
        assert balance(brand, bob, brand.brand_id) == 50
        assert balance(brand, alice, brand.brand_id) == 150
