"""The brand's return window as the chain holds it (issue 11, `ReturnWindowChanged`).

`idx_brands.return_window_days`: the window of the brand's last `ReturnWindowChanged` (null
until indexed). A multisig admin's window change confirms once the index shows it; brand views
show it. Existing rows stay null until the index is rebuilt or the window changes again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 05:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idx_brands") as batch_op:
        batch_op.add_column(sa.Column("return_window_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idx_brands") as batch_op:
        batch_op.drop_column("return_window_days")
