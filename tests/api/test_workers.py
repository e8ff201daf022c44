"""Several HTTP worker processes: one sends and indexes, every one accepts and answers."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from support.chain import free_port
from support.gateway import GatewayProcess, Member

pytestmark = pytest.mark.slow


def test_two_worker_processes_share_the_database_and_the_sender(
    env: dict[str, str], tmp_path: Path
) -> None:
    gateway = GatewayProcess(
        {**env, "LEDGER_WORKERS": "2"}, free_port(), tmp_path / "gateway.log"
    ).start()
    try:
        admin = {"Authorization": f"Bearer {env['LEDGER_ADMIN_API_KEY']}"}
        with httpx.Client(base_url=gateway.base_url, timeout=60) as client:
            created = client.post(
                "/v1/admin/brands",
                json={"name": "Workers", "symbol": "WRK"},
                params={"wait": "true"},
                headers={**admin, "Idempotency-Key": "workers-brand"},
            ).json()
            assert created["brand"]["status"] == "active", created
            brand = {"Authorization": f"Bearer {created['api_key']}"}
            finals = [
                client.post(
                    "/v1/earn/purchase",
                    json={"member": Member().address, "amount_cents": 500, "order_ref": "w"},
                    params={"wait": "true"},
                    headers={**brand, "Idempotency-Key": str(uuid.uuid4())},
                ).json()
                for _ in range(12)
            ]
            # a fresh connection each time, so that both processes get some
            roles = {httpx.get(f"{gateway.base_url}/v1/health").json()["role"] for _ in range(40)}
        assert {f["status"] for f in finals} == {"confirmed"}
        assert all(f["indexed"] for f in finals)
        assert roles == {"sender", "api"}
    finally:
        gateway.stop()
