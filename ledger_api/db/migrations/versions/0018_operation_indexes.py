"""An operation's status changes rewrite no index over the whole history (issue 15).

After its insert an operation changes status twice (queued -> submitted -> confirmed or
failed). Four indexes depended on the status: the member's and the beneficiary's
`(member, status)` over every operation, and the partial unique indexes of member nonces and
order references (`... AND status != 'failed'`). Each change rewrote an entry of each, on a
random page of a big index: about half the SQLite work of an operation's life, and three
quarters of the work of its two status changes.

Now the member's and the beneficiary's open operations have small partial indexes (`status IN
('queued', 'submitted')`, as `db.keys.OPEN` writes it), a member's whole history has
`ix_operations_member` (written once, at the insert), and the unique indexes hold while
`keys_released_at` is NULL (`db.keys.HELD`): a failure sets it (the nonce and the order may be
used again), a chain that forgets the failure's block clears it, no other status change
names it. Failed operations stored before get their `updated_at`. The downgrade cannot
rebuild the former unique indexes while a reopened operation left released and a later one
share an order or a nonce (only after a forgotten block; the log names such operations).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('queued', 'submitted')"
UNIQUE = {
    "uq_operations_member_nonce": ["member", "nonce_domain", "member_nonce"],
    "uq_operations_brand_order": ["brand_id", "order_ref"],
}


def _where(condition: str) -> dict[str, Any]:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    with op.batch_alter_table("operations") as batch_op:
        batch_op.add_column(
            sa.Column("keys_released_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE operations SET keys_released_at = updated_at WHERE status = 'failed'")
    for name in ("ix_operations_member_open", "ix_operations_beneficiary_open", *UNIQUE):
        op.drop_index(name, table_name="operations")
    op.create_index("ix_operations_member", "operations", ["member"])
    op.create_index("ix_operations_member_open", "operations", ["member", "status"], **_where(OPEN))
    op.create_index(
        "ix_operations_beneficiary_open", "operations", ["beneficiary", "status"], **_where(OPEN)
    )
    for name, columns in UNIQUE.items():
        held = f"{columns[-1]} IS NOT NULL AND keys_released_at IS NULL"
        op.create_index(name, "operations", columns, unique=True, **_where(held))


def downgrade() -> None:
    for name in (
        "ix_operations_member",
        "ix_operations_member_open",
        "ix_operations_beneficiary_open",
        *UNIQUE,
    ):
        op.drop_index(name, table_name="operations")
    # before the partial indexes come back: SQLite's batch copy of the table keeps none
    with op.batch_alter_table("operations") as batch_op:
        batch_op.drop_column("keys_released_at")
    op.create_index("ix_operations_member_open", "operations", ["member", "status"])
    op.create_index("ix_operations_beneficiary_open", "operations", ["beneficiary", "status"])
    for name, columns in UNIQUE.items():
        live = f"{columns[-1]} IS NOT NULL AND status != 'failed'"
        op.create_index(name, "operations", columns, unique=True, **_where(live))
