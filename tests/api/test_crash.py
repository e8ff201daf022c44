"""THE crash test: SIGKILL the gateway while earns are in flight; every accepted one lands once.

Clients keep the exactly-once contract: a request that got no answer (the
process died under it) is sent again with the same Idempotency-Key once the
gateway is back. Then the chain's own events are counted per op id.
"""

from __future__ import annotations

import concurrent.futures
import json
import random
import secrets
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from support.chain import Anvil, applied_op_ids, deploy, start_anvil
from support.gateway import GatewayProcess, Member, gateway_env, live_purchases

pytestmark = pytest.mark.slow

OPERATIONS = 900
CLIENTS = 24
KILLS = 2


@dataclass
class Request:
    key: str
    member: str
    cents: int
    answer: dict[str, object] | None = None

    @property
    def body(self) -> dict[str, object]:
        return {"member": self.member, "amount_cents": self.cents, "order_ref": self.key}


def fire(base_url: str, api_key: str, requests: list[Request], stop: threading.Event) -> None:
    """Sends each request until it has an answer or the gateway is gone."""
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        for request in requests:
            if stop.is_set():
                return
            if request.answer is not None:
                continue
            try:
                response = client.post(
                    "/v1/earn/purchase", json=request.body, headers={"Idempotency-Key": request.key}
                )
            except httpx.HTTPError:
                continue  # no answer: unknown whether it was accepted; retried after restart
            assert response.status_code == 202, response.text
            request.answer = response.json()


def run_round(
    gateway: GatewayProcess, api_key: str, requests: list[Request], kill_after: int | None
) -> None:
    stop = threading.Event()
    slices = [requests[i::CLIENTS] for i in range(CLIENTS)]
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(fire, gateway.base_url, api_key, part, stop) for part in slices]
        if kill_after is not None:
            while sum(r.answer is not None for r in requests) < kill_after:
                time.sleep(0.005)
            gateway.kill()
            stop.set()
        for future in futures:
            future.result()
    if kill_after is not None:
        answered = sum(r.answer is not None for r in requests)
        print(f"killed with {answered} answered of {len(requests)}")


@pytest.fixture(params=["automine", "block-time-1s"])
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Anvil, Path]]:
    """Instant mining, or one block a second so that transactions wait in the mempool."""
    node = start_anvil(extra=[] if request.param == "automine" else ["--block-time", "1"])
    manifest = tmp_path / "deployment.json"
    deploy(node, manifest)
    yield node, manifest
    node.stop()


def open_slots(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT status, count(*) FROM tx_slots GROUP BY status")
        ).all()
    engine.dispose()
    return {str(status): int(count) for status, count in rows}


def test_sigkill_mid_flight_loses_nothing_and_applies_nothing_twice(
    chain: tuple[Anvil, Path], tmp_path: Path, closing: Callable[[httpx.Client], httpx.Client]
) -> None:
    anvil, manifest = chain
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
        LEDGER_SQLITE_SYNCHRONOUS="FULL",
        LEDGER_BATCH_MAX_OPS="50",
        LEDGER_POLL_INTERVAL_S="0.05",
    )
    gateway = GatewayProcess(env, tmp_path / "gateway.log").start()
    admin = closing(
        httpx.Client(
            base_url=gateway.base_url,
            headers={"Authorization": f"Bearer {env['LEDGER_ADMIN_API_KEY']}"},
            timeout=60,
        )
    )
    created = admin.post(
        "/v1/admin/brands",
        json={"name": "Crash Brand", "symbol": "CRSH"},
        params={"wait": "true"},
        headers={"Idempotency-Key": "crash-brand"},
    ).json()
    live_purchases(admin, env["LEDGER_ADMIN_API_KEY"], created["brand"]["brand_id"])
    admin.close()
    api_key, brand_id, signer = (
        created["api_key"],
        created["brand"]["brand_id"],
        created["brand"]["signer"],
    )

    rng = random.Random(7)
    members = [Member().address for _ in range(40)]
    requests = [
        Request(str(uuid.uuid4()), rng.choice(members), rng.randrange(100, 50_000))
        for _ in range(OPERATIONS)
    ]

    try:
        for round_number in range(KILLS):
            kill_after = sum(r.answer is not None for r in requests) + OPERATIONS // (KILLS + 2)
            run_round(gateway, api_key, requests, kill_after)
            print(
                f"round {round_number}: slots at the kill {open_slots(env['LEDGER_DATABASE_URL'])}"
            )
            gateway = GatewayProcess(env, tmp_path / "gateway.log", port=gateway.port).start()
        run_round(gateway, api_key, requests, None)  # the rest, and every unanswered one again
        assert all(r.answer is not None for r in requests)

        with httpx.Client(
            base_url=gateway.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60
        ) as client:
            finals = {}
            for request in requests:
                assert request.answer is not None
                operation_id = str(request.answer["operation_id"])
                deadline = time.monotonic() + 120
                while True:
                    status = client.get(
                        f"/v1/operations/{operation_id}", params={"wait": "true"}
                    ).json()
                    if status["status"] in ("confirmed", "failed") and status["indexed"]:
                        break
                    assert time.monotonic() < deadline, status
                finals[request.key] = status

            assert {s["status"] for s in finals.values()} == {"confirmed"}
            op_ids = [s["op_id"] for s in finals.values()]
            assert len(set(op_ids)) == OPERATIONS

            # The chain: one PointsEarned per accepted op id, and no other.
            w3 = anvil.web3()
            manifest = Path(env["LEDGER_MANIFEST"])
            applied = applied_op_ids(w3, manifest, brand_id)
            manifest_ledger = w3.to_checksum_address(
                json.loads(manifest.read_text())["contracts"]["AllianceLedger"]["address"]
            )
            assert set(applied) == set(op_ids)
            assert max(applied.values()) == 1

            # Balances on chain and in the index equal what was accepted, per member.
            expected: dict[str, int] = defaultdict(int)
            for request in requests:
                expected[request.member] += request.cents * 10 // 100
            ledger = w3.eth.contract(
                address=manifest_ledger,
                abi=[
                    {
                        "type": "function",
                        "name": "balanceOf",
                        "stateMutability": "view",
                        "inputs": [
                            {"name": "o", "type": "address"},
                            {"name": "i", "type": "uint256"},
                        ],
                        "outputs": [{"name": "", "type": "uint256"}],
                    }
                ],
            )
            for member, points in expected.items():
                assert ledger.functions.balanceOf(member, brand_id).call() == points
                view = client.get(f"/v1/members/{member}").json()
                assert [(b["brand_id"], b["balance"]) for b in view["balances"]] == [
                    (brand_id, points)
                ]

            # No nonce gap or drift: the chain used exactly the nonces the database allocated.
            latest = w3.eth.get_transaction_count(signer, "latest")
            pending = w3.eth.get_transaction_count(signer, "pending")
            assert latest == pending
            health = client.get("/v1/health", headers=gateway.admin_headers).json()
            assert health["status"] == "ok", health
        engine = create_engine(env["LEDGER_DATABASE_URL"])
        with engine.connect() as connection:
            next_nonce = connection.execute(
                text("SELECT next_nonce FROM signers WHERE address = :a"), {"a": signer}
            ).scalar()
            unsettled = connection.execute(
                text(
                    "SELECT count(*) FROM tx_slots WHERE status NOT IN ('confirmed', 'superseded')"
                )
            ).scalar()
        engine.dispose()
        assert next_nonce == latest
        assert unsettled == 0
    finally:
        gateway.stop()
