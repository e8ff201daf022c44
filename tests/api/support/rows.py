"""Database rows the storage tests start from (written through the models, no gateway), and a
search of every table for what a test must find, or no longer find (`rows_mentioning`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from ledger_api.db import Database
from ledger_api.db.models import Brand, Operation
from ledger_api.db.webhook_models import WebhookEndpoint
from ledger_api.domain import BrandStatus, OpKind, OpStatus


def add_brand(session: Session, name: str, symbol: str, **extra: Any) -> Brand:
    """An active brand with the default earn rules, flushed (its row id set)."""
    brand = Brand(
        name=name,
        symbol=symbol,
        status=BrandStatus.ACTIVE,
        value_micro_usd=10_000,
        points_per_usd=10,
        points_per_review=5,
        points_per_share=3,
        points_per_event=10,
        points_per_referral=20,
        next_op_id=1,
        **extra,
    )
    session.add(brand)
    session.flush()
    return brand


def queued_earn(brand_id: int, n: int, stamp: datetime, **extra: Any) -> Operation:
    """The brand's queued earn `op_{n}` (op id n + 1, an empty payload), as the intake
    stores it; `extra` sets more columns."""
    values: dict[str, Any] = {
        "uid": f"op_{n}",
        "brand_id": brand_id,
        "kind": OpKind.EARN,
        "status": OpStatus.QUEUED,
        "payload": {},
        "op_id": n + 1,
        "created_at": stamp,
        "updated_at": stamp,
    }
    return Operation(**(values | extra))


def webhook_endpoint(endpoint_id: str, status: str, brand: int | None = 1) -> WebhookEndpoint:
    """A webhook endpoint of `brand` (None: the admin's) in `status` (active, disabled)."""
    return WebhookEndpoint(
        id=endpoint_id,
        brand=brand,
        url="https://hooks.example/x",
        event_types=[],
        secret_encrypted=b"x",
        status=status,
    )


def rows_mentioning(db: Database, *needles: str) -> dict[str, int]:
    """Per table of the database, how many rows hold every one of `needles` (as text, anywhere
    in the row, letter case aside; bytes as hex)."""
    found: dict[str, int] = {}
    with db.read() as session:
        connection = session.connection()
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                blob = " ".join(
                    v.hex() if isinstance(v, bytes | memoryview) else str(v) for v in row
                ).lower()
                if all(n.lower() in blob for n in needles):
                    found[table] = found.get(table, 0) + 1
    return found
