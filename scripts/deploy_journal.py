"""A deployment stopped half way, kept to be resumed: `<manifest>.partial`, beside the manifest.

Two trials' deploys stopped half way (the node went away; the deployer ran dry): what they had
deployed was lost, since the manifest is written at the end, and a new `make deploy` deployed
everything again, paying again. Now the journal records:

- each contract's deploy before its transaction is sent: the nonce it goes at, hence its
  address (CREATE's, keccak(rlp(deployer, nonce))), and the chain's head then;
- the same contract once its transaction is confirmed, with its block;
- each wiring step once its transaction is confirmed.

A new `make deploy` against the same chain, by the same deployer, with the same settings and
the same compiled code, goes on from there (`Journal.landed`):

- a contract whose address holds code is kept, even one whose transaction landed after the
  stop;
- one whose transaction still waits in the node's pool is waited for;
- one whose nonce went without leaving code, or whose transaction the node dropped, is
  deployed again;
- the wiring goes on after its last confirmed step. Every step sets a value, so a step that
  landed after the stop and is sent again changes nothing; the handover of the admin roles
  reads them first (`scripts/deploy.py`).

Under other settings, or on a chain that no longer holds a confirmed contract (reset), the
journal is set aside and everything is deployed anew, saying so. The journal is deleted once
the manifest is written.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from brownie import web3

#: how often a resumed deploy asks whether a transaction of the earlier run left the pool
POOL_POLL_S = 1.0


def journal_path(manifest: Path) -> Path:
    return manifest.with_name(manifest.name + ".partial")


def has_code(address: str) -> bool:
    return len(web3.eth.get_code(address)) > 0


class Journal:
    """What one deployment has sent and what the chain confirmed of it (see the module).

    `contracts`: name -> {"address", "nonce", "head" (the chain's head when its transaction
    was sent), "block" (once confirmed: its block, or for one that landed after a stop the
    head when it was sent, a block before it; else None)}; `wired`: the wiring steps
    confirmed, by key, in order."""

    def __init__(self, path: Path, settings: dict[str, Any]) -> None:
        self.path = path
        self.settings = settings
        self.contracts: dict[str, dict[str, Any]] = {}
        self.wired: list[str] = []

    @classmethod
    def open(cls, path: Path, settings: dict[str, Any]) -> Journal:
        """The journal at `path` when an earlier run left one under the same `settings` on
        this chain (it prints what it resumes); a new, empty one otherwise (it prints why an
        earlier one is set aside)."""
        journal = cls(path, settings)
        if not path.exists():
            return journal
        try:
            doc = json.loads(path.read_text())
            kept, contracts, wired = doc["settings"], dict(doc["contracts"]), list(doc["wired"])
        except (OSError, ValueError, KeyError, TypeError):
            print(f"deploy: {path} is not a deploy journal; deploying anew")
            return journal
        if kept != settings:
            changed = sorted(k for k in {*kept, *settings} if kept.get(k) != settings.get(k))
            print(
                f"deploy: the half-way deployment in {path} was made with other settings"
                f" ({', '.join(changed)}); deploying anew"
            )
            return journal
        confirmed = [n for n, e in contracts.items() if e["block"] is not None]
        gone = [n for n in confirmed if not has_code(contracts[n]["address"])]
        if gone:
            print(
                f"deploy: the chain no longer holds {', '.join(gone)} of the half-way deployment"
                f" in {path} (a reset chain); deploying anew"
            )
            return journal
        journal.contracts, journal.wired = contracts, wired
        print(
            f"deploy: resuming the half-way deployment in {path}: {len(contracts)} contract(s)"
            f" sent and {len(wired)} wiring step(s) confirmed before"
        )
        return journal

    def save(self) -> None:
        """Writes the journal atomically (temporary file, fsync, rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"settings": self.settings, "contracts": self.contracts, "wired": self.wired}
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w") as out:
            out.write(json.dumps(doc, indent=1))
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self.path)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

    def sending(self, name: str, nonce: int, address: str) -> None:
        """Records contract `name`'s deploy at `nonce` (to land at `address`) before it is sent."""
        head = web3.eth.block_number
        self.contracts[name] = {"address": address, "nonce": nonce, "head": head, "block": None}
        self.save()

    def confirmed(self, name: str, block: int | None) -> None:
        self.contracts[name]["block"] = block
        self.save()

    def wired_step(self, key: str) -> None:
        self.wired.append(key)
        self.save()

    def first_block(self) -> int | None:
        """A block at or before the deployment's first contract: its block when confirmed,
        else the head when it was sent (a lower bound: the gateway indexes from there)."""
        if not self.contracts:
            return None
        first = next(iter(self.contracts.values()))
        return int(first["block"] if first["block"] is not None else first["head"])

    def landed(self, name: str, deployer: str) -> str | None:
        """The address of contract `name` when an earlier run's transaction left code there
        (waiting while that transaction is still in the node's pool); None when it is to be
        deployed (again)."""
        entry = self.contracts.get(name)
        if entry is None:
            return None
        address, nonce = str(entry["address"]), int(entry["nonce"])
        said = False
        while True:
            mined = web3.eth.get_transaction_count(deployer) > nonce  # read before the code
            if has_code(address):
                return address
            if mined:  # its nonce went without leaving code: reverted, or another transaction
                print(f"deploy: {name}'s earlier transaction (nonce {nonce}) left no code; again")
                return None
            if web3.eth.get_transaction_count(deployer, "pending") <= nonce:
                print(f"deploy: {name}'s earlier transaction (nonce {nonce}) is gone; again")
                return None
            if not said:
                print(f"deploy: waiting for {name}'s earlier transaction (nonce {nonce}) to land")
                said = True
            time.sleep(POOL_POLL_S)
