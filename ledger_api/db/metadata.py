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
    tier_models,
    value_models,
    webhook_models,
)
from ledger_api.db.models import Base, IndexCursor

#: the gateway's every table
METADATA = Base.metadata

#: the index's tables, which a rebuild empties: every `idx_` table but the cursor. Named by
#: prefix, not listed: a list missed `idx_pending_months` (a new user's trial of 2026-12-07:
#: after a rebuild every pending point counted twice, and debits found no spendable lot).
INDEX_TABLES = tuple(
    table
    for table in METADATA.sorted_tables
    if table.name.startswith("idx_") and table.name != IndexCursor.__tablename__
)
