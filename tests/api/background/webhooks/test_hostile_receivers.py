"""Receivers that fight back (a review of 2026-12-06): each test failed before its fix.

- A receiver dripping its answer a byte every 0.2 s held a delivery thread for good (httpx's
  timeout bounds each read): 32 of them starved every other brand's webhooks. A delivery now
  ends by its deadline, `LEDGER_WEBHOOK_TIMEOUT_S` for the whole request.
- A 300 MB error body was read whole and decoded: the deliverer reads at most 2 KiB of it.
- DNS rebinding: the guard resolved a host name and checked it, the HTTP client resolved it
  again and connected to loopback. A connection now goes to an address that was checked.
- A NUL in a receiver's answer could not be stored in PostgreSQL's text: the attempt was
  never written and the delivery re-sent at each lease's end, for good.

Real anvil, real gateway, real receivers on sockets; PostgreSQL where a test says so.
"""

from __future__ import annotations

import resource
import socket
from typing import Any

import pytest
from support.gateway import Gateway
from support.progress import wait_for
from support.receiver import RawReceiver, Receiver, drip, hang, huge_error, nul_error

FAST = {
    "LEDGER_WEBHOOK_POLL_S": "0.05",
    "LEDGER_WEBHOOK_RETRY_SCHEDULE_S": ",".join(["0.2"] * 12),
    "LEDGER_WEBHOOK_RETRY_JITTER": "0",
    "LEDGER_REMINDER_POLL_S": "0.2",
}


def subscribe(api: Any, url: str) -> dict[str, Any]:
    response = api.post("/v1/webhooks", {"url": url, "event_types": []})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def deliveries(api: Any, endpoint_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/v1/webhooks/{endpoint_id}/deliveries")
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["deliveries"]
    return rows


def dead(api: Any, endpoint_id: str) -> dict[str, Any]:
    """The endpoint's one delivery once it is dead (waited for, as long as the machine needs)."""

    def done() -> dict[str, Any] | None:
        rows = deliveries(api, endpoint_id)
        return rows[0] if rows and rows[0]["status"] == "dead" else None

    return wait_for(done, what="the delivery dead", idle_s=120)


# ------------------------------------------------------------------ slow / huge receivers


def test_a_dripping_receiver_does_not_hold_another_brands_deliveries(
    env: dict[str, str],
) -> None:
    """docs/gateway.md: "a slow endpoint never holds the others' deliveries". A receiver that
    answers 200 and then sends its body a byte every 0.2 s never tripped httpx's per-read
    timeout, so each of its requests held a deliverer thread for good: brand A with 8 such
    endpoints (of the 20 it may hold) and 4 test events each took the default 32 workers (4
    per endpoint), and brand B's delivery never came. A request now ends by its deadline (1 s
    here), and B's delivery comes while A's receivers go on dripping."""
    quick = {**FAST, "LEDGER_WEBHOOK_TIMEOUT_S": "1"}
    with (
        Gateway({**env, **quick}) as gateway,
        RawReceiver(drip) as slow,
        Receiver() as honest,
    ):
        a, b = gateway.create_brand(), gateway.create_brand()
        for i in range(8):
            endpoint = subscribe(a.api, slow.url(f"/a{i}"))
            for _ in range(4):
                assert a.api.post(f"/v1/webhooks/{endpoint['id']}/test").status_code == 202
        # every worker has taken one of A's requests (before: each held it for good)
        wait_for(
            lambda: slow.requests >= 32, what="A's 32 requests", progress=lambda: slow.requests
        )
        mine = subscribe(b.api, honest.url)
        assert b.api.post(f"/v1/webhooks/{mine['id']}/test").status_code == 202
        wait_for(lambda: honest.accepted, what="brand B's delivery", idle_s=60)
        # not after A's deliveries died: they were still being tried
        assert any(row["status"] == "pending" for row in deliveries(a.api, endpoint["id"]))


def test_one_brands_slow_endpoints_never_hold_every_delivery_thread(
    env: dict[str, str],
) -> None:
    """A brand may hold 20 endpoints of 4 requests in flight each: 80, more than the 32
    workers. Pointed at receivers that answer nothing until their deadline, they held every
    worker for the whole of it, retry after retry, and every other brand's webhooks waited
    behind them (a review of 2026-12-06). An owner's endpoints now have at most
    `LEDGER_WEBHOOK_CONCURRENCY_PER_OWNER` requests in flight in all. Here 4 workers, 2 per
    endpoint and 2 per owner: brand A's two hanging endpoints take 2, and brand B's delivery
    comes while they still hang (before: all 4 were A's until their 10-minute deadline)."""
    limits = {
        **FAST,
        "LEDGER_WEBHOOK_TIMEOUT_S": "600",
        "LEDGER_WEBHOOK_WORKERS": "4",
        "LEDGER_WEBHOOK_CONCURRENCY_PER_ENDPOINT": "2",
        "LEDGER_WEBHOOK_CONCURRENCY_PER_OWNER": "2",
    }
    with (
        Gateway({**env, **limits}) as gateway,
        RawReceiver(hang) as slow,
        Receiver() as honest,
    ):
        a, b = gateway.create_brand(), gateway.create_brand()
        for i in range(2):
            endpoint = subscribe(a.api, slow.url(f"/a{i}"))
            for _ in range(2):
                assert a.api.post(f"/v1/webhooks/{endpoint['id']}/test").status_code == 202
        wait_for(lambda: slow.open >= 2, what="A's requests held", progress=lambda: slow.open)
        mine = subscribe(b.api, honest.url)
        assert b.api.post(f"/v1/webhooks/{mine['id']}/test").status_code == 202
        wait_for(lambda: honest.accepted, what="brand B's delivery", idle_s=60)
        assert slow.open == 2, slow.open  # A's two are still held: B's came beside them


def test_a_huge_error_body_is_not_read_into_memory(env: dict[str, str]) -> None:
    """A receiver answering 500 with a 300 MB body: the deliverer keeps at most 500 characters
    of it (`last_error`), so it reads a bounded prefix and drops the connection. It read the
    whole body into memory, then decoded it: the process's peak memory grew by about 1 GB per
    such request (32 at once: a receiver could take down the process that sends and
    indexes)."""
    quick = {**FAST, "LEDGER_WEBHOOK_RETRY_SCHEDULE_S": "[]"}
    with Gateway({**env, **quick}) as gateway, RawReceiver(huge_error) as huge:
        brand = gateway.create_brand()
        endpoint = subscribe(brand.api, huge.url())
        before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert brand.api.post(f"/v1/webhooks/{endpoint['id']}/test").status_code == 202
        assert dead(brand.api, endpoint["id"])["last_status_code"] == 500
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_kb) / 1024
        assert grown_mb < 64, f"peak memory grew by {grown_mb:.0f} MB for one failed attempt"


# ------------------------------------------------------------------ SSRF


def test_dns_rebinding_cannot_reach_a_loopback_receiver(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With loopback refused (production's default), a host name is "resolved and checked at
    creation and before every delivery" (docs/gateway.md). The check resolves the name, then
    httpx resolves it again to connect: a name whose DNS answer alternates (TTL 0: a public
    address, then 127.0.0.1; modelled here by the process's resolver) passes the check and
    the connection went to loopback: the receiver got the signed POST (and a non-2xx
    answer's body would have been shown to the brand in `last_error`). The request goes only
    to an address that was checked: the loopback receiver gets nothing, over attempts that
    met both answers."""
    real = socket.getaddrinfo
    calls = {"n": 0}

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.probe.test":
            return real(host, port, *args, **kwargs)
        calls["n"] += 1
        address = "93.184.215.14" if calls["n"] % 2 else "127.0.0.1"
        return real(address, port, *args, **kwargs)

    quick = {**FAST, "LEDGER_WEBHOOK_ALLOW_LOOPBACK": "false", "LEDGER_WEBHOOK_TIMEOUT_S": "1"}
    with Gateway({**env, **quick}) as gateway, Receiver() as inside:
        brand = gateway.create_brand()
        loopback = brand.api.post("/v1/webhooks", {"url": inside.url})
        assert loopback.status_code == 422  # refused as a literal address: the guard is on
        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        endpoint = subscribe(brand.api, f"http://rebind.probe.test:{inside.port}/hooks")
        assert brand.api.post(f"/v1/webhooks/{endpoint['id']}/test").status_code == 202

        def attempted_twice() -> bool:
            rows = deliveries(brand.api, endpoint["id"])
            return bool(rows) and rows[0]["attempts"] >= 2

        wait_for(attempted_twice, what="two attempts", idle_s=60)
        assert not inside.received, (
            f"a loopback receiver got {len(inside.received)} request(s) through a host name "
            f"that passed the check: {deliveries(brand.api, endpoint['id'])[:1]}"
        )


# ------------------------------------------------------------------ PostgreSQL


def test_a_receivers_nul_byte_is_a_recorded_failed_attempt_on_postgresql(
    pg_env: dict[str, str],
) -> None:
    """docs/gateway.md: anything but a 2xx "is retried on LEDGER_WEBHOOK_RETRY_SCHEDULE_S
    ..., then the delivery is `dead`". A receiver answering 500 with a NUL byte in its body:
    the attempt's `last_error` (the body's first 500 characters) cannot be stored in a
    PostgreSQL text column, `store.record` raised, and the attempt was never written: the
    delivery stayed `pending` with 0 attempts, was sent again at each lease's end for good,
    never dead-lettered and never disabling its endpoint. Now: a failed attempt, then dead
    after the one retry of the schedule."""
    quick = {
        **FAST,
        "LEDGER_WEBHOOK_RETRY_SCHEDULE_S": "0.1",
        "LEDGER_WEBHOOK_TIMEOUT_S": "0.5",
        "LEDGER_WEBHOOK_LEASE_S": "2",
    }
    with Gateway({**pg_env, **quick}) as gateway, RawReceiver(nul_error) as odd:
        brand = gateway.create_brand()
        endpoint = subscribe(brand.api, odd.url())
        assert brand.api.post(f"/v1/webhooks/{endpoint['id']}/test").status_code == 202
        row = dead(brand.api, endpoint["id"])
        assert (row["attempts"], row["last_error"]) == (2, "boom"), (odd.requests, row)
