"""What the auctions contract counts of each indexed bid: `idx_auction_bids.live`, `live_until`.

AllianceAuctions compares bids by their effective value, `value * live / amount`, where `live`
is what of the bid's escrowed points are still live at the auction's end plus its 7-day grace.
The index kept the nominal amount and value only, so `GET /v1/auctions` showed a bid the
contract counted 0 as the highest (a trial of 2026-12-07). The index now follows `BidRecounted`
(`background.indexer.auctions`): `live` in points of the bid's brand, `live_until` in unix
seconds (null until a `BidRecounted` names the bid). Existing rows take `live = amount`, as
`BidPlaced` does: the recounts already indexed were not kept, and a contract deployed before
`BidRecounted` followed a short `BidPlaced` announced none; an index rebuilt from the chain (the
indexer's rebuild after a reorganisation) reads the recounts again.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 01:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ledger_api.db.types import BigNum

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idx_auction_bids") as batch:
        batch.add_column(sa.Column("live", BigNum(length=80), nullable=True))
        batch.add_column(sa.Column("live_until", sa.BigInteger(), nullable=True))
    op.execute("UPDATE idx_auction_bids SET live = amount")
    with op.batch_alter_table("idx_auction_bids") as batch:
        batch.alter_column("live", existing_type=BigNum(length=80), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("idx_auction_bids") as batch:
        batch.drop_column("live_until")
        batch.drop_column("live")
