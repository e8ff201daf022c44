"""A signer whose sealed key did not open: `signers.key_refused_at`.

A brand's signing key sealed with another passphrase leaves that brand's stored operations
queued until it opens again (`Sender._account`). Every member debit waits for the member's
earlier open operations (`debit_order.debit_waits`), so one such brand's queued earn held back that
member's redemptions and gifts at every other brand, for as long as the key stayed shut.
The sending process that finds the key shut now says so here, where the process scheduling
another brand's debit (on PostgreSQL, maybe another one) reads it; the process that opens it
clears it. NULL: the key opened, or was never tried.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 03:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger_api.db.types

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signers") as batch:
        batch.add_column(
            sa.Column(
                "key_refused_at", ledger_api.db.types.UtcDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("signers") as batch:
        batch.drop_column("key_refused_at")
