"""The earn month of each pending amount in the index: `idx_pending_months`.

The ledger now records which month's lot holds a member's pending points (each purchase
position's earn month, the tier-gift lock's months; README "Returns"), and a spend skips each
month's locked points, a reversal burns its position's month and a cancelled gift share the
lock's months, newest first. The index follows it with one row per member, brand, release time,
earn month and kind (a purchase position, `gift` false, or the gift lock, `gift` true). The rows
come from the chain's events: a rebuild of the index (`ledger index reset`) fills them; a
database upgraded with points pending gets them for the points earned from then on.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 10:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idx_pending_months",
        sa.Column("member", sa.String(length=42), nullable=False),
        sa.Column("brand", sa.BigInteger(), nullable=False),
        sa.Column("release_at", sa.BigInteger(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("gift", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "member", "brand", "release_at", "month", "gift", name=op.f("pk_idx_pending_months")
        ),
    )


def downgrade() -> None:
    op.drop_table("idx_pending_months")
