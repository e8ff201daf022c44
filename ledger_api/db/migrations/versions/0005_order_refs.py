"""One credit per order: a purchase's bound order reference on its operation (issue 11).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 00:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "order_ref IS NOT NULL AND status != 'failed'"


def upgrade() -> None:
    # Earlier purchases keep a NULL reference: the rule holds from this version on (two
    # stored earns of one order cannot be told apart from two orders after the fact).
    with op.batch_alter_table("operations") as batch_op:
        batch_op.add_column(sa.Column("order_ref", sa.String(length=66), nullable=True))
        batch_op.create_index(
            "uq_operations_brand_order",
            ["brand_id", "order_ref"],
            unique=True,
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )


def downgrade() -> None:
    with op.batch_alter_table("operations") as batch_op:
        batch_op.drop_index(
            "uq_operations_brand_order", sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE)
        )
        batch_op.drop_column("order_ref")
