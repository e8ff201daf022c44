"""Brand lifecycle rules that follow the chain.

A brand's local state changes when an admin operation about it settles:

- `onboard_brand` confirmed: the brand takes the ledger's id and turns `active`;
  failed: it turns `failed`.
- `suspend_brand` confirmed: `suspended` or `active` again, as the operation asked.
- `set_point_value` confirmed: the brand takes its new published point value.

The sender calls `after_admin_operation` in the same database transaction that
settles the operation.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ledger_api.db.models import Brand
from ledger_api.domain import BrandStatus
from ledger_api.domain.ids import LedgerBrandId
from ledger_api.model.payloads import (
    OnboardBrandPayload,
    OperationPayload,
    PointValuePayload,
    SuspendBrandPayload,
)


def after_admin_operation(
    session: Session,
    payload: OperationPayload,
    *,
    confirmed: bool,
    onboarded_as: LedgerBrandId | None,
) -> bool:
    """Applies the rule above to the brand row; True when a brand's status changed.

    `onboarded_as`: the ledger's brand id from the `BrandOnboarded` event (confirmed
    onboarding only)."""
    if isinstance(payload, OnboardBrandPayload):
        brand = session.get_one(Brand, payload.brand_row_id)
        if confirmed:
            assert onboarded_as is not None, "a confirmed onboarding names the ledger's brand id"
            brand.ledger_id = onboarded_as
            brand.status = BrandStatus.ACTIVE
        else:
            brand.status = BrandStatus.FAILED
        return True
    if not confirmed:
        return False
    if isinstance(payload, SuspendBrandPayload):
        brand = session.get_one(Brand, payload.brand_row_id)
        brand.status = BrandStatus.SUSPENDED if payload.suspended else BrandStatus.ACTIVE
    elif isinstance(payload, PointValuePayload):
        brand = session.get_one(Brand, payload.brand_row_id)
        brand.value_micro_usd = payload.value_micro_usd
    return False
