"""Settling in a token coarser than micro-USD: the vault pays whole token units for what they
are worth and leaves what is below one unit owed (the hostile review of 2026-12-06: rounding
each settlement up made a debtor pay 10 units for 5 owed over ten small settlements).

The vault here converts at 100 units a USD (a unit is worth 10,000 micro-USD) and the points'
brand values a point at 5,000 micro-USD, half a unit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from support.chain import Anvil
from support.flows import earn, signed_redemption
from support.gateway import Brand, Gateway, Member

UNITS_PER_USD = 100


def _redeem(points: Brand, at: Brand, member: Member, amount: int, ref: str) -> None:
    body = signed_redemption(at, member, points.brand_id, amount, ref)
    redeemed = at.api.post("/v1/redemptions", body, params={"wait": "true"})
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json()["status"] == "confirmed", redeemed.text


def _deposit(api: Any, brand: Brand) -> dict[str, Any]:
    answer = api.get(f"/v1/settlement/deposits/{brand.brand_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.parametrize("own_chain", [UNITS_PER_USD], indirect=True)
def test_a_creditor_is_paid_whole_units_and_what_is_below_one_stays_owed(
    own_chain: tuple[Anvil, Path], own_env: dict[str, str]
) -> None:
    with Gateway(own_env) as gateway:
        a = gateway.create_brand(value_micro_usd=5_000)
        b = gateway.create_brand()
        member = Member(Account.create())
        earn(a, member, 1_000)  # 100 points of A
        deposited = a.api.post(
            "/v1/settlement/deposits", {"amount_units": 100}, params={"wait": "true"}
        )
        assert deposited.json()["status"] == "confirmed", deposited.text

        _redeem(a, b, member, 1, "half-a-unit")  # A owes B 5,000 micro-USD: half a unit
        below = b.api.post("/v1/settlement/settle", {"debtor": a.brand_id})
        assert below.status_code == 409, below.text
        error = below.json()["error"]
        assert error["code"] == "settlement_below_one_unit", error
        assert error["details"]["owed_micro_usd"] == 5_000, error
        assert error["details"]["units_per_usd"] == UNITS_PER_USD, error
        assert _deposit(a.api, a)["required_units"] == "1"  # the floor still covers it all

        _redeem(a, b, member, 2, "one-and-a-half")  # 15,000 micro-USD: 1.5 units
        settled = b.api.post(
            "/v1/settlement/settle", {"debtor": a.brand_id}, params={"wait": "true"}
        )
        assert settled.status_code == 200 and settled.json()["status"] == "confirmed", settled.text
        result = settled.json()["result"]
        assert (int(result["value_micro_usd"]), result["token_amount"]) == (10_000, "1"), result
        left = _deposit(a.api, a)
        assert left["deposit_units"] == "99"
        assert left["positions"] == [
            {
                "debtor_brand_id": a.brand_id,
                "creditor_brand_id": b.brand_id,
                "amount_micro_usd": 5_000,
            }
        ]
        assert _deposit(b.api, b)["deposit_units"] == "1"
        again = b.api.post("/v1/settlement/settle", {"debtor": a.brand_id})
        assert again.json()["error"]["code"] == "settlement_below_one_unit", again.text

        # ten one-point redemptions, each followed by a settlement: 5 units in all, not 10
        for i in range(10):
            _redeem(a, b, member, 1, f"small-{i}")
            b.api.post("/v1/settlement/settle", {"debtor": a.brand_id}, params={"wait": "true"})
        assert _deposit(b.api, b)["deposit_units"] == "6"  # 1 + 5: 11 points' 55,000 micro-USD
        assert _deposit(a.api, a)["deposit_units"] == "94"
