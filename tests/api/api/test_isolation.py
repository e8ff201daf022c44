"""Brand isolation at the API: a brand key acts on, and reads, its own brand only."""

from __future__ import annotations

from support.flows import earn, signed_gift
from support.gateway import Brand, Gateway, Member


def test_brand_cannot_read_another_brands_operation(brand: Brand, other_brand: Brand) -> None:
    response = brand.api.post(
        "/v1/earn/purchase", {"member": Member().address, "amount_cents": 100, "order_ref": "o"}
    )
    operation = response.json()["operation_id"]
    assert brand.api.get(f"/v1/operations/{operation}").status_code == 200
    foreign = other_brand.api.get(f"/v1/operations/{operation}")
    assert foreign.status_code == 404
    assert foreign.json()["error"]["code"] == "operation_not_found"


def test_brand_cannot_move_another_brands_points(brand: Brand, other_brand: Brand) -> None:
    alice = Member()
    earn(brand, alice, 1_000)
    body = signed_gift(brand, alice, Member().address, 10)
    response = other_brand.api.post("/v1/gifts", {**body, "brand": brand.brand_id})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "brand_forbidden"
    typed = other_brand.api.post(
        "/v1/gifts/typed-data",
        {"member": alice.address, "to": Member().address, "amount": 1, "brand": brand.brand_id},
    )
    assert typed.status_code == 403


def test_brand_cannot_read_another_brands_liability(
    brand: Brand, other_brand: Brand, gateway: Gateway
) -> None:
    earn(brand, Member(), 1_000)
    assert brand.api.get(f"/v1/brands/{brand.brand_id}/liability").status_code == 200
    response = other_brand.api.get(f"/v1/brands/{brand.brand_id}/liability")
    # another brand's data: `brand_forbidden`, as the settlement deposit's read (a trial)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "brand_forbidden")
    assert gateway.admin.get(f"/v1/brands/{brand.brand_id}/liability").status_code == 200


def test_history_seen_by_a_brand_holds_its_own_lines_only(brand: Brand, other_brand: Brand) -> None:
    alice = Member()
    earn(brand, alice, 1_000)
    earn(other_brand, alice, 2_000)
    mine = brand.api.get(f"/v1/members/{alice.address}/history").json()["entries"]
    assert {e["brand_id"] for e in mine} == {brand.brand_id}
    theirs = other_brand.api.get(f"/v1/members/{alice.address}/history").json()["entries"]
    assert {e["brand_id"] for e in theirs} == {other_brand.brand_id}


def test_idempotency_keys_are_scoped_per_brand(brand: Brand, other_brand: Brand) -> None:
    member = Member()
    body = {"member": member.address, "amount_cents": 100, "order_ref": "o"}
    first = brand.api.post("/v1/earn/purchase", body, key="shared-key")
    second = other_brand.api.post("/v1/earn/purchase", body, key="shared-key")
    assert first.status_code == second.status_code == 202
    assert first.json()["operation_id"] != second.json()["operation_id"]


def test_brand_earns_only_its_own_points(brand: Brand, other_brand: Brand) -> None:
    alice = Member()
    earn(brand, alice, 1_000)
    view = other_brand.api.get(f"/v1/members/{alice.address}").json()
    assert view["balances"] == []  # no lines of its own
    assert [(s["brand_id"], s["points"]) for s in view["spendable"]] == [(brand.brand_id, 100)]
