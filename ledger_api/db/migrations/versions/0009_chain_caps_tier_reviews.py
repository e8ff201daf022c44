"""The daily mint cap read from the chain; the quarterly tier review rounds (issue 10).

`idx_brands.daily_cap_points`: the cap of the brand's last `DailyMintCapChanged` (the chain
accepts caps below 2**112, so a decimal string). `brands.daily_cap_points`, the gateway's
own copy, goes: the intake reads the indexed cap. `tier_review_rounds`: one row per quarter
whose reviews the gateway queued (the durable marker of `background.reviews`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idx_brands") as batch_op:
        batch_op.add_column(sa.Column("daily_cap_points", sa.String(length=80), nullable=True))
    with op.batch_alter_table("brands") as batch_op:
        batch_op.drop_column("daily_cap_points")
    op.create_table(
        "tier_review_rounds",
        sa.Column("quarter", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("operations", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tier_review_rounds")
    with op.batch_alter_table("brands") as batch_op:
        batch_op.add_column(sa.Column("daily_cap_points", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("idx_brands") as batch_op:
        batch_op.drop_column("daily_cap_points")
