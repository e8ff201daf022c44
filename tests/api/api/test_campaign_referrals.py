"""Referrals (issue 16 item 1): both members are credited once the referred member's first
purchase is confirmed and its return window closed (the chain's clock), exactly once; a
purchase reversed in full before then voids the referral."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from support.chain import Anvil
from support.gateway import Brand, Gateway, Member

DAY = 86_400
REFERRALS = "/v1/campaigns/referrals"


def buy(brand: Brand, member: Member, cents: int, **extra: Any) -> tuple[str, dict[str, Any]]:
    order = f"order-{uuid.uuid4()}"
    body = {"member": member.address, "amount_cents": cents, "order_ref": order} | extra
    response = brand.api.post("/v1/earn/purchase", body, params={"wait": "true"})
    assert response.status_code == 200 and response.json()["status"] == "confirmed", response.text
    answer: dict[str, Any] = response.json()
    return order, answer


def referrals(brand: Brand) -> dict[str, dict[str, Any]]:
    listed = brand.api.get(REFERRALS).json()["referrals"]
    return {r["referred"]: r for r in listed}


def wait_for(brand: Brand, referred: Member, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        found = referrals(brand).get(referred.address)
        if found is not None and found["status"] == status:
            return found
        assert time.monotonic() < deadline, f"referral still {found}"
        time.sleep(0.2)


def referral_lines(brand: Brand, member: Member) -> list[dict[str, Any]]:
    history = brand.api.get(f"/v1/members/{member.address}/history").json()
    return [e for e in history["entries"] if e.get("source") == "referral"]


def test_both_members_are_credited_once_after_the_return_window(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, _ = own_chain
    own_env["LEDGER_CAMPAIGN_REFERRAL_POLL_S"] = "0.2"
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand(return_window_days=1)
        created = brand.api.post(
            "/v1/campaigns/rules", {"kind": "referral", "name": "Invite", "multiplier_pct": 150}
        )
        assert created.status_code == 201, created.text
        grace, ada, bea = Member(), Member(), Member()
        _, first = buy(brand, ada, 10_000, referrer=grace.address)
        assert first["campaign"]["rules"][0]["rule"] == "referral"
        assert first["result"]["points"] == 1_000  # the referral pays later, not here
        returned, _ = buy(brand, bea, 10_000, referrer=grace.address)
        _, again = buy(brand, ada, 10_000, referrer=bea.address)  # not a first purchase
        assert again["campaign"]["rules"] == []
        reversal = brand.api.post(
            "/v1/earn/reversals", {"order_ref": returned}, params={"wait": "true"}
        )
        assert reversal.status_code == 200, reversal.text
        assert reversal.json()["status"] == "confirmed"

        time.sleep(1.0)  # several turns of the crediter inside the window: nothing credited
        assert {r["status"] for r in referrals(brand).values()} == {"waiting"}
        assert referral_lines(brand, grace) == []

    with Gateway(own_env) as gateway:  # a restart keeps the waiting referrals
        brand = Brand(brand.brand_id, brand.api_key, gateway.api(brand.api_key), brand.signer)
        anvil.rpc("evm_increaseTime", 2 * DAY)
        anvil.rpc("evm_mine")
        credited = wait_for(brand, ada, "credited")
        assert credited["referrer"] == grace.address and credited["multiplier_pct"] == 150
        assert wait_for(brand, bea, "void")["referrer_operation_id"] is None
        for uid in (credited["referrer_operation_id"], credited["referred_operation_id"]):
            done = brand.api.wait(uid)
            assert done["status"] == "confirmed" and done["result"]["points"] == 30, done
            assert done["campaign"]["rules"][0]["rule"] == "referral"

        anvil.rpc("evm_mine")  # more turns after the credit: still once
        buy(brand, Member(), 100)
        time.sleep(1.0)
        for member in (grace, ada):
            lines = referral_lines(brand, member)
            assert [(e["kind"], e["amount"]) for e in lines] == [("earned", 30)], lines
            assert lines[0]["campaign"]["rules"][0]["rule_id"] == credited["rule_id"]
        assert referral_lines(brand, bea) == []
        assert referrals(brand)[ada.address]["status"] == "credited"
