"""The index's tier names per locale (the membership badge's `TierDisplayNameUpdated`)."""

from __future__ import annotations

from sqlalchemy import SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger_api.db.models import Base


class IdxTierName(Base):
    """A tier's display name in one locale, as the membership badge holds it
    (`setTierDisplayName`; DOMAIN.md "Tiers": names are localized per market, the rule is the
    same). A locale with no row for a tier shows the tier's English name, as the badge does."""

    __tablename__ = "idx_tier_names"

    locale: Mapped[str] = mapped_column(String(35), primary_key=True)
    tier: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
