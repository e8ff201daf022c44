"""SIGKILL the gateway while reversals of returned orders (`POST /v1/earn/reversals`) are in
flight (issue 11): restarted, it reverses each order exactly once.

Clients send each reversal until it is answered (the same Idempotency-Key after a restart),
then once more, which must replay the first answer. On chain, each reversal's op id shows in
exactly one `PointsReversed`, the brand's reversed total is what the reversals asked for, and
the gateway's liability read agrees with the identity issued = redeemed + expired + reversed +
outstanding.
"""

from __future__ import annotations

import concurrent.futures
import json
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.chain import deploy, earned_topic, start_anvil
from support.gateway import GatewayProcess, Member, gateway_env

pytestmark = pytest.mark.slow

ORDERS = 36
CLIENTS = 3


@dataclass
class Reversal:
    key: str
    body: dict[str, Any]
    points: int  # what it must take: the order's points, or its share of them
    answer: dict[str, Any] | None = None


def fire(base_url: str, api_key: str, reversals: list[Reversal], stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        for reversal in reversals:
            if stop.is_set():
                return
            if reversal.answer is not None:
                continue
            try:
                response = client.post(
                    "/v1/earn/reversals",
                    json=reversal.body,
                    headers={"Idempotency-Key": reversal.key},
                )
            except httpx.HTTPError:
                continue  # no answer: sent again with the same key after the restart
            assert response.status_code == 202, response.text
            reversal.answer = response.json()


def run_round(
    gateway: GatewayProcess, api_key: str, reversals: list[Reversal], kill_after: int | None
) -> None:
    stop = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        futures = [
            pool.submit(fire, gateway.base_url, api_key, reversals[i::CLIENTS], stop)
            for i in range(CLIENTS)
        ]
        if kill_after is not None:
            while sum(r.answer is not None for r in reversals) < kill_after:
                if all(f.done() for f in futures):
                    break
                time.sleep(0.005)
            gateway.kill()
            stop.set()
        for future in futures:
            future.result()


def test_sigkill_during_reversals_reverses_each_order_exactly_once(tmp_path: Path) -> None:
    anvil = start_anvil()
    manifest = tmp_path / "deployment.json"
    deploy(anvil, manifest)
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
        LEDGER_SQLITE_SYNCHRONOUS="FULL",
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
                json={"name": "Returns Crash", "symbol": "RET"},
                params={"wait": "true"},
                headers={"Idempotency-Key": "returns-crash-brand"},
            ).json()
        api_key, brand_id = created["api_key"], created["brand"]["brand_id"]
        members = [Member().address for _ in range(6)]
        orders = [
            {
                "type": "purchase",
                "key": f"buy-{i}",
                "member": members[i % len(members)],
                "amount_cents": 1_000 + 137 * i,
                "order_ref": f"crash-order-{i}",
            }
            for i in range(ORDERS)
        ]
        with httpx.Client(
            base_url=gateway.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=120
        ) as client:
            bought = client.post(
                "/v1/earn/batch",
                json={"items": orders},
                headers={"Idempotency-Key": "returns-crash-buy", "Prefer": "wait=60"},
            )
            assert bought.status_code == 200, bought.text
            assert {item["status"] for item in bought.json()["items"]} == {"confirmed"}

        reversals = []
        for i, order in enumerate(orders):
            points = order["amount_cents"] // 10  # the default rule: 10 points per USD
            body: dict[str, Any] = {"order_ref": order["order_ref"]}
            if i % 2:  # a partial return: its share of the points, rounded down
                body["amount_cents"] = order["amount_cents"] // 3
                points = points * body["amount_cents"] // order["amount_cents"]
            reversals.append(Reversal(str(uuid.uuid4()), body, points))

        run_round(gateway, api_key, reversals, kill_after=ORDERS // 3)
        gateway = GatewayProcess(env, tmp_path / "gateway.log", port=gateway.port).start()
        run_round(gateway, api_key, reversals, kill_after=2 * ORDERS // 3)
        gateway = GatewayProcess(env, tmp_path / "gateway.log", port=gateway.port).start()
        run_round(gateway, api_key, reversals, None)
        assert all(r.answer is not None for r in reversals)

        with httpx.Client(
            base_url=gateway.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=120
        ) as client:
            finals: dict[str, dict[str, Any]] = {}
            for reversal in reversals:
                assert reversal.answer is not None
                again = client.post(
                    "/v1/earn/reversals",
                    json=reversal.body,
                    headers={"Idempotency-Key": reversal.key},
                )
                assert again.json()["operation_id"] == reversal.answer["operation_id"]
                deadline = time.monotonic() + 120
                while True:
                    status = client.get(
                        f"/v1/operations/{reversal.answer['operation_id']}",
                        params={"wait": "true"},
                    ).json()
                    if status["status"] in ("confirmed", "failed") and status["indexed"]:
                        break
                    assert time.monotonic() < deadline, status
                assert status["status"] == "confirmed", status
                finals[reversal.key] = status

            w3 = anvil.web3()
            ledger = w3.to_checksum_address(
                json.loads(manifest.read_text())["contracts"]["AllianceLedger"]["address"]
            )
            logs = w3.eth.get_logs(
                {
                    "address": ledger,
                    "fromBlock": 0,
                    "toBlock": "latest",
                    "topics": [
                        earned_topic(manifest, "PointsReversed"),  # the deployed ABI's
                        "0x" + brand_id.to_bytes(32, "big").hex(),
                    ],
                }
            )
            applied = Counter(int.from_bytes(bytes(log["topics"][3]), "big") for log in logs)
            assert set(applied) == {s["op_id"] for s in finals.values()}
            assert max(applied.values()) == 1 and len(applied) == ORDERS
            taken = {
                int.from_bytes(bytes(log["topics"][3]), "big"): int.from_bytes(
                    bytes(log["data"])[:32], "big"
                )
                for log in logs
            }
            by_key = {r.key: r.points for r in reversals}
            assert {finals[k]["op_id"]: p for k, p in by_key.items()} == taken

            issued = sum(order["amount_cents"] // 10 for order in orders)
            reversed_ = sum(by_key.values())
            account = client.get(f"/v1/brands/{brand_id}/liability").json()
            assert (account["issued"], account["redeemed"], account["expired"]) == (issued, 0, 0)
            assert account["reversed"] == reversed_
            assert account["outstanding"] == account["pending"] == issued - reversed_
    finally:
        gateway.stop()
        anvil.stop()
