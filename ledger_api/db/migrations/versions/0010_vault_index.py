"""Index tables of the SettlementVault: deposits and treasuries per brand, settlements
(issue 13 item 3).

The tables start empty: an index that has already read past vault events fills them only when
it is rebuilt from the deployment block (`Follower.rebuild`, as after a reorg deeper than it
keeps).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 04:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger_api.db.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idx_vault_brands",
        sa.Column("brand", sa.BigInteger(), nullable=False),
        sa.Column("deposit", ledger_api.db.types.BigNum(length=80), nullable=False),
        sa.Column("deposited", ledger_api.db.types.BigNum(length=80), nullable=False),
        sa.Column("withdrawn", ledger_api.db.types.BigNum(length=80), nullable=False),
        sa.Column("treasury", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("brand", name=op.f("pk_idx_vault_brands")),
    )
    op.create_table(
        "idx_settlements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("debtor", sa.BigInteger(), nullable=False),
        sa.Column("creditor", sa.BigInteger(), nullable=False),
        sa.Column("value_micro_usd", ledger_api.db.types.BigNum(length=80), nullable=False),
        sa.Column("token_amount", ledger_api.db.types.BigNum(length=80), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idx_settlements")),
        sa.UniqueConstraint("block_number", "log_index", name="uq_idx_settlements_log"),
    )
    op.create_index(op.f("ix_idx_settlements_debtor"), "idx_settlements", ["debtor"])
    op.create_index(op.f("ix_idx_settlements_creditor"), "idx_settlements", ["creditor"])


def downgrade() -> None:
    op.drop_index(op.f("ix_idx_settlements_creditor"), table_name="idx_settlements")
    op.drop_index(op.f("ix_idx_settlements_debtor"), table_name="idx_settlements")
    op.drop_table("idx_settlements")
    op.drop_table("idx_vault_brands")
