"""Earning campaigns as data (issue 16, item 1): a brand's rules, their audit (and the audit of
the admin's multiplier cap, which is the chain's: `setMaxMultiplier`, indexed into `idx_meta`,
applied from `chain_rules` once the index has caught up) and the referrals waiting for a
referred member's first purchase.

`campaign_rules` holds each rule's current version (`params`, `version`, `active`); every
change (creation, update, deletion) adds a row to `campaign_audit` with who made it, when,
and the old and new version, in the same transaction. The base rule (points per USD and per
engagement kind) is the chain's `EarnRule`, not a row here (the brand row follows
`EarnRuleChanged`). `campaign_referrals`: one row per referred member and brand, from the
referred member's first purchase to the credit of both members (`usecases.campaigns`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column

from ledger_api.db.models import Base
from ledger_api.db.types import PkInteger, utcnow


class CampaignRule(Base):
    """A brand's rule at its current version; `active` false once deleted (kept for audit)."""

    __tablename__ = "campaign_rules"
    __table_args__ = (Index("ix_campaign_rules_brand", "brand_id", "active"),)

    id: Mapped[int] = mapped_column(PkInteger, primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignAudit(Base):
    """One change of a rule (or a change of the chain's cap the admin asked for, `rule_id`
    null, `new` naming its operation): who, when, old -> new."""

    __tablename__ = "campaign_audit"
    __table_args__ = (Index("ix_campaign_audit_rule", "rule_id", "version"),)

    id: Mapped[int] = mapped_column(PkInteger, primary_key=True)
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_rules.id"))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))  # created, updated, deleted, cap
    actor: Mapped[str] = mapped_column(String(64))  # the API key's scope (brand:..., admin)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    old: Mapped[dict[str, Any] | None]
    new: Mapped[dict[str, Any] | None]


class CampaignReferral(Base):
    """A referred member's first purchase at a brand, and the credit of both members.

    `status`: `waiting` (the purchase is not yet confirmed and released, or a credit earn
    failed: its side's id is None again), `credited` (both referral earns queued, their
    operation ids below), `void` (the purchase failed or was
    reversed in full). `check_after`: the chain time (seconds) before which a waiting
    referral cannot be due, its purchase's release once indexed (0: look at once)."""

    __tablename__ = "campaign_referrals"
    __table_args__ = (
        Unique("brand_id", "referred", name="uq_campaign_referrals_brand_referred"),
        Index("ix_campaign_referrals_status", "status"),
        Index("ix_campaign_referrals_due", "status", "check_after", "id"),
    )

    id: Mapped[int] = mapped_column(PkInteger, primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    referred: Mapped[str] = mapped_column(String(42))
    referrer: Mapped[str] = mapped_column(String(42))
    order_ref: Mapped[str] = mapped_column(String(66))  # the purchase's, bound
    rule_id: Mapped[int] = mapped_column(Integer)
    rule_version: Mapped[int] = mapped_column(Integer)
    multiplier_pct: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    referrer_operation_id: Mapped[str | None] = mapped_column(String(36))
    referred_operation_id: Mapped[str | None] = mapped_column(String(36))
    check_after: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChainRule(Base):
    """A rule of the whole chain that the gateway applies (the campaigns' multiplier cap,
    `max_multiplier_pct`): the index's `idx_meta` value, taken once the indexer has caught up
    with the chain (`indexer.cursor.follow_indexed_rules`). Not an index table: a rebuild,
    which replays older values, leaves it alone."""

    __tablename__ = "chain_rules"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
