"""Shared pieces of the brownie scripts: the deployer account, default rules, the manifest.

The manifest (JSON, path from ``LEDGER_MANIFEST``, default ``data/deployment.json``) is
what the gateway reads: chain id, network, the block of deployment, the admin address,
each contract's address and ABI, and the compiler settings the contracts were built with.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import brownie
from brownie import accounts, network, web3

from scripts.deploy_journal import Journal, journal_path
from scripts.ledger_abi import publish_admin_functions

ROOT = Path(__file__).resolve().parent.parent
ZERO_ADDRESS = "0x" + "00" * 20
#: chain ids of local development nodes: anvil and hardhat (31337), ganache and geth --dev (1337)
DEVELOPMENT_CHAIN_IDS = (31337, 1337)
REFERENCE_VALUE_MICRO_USD = 10_000  # 100 points = 1 USD
REFERENCE_EARN_RULE = (10, 5, 3, 5, 20)  # per USD, review, share, event, referral
# (spend cents, orders, engagements, upgrade gift points) per tier, an example rule set
DEFAULT_TIER_RULES = {
    1: (50_000, 3, 2, 500),  # Silver: 500 USD, 3 orders, 2 engagements in a quarter
    2: (200_000, 10, 6, 2_000),  # Gold
    3: (800_000, 25, 15, 10_000),  # Diamond
}


def record_deployments_without_sources() -> None:
    """Lets brownie 1.22 record deployments on a live network without raising.

    On a live (non-development) network brownie records each contract it deploys or attaches
    to in its deployments database; its compiled `_add_deployment` expects the contract's
    sources as a dict but gets the project's `Sources` object and raises `TypeError: dict
    object expected; got brownie.project.sources.Sources` (in a background thread after a
    deploy, in the caller of `Container.at`). Without `allSourcePaths` in the build data it
    records the deployment without sources. The records only serve brownie's own
    `Contract(alias)` look-ups (this project's record is the manifest) and source-level
    traces, which brownie does not run on live networks. Called when this module is imported
    (by every script of the project, under `brownie run` or tools/brownie_run.py).
    """
    from brownie import project
    from brownie._config import CONFIG

    if not network.is_connected() or CONFIG.network_type != "live":
        return
    for loaded in project.get_loaded_projects():
        for container in loaded._containers.values():
            container._build.pop("allSourcePaths", None)


record_deployments_without_sources()


def manifest_path() -> Path:
    return Path(os.environ.get("LEDGER_MANIFEST", ROOT / "data" / "deployment.json"))


def is_development_chain() -> bool:
    """A local development chain: brownie's development networks, the chain ids of anvil,
    hardhat, ganache and geth --dev, or LEDGER_DEV_CHAIN=1. Only there is a test settlement
    token deployed and the node's first account used as deployer by default."""
    if os.environ.get("LEDGER_DEV_CHAIN") == "1":
        return True
    return (
        network.show_active() in ("development", "anvil")
        or web3.eth.chain_id in DEVELOPMENT_CHAIN_IDS
    )


def deployer() -> Any:
    """The key in LEDGER_DEPLOYER_KEY, or the brownie account named by LEDGER_DEPLOYER_ACCOUNT;
    on a development chain without either, the node's first account."""
    key = os.environ.get("LEDGER_DEPLOYER_KEY")
    if key:
        try:
            return accounts.add(key)
        except ValueError as refused:  # not 32 bytes of hex: one line, not a traceback
            raise SystemExit(
                f"deploy: LEDGER_DEPLOYER_KEY is not a private key (32 bytes, 64 hex digits):"
                f" {refused}; nothing deployed"
            ) from None
    name = os.environ.get("LEDGER_DEPLOYER_ACCOUNT")
    if name:
        return accounts.load(name)
    if is_development_chain() and len(accounts) > 0:
        return accounts[0]
    raise SystemExit(
        "set LEDGER_DEPLOYER_KEY or LEDGER_DEPLOYER_ACCOUNT, exported to make's environment "
        "(`export LEDGER_DEPLOYER_KEY`; a variable set on a line of its own is not), to deploy to "
        + network.show_active()
    )


def ledger_container() -> Any:
    """brownie's AllianceLedger container, its ABI extended with the brand administration's
    functions (AllianceLedgerAdmin, reached through the ledger's fallback): the ABI the manifest
    publishes for the ledger."""
    publish_admin_functions(brownie.AllianceLedger, brownie.AllianceLedgerAdmin)
    return brownie.AllianceLedger


class Deployment:
    """The contracts deployed so far by one run of scripts/deploy.py, in order, each recorded
    in the run's `Journal` before it is sent and once it is confirmed (a run stopped half way
    is resumed by the next: `scripts/deploy_journal.py`)."""

    def __init__(self, sender: Any) -> None:
        self.sender = sender
        self.admin: str = sender.address
        self.charity: str = sender.address
        self.token: str = ""
        self.units_per_usd = 0
        self.contracts: dict[str, Any] = {}
        self.journal = Journal(journal_path(manifest_path()), {})

    @property
    def first_block(self) -> int | None:
        return self.journal.first_block()

    def address(self, name: str) -> str:
        return str(self.contracts[name].address)

    def tx(self) -> dict[str, Any]:
        """A transaction's settings: from the deployer, at its next nonce counting those in
        the node's pool (an earlier run's transaction still there is not replaced)."""
        nonce = web3.eth.get_transaction_count(self.sender.address, "pending")
        return {"from": self.sender, "nonce": nonce}

    def deploy(self, name: str, arguments: Callable[[Deployment], tuple[Any, ...]]) -> Any:
        """Contract `name` with `arguments(self)`: the one an earlier run of this deployment
        left on chain (`Journal.landed`), else deployed now."""
        container = ledger_container() if name == "AllianceLedger" else getattr(brownie, name)
        kept = self.journal.landed(name, self.sender.address)
        if kept is not None:
            contract = container.at(kept)
            print(f"deploy: {name} at {kept} (sent by an earlier run)")
            entry = self.journal.contracts[name]  # landed after a stop: a block before it
            block = entry["block"] if entry["block"] is not None else entry["head"]
        else:
            tx = self.tx()
            address = str(self.sender.get_deployment_address(tx["nonce"]))
            self.journal.sending(name, tx["nonce"], address)
            contract = container.deploy(*arguments(self), tx)
            print(f"deploy: {name} at {contract.address}")
            block = contract.tx.block_number
        self.journal.confirmed(name, block)
        self.contracts[name] = contract
        return contract

    def wire(
        self,
        key: str,
        send: Callable[[dict[str, Any]], Any],
        done: Callable[[], bool] = lambda: False,
    ) -> None:
        """One wiring step, `send(tx)`, unless an earlier run of this deployment confirmed it
        (one it sent without seeing it confirmed is sent again: `scripts/deploy.py`'s steps
        allow that) or `done()` reads it on chain already (then nothing is sent, and a stop
        names no transaction of it)."""
        if key in self.journal.wired:
            return
        if done():
            self.journal.wired_step(key)
            return
        tx = self.tx()
        self.journal.wiring_step(key, tx["nonce"])
        send(tx)
        self.journal.wired_step(key)

    def verify_code(self) -> None:
        """Every deployed address holds code (raises SystemExit naming the ones that do not)."""
        empty = [name for name in self.contracts if len(web3.eth.get_code(self.address(name))) == 0]
        if empty:
            raise SystemExit(f"deploy: no code at the address of {', '.join(empty)}")


def _compiler_settings(contract: Any) -> dict[str, Any]:
    """solc version, optimizer, EVM version (from the build) and via-IR (from the project
    config)."""
    from brownie._config import CONFIG

    compiler = dict(contract._build.get("compiler", {}))
    settings = {
        key: compiler[key] for key in ("version", "optimizer", "evm_version") if key in compiler
    }
    settings["via_ir"] = bool(
        CONFIG.settings.get("compiler", {}).get("solc", {}).get("viaIR", False)
    )
    return settings


def write_manifest(deployment: Deployment) -> Path:
    """Writes the manifest atomically (temporary file, fsync, rename); returns its path."""
    path = manifest_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    first = next(iter(deployment.contracts.values()))
    doc = {
        "chain_id": web3.eth.chain_id,
        "network": network.show_active(),
        "deployed_block": deployment.first_block,
        "deployed_at": int(time.time()),
        "admin": deployment.admin,
        "deployer": deployment.sender.address,
        "compiler": _compiler_settings(first),
        "contracts": {
            name: {"address": c.address, "abi": c.abi} for name, c in deployment.contracts.items()
        },
    }
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w") as out:
        out.write(json.dumps(doc, indent=1))
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)
    return path.resolve()


def read_manifest() -> dict[str, Any]:
    return json.loads(manifest_path().read_text())


def deployed_manifest() -> Path | None:
    """The manifest's path when it describes this chain and every contract it names has code."""
    path = manifest_path()
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text())
        if doc.get("chain_id") != web3.eth.chain_id or not doc.get("contracts"):
            return None
        addresses = [entry["address"] for entry in doc["contracts"].values()]
    except (ValueError, KeyError, TypeError):
        return None
    if all(len(web3.eth.get_code(address)) > 0 for address in addresses):
        return path.resolve()
    return None


def is_deployed() -> bool:
    """Whether the manifest names contracts that all have code on the connected chain."""
    return deployed_manifest() is not None


#: gas a constructor may spend on its own storage writes and calls, on top of its code's price
CONSTRUCTOR_GAS = 300_000
#: gas one of the wiring's transactions (a role, a tier rule, a system address) may take
WIRING_TX_GAS = 150_000


def creation_gas(name: str, containers: dict[str, Any] | None = None) -> int:
    """An upper bound of the gas that deploying contract `name` takes (EIP-2028 and the
    Yellow Paper's prices): the transaction with CREATE (53,000), 16 per byte of its init
    code, 200 per byte of the code it leaves, and `CONSTRUCTOR_GAS`; the same (with 32,000)
    for each contract its constructor creates, found by its init code inside this one's
    (AllianceLedger's administration, AllianceAuctions' escrow implementation)."""
    containers = containers if containers is not None else compiled_containers()
    init = containers[name].bytecode
    gas = 53_000 + 16 * (len(init) // 2) + 200 * _runtime_bytes(containers[name])
    for other_name, other in containers.items():
        other_init = other.bytecode
        if other_name != name and other_init and other_init in init:
            gas += 32_000 + 200 * _runtime_bytes(other) + CONSTRUCTOR_GAS
    return gas + CONSTRUCTOR_GAS


def compiled_containers() -> dict[str, Any]:
    """brownie's container of each compiled contract of the project, by name."""
    return {c._name: c for loaded in brownie.project.get_loaded_projects() for c in loaded}


def _runtime_bytes(container: Any) -> int:
    return len(container._build.get("deployedBytecode", "").removeprefix("0x")) // 2


def check_funds(sender: Any, names: list[str], wiring_transactions: int) -> None:
    """Refuses (SystemExit, nothing deployed) when the deployer cannot pay for deploying
    `names` and the wiring's transactions at the node's gas price now; prints the estimate.
    A trial's deployer ran out of gas money half way: the contracts deployed until then were
    lost (no manifest is written before the end) and a new run deploys everything again."""
    containers = compiled_containers()  # read once for every contract's price
    gas = sum(creation_gas(name, containers) for name in names)
    gas += wiring_transactions * WIRING_TX_GAS
    price = _max_fee()
    needed, held = gas * price, int(web3.eth.get_balance(sender.address))
    estimate = f"about {gas:,} gas at up to {price / 1e9:.3f} gwei"
    if held < needed:
        raise SystemExit(
            f"deploy: the deployer {sender.address} holds {held / 1e18:.6f} ETH; deploying "
            f"needs up to {needed / 1e18:.6f} ETH, {estimate}: fund it and run again; nothing"
            " deployed"
        )
    print(
        f"deploy: up to {needed / 1e18:.6f} ETH, {estimate}; the deployer holds {held / 1e18:.6f}"
    )


def _max_fee() -> int:
    """The most a gas unit may cost a transaction sent now, which the node checks the balance
    against (EIP-1559: twice the base fee and the priority fee, as brownie sets them; the gas
    price on a chain without a base fee)."""
    base = web3.eth.get_block("latest").get("baseFeePerGas")
    if base is None:
        return int(web3.eth.gas_price)
    return 2 * int(base) + int(web3.eth.max_priority_fee)


def silence_s() -> float:
    """LEDGER_DEPLOY_NODE_SILENCE_S (default 60): seconds, a number above 0; SystemExit else
    (checked before anything is deployed)."""
    value = os.environ.get("LEDGER_DEPLOY_NODE_SILENCE_S", "60").strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise SystemExit(
            "deploy: LEDGER_DEPLOY_NODE_SILENCE_S is how long the node may not answer before"
            f" the deploy stops, seconds above 0, not '{value}'; nothing deployed"
        )
    return seconds


class NodeWatch(threading.Thread):
    """Ends the deploy (exit 1) when the node stops answering for `silence_s` seconds
    (LEDGER_DEPLOY_NODE_SILENCE_S, default 60): brownie waits for a receipt forever once the
    node is gone (a trial's `make deploy` hung when its node stopped), so the deploy says
    what it deployed before and stops. The node is asked `eth_chainId` every few seconds, on
    a connection of its own."""

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(name="node-watch", daemon=True)
        self.deployment = deployment
        self.url = str(web3.provider.endpoint_uri)  # type: ignore[attr-defined]
        self.silence_s = silence_s()

    def start(self) -> None:
        """Watches from now on; a thread of brownie's (it confirms each transaction in one of
        its own) that loses the node says so in a line instead of a page of traceback."""
        default = threading.excepthook

        def lost_node(args: threading.ExceptHookArgs) -> None:
            if not isinstance(args.exc_value, OSError):
                default(args)
                return
            name = args.thread.name if args.thread is not None else "a thread"
            print(f"deploy: {name} lost the node ({args.exc_type.__name__})", file=sys.stderr)

        threading.excepthook = lost_node
        super().start()

    def _answers(self) -> bool:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
        request = urllib.request.Request(
            self.url, body.encode(), {"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return "result" in json.loads(answer.read())
        except (OSError, ValueError):
            return False

    def run(self) -> None:
        last = time.monotonic()
        while True:
            time.sleep(min(2.0, self.silence_s / 4))
            if self._answers():
                last = time.monotonic()
            elif time.monotonic() - last > self.silence_s:
                print(self.said(f"has not answered for {self.silence_s:.0f} s"), file=sys.stderr)
                sys.stderr.flush()
                os._exit(1)

    def said(self, what: str) -> str:
        """The deploy's last words when its node is gone: `what` the node did, and what was
        deployed before."""
        return stopped_words(self.deployment, f"the node of {network.show_active()} {what}")


def stopped_words(deployment: Deployment, why: str) -> str:
    """The deploy's last words when it stops half way (`why`: its node gone, an interrupt):
    what it deployed, what it sent that may land yet, and where the next run resumes."""
    journal = deployment.journal
    deployed = ", ".join(
        f"{name} at {contract.address}" for name, contract in deployment.contracts.items()
    )
    in_flight = "".join(f" Sent, and may still land: {sent}." for sent in journal.in_flight())
    return (  # on a line of its own, after brownie's spinner
        f"\ndeploy: {why}: stopped. Deployed before: {deployed or 'nothing'}.{in_flight} Kept"
        f" in {journal.path}: a new `make deploy` with the same settings resumes from there."
    )
