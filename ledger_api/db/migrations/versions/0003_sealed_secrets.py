"""Secrets at rest: keystore sealing marker, brand reference secrets, API keys by hash.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # existing keystores keep NULL: `access.sealing.reseal_keystores` checks them at start
    with op.batch_alter_table("signers") as batch_op:
        batch_op.add_column(sa.Column("keystore_sealing", sa.String(length=16), nullable=True))
    # filled at start for existing brands (`access.sealing.backfill_ref_secrets`)
    with op.batch_alter_table("brands") as batch_op:
        batch_op.add_column(sa.Column("ref_secret", sa.Text(), nullable=True))
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.create_index("ix_api_keys_key_hash", ["key_hash"])


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.drop_index("ix_api_keys_key_hash")
    with op.batch_alter_table("brands") as batch_op:
        batch_op.drop_column("ref_secret")
    with op.batch_alter_table("signers") as batch_op:
        batch_op.drop_column("keystore_sealing")
