"""The chain forgets blocks: anvil restarted from an older state snapshot.

The embedded chain writes state snapshots every few seconds; after a crash it comes back
at the newest readable one, so the last seconds of blocks are gone. The gateway must then
lose nothing: operations confirmed in the forgotten blocks are open again, the same signed
transactions (same nonces) go out again and apply exactly once, and the index follows the
chain back and forth.

The test saves a snapshot with `anvil_dumpState` after a first set of earns, confirms a
second set, SIGKILLs anvil and starts it on the same port from the snapshot.
"""

from __future__ import annotations

import gzip
import json
import secrets
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from support.chain import Anvil, deploy, start_anvil
from support.chain import applied_op_ids as chain_applied_op_ids
from support.gateway import Api, Gateway, GatewayProcess, Member, gateway_env

pytestmark = pytest.mark.slow

PER_SET = 12
BALANCE_OF = [
    {
        "type": "function",
        "name": "balanceOf",
        "stateMutability": "view",
        "inputs": [{"name": "o", "type": "address"}, {"name": "i", "type": "uint256"}],
        "outputs": [{"name": "", "type": "uint256"}],
    }
]


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[tuple[list[Anvil], Path]]:
    """anvil on a port of its own (the restarted one takes the same), with the contracts.

    A list, so that the test can swap in the restarted node and the fixture stops it."""
    node = start_anvil()
    manifest = tmp_path / "deployment.json"
    deploy(node, manifest)
    nodes = [node]
    yield nodes, manifest
    for running in nodes:
        running.stop()


def save_state(node: Anvil, path: Path) -> None:
    """anvil's state (`anvil_dumpState`: gzipped JSON, hex) as a `--load-state` file."""
    dumped = str(node.rpc("anvil_dumpState"))
    path.write_bytes(gzip.decompress(bytes.fromhex(dumped.removeprefix("0x"))))


def snapshot_block(state: Path) -> int:
    """The number of the newest block in a saved state."""
    return int(json.loads(state.read_text())["block"]["number"], 16)


def node_block(node: Anvil) -> int:
    return int(node.web3().eth.block_number)


def restart_from(node: Anvil, state: Path) -> Anvil:
    """SIGKILL anvil and start it on the same port from the saved state."""
    node.process.send_signal(signal.SIGKILL)
    node.process.wait()
    return start_anvil(port=node.port, extra=["--load-state", str(state)])


def earn(api: Api, members: list[str], tag: str) -> list[dict[str, Any]]:
    """`PER_SET` purchases, accepted (202) without waiting; returns the answers."""
    answers = []
    for i in range(PER_SET):
        member = members[i % len(members)]
        response = api.post(
            "/v1/earn/purchase",
            {"member": member, "amount_cents": 1_000 + i, "order_ref": f"{tag}-{i}"},
            key=f"{tag}-{i}",
        )
        assert response.status_code == 202, response.text
        answers.append({**response.json(), "member": member, "cents": 1_000 + i})
    return answers


def wait_settled(api: Api, answers: list[dict[str, Any]], timeout: float = 120) -> None:
    """Waits until each is confirmed and indexed; records its transaction and block."""
    for answer in answers:
        final = api.wait(answer["operation_id"], timeout=timeout)
        assert final["status"] == "confirmed", final
        answer["confirmed"] = (final["tx_hash"], final["block_number"])


def assert_same_transactions(
    api: Api, kept: list[dict[str, Any]], forgotten: list[dict[str, Any]]
) -> None:
    """Operations in kept blocks were not touched; forgotten ones went out again as the
    same signed transactions (same hash: same bytes, same nonce), in new blocks."""
    for answer in kept + forgotten:
        final = api.get(f"/v1/operations/{answer['operation_id']}").json()
        tx_hash, block_number = answer["confirmed"]
        assert final["tx_hash"] == tx_hash, (answer, final)
        if answer in kept:
            assert final["block_number"] == block_number, (answer, final)


def applied_op_ids(node: Anvil, manifest: Path, brand_id: int) -> Counter[int]:
    return chain_applied_op_ids(node.web3(), manifest, brand_id)


def converged(
    node: Anvil, manifest: Path, api: Api, brand_id: int, answers: list[dict[str, Any]]
) -> str | None:
    """None once chain, statuses and index agree on every accepted earn; else what differs."""
    applied = applied_op_ids(node, manifest, brand_id)
    wanted = {a["op_id"] for a in answers}
    if set(applied) != wanted:
        return f"on chain {sorted(applied)}, accepted {sorted(wanted)}"
    for answer in answers:
        status = api.get(f"/v1/operations/{answer['operation_id']}").json()
        if status["status"] != "confirmed" or not status["indexed"]:
            return f"operation {status}"
    expected: Counter[str] = Counter()
    for answer in answers:
        expected[answer["member"]] += answer["cents"] * 10 // 100
    ledger = json.loads(manifest.read_text())["contracts"]["AllianceLedger"]["address"]
    w3 = node.web3()
    contract = w3.eth.contract(address=w3.to_checksum_address(ledger), abi=BALANCE_OF)
    for member, points in expected.items():
        on_chain = contract.functions.balanceOf(member, brand_id).call()
        view = api.get(f"/v1/members/{member}").json()
        indexed = [(b["brand_id"], b["balance"]) for b in view["balances"]]
        if on_chain != points or indexed != [(brand_id, points)]:
            return f"{member}: chain {on_chain}, index {indexed}, accepted {points}"
    return None


def wait_converged(
    node: Anvil, manifest: Path, api: Api, brand_id: int, answers: list[dict[str, Any]]
) -> None:
    deadline = time.monotonic() + 180
    while (problem := converged(node, manifest, api, brand_id, answers)) is not None:
        assert time.monotonic() < deadline, problem
        time.sleep(0.5)
    # applied exactly once: the ledger's per-brand op-id bitmap also refuses a replay
    assert set(applied_op_ids(node, manifest, brand_id).values()) == {1}


def assert_nonces_agree(node: Anvil, database_url: str, signer: str) -> None:
    w3 = node.web3()
    latest = w3.eth.get_transaction_count(signer, "latest")  # type: ignore[arg-type]
    pending = w3.eth.get_transaction_count(signer, "pending")  # type: ignore[arg-type]
    engine = create_engine(database_url)
    with engine.connect() as connection:
        next_nonce = connection.execute(
            text("SELECT next_nonce FROM signers WHERE address = :a"), {"a": signer}
        ).scalar()
        open_slots = connection.execute(
            text("SELECT count(*) FROM tx_slots WHERE status NOT IN ('confirmed', 'superseded')")
        ).scalar()
    engine.dispose()
    assert latest == pending == next_nonce, (latest, pending, next_nonce)
    assert open_slots == 0


def settled_then_saved(
    node: Anvil, api: Api, members: list[str], tmp_path: Path
) -> tuple[list[dict[str, Any]], Path]:
    """A first set of earns, confirmed and indexed, then the chain's state saved: (the set,
    the state file the tests restart a node from)."""
    first = earn(api, members, "first")
    wait_settled(api, first)
    snapshot = tmp_path / "snapshot.json"
    save_state(node, snapshot)
    return first, snapshot


def sqlite_env(node: Anvil, manifest: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    """A test gateway's settings on `node`, with a SQLite database of its own."""
    return gateway_env(
        rpc_url=node.url,
        manifest=manifest,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
        **extra,
    )


def test_chain_restarted_from_an_older_snapshot_loses_nothing(
    chain: tuple[list[Anvil], Path], tmp_path: Path
) -> None:
    nodes, manifest = chain
    env = sqlite_env(nodes[0], manifest, tmp_path)
    members = [Member().address for _ in range(4)]
    with Gateway(env) as gateway:
        brand = gateway.create_brand()
        first, snapshot = settled_then_saved(nodes[0], brand.api, members, tmp_path)
        second = earn(brand.api, members, "second")
        wait_settled(brand.api, second)
        forgotten_from = node_block(nodes[0])

        nodes.append(restart_from(nodes[0], snapshot))
        node = nodes[-1]
        # the chain went back to the snapshot (asked of the file: the running gateway may
        # already have sent the forgotten transactions again)
        assert snapshot_block(snapshot) < forgotten_from
        wait_converged(node, manifest, brand.api, brand.brand_id, first + second)
        assert_same_transactions(brand.api, first, second)
        assert_nonces_agree(node, env["LEDGER_DATABASE_URL"], brand.signer)
        health = gateway.admin.get("/v1/health").json()
        assert health["status"] == "ok", health
        assert_rewound_said(gateway.admin, brand.api, snapshot_block(snapshot), forgotten_from)


def assert_rewound_said(admin: Api, brand: Api, kept_up_to: int, forgotten_from: int) -> None:
    """One `chain.rewound` in the admin's feed and the brand's, naming a block the chain
    forgot: events of the forgotten blocks had stayed with no word that they may not hold."""
    said = []
    for api in (admin, brand):
        events = api.get("/v1/events", params={"limit": 500}).json()["events"]
        said.append([e for e in events if e["type"] == "chain.rewound"])
    assert len(said[0]) == 1 and said[0] == said[1], said
    data = said[0][0]["data"]
    assert kept_up_to < data["forgotten_block"] <= forgotten_from, data
    assert data["forgotten_block_hash"].startswith("0x") and data["head"] >= kept_up_to, data


def test_chain_restarted_from_an_older_snapshot_while_the_gateway_is_down(
    chain: tuple[list[Anvil], Path], tmp_path: Path
) -> None:
    nodes, manifest = chain
    env = gateway_env(
        rpc_url=nodes[0].url,
        manifest=manifest,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
        LEDGER_SENDER_PROCESS="true",
    )
    members = [Member().address for _ in range(4)]
    gateway = GatewayProcess(env, tmp_path / "gateway.log").start()
    admin = Api(gateway.base_url, env["LEDGER_ADMIN_API_KEY"])
    apis = [admin]
    try:
        created = admin.post(
            "/v1/admin/brands", {"name": "Rewind", "symbol": "RWD"}, params={"wait": "true"}
        ).json()
        brand_id, signer = created["brand"]["brand_id"], created["brand"]["signer"]
        window = admin.put(  # purchases live at once: the test compares balances (issue 11)
            f"/v1/admin/brands/{brand_id}/return-window", {"days": 0}, params={"wait": "true"}
        )
        assert window.json()["status"] == "confirmed", window.text
        api = Api(gateway.base_url, created["api_key"])
        apis.append(api)
        first, snapshot = settled_then_saved(nodes[0], api, members, tmp_path)
        second = earn(api, members, "second")
        wait_settled(api, second)
        forgotten_from = node_block(nodes[0])
        assert snapshot_block(snapshot) < forgotten_from

        gateway.kill()  # the gateway goes down during the chain's outage
        nodes.append(restart_from(nodes[0], snapshot))
        node = nodes[-1]
        gateway = GatewayProcess(env, tmp_path / "gateway.log", port=gateway.port).start()

        wait_converged(node, manifest, api, brand_id, first + second)
        assert_same_transactions(api, first, second)
        assert_nonces_agree(node, env["LEDGER_DATABASE_URL"], signer)
        with httpx.Client(base_url=gateway.base_url) as anonymous:
            # `ledger work` reports once a second: wait for a report after the recovery
            deadline = time.monotonic() + 60
            while (health := anonymous.get("/v1/health").json()) != {"status": "ok"}:
                report = admin.get("/v1/health").json()
                assert time.monotonic() < deadline, (health, report)
                time.sleep(0.2)
        assert_rewound_said(admin, api, snapshot_block(snapshot), forgotten_from)
    finally:
        gateway.stop()
        for client in apis:
            client.close()


def test_a_node_without_the_deployment_fails_reopens_and_rebuilds_nothing(
    chain: tuple[list[Anvil], Path], tmp_path: Path
) -> None:
    """Another node behind the URL while the gateway runs (a trial: a node restarted without
    its state, the same chain id): a reorganisation forgets blocks after the deployment, this
    node forgets the deployment itself. The index is not rebuilt, no operation is reopened,
    failed or announced, and the signer waits, saying why, even with gas on that node: its
    transactions land there with no code to run. The real node back, everything converges."""
    nodes, manifest = chain
    env = sqlite_env(nodes[0], manifest, tmp_path)
    members = [Member().address for _ in range(4)]
    with Gateway(env) as gateway:
        brand = gateway.create_brand()
        first, snapshot = settled_then_saved(nodes[0], brand.api, members, tmp_path)

        signed = nodes[0].web3().eth.get_transaction_count(brand.signer)  # type: ignore[arg-type]
        nodes[0].process.send_signal(signal.SIGKILL)
        nodes[0].process.wait()
        stranger = start_anvil(port=nodes[0].port)  # the same URL and chain id, nothing of ours
        nodes.append(stranger)
        # the signer's gas and nonce there: its next transactions are mined on the stranger,
        # successful and without a log (calls to addresses with no code), as in the trial
        stranger.rpc("anvil_setBalance", brand.signer, hex(10**18))
        stranger.rpc("anvil_setNonce", brand.signer, hex(signed))
        second = earn(brand.api, members, "second")  # accepted: queued for the right node

        said = "no longer holds this deployment"
        deadline = time.monotonic() + 120
        while True:  # the indexer and the brand's signer both stopped on it
            health = gateway.admin.get("/v1/health").json()
            senders = [w for w in health["sender"] if said in str(w.get("last_error"))]
            if said in str(health["chain"].get("error")) and senders:
                break
            assert time.monotonic() < deadline, health
            time.sleep(0.2)
        for answer in first:  # confirmed where they were, not reopened
            final = brand.api.get(f"/v1/operations/{answer['operation_id']}").json()
            assert final["status"] == "confirmed", final
            assert (final["tx_hash"], final["block_number"]) == answer["confirmed"], final
        for answer in second:
            final = brand.api.get(f"/v1/operations/{answer['operation_id']}").json()
            assert final["status"] in ("queued", "submitted"), final
        for api in (gateway.admin, brand.api):
            events = api.get("/v1/events", params={"limit": 500}).json()["events"]
            kinds = {e["type"] for e in events}
            assert not kinds & {"chain.rewound", "operation.failed"}, kinds

        nodes.append(restart_from(stranger, snapshot))  # the real node back
        node = nodes[-1]
        wait_converged(node, manifest, brand.api, brand.brand_id, first + second)
        assert_same_transactions(brand.api, first, [])
        for api in (gateway.admin, brand.api):
            events = api.get("/v1/events", params={"limit": 500}).json()["events"]
            kinds = {e["type"] for e in events}
            assert not kinds & {"chain.rewound", "operation.failed"}, kinds


def test_a_successful_receipt_without_a_log_waits_for_the_deployment(
    chain: tuple[list[Anvil], Path], tmp_path: Path
) -> None:
    """The settling's own check, alone: the ledger's code gone from the node while the gateway
    runs (`anvil_setCode`), its deployment block the same, so no block is forgotten and no
    reconciliation asks. The earns are mined there successfully and without a log (calls to
    an address with no code); read as batches that did not mention them, they failed
    `not_applied`, announced to the brand. Now the signer waits, saying the node no longer
    holds the deployment, and once the node is back in its state before those blocks the
    earns are sent again and applied once."""
    nodes, manifest = chain
    node = nodes[0]
    env = sqlite_env(node, manifest, tmp_path, LEDGER_NODE_LAG_PATIENCE_S="1")
    members = [Member().address for _ in range(4)]
    ledger = json.loads(manifest.read_text())["contracts"]["AllianceLedger"]["address"]
    with Gateway(env) as gateway:
        brand = gateway.create_brand()
        first = earn(brand.api, members, "first")
        wait_settled(brand.api, first)
        snapshot = node.rpc("evm_snapshot")
        code = node.web3().eth.get_code(ledger)
        node.rpc("anvil_setCode", ledger, "0x")
        signed = node.web3().eth.get_transaction_count(brand.signer)  # type: ignore[arg-type]
        second = earn(brand.api, members, "second")

        said = "no longer holds this deployment"
        deadline = time.monotonic() + 120
        while not any(
            said in str(s.get("last_error"))
            for s in gateway.admin.get("/v1/health").json()["sender"]
        ):
            assert time.monotonic() < deadline, gateway.admin.get("/v1/health").json()
            time.sleep(0.2)
        mined = node.web3().eth.get_transaction_count(brand.signer)  # type: ignore[arg-type]
        assert mined > signed, (mined, signed)  # mined there, without a log
        for answer in second:
            now = brand.api.get(f"/v1/operations/{answer['operation_id']}").json()
            assert now["status"] in ("queued", "submitted"), now
        events = brand.api.get("/v1/events", params={"limit": 500}).json()["events"]
        assert "operation.failed" not in {e["type"] for e in events}, events

        node.rpc("evm_revert", snapshot)  # the node as it was: its code, not those blocks
        assert node.web3().eth.get_code(ledger) == code
        wait_converged(node, manifest, brand.api, brand.brand_id, first + second)
