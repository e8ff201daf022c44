import socket
from pathlib import Path

import pytest
import support.gateway
from support.chain import Anvil, free_port, listening_ports, start_anvil
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


def test_a_gateway_process_takes_another_port_when_its_pick_was_taken(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `ledger serve` process binds the port it was given some time after it was picked: on a
    busy machine another process took it meanwhile, and the test errored ("address already in
    use"). Here the first pick is taken on purpose."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        picks = iter([taken.getsockname()[1]])
        monkeypatch.setattr(support.gateway, "free_port", lambda: next(picks, None) or free_port())
        gateway = support.gateway.GatewayProcess(env, tmp_path / "gateway.log")
        assert gateway.port == taken.getsockname()[1]
        try:
            gateway.start()
            assert gateway.port != taken.getsockname()[1]
            assert gateway.ready_health() is not None
        finally:
            gateway.stop()
        assert "address already in use" in (tmp_path / "gateway.log").read_text().lower()
        with pytest.raises(RuntimeError, match="address already in use"):  # a port it was given
            support.gateway.GatewayProcess(
                env, tmp_path / "again.log", port=taken.getsockname()[1]
            ).start()


def test_anvil_listens_on_a_port_of_its_own_and_refuses_a_taken_one(anvil: Anvil) -> None:
    """anvil started on a port picked free earlier could find it taken; worse, when another
    anvil held it, the start answered from that node. Now it listens where the system puts
    it, and a port given that is taken is refused."""
    node = start_anvil()
    try:
        assert listening_ports(node.process.pid) == {node.port}
        assert node.rpc("eth_blockNumber") == "0x0"
    finally:
        node.stop()
    with pytest.raises(RuntimeError, match="anvil did not start"):
        start_anvil(port=anvil.port)
