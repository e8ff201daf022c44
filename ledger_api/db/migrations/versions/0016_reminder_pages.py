"""Reminder passes page inside an instant (every lot of a month expires at one instant).

`reminder_marks` gains `after_member` and `after_brand`: a pass that stops inside an instant
holding more lots than one pass takes (`PASS_LIMIT`) goes on from there. Before, the mark held
a time alone, so such a pass read the same page on every turn and wrote no reminder of its
kind again. A stalled mark resumes by itself: it stands just before the crowded instant.
The scans follow new indexes in (time, member, brand) order: `ix_idx_lots_expiry_order`
replaces `ix_idx_lots_expires_at`, and `ix_idx_pending_release_order` is new.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 22:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_marks") as batch_op:
        batch_op.add_column(sa.Column("after_member", sa.String(42), nullable=True))
        batch_op.add_column(sa.Column("after_brand", sa.Integer(), nullable=True))
    op.drop_index("ix_idx_lots_expires_at", table_name="idx_lots")
    op.create_index("ix_idx_lots_expiry_order", "idx_lots", ["expires_at", "member", "brand"])
    op.create_index(
        "ix_idx_pending_release_order", "idx_pending", ["release_at", "member", "brand"]
    )


def downgrade() -> None:
    op.drop_index("ix_idx_pending_release_order", table_name="idx_pending")
    op.drop_index("ix_idx_lots_expiry_order", table_name="idx_lots")
    op.create_index("ix_idx_lots_expires_at", "idx_lots", ["expires_at"])
    with op.batch_alter_table("reminder_marks") as batch_op:
        batch_op.drop_column("after_brand")
        batch_op.drop_column("after_member")
