"""Index tables of AllianceAuctions (issue 16 item 2): auctions and bids.

The tables start empty: an index that has already read past auction events fills them only
when it is rebuilt from the deployment block (`Follower.rebuild`).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger_api.db.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idx_auctions",
        sa.Column("auction_id", sa.BigInteger(), nullable=False),
        sa.Column("brand", sa.BigInteger(), nullable=False),
        sa.Column("creator", sa.String(length=42), nullable=False),
        sa.Column("badge_type", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.SmallInteger(), nullable=False),
        sa.Column("min_tier", sa.SmallInteger(), nullable=False),
        sa.Column("reserve", ledger_api.db.types.BigNum(length=80), nullable=False),
        sa.Column("increment", ledger_api.db.types.BigNum(length=80), nullable=False),
        sa.Column("starts_at", sa.BigInteger(), nullable=False),
        sa.Column("ends_at", sa.BigInteger(), nullable=False),
        sa.Column("extension", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("auction_id", name=op.f("pk_idx_auctions")),
    )
    op.create_index("ix_idx_auctions_ends_at", "idx_auctions", ["ends_at"])
    op.create_table(
        "idx_auction_bids",
        sa.Column("auction_id", sa.BigInteger(), nullable=False),
        sa.Column("bidder", sa.String(length=42), nullable=False),
        sa.Column("brand", sa.BigInteger(), nullable=False),
        sa.Column("amount", ledger_api.db.types.BigNum(length=80), nullable=False),
        sa.Column("value_micro_usd", ledger_api.db.types.BigNum(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("auction_id", "bidder", name=op.f("pk_idx_auction_bids")),
    )


def downgrade() -> None:
    op.drop_table("idx_auction_bids")
    op.drop_index("ix_idx_auctions_ends_at", table_name="idx_auctions")
    op.drop_table("idx_auctions")
