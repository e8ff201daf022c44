"""Database rows the storage tests start from (written through the models, no gateway)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ledger_api.db.models import Brand
from ledger_api.domain import BrandStatus


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
