"""SIGKILL the gateway while an auction's winning bids are being closed (issue 16): restarted,
it closes each winning bid exactly once.

Eight Silver members win the eight units of an auction, four with the auctioning brand's points
(one `auction_settle` each) and four with another brand's (`auction_redeem`, the auctioning
brand's consent, then `auction_settle`). Clients walk each bid through its steps, sending each
step until it is answered (the same Idempotency-Key after a restart) and following its
operation until it is final. On chain: one `BidSettled` per winner, one redemption per escrow,
one badge per winner, every escrow empty.
"""

from __future__ import annotations

import concurrent.futures
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.auctions import SILVER, contract
from support.chain import Anvil, deploy, start_anvil
from support.gateway import GatewayProcess, Member, gateway_env

pytestmark = pytest.mark.slow

WINNERS = 8
CLIENTS = 3


@dataclass
class Closing:
    """One winning bid's close: the steps' keys and operations, in order."""

    bidder: str
    keys: list[str] = field(default_factory=lambda: [str(uuid.uuid4())])
    operations: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False


def _final(client: httpx.Client, operation_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        body: dict[str, Any] = client.get(
            f"/v1/operations/{operation_id}", params={"wait": "true"}
        ).json()
        if body["status"] in ("confirmed", "failed") and body["indexed"]:
            return body
        assert time.monotonic() < deadline, body


def close_bids(base_url: str, api_key: str, auction_id: int, closings: list[Closing]) -> None:
    """Walks each bid through its steps until done or the gateway is gone."""
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        for closing in closings:
            while not closing.done:
                step = len(closing.operations)
                try:
                    if len(closing.keys) == step:  # the last step is final: its next one
                        closing.keys.append(str(uuid.uuid4()))
                    response = client.post(
                        f"/v1/auctions/{auction_id}/settlements",
                        json={"bidder": closing.bidder},
                        headers={"Idempotency-Key": closing.keys[step]},
                    )
                    assert response.status_code == 202, response.text
                    final = _final(client, response.json()["operation_id"])
                except httpx.HTTPError:
                    return  # no answer: the same key again after the restart
                assert final["status"] == "confirmed", final
                closing.operations.append(final)
                closing.done = final["kind"] == "auction_settle"


def run_round(
    gateway: GatewayProcess, api_key: str, auction_id: int, closings: list[Closing], kill_after: int
) -> None:
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        futures = [
            pool.submit(close_bids, gateway.base_url, api_key, auction_id, closings[i::CLIENTS])
            for i in range(CLIENTS)
        ]
        if kill_after:
            while sum(len(c.operations) for c in closings) < kill_after:
                if all(f.done() for f in futures):
                    break
                time.sleep(0.005)
            gateway.kill()
        for future in futures:
            future.result()


def _post(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = http.post(
        path, json=body, params={"wait": "true"}, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    assert result["status"] == "confirmed", result
    return result


def _prepare(anvil: Anvil, gateway: GatewayProcess, admin_key: str) -> tuple[str, int, list[str]]:
    """Two brands, eight Silver bidders holding every unit of a running auction, then its end."""
    w3 = anvil.web3()
    base = gateway.base_url
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin_key}"}) as admin:
        spend, orders, engagements = SILVER
        rule = {"spend_cents": spend, "orders": orders, "engagements": engagements}
        answer = admin.put(
            "/v1/admin/tiers/1",
            json=rule,
            params={"wait": "true"},
            headers={"Idempotency-Key": "auction-crash-tier"},
        )
        assert answer.status_code == 200 and answer.json()["status"] == "confirmed", answer.text
        brands = []
        for name in ("Auction Crash A", "Auction Crash B"):
            answer = admin.post(
                "/v1/admin/brands",
                json={"name": name, "symbol": "AUC"},
                params={"wait": "true"},
                headers={"Idempotency-Key": f"brand-{len(brands)}"},
            )
            assert answer.status_code == 200, answer.text
            created = answer.json()
            brands.append((created["api_key"], created["brand"]["brand_id"]))
            window = admin.put(
                f"/v1/admin/brands/{created['brand']['brand_id']}/return-window",
                json={"days": 0},
                params={"wait": "true"},
                headers={"Idempotency-Key": f"window-{len(brands)}"},
            )
            assert window.status_code == 200, window.text
    (key_a, _), (key_b, brand_b) = brands
    a = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key_a}"}, timeout=60)
    b = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key_b}"}, timeout=60)
    with a, b:
        members = [Member() for _ in range(WINNERS)]
        for i, member in enumerate(members):
            for cents in (spend - 100 * (orders - 1), *([100] * (orders - 1)), 20_000):
                body = {
                    "member": member.address,
                    "amount_cents": cents,
                    "order_ref": f"o-{i}-{cents}",
                }
                _post(a, "/v1/earn/purchase", body)
            for _ in range(engagements):
                _post(a, "/v1/earn/engagement", {"member": member.address, "kind": "review"})
            if i % 2:
                _post(b, "/v1/earn/purchase", {**body, "order_ref": f"b-{i}"})
        right = _post(
            a, "/v1/badges/types", {"kind": "collectible", "has_benefit": True, "uri": "ipfs://r"}
        )
        start = w3.eth.get_block("latest")["timestamp"] + 60  # START_MARGIN_S ahead
        terms = {
            "badge_type": right["result"]["type_id"],
            "units": WINNERS,
            "min_tier": 1,
            "reserve": 500,
            "increment": 50,
            "starts_at": start,
            "ends_at": start + 3_600,
            "extension_s": 0,
        }
        auction_id = _post(a, "/v1/auctions", terms)["result"]["auction_id"]
        anvil.rpc("evm_setNextBlockTimestamp", start)
        anvil.rpc("evm_mine")
        for i, member in enumerate(members):
            bid: dict[str, Any] = {"bidder": member.address, "amount": 600 + i}
            if i % 2:
                bid["brand"] = brand_b
            prepared = a.post(
                f"/v1/auctions/{auction_id}/bids/typed-data",
                json=bid,
                headers={"Idempotency-Key": str(uuid.uuid4())},
            ).json()
            signed = {
                **bid,
                "nonce": prepared["nonce"],
                "deadline": prepared["deadline"],
                "signature": member.sign(prepared["typed_data"]),
            }
            _post(a, f"/v1/auctions/{auction_id}/bids", signed)
    anvil.rpc("evm_setNextBlockTimestamp", start + 3_601)
    anvil.rpc("evm_mine")
    return key_a, auction_id, [m.address for m in members]


def test_sigkill_during_an_auctions_close_settles_each_winner_exactly_once(tmp_path: Path) -> None:
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
        api_key, auction_id, bidders = _prepare(anvil, gateway, env["LEDGER_ADMIN_API_KEY"])
        closings = [Closing(bidder) for bidder in bidders]
        run_round(gateway, api_key, auction_id, closings, kill_after=3)
        gateway = GatewayProcess(env, tmp_path / "gateway.log", port=gateway.port).start()
        run_round(gateway, api_key, auction_id, closings, kill_after=8)
        gateway = GatewayProcess(env, tmp_path / "gateway.log", port=gateway.port).start()
        run_round(gateway, api_key, auction_id, closings, kill_after=0)
        assert all(c.done for c in closings)
        kinds = Counter(tuple(op["kind"] for op in c.operations) for c in closings)
        assert kinds == {
            ("auction_settle",): WINNERS // 2,
            ("auction_redeem", "auction_settle"): WINNERS // 2,
        }

        w3 = anvil.web3()
        auctions = contract(w3, manifest, "AllianceAuctions")
        ledger = contract(w3, manifest, "AllianceLedger")
        badges = contract(w3, manifest, "AllianceBadges")
        settled = auctions.events.BidSettled().get_logs(from_block=0)
        assert Counter(log["args"]["bidder"] for log in settled) == Counter(bidders)
        escrows = {auctions.functions.escrowOf(auction_id, b).call(): b for b in bidders}
        redeemed = ledger.events.PointsRedeemed().get_logs(from_block=0)
        assert Counter(log["args"]["member"] for log in redeemed) == Counter(list(escrows))
        badge_type = settled[0]["args"]["badgeType"]
        for escrow, bidder in escrows.items():
            assert badges.functions.balanceOf(bidder, badge_type).call() == 1
            bid = auctions.functions.bidOf(auction_id, bidder).call()
            assert bid[1] == 2  # Settled
            assert ledger.functions.balanceOf(escrow, bid[0]).call() == 0
    finally:
        gateway.stop()
        anvil.stop()
