"""Gifts, donations and redemptions: member signatures, cross-brand value, history and positions."""

from __future__ import annotations

import time
from typing import Any

from support.chain import CHARITY_POOL, Anvil
from support.flows import balance, earn, resigned, signed_gift, signed_redemption
from support.gateway import Brand, Gateway, Member
from support.progress import wait_for


def test_earn_gift_and_cross_brand_redemption_show_in_history_and_positions(
    gateway: Gateway, brand: Brand, other_brand: Brand, anvil: Anvil
) -> None:
    alice, bob = Member(), Member()
    earn(brand, alice, 10_000)  # 100 USD -> 1000 points at 10 points per USD

    gift = brand.api.post(
        "/v1/gifts", signed_gift(brand, alice, bob.address, 300), params={"wait": "true"}
    )
    assert gift.status_code == 200, gift.text
    assert gift.json()["status"] == "confirmed"
    assert balance(brand, alice, brand.brand_id) == 700
    assert balance(brand, bob, brand.brand_id) == 300

    # Bob spends brand A's points at brand B: A now owes B their value.
    redemption = signed_redemption(other_brand, bob, brand.brand_id, 200, "checkout-42")
    answer = other_brand.api.post("/v1/redemptions", redemption, params={"wait": "true"})
    assert answer.status_code == 200, answer.text
    final = answer.json()
    assert final["status"] == "confirmed", final
    assert final["result"] == {"value_micro_usd": 200 * 10_000}
    # Issue 10: a debt needs the consent of the brand that will be owed. The gateway records a
    # redemption only at the calling brand and sends it with that brand's own signer (the
    # ledger refuses a cross-brand redemption from anyone else: LedgerNoBrandConsent).
    sent = anvil.web3().eth.get_transaction(final["tx_hash"])
    assert sent["from"].lower() == other_brand.signer.lower() != brand.signer.lower()
    assert balance(brand, bob, brand.brand_id) == 100

    history = gateway.admin.get(f"/v1/members/{bob.address}/history").json()
    kinds = [(e["kind"], e["amount"]) for e in history["entries"]]
    assert ("received", 300) in kinds
    assert ("redeemed", 200) in kinds
    redeemed = next(e for e in history["entries"] if e["kind"] == "redeemed")
    assert redeemed["at_brand_id"] == other_brand.brand_id
    assert history["totals"]["received"] == 300

    alice_history = brand.api.get(f"/v1/members/{alice.address}/history").json()
    assert [e["kind"] for e in alice_history["entries"]] == ["gifted", "earned"]

    positions = gateway.admin.get("/v1/settlement/positions").json()["positions"]
    assert {
        "debtor_brand_id": brand.brand_id,
        "creditor_brand_id": other_brand.brand_id,
        "amount_micro_usd": 2_000_000,
    } in positions

    liability = brand.api.get(f"/v1/brands/{brand.brand_id}/liability").json()
    assert (liability["issued"], liability["redeemed"], liability["outstanding"]) == (
        1000,
        200,
        800,
    )


def test_donation_goes_to_the_charity_pool(gateway: Gateway, brand: Brand) -> None:
    alice = Member()
    earn(brand, alice, 1_000)
    prepared = brand.api.post(
        "/v1/donations/typed-data", {"member": alice.address, "amount": 40}
    ).json()
    assert prepared["typed_data"]["message"]["to"] == CHARITY_POOL
    body = {
        "member": alice.address,
        "amount": 40,
        "nonce": prepared["nonce"],
        "deadline": prepared["deadline"],
        "signature": alice.sign(prepared["typed_data"]),
    }
    response = brand.api.post("/v1/donations", body, params={"wait": "true"})
    assert response.status_code == 200 and response.json()["status"] == "confirmed", response.text
    history = brand.api.get(f"/v1/members/{alice.address}/history").json()
    assert history["entries"][0]["kind"] == "donated"
    assert history["entries"][0]["counterparty"] == CHARITY_POOL


def test_gift_with_a_signature_of_someone_else_is_rejected(brand: Brand) -> None:
    alice, mallory = Member(), Member()
    earn(brand, alice, 1_000)
    body = signed_gift(brand, alice, mallory.address, 10)
    prepared = brand.api.post(
        "/v1/gifts/typed-data", {"member": alice.address, "to": mallory.address, "amount": 10}
    ).json()
    body["signature"] = mallory.sign(prepared["typed_data"])
    response = brand.api.post("/v1/gifts", body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_signature"


def test_gift_with_a_malformed_signature_is_rejected(brand: Brand) -> None:
    alice = Member()
    body = {
        "member": alice.address,
        "to": Member().address,
        "amount": 1,
        "nonce": 0,
        "deadline": 2**40,
        "signature": "0x1234",
    }
    response = brand.api.post("/v1/gifts", body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_signature"


def test_gift_with_an_expired_deadline_is_rejected(brand: Brand) -> None:
    """The typed-data route refuses a deadline already passed (`test_signatures`); a member's
    wallet can still sign one it made itself: the relay refuses it too."""
    alice, to = Member(), Member().address
    earn(brand, alice, 1_000)
    prepared = brand.api.post(
        "/v1/gifts/typed-data", {"member": alice.address, "to": to, "amount": 10}
    ).json()
    expired = int(time.time()) - 60
    typed = prepared["typed_data"]
    deadline = typed["message"]["deadline"]
    typed["message"]["deadline"] = str(expired) if isinstance(deadline, str) else expired
    body = {
        "member": alice.address,
        "to": to,
        "amount": 10,
        "nonce": prepared["nonce"],
        "deadline": expired,
        "signature": alice.sign(typed),
    }
    response = brand.api.post("/v1/gifts", body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "signature_expired"


def test_replayed_signature_is_rejected(brand: Brand) -> None:
    alice = Member()
    earn(brand, alice, 1_000)
    body = signed_gift(brand, alice, Member().address, 10)
    first = brand.api.post("/v1/gifts", body, params={"wait": "true"})
    assert first.json()["status"] == "confirmed", first.text
    again = brand.api.post("/v1/gifts", body)  # new Idempotency-Key, same signature
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "signature_replayed"


def test_the_same_signature_twice_in_flight_is_accepted_once(brand: Brand) -> None:
    alice = Member()
    earn(brand, alice, 1_000)
    body = signed_gift(brand, alice, Member().address, 10)
    first = brand.api.post("/v1/gifts", body)
    second = brand.api.post("/v1/gifts", body)
    assert first.status_code == 202
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "signature_replayed"


def test_gift_beyond_the_balance_is_rejected(brand: Brand) -> None:
    """Refused before the document to sign (a member asked to sign what the relay then
    refuses), and at the relay for a document the member's own app built."""
    alice = Member()
    earn(brand, alice, 100)  # 10 points
    to = Member().address
    asked = brand.api.post(
        "/v1/gifts/typed-data", {"member": alice.address, "to": to, "amount": 11}
    )
    assert asked.status_code == 422, asked.text
    error = asked.json()["error"]
    assert error["code"] == "insufficient_balance" and error["details"]["available"] == 10, error
    response = brand.api.post("/v1/gifts", resigned(signed_gift(brand, alice, to, 10), alice, 11))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "insufficient_balance"


def test_points_in_their_return_window_are_refused_at_once(
    gateway: Gateway, other_brand: Brand
) -> None:
    """A trial: a member with 1,000 points pending (14-day return window) and none live had a
    redemption of 500 accepted (202), which then failed on chain. Pending points are not the
    member's yet (DOMAIN.md, Returns): a redemption or a gift of them is 422
    `insufficient_balance` at once, before the document to sign, and live points beside them
    stay spendable."""
    shop = gateway.create_brand(return_window_days=None)  # the default window, 14 days
    alice = Member()
    earn(shop, alice, 10_000)  # 1,000 points, pending
    redemption = {"member": alice.address, "brand": shop.brand_id, "order_ref": "pending-1"}
    refused = other_brand.api.post("/v1/redemptions/typed-data", {**redemption, "amount": 500})
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "insufficient_balance" and error["details"]["available"] == 0, error
    gift = shop.api.post(
        "/v1/gifts/typed-data", {"member": alice.address, "to": Member().address, "amount": 1}
    )
    assert gift.status_code == 422, gift.text
    assert gift.json()["error"]["code"] == "insufficient_balance"

    window = gateway.admin.put(
        f"/v1/admin/brands/{shop.brand_id}/return-window", {"days": 0}, params={"wait": "true"}
    )
    assert window.json()["status"] == "confirmed", window.text
    earn(shop, alice, 1_000)  # 100 points, live at once
    over = other_brand.api.post(
        "/v1/redemptions/typed-data", {**redemption, "order_ref": "pending-2", "amount": 101}
    )
    assert over.status_code == 422, over.text
    assert over.json()["error"]["details"]["available"] == 100
    # the relay refuses it too: a document the member's app signed beyond what it holds
    beyond = resigned(
        signed_redemption(other_brand, alice, shop.brand_id, 100, "pending-2"), alice, 101
    )
    answer = other_brand.api.post("/v1/redemptions", beyond)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"]["available"] == 100
    within = signed_redemption(other_brand, alice, shop.brand_id, 100, "pending-3")
    spent = other_brand.api.post("/v1/redemptions", within, params={"wait": "true"})
    assert spent.json()["status"] == "confirmed", spent.text


def test_history_totals_are_the_whole_historys_whatever_the_limit(
    gateway: Gateway, brand: Brand
) -> None:
    """A trial: the report's totals summed the lines it showed (and every released and
    expired one), so `limit=1` and `limit=20` gave two different totals for one member."""
    alice = Member()
    for cents in (1_000, 2_000, 3_000):
        earn(brand, alice, cents)
    gift = brand.api.post(
        "/v1/gifts", signed_gift(brand, alice, Member().address, 50), params={"wait": "true"}
    )
    assert gift.json()["status"] == "confirmed", gift.text
    path = f"/v1/members/{alice.address}/history"
    whole = gateway.admin.get(path, params={"limit": 1000}).json()
    assert len(whole["entries"]) == 4
    summed: dict[str, int] = {}
    for entry in whole["entries"]:
        summed[entry["kind"]] = summed.get(entry["kind"], 0) + entry["amount"]
    assert (
        {k: v for k, v in whole["totals"].items() if v}
        == summed
        == {
            "earned": 600,
            "gifted": 50,
        }
    )
    for limit in (1, 2, 3):
        for key in (gateway.admin, brand.api):
            page = key.get(path, params={"limit": limit}).json()
            assert len(page["entries"]) == limit
            assert page["entries"] == whole["entries"][:limit]
            assert page["totals"] == whole["totals"], (limit, page["totals"])


def test_redemption_of_an_unknown_brand_is_rejected(brand: Brand) -> None:
    alice = Member()
    response = brand.api.post(
        "/v1/redemptions/typed-data",
        {"member": alice.address, "brand": 9999, "amount": 5, "order_ref": "x"},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_brand"


def test_gift_nonce_ahead_of_the_member_is_rejected(brand: Brand) -> None:
    alice, bob = Member(), Member()
    earn(brand, alice, 1_000)
    prepared = brand.api.post(
        "/v1/gifts/typed-data", {"member": alice.address, "to": bob.address, "amount": 10}
    ).json()
    typed = prepared["typed_data"]
    typed["message"]["nonce"] = str(int(typed["message"]["nonce"]) + 5)  # a decimal string
    body = {
        "member": alice.address,
        "to": bob.address,
        "amount": 10,
        "nonce": int(typed["message"]["nonce"]),
        "deadline": prepared["deadline"],
        "signature": alice.sign(typed),
    }
    response = brand.api.post("/v1/gifts", body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_nonce"


def test_a_signed_move_retried_with_its_key_after_it_landed_gets_the_stored_answer(
    brand: Brand,
) -> None:
    """A lost answer is retried with the same Idempotency-Key, possibly to another gateway
    process and after the move is on chain: the stored answer comes back, not a refusal of
    the now-used nonce (seen in the scale-out test: 409 signature_replayed)."""
    giver, friend = Member(), Member()
    earn(brand, giver, 10_000)
    body = signed_gift(brand, giver, friend.address, 100)
    first = brand.api.post("/v1/gifts", body, key="gift-retry", params={"wait": "true"})
    assert first.status_code == 200 and first.json()["status"] == "confirmed", first.text
    again = brand.api.post("/v1/gifts", body, key="gift-retry", params={"wait": "true"})
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["operation_id"] == first.json()["operation_id"]
    assert again.json()["status"] == "confirmed"
    other = brand.api.post("/v1/gifts", body, key="gift-retry-other-key")
    assert other.status_code == 409 and other.json()["error"]["code"] == "signature_replayed"


def test_a_gift_to_oneself_is_refused(brand: Brand) -> None:
    """A trial: a member's gift to itself was relayed, moved nothing, and wrote a `gifted` and
    a `received` line that inflated both totals of its growth report."""
    alice = Member()
    earn(brand, alice, 1_000)
    prepared = brand.api.post(
        "/v1/gifts/typed-data", {"member": alice.address, "to": alice.address, "amount": 10}
    )
    assert prepared.status_code == 422, prepared.text
    assert prepared.json()["error"]["code"] == "invalid_member"
    document = brand.api.post(
        "/v1/gifts/typed-data", {"member": alice.address, "to": Member().address, "amount": 10}
    ).json()
    signed = {
        "member": alice.address,
        "to": alice.address,
        "amount": 10,
        "nonce": document["nonce"],
        "deadline": document["deadline"],
        "signature": alice.sign(document["typed_data"]),
    }
    relayed = brand.api.post("/v1/gifts", signed)
    assert relayed.status_code == 422, relayed.text
    assert relayed.json()["error"]["code"] == "invalid_member"


def test_a_gift_retried_with_its_key_while_in_flight_gets_its_202(
    own_env: dict[str, str], own_chain: tuple[Anvil, Any]
) -> None:
    """A review: the retry of a lost answer while its gift is still in the node's pool met
    the balance check, which counts the gift itself as a debit in flight, and was refused
    422 `insufficient_balance`, though the gift landed: a refusal the first request made."""
    anvil, _ = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        alice, bob = Member(), Member()
        earn(brand, alice, 1_000)  # 100 points: the retry would need 160
        body = signed_gift(brand, alice, bob.address, 80)
        anvil.rpc("evm_setAutomine", False)
        try:
            first = brand.api.post("/v1/gifts", body, key="gift-in-flight")
            assert first.status_code == 202, first.text
            uid = first.json()["operation_id"]
            wait_for(
                lambda: (
                    brand.api.get(f"/v1/operations/{uid}").json()["status"] == "submitted" or None
                ),
                what="the gift's transaction in the node's pool",
            )
            retry = brand.api.post("/v1/gifts", body, key="gift-in-flight")
        finally:
            anvil.rpc("evm_setAutomine", True)
        assert brand.api.wait(uid)["status"] == "confirmed"
        assert retry.status_code == 202, retry.text
        assert retry.json()["operation_id"] == uid


def test_a_gift_replayed_with_its_key_after_its_deadline_gets_its_answer(
    own_env: dict[str, str], own_chain: tuple[Anvil, Any]
) -> None:
    """A review: keys never expire, yet a confirmed gift replayed under its key once its
    signature's deadline had passed was answered 422 `signature_expired`, as if never made.
    Another request under the key still meets its own refusal."""
    anvil, _ = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        alice, bob = Member(), Member()
        earn(brand, alice, 1_000)
        head = anvil.web3().eth.get_block("latest")["timestamp"]
        body = signed_gift(brand, alice, bob.address, 30, deadline=head + 120)
        first = brand.api.post("/v1/gifts", body, key="gift-deadline", params={"wait": "true"})
        assert first.status_code == 200 and first.json()["status"] == "confirmed", first.text
        anvil.rpc("evm_increaseTime", 600)
        anvil.rpc("evm_mine")
        again = brand.api.post("/v1/gifts", body, key="gift-deadline", params={"wait": "true"})
        assert again.status_code == 200 and again.json()["status"] == "confirmed", again.text
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["operation_id"] == first.json()["operation_id"]
        other = brand.api.post("/v1/gifts", {**body, "amount": 31}, key="gift-deadline")
        assert other.status_code == 422, other.text
        assert other.json()["error"]["code"] == "signature_expired"
