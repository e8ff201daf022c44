"""Shared pieces of the brownie scripts: the deployer account, default rules, the manifest.

The manifest (JSON, path from ``LEDGER_MANIFEST``, default ``data/deployment.json``) is
what the gateway reads: chain id, network, the block of deployment, the admin address,
and each contract's address and ABI.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from brownie import accounts, network, web3

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_VALUE_MICRO_USD = 10_000  # 100 points = 1 USD
REFERENCE_EARN_RULE = (10, 5, 3, 5, 20)  # per USD, review, share, event, referral
# (spend cents, orders, engagements, upgrade gift points) per tier, an example rule set
DEFAULT_TIER_RULES = {
    1: (50_000, 3, 2, 500),  # Silver: 500 USD, 3 orders, 2 engagements in a quarter
    2: (200_000, 10, 6, 2_000),  # Gold
    3: (800_000, 25, 15, 10_000),  # Diamond
}


def manifest_path() -> Path:
    return Path(os.environ.get("LEDGER_MANIFEST", ROOT / "data" / "deployment.json"))


def deployer() -> Any:
    """accounts[0] on a local development chain; else the key in LEDGER_DEPLOYER_KEY
    or the brownie account named by LEDGER_DEPLOYER_ACCOUNT."""
    key = os.environ.get("LEDGER_DEPLOYER_KEY")
    if key:
        return accounts.add(key)
    name = os.environ.get("LEDGER_DEPLOYER_ACCOUNT")
    if name:
        return accounts.load(name)
    if network.show_active() in ("development", "anvil") or web3.eth.chain_id == 31337:
        return accounts[0]
    raise SystemExit("set LEDGER_DEPLOYER_KEY or LEDGER_DEPLOYER_ACCOUNT to deploy to " + network.show_active())


def write_manifest(contracts: dict[str, Any], admin: str, block: int) -> Path:
    path = manifest_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "chain_id": web3.eth.chain_id,
        "network": network.show_active(),
        "deployed_block": block,
        "deployed_at": int(time.time()),
        "admin": admin,
        "contracts": {name: {"address": c.address, "abi": c.abi} for name, c in contracts.items()},
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(path)
    return path


def read_manifest() -> dict[str, Any]:
    return json.loads(manifest_path().read_text())


def is_deployed() -> bool:
    """Whether the manifest names a ledger that has code on the connected chain."""
    path = manifest_path()
    if not path.exists():
        return False
    doc = json.loads(path.read_text())
    if doc.get("chain_id") != web3.eth.chain_id:
        return False
    address = doc["contracts"]["AllianceLedger"]["address"]
    return len(web3.eth.get_code(address)) > 0
