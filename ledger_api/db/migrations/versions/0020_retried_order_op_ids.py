"""A retried order's earn carries the op id of the order's failed earn.

A purchase failed on chain (the brand's daily cap, say), the brand sent the order again and
it was credited; then the chain forgot the block of the failure. Both signed transactions went
out again and, the failure's cause gone, both applied: the order was credited twice. Now the
retry of an order whose earn failed carries that earn's op id (`background.intake`), and the
ledger applies an op id once: the order is credited at most once, whichever applies.

So `(brand_id, op_id)` is no longer unique: `uq_operations_brand_op_id` becomes the plain
index `ix_operations_brand_op_id` (each new op id is still handed out once, under the brand's
row lock), and the orders that failures gave back get the partial index
`ix_operations_released_orders` (`order_ref IS NOT NULL AND keys_released_at IS NOT NULL`, as
`db.keys.RELEASED` writes it), written only by failures. The downgrade cannot rebuild the
unique constraint once two earns share an op id.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RELEASED = "order_ref IS NOT NULL AND keys_released_at IS NOT NULL"


def upgrade() -> None:
    # SQLite cannot drop a table's constraint: the batch copies the table without it
    with op.batch_alter_table("operations") as batch_op:
        batch_op.drop_constraint("uq_operations_brand_op_id", type_="unique")
    op.create_index("ix_operations_brand_op_id", "operations", ["brand_id", "op_id"])
    op.create_index(
        "ix_operations_released_orders",
        "operations",
        ["brand_id", "order_ref"],
        sqlite_where=sa.text(RELEASED),
        postgresql_where=sa.text(RELEASED),
    )


def downgrade() -> None:
    op.drop_index("ix_operations_released_orders", table_name="operations")
    op.drop_index("ix_operations_brand_op_id", table_name="operations")
    with op.batch_alter_table("operations") as batch_op:
        batch_op.create_unique_constraint("uq_operations_brand_op_id", ["brand_id", "op_id"])
