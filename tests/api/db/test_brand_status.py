"""A brand's status in the gateway follows the chain's suspension (`domain.brands`), also when
the suspension lands while the brand waits for its daily cap to be set at onboarding: the
indexer leaves an onboarding brand's status alone, so the cap's confirmation reads the index."""

from __future__ import annotations

import pytest
from support.rows import add_brand

from ledger_api.db import Database
from ledger_api.db.models import Brand, IdxBrand
from ledger_api.domain import BrandStatus
from ledger_api.domain.brands import after_admin_operation
from ledger_api.domain.ids import BrandRowId, LedgerBrandId
from ledger_api.model.payloads import DailyCapPayload


@pytest.mark.parametrize("suspended_on_chain", [True, False])
def test_a_brand_activated_by_its_daily_cap_takes_the_indexed_suspension(
    db: Database, suspended_on_chain: bool
) -> None:
    with db.write() as session:
        brand = add_brand(session, "Waiting", "WAI", ledger_id=7)
        brand.status = BrandStatus.ONBOARDING
        session.add(IdxBrand(brand=7, value_micro_usd=10_000, suspended=suspended_on_chain))
        row_id = brand.id
    cap = DailyCapPayload(
        brand=LedgerBrandId(7), daily_cap_points=50_000, brand_row_id=BrandRowId(row_id)
    )
    with db.write() as session:
        changed = after_admin_operation(session, cap, confirmed=True, onboarded_as=None)
    with db.read() as session:
        status = session.get_one(Brand, row_id).status
    assert changed
    assert status == (BrandStatus.SUSPENDED if suspended_on_chain else BrandStatus.ACTIVE)
