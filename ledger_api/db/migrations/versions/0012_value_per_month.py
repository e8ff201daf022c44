"""Point values per brand and earn month (issue 10, item 7, `PointValueChanged.effectiveMonth`).

`idx_brand_values(brand, from_month, value_micro_usd)`: the value of the points a brand issued
from `from_month` on. Existing brands get their indexed value from month 0, the best the old
index knows; a rebuild of the index (from the deployment block) makes it exact.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idx_brand_values",
        sa.Column("brand", sa.BigInteger(), nullable=False),
        sa.Column("from_month", sa.Integer(), nullable=False),
        sa.Column("value_micro_usd", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("brand", "from_month", name=op.f("pk_idx_brand_values")),
    )
    op.execute(
        "INSERT INTO idx_brand_values (brand, from_month, value_micro_usd) "
        "SELECT brand, 0, value_micro_usd FROM idx_brands"
    )


def downgrade() -> None:
    op.drop_table("idx_brand_values")
