"""The database's server away (PostgreSQL stopped, or restarting): a 503 a client retries,
never a 500, and the gateway answers again once the server is back."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from support import postgres
from support.chain import Anvil
from support.gateway import Gateway, Member, gateway_env
from support.progress import wait_for

from ledger_client import LedgerApiError

pytestmark = pytest.mark.slow


def test_a_stopped_database_server_is_a_503_the_client_retries(
    anvil: Anvil, manifest: Path, postgres_server: postgres.Server
) -> None:
    """A trial: with PostgreSQL stopped under load, every authenticated call (a brand's
    earn, the admin's health report, `/metrics`) answered 500 `internal` with a traceback,
    and the client raised it at once. They answer 503 `database_unavailable` with
    `Retry-After: 5`; the client's retries carry a write across a short restart."""
    env = gateway_env(
        rpc_url=anvil.url,
        manifest=manifest,
        database_url=postgres_server.url,
        admin_api_key="admin-" + secrets.token_urlsafe(24),
    )
    member = Member()
    with Gateway(env) as gateway:
        brand = gateway.create_brand()
        purchase = {"member": member.address, "amount_cents": 1_000, "order_ref": "o-away"}
        postgres_server.stop()
        answers = {
            "an earn": brand.api.post("/v1/earn/purchase", purchase),
            "a read": brand.api.get(f"/v1/members/{member.address}"),
            "the admin's health": gateway.admin.get("/v1/health"),
            "the metrics": gateway.admin.get("/metrics"),
        }
        for what, answer in answers.items():
            assert answer.status_code == 503, (what, answer.status_code, answer.text)
            if what != "the admin's health":  # a report of its own: the database failing
                assert answer.json()["error"]["code"] == "database_unavailable", (what, answer.text)
            assert answer.headers["Retry-After"] == "5", (what, answer.headers)
        client = gateway.client(brand.api_key)
        with pytest.raises(LedgerApiError) as refused:
            client.member(member.address)  # the client's retries (3 by default) all refused
        assert refused.value.code == "database_unavailable"
        postgres_server.start()
        accepted = wait_for(
            lambda: (a := brand.api.post("/v1/earn/purchase", purchase)).status_code == 202 and a,
            what="an earn once the server is back",
        )
        done = brand.api.wait(accepted.json()["operation_id"])
        assert done["status"] == "confirmed", done
