"""SIGKILL the gateway while bulk requests (`POST /v1/earn/batch`) are in flight.

Clients send each bulk request until it is answered (the same Idempotency-Key after a
restart); then every item is sent once more inside fresh requests with new request keys,
which must answer `duplicate` with the first operation id. On chain, each accepted op id
is earned exactly once and the balances equal what the items asked for.
"""

from __future__ import annotations

import concurrent.futures
import random
import secrets
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.chain import applied_op_ids, deploy, start_anvil
from support.gateway import GatewayProcess, Member, gateway_env

pytestmark = pytest.mark.slow

REQUESTS = 12
ITEMS = 100
CLIENTS = 3


@dataclass
class BulkRequest:
    key: str
    items: list[dict[str, Any]]
    answer: dict[str, Any] | None = None
    answers: list[dict[str, Any]] = field(default_factory=list)


def fire(base_url: str, api_key: str, requests: list[BulkRequest], stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        for request in requests:
            if stop.is_set():
                return
            if request.answer is not None:
                continue
            try:
                response = client.post(
                    "/v1/earn/batch",
                    json={"items": request.items},
                    headers={"Idempotency-Key": request.key},
                )
            except httpx.HTTPError:
                continue  # no answer: sent again with the same key after the restart
            assert response.status_code == 202, response.text
            request.answer = response.json()


def run_round(
    gateway: GatewayProcess, api_key: str, requests: list[BulkRequest], kill_after: int | None
) -> None:
    stop = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        futures = [
            pool.submit(fire, gateway.base_url, api_key, requests[i::CLIENTS], stop)
            for i in range(CLIENTS)
        ]
        if kill_after is not None:
            while sum(r.answer is not None for r in requests) < kill_after:
                time.sleep(0.005)
            gateway.kill()
            stop.set()
        for future in futures:
            future.result()


def test_sigkill_during_bulk_requests_applies_every_item_exactly_once(tmp_path: Path) -> None:
    anvil = start_anvil()
    manifest = tmp_path / "deployment.json"
    deploy(anvil, manifest)
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
        LEDGER_SQLITE_SYNCHRONOUS="FULL",
        LEDGER_BATCH_MAX_OPS="50",
    )
    gateway = GatewayProcess(env, tmp_path / "gateway.log").start()
    try:
        with httpx.Client(
            base_url=gateway.base_url,
            headers={"Authorization": f"Bearer {env['LEDGER_ADMIN_API_KEY']}"},
            timeout=60,
        ) as admin:
            created = admin.post(
                "/v1/admin/brands",
                json={"name": "Bulk Crash", "symbol": "BULK"},
                params={"wait": "true"},
                headers={"Idempotency-Key": "bulk-crash-brand"},
            ).json()
        api_key, brand_id = created["api_key"], created["brand"]["brand_id"]

        rng = random.Random(11)
        members = [Member().address for _ in range(30)]
        requests = [
            BulkRequest(
                str(uuid.uuid4()),
                [
                    {
                        "type": "purchase",
                        "key": f"item-{r}-{i}",
                        "member": rng.choice(members),
                        "amount_cents": rng.randrange(100, 50_000),
                        "order_ref": f"order-{r}-{i}",
                    }
                    for i in range(ITEMS)
                ],
            )
            for r in range(REQUESTS)
        ]
        run_round(gateway, api_key, requests, kill_after=REQUESTS // 3)
        gateway = GatewayProcess(env, tmp_path / "gateway.log", port=gateway.port).start()
        run_round(gateway, api_key, requests, kill_after=2 * REQUESTS // 3)
        gateway = GatewayProcess(env, tmp_path / "gateway.log", port=gateway.port).start()
        run_round(gateway, api_key, requests, None)
        assert all(r.answer is not None for r in requests)

        first: dict[str, str] = {}
        for request in requests:
            assert request.answer is not None
            assert request.answer["refused"] == 0, request.answer
            for item in request.answer["items"]:
                first[item["key"]] = item["operation_id"]
        assert len(first) == REQUESTS * ITEMS and len(set(first.values())) == REQUESTS * ITEMS

        # every item again, regrouped into new requests under new request keys
        everything = [item for request in requests for item in request.items]
        rng.shuffle(everything)
        with httpx.Client(
            base_url=gateway.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=120
        ) as client:
            for start in range(0, len(everything), 400):
                again = client.post(
                    "/v1/earn/batch",
                    json={"items": everything[start : start + 400]},
                    headers={"Idempotency-Key": str(uuid.uuid4()), "Prefer": "wait=30"},
                )
                assert again.status_code in (200, 202), again.text
                for item in again.json()["items"]:
                    assert item["result"] == "duplicate", item
                    assert item["operation_id"] == first[item["key"]]

            finals: dict[str, dict[str, Any]] = {}
            for key, operation_id in first.items():
                deadline = time.monotonic() + 120
                while True:
                    status = client.get(
                        f"/v1/operations/{operation_id}", params={"wait": "true"}
                    ).json()
                    if status["status"] in ("confirmed", "failed") and status["indexed"]:
                        break
                    assert time.monotonic() < deadline, status
                finals[key] = status
            assert {s["status"] for s in finals.values()} == {"confirmed"}
            op_ids = {s["op_id"] for s in finals.values()}
            assert len(op_ids) == REQUESTS * ITEMS

            w3 = anvil.web3()
            applied = applied_op_ids(w3, manifest, brand_id)
            assert set(applied) == op_ids
            assert max(applied.values()) == 1

            expected: dict[str, int] = defaultdict(int)
            for item in everything:
                expected[item["member"]] += item["amount_cents"] * 10 // 100
            for member, points in expected.items():
                view = client.get(f"/v1/members/{member}").json()
                # a new brand's purchases are pending for its 14-day return window (issue 11)
                assert [(b["brand_id"], b["balance"] + b["pending"]) for b in view["balances"]] == [
                    (brand_id, points)
                ]
    finally:
        gateway.stop()
        anvil.stop()
