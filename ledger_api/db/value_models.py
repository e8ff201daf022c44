"""Point values per brand and earn month (issue 10, item 7; DOMAIN.md "Value of issued points"),
and the earn month of each pending amount (`IdxPendingMonth`, the lot whose value it has).

A value change on chain applies to the points issued from the next UTC month on; points keep
the value of the month they were issued in. `idx_brand_values` keeps one row per brand and
month a value took effect; `lot_value()` prices an `IdxLot` row at its month's value.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, ScalarSelect, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger_api.db.models import Address, Base, IdxLot, table_of


class IdxBrandValue(Base):
    """The value (micro-USD per point) of a brand's points issued from `from_month` (months
    since January 1970, UTC) until the next row's month: `BrandOnboarded` writes month 0, each
    `PointValueChanged` its `effectiveMonth` (a second change for the same month replaces it)."""

    __tablename__ = "idx_brand_values"

    brand: Mapped[int] = mapped_column(primary_key=True)
    from_month: Mapped[int] = mapped_column(Integer, primary_key=True)
    value_micro_usd: Mapped[int]


def lot_value() -> ScalarSelect[int]:
    """The value per point of the `idx_lots` row of the enclosing query (ORM or Core): its
    brand's value in force in the lot's earn month (a correlated scalar subquery)."""
    values, lots = table_of(IdxBrandValue), table_of(IdxLot)
    return (
        select(values.c.value_micro_usd)
        .where(values.c.brand == lots.c.brand, values.c.from_month <= lots.c.month)
        .order_by(values.c.from_month.desc())
        .limit(1)
        .correlate(lots)
        .scalar_subquery()
    )


def value_in_month(session: Session, brand: int, month: int) -> int | None:
    """The brand's point value (micro-USD) in force in `month` (months since 1970-01): its last
    change from that month or before; None when the index has none."""
    value = session.scalar(
        select(IdxBrandValue.value_micro_usd)
        .where(IdxBrandValue.brand == brand, IdxBrandValue.from_month <= month)
        .order_by(IdxBrandValue.from_month.desc())
        .limit(1)
    )
    return None if value is None else int(value)


def outstanding_value(session: Session, brand: int, now: int) -> int:
    """The value (micro-USD) of `brand`'s live points (its liability, pending points included):
    each lot at the value of its earn month."""
    total = session.scalar(
        select(func.coalesce(func.sum(IdxLot.amount * lot_value()), 0)).where(
            IdxLot.brand == brand, IdxLot.amount > 0, IdxLot.expires_at > now
        )
    )
    return int(total or 0)


class IdxPendingMonth(Base):
    """The part of a member's pending points of a brand that sits in the lot of `month`, live
    from `release_at`: a purchase position (`gift` false: one earn month per position) or the
    tier-gift lock (`gift` true: one row per month of its points). A spend skips these points in
    their months, a reversal burns its position's month, a cancelled gift share the lock's
    newest months, as the ledger does (README "Returns"; migration 0029)."""

    __tablename__ = "idx_pending_months"

    member: Mapped[str] = mapped_column(Address, primary_key=True)
    brand: Mapped[int] = mapped_column(primary_key=True)
    release_at: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    gift: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    amount: Mapped[int]
