"""One deposit at a time per brand: its `token_mint`, `token_approve` and `settlement_deposit`.

The settlement route (`usecases/settlement.py`) reads the signer's token balance and the
vault's allowance, mints what the signer lacks, approves the amount and queues the deposit,
each step once the one before is confirmed. ERC-20's `approve` sets the allowance, it does not
add to it: two deposits of one brand in flight at once approved an amount each, the first
deposit spent the allowance, and the second failed on chain (`insufficient_allowance`), its
minted tokens left with the signer. So the intake refuses a step of a brand's deposit while
another step of that brand is queued or submitted (in the same group commit, or stored), under
the brand's row lock (SQLite's one writer; `FOR UPDATE` on PostgreSQL): `deposit_in_progress`
(409), naming the open operation. A retry under the same Idempotency-Key still replays (the
intake answers a known key before any check), and each step of one deposit is queued only
once the one before is final, so a deposit never waits for itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select

from ledger_api.db.models import Operation, table_of
from ledger_api.domain import OPEN_OP_STATUSES, OpKind
from ledger_api.domain.ids import BrandRowId

#: the operations of one deposit, in the order the route queues them
DEPOSIT_STEPS = frozenset({OpKind.TOKEN_MINT, OpKind.TOKEN_APPROVE, OpKind.SETTLEMENT_DEPOSIT})
_STEP_VALUES = sorted(kind.value for kind in DEPOSIT_STEPS)
_OPERATIONS = table_of(Operation)
_OPEN_STEP = (  # the brand's open operations first (ix_operations_queue), then their kind
    select(_OPERATIONS.c.uid)
    .where(
        _OPERATIONS.c.brand_id == bindparam("brand_id"),
        _OPERATIONS.c.status.in_(OPEN_OP_STATUSES),
        _OPERATIONS.c.kind.in_(_STEP_VALUES),
    )
    .limit(1)
)


def open_deposit_step(
    connection: Connection, brand_row_id: BrandRowId, grouped: Sequence[dict[str, Any]]
) -> str | None:
    """The operation id of a deposit step of the brand that is not final: among the rows the
    current group commit already took (`grouped`, the intake's operation rows), else stored.
    None when the brand has none. Call it under the brand's row lock."""
    for row in grouped:
        if row["brand_id"] == brand_row_id and row["kind"] in _STEP_VALUES:
            return str(row["uid"])
    uid = connection.scalar(_OPEN_STEP, {"brand_id": brand_row_id})
    return None if uid is None else str(uid)
