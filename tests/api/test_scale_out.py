"""THE scale-out test: three `ledger serve` processes on one PostgreSQL database and one chain.

Earns, gifts and cross-brand redemptions go to all three processes; one process is SIGKILLed
mid-run and restarted. A client that gets no answer sends the same request (same
Idempotency-Key) to another process. At the end every accepted operation was applied exactly
once, no signer has a nonce gap, and every process's index agrees with the chain.
"""

from __future__ import annotations

import concurrent.futures
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from support.chain import Anvil, deploy, earned_logs, start_anvil
from support.gateway import Member, ServingGatewayProcess, gateway_env
from support.progress import wait_for

from ledger_api.background.sender.ownership import SIGNER_SPACE

pytestmark = pytest.mark.slow

PROCESSES = 3
BRANDS = 4
MEMBERS = 24
CLIENTS = 8
EARN_CENTS, GIFT, REDEEM = 10_000, 300, 200  # 1000 points earned at 10 points per USD


@dataclass
class Client:
    """Sends each request to its preferred process, else to the next one, with the same
    Idempotency-Key (a request that got no answer may have been accepted)."""

    gateways: list[ServingGatewayProcess]
    accepted: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(
        self,
        method: str,
        path: str,
        key: str,
        prefer: int,
        body: Any = None,
        *,
        idem: str | None = None,
        wait: bool = False,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {key}"}
        if idem is not None:
            headers["Idempotency-Key"] = idem
        params = {"wait": "true"} if wait else {}
        started = time.monotonic()
        attempt = 0
        while True:
            index = (prefer + attempt) % len(self.gateways)
            attempt += 1
            try:
                response = httpx.request(
                    method,
                    f"{self.gateways[index].base_url}{path}",
                    json=body,
                    params=params,
                    headers=headers,
                    timeout=60,
                )
            except httpx.HTTPError:
                assert time.monotonic() - started < 600, f"no process answered {path}"
                time.sleep(0.1)
                continue
            assert response.status_code in (200, 202), (path, response.text)
            answer: dict[str, Any] = response.json()
            if idem is not None:
                with self.lock:
                    self.accepted[index] += 1
            return answer

    def final(self, key: str, prefer: int, answer: dict[str, Any]) -> dict[str, Any]:
        """The operation once confirmed (or failed) and indexed, asked of any process."""
        while not (answer["status"] in ("confirmed", "failed") and answer.get("indexed")):
            answer = self.call(
                "GET", f"/v1/operations/{answer['operation_id']}", key, prefer, wait=True
            )
        return answer


@dataclass
class Story:
    """One member: earns at `brand`, gifts some to `friend`, redeems some at `shop`."""

    member: Member
    friend: str
    brand: int  # index into the brands
    shop: int
    finals: dict[str, dict[str, Any]] = field(default_factory=dict)


def play(client: Client, brands: list[dict[str, Any]], story: Story, n: int) -> None:
    brand, shop = brands[story.brand], brands[story.shop]
    key, prefer = brand["api_key"], n % PROCESSES
    earn = {"member": story.member.address, "amount_cents": EARN_CENTS, "order_ref": f"o-{n}"}
    answer = client.call("POST", "/v1/earn/purchase", key, prefer, earn, idem=f"e-{n}", wait=True)
    story.finals["earn"] = client.final(key, prefer, answer)

    prefer = (n + 1) % PROCESSES
    gift_request = {"member": story.member.address, "to": story.friend, "amount": GIFT}
    prepared = client.call("POST", "/v1/gifts/typed-data", key, prefer, gift_request)
    gift = {
        **gift_request,
        "nonce": prepared["nonce"],
        "deadline": prepared["deadline"],
        "signature": story.member.sign(prepared["typed_data"]),
    }
    answer = client.call("POST", "/v1/gifts", key, prefer, gift, idem=f"g-{n}", wait=True)
    story.finals["gift"] = client.final(key, prefer, answer)

    prefer = (n + 2) % PROCESSES
    redeem_request = {
        "member": story.member.address,
        "brand": brand["brand_id"],
        "amount": REDEEM,
        "order_ref": f"r-{n}",
    }
    prepared = client.call(
        "POST", "/v1/redemptions/typed-data", shop["api_key"], prefer, redeem_request
    )
    redemption = {
        **redeem_request,
        "nonce": prepared["nonce"],
        "deadline": prepared["deadline"],
        "signature": story.member.sign(prepared["typed_data"]),
    }
    answer = client.call(
        "POST", "/v1/redemptions", shop["api_key"], prefer, redemption, idem=f"r-{n}", wait=True
    )
    story.finals["redeem"] = client.final(shop["api_key"], prefer, answer)


def signer_locks(database_url: str) -> Counter[int]:
    """How many signer locks each database session (backend pid) holds."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = :space"
                " AND objsubid = 2 AND granted"
            ),
            {"space": SIGNER_SPACE},
        ).all()
    engine.dispose()
    return Counter(int(row.pid) for row in rows)


def owned(gateway: ServingGatewayProcess) -> int:
    health = gateway.health() or {}
    return len(health.get("sender") or [])


def test_three_processes_share_the_signers_survive_a_kill_and_apply_everything_once(
    postgres_url: str, tmp_path: Path
) -> None:
    anvil: Anvil = start_anvil()
    manifest = tmp_path / "deployment.json"
    deploy(anvil, manifest)
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=postgres_url,
        admin_api_key="admin-" + secrets.token_urlsafe(24),
        LEDGER_SIGNER_CLAIM_S="0.5",
    )
    gateways: list[ServingGatewayProcess] = []
    try:
        for number in range(PROCESSES):  # one after the other: the first one migrates
            gateways.append(ServingGatewayProcess(env, tmp_path / f"gateway-{number}.log").start())
        admin_key = env["LEDGER_ADMIN_API_KEY"]
        client = Client(gateways)
        brands = []
        for number in range(BRANDS):
            created = client.call(
                "POST",
                "/v1/admin/brands",
                admin_key,
                number,
                {"name": f"Scale {number}", "symbol": f"SC{number}"},
                idem=f"brand-{number}",
                wait=True,
            )
            assert created["brand"]["status"] == "active", created
            window = client.call(  # purchases live at once: the load gives and redeems them
                "PUT",
                f"/v1/admin/brands/{created['brand']['brand_id']}/return-window",
                admin_key,
                number,
                {"days": 0},
                idem=f"window-{number}",
                wait=True,
            )
            assert window["status"] == "confirmed", window
            brands.append(
                {
                    "brand_id": created["brand"]["brand_id"],
                    "api_key": created["api_key"],
                    "signer": created["brand"]["signer"],
                }
            )
        signers = BRANDS + 1  # and the admin's
        # every process takes its share of the signers
        wait_for(
            lambda: (
                all(owned(g) >= 1 for g in gateways)
                and sum(signer_locks(postgres_url).values()) == signers
            ),
            what="the signers shared out",
        )
        shares = [owned(g) for g in gateways]
        print(f"signers per process: {shares}")

        stories = [
            Story(Member(), Member().address, n % BRANDS, (n + 1) % BRANDS) for n in range(MEMBERS)
        ]
        victim = gateways[1]
        failover: dict[str, float] = {}

        def kill_midway() -> None:
            wait_for(
                lambda: sum(client.accepted.values()) >= MEMBERS,
                what="a third of the load",
                progress=lambda: sum(client.accepted.values()),
            )
            held_before = owned(victim)
            before = set(signer_locks(postgres_url))
            killed_at = time.monotonic()
            victim.kill()

            def taken_over() -> bool:
                holders = signer_locks(postgres_url)
                return sum(holders.values()) == signers and not before <= set(holders)

            wait_for(taken_over, what="the signers taken over", poll_s=0.02)
            failover["seconds"] = time.monotonic() - killed_at
            failover["signers"] = held_before
            victim.start()

        with concurrent.futures.ThreadPoolExecutor(CLIENTS + 1) as pool:
            killer = pool.submit(kill_midway)
            plays = [pool.submit(play, client, brands, s, n) for n, s in enumerate(stories)]
            for future in plays:
                future.result()
            killer.result()
        print(
            f"failover: {failover['signers']} signers moved in {failover['seconds']:.2f} s;"
            f" accepted per process: {dict(sorted(client.accepted.items()))}"
        )

        check_applied_once(anvil, manifest, brands, stories)
        check_indexes(anvil, gateways, brands, stories)
        check_nonces(anvil, postgres_url)
    finally:
        for gateway in gateways:
            gateway.stop()
        anvil.stop()


def expected_balances(
    brands: list[dict[str, Any]], stories: list[Story]
) -> dict[str, tuple[dict[str, Any], int]]:
    """Per address: its brand and the points it must hold there."""
    expected: dict[str, tuple[dict[str, Any], int]] = {}
    for story in stories:
        brand = brands[story.brand]
        expected[story.member.address] = (brand, EARN_CENTS // 10 - GIFT - REDEEM)
        expected[story.friend] = (brand, GIFT)
    return expected


def check_applied_once(
    anvil: Anvil, manifest: Path, brands: list[dict[str, Any]], stories: list[Story]
) -> None:
    """Every accepted operation confirmed, and applied on chain once."""
    finals = [f for s in stories for f in s.finals.values()]
    assert len(finals) == 3 * MEMBERS
    assert {f["status"] for f in finals} == {"confirmed"}, [
        f for f in finals if f["status"] != "confirmed"
    ]
    assert len({f["operation_id"] for f in finals}) == len(finals)

    w3 = anvil.web3()
    document = json.loads(manifest.read_text())
    ledger_address = w3.to_checksum_address(document["contracts"]["AllianceLedger"]["address"])
    earned = Counter(earned_logs(w3, manifest))
    ours = [(brands[s.brand]["brand_id"], s.finals["earn"]["op_id"]) for s in stories]
    assert len(set(ours)) == len(ours)
    assert all(earned[key] == 1 for key in ours), earned
    assert max(earned.values()) == 1

    # Balances on chain: an earn, a gift or a redemption applied twice would show.
    ledger = w3.eth.contract(
        address=ledger_address,
        abi=[
            {
                "type": "function",
                "name": "balanceOf",
                "stateMutability": "view",
                "inputs": [{"name": "o", "type": "address"}, {"name": "i", "type": "uint256"}],
                "outputs": [{"name": "", "type": "uint256"}],
            }
        ],
    )
    for address, (brand, points) in expected_balances(brands, stories).items():
        assert ledger.functions.balanceOf(address, brand["brand_id"]).call() == points


def check_indexes(
    anvil: Anvil,
    gateways: list[ServingGatewayProcess],
    brands: list[dict[str, Any]],
    stories: list[Story],
) -> None:
    """Every process's index reaches the chain's head and shows the chain's balances."""
    head = anvil.web3().eth.block_number
    for gateway in gateways:
        wait_for(
            lambda g=gateway: (g.health() or {}).get("index_block", -1) >= head,
            what="the index at the chain's head",
        )
        for address, (brand, points) in expected_balances(brands, stories).items():
            view = httpx.get(
                f"{gateway.base_url}/v1/members/{address}",
                headers={"Authorization": f"Bearer {brand['api_key']}"},
                timeout=30,
            ).json()
            assert [(b["brand_id"], b["balance"]) for b in view["balances"]] == [
                (brand["brand_id"], points)
            ], (gateway.base_url, address, view)


def check_nonces(anvil: Anvil, postgres_url: str) -> None:
    """No nonce gap for any signer: the chain used exactly the nonces the database gave."""
    w3 = anvil.web3()
    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT address, next_nonce FROM signers")).all()
        unsettled = connection.execute(
            text("SELECT count(*) FROM tx_slots WHERE status NOT IN ('confirmed', 'superseded')")
        ).scalar()
        per_signer = connection.execute(
            text(
                "SELECT s.address, count(*) FROM tx_slots t JOIN signers s"
                " ON s.id = t.signer_id WHERE t.status = 'confirmed' GROUP BY s.address"
            )
        ).all()
    engine.dispose()
    assert unsettled == 0
    for address, next_nonce in rows:
        latest = w3.eth.get_transaction_count(address, "latest")
        assert w3.eth.get_transaction_count(address, "pending") == latest, address
        assert next_nonce == latest, address
    print(f"transactions per signer: {dict(per_signer)}")
