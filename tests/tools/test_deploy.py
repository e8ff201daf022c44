"""`make deploy RPC_URL=...` against a chain brownie sees as a LIVE network (issue 14 item 1):
every contract deployed with code, the manifest on the last line, a second run does nothing,
and the brownie scripts run against that network without a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from networks import delete_network
from support.chain import ADMIN_KEY, ROOT, Anvil, _deploy, start_anvil
from support.gateway import Member, ServingGatewayProcess, gateway_env

#: anvil's second default account (a public test key): the admin; a fresh brand signer
ADMIN_ADDRESS_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
BRAND_SIGNER = Account.create().address
NETWORK_CONFIG = Path.home() / ".brownie" / "network-config.yaml"

pytestmark = pytest.mark.slow


def _run(
    args: list[str], env: dict[str, str], timeout: float = 1800
) -> subprocess.CompletedProcess[str]:
    # as a user types it: not as a sub-make of `make test` (whose MAKELEVEL makes make print
    # "Leaving directory" after the manifest's path, the answer's last line)
    outer = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    return subprocess.run(
        args,
        check=False,
        cwd=ROOT,
        env={**outer, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def live_chain() -> Any:
    # a chain id no development node uses, so nothing treats it as local
    node = start_anvil(extra=["--chain-id", str(random.randint(50_000, 90_000))])
    yield node
    node.stop()


def _network_section(name: str) -> str:
    """`live` or `development`: the section of brownie's network config that names `name`."""
    section = ""
    for line in NETWORK_CONFIG.read_text().splitlines():
        if line.startswith("live:"):
            section = "live"
        elif line.startswith("development:"):
            section = "development"
        elif line.strip() == f"id: {name}":
            return section
    raise AssertionError(f"{name} is not in {NETWORK_CONFIG}")


def test_make_deploy_to_a_live_network_then_nothing_to_do_then_onboard_a_brand(
    live_chain: Anvil, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    w3 = live_chain.web3()
    manifest = tmp_path / "deployment.json"
    admin = Account.from_key(ADMIN_ADDRESS_KEY).address
    env = {
        "LEDGER_DEPLOYER_KEY": ADMIN_KEY,
        "LEDGER_ADMIN_ADDRESS": admin,
        "LEDGER_MANIFEST": str(manifest),
    }
    env_no_token = {**env, "LEDGER_SETTLEMENT_TOKEN": ""}

    # no settlement token on a live network: refused, clearly, before anything is deployed
    refused = _run(["make", "deploy", f"RPC_URL={live_chain.url}"], env_no_token)
    assert refused.returncode != 0
    assert "no settlement token" in refused.stderr + refused.stdout
    assert w3.eth.get_transaction_count(Account.from_key(ADMIN_KEY).address) == 0
    # a misspelled setting: refused before anything (a trial's LEDGER_ADMIN_ADRESS left the
    # admin roles with the deployer, in silence)
    typo = {**env_no_token, "LEDGER_ADMIN_ADRESS": admin, "LEDGER_SETTLEMENT_TOKEN": "none"}
    refused = _run(["make", "deploy", f"RPC_URL={live_chain.url}"], typo)
    assert refused.returncode != 0, refused.stdout
    assert (
        "deploy: LEDGER_ADMIN_ADRESS is not a setting (did you mean LEDGER_ADMIN_ADDRESS?)"
        in refused.stderr
    ), refused.stderr
    assert w3.eth.get_transaction_count(Account.from_key(ADMIN_KEY).address) == 0

    token = _deploy(w3, Account.from_key(ADMIN_KEY), "TestUSD")
    # a conversion of 0: refused before anything is deployed (it deployed 8 contracts, then the
    # vault's constructor refused it: a trial)
    nonce = w3.eth.get_transaction_count(Account.from_key(ADMIN_KEY).address)
    zero = {**env, "LEDGER_SETTLEMENT_TOKEN": token, "LEDGER_SETTLEMENT_UNITS_PER_USD": "0"}
    refused = _run(["make", "deploy", f"RPC_URL={live_chain.url}"], zero)
    assert refused.returncode != 0
    assert "LEDGER_SETTLEMENT_UNITS_PER_USD is the settlement token's units" in refused.stderr
    assert w3.eth.get_transaction_count(Account.from_key(ADMIN_KEY).address) == nonce
    started = time.monotonic()
    first = _run(
        ["make", "deploy", f"RPC_URL={live_chain.url}"], {**env, "LEDGER_SETTLEMENT_TOKEN": token}
    )
    print(f"make deploy to the live network: {time.monotonic() - started:.1f} s")
    output = first.stdout + first.stderr
    assert first.returncode == 0, output
    assert "Traceback" not in output and "TypeError" not in output, output
    # sent to a pipe: no terminal colour codes (a trial's deploy log was full of them)
    assert "\x1b[" not in output, output[:2000]
    assert first.stdout.strip().splitlines()[-1] == str(manifest.resolve())
    network = next(
        line.split()[2] for line in first.stdout.splitlines() if line.startswith("deploy: network ")
    )
    request.addfinalizer(lambda: delete_network(network))
    assert network.startswith("alliance-")
    assert _network_section(network) == "live"

    doc = json.loads(manifest.read_text())
    assert doc["chain_id"] == w3.eth.chain_id
    assert doc["admin"] == admin
    assert doc["compiler"]["version"].startswith("0.8.30")
    assert doc["compiler"]["optimizer"]["enabled"] is True
    assert doc["compiler"]["via_ir"] is True
    assert set(doc["contracts"]) == {
        "MembershipBadge",
        "AllianceLedger",
        "AllianceLedgerLens",
        "AllianceBadges",
        "AlliancePolls",
        "EnterpriseAccounts",
        "AllianceAuctions",
        "SettlementVault",
    }
    assert 0 < doc["deployed_block"] <= w3.eth.block_number
    for name, entry in doc["contracts"].items():
        assert len(w3.eth.get_code(entry["address"])) > 0, name
        assert entry["abi"], name
    vault = w3.eth.contract(
        address=doc["contracts"]["SettlementVault"]["address"],
        abi=doc["contracts"]["SettlementVault"]["abi"],
    )
    assert vault.functions.token().call() == [token, 1_000_000]  # (token, units per USD)
    assert f"settles in {token} at 1000000 units per USD" in first.stdout
    assert f"deploy: admin {admin} (LEDGER_ADMIN_ADDRESS)\n" in first.stdout, first.stdout

    nonce = w3.eth.get_transaction_count(Account.from_key(ADMIN_KEY).address)
    # a later run with another conversion changes nothing, and says so (a trial: silently)
    other = {**env, "LEDGER_SETTLEMENT_TOKEN": token, "LEDGER_SETTLEMENT_UNITS_PER_USD": "100"}
    again = _run(["make", "deploy", f"RPC_URL={live_chain.url}"], other)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing to do" in again.stdout
    assert "converts at 1000000 token units per USD, not" in again.stdout, again.stdout
    assert again.stdout.strip().splitlines()[-1] == str(manifest.resolve())
    assert w3.eth.get_transaction_count(Account.from_key(ADMIN_KEY).address) == nonce

    # the admin onboards a brand with the brownie script on the same live network
    onboard = _run(
        [
            ".venv/brownie/bin/python",
            "tools/brownie_run.py",
            "scripts/onboard_brand.py",
            "main",
            "Acme",
            "ACME",
            BRAND_SIGNER,
            "--network",
            network,
        ],
        {"LEDGER_DEPLOYER_KEY": ADMIN_ADDRESS_KEY, "LEDGER_MANIFEST": str(manifest)},
    )
    output = onboard.stdout + onboard.stderr
    assert onboard.returncode == 0, output
    assert "Traceback" not in output and "TypeError" not in output, output
    ledger = w3.eth.contract(
        address=doc["contracts"]["AllianceLedger"]["address"],
        abi=doc["contracts"]["AllianceLedger"]["abi"],
    )
    brand = ledger.functions.brandOf(BRAND_SIGNER).call()
    assert brand > 0
    assert f"onboard: brand {brand} (Acme)" in onboard.stdout

    tiers = _run(
        [
            ".venv/brownie/bin/python",
            "tools/brownie_run.py",
            "scripts/set_tier_rules.py",
            "defaults",
            "--network",
            network,
        ],
        {"LEDGER_DEPLOYER_KEY": ADMIN_ADDRESS_KEY, "LEDGER_MANIFEST": str(manifest)},
    )
    assert tiers.returncode == 0 and "Traceback" not in tiers.stdout + tiers.stderr, tiers.stderr
    floor = _run(
        [
            ".venv/brownie/bin/python",
            "tools/brownie_run.py",
            "scripts/set_tier_rules.py",
            "floor",
            "10",
            "--network",
            network,
        ],
        {"LEDGER_DEPLOYER_KEY": ADMIN_ADDRESS_KEY, "LEDGER_MANIFEST": str(manifest)},
    )
    assert floor.returncode == 0, floor.stdout + floor.stderr
    assert "a purchase counts as an order from 10 USD" in floor.stdout, floor.stdout
    lens = w3.eth.contract(
        address=doc["contracts"]["AllianceLedgerLens"]["address"],
        abi=doc["contracts"]["AllianceLedgerLens"]["abi"],
    )
    assert lens.functions.orderFloorUsd().call() == 10

    # the gateway against that network by URL: production, brand keys only (the admin is
    # an outside account: it executes the admin transactions the gateway answers with)
    serve_against_the_live_network(live_chain, manifest, tmp_path)


def _execute(w3: Any, key: str, to: str, data: str, value: int) -> None:
    account = Account.from_key(key)
    signed = account.sign_transaction(
        {
            "to": to,
            "data": data,
            "value": value,
            "nonce": w3.eth.get_transaction_count(account.address),
            "chainId": w3.eth.chain_id,
            "gas": 3_000_000,
            "maxFeePerGas": 20 * 10**9,
            "maxPriorityFeePerGas": 10**9,
        }
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    assert receipt["status"] == 1


def serve_against_the_live_network(live_chain: Anvil, manifest: Path, tmp_path: Path) -> None:
    import httpx

    w3 = live_chain.web3()
    env = gateway_env(
        rpc_url=live_chain.url,
        manifest=manifest,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        admin_api_key="admin-" + secrets.token_urlsafe(24),
        LEDGER_ENV="production",
    )
    del env["LEDGER_ADMIN_PRIVATE_KEY"]
    gateway = ServingGatewayProcess(env, tmp_path / "gateway.log").start()
    try:
        admin = {"Authorization": f"Bearer {env['LEDGER_ADMIN_API_KEY']}"}
        created = httpx.post(
            f"{gateway.base_url}/v1/admin/brands",
            json={"name": "Live Brand", "symbol": "LIVE"},
            headers={**admin, "Idempotency-Key": "live-brand"},
            timeout=60,
        )
        assert created.status_code == 202, created.text
        answer = created.json()
        tx = answer["admin_transaction"]
        assert tx["chain_id"] == w3.eth.chain_id
        _execute(w3, ADMIN_ADDRESS_KEY, tx["to"], tx["data"], int(tx["value"]))
        final = httpx.get(
            f"{gateway.base_url}/v1/operations/{answer['operation_id']}",
            headers={**admin, "Prefer": "wait=30"},
            timeout=60,
        ).json()
        assert final["status"] == "confirmed", final
        signer = answer["brand"]["signer"]
        _execute(w3, ADMIN_KEY, signer, "0x", 10**18)  # the operator funds the brand signer
        earned = httpx.post(
            f"{gateway.base_url}/v1/earn/purchase",
            json={"member": Member().address, "amount_cents": 2_000, "order_ref": "live-1"},
            params={"wait": "true"},
            headers={"Authorization": f"Bearer {answer['api_key']}", "Idempotency-Key": "live-1"},
            timeout=60,
        )
        assert earned.status_code == 200 and earned.json()["status"] == "confirmed", earned.text
    finally:
        gateway.stop()


def test_make_deploy_names_the_manifest_after_the_chain_and_survives_its_reset(
    live_chain: Anvil, request: pytest.FixtureRequest
) -> None:
    """Two trials. The same chain reached by another URL (another provider, a rotated key in
    the URL) deployed a whole second system: the manifest was named after the URL; it is
    named after the chain (chain id, genesis block). A chain reset (a fresh node with the same
    chain id) stopped every later `make deploy` at brownie's connect (`ContractNotFound`:
    brownie's own records of that chain id); they are dropped, the manifest is the record."""
    w3 = live_chain.web3()
    chain_id = w3.eth.chain_id
    deployer = Account.from_key(ADMIN_KEY).address
    token = _deploy(w3, Account.from_key(ADMIN_KEY), "TestUSD")
    env = {"LEDGER_DEPLOYER_KEY": ADMIN_KEY, "LEDGER_SETTLEMENT_TOKEN": token}

    def deploy(url: str, extra: dict[str, str] | None = None) -> tuple[Path, str]:
        """`make deploy` without LEDGER_MANIFEST: (the manifest, the output)."""
        answer = _run(["make", "deploy", f"RPC_URL={url}"], {**env, **(extra or {})})
        output = answer.stdout + answer.stderr
        assert answer.returncode == 0, output
        assert "Traceback" not in output, output
        network = next(
            line.split()[2]
            for line in answer.stdout.splitlines()
            if line.startswith("deploy: network ")
        )
        request.addfinalizer(lambda: delete_network(network))
        manifest = Path(answer.stdout.strip().splitlines()[-1])
        request.addfinalizer(lambda: manifest.unlink(missing_ok=True))
        return manifest, answer.stdout

    genesis = w3.eth.get_block(0)["hash"].hex().removeprefix("0x")[:8]
    manifest, _ = deploy(live_chain.url)
    assert manifest.name == f"alliance-{chain_id}-{genesis}.json", manifest
    # brownie keeps each URL (a provider's carries its API key): the user's alone (a trial)
    assert NETWORK_CONFIG.stat().st_mode & 0o077 == 0, oct(NETWORK_CONFIG.stat().st_mode)
    nonce = w3.eth.get_transaction_count(deployer)
    # the same chain by another URL: nothing to do, the same manifest
    same, said = deploy(live_chain.url.replace("127.0.0.1", "localhost"))
    assert "nothing to do" in said and same == manifest, said
    assert w3.eth.get_transaction_count(deployer) == nonce

    # a manifest written under the URL's name by an earlier version is still this chain's
    by_url = manifest.with_name(
        f"alliance-{chain_id}-{hashlib.sha256(live_chain.url.encode()).hexdigest()[:8]}.json"
    )
    manifest.rename(by_url)
    request.addfinalizer(lambda: by_url.unlink(missing_ok=True))
    kept, said = deploy(live_chain.url)
    assert "nothing to do" in said and kept == by_url, said
    assert w3.eth.get_transaction_count(deployer) == nonce

    # the chain reset: a fresh node with the same chain id (a new genesis)
    live_chain.stop()
    fresh = start_anvil(extra=["--chain-id", str(chain_id)])
    request.addfinalizer(fresh.stop)
    token = _deploy(fresh.web3(), Account.from_key(ADMIN_KEY), "TestUSD")
    again, said = deploy(fresh.url, {"LEDGER_SETTLEMENT_TOKEN": token})
    assert again != manifest and "nothing to do" not in said, said
    doc = json.loads(again.read_text())
    for name, entry in doc["contracts"].items():
        assert len(fresh.web3().eth.get_code(entry["address"])) > 0, name


def test_make_deploy_refuses_a_deployer_that_cannot_pay_and_stops_when_the_node_does(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Two trials' half-way deploys. A deployer without enough gas money ran out part way: the
    contracts deployed until then were lost (the manifest is written at the end) and it is
    now refused before the first transaction, with what it needs. A node that stopped
    while a deploy waited for a receipt left `make deploy` hanging (brownie waits forever):
    it now stops, naming what it had deployed and the transaction it had sent, and a new
    `make deploy` once the node is back resumes: it keeps what the first run deployed,
    the contract whose transaction landed after the stop included (it deployed everything
    again, paying again)."""
    node = start_anvil(
        extra=["--chain-id", str(random.randint(50_000, 90_000)), "--block-time", "2"]
    )
    request.addfinalizer(node.stop)
    w3 = node.web3()
    chain_id = w3.eth.chain_id
    poor = Account.create()
    funded = w3.eth.send_transaction(
        {"from": Account.from_key(ADMIN_KEY).address, "to": poor.address, "value": 10**15}
    )
    w3.eth.wait_for_transaction_receipt(funded, timeout=60)
    manifest = tmp_path / "deployment.json"
    env = {
        "LEDGER_SETTLEMENT_TOKEN": "none",
        "LEDGER_DEPLOY_NODE_SILENCE_S": "10",
        "LEDGER_MANIFEST": str(manifest),
    }
    for bad, words in (  # a trial: each was a page of traceback
        ({"LEDGER_DEPLOYER_KEY": "0x1234"}, "LEDGER_DEPLOYER_KEY is not a private key"),
        (
            {"LEDGER_DEPLOYER_KEY": ADMIN_KEY, "LEDGER_DEPLOY_NODE_SILENCE_S": "abc"},
            "LEDGER_DEPLOY_NODE_SILENCE_S is how long the node may not answer",
        ),
    ):
        said = _run(["make", "deploy", f"RPC_URL={node.url}"], {**env, **bad})
        output = said.stdout + said.stderr
        assert said.returncode != 0 and words in output, output
        assert "nothing deployed" in output and "Traceback" not in output, output
    assert w3.eth.get_transaction_count(Account.from_key(ADMIN_KEY).address) == 1  # the funding
    refused = _run(
        ["make", "deploy", f"RPC_URL={node.url}"], {**env, "LEDGER_DEPLOYER_KEY": poor.key.hex()}
    )
    output = refused.stdout + refused.stderr
    request.addfinalizer(lambda: delete_network(_network_of(refused.stdout)))
    assert refused.returncode != 0, output
    assert f"the deployer {poor.address} holds 0.001000 ETH; deploying needs" in output, output
    assert "nothing deployed" in output and "Traceback" not in output, output
    assert w3.eth.get_transaction_count(poor.address) == 0

    deploying = {**env, "LEDGER_DEPLOYER_KEY": ADMIN_KEY}
    for stop in ("kill", "hang"):  # a node that is gone, one that stops answering
        said = _deploy_until_the_node_stops(node, deploying, stop)
        network = _network_of(said)
        request.addfinalizer(lambda name=network: delete_network(name))  # type: ignore[misc]
        assert "Traceback" not in said, said
        last = said.split("deploy: the node of ")[-1]
        # the watch's words, or those of brownie's own call failing first (the main thread's;
        # when the confirmation thread's fails, the main one waits on it for good and the
        # watch ends it): which one comes first depends on timing
        ended = ("has not answered for 10 s", "stopped answering")
        assert last.startswith(network) and any(e in last for e in ended), said
        assert "stopped. Deployed before: MembershipBadge at 0x" in last, said
        assert (
            "Sent, and may still land: the transaction deploying AllianceLedger (nonce " in last
        ), said
        assert f"Kept in {manifest}.partial: a new `make deploy`" in last, said
        if stop == "kill":  # a new node: a chain that holds nothing of it
            node = start_anvil(extra=["--chain-id", str(chain_id), "--block-time", "2"])
            request.addfinalizer(node.stop)
    # the hung node answers again: its pool still holds the ledger's transaction
    first_badge = said.split("deploy: MembershipBadge at ")[-1].split()[0]
    sent_ledger = last.split("the transaction deploying AllianceLedger (nonce ")[1]
    sent_ledger = sent_ledger.split("to ")[1].split(")")[0]
    os.kill(node.process.pid, signal.SIGCONT)
    resumed = _run(["make", "deploy", f"RPC_URL={node.url}"], deploying)
    output = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, output
    assert f"resuming the half-way deployment in {manifest}.partial" in output, output
    assert "nothing to do" not in output, output
    assert not Path(f"{manifest}.partial").exists()
    doc = json.loads(manifest.read_text())
    assert doc["contracts"]["MembershipBadge"]["address"] == first_badge, output
    assert doc["contracts"]["AllianceLedger"]["address"] == sent_ledger, output
    assert not Path(f"{manifest}.partial").exists()
    deployer = Account.from_key(ADMIN_KEY).address
    w3 = node.web3()
    created = [
        tx
        for number in range(w3.eth.block_number + 1)
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]
        if tx["from"] == deployer and tx["to"] is None
    ]
    assert len(created) == len(doc["contracts"]), output  # none deployed twice
    assert (
        doc["deployed_block"] <= w3.eth.get_transaction_receipt(created[0]["hash"])["blockNumber"]
    )


def _deploy_until_the_node_stops(
    node: Anvil, env: dict[str, str], stop: str, after: str = "deploy: MembershipBadge at "
) -> str:
    """`make deploy`, stopped once the line `after` is out and the next transaction is sent:
    its node stopped (`hang`: SIGSTOP, it no longer answers, its port still open) or killed
    (`kill`), or the deploy interrupted (`interrupt`: Ctrl-C, SIGINT to its process group);
    all the deploy said. It ends on its own (it hung for good before). A hung node stays
    stopped (the caller sends it SIGCONT)."""
    outer = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    deploying = subprocess.Popen(
        ["make", "deploy", f"RPC_URL={node.url}"],
        cwd=ROOT,
        env={**outer, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a process group of its own, as a terminal's job
    )
    assert deploying.stdout is not None
    lines: list[str] = []
    try:
        for line in deploying.stdout:
            lines.append(line)
            if "Transaction sent" in line and any(s.startswith(after) for s in lines):
                if stop == "hang":
                    os.kill(node.process.pid, signal.SIGSTOP)
                elif stop == "interrupt":
                    os.killpg(deploying.pid, signal.SIGINT)
                else:
                    node.stop()
                break
        rest, _ = deploying.communicate(timeout=600)
    finally:
        deploying.kill()
    assert deploying.returncode != 0
    return "".join(lines) + rest


@pytest.mark.parametrize("before", ["nothing", "a complete deploy, then the chain reset"])
def test_make_deploy_interrupted_in_its_wiring_resumes_and_hands_over(
    request: pytest.FixtureRequest, tmp_path: Path, before: str
) -> None:
    """A review of the resume: a deploy interrupted (Ctrl-C) once the badge's `setLedger` was
    sent could never be resumed. That call, landed after the stop, was sent again by every
    later run and reverted (`MembershipBadgeLedgerAlreadySet`: the badge's ledger is set once);
    and Ctrl-C printed a bare traceback. Now the interrupt says what was sent, and the next run
    waits for that call to land, reads the badge's ledger, and hands governance over.

    After a complete deploy to the same manifest and a reset of the chain (a fresh node, the
    same chain id), the half-way deploy's contracts land at the addresses the manifest names
    (the same deployer's nonces): the manifest reads complete, and a review found the resume
    took it for "nothing to do", leaving governance with the deployer."""
    chain_id = str(random.randint(50_000, 90_000))
    node = start_anvil(extra=["--chain-id", chain_id, "--block-time", "2"])
    request.addfinalizer(node.stop)
    manifest = tmp_path / "deployment.json"
    admin = Account.from_key(ADMIN_ADDRESS_KEY).address
    env = {
        "LEDGER_SETTLEMENT_TOKEN": "none",
        "LEDGER_MANIFEST": str(manifest),
        "LEDGER_DEPLOYER_KEY": ADMIN_KEY,
        "LEDGER_ADMIN_ADDRESS": admin,
    }
    if before != "nothing":
        complete = _run(["make", "deploy", f"RPC_URL={node.url}"], env)
        request.addfinalizer(lambda: delete_network(_network_of(complete.stdout)))
        assert complete.returncode == 0, complete.stdout + complete.stderr
        node.stop()
        node = start_anvil(extra=["--chain-id", chain_id, "--block-time", "2"])
        request.addfinalizer(node.stop)
    said = _deploy_until_the_node_stops(
        node, env, "interrupt", after="deploy: AllianceAuctions at "
    )
    request.addfinalizer(lambda: delete_network(_network_of(said)))
    assert "deploy: interrupted: stopped. Deployed before: MembershipBadge at 0x" in said, said
    assert "Sent, and may still land: the wiring step `badge ledger` (nonce " in said, said
    assert f"Kept in {manifest}.partial" in said and "Traceback" not in said, said
    # `None` is the setting `none` (it read as other settings: everything deployed anew)
    resumed = _run(
        ["make", "deploy", f"RPC_URL={node.url}"], {**env, "LEDGER_SETTLEMENT_TOKEN": "None"}
    )
    output = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, output
    assert f"resuming the half-way deployment in {manifest}.partial" in output, output
    assert "nothing to do" not in output, output
    assert not Path(f"{manifest}.partial").exists()
    doc = json.loads(manifest.read_text())
    w3 = node.web3()

    def deployed(name: str) -> Any:
        entry = doc["contracts"][name]
        return w3.eth.contract(address=entry["address"], abi=entry["abi"])

    ledger, badge = deployed("AllianceLedger"), deployed("MembershipBadge")
    assert badge.functions.ledger().call() == ledger.address
    deployer = Account.from_key(ADMIN_KEY).address
    for name in ("AllianceLedger", "MembershipBadge", "AllianceBadges"):
        governed = deployed(name)
        role = governed.functions.DEFAULT_ADMIN_ROLE().call()
        assert governed.functions.hasRole(role, admin).call(), name
        assert not governed.functions.hasRole(role, deployer).call(), name


def _network_of(stdout: str) -> str:
    return next(
        line.split()[2] for line in stdout.splitlines() if line.startswith("deploy: network ")
    )
