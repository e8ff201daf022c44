"""Reads scoped by need and order references bound per brand (issue 9, item 9)."""

from __future__ import annotations

from typing import Any

from eth_utils.crypto import keccak
from sqlalchemy import text
from support.chain import Anvil
from support.flows import earn
from support.gateway import Brand, Gateway, Member


def test_a_brand_key_sees_its_own_lots_and_only_spendable_totals_of_other_brands(
    gateway: Gateway, brand: Brand, other_brand: Brand
) -> None:
    alice = Member()
    earn(brand, alice, 1_000)  # 100 points of `brand`
    earn(other_brand, alice, 2_000)  # 200 points of `other_brand`

    seen = other_brand.api.get(f"/v1/members/{alice.address}").json()
    assert [b["brand_id"] for b in seen["balances"]] == [other_brand.brand_id]
    assert seen["balances"][0]["balance"] == 200 and seen["balances"][0]["lots"]
    assert "lots" not in str(seen["spendable"]) and "expir" not in str(seen["spendable"])
    assert sorted(
        (s["brand_id"], s["points"], s["value_micro_usd"]) for s in seen["spendable"]
    ) == [
        (brand.brand_id, 100, 100 * 10_000),
        (other_brand.brand_id, 200, 200 * 10_000),
    ]

    everything = gateway.admin.get(f"/v1/members/{alice.address}").json()
    assert {(b["brand_id"], b["balance"]) for b in everything["balances"]} == {
        (brand.brand_id, 100),
        (other_brand.brand_id, 200),
    }
    assert all(b["lots"] for b in everything["balances"])


def test_a_brand_key_sees_its_own_brands_badges_only(
    gateway: Gateway, brand: Brand, other_brand: Brand
) -> None:
    defined = brand.api.post(
        "/v1/badges/types", {"kind": "achievement", "uri": "ipfs://b/1"}, params={"wait": "true"}
    ).json()
    type_id = defined["result"]["type_id"]
    alice = Member()
    issued = brand.api.post(
        "/v1/badges/issue", {"type_id": type_id, "member": alice.address}, params={"wait": "true"}
    ).json()
    assert issued["status"] == "confirmed", issued
    path = f"/v1/members/{alice.address}/badges"
    assert [b["type_id"] for b in brand.api.get(path).json()["badges"]] == [type_id]
    assert other_brand.api.get(path).json()["badges"] == []
    assert [b["type_id"] for b in gateway.admin.get(path).json()["badges"]] == [type_id]


def _earn_with_ref(brand: Brand, order_ref: str) -> dict[str, Any]:
    response = brand.api.post(
        "/v1/earn/purchase",
        {"member": Member().address, "amount_cents": 500, "order_ref": order_ref},
        params={"wait": "true"},
    )
    assert response.status_code == 200, response.text
    final: dict[str, Any] = response.json()
    assert final["status"] == "confirmed", final
    return final


def _on_chain_ref(gateway: Gateway, final: dict[str, Any]) -> str:
    """The reference the earn's `PointsEarned` event carried (from the index)."""
    with gateway.runtime.db.read() as session:
        ref: str = session.execute(
            text(
                "SELECT order_ref FROM idx_history WHERE tx_hash = :tx AND kind = 'earned'"
                " AND op_id = :op"
            ),
            {"tx": final["tx_hash"], "op": final["op_id"]},
        ).scalar_one()
    return ref


def test_order_references_go_on_chain_bound_to_the_brand(
    gateway: Gateway, anvil: Anvil, brand: Brand, other_brand: Brand
) -> None:
    guessable = keccak(text="order-1001").hex()
    first = _earn_with_ref(brand, "order-1001")
    w3 = anvil.web3()
    transaction = w3.eth.get_transaction(first["tx_hash"])
    receipt = w3.eth.get_transaction_receipt(first["tx_hash"])
    on_chain = bytes(transaction["input"]).hex() + "".join(
        bytes(log["data"]).hex() + "".join(bytes(t).hex() for t in log["topics"])
        for log in receipt["logs"]
    )
    assert guessable not in on_chain

    again = brand.api.post(
        "/v1/earn/purchase",
        {"member": Member().address, "amount_cents": 500, "order_ref": "order-1001"},
    )
    assert again.status_code == 409, again.text  # one credit per order at a brand (issue 11)
    assert again.json()["error"]["code"] == "duplicate_order"
    assert again.json()["error"]["details"]["operation_id"] == first["operation_id"]
    elsewhere = _earn_with_ref(other_brand, "order-1001")
    ref = _on_chain_ref(gateway, first)
    assert ref.removeprefix("0x") in on_chain
    assert _on_chain_ref(gateway, elsewhere) != ref  # different at another brand
    assert guessable not in {ref, _on_chain_ref(gateway, elsewhere)}
