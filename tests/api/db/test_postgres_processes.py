"""Several gateway processes on one PostgreSQL database: the sender lock across a server
restart, and the health of a process that sends without indexing."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from support import postgres
from support.chain import Anvil
from support.flows import earn
from support.gateway import Gateway, Member, ServingGatewayProcess, gateway_env
from support.progress import wait_for

from ledger_api.process.lock import ADVISORY_KEY

pytestmark = pytest.mark.slow


def _lock_holders(url: str) -> int:
    """Sessions holding the sender lock (PostgreSQL's view)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            held: int = connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid = :hi AND objid = :lo AND objsubid = 1"
                ),
                {"hi": ADVISORY_KEY >> 32, "lo": ADVISORY_KEY & 0xFFFFFFFF},
            ).scalar_one()
    finally:
        engine.dispose()
    return held


def test_after_a_database_restart_one_process_indexes_and_holds_the_lock(
    anvil: Anvil, manifest: Path, postgres_server: postgres.Server
) -> None:
    """A trial: `pg_ctl restart` ended the lock holder's session, and with it the lock,
    without the process knowing: it went on indexing beside the process that took the free
    lock, while the processes whose start met the restarting server never tried again. Now
    the holder that lost the lock steps down and every process competes again: one process
    indexes, it holds the lock, and the index follows the chain."""
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=postgres_server.url,
        admin_api_key="admin-" + secrets.token_urlsafe(24),
    )
    with Gateway(env) as first:
        brand = first.create_brand()
        second = Gateway(env)  # ready as it serves: it may hold no signer (the first has one)
        try:
            second.thread.start()
            wait_for(lambda: second.server.started, what="the second gateway's start")
            gateways = (first, second)
            wait_for(
                lambda: (
                    sum(g.runtime.is_sender for g in gateways) == 1
                    and _lock_holders(postgres_server.url)
                ),
                what="one lock holder",
            )
            postgres_server.stop()
            postgres_server.start()

            def one_holder() -> bool:
                indexing = [g for g in gateways if g.runtime.is_sender and g.runtime.indexer]
                return len(indexing) == 1 and _lock_holders(postgres_server.url) == 1

            wait_for(one_holder, what="one process indexing, holding the lock")
            member = Member()
            earn(brand, member, 1_000)  # confirmed, and indexed: the index follows the chain
            assert one_holder()
        finally:
            second.stop()


def test_a_process_that_sends_without_the_lock_beside_ledger_work_is_ok(
    anvil: Anvil, manifest: Path, postgres_server: postgres.Server, tmp_path: Path
) -> None:
    """A trial: a scale-out `ledger serve` with its sender in `ledger work`
    (`LEDGER_SENDER_PROCESS=true`, `./ledger serve`'s default) answered `degraded`,
    `sender_unavailable`, and every 202 said so, while its `ledger work` sent for its signers
    (0.1 s to confirmation): that process reported only while holding the sender lock."""
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=postgres_server.url,
        admin_api_key="admin-" + secrets.token_urlsafe(24),
    )
    admin = {"Authorization": f"Bearer {env['LEDGER_ADMIN_API_KEY']}"}
    holder = ServingGatewayProcess(env, tmp_path / "holder.log").start()
    beside = None
    try:
        wait_for(lambda: _lock_holders(postgres_server.url) == 1, what="the first process's lock")
        beside = ServingGatewayProcess(
            {**env, "LEDGER_SENDER_PROCESS": "true"}, tmp_path / "beside.log"
        ).start()

        def health() -> dict[str, object] | None:
            answer = httpx.get(f"{beside.base_url}/v1/health", headers=admin, timeout=30)
            body: dict[str, object] = answer.json()
            return body if body["status"] == "ok" else None

        report = wait_for(health, what="the health of the process that only sends")
        assert report["role"] == "api" and report["start_error"] is None, report
        # the index height the indexing process stored, not its own -1 (a re-run trial)
        assert isinstance(report["index_block"], int) and report["index_block"] >= 0, report
        created = httpx.post(
            f"{beside.base_url}/v1/admin/brands",
            json={"name": "Beside", "symbol": "PTS"},
            headers={**admin, "Idempotency-Key": secrets.token_hex(8)},
            params={"wait": "true"},
            timeout=60,
        )
        assert created.status_code == 200, created.text
        assert created.json().get("queued_reason") is None, created.text
    finally:
        if beside is not None:
            beside.stop()
        holder.stop()
