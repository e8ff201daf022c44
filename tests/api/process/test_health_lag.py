"""The index lag the admin sees is never negative: the index height and the chain's head
come as one consistent pair.

A trial's finding: the admin health once showed `lag_blocks: -2`. Two causes, each made
certain here by a node whose head moves between two reads (`support.rpc_proxy`): the
indexer kept the head it read first (`eth_blockNumber`) while it indexed up to the latest
block it read after (two blocks more: -2 until its next pass), and an HTTP process beside
`ledger work` paired the index height it read from the database with the head of the last
status report (up to seconds older). `/v1/stats/gateway` paired them the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from support.chain import Anvil
from support.gateway import Gateway, GatewayProcess
from support.progress import wait_for
from support.rpc_proxy import MiningProxy

BLOCKS_WATCHED = 30  # blocks mined by the proxy while the figures are sampled


def _sample(base_url: str, headers: dict[str, str], samples: list[dict[str, Any]]) -> None:
    health = httpx.get(f"{base_url}/v1/health", headers=headers, timeout=30).json()
    stats = httpx.get(f"{base_url}/v1/stats/gateway", headers=headers, timeout=30).json()
    samples.append(
        {
            "health_index": health["index_block"],
            "health_head": health["chain"]["head"],
            "lag_blocks": health["indexer"]["lag_blocks"],
            "stats_index": stats["index_block"],
            "stats_head": stats["chain_head"],
            "stats_lag": stats["index_lag_blocks"],
        }
    )


def _watch(
    proxy: MiningProxy, base_url: str, headers: dict[str, str], alive: Any = lambda: True
) -> list[dict[str, Any]]:
    """Samples health and stats while the proxy mines `BLOCKS_WATCHED` blocks."""
    samples: list[dict[str, Any]] = []
    start = proxy.mined
    proxy.arm()
    try:
        wait_for(
            lambda: _sample(base_url, headers, samples) or proxy.mined - start >= BLOCKS_WATCHED,
            what=f"{BLOCKS_WATCHED} blocks mined while the indexer reads the head",
            alive=alive,
            progress=lambda: len(samples),
            poll_s=0.02,
        )
    finally:
        proxy.disarm()
    return samples


def _inconsistent(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        s
        for s in samples
        if s["lag_blocks"] is None
        or s["lag_blocks"] < 0
        or s["health_index"] > s["health_head"]
        or s["lag_blocks"] != s["health_head"] - s["health_index"]
        or s["stats_index"] > s["stats_head"]
        or s["stats_lag"] != s["stats_head"] - s["stats_index"]
    ]


def test_the_index_lag_of_the_indexing_process_is_never_negative(
    own_chain: tuple[Anvil, Path], own_env: dict[str, str]
) -> None:
    anvil, _ = own_chain
    with MiningProxy(anvil.url) as proxy:
        env = {**own_env, "LEDGER_RPC_URL": proxy.url, "LEDGER_INDEX_IDLE_POLL_S": "0.2"}
        with Gateway(env) as gateway:
            samples = _watch(proxy, gateway.base_url, gateway.admin_headers)
    assert len(samples) >= 5, samples
    assert _inconsistent(samples) == [], _inconsistent(samples)[:3]


@pytest.mark.slow
def test_the_index_lag_beside_a_sender_process_is_never_negative(
    own_chain: tuple[Anvil, Path], own_env: dict[str, str], tmp_path: Path
) -> None:
    anvil, _ = own_chain
    with MiningProxy(anvil.url) as proxy:
        env = {
            **own_env,
            "LEDGER_RPC_URL": proxy.url,
            "LEDGER_INDEX_IDLE_POLL_S": "0.2",
            "LEDGER_SENDER_PROCESS": "true",
        }
        gateway = GatewayProcess(env, tmp_path / "gateway.log").start()
        process = gateway.process
        assert process is not None
        try:
            wait_for(
                lambda: (gateway.health() or {}).get("status") == "ok",
                what="ledger work reporting healthy",
                alive=lambda: process.poll() is None,
                progress=gateway.progress,
            )
            samples = _watch(
                proxy, gateway.base_url, gateway.admin_headers, lambda: process.poll() is None
            )
        finally:
            gateway.stop()
    assert len(samples) >= 5, samples
    assert _inconsistent(samples) == [], _inconsistent(samples)[:3]
