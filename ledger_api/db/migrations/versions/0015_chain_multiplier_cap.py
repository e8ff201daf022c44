"""The campaigns' multiplier cap is the chain's (issue 16, item 1: "the admin sets a cap the
chain enforces"): `campaign_caps`, the gateway's own copy, goes. The cap in force is the
ledger's (`setMaxMultiplier`), indexed from `MaxMultiplierChanged` into `idx_meta`
(`max_multiplier_pct`); who asked for which cap stays in `campaign_audit`. A cap stored only
in `campaign_caps` was never enforced on chain: the admin sets it again with
`PUT /v1/admin/campaigns/cap`.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("campaign_caps")


def downgrade() -> None:
    op.create_table(
        "campaign_caps",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("max_multiplier_pct", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
