"""Auction escrows in the index: `idx_escrows`.

A bid's escrow holds points and has lots and history lines like a member, so the dashboard's
member figures counted each escrow, and brands were told of its points' expiry as of a
member's. The index now keeps the escrows (`IdxEscrow`), learnt from the bids' moves into them;
this migration fills it from the history already indexed (the counterparty of every `bid`
line). A rebuild of the index fills it again.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 01:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idx_escrows",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_idx_escrows")),
    )
    op.execute(
        "INSERT INTO idx_escrows (address) SELECT DISTINCT counterparty FROM idx_history "
        "WHERE kind = 'bid' AND counterparty IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("idx_escrows")
