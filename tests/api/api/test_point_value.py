"""Points keep the value of the month they were issued in (issue 10, item 7): after a value
change, the index prices the liability and a member's spendable points per earn month."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support.chain import Anvil
from support.flows import earn
from support.gateway import Gateway, Member
from support.progress import wait_for

DAY_S = 86_400


def _liability(gateway: Gateway, brand_id: int) -> dict[str, Any]:
    answer: dict[str, Any] = gateway.admin.get(f"/v1/brands/{brand_id}/liability").json()
    return answer


def test_the_index_prices_points_at_the_value_of_their_earn_month(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, _ = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand("Value Brand", symbol="VAL", value_micro_usd=20_000)
        alice = Member()
        earn(brand, alice, 1_000)  # 100 points at 20,000 micro-USD each
        before = _liability(gateway, brand.brand_id)
        assert (
            before["value_micro_usd_per_point"],
            before["value_in_force_micro_usd_per_point"],
            before["value_from"],
        ) == (20_000, 20_000, None)
        changed = gateway.admin.put(
            f"/v1/admin/brands/{brand.brand_id}/point-value",
            {"value_micro_usd": 5_000},
            params={"wait": "true"},
        )
        assert changed.status_code == 200 and changed.json()["status"] == "confirmed", changed.text

        # The points already issued keep their 20,000: 2,000,000, not 100 x 5,000.
        liability = wait_for(
            lambda: (lambda v: v if v["value_micro_usd_per_point"] == 5_000 else None)(
                _liability(gateway, brand.brand_id)
            ),
            what="the value change indexed",
        )
        assert liability["outstanding"] == 100
        assert liability["outstanding_value_micro_usd"] == 2_000_000
        # points issued this month are still worth 20,000; the new value applies from the
        # next month's first second (a trial read 5,000 as what they were worth)
        now = datetime.fromisoformat(liability["as_of"]["timestamp"])
        next_month = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
        assert liability["value_in_force_micro_usd_per_point"] == 20_000
        assert datetime.fromisoformat(liability["value_from"]) == next_month

        # A month later the new value applies to the points issued from then on only.
        anvil.rpc("evm_increaseTime", 32 * DAY_S)
        anvil.rpc("evm_mine")
        earn(brand, alice, 1_000)  # 100 points at 5,000
        liability = _liability(gateway, brand.brand_id)
        assert liability["outstanding"] == 200
        assert liability["value_in_force_micro_usd_per_point"] == 5_000
        assert liability["value_micro_usd_per_point"] == 5_000
        assert liability["outstanding_value_micro_usd"] == 100 * 20_000 + 100 * 5_000
        overview = gateway.admin.get("/v1/stats/overview").json()
        (row,) = [b for b in overview["brands"] if b["brand_id"] == brand.brand_id]
        assert row["outstanding_value_micro_usd"] == 2_500_000
        assert row["issued_value_micro_usd"] == 2_500_000
        view = gateway.admin.get(f"/v1/members/{alice.address}").json()
        (spendable,) = [s for s in view["spendable"] if s["brand_id"] == brand.brand_id]
        assert spendable == {
            "brand_id": brand.brand_id,
            "points": 200,
            "value_micro_usd": 100 * 20_000 + 100 * 5_000,
        }
