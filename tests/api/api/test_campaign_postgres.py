"""Campaigns on PostgreSQL (issue 16 item 1): the migration, rule versions, the brand's row
lock deciding a first order once among racing requests, and a referral written and read."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.gateway import Gateway, Member

pytestmark = pytest.mark.slow


def test_rules_and_a_racing_first_order_on_postgresql(pg_env: dict[str, str]) -> None:
    with Gateway(pg_env) as gateway:
        brand = gateway.create_brand()
        rules = "/v1/campaigns/rules"
        created = brand.api.post(rules, {"kind": "first_order", "name": "F", "multiplier_pct": 300})
        assert created.status_code == 201, created.text
        path = f"{rules}/{created.json()['rule_id']}"
        changed = brand.api.put(path, {"kind": "first_order", "name": "F", "multiplier_pct": 200})
        assert changed.status_code == 200 and changed.json()["version"] == 2
        entries = brand.api.get(f"{path}/versions").json()["entries"]
        assert [e["action"] for e in entries] == ["created", "updated"]
        assert brand.api.post(rules, {"kind": "referral", "name": "R"}).status_code == 201

        member, friend = Member(), Member()

        def send(i: int) -> str:
            body = {
                "member": member.address,
                "amount_cents": 1_000,
                "order_ref": f"pg-{i}-{uuid.uuid4()}",
                "referrer": friend.address,
            }
            response = brand.api.post("/v1/earn/purchase", body)
            assert response.status_code == 202, response.text
            operation_id: str = response.json()["operation_id"]
            return operation_id

        with ThreadPoolExecutor(8) as pool:
            operation_ids = list(pool.map(send, range(8)))
        points = sorted(brand.api.wait(uid)["result"]["points"] for uid in operation_ids)
        assert points == [100] * 7 + [200]
        deadline = time.monotonic() + 60  # the brand's window is 0 days: released at once
        while True:
            (referral,) = brand.api.get("/v1/campaigns/referrals").json()["referrals"]
            if referral["status"] == "credited" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert (referral["referred"], referral["referrer"]) == (member.address, friend.address)
        assert referral["status"] == "credited", referral
        for uid in (referral["referrer_operation_id"], referral["referred_operation_id"]):
            assert brand.api.wait(uid)["result"]["points"] == 20
