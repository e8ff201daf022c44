"""The chain's rules the gateway applies, kept apart from the index: `chain_rules`.

The campaigns' cap on a combined multiplier (`max_multiplier_pct`, issue 16) was read from the
index (`idx_meta`), which a rebuild of the index (a forgotten block) empties and replays: until
the replay reached the last `MaxMultiplierChanged`, campaigns were capped at the chain's
default, then at older caps, so a multiplier the chain allows could be held lower (points a
member never got) or one it refuses sent. The gateway now applies the index's value as it was
when the indexer last caught up with the chain. Filled here from the index.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 21:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chain_rules",
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.execute(
        "INSERT INTO chain_rules (key, value) SELECT key, value FROM idx_meta"
        " WHERE key = 'max_multiplier_pct'"
    )


def downgrade() -> None:
    op.drop_table("chain_rules")
