"""The calls of the alliance admin's acts (sent with the admin key, `OpKind.admin`): see
`txplan`."""

from __future__ import annotations

from eth_utils.address import to_checksum_address

from ledger_api.chain.contracts import Call, Contracts
from ledger_api.domain import EarnRule
from ledger_api.model.payloads import (
    DailyCapPayload,
    FundSignerPayload,
    MaxMultiplierPayload,
    OnboardBrandPayload,
    OrderFloorPayload,
    PausePayload,
    PointValuePayload,
    ReturnWindowPayload,
    SuspendBrandPayload,
    TierReviewsPayload,
    TierRulePayload,
)

#: the acts on the ledger's globals word
GlobalsPayload = PausePayload | MaxMultiplierPayload | OrderFloorPayload
#: the acts on a brand, a signer or the tier rules
BrandAdminPayload = (
    FundSignerPayload
    | OnboardBrandPayload
    | SuspendBrandPayload
    | PointValuePayload
    | ReturnWindowPayload
    | DailyCapPayload
    | TierReviewsPayload
    | TierRulePayload
)
AdminPayload = BrandAdminPayload | GlobalsPayload


def admin_call(contracts: Contracts, p: AdminPayload) -> Call:
    """An alliance admin act (sent with the admin key)."""
    if isinstance(p, PausePayload | MaxMultiplierPayload | OrderFloorPayload):
        return _globals_call(contracts, p)
    return _brand_admin_call(contracts, p)


def _globals_call(contracts: Contracts, p: GlobalsPayload) -> Call:
    """An admin act on the ledger's globals word: the alliance's one switch, the cap on an
    earn's multiplier, the order floor."""
    match p:
        case PausePayload():
            return contracts.set_paused(p.paused)
        case MaxMultiplierPayload():
            return contracts.set_max_multiplier(p.max_multiplier_pct)
        case OrderFloorPayload():
            return contracts.set_order_floor(p.order_floor_usd)


def _brand_admin_call(contracts: Contracts, p: BrandAdminPayload) -> Call:
    """An act on a brand, a signer or the tier rules."""
    match p:
        case FundSignerPayload():
            return Call(to_checksum_address(p.address), b"", int(p.value_wei))
        case OnboardBrandPayload():
            return contracts.onboard_brand(
                p.signer, p.value_micro_usd, EarnRule(*p.rule), p.name, p.symbol
            )
        case SuspendBrandPayload():
            return contracts.set_brand_suspended(p.brand, p.suspended)
        case PointValuePayload():
            return contracts.set_point_value(p.brand, p.value_micro_usd)
        case ReturnWindowPayload():
            return contracts.set_return_window(p.brand, p.days)
        case DailyCapPayload():
            return contracts.set_daily_mint_cap(p.brand, p.daily_cap_points)
        case TierReviewsPayload():
            return contracts.review_tiers(p.members)
        case TierRulePayload():
            return contracts.set_tier_rule(
                p.tier, p.spend_cents, p.orders, p.engagements, p.gift_points
            )
