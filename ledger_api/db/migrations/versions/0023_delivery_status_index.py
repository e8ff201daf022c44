"""An endpoint's deliveries in one status, newest first: the deliveries list's status filter.

`GET /v1/webhooks/{id}/deliveries?status=dead` finds the dead deliveries to retry among an
endpoint's history; the unique (endpoint, event) index alone would read every delivered one
on the way.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 21:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_webhook_deliveries_endpoint_status",
        "webhook_deliveries",
        ["endpoint_id", "status", "event_seq"],
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_endpoint_status", table_name="webhook_deliveries")
