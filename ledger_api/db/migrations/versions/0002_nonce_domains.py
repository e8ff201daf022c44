"""Member signature nonces per contract: the ledger's and the badge contract's.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 21:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "member_nonce IS NOT NULL AND status != 'failed'"


def upgrade() -> None:
    with op.batch_alter_table("operations") as batch_op:
        batch_op.add_column(sa.Column("nonce_domain", sa.String(length=16), nullable=True))
        batch_op.drop_index(
            "uq_operations_member_nonce_live",
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )
    op.execute("UPDATE operations SET nonce_domain = 'ledger' WHERE member_nonce IS NOT NULL")
    with op.batch_alter_table("operations") as batch_op:
        batch_op.create_index(
            "uq_operations_member_nonce",
            ["member", "nonce_domain", "member_nonce"],
            unique=True,
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )


def downgrade() -> None:
    with op.batch_alter_table("operations") as batch_op:
        batch_op.drop_index(
            "uq_operations_member_nonce", sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE)
        )
        batch_op.create_index(
            "uq_operations_member_nonce_live",
            ["member", "member_nonce"],
            unique=True,
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )
        batch_op.drop_column("nonce_domain")
