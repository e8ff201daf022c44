"""The partial indexes of `operations` and their conditions.

SQLite uses a partial index only when a query's WHERE implies the index's condition, so each
condition here is written word for word by the query that needs it (`db.keys`: `OPEN`,
`DEPOSIT_STEP`, `HELD`, `RELEASED`); a bound parameter (`status IN (?, ?)`) never implies it.
"""

from __future__ import annotations

from sqlalchemy import Index, text

from ledger_api.domain import DEPOSIT_STEP_KINDS

#: open operations (queued or submitted): `ix_operations_member_open`,
#: `ix_operations_beneficiary_open`
OPEN_CONDITION = "status IN ('queued', 'submitted')"
#: a brand's deposit steps, read under its row lock without its queued earns (issue 15):
#: `ix_operations_deposit_steps`
DEPOSIT_STEP_CONDITION = f"kind IN ({', '.join(map(repr, DEPOSIT_STEP_KINDS))})"
#: the orders that failures gave back (`keys_released_at` set), whose retry reuses the failed
#: earn's op id: `ix_operations_released_orders`, written only by failures (migration 0020)
RELEASED_CONDITION = "order_ref IS NOT NULL AND keys_released_at IS NOT NULL"


def partial(name: str, condition: str, *columns: str) -> Index:
    """An index over the rows meeting `condition` (SQL, on SQLite and PostgreSQL alike)."""
    return Index(name, *columns, sqlite_where=text(condition), postgresql_where=text(condition))


def held(name: str, *columns: str) -> Index:
    """Unique while the operation holds it (`db.keys.HELD`): a failure gives it back."""
    where = text(f"{columns[-1]} IS NOT NULL AND keys_released_at IS NULL")
    return Index(name, *columns, unique=True, sqlite_where=where, postgresql_where=where)
