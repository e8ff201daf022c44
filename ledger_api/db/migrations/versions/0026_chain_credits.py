"""Credits the chain made that no operation of this database stands for: `chain_credits`.

A database restored from an older backup had not seen the operations made since: an order
credited on chain after the backup and sent again after the restore was credited twice. The
index records each credit with no operation behind it (`db.credit_models.ChainCredit`), and
the intake refuses its order again; an order whose failed op id the chain gave another order
takes a new id on its retry (`ix_chain_credits_brand_op_id`).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger_api.db.types

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chain_credits",
        sa.Column("brand_id", sa.BigInteger(), nullable=False),
        sa.Column("order_ref", sa.String(length=66), nullable=False),
        sa.Column("op_id", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brands.id"], name=op.f("fk_chain_credits_brand_id_brands")
        ),
        sa.PrimaryKeyConstraint("brand_id", "order_ref", name=op.f("pk_chain_credits")),
    )
    op.create_index("ix_chain_credits_brand_op_id", "chain_credits", ["brand_id", "op_id"])


def downgrade() -> None:
    op.drop_index("ix_chain_credits_brand_op_id", table_name="chain_credits")
    op.drop_table("chain_credits")
