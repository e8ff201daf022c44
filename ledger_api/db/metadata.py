"""Every table of the gateway in one metadata: the models' modules imported for their tables.

Alembic's environment and `ledger db copy` read it. `Base.metadata` alone holds only the
tables of the modules some import happened to load: `db.copy` imported `db.models` only, and
a copy made through it without the gateway's other imports left out the chain's credits, the
campaigns, the webhooks and the audit trail (a review of 2026-12-06).
"""

from __future__ import annotations

from ledger_api.db import (  # noqa: F401  (imported for their tables)
    auction_models,
    audit_models,
    campaign_models,
    credit_models,
    value_models,
    webhook_models,
)
from ledger_api.db.models import Base

#: the gateway's every table
METADATA = Base.metadata
