"""anvil on a port of its own, and the contracts deployed from build/contracts with web3.

The gateway only reads the deployment manifest; `deploy` writes one in the same
shape as the lead's `scripts/deploy.py` does, so either can serve the tests.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rlp  # type: ignore[import-untyped]
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.abi import function_abi_to_4byte_selector
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from ledger_api.chain.earned import earned_op_ids
from support.progress import wait_for

ROOT = Path(__file__).resolve().parents[3]
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
BUILD = ROOT / "build" / "contracts"
#: anvil's default mnemonic accounts (public test keys)
ADMIN_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
CHARITY_POOL = to_checksum_address("0x000000000000000000000000000000000000c0de")


#: every anvil `start_anvil` started and no `Anvil.stop` stopped yet
_RUNNING: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _stop_left_running() -> None:
    """Stops the nodes still running when the test process ends: one whose fixture failed
    between its start and its `yield` (its `stop` after the `yield` never ran) was left
    running for good: a session whose contracts' build was missing left 10 anvils behind."""
    for process in list(_RUNNING):
        if process.poll() is None:
            process.terminate()
    for process in list(_RUNNING):
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """`count` different free ports: each picked while the others are still bound (two
    `free_port()` calls in a row may answer the same port)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@dataclass
class Anvil:
    process: subprocess.Popen[bytes]
    port: int
    state: Path | None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def web3(self) -> Web3:
        return Web3(HTTPProvider(self.url, exception_retry_configuration=None))

    def rpc(self, method: str, *params: Any) -> Any:
        response = self.web3().provider.make_request(method, list(params))  # type: ignore[arg-type]
        if "error" in response:
            raise RuntimeError(response["error"])
        return response.get("result")

    def stop(self) -> None:
        _RUNNING.discard(self.process)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_anvil(
    *,
    port: int | None = None,
    state: Path | None = None,
    extra: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> Anvil:
    """anvil, ready for RPC. Without `port` it listens on a port the system gives it (`--port
    0`): a port picked free and bound later may be taken meanwhile on a busy machine. With
    `port` (a restart on a known one) it fails if that port is taken: the node answering there
    would be another one."""
    if not ANVIL.exists() and shutil.which("anvil") is None:
        raise RuntimeError("anvil is not installed (run the toolchain setup)")
    args = [
        str(ANVIL if ANVIL.exists() else "anvil"),
        "--port",
        str(port or 0),
        "--silent",
        "--gas-limit",
        "30000000",
        # a suite onboards hundreds of brands (the fuzzers too), each signer funded by the
        # admin with 100 ETH: the default 10,000 ETH would run dry
        "--balance",
        "100000000",
        # no historical state on disk: by default anvil writes each older block's state
        # under ~/.foundry/anvil/tmp, and a killed anvil leaves it there; the last 64 stay in
        # memory (with none, a read at "latest" fails when a block lands while it runs)
        "--prune-history",
        "64",
    ]
    if state is not None:
        args += ["--state", str(state)]
    args += extra or []
    process = subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    _RUNNING.add(process)

    def bound() -> int | None:
        ports = listening_ports(process.pid)
        if port is not None:
            return port if port in ports else None
        return min(ports, default=None)

    def answers() -> bool:
        try:
            anvil.rpc("eth_chainId")
        except Exception:  # noqa: BLE001 - not up yet
            return False
        return True

    def alive() -> bool:
        return process.poll() is None

    try:
        anvil = Anvil(process, wait_for(bound, what="anvil's port", alive=alive), state)
        wait_for(answers, what="anvil's RPC", alive=alive)
    except AssertionError as error:
        Anvil(process, port or 0, state).stop()
        raise RuntimeError(f"anvil did not start: {error}") from None
    return anvil


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process `pid` listens on (Linux: its socket descriptors in /proc/PID/fd,
    found among the LISTEN rows of /proc/PID/net/tcp and tcp6). Empty once it has exited."""
    sockets = set()
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return set()
    for descriptor in descriptors:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{descriptor}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            sockets.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in sockets:  # 0A: LISTEN; 9: the inode
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def artifact(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((BUILD / f"{name}.json").read_text())
    if name == "AllianceLedger":
        # The ledger's published ABI includes the brand administration it runs by delegatecall
        # from its fallback (AllianceLedgerAdmin), as scripts/ledger_abi.py publishes it.
        own = {function_abi_to_4byte_selector(e) for e in data["abi"] if e["type"] == "function"}
        admin = json.loads((BUILD / "AllianceLedgerAdmin.json").read_text())["abi"]
        data["abi"] += [
            e
            for e in admin
            if e["type"] == "function" and function_abi_to_4byte_selector(e) not in own
        ]
    return data


def _send(w3: Web3, account: LocalAccount, tx: dict[str, Any]) -> dict[str, Any]:
    tx.setdefault("nonce", w3.eth.get_transaction_count(account.address))
    tx.setdefault("chainId", w3.eth.chain_id)
    tx.setdefault("gas", 12_000_000)
    tx.setdefault("maxFeePerGas", 20 * 10**9)
    tx.setdefault("maxPriorityFeePerGas", 10**9)
    signed = account.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    if receipt["status"] != 1:
        raise RuntimeError(f"transaction failed: {receipt}")
    return dict(receipt)


def _deploy(w3: Web3, admin: LocalAccount, name: str, *args: Any) -> str:
    data = artifact(name)
    contract = w3.eth.contract(abi=data["abi"], bytecode=data["bytecode"])
    tx = contract.constructor(*args).build_transaction({"from": admin.address, "gas": 12_000_000})
    tx.pop("gasPrice", None)
    receipt = _send(w3, admin, dict(tx))
    return to_checksum_address(receipt["contractAddress"])


def deploy(
    anvil: Anvil, manifest: Path, *, settlement: bool = False, units_per_usd: int = 10**6
) -> dict[str, Any]:
    """Deploys MembershipBadge, AllianceLedger, AllianceBadges, AllianceLedgerLens, AlliancePolls,
    EnterpriseAccounts and AllianceAuctions (ISSUER_ROLE on the badges) (with `settlement`,
    TestUSD and a SettlementVault settling in it at `units_per_usd` token units a USD, wired as
    scripts/deploy.py wires them); writes the manifest."""
    w3 = anvil.web3()
    admin: LocalAccount = Account.from_key(ADMIN_KEY)
    start_block = w3.eth.block_number + 1
    nonce = w3.eth.get_transaction_count(admin.address)
    predicted_ledger = to_checksum_address(
        keccak(rlp.encode([bytes.fromhex(admin.address[2:]), nonce + 1]))[12:]
    )
    # The badge links the ledger at construction (LEDGER_ROLE and the one pause it obeys), so no
    # `setLedger` transaction is needed here; scripts/deploy.py links it after the fact.
    badge = _deploy(w3, admin, "MembershipBadge", admin.address, predicted_ledger)
    ledger = _deploy(w3, admin, "AllianceLedger", admin.address, badge, CHARITY_POOL)
    assert ledger == predicted_ledger
    badges = _deploy(w3, admin, "AllianceBadges", ledger, admin.address)
    lens = _deploy(w3, admin, "AllianceLedgerLens", ledger)
    polls = _deploy(w3, admin, "AlliancePolls", ledger, badge, badges, admin.address)
    enterprises = _deploy(w3, admin, "EnterpriseAccounts", ledger)
    auctions = _deploy(w3, admin, "AllianceAuctions", ledger, lens, badges)
    badges_contract = w3.eth.contract(address=badges, abi=artifact("AllianceBadges")["abi"])
    issuer = badges_contract.functions.ISSUER_ROLE().call()
    tx = badges_contract.functions.grantRole(issuer, auctions).build_transaction(
        {"from": admin.address, "gas": 500_000}
    )
    tx.pop("gasPrice", None)
    tx.pop("nonce", None)
    _send(w3, admin, dict(tx))
    document = {
        "chain_id": w3.eth.chain_id,
        "network": "anvil-test",
        "deployed_block": start_block,
        "admin": admin.address,
        "contracts": {
            "AllianceLedger": {"address": ledger, "abi": artifact("AllianceLedger")["abi"]},
            "MembershipBadge": {"address": badge, "abi": artifact("MembershipBadge")["abi"]},
            "AllianceBadges": {"address": badges, "abi": artifact("AllianceBadges")["abi"]},
            "AllianceLedgerLens": {"address": lens, "abi": artifact("AllianceLedgerLens")["abi"]},
            "AlliancePolls": {"address": polls, "abi": artifact("AlliancePolls")["abi"]},
            "EnterpriseAccounts": {
                "address": enterprises,
                "abi": artifact("EnterpriseAccounts")["abi"],
            },
            "AllianceAuctions": {"address": auctions, "abi": artifact("AllianceAuctions")["abi"]},
        },
    }
    if settlement:
        document["contracts"].update(_deploy_settlement(w3, admin, ledger, units_per_usd))
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps(document))
    return document


def _deploy_settlement(
    w3: Web3, admin: LocalAccount, ledger: str, units_per_usd: int
) -> dict[str, Any]:
    """TestUSD and a SettlementVault (`units_per_usd` units per USD) holding the ledger's
    SETTLER_ROLE, registered as a system address."""
    token = _deploy(w3, admin, "TestUSD")
    vault = _deploy(w3, admin, "SettlementVault", admin.address, ledger, token, units_per_usd)
    contract = w3.eth.contract(address=ledger, abi=artifact("AllianceLedger")["abi"])
    for function in (
        contract.functions.grantRole(contract.functions.SETTLER_ROLE().call(), vault),
        contract.functions.setSystemAddress(vault, True),
    ):
        tx = function.build_transaction({"from": admin.address, "gas": 500_000})
        tx.pop("gasPrice", None)
        tx.pop("nonce", None)
        _send(w3, admin, dict(tx))
    return {
        "TestUSD": {"address": token, "abi": artifact("TestUSD")["abi"]},
        "SettlementVault": {"address": vault, "abi": artifact("SettlementVault")["abi"]},
    }


def earned_topic(manifest: Path, name: str = "PointsEarned") -> str:
    """`PointsEarned`'s topic (or `PointsEarnedBatch`'s), from the deployed ABI (its signature
    is the contract's, so a new event field changes it here too)."""
    abi = json.loads(manifest.read_text())["contracts"]["AllianceLedger"]["abi"]
    (event,) = (e for e in abi if e.get("type") == "event" and e["name"] == name)
    signature = f"{name}({','.join(i['type'] for i in event['inputs'])})"
    return "0x" + keccak(text=signature).hex()


def earned_logs(w3: Web3, manifest: Path, brand_id: int | None = None) -> list[tuple[int, int]]:
    """(brand, op id) of every earn on chain (of `brand_id` when given): one per `PointsEarned`
    of a lone earn, one per record of a batch's `PointsEarnedBatch` (issue 15)."""
    ledger = json.loads(manifest.read_text())["contracts"]["AllianceLedger"]["address"]
    earned, batch = earned_topic(manifest), earned_topic(manifest, "PointsEarnedBatch")
    topics: list[Any] = [[earned, batch]]
    if brand_id is not None:
        topics.append("0x" + brand_id.to_bytes(32, "big").hex())
    logs = w3.eth.get_logs(
        {
            "address": w3.to_checksum_address(ledger),
            "fromBlock": 0,
            "toBlock": "latest",
            "topics": topics,
        }
    )
    return earned_op_ids(logs, bytes.fromhex(earned[2:]), bytes.fromhex(batch[2:]))  # type: ignore[arg-type]


def applied_op_ids(w3: Web3, manifest: Path, brand_id: int) -> Counter[int]:
    """How many earns the chain holds per op id of the brand."""
    return Counter(op_id for _, op_id in earned_logs(w3, manifest, brand_id))
