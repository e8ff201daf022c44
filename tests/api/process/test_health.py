"""`/v1/health`: liveness for anyone, each dependency for the admin, and what it sees.

Issue 9 item 3: during a filesystem freeze health said `ok` while every earn hung. Here the
database's write lock is held by another connection (what a frozen filesystem does to a
writer: it waits), and health must turn `failing` (503) instead of `ok`, without hanging.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.chain import Anvil
from support.gateway import Api, Gateway, GatewayProcess, Member
from support.progress import wait_for
from support.proxy import Proxy

from ledger_client import LedgerApiError, LedgerClient


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
        assert failing.headers["Retry-After"] == "5"
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
            # what needs the node now answers 503 with when to ask again
            gift = {"member": member, "to": Member().address, "amount": 1}
            nonce = brand.api.post("/v1/gifts/typed-data", gift)
            assert nonce.status_code == 503, nonce.text
            assert nonce.json()["error"]["code"] == "chain_unavailable", nonce.text
            assert nonce.headers["Retry-After"] == "5", nonce.headers

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


def test_a_gateway_waiting_for_its_manifest_says_so_until_it_reads_one(
    own_env: dict[str, str], tmp_path: Path
) -> None:
    """A new user's trial: with no deployment manifest yet the health said `ok` (no sender, no
    indexer), and a file that was not a manifest ended the sender's start with a bare
    `KeyError` while the health still said `ok`; a manifest of another chain was taken. Each
    now says `degraded` with `start_error: "index_not_ready: ..."`, and the gateway starts
    once a manifest of the node's deployment reads. On a chain of its own: the campaign cap
    it queues is the alliance's."""
    manifest = tmp_path / "later" / "deployment.json"
    gateway = _serving_unready({**own_env, "LEDGER_MANIFEST": str(manifest)})
    try:

        def waiting_for(words: str) -> dict[str, Any] | None:
            return _start_error_saying(gateway, words)

        health = wait_for(lambda: waiting_for("no deployment manifest"), what="the wait said")
        assert health["status"] == "degraded" and health["chain_id"] is None, health
        assert health["start_error"].startswith("index_not_ready: "), health
        assert anonymous_health(gateway).json() == {"status": "degraded"}
        # an operation stored meanwhile says why it waits (it said nothing)
        queued = gateway.admin.put("/v1/admin/campaigns/cap", {"max_multiplier_pct": 500})
        assert queued.status_code == 202, queued.text
        assert queued.json()["queued_reason"] == "sender_unavailable", queued.text
        # a refusal that lasts until an operator acts says so (Retry-After 60, not the 5 of
        # a node or an index on its way back), and the client raises it at once
        asked: list[int] = []
        http = httpx.Client(
            base_url=gateway.base_url,
            headers=gateway.admin_headers,
            timeout=30,
            event_hooks={"response": [lambda r: asked.append(r.status_code)]},
        )
        with LedgerClient(gateway.base_url, None, retries=3, http=http) as admin:
            with pytest.raises(LedgerApiError) as refused:
                admin.request("GET", "/v1/settlement/deposits/1")  # reads the vault's token
            assert admin.last_response is not None
            assert admin.last_response.headers["Retry-After"] == "60"
        assert (refused.value.status, refused.value.code) == (503, "index_not_ready"), asked
        assert asked == [503]
        # a brand's onboarding too (its answer had no top-level status, and said nothing)
        onboarding = gateway.admin.post("/v1/admin/brands", {"name": "Later", "symbol": "LTR"})
        assert onboarding.status_code == 202, onboarding.text
        assert onboarding.json()["queued_reason"] == "sender_unavailable", onboarding.text
        assert onboarding.headers["Ledger-Queued-Reason"] == "sender_unavailable"
        manifest.parent.mkdir()
        manifest.write_text(json.dumps({"chain_id": 31337}))
        health = wait_for(lambda: waiting_for("is not valid"), what="the bad manifest said")
        assert health["status"] == "degraded", health
        # a manifest of another chain signed for that chain: the node refused, a signer
        # stalled for good (a trial); one whose contracts the node lacks read nothing
        deployed = json.loads(Path(own_env["LEDGER_MANIFEST"]).read_text())
        manifest.write_text(json.dumps({**deployed, "chain_id": 1}))
        wait_for(lambda: waiting_for("is of chain 1, the node"), what="another chain's said")
        elsewhere = json.loads(json.dumps(deployed))
        elsewhere["contracts"]["AllianceLedger"]["address"] = "0x" + "5e" * 20
        manifest.write_text(json.dumps(elsewhere))
        wait_for(lambda: waiting_for("no contract at"), what="contracts not on the node said")
        manifest.write_text(Path(own_env["LEDGER_MANIFEST"]).read_text())
        gateway.wait_until_ready()
        health = wait_for(
            lambda: (h := gateway.get_health(timeout=30))["status"] == "ok" and h,
            what="the health ok once the manifest reads",
        )
        assert health["start_error"] is None and health["chain_id"] == 31337, health
    finally:
        gateway.stop()


def test_a_manifest_is_checked_against_the_node_before_anything_is_signed(
    env: dict[str, str], anvil: Anvil, tmp_path: Path
) -> None:
    """A trial: with the node down at the start, a manifest of another chain was taken
    unchecked, and once the node was back a signer signed for that chain and stalled for
    good. The sender now waits for the node's answer (`chain_unavailable` in `start_error`),
    then refuses the other chain's manifest, and starts once the manifest is the node's."""
    proxy = Proxy(anvil.port)
    proxy.down()
    deployed = json.loads(Path(env["LEDGER_MANIFEST"]).read_text())
    manifest = tmp_path / "deployment.json"
    manifest.write_text(json.dumps({**deployed, "chain_id": 1}))
    gateway = _serving_unready(
        {**env, "LEDGER_RPC_URL": proxy.url, "LEDGER_MANIFEST": str(manifest)}
    )
    try:

        def start_error(words: str) -> dict[str, Any] | None:
            return _start_error_saying(gateway, words)

        health = wait_for(lambda: start_error("chain_unavailable: "), what="the node awaited")
        assert health["status"] == "degraded" and not health["sender"], health
        proxy.up()
        wait_for(lambda: start_error("is of chain 1, the node"), what="the other chain refused")
        manifest.write_text(json.dumps(deployed))
        gateway.wait_until_ready()
        health = gateway.get_health()
        assert health["start_error"] is None and health["chain_id"] == deployed["chain_id"]
    finally:
        gateway.stop()
        proxy.close()


def test_a_database_made_for_another_deployment_is_refused(
    env: dict[str, str], own_chain: tuple[Anvil, Path], tmp_path: Path
) -> None:
    """A new user's trial: a copy of a gateway's database, started against another chain of
    the same chain id with the contracts at the same addresses (a second local deployment),
    took that chain's blocks for forgotten ones: it reopened and failed the confirmed
    operations and sent the brands' receivers signed `operation.failed` and `chain.rewound`
    events. The database now names its deployment (chain id, ledger address, deployment block
    and hash): another is refused before anything is indexed or sent, and the operations stay
    as their own chain has them. Every authenticated route answers 503 `deployment_mismatch`
    meanwhile, in one process and beside `ledger work` (a second trial: operations were still
    accepted, queued for good, and reads answered from the other deployment's index)."""
    node, manifest = own_chain
    with Gateway(env) as first:
        brand = first.create_brand()
        member = Member()
        earned = brand.api.post(
            "/v1/earn/purchase",
            {"member": member.address, "amount_cents": 1_000, "order_ref": "o-bound"},
        )
        assert brand.api.wait(earned.json()["operation_id"])["status"] == "confirmed"
    ours = json.loads(Path(env["LEDGER_MANIFEST"]).read_text())["contracts"]["AllianceLedger"]
    theirs = json.loads(manifest.read_text())["contracts"]["AllianceLedger"]
    assert ours["address"] == theirs["address"]  # the trial's case: only the chain differs
    elsewhere = {**env, "LEDGER_RPC_URL": node.url, "LEDGER_MANIFEST": str(manifest)}
    operation = earned.json()["operation_id"]
    gateway = _serving_unready(elsewhere)
    try:
        health = wait_for(
            lambda: _start_error_saying(gateway, "was made for another deployment"),
            what="the other deployment refused",
        )
        assert health["status"] == "degraded" and not health["sender"], health
        assert health["start_error"].startswith("deployment_mismatch: "), health
        _refuses_every_route(gateway.base_url, env, brand.api_key, member.address, operation)
    finally:
        gateway.stop()
    serving = _RefusedGatewayProcess(
        {**elsewhere, "LEDGER_SENDER_PROCESS": "true"}, tmp_path / "gateway.log"
    ).start()
    try:
        _refuses_every_route(serving.base_url, env, brand.api_key, member.address, operation)
    finally:
        serving.stop()
    with Gateway(env) as again:  # its own deployment still opens it
        view = again.api(brand.api_key).get(f"/v1/operations/{operation}")
        assert view.json()["status"] == "confirmed", view.text


class _RefusedGatewayProcess(GatewayProcess):
    """`ledger serve` with `ledger work`, up once its health says the database is refused."""

    def ready_health(self) -> dict[str, Any] | None:
        health = self.health()
        said = (health or {}).get("start_error") or ""
        return health if said.startswith("deployment_mismatch: ") else None


def _refuses_every_route(
    base_url: str, env: dict[str, str], brand_key: str, member: str, operation: str
) -> None:
    """A read, a balance, an earn and an admin's write all answer 503 `deployment_mismatch`
    with a `Retry-After` of 60 s (an operator must act)."""
    brand, admin = Api(base_url, brand_key), Api(base_url, env["LEDGER_ADMIN_API_KEY"])
    try:
        refusals = {
            "a read": brand.get(f"/v1/operations/{operation}"),
            "a balance": brand.get(f"/v1/members/{member}"),
            "an earn": brand.post(
                "/v1/earn/purchase",
                {"member": member, "amount_cents": 500, "order_ref": "o-elsewhere"},
            ),
            "an admin's write": admin.post("/v1/admin/brands", {"name": "Elsewhere"}),
        }
    finally:
        brand.close()
        admin.close()
    for what, answer in refusals.items():
        assert answer.status_code == 503, (what, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "deployment_mismatch", (what, error)
        assert "another deployment" in error["message"], (what, error)
        assert answer.headers["Retry-After"] == "60", (what, answer.headers)


def test_an_operation_whose_signer_has_no_gas_says_so(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A new user's trial: with its brand's signer out of gas money, an earn said `submitted`
    and nothing more for as long as it lasted (only the admin's health said why). Its status
    now says `queued_reason: "signer_stalled"` until the signer can pay again, then it goes."""
    node, _ = own_chain
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        node.rpc("anvil_setBalance", brand.signer, "0x0")
        member = Member()
        accepted = brand.api.post(
            "/v1/earn/purchase",
            {"member": member.address, "amount_cents": 1_000, "order_ref": "o-no-gas"},
        )
        assert accepted.status_code == 202, accepted.text
        path = f"/v1/operations/{accepted.json()['operation_id']}"
        stalled = wait_for(
            lambda: (v := brand.api.get(path).json())["queued_reason"] == "signer_stalled" and v,
            what="the stalled signer said",
        )
        assert stalled["status"] in ("queued", "submitted"), stalled
        signers = gateway.get_health()["sender"]
        assert any(s["last_error"].startswith("SignerStalled") for s in signers if s["last_error"])
        # a write accepted meanwhile says it in its 202 too (a second trial: nothing)
        later = brand.api.post(
            "/v1/earn/purchase",
            {"member": member.address, "amount_cents": 1_000, "order_ref": "o-no-gas-2"},
        )
        assert later.status_code == 202, later.text
        assert later.json()["queued_reason"] == "signer_stalled", later.text
        assert later.headers["Ledger-Queued-Reason"] == "signer_stalled"
        node.rpc("anvil_setBalance", brand.signer, hex(10**20))
        for uid in (accepted.json()["operation_id"], later.json()["operation_id"]):
            final = brand.api.wait(uid, timeout=120)
            assert final["status"] == "confirmed" and final["queued_reason"] is None, final


def _serving_unready(env: dict[str, str]) -> Gateway:
    """A gateway serving HTTP, not waited for until ready (its sender may never start)."""
    gateway = Gateway(env)
    gateway.thread.start()
    wait_for(lambda: gateway.server.started, what="the gateway's start")
    return gateway


def _start_error_saying(gateway: Gateway, words: str) -> dict[str, Any] | None:
    """The admin's health report when its `start_error` says `words`; None otherwise."""
    health = gateway.get_health(timeout=30)
    return health if words in (health.get("start_error") or "") else None


def test_a_signer_on_its_first_cycle_says_it_is_starting(
    own_chain: tuple[Anvil, Path], own_env: dict[str, str]
) -> None:
    """A CI run read the admin's health right after a start: a signer that had not finished
    its first cycle was unhealthy with no reason (`last_error` null), beside the one that was
    refused. Here a brand's new signer starts while the node does not answer (stopped): its
    first cycle waits on the node, and its entry says `starting: ...` meanwhile."""
    node, _ = own_chain
    env = {**own_env, "LEDGER_RPC_TIMEOUT_S": "120"}  # the first cycle waits that long
    with Gateway(env) as gateway:
        before = {s["brand_row_id"] for s in gateway.get_health()["sender"]}
        os.kill(node.process.pid, signal.SIGSTOP)
        try:
            added = gateway.admin.post("/v1/admin/brands", {"name": "Late", "symbol": "LTE"})
            assert added.status_code == 202, added.text

            def new_signer() -> dict[str, Any] | None:
                signers = gateway.get_health(timeout=60)["sender"]
                return next((s for s in signers if s["brand_row_id"] not in before), None)

            entry = wait_for(new_signer, what="the new brand's signer in the health")
            assert not entry["healthy"], entry
            assert str(entry["last_error"]).startswith("starting: "), entry
        finally:
            os.kill(node.process.pid, signal.SIGCONT)
        wait_for(
            lambda: all(s["healthy"] for s in gateway.get_health()["sender"]),
            what="every signer healthy once the node answers",
        )
