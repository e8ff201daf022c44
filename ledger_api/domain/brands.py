"""Brand lifecycle rules that follow the chain.

A brand's local state changes when an admin operation about it settles:

- `onboard_brand` confirmed: the brand takes the ledger's id and turns `active`;
  failed: it turns `failed`. When the brand was created with a daily mint cap, it
  stays `onboarding` and a `set_daily_cap` admin operation is queued (its uid is
  `daily_cap_uid(onboarding uid)`): the chain's default cap (100,000,000 points)
  is not the one the admin asked for.
- `set_daily_cap` confirmed for a brand still `onboarding`: it turns `active`
  (failed: it stays `onboarding`; a later `PUT /v1/admin/brands/{id}/daily-cap`
  that lands activates it).
- `suspend_brand` confirmed: `suspended` or `active` again, as the operation asked. A
  suspension sent to the chain by other means (the admin's key or multisig straight to the
  ledger) moves an active or suspended brand as its `BrandSuspensionChanged` is indexed
  (`background.indexer.projector`); a brand activated by its daily cap takes the suspension
  the index has seen.
- `set_point_value` confirmed: the brand takes its new published point value.

The sender calls `after_admin_operation` in the same database transaction that
settles the operation.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledger_api.db.models import Brand, IdxBrand, Operation
from ledger_api.domain import BrandStatus, OpKind, OpStatus
from ledger_api.domain.ids import BrandRowId, LedgerBrandId
from ledger_api.model.payloads import (
    DailyCapPayload,
    OnboardBrandPayload,
    OperationPayload,
    PointValuePayload,
    SuspendBrandPayload,
)


def daily_cap_uid(onboarding_uid: str) -> str:
    """The uid of the `set_daily_cap` operation that follows an onboarding (fixed, so the
    creation's answer names it before it exists)."""
    return str(uuid.uuid5(uuid.UUID(onboarding_uid), "set_daily_cap"))


def after_admin_operation(
    session: Session,
    payload: OperationPayload,
    *,
    confirmed: bool,
    onboarded_as: LedgerBrandId | None,
    uid: str | None = None,
) -> bool:
    """Applies the rule above to the brand row; True when a brand's status changed.

    `onboarded_as`: the ledger's brand id from the `BrandOnboarded` event (confirmed
    onboarding only); `uid`: the settled operation's (an onboarding's names the follow-up)."""
    if isinstance(payload, OnboardBrandPayload):
        brand = session.get_one(Brand, payload.brand_row_id)
        if not confirmed:
            brand.status = BrandStatus.FAILED
            return True
        assert onboarded_as is not None, "a confirmed onboarding names the ledger's brand id"
        brand.ledger_id = onboarded_as
        if payload.daily_cap_points is None or uid is None:
            brand.status = BrandStatus.ACTIVE
            return True
        follow_up = DailyCapPayload(
            brand=onboarded_as,
            daily_cap_points=payload.daily_cap_points,
            brand_row_id=BrandRowId(brand.id),
        )
        queued = select(Operation.id).where(Operation.uid == daily_cap_uid(uid))
        if session.scalar(queued) is None:
            session.add(
                Operation(
                    uid=daily_cap_uid(uid),
                    brand_id=None,
                    kind=OpKind.SET_DAILY_CAP.value,
                    status=OpStatus.QUEUED.value,
                    payload=follow_up.stored(),
                    points=0,
                    attempts=0,
                )
            )
        return False
    if not confirmed:
        return False
    if isinstance(payload, DailyCapPayload):
        brand = session.get_one(Brand, payload.brand_row_id)
        if brand.status == BrandStatus.ONBOARDING:
            # suspended on chain meanwhile (the indexer leaves an onboarding brand's status)
            indexed = session.get(IdxBrand, int(payload.brand))
            suspended = indexed is not None and indexed.suspended
            brand.status = BrandStatus.SUSPENDED if suspended else BrandStatus.ACTIVE
            return True
    if isinstance(payload, SuspendBrandPayload):
        brand = session.get_one(Brand, payload.brand_row_id)
        brand.status = BrandStatus.SUSPENDED if payload.suspended else BrandStatus.ACTIVE
    elif isinstance(payload, PointValuePayload):
        brand = session.get_one(Brand, payload.brand_row_id)
        brand.value_micro_usd = payload.value_micro_usd
    return False


#: the gateway's brand statuses a suspension on chain moves (onboarding and failed stay)
FOLLOWS_SUSPENSION = (BrandStatus.ACTIVE.value, BrandStatus.SUSPENDED.value)


def follow_chain_suspension(session: Session, ledger_brand_id: int, suspended: bool) -> None:
    """The gateway's brand follows the chain's suspension whoever sent it (the admin's own key
    or multisig straight to the ledger, as well as the gateway's `suspend_brand`): the indexer
    calls this for each `BrandSuspensionChanged`, so the intake refuses the brand's operations
    with `brand_suspended` once the event is indexed, rather than accepting earns the chain
    refuses. A brand still onboarding keeps its status; its activation by the daily cap reads
    the index (`after_admin_operation`)."""
    session.execute(
        update(Brand)
        .where(Brand.ledger_id == ledger_brand_id, Brand.status.in_(FOLLOWS_SUSPENSION))
        .values(status=BrandStatus.SUSPENDED if suspended else BrandStatus.ACTIVE)
    )
