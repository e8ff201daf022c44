"""Earning, exactly-once acceptance (Idempotency-Key) and input validation."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from support.chain import Anvil
from support.direct import contract
from support.gateway import Brand, Gateway, Member

PURCHASE = "/v1/earn/purchase"


def purchase(member: Member, cents: int = 1_000, **extra: object) -> dict[str, object]:
    """A purchase body with an order reference of its own (one order earns once)."""
    return {
        "member": member.address,
        "amount_cents": cents,
        "order_ref": f"order-{uuid.uuid4()}",
    } | extra


def test_purchase_earns_points_by_the_brand_rule(brand: Brand) -> None:
    member = Member()
    response = brand.api.post(
        PURCHASE, purchase(member, 2_550, multiplier_pct=200), params={"wait": "true"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "confirmed" and body["indexed"] is True
    assert body["result"]["points"] == 510  # 25.50 USD x 10 points x 2
    view = brand.api.get(f"/v1/members/{member.address}").json()
    (balance,) = view["balances"]
    assert balance["balance"] == 510
    assert balance["lots"][0]["amount"] == 510
    assert balance["next_expiry"]["expires_at"] == balance["lots"][0]["expires_at"]


def test_engagement_earns_the_rule_points(brand: Brand) -> None:
    member = Member()
    response = brand.api.post(
        "/v1/earn/engagement", {"member": member.address, "kind": "review"}, params={"wait": "true"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["points"] == 5


def test_an_engagement_counts_toward_the_tier_as_the_chain_counts_it(
    anvil: Anvil, manifest: Path, brand: Brand
) -> None:
    """The chain counts an engagement toward the tier only when its points reach the brand's
    rate (a multiplier of 100% or more); the index counted every one (two reviewers: reviews
    at 50% and 99% read 2 engagements in the member's progress, 0 on chain)."""
    member = Member()
    for multiplier in (50, 99, 100, 150):
        body = {"member": member.address, "kind": "review", "multiplier_pct": multiplier}
        answer = brand.api.post("/v1/earn/engagement", body, params={"wait": "true"})
        assert answer.json()["status"] == "confirmed", answer.text
        brand.api.wait(answer.json()["operation_id"])  # and indexed
    _, lens = contract(anvil, manifest, "AllianceLedgerLens")
    on_chain = lens.functions.memberStatus(member.address).call()[4]
    tier = brand.api.get(f"/v1/members/{member.address}").json()["tier"]
    assert (tier["engagements"], on_chain) == (2, 2), tier


def test_accepted_operation_answers_202_then_follows_queued_to_confirmed(brand: Brand) -> None:
    response = brand.api.post(PURCHASE, purchase(Member()))
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and body["kind"] == "earn" and body["op_id"] >= 1
    assert response.headers["Location"] == f"/v1/operations/{body['operation_id']}"
    final = brand.api.wait(body["operation_id"])
    assert final["status"] == "confirmed" and final["tx_hash"] and final["block_number"]


def test_prefer_wait_header_waits_for_confirmation(brand: Brand) -> None:
    response = brand.api.post(PURCHASE, purchase(Member()), headers={"Prefer": "wait=10"})
    assert response.status_code == 200
    assert response.json()["status"] == "confirmed"


@pytest.mark.parametrize("flag", ["maybe", "2", ""])
def test_a_wait_flag_that_is_not_a_boolean_is_refused_before_anything_is_stored(
    brand: Brand, flag: str
) -> None:
    """The dependency reads `?wait=` itself (issue 15: no declared query parameter to validate
    per request); it must refuse what FastAPI's boolean query refused, with the same body."""
    member = Member()
    response = brand.api.post(PURCHASE, purchase(member), params={"wait": flag})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert [p["loc"] for p in error["details"]["errors"]] == [["query", "wait"]]
    assert error["details"]["errors"][0]["type"] == "bool_parsing"
    assert brand.api.post(PURCHASE, purchase(member), params={"wait": "yes"}).status_code == 200


def test_replay_with_the_same_key_and_body_returns_the_original_answer(brand: Brand) -> None:
    key = str(uuid.uuid4())
    body = purchase(Member())
    first = brand.api.post(PURCHASE, body, key=key)
    second = brand.api.post(PURCHASE, body, key=key)
    assert first.status_code == second.status_code == 202
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    brand.api.wait(first.json()["operation_id"])
    third = brand.api.post(PURCHASE, body, key=key)
    assert third.json()["operation_id"] == first.json()["operation_id"]


def test_same_key_with_a_different_body_is_a_conflict(brand: Brand) -> None:
    key = str(uuid.uuid4())
    member = Member()
    assert brand.api.post(PURCHASE, purchase(member, 100), key=key).status_code == 202
    response = brand.api.post(PURCHASE, purchase(member, 101), key=key)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"


def test_same_key_on_another_endpoint_is_a_conflict(brand: Brand) -> None:
    key = str(uuid.uuid4())
    member = Member()
    assert brand.api.post(PURCHASE, purchase(member), key=key).status_code == 202
    response = brand.api.post(
        "/v1/earn/engagement", {"member": member.address, "kind": "share"}, key=key
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"


def test_a_key_or_an_api_key_sent_twice_is_refused_not_picked(brand: Brand) -> None:
    """A trial: two `Idempotency-Key` headers were accepted and stored under the first (a
    retry under the second was a new request), and `Authorization` with another brand's
    `X-API-Key` acted as the first. Both are refused now, storing nothing."""
    member = Member()
    twice = [("Idempotency-Key", "dup-a"), ("Idempotency-Key", "dup-b")]
    response = brand.api.http.post(PURCHASE, json=purchase(member), headers=twice)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_idempotency_key" and "more than once" in error["message"]
    for key in ("dup-a", "dup-b"):  # neither stored it
        sent = brand.api.post(PURCHASE, purchase(member), key=key)
        assert sent.status_code == 202 and "Idempotent-Replayed" not in sent.headers, sent.text
    own = brand.api_key
    with httpx.Client(base_url=str(brand.api.http.base_url), timeout=60) as bare:
        for headers in (
            [("Authorization", f"Bearer {own}"), ("X-API-Key", "lk_00000000_other")],
            [("Authorization", f"Bearer {own}"), ("Authorization", "Bearer lk_00000000_other")],
            [("X-API-Key", own), ("X-API-Key", "lk_00000000_other")],
        ):
            answer = bare.get(f"/v1/members/{member.address}", headers=headers)
            assert answer.status_code == 401, (headers, answer.text)
            assert "more than one API key" in answer.json()["error"]["message"], answer.text
        # the same key in both headers is one key
        same = bare.get(
            f"/v1/members/{member.address}",
            headers=[("Authorization", f"Bearer {own}"), ("X-API-Key", own)],
        )
        assert same.status_code == 200, same.text


def test_mutating_call_without_idempotency_key_is_rejected(brand: Brand) -> None:
    response = brand.api.post(PURCHASE, purchase(Member()), key=None)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"


@pytest.mark.parametrize("key", ["k" * 256, "two words", "ключ", "tab\there"])
def test_a_malformed_idempotency_key_is_named_as_such(brand: Brand, key: str) -> None:
    """A key that is there but malformed is not "required" (new-user trial)."""
    headers = {"Idempotency-Key": key.encode()}  # bytes: httpx sends them as they are
    response = brand.api.http.post(PURCHASE, json=purchase(Member()), headers=headers)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_idempotency_key" and "255 visible ASCII" in error["message"]


@pytest.mark.parametrize(
    "member",
    [
        "0x123",
        "not an address",
        "0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # bad EIP-55 checksum (one letter flipped)
        "0x0000000000000000000000000000000000000000",
        12,
    ],
)
def test_malformed_member_address_is_rejected(brand: Brand, member: object) -> None:
    response = brand.api.post(PURCHASE, {"member": member, "amount_cents": 100, "order_ref": "x"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_address"


def test_lowercase_address_is_accepted_and_checksummed(brand: Brand) -> None:
    member = Member()
    response = brand.api.post(
        PURCHASE, purchase(member) | {"member": member.address.lower()}, params={"wait": "true"}
    )
    assert response.status_code == 200
    view = brand.api.get(f"/v1/members/{member.address.lower()}").json()
    assert view["address"] == member.address


@pytest.mark.parametrize("amount", [0, -5, 10**12 + 1, 1.5, "100", True, None])
def test_negative_zero_oversized_or_non_integer_amount_is_rejected(
    brand: Brand, amount: object
) -> None:
    response = brand.api.post(
        PURCHASE, {"member": Member().address, "amount_cents": amount, "order_ref": "x"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_amount"


@pytest.mark.parametrize("multiplier", [0, 1001, -100])
def test_out_of_range_multiplier_is_rejected(brand: Brand, multiplier: int) -> None:
    response = brand.api.post(PURCHASE, purchase(Member(), multiplier_pct=multiplier))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_multiplier"


def test_purchase_too_small_to_earn_a_point_is_rejected(brand: Brand) -> None:
    response = brand.api.post(PURCHASE, purchase(Member(), cents=5))  # 5 cents x 10 / 100 < 1
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "zero_points"


def test_unknown_fields_and_bad_json_are_rejected(brand: Brand) -> None:
    response = brand.api.post(PURCHASE, purchase(Member(), surprise=1))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    raw = brand.api.http.post(
        PURCHASE,
        content=b"{not json",
        headers={"Idempotency-Key": "k", "Content-Type": "application/json"},
    )
    assert raw.status_code == 400
    assert raw.json()["error"]["code"] == "malformed_body"


def test_rejected_request_leaves_no_operation_and_frees_its_key(brand: Brand) -> None:
    key = str(uuid.uuid4())
    assert brand.api.post(PURCHASE, purchase(Member(), cents=-1), key=key).status_code == 422
    ok = brand.api.post(PURCHASE, purchase(Member()), key=key)
    assert ok.status_code == 202


def test_concurrent_earns_are_packed_into_few_batch_transactions(
    gateway: Gateway, brand: Brand
) -> None:
    import concurrent.futures

    members = [Member() for _ in range(120)]

    def submit(member: Member) -> str:
        response = brand.api.post(PURCHASE, purchase(member, 1_000))
        assert response.status_code == 202, response.text
        return str(response.json()["operation_id"])

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(submit, members))
    finals = [brand.api.wait(op) for op in ids]
    assert {f["status"] for f in finals} == {"confirmed"}
    transactions = {f["tx_hash"] for f in finals}
    assert len(transactions) < len(ids) / 4, (
        f"{len(transactions)} transactions for {len(ids)} earns"
    )
    op_ids = sorted(f["op_id"] for f in finals)
    assert op_ids == list(range(op_ids[0], op_ids[0] + len(ids)))  # dense per-brand op ids


def test_the_same_order_under_another_key_earns_once_and_names_the_first_operation(
    brand: Brand,
) -> None:
    """Issue 11's reproduction: order "order-77" sent twice under two Idempotency-Keys
    was credited twice (500 + 500 points)."""
    member = Member()
    body = purchase(member, 5_000, order_ref="order-77")
    first = brand.api.post(PURCHASE, body, params={"wait": "true"})
    assert first.status_code == 200, first.text
    again = brand.api.post(PURCHASE, body)
    assert again.status_code == 409, again.text
    error = again.json()["error"]
    assert error["code"] == "duplicate_order"
    assert error["details"]["operation_id"] == first.json()["operation_id"]
    (balance,) = brand.api.get(f"/v1/members/{member.address}").json()["balances"]
    assert balance["balance"] == 500


def test_the_same_order_twice_in_one_group_earns_once(brand: Brand) -> None:
    """Two keys racing with one order: the second is refused even before the first is stored."""
    body = purchase(Member(), 5_000)
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: brand.api.post(PURCHASE, body), range(2)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [202, 409], [a.text for a in answers]
    first, refused = sorted(answers, key=lambda a: a.status_code)
    assert refused.json()["error"]["details"]["operation_id"] == first.json()["operation_id"]


def test_an_order_reference_is_one_brands_own(brand: Brand, other_brand: Brand) -> None:
    body = purchase(Member())
    assert brand.api.post(PURCHASE, body).status_code == 202
    assert other_brand.api.post(PURCHASE, body).status_code == 202


def test_a_member_referring_themselves_is_refused(brand: Brand) -> None:
    """A trial: a purchase whose `referrer` was its own member was accepted with no rule
    applied and no word why. It is refused (422), alone or as a bulk item, storing nothing."""
    member = Member()
    body = purchase(member, referrer=member.address.lower())
    response = brand.api.post(PURCHASE, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and "refer themselves" in error["message"], error
    item = {"type": "purchase", "key": "i-1", **body}
    bulk = brand.api.post("/v1/earn/batch", {"items": [item]})
    assert bulk.status_code == 422 and "refer themselves" in bulk.text, bulk.text
    accepted = brand.api.post(PURCHASE, {**body, "referrer": Member().address})
    assert accepted.status_code == 202, accepted.text  # the same order, referred by another


def test_a_members_engagement_with_a_ref_earns_once(brand: Brand) -> None:
    """A trial: the same review (`ref`) sent again under a new Idempotency-Key earned again.
    A member's engagement of one kind and ref now earns once, single or in a batch; another
    member, another kind, an order of that name and an engagement without ref are their own."""
    alice, bob = Member(), Member()
    ref = f"review-{uuid.uuid4()}"

    def engagement(member: Member, kind: str = "review", **extra: object) -> httpx.Response:
        body = {"member": member.address, "kind": kind} | extra
        return brand.api.post("/v1/earn/engagement", body, params={"wait": "true"})

    first = engagement(alice, ref=ref)
    assert first.json()["status"] == "confirmed", first.text
    again = engagement(alice, ref=ref)
    assert again.status_code == 409, again.text
    error = again.json()["error"]
    assert error["code"] == "duplicate_engagement"
    assert error["details"]["operation_id"] == first.json()["operation_id"]
    for other in (
        engagement(bob, ref=ref),
        engagement(alice, "share", ref=ref),
        engagement(alice),
        engagement(alice),
        brand.api.post(PURCHASE, purchase(alice, order_ref=ref), params={"wait": "true"}),
    ):
        assert other.json()["status"] == "confirmed", other.text
    items = [
        {"type": "engagement", "key": f"k-{n}", "member": alice.address, "kind": "review", "ref": r}
        for n, r in enumerate((ref, "fresh", "fresh"))
    ]
    batch = brand.api.post("/v1/earn/batch", {"items": items}, params={"wait": "true"}).json()
    answers = [(i["result"], (i.get("error") or {}).get("code")) for i in batch["items"]]
    assert answers == [
        ("refused", "duplicate_engagement"),
        ("accepted", None),
        ("refused", "duplicate_engagement"),
    ], batch
    (balance,) = brand.api.get(f"/v1/members/{alice.address}").json()["balances"]
    assert balance["balance"] == 5 + 3 + 5 + 5 + 100 + 5  # reviews, a share, the order, "fresh"
