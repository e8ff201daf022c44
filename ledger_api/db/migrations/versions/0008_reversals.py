"""Reversals of returned orders (issue 11): the reversal's crediting operation, the index's
reversed totals, pending positions and the release time of a pending purchase's line.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("operations") as batch_op:
        batch_op.add_column(sa.Column("reverses_id", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_operations_reverses", ["reverses_id"])
    # The index is derived from the chain: new columns start at 0 / NULL and the indexer
    # rebuilds when the index is reset (`ledger index reset`) to fill them from history.
    with op.batch_alter_table("idx_brands") as batch_op:
        batch_op.add_column(
            sa.Column("reversed", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("idx_history") as batch_op:
        batch_op.add_column(sa.Column("release_at", sa.BigInteger(), nullable=True))
    op.create_table(
        "idx_pending",
        sa.Column("member", sa.String(length=42), primary_key=True),
        sa.Column("brand", sa.BigInteger(), primary_key=True),
        sa.Column("release_at", sa.BigInteger(), primary_key=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_idx_pending_brand_release", "idx_pending", ["brand", "release_at"])


def downgrade() -> None:
    op.drop_index("ix_idx_pending_brand_release", table_name="idx_pending")
    op.drop_table("idx_pending")
    with op.batch_alter_table("idx_history") as batch_op:
        batch_op.drop_column("release_at")
    with op.batch_alter_table("idx_brands") as batch_op:
        batch_op.drop_column("reversed")
    with op.batch_alter_table("operations") as batch_op:
        batch_op.drop_index("ix_operations_reverses")
        batch_op.drop_column("reverses_id")
