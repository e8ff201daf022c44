"""The gateway's brand row holds the daily mint cap its intake counts earns against.

Since 0009 dropped the gateway's own copy (which only the gateway's requests set), the intake
read each brand's cap from the index (`idx_brands.daily_cap_points`), which a
rebuild of the index (a forgotten block) replays from the start: until the replay reached the
last `DailyMintCapChanged`, an older, lower cap refused earns the chain takes
(`daily_cap_exceeded`). The brand's row now keeps the cap: the index's once it has caught up
with the chain (`domain.brands.follow_indexed_brands`, as the suspension and the earn rule).
Filled here from the index; NULL: no cap known yet (the chain refuses above its cap all the
same).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("brands") as batch:
        batch.add_column(sa.Column("daily_cap_points", sa.String(80), nullable=True))
    op.execute(
        "UPDATE brands SET daily_cap_points = (SELECT idx_brands.daily_cap_points"
        " FROM idx_brands WHERE idx_brands.brand = brands.ledger_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("brands") as batch:
        batch.drop_column("daily_cap_points")
