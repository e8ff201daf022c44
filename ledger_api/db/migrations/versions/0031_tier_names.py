"""Tier names per locale: `idx_tier_names` (locale, tier, name), indexed from the membership
badge's `TierDisplayNameUpdated` (DOMAIN.md "Tiers": Diamond is sold as "Royal" in Indonesia;
the display name is metadata, the rule is the same). The gateway answered the English names
only. An index table: an existing deployment reads the names when it next rebuilds its index
(`ledger index rebuild`); until then every locale shows the English names.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 22:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idx_tier_names",
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("locale", "tier", name=op.f("pk_idx_tier_names")),
    )


def downgrade() -> None:
    op.drop_table("idx_tier_names")
