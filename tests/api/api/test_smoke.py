import socket

import pytest
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


def test_a_test_gateway_holds_its_port_from_the_moment_it_is_built(env: dict[str, str]) -> None:
    """The port is bound when the gateway is built and served from that socket: a port picked
    free and bound later was taken meanwhile on a busy machine (another process's outgoing
    connections use the same range), and the gateway did not start ("address already in
    use")."""
    gateway = Gateway(env)
    try:
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", gateway.port))
        gateway.start()
        assert gateway.get_health()["status"] == "ok"
    finally:
        gateway.stop()
