"""One deposit at a time per brand: its `token_mint`, `token_approve` and `settlement_deposit`.

The settlement route (`usecases/settlement.py`) reads the signer's token balance and the
vault's allowance, mints what the signer lacks, approves the amount and queues the deposit,
each step once the one before is confirmed. ERC-20's `approve` sets the allowance, it does not
add to it: two deposits of one brand in flight at once approved an amount each, the first
deposit spent the allowance, and the second failed on chain (`insufficient_allowance`), its
minted tokens left with the signer. So a deposit is refused with `deposit_in_progress` (409,
naming the other operation) while a step of another deposit of the brand is queued or
submitted: by the route before it reads the funds, and by the intake under the brand's row
lock (SQLite's one writer; `FOR UPDATE` on PostgreSQL), in the same group commit or stored.
The intake also refuses a step when another deposit's step was stored after the route read the
funds (`DepositClaim.read_after`): the read may predate that deposit's effect, even one already
final. A deposit's own steps never block it (`DepositClaim.own`: its earlier steps and what a
retry under the same Idempotency-Key finds stored), and the intake answers a known key before
any check, so a retry replays.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from ledger_api.db.keys import DEPOSIT_STEP
from ledger_api.db.models import IdempotencyRecord, Operation, table_of
from ledger_api.domain import DEPOSIT_STEP_KINDS, FINAL_OP_STATUSES, OPEN_OP_STATUSES, OpKind
from ledger_api.domain.ids import BrandRowId

DEPOSIT_STEPS = frozenset(OpKind(kind) for kind in DEPOSIT_STEP_KINDS)  # equal to their values
_OPERATIONS, _RECORDS = table_of(Operation), table_of(IdempotencyRecord)
# Both reads take ranges of ix_operations_deposit_steps (a brand's steps only: its queued
# earns are not in it); `DEPOSIT_STEP` writes that index's condition as it is written.
_OPEN_STEPS = select(_OPERATIONS.c.uid).where(  # the brand's open steps
    _OPERATIONS.c.brand_id == bindparam("brand_id"),
    _OPERATIONS.c.status.in_(OPEN_OP_STATUSES),
    DEPOSIT_STEP,
)
_STEPS_SINCE = select(_OPERATIONS.c.uid).where(  # stored since the read: every status named,
    _OPERATIONS.c.brand_id == bindparam("brand_id"),  # so each is a range of the index
    _OPERATIONS.c.status.in_(OPEN_OP_STATUSES + FINAL_OP_STATUSES),  # (not the brand's rows)
    _OPERATIONS.c.id > bindparam("after"),
    DEPOSIT_STEP,
)
_LAST_ID = select(func.coalesce(func.max(_OPERATIONS.c.id), 0))
_OWN_STEPS = select(_RECORDS.c.operation_uid).where(
    _RECORDS.c.scope == bindparam("scope"),
    _RECORDS.c.key.in_(bindparam("keys", expanding=True)),
    _RECORDS.c.operation_uid.is_not(None),
)


@dataclass(frozen=True, slots=True)
class DepositClaim:
    """What a deposit's read of the funds saw: every operation up to id `read_after` was
    stored by then; `own` are the operation ids of this deposit's own steps."""

    read_after: int
    own: frozenset[str]

    def with_step(self, uid: str) -> DepositClaim:
        """The claim once this deposit stored another step of its own."""
        return DepositClaim(self.read_after, self.own | {uid})


def claim_funds_read(connection: Connection, scope: str, keys: Collection[str]) -> DepositClaim:
    """Before the funds are read: the last operation id, and the steps the request's keys (its
    Idempotency-Key and its steps') already hold."""
    own = connection.scalars(_OWN_STEPS, {"scope": scope, "keys": list(keys)})
    return DepositClaim(int(connection.scalar(_LAST_ID) or 0), frozenset(str(u) for u in own))


def other_deposit_step(
    connection: Connection,
    brand_row_id: BrandRowId,
    grouped: Sequence[dict[str, Any]] = (),
    claim: DepositClaim | None = None,
) -> str | None:
    """The operation id of another deposit's step of the brand that is open (in the current
    group commit's rows, `grouped`, or stored) or, with a `claim`, stored after its read; None
    when there is none. The intake calls it under the brand's row lock."""
    own = claim.own if claim is not None else frozenset()
    for row in grouped:
        mine = row["uid"] in own
        if row["brand_id"] == brand_row_id and row["kind"] in DEPOSIT_STEPS and not mine:
            return str(row["uid"])
    found = list(connection.scalars(_OPEN_STEPS, {"brand_id": brand_row_id}))
    if claim is not None:
        since = {"after": claim.read_after, "brand_id": brand_row_id}
        found += connection.scalars(_STEPS_SINCE, since)
    return next((str(uid) for uid in found if str(uid) not in own), None)
