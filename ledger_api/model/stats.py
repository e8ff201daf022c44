"""Response models of the program health statistics (`/v1/stats/...`, the dashboard's data).

Points are whole points; values are micro-USD (1 USD = 1,000,000) at each brand's published
point value. Every view says its `scope`: `alliance` (admin key) or `brand` (a brand key:
its own brand's figures, the members who hold or held its points, and the pairs it is in).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ledger_api.model.schemas import AsOf, Model

Scope = Literal["alliance", "brand"]


class TierCount(Model):
    tier: int = Field(description="0 = no tier yet, 1 Silver, 2 Gold, 3 Diamond")
    name: str
    members: int
    in_grace: int = Field(description="members of this tier in their 3-month grace period")


class TierMovements(Model):
    quarter: str = Field(description="UTC calendar quarter, e.g. 2026-Q4")
    upgrades: int
    grace_started: int
    downgrades: int


class BrandPoints(Model):
    """One brand's points. `issued = redeemed + expired + reversed + outstanding` (pending
    points are part of `outstanding`; issue 11)."""

    brand_id: int
    suspended: bool
    value_micro_usd_per_point: int
    issued: int
    redeemed: int
    expired: int
    reversed: int
    outstanding: int
    issued_value_micro_usd: int
    redeemed_value_micro_usd: int
    expired_value_micro_usd: int
    outstanding_value_micro_usd: int = Field(description="the brand's liability")
    usage_rate: float | None = Field(description="redeemed / issued; null before any issue")
    expiry_rate: float | None = Field(description="expired / issued; null before any issue")
    expiring_30d: int = Field(description="points of live lots that expire within 30 days")


class ActiveMembers(Model):
    members: int = Field(description="members with points (held or ever held)")
    active_30d: int = Field(description="members with a points movement in the last 30 days")
    active_90d: int
    expiring_30d_members: int = Field(description="members with points expiring in 30 days")
    expiring_30d_points: int


class BadgeTypeStats(Model):
    type_id: int
    brand_id: int
    kind: str = Field(description="achievement or collectible")
    issued: int = Field(description="units minted (held now, redeemed ones included)")
    benefits_redeemed: int


class Overview(Model):
    """`GET /v1/stats/overview`: tiers, points per brand, activity, badges."""

    scope: Scope
    as_of: AsOf
    tiers: list[TierCount]
    tier_movements: list[TierMovements]
    brands: list[BrandPoints]
    totals: BrandPoints = Field(description="the brands above added up (brand_id 0)")
    activity: ActiveMembers
    badges: list[BadgeTypeStats]


class MonthPoints(Model):
    month: str = Field(description="UTC month, e.g. 2026-11")
    issued: int
    redeemed: int
    expired: int = Field(description="points whose lots expired in this month")
    usage_rate: float | None = Field(description="redeemed / issued, cumulative to this month")
    expiry_rate: float | None = Field(description="expired / issued, cumulative to this month")


class DayEarn(Model):
    day: str = Field(description="UTC day, e.g. 2026-11-30")
    points: int
    earns: int = Field(description="earn operations (purchases, engagements, tier gifts)")


class Series(Model):
    """`GET /v1/stats/series`: points per month and earn volume per day."""

    scope: Scope
    as_of: AsOf
    months: list[MonthPoints]
    days: list[DayEarn] = Field(description="the last `days` UTC days, oldest first")


class Flow(Model):
    """Points of `brand_id` spent at `at_brand_id` (a diagonal cell: spent at the issuer)."""

    brand_id: int
    at_brand_id: int
    points: int
    value_micro_usd: int


class PositionStats(Model):
    debtor_brand_id: int
    creditor_brand_id: int
    amount_micro_usd: int


class SettlementStats(Model):
    debtor_brand_id: int
    creditor_brand_id: int
    value_micro_usd: int
    token_amount: str = Field(description="settlement token units (0: cleared off chain)")
    at: str = Field(description="block time, ISO 8601")


class DepositStats(Model):
    brand_id: int
    deposit_units: str = Field(description="the brand's SettlementVault deposit, token units")


class Flows(Model):
    """`GET /v1/stats/flows`: the brand x brand matrix, net positions and settlements."""

    scope: Scope
    as_of: AsOf
    brands: list[int]
    flows: list[Flow]
    positions: list[PositionStats]
    settlements: list[SettlementStats] = Field(description="the latest 100, newest first")
    settled_total_micro_usd: int
    deposits: list[DepositStats] = Field(
        default_factory=list, description="SettlementVault deposits (a brand key: its own)"
    )


class SignerStats(Model):
    address: str
    brand_id: int | None = Field(description="ledger brand id; null for the admin's signer")
    balance_wei: int | None = Field(description="null while the chain is unreachable")
    in_flight: int = Field(description="transactions signed or sent, not yet final")


class GatewayStats(Model):
    """`GET /v1/stats/gateway`: queue depth, sender lag, index lag, signers' gas."""

    scope: Scope
    queue_depth: int = Field(description="operations queued, not yet sent")
    submitted: int = Field(description="operations sent, not yet confirmed")
    sender_lag_s: float = Field(description="age of the oldest queued operation (0: none)")
    chain_head: int | None
    index_block: int
    index_lag_blocks: int | None
    signers: list[SignerStats]
