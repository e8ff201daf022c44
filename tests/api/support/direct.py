"""A brand that holds its own key: its signer out of the gateway's keystore, and the deployed
contracts, to call the chain directly as a hostile brand would (issue 10)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_account import Account
from sqlalchemy import text
from web3 import Web3
from web3.contract import Contract

from support.chain import Anvil, _send
from support.gateway import Brand, Gateway


def contract(anvil: Anvil, manifest: Path, name: str) -> tuple[Web3, Contract]:
    """A web3 handle on the manifest's contract `name` (its published ABI)."""
    entry = json.loads(manifest.read_text())["contracts"][name]
    w3 = anvil.web3()
    return w3, w3.eth.contract(address=entry["address"], abi=entry["abi"])


def signer_account(gateway: Gateway, brand: Brand) -> Any:
    """The brand's signing key, out of the gateway's keystore: a brand that holds its key."""
    with gateway.runtime.db.read() as session:
        keystore = session.execute(
            text("SELECT keystore FROM signers WHERE address = :a"), {"a": brand.signer}
        ).scalar_one()
    return Account.from_key(
        Account.decrypt(json.loads(keystore), gateway.env["LEDGER_KEY_PASSPHRASE"])
    )


def direct_earn(w3: Web3, ledger: Contract, signer: Any, op: tuple[Any, ...]) -> None:
    """Mines `earn(op)` as the brand's own transaction (a fixed gas: no estimate refuses it
    first); RuntimeError when it fails on chain."""
    tx = ledger.functions.earn(op).build_transaction({"from": signer.address, "gas": 1_000_000})
    tx.pop("gasPrice", None)
    _send(w3, signer, dict(tx))
