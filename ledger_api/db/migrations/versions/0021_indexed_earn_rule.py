"""The index keeps each brand's earn rule (`BrandOnboarded`, then each `EarnRuleChanged`).

The gateway's brand row takes the chain's earn rule, which the projection applied to it event
by event. A rebuild of the index (a forgotten block) replays the whole history, so for the
rest of the replay the gateway priced earns with an older rule. The rule now goes into the
index's brand row, and the gateway's brand rows take it (with the suspension) only once the
indexer has caught up with the chain (`domain.brands.follow_indexed_brands`). NULL until the
index has seen the brand's rule.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 18:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    "points_per_usd",
    "points_per_review",
    "points_per_share",
    "points_per_event",
    "points_per_referral",
)


def upgrade() -> None:
    with op.batch_alter_table("idx_brands") as batch:
        for column in COLUMNS:
            batch.add_column(sa.Column(column, sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idx_brands") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)
