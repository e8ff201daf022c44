"""`/v1/health`: liveness for anyone, each dependency for the admin, and what it sees.

Issue 9 item 3: during a filesystem freeze health said `ok` while every earn hung. Here the
database's write lock is held by another connection (what a frozen filesystem does to a
writer: it waits), and health must turn `failing` (503) instead of `ok`, without hanging.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from support.chain import Anvil
from support.gateway import Gateway, Member
from support.progress import wait_for
from support.proxy import Proxy


def eventually(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """Polls `check` until it returns something truthy (a condition, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
    return found


def anonymous_health(gateway: Gateway) -> httpx.Response:
    return httpx.get(f"{gateway.base_url}/v1/health", timeout=30)


def test_health_without_the_admin_key_answers_liveness_only(gateway: Gateway) -> None:
    brand = gateway.create_brand()
    anonymous = anonymous_health(gateway)
    assert anonymous.status_code == 200
    assert anonymous.json() == {"status": "ok"}  # no signer addresses, no internals
    assert brand.api.get("/v1/health").json() == {"status": "ok"}
    bad = httpx.get(
        f"{gateway.base_url}/v1/health", headers={"Authorization": "Bearer nope"}, timeout=30
    )
    assert bad.status_code == 401

    full = gateway.get_health()
    assert full["status"] == "ok", full
    assert full["database"]["status"] == "ok" and full["database"]["write_ms"] >= 0
    assert full["chain"]["status"] == "ok" and full["chain"]["head"] >= full["index_block"]
    assert full["indexer"]["running"] and full["indexer"]["lag_blocks"] >= 0
    # each signer's worker, by brand (signer addresses stay in the admin's brand list)
    assert full["sender"] and all("address" not in worker for worker in full["sender"])


def test_health_fails_while_the_database_takes_no_write_and_recovers(
    gateway: Gateway, env: dict[str, str]
) -> None:
    database = Path(env["LEDGER_DATABASE_URL"].removeprefix("sqlite:///"))
    blocker = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # holds the write lock, as a frozen disk would
        failing = eventually(
            lambda: (r := anonymous_health(gateway)).status_code == 503 and r,
            "health never noticed that the database takes no write",
        )
        assert failing.json() == {"status": "failing"}
        report = httpx.get(
            f"{gateway.base_url}/v1/health", headers=gateway.admin_headers, timeout=30
        )
        assert report.status_code == 503
        assert report.json()["database"]["status"] == "failing", report.json()
        assert report.json()["chain"]["status"] == "ok"  # each dependency on its own
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    eventually(
        lambda: anonymous_health(gateway).json() == {"status": "ok"},
        "health did not recover once the database took writes again",
    )


def test_while_the_chain_is_unreachable_health_and_202s_say_so(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, _ = own_chain
    proxy = Proxy(anvil.port)
    try:
        with Gateway({**own_env, "LEDGER_RPC_URL": proxy.url}) as gateway:
            brand = gateway.create_brand()
            member = Member().address

            def body(order: str) -> dict[str, object]:  # one order reference per purchase
                return {"member": member, "amount_cents": 1_000, "order_ref": order}

            answer = brand.api.post("/v1/earn/purchase", body("o-1"))
            assert answer.status_code == 202 and "queued_reason" not in answer.json()
            brand.api.wait(answer.json()["operation_id"])

            proxy.down()
            eventually(
                lambda: gateway.get_health()["chain"]["status"] == "unavailable",
                "health never said that the chain is unreachable",
            )
            assert anonymous_health(gateway).json() == {"status": "degraded"}
            queued = brand.api.post("/v1/earn/purchase", body("o-2"))
            assert queued.status_code == 202
            assert queued.json()["queued_reason"] == "chain_unavailable"
            assert queued.headers["Ledger-Queued-Reason"] == "chain_unavailable"

            proxy.up()
            final = brand.api.wait(queued.json()["operation_id"], timeout=60)
            assert final["status"] == "confirmed"
            eventually(
                lambda: gateway.get_health()["status"] == "ok",
                "health did not come back once the chain answered",
            )
            again = brand.api.post("/v1/earn/purchase", body("o-3"))
            assert again.status_code == 202 and "queued_reason" not in again.json()
    finally:
        proxy.close()


def test_a_sender_that_could_not_start_makes_the_health_degraded(env: dict[str, str]) -> None:
    """A new user's trial: a brand's keystore sealed with another passphrase stopped the
    sender's start (the starter thread died on it), and every brand's earns stayed queued
    while `/v1/health` said `ok`. The health now says `degraded` with the start's error."""
    with Gateway(env) as first:
        first.create_brand()
    database = env["LEDGER_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        (row_id, sealed) = connection.execute(
            "SELECT id, keystore FROM signers WHERE keystore IS NOT NULL"
        ).fetchone()
        keystore = json.loads(sealed)
        keystore["crypto"]["mac"] = "00" * 32  # as if sealed with another passphrase
        connection.execute(
            "UPDATE signers SET keystore = ? WHERE id = ?", (json.dumps(keystore), row_id)
        )
    gateway = Gateway(env)
    gateway.thread.start()
    try:
        wait_for(lambda: gateway.server.started, what="the gateway's start")

        def start_failed() -> dict[str, Any] | None:
            try:
                health = gateway.get_health(timeout=5)
            except httpx.HTTPError:
                return None
            return health if health.get("start_error") else None

        health = wait_for(start_failed, what="the failed start in the health")
        assert health["status"] == "degraded", health
        assert "MAC" in health["start_error"] or "mac" in health["start_error"], health
    finally:
        gateway.stop()
