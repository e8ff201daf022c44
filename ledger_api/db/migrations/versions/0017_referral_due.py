"""Waiting referrals are looked at when they can be due, all of them in turn.

`campaign_referrals.check_after`: the chain time (seconds) before which a waiting referral
cannot be due, its purchase's release once indexed (0: look at once). Before, each turn of the
crediter took the 200 oldest waiting referrals and looked at each again (four queries apiece,
under the writer lock, every 2 s) while their purchases sat in their return windows, and a
referral behind 200 such ones was never looked at: a brand with a longer return window held
back every other brand's credits. Existing rows start at 0 and get their time on the next turn.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_referrals") as batch_op:
        batch_op.add_column(
            sa.Column("check_after", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_index(
        "ix_campaign_referrals_due", "campaign_referrals", ["status", "check_after", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_campaign_referrals_due", table_name="campaign_referrals")
    with op.batch_alter_table("campaign_referrals") as batch_op:
        batch_op.drop_column("check_after")
