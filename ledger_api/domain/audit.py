"""The audit trail's action names (`access.audit` writes the rows, `usecases.audit` reads
them): stable strings, `<what>.<done>`, that clients may filter on."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    """The stable names of the audited actions."""

    API_KEY_ROTATED = "api_key.rotated"  # a brand's new key; the keys it replaced
    API_KEY_REVOKED = "api_key.revoked"
    ADMIN_KEY_CREATED = "admin_key.created"  # over the API or with `ledger admin-key create`
    BRAND_ONBOARDED = "brand.onboarded"  # created, its signer and first key, onboarding queued
    BRAND_SUSPENDED = "brand.suspended"
    BRAND_RESUMED = "brand.resumed"
    BRAND_POINT_VALUE_SET = "brand.point_value_set"
    BRAND_RETURN_WINDOW_SET = "brand.return_window_set"
    BRAND_DAILY_CAP_SET = "brand.daily_cap_set"
    TIER_RULE_SET = "tier.rule_set"
    TIER_ORDER_FLOOR_SET = "tier.order_floor_set"
    LEDGER_PAUSED = "ledger.paused"
    LEDGER_UNPAUSED = "ledger.unpaused"
    CAMPAIGN_CAP_SET = "campaign.cap_set"
    CAMPAIGN_RULE_CREATED = "campaign.rule_created"
    CAMPAIGN_RULE_UPDATED = "campaign.rule_updated"
    CAMPAIGN_RULE_DELETED = "campaign.rule_deleted"
    SETTLEMENT_REQUESTED = "settlement.requested"  # by the admin key (a brand's is its own)
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_DELETED = "webhook.deleted"
    MEMBER_ERASED = "member.erased"  # a member's off-chain data (`usecases.erasure`); no counts
