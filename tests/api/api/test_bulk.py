"""`POST /v1/earn/batch`: many earns in one request, per-item answers and idempotency."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from eth_account import Account
from support.chain import ADMIN_KEY, Anvil
from support.gateway import Brand, Gateway, Member
from support.progress import wait_for

BATCH = "/v1/earn/batch"
PURCHASE = "/v1/earn/purchase"


def purchase(member: Member, cents: int, key: str | None = None) -> dict[str, Any]:
    return {
        "type": "purchase",
        "key": key or str(uuid.uuid4()),
        "member": member.address,
        "amount_cents": cents,
        "order_ref": f"order-{uuid.uuid4()}",
    }


def test_a_batch_earns_every_item_and_answers_per_item(brand: Brand) -> None:
    members = [Member() for _ in range(5)]
    items: list[dict[str, Any]] = [purchase(m, 1_000 * (i + 1)) for i, m in enumerate(members)]
    items.append(
        {"type": "engagement", "key": "review-1", "member": members[0].address, "kind": "review"}
    )
    response = brand.api.post(BATCH, {"items": items}, headers={"Prefer": "wait=30"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["refused"]) == (6, 0, 0)
    assert [item["key"] for item in body["items"]] == [item["key"] for item in items]
    assert {item["status"] for item in body["items"]} == {"confirmed"}
    assert len({item["op_id"] for item in body["items"]}) == 6
    expected = [100 * (i + 1) for i in range(5)]
    expected[0] += 5  # the review
    for member, points in zip(members, expected, strict=True):
        view = brand.api.get(f"/v1/members/{member.address}").json()
        assert [b["balance"] for b in view["balances"]] == [points]


def test_an_item_key_is_idempotent_across_requests(brand: Brand) -> None:
    member = Member()
    first_item = purchase(member, 2_000)
    first = brand.api.post(BATCH, {"items": [first_item]})
    assert first.status_code == 202, first.text
    (stored,) = first.json()["items"]
    assert stored["result"] == "accepted" and stored["status"] == "queued"

    changed = {**first_item, "amount_cents": 9_999}
    fresh = purchase(member, 3_000)
    other_order = changed | {"key": "x", "order_ref": f"order-{uuid.uuid4()}"}  # its own order
    second = brand.api.post(BATCH, {"items": [first_item, fresh, other_order]})
    assert second.status_code == 202, second.text
    again, new, other = second.json()["items"]
    assert again["result"] == "duplicate"
    assert again["operation_id"] == stored["operation_id"]
    assert again["op_id"] == stored["op_id"]
    assert new["result"] == "accepted" and other["result"] == "accepted"

    conflict = brand.api.post(BATCH, {"items": [changed]})
    assert conflict.status_code == 202
    (refused,) = conflict.json()["items"]
    assert refused["result"] == "refused"
    assert refused["error"]["code"] == "idempotency_conflict"
    assert refused["operation_id"] is None

    brand.api.wait(stored["operation_id"])
    brand.api.wait(new["operation_id"])
    brand.api.wait(other["operation_id"])
    view = brand.api.get(f"/v1/members/{member.address}").json()
    assert [b["balance"] for b in view["balances"]] == [200 + 300 + 999]


def test_replaying_the_request_key_returns_the_first_answer(brand: Brand) -> None:
    key = str(uuid.uuid4())
    body = {"items": [purchase(Member(), 1_500), purchase(Member(), 1)]}
    first = brand.api.post(BATCH, body, key=key)
    second = brand.api.post(BATCH, body, key=key)
    assert first.status_code == second.status_code == 202
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    accepted, zero = first.json()["items"]
    assert accepted["result"] == "accepted"
    assert zero["result"] == "refused" and zero["error"]["code"] == "zero_points"
    other = brand.api.post(BATCH, {"items": [purchase(Member(), 1_500)]}, key=key)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"


def test_a_request_of_only_duplicates_or_refusals_is_stored_under_its_key(brand: Brand) -> None:
    """A trial's finding: a request none of whose items was stored now (every item a
    duplicate, or refused) stored nothing under its Idempotency-Key, so its retry was no
    replay; and a duplicate item answered `"status": null` although its operation was
    confirmed. A duplicate shows its operation's status when answered, on a replay too."""
    member = Member()
    item = purchase(member, 2_500)
    confirmed = brand.api.post(BATCH, {"items": [item]}, headers={"Prefer": "wait=30"})
    assert confirmed.status_code == 200, confirmed.text
    (stored,) = confirmed.json()["items"]
    assert stored["status"] == "confirmed"

    key = str(uuid.uuid4())
    first = brand.api.post(BATCH, {"items": [item]}, key=key)
    assert first.status_code == 202, first.text
    assert "Idempotent-Replayed" not in first.headers
    (duplicate,) = first.json()["items"]
    assert duplicate["result"] == "duplicate"
    assert duplicate["operation_id"] == stored["operation_id"]
    assert duplicate["status"] == "confirmed"
    again = brand.api.post(BATCH, {"items": [item]}, key=key)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    other = brand.api.post(BATCH, {"items": [purchase(member, 2_500)]}, key=key)
    assert other.status_code == 409, other.text
    assert other.json()["error"]["code"] == "idempotency_conflict"

    refused_key = str(uuid.uuid4())
    only_refused = {"items": [{**item, "amount_cents": 9_000}, purchase(member, 1)]}
    refused = brand.api.post(BATCH, only_refused, key=refused_key)
    assert refused.status_code == 202, refused.text
    codes = [answer["error"]["code"] for answer in refused.json()["items"]]
    assert codes == ["idempotency_conflict", "zero_points"]
    assert [answer["status"] for answer in refused.json()["items"]] == [None, None]
    retried = brand.api.post(BATCH, only_refused, key=refused_key)
    assert retried.headers.get("Idempotent-Replayed") == "true"
    assert retried.json() == refused.json()


def test_a_duplicate_shows_its_operations_transaction_and_why_it_failed(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A trial's finding: a duplicate answered without waiting showed its operation's status
    but no transaction, block or error, also once the operation had failed. The admin lowers
    the brand's daily cap on chain in the block that takes the item's transaction, first."""
    anvil, manifest = own_chain
    ledger = json.loads(manifest.read_text())["contracts"]["AllianceLedger"]
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        fine, doomed = purchase(Member(), 3_000), purchase(Member(), 5_000)
        confirmed = brand.api.post(BATCH, {"items": [fine]}, headers={"Prefer": "wait=30"})
        assert confirmed.status_code == 200, confirmed.text
        anvil.rpc("evm_setAutomine", False)
        try:
            (accepted,) = brand.api.post(BATCH, {"items": [doomed]}).json()["items"]
            uid = accepted["operation_id"]
            wait_for(
                lambda: brand.api.get(f"/v1/operations/{uid}").json()["status"] == "submitted",
                what="the item's transaction in the node's pool",
            )
            w3 = anvil.web3()
            admin = Account.from_key(ADMIN_KEY)
            contract = w3.eth.contract(address=ledger["address"], abi=ledger["abi"])
            tx = contract.functions.setDailyMintCap(brand.brand_id, 1).build_transaction(
                {
                    "from": admin.address,
                    "gas": 1_000_000,
                    "nonce": w3.eth.get_transaction_count(admin.address),
                    "maxFeePerGas": 10**12,
                    "maxPriorityFeePerGas": 10**11,  # ahead of the signer's in the block
                }
            )
            w3.eth.send_raw_transaction(admin.sign_transaction(tx).raw_transaction)
            anvil.rpc("evm_mine")
        finally:
            anvil.rpc("evm_setAutomine", True)
        failed = brand.api.wait(uid)
        assert failed["status"] == "failed", failed
        assert failed["error"]["code"] == "daily_cap_exceeded", failed

        again = brand.api.post(BATCH, {"items": [fine, doomed]})
        assert again.status_code == 202, again.text
        first, second = again.json()["items"]
        (stored,) = confirmed.json()["items"]
        assert first["result"] == second["result"] == "duplicate"
        assert (first["status"], first["tx_hash"], first["block_number"], first["error"]) == (
            "confirmed",
            stored["tx_hash"],
            stored["block_number"],
            None,
        )
        assert (second["status"], second["tx_hash"]) == ("failed", failed["tx_hash"])
        assert second["error"]["code"] == "daily_cap_exceeded", second
        assert second["error"]["message"] == failed["error"]["message"]


def test_two_items_with_one_key_are_refused_whole(brand: Brand) -> None:
    member = Member()
    response = brand.api.post(
        BATCH, {"items": [purchase(member, 100, "same"), purchase(member, 200, "same")]}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "duplicate_item_key"


def test_more_than_a_thousand_items_is_invalid(brand: Brand) -> None:
    member = Member()
    items = [purchase(member, 100) for _ in range(1_001)]
    response = brand.api.post(BATCH, {"items": items})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_a_batch_without_an_idempotency_key_is_refused(brand: Brand) -> None:
    response = brand.api.post(BATCH, {"items": [purchase(Member(), 100)]}, key=None)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"


def test_a_refused_item_carries_the_code_message_and_details_of_the_single_route(
    gateway: Gateway,
) -> None:
    """A trial's finding: an item refused as `duplicate_order` had no `details.operation_id`
    (the operation that holds the order), which the single route's 409 gives; no refusal of
    an item carried its details."""
    brand = gateway.create_brand(daily_cap_points=1_000)

    def listed_cap() -> bool:
        listed = gateway.admin.get("/v1/admin/brands").json()
        return any(b["brand_id"] == brand.brand_id and b["daily_cap_points"] for b in listed)

    wait_for(listed_cap, what="the brand's indexed daily cap")
    member = Member()
    first = purchase(member, 5_000)  # 500 points of the day's 1,000
    single = {k: v for k, v in first.items() if k not in ("type", "key")}
    credited = brand.api.post(PURCHASE, single, params={"wait": "true"})
    assert credited.status_code == 200, credited.text
    over_cap, zero = purchase(member, 6_000), purchase(member, 1)
    singles = [
        brand.api.post(PURCHASE, single),  # the same order under another key
        brand.api.post(PURCHASE, {k: v for k, v in zero.items() if k not in ("type", "key")}),
        brand.api.post(PURCHASE, {k: v for k, v in over_cap.items() if k not in ("type", "key")}),
    ]
    assert [s.status_code for s in singles] == [409, 422, 409], [s.text for s in singles]
    expected = [s.json()["error"] for s in singles]
    assert [e["code"] for e in expected] == ["duplicate_order", "zero_points", "daily_cap_exceeded"]
    assert expected[0]["details"] == {"operation_id": credited.json()["operation_id"]}

    same_order = purchase(member, 100)
    items = [first, zero, over_cap, same_order, {**same_order, "key": "second-of-the-order"}]
    response = brand.api.post(BATCH, {"items": items})
    assert response.status_code == 202, response.text
    answers = response.json()["items"]
    assert [a["result"] for a in answers] == ["refused"] * 3 + ["accepted", "refused"], answers
    assert [a["error"] for a in answers[:3]] == expected
    assert answers[4]["error"] == {
        "code": "duplicate_order",
        "message": expected[0]["message"],
        "details": {"operation_id": answers[3]["operation_id"]},  # the item before it
    }

    changed = {**same_order, "amount_cents": 200}
    conflict = brand.api.post(BATCH, {"items": [changed]}).json()["items"][0]
    assert conflict["error"]["code"] == "idempotency_conflict"
    assert conflict["error"]["details"] == {"idempotency_key": same_order["key"]}
