"""A node behind the blocks the gateway saw: one of several behind a provider's load balancer.

The gateway followed one node, then its URL reached another a few blocks behind: that node's
head is below the block the index applied last and the blocks the signers' transactions were
mined in, and it answers null for them. Taken for forgotten blocks, that rebuilt the whole
index (a `chain.rewound` in every feed) and reopened the confirmed operations, which read
`submitted` again. Now the gateway waits for such a node (`LEDGER_NODE_LAG_PATIENCE_S`), says
so in its health, and goes on once the node has the blocks, having rebuilt and reopened
nothing. The lagging node is an anvil fork of the chain at an earlier block: the same blocks
up to there, none after.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from support.chain import Anvil, deploy, start_anvil
from support.flows import earn
from support.gateway import Gateway, Member, gateway_env
from support.progress import wait_for
from support.proxy import Proxy

pytestmark = pytest.mark.slow


def _behind(health: dict[str, Any]) -> bool:
    """The health says, of the index and of a signer, that the node is behind."""
    chain = str((health.get("chain") or {}).get("error"))
    signers = [str(s.get("last_error")) for s in health.get("sender") or []]
    return chain.startswith("node_behind") and any("node_behind: " in s for s in signers)


def _behind_a_proxy(tmp_path: Path, **extra: str) -> tuple[Anvil, Proxy, dict[str, str]]:
    """A node with the contracts, a proxy to it (the load balancer), and a gateway's settings
    on the proxy; idle signers check their newest block every second."""
    node = start_anvil()
    manifest = tmp_path / "deployment.json"
    deploy(node, manifest)
    proxy = Proxy(node.port)
    env = gateway_env(
        rpc_url=proxy.url,
        manifest=manifest,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
        LEDGER_CHAIN_CHECK_IDLE_S="1",
        **extra,
    )
    return node, proxy, env


def _reach(proxy: Proxy, port: int) -> None:
    """The proxy's next connections reach the node on `port` (the open ones are cut)."""
    proxy.target_port = port
    proxy.down()
    proxy.up()


def test_a_node_behind_the_gateway_is_waited_for_and_nothing_is_rebuilt_or_reopened(
    tmp_path: Path,
) -> None:
    """Twice, the second lag past the patience after the first began (a trial: the patience's
    clock kept the first lag's start, so a second lag minutes later was taken for forgotten
    blocks at once). The default patience, 30 s."""
    node, proxy, env = _behind_a_proxy(tmp_path)
    lagging = None
    try:
        with Gateway(env) as gateway:
            brand = gateway.create_brand()
            behind_at = node.web3().eth.block_number
            finals = [earn(brand, Member(), 1_000) for _ in range(3)]
            assert all(f["block_number"] > behind_at for f in finals), finals
            applied = gateway.get_health()["index_block"]
            assert applied > behind_at
            lagging = start_anvil(
                extra=["--fork-url", node.url, "--fork-block-number", str(behind_at)]
            )
            first_lag = time.monotonic()
            for lag in ("first", "second"):
                if lag == "second":  # past the patience since the first lag began
                    time.sleep(max(0.0, first_lag + 35 - time.monotonic()))
                _reach(proxy, lagging.port)
                health = wait_for(
                    lambda: h if _behind(h := gateway.get_health()) else None,
                    what=f"the health's word on the node behind ({lag} lag)",
                )
                assert health["status"] == "degraded", health
                assert health["index_block"] == applied, health
                for final in finals:  # still confirmed: nothing reopened
                    now = brand.api.get(f"/v1/operations/{final['operation_id']}").json()
                    assert now["status"] == "confirmed", (lag, now)
                _reach(proxy, node.port)  # the load balancer's other node again
                wait_for(
                    lambda: gateway.get_health()["status"] == "ok",
                    what=f"the health ok once the node has the blocks ({lag} lag)",
                )
            assert earn(brand, Member(), 1_000)["status"] == "confirmed"
            for final in finals:
                again = brand.api.get(f"/v1/operations/{final['operation_id']}").json()
                assert (again["status"], again["tx_hash"]) == ("confirmed", final["tx_hash"])
            events = gateway.admin.get("/v1/events", params={"limit": 500}).json()["events"]
            assert [e for e in events if e["type"] == "chain.rewound"] == [], events
    finally:
        proxy.close()
        if lagging is not None:
            lagging.stop()
        node.stop()


def test_the_same_block_forgotten_twice_is_said_twice(tmp_path: Path) -> None:
    """A node behind past the patience is taken for forgotten blocks: a `chain.rewound`. The
    gateway's node then has the block again (the same number and hash), and loses it again:
    a second `chain.rewound` (a trial: its id came from the block alone, so the second was
    taken for the first and never written; a consumer was not told the events it had been
    sent again may no longer hold). The lagging node mines nothing: the operations the
    signers send again wait in its pool."""
    node, proxy, env = _behind_a_proxy(tmp_path, LEDGER_NODE_LAG_PATIENCE_S="1")
    lagging = None

    def rewinds() -> list[dict[str, Any]]:
        events = gateway.admin.get("/v1/events", params={"limit": 500}).json()["events"]
        return [e for e in events if e["type"] == "chain.rewound"]

    try:
        with Gateway(env) as gateway:
            brand = gateway.create_brand()
            behind_at = node.web3().eth.block_number
            earn(brand, Member(), 1_000)
            applied = gateway.get_health()["index_block"]
            lagging = start_anvil(
                extra=[
                    "--fork-url",
                    node.url,
                    "--fork-block-number",
                    str(behind_at),
                    "--no-mining",
                ]
            )
            for times in (1, 2):
                _reach(proxy, lagging.port)
                said = wait_for(
                    lambda: r if len(r := rewinds()) >= times else None,  # noqa: B023
                    what=f"chain.rewound number {times}",
                )
                assert len(said) == times, said
                assert said[0]["data"]["forgotten_block"] == applied, said
                _reach(proxy, node.port)
                wait_for(
                    lambda: gateway.get_health()["index_block"] == applied,
                    what=f"the index back at block {applied} ({times})",
                )
            first, second = said
            assert first["id"] != second["id"], said
            assert first["data"]["forgotten_block_hash"] == second["data"]["forgotten_block_hash"]
            assert node.web3().eth.block_number == applied  # the same block, lost twice
    finally:
        proxy.close()
        if lagging is not None:
            lagging.stop()
        node.stop()
