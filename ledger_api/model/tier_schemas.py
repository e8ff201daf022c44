"""A member's tier and its progress, as `GET /v1/members/{address}` answers them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ledger_api.model.base import Model


class TierRuleView(Model):
    tier: int
    name: str
    display_name: str | None = Field(
        default=None, description="the tier's name in the `locale` asked (null: none asked)"
    )
    spend_cents: int
    orders: int
    engagements: int
    gift_points: int


class TierProgress(Model):
    tier: int
    name: str
    display_name: str | None = Field(
        default=None,
        description="the tier's name in the `locale` asked: the membership badge's "
        "(`setTierDisplayName`), its English name where it has none (null: no locale asked)",
    )
    locale: str | None = None
    quarter: str
    spend_cents: int
    orders: int
    engagements: int
    grace_until: datetime | None
    badge_tier: int | None
    next_tier: TierRuleView | None
    missing: dict[str, int] | None
