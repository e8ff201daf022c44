"""Several processes: HTTP workers (one sends and indexes, every one accepts and answers), or
the HTTP server beside a sender process of its own (LEDGER_SENDER_PROCESS)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.gateway import GatewayProcess, Member, live_purchases
from support.progress import process_alive, wait_for
from support.raw_http import assert_bad_http_answered_in_json

pytestmark = pytest.mark.slow


def _new_brand(client: httpx.Client, env: dict[str, str], name: str, symbol: str) -> dict[str, str]:
    """Onboards a brand through the admin API; the brand's auth header."""
    created = client.post(
        "/v1/admin/brands",
        json={"name": name, "symbol": symbol},
        params={"wait": "true"},
        headers={
            "Authorization": f"Bearer {env['LEDGER_ADMIN_API_KEY']}",
            "Idempotency-Key": f"brand-{symbol}",
        },
    ).json()
    assert created["brand"]["status"] == "active", created
    live_purchases(client, env["LEDGER_ADMIN_API_KEY"], created["brand"]["brand_id"])
    return {"Authorization": f"Bearer {created['api_key']}"}


def test_two_worker_processes_share_the_database_and_the_sender(
    env: dict[str, str], tmp_path: Path
) -> None:
    gateway = GatewayProcess({**env, "LEDGER_WORKERS": "2"}, tmp_path / "gateway.log").start()
    try:
        with httpx.Client(base_url=gateway.base_url, timeout=60) as client:
            brand = _new_brand(client, env, "Workers", "WRK")
            # each worker process answers a malformed request in JSON (`uvicorn.run`'s path)
            assert_bad_http_answered_in_json(gateway.port)
            finals = [
                client.post(
                    "/v1/earn/purchase",
                    json={
                        "member": Member().address,
                        "amount_cents": 500,
                        "order_ref": f"w-{uuid.uuid4()}",
                    },
                    params={"wait": "true"},
                    headers={**brand, "Idempotency-Key": str(uuid.uuid4())},
                ).json()
                for _ in range(12)
            ]

            # each worker answers from the sending worker's report: the other one had answered
            # `ok` from its database probe alone, with no chain, no indexer and no sender
            # seen. Once that report reached it (the sender starts before it reports), ...
            def read_elsewhere() -> bool:  # the admin's signer and the brand's, both running
                report = _health_of(gateway)
                return bool(report["role"] == "api" and report["status"] == "ok")

            wait_for(read_elsewhere, what="the sending worker's report read by the other one")
            # ... both say the same (a fresh connection each time: both processes get some)
            reports = [_health_of(gateway) for _ in range(40)]
        assert {f["status"] for f in finals} == {"confirmed"}
        assert all(f["indexed"] for f in finals)
        assert {r["role"] for r in reports} == {"sender", "api"}
        for report in reports:  # a signer's worker may be between two cycles: not `status`
            assert report["chain"]["status"] == "ok", json.dumps(report)
            assert report["indexer"]["running"] and report["index_block"] >= 0, report
            assert report["sender"], report
        # the worker beside the sending one says once that it waits for the lock (a trial: a
        # line every 2 s, 91 in 4 minutes)
        waits = (tmp_path / "gateway.log").read_text().count("waiting for its lock")
        assert waits == 1, (tmp_path / "gateway.log").read_text()[-2000:]
    finally:
        gateway.stop()


def _health_of(gateway: GatewayProcess) -> dict[str, Any]:
    """The admin's health report, asked on a fresh connection (from whichever worker)."""
    report: dict[str, Any] = httpx.get(
        f"{gateway.base_url}/v1/health", headers=gateway.admin_headers, timeout=30
    ).json()
    return report


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the direct children of `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append((int(entry.name), cmdline))
    return found


def _work_process(gateway: GatewayProcess) -> int:
    assert gateway.process is not None
    workers = [p for p, cmd in _children(gateway.process.pid) if "ledger_api.cli work" in cmd]
    assert len(workers) == 1, _children(gateway.process.pid)
    return workers[0]


def test_sender_process_sends_indexes_and_comes_back_after_a_kill(
    env: dict[str, str], tmp_path: Path
) -> None:
    gateway = GatewayProcess(
        {**env, "LEDGER_SENDER_PROCESS": "true"}, tmp_path / "gateway.log"
    ).start()
    try:
        with httpx.Client(base_url=gateway.base_url, timeout=60) as client:
            # workers report healthy after their first cycle: wait while the gateway progresses
            health = client.get("/v1/health", headers=gateway.admin_headers).json()
            if health["status"] != "ok":
                with contextlib.suppress(AssertionError):
                    _wait_ok(gateway)
                health = client.get("/v1/health", headers=gateway.admin_headers).json()
            assert health["role"] == "api" and health["status"] == "ok", health
            assert health["sender"] and health["indexer"]["running"], health
            brand = _new_brand(client, env, "Split", "SPL")
            assert_bad_http_answered_in_json(gateway.port)  # one process (`http_server`)
            member = Member().address

            def earn(key: str) -> dict[str, object]:
                answer: dict[str, object] = client.post(
                    "/v1/earn/purchase",
                    json={"member": member, "amount_cents": 500, "order_ref": key},
                    headers={**brand, "Idempotency-Key": key, "Prefer": "wait=20"},
                ).json()
                return answer

            first = earn("split-1")
            assert first["status"] == "confirmed" and first["indexed"], first

            # a sender process that stops reporting (frozen) is said so by name (the health
            # said `degraded` with nothing to say why)
            old = _work_process(gateway)
            os.kill(old, signal.SIGSTOP)
            try:
                frozen = wait_for(
                    lambda: (h := gateway.health()) is not None and h["status"] == "degraded" and h,
                    what="the frozen sender process said",
                )
            finally:
                os.kill(old, signal.SIGCONT)
            assert frozen["start_error"].startswith("sender_unavailable: "), frozen

            # SIGKILL the sender process: `ledger serve` starts another, which carries on
            os.kill(old, signal.SIGKILL)
            second = earn("split-2")
            assert second["status"] == "confirmed" and second["indexed"], second
            current = _work_process(gateway)
            assert current != old
            balance = client.get(f"/v1/members/{member}", headers=brand).json()
        assert [b["balance"] for b in balance["balances"]] == [100], balance
    finally:
        gateway.stop()
    deadline = time.monotonic() + 30  # the sender process stops gracefully on SIGTERM
    while process_alive(current) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not process_alive(current), "ledger serve left its sender process behind"


def _wait_ok(gateway: GatewayProcess, what: str = "the gateway's health ok") -> None:
    """Until /v1/health says ok; fails when the gateway exits or stops making progress."""
    process = gateway.process
    assert process is not None
    wait_for(
        lambda: (gateway.health() or {}).get("status") == "ok",
        what=what,
        alive=lambda: process.poll() is None,
        progress=gateway.progress,
        poll_s=0.2,
    )


def test_http_workers_beside_a_sender_process_all_report_its_health(
    env: dict[str, str], tmp_path: Path
) -> None:
    gateway = GatewayProcess(
        {**env, "LEDGER_WORKERS": "2", "LEDGER_SENDER_PROCESS": "true"},
        tmp_path / "gateway.log",
    ).start()
    try:
        with httpx.Client(base_url=gateway.base_url, timeout=60) as client:
            brand = _new_brand(client, env, "Both", "BTH")
            final = client.post(
                "/v1/earn/purchase",
                json={"member": Member().address, "amount_cents": 500, "order_ref": "b"},
                params={"wait": "true"},
                headers={**brand, "Idempotency-Key": str(uuid.uuid4())},
            ).json()
        # the report is up to a second old: wait until it shows the new brand's worker healthy
        _wait_ok(gateway, what="ledger work reporting healthy")
        # a fresh connection each time, so that both HTTP processes answer some
        healths = [
            httpx.get(f"{gateway.base_url}/v1/health", headers=gateway.admin_headers).json()
            for _ in range(30)
        ]
    finally:
        gateway.stop()
    assert final["status"] == "confirmed" and final["indexed"], final
    assert {h["status"] for h in healths} == {"ok"}, healths
    assert all(h["sender"] and h["indexer"]["running"] for h in healths)
