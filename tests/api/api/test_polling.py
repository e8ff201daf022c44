"""Following an operation by plain GETs sees it indexed (issue 9, item 6)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.chain import Anvil
from support.gateway import GatewayProcess, Member, gateway_env


@pytest.fixture
def served(anvil: Anvil, manifest: Path, tmp_path: Path) -> Iterator[GatewayProcess]:
    """`ledger serve` with the sender and indexer in `ledger work` (as `make run` runs it)."""
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
        LEDGER_SENDER_PROCESS="true",
    )
    gateway = GatewayProcess(env, tmp_path / "gateway.log").start()
    yield gateway
    gateway.stop()


def test_plain_polling_sees_a_confirmed_operation_indexed(
    served: GatewayProcess, closing: Callable[[httpx.Client], httpx.Client]
) -> None:
    admin = closing(
        httpx.Client(
            base_url=served.base_url,
            headers={"Authorization": f"Bearer {served.env['LEDGER_ADMIN_API_KEY']}"},
            timeout=60,
        )
    )
    created = admin.post(
        "/v1/admin/brands",
        json={"name": f"Poll {secrets.token_hex(3)}", "symbol": "PLL"},
        headers={"Idempotency-Key": secrets.token_hex(8)},
        params={"wait": "true"},
    )
    assert created.status_code == 200, created.text
    brand = closing(
        httpx.Client(
            base_url=served.base_url,
            headers={"Authorization": f"Bearer {created.json()['api_key']}"},
            timeout=60,
        )
    )
    accepted = brand.post(
        "/v1/earn/purchase",
        json={"member": Member().address, "amount_cents": 1_000, "order_ref": "poll-1"},
        headers={"Idempotency-Key": secrets.token_hex(8)},
    )
    assert accepted.status_code == 202, accepted.text
    uid = accepted.json()["operation_id"]
    # Condition-based: wait until the index (as health reports it) is past the operation's
    # block, then every plain GET must say indexed.
    body: dict[str, Any] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = brand.get(f"/v1/operations/{uid}").json()
        if body["status"] == "confirmed":
            health = httpx.get(
                f"{served.base_url}/v1/health", headers=served.admin_headers, timeout=30
            ).json()
            if health["index_block"] >= body["block_number"]:
                break
        time.sleep(0.1)
    else:
        raise AssertionError(f"never confirmed and indexed: {body}")
    again = brand.get(f"/v1/operations/{uid}").json()
    assert again["indexed"] is True, again
