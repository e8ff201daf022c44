"""Two gateway processes on one PostgreSQL database deliver each event once (issue 12).

Both `ledger serve` processes take requests; only the one holding the sender lock indexes
and delivers webhooks. Events are produced while both run (the receiver takes them), then
while the receiver is down (attempts fail and wait for their retries); the lock holder is
SIGKILLed with those deliveries pending, the receiver comes back, and the survivor takes
the lock over and delivers the rest. Every event of the feed reaches the receiver, each
event id once (verified with the standardwebhooks library).
"""

from __future__ import annotations

import secrets
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from support.chain import deploy, start_anvil
from support.gateway import GatewayProcess, Member, ServingGatewayProcess, gateway_env
from support.progress import wait_for
from support.receiver import Receiver

pytestmark = pytest.mark.slow

FAST = {
    "LEDGER_WEBHOOK_POLL_S": "0.05",
    "LEDGER_WEBHOOK_RETRY_SCHEDULE_S": "[0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]",
    "LEDGER_WEBHOOK_RETRY_JITTER": "0",
    "LEDGER_WEBHOOK_TIMEOUT_S": "0.5",
    "LEDGER_WEBHOOK_LEASE_S": "2",  # a dead process's claimed deliveries come back after it
    "LEDGER_SIGNER_CLAIM_S": "0.5",
}


class PgGateway(ServingGatewayProcess):
    def holds_sender_lock(self) -> bool:
        return (self.health() or {}).get("role") == "sender"


def _client(gateway: GatewayProcess, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=gateway.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60
    )


def _earn(gateway: GatewayProcess, key: str, n: int) -> None:
    with _client(gateway, key) as brand:
        answer = brand.post(
            "/v1/earn/purchase",
            json={"member": Member().address, "amount_cents": 100 + n, "order_ref": f"o{n}"},
            params={"wait": "true"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        ).json()
    assert answer["status"] == "confirmed", answer


def _feed(gateway: GatewayProcess, admin_key: str) -> set[str]:
    with _client(gateway, admin_key) as admin:
        events = admin.get("/v1/events", params={"limit": 500}).json()["events"]
    return {e["id"] for e in events}


def test_two_processes_on_postgresql_deliver_each_event_once_across_a_sigkill(
    postgres_url: str, tmp_path: Path
) -> None:
    anvil = start_anvil()
    manifest = tmp_path / "deployment.json"
    deploy(anvil, manifest)
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=postgres_url,
        admin_api_key="admin-" + secrets.token_urlsafe(24),
        **FAST,
    )
    admin_key = env["LEDGER_ADMIN_API_KEY"]
    gateways: list[PgGateway] = []
    try:
        with Receiver() as receiver:
            for number in range(2):  # one after the other: the first one migrates
                log = tmp_path / f"gateway-{number}.log"
                gateways.append(PgGateway(env, log).start())
            with _client(gateways[0], admin_key) as admin:
                secret = admin.post(
                    "/v1/webhooks",
                    json={"url": receiver.url},
                    headers={"Idempotency-Key": "hook"},
                ).json()["secret"]
            with _client(gateways[1], admin_key) as admin:
                created = admin.post(
                    "/v1/admin/brands",
                    json={"name": "Hook Brand", "symbol": "HOOK"},
                    params={"wait": "true"},
                    headers={"Idempotency-Key": "hook-brand"},
                ).json()
            assert created["brand"]["status"] == "active", created
            key = created["api_key"]

            # both processes up, the receiver up: delivered by one of them, once
            for n in range(2):
                _earn(gateways[n % 2], key, n)
            delivered = _feed(gateways[0], admin_key)
            wait_for(
                lambda: {e["id"] for e in receiver.events(secret)} >= delivered,
                what="the first events delivered",
                progress=lambda: len(receiver.received),
            )

            # the receiver down: the next events' deliveries fail and wait for a retry
            receiver.down = True
            failed_before = len(receiver.received) - len(receiver.accepted)
            for n in range(2, 4):
                _earn(gateways[n % 2], key, n)
            wait_for(
                lambda: len(receiver.received) - len(receiver.accepted) >= failed_before + 2,
                what="failed attempts while the receiver is down",
            )
            holder = next(g for g in gateways if g.holds_sender_lock())
            survivor = next(g for g in gateways if g is not holder)
            holder.kill()  # SIGKILL, with deliveries pending (and maybe leased)
            wait_for(survivor.holds_sender_lock, what="the survivor taking the sender lock")
            # a request the dead process sent before it died is answered 503 before the
            # receiver comes back (none is left in flight)
            wait_for(lambda: receiver.busy == 0, what="no request in flight", poll_s=0.01)
            receiver.down = False

            _earn(survivor, key, 4)  # and one more through the survivor
            expected = _feed(survivor, admin_key)
            assert len(expected) > len(delivered)
            wait_for(
                lambda: {e["id"] for e in receiver.events(secret)} >= expected,
                what="every event of the feed delivered",
                progress=lambda: len(receiver.received),
            )
            ids = Counter(e["id"] for e in receiver.events(secret))
            headers = Counter(r.headers["webhook-id"] for r in list(receiver.accepted))
    finally:
        for gateway in gateways:
            gateway.stop()
        anvil.stop()
    assert [i for i, n in ids.items() if n > 1] == []
    assert [i for i, n in headers.items() if n > 1] == []
    assert set(ids) >= expected
