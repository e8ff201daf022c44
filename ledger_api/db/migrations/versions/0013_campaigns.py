"""Earning campaigns as data (issue 16, item 1): rules, their audit, the admin's multiplier
cap and pending referrals (`ledger_api.db.campaign_models`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "campaign_rules",
        sa.Column("id", _PK, primary_key=True, autoincrement=True),
        sa.Column("brand_id", sa.BigInteger(), sa.ForeignKey("brands.id"), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
    )
    op.create_index("ix_campaign_rules_brand", "campaign_rules", ["brand_id", "active"])
    op.create_table(
        "campaign_audit",
        sa.Column("id", _PK, primary_key=True, autoincrement=True),
        sa.Column("brand_id", sa.BigInteger(), sa.ForeignKey("brands.id"), nullable=True),
        sa.Column("rule_id", sa.BigInteger(), sa.ForeignKey("campaign_rules.id"), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("old", sa.JSON(), nullable=True),
        sa.Column("new", sa.JSON(), nullable=True),
    )
    op.create_index("ix_campaign_audit_rule", "campaign_audit", ["rule_id", "version"])
    op.create_table(
        "campaign_caps",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("max_multiplier_pct", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
    )
    op.create_table(
        "campaign_referrals",
        sa.Column("id", _PK, primary_key=True, autoincrement=True),
        sa.Column("brand_id", sa.BigInteger(), sa.ForeignKey("brands.id"), nullable=False),
        sa.Column("referred", sa.String(length=42), nullable=False),
        sa.Column("referrer", sa.String(length=42), nullable=False),
        sa.Column("order_ref", sa.String(length=66), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("multiplier_pct", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("referrer_operation_id", sa.String(length=36), nullable=True),
        sa.Column("referred_operation_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.UniqueConstraint("brand_id", "referred", name="uq_campaign_referrals_brand_referred"),
    )
    op.create_index("ix_campaign_referrals_status", "campaign_referrals", ["status"])


def downgrade() -> None:
    op.drop_index("ix_campaign_referrals_status", table_name="campaign_referrals")
    op.drop_table("campaign_referrals")
    op.drop_table("campaign_caps")
    op.drop_index("ix_campaign_audit_rule", table_name="campaign_audit")
    op.drop_table("campaign_audit")
    op.drop_index("ix_campaign_rules_brand", table_name="campaign_rules")
    op.drop_table("campaign_rules")
