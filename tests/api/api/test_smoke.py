from support.gateway import Brand, Gateway, Member


def test_earn_purchase_is_confirmed_and_indexed(gateway: Gateway, brand: Brand) -> None:
    member = Member()
    response = brand.api.post(
        "/v1/earn/purchase",
        {"member": member.address, "amount_cents": 1234, "order_ref": "order-1"},
    )
    assert response.status_code == 202, response.text
    final = brand.api.wait(response.json()["operation_id"])
    assert final["status"] == "confirmed", final
    view = brand.api.get(f"/v1/members/{member.address}").json()
    assert view["balances"][0]["balance"] == 123
