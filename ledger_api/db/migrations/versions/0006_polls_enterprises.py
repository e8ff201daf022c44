"""Index tables of the polls and the enterprise accounts (issue 16 items 3 and 4).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 00:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idx_polls",
        sa.Column("poll_id", sa.BigInteger(), nullable=False),
        sa.Column("brand", sa.BigInteger(), nullable=False),
        sa.Column("opener", sa.String(length=42), nullable=False),
        sa.Column("content_hash", sa.String(length=66), nullable=False),
        sa.Column("option_count", sa.SmallInteger(), nullable=False),
        sa.Column("opened_at", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", sa.BigInteger(), nullable=False),
        sa.Column("ends_at", sa.BigInteger(), nullable=False),
        sa.Column("eligibility", sa.String(length=16), nullable=False),
        sa.Column("eligibility_ref", sa.String(length=80), nullable=False),
        sa.Column("votes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("poll_id", name=op.f("pk_idx_polls")),
    )
    op.create_table(
        "idx_poll_tallies",
        sa.Column("poll_id", sa.BigInteger(), nullable=False),
        sa.Column("option", sa.SmallInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("poll_id", "option", name=op.f("pk_idx_poll_tallies")),
    )
    op.create_table(
        "idx_enterprise_employees",
        sa.Column("employee", sa.String(length=42), nullable=False),
        sa.Column("enterprise", sa.String(length=42), nullable=False),
        sa.Column("bound_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("employee", name=op.f("pk_idx_enterprise_employees")),
    )
    op.create_index(
        op.f("ix_idx_enterprise_employees_enterprise"),
        "idx_enterprise_employees",
        ["enterprise"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_idx_enterprise_employees_enterprise"), table_name="idx_enterprise_employees"
    )
    op.drop_table("idx_enterprise_employees")
    op.drop_table("idx_poll_tallies")
    op.drop_table("idx_polls")
