"""A deployment stopped half way, kept to be resumed: `<manifest>.partial`, beside the manifest.

Two trials' deploys stopped half way (the node went away; the deployer ran dry): what they had
deployed was lost, since the manifest is written at the end, and a new `make deploy` deployed
everything again, paying again. Now the journal records:

- each contract's deploy before its transaction is sent: the nonce it goes at, hence its
  address (CREATE's, keccak(rlp(deployer, nonce))), and the chain's head then;
- the same contract once its transaction is confirmed, with its block;
- each wiring step before its transaction is sent (its nonce), and once it is confirmed.

A new `make deploy` against the same chain, by the same deployer, with the same settings and
the same compiled code, goes on from there (`Journal.landed`):

- a contract whose address holds code is kept, even one whose transaction landed after the
  stop;
- one whose transaction still waits in the node's pool is waited for;
- one whose nonce went without leaving code, or whose transaction the node dropped, is
  deployed again;
- the wiring goes on after its last confirmed step. A step that landed after the stop may be
  sent again: each either sets a value (the same again changes nothing) or reads the chain
  first (the badge's ledger, set once; the handover of the admin roles: `scripts/deploy.py`).

Under other settings (addresses compared in their checksum form), or on another chain (its
genesis block, a reset node), the journal is set aside and everything is deployed anew, saying
so. The journal is deleted once the manifest is written.
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
#: how often it says again that it waits for one
POOL_REMINDER_S = 60.0


def journal_path(manifest: Path) -> Path:
    return manifest.with_name(manifest.name + ".partial")


def has_code(address: str) -> bool:
    return len(web3.eth.get_code(address)) > 0


class Journal:
    """What one deployment has sent and what the chain confirmed of it (see the module).

    `contracts`: name -> {"address", "nonce", "head" (the chain's head when its transaction
    was sent), "block" (once confirmed: its block, or for one that landed after a stop the
    head when it was sent, a block before it; else None)}; `wired`: the wiring steps
    confirmed, by key, in order; `wiring`: the step sent and not confirmed yet, with its
    nonce ({"key", "nonce"}; None when none)."""

    def __init__(self, path: Path, settings: dict[str, Any]) -> None:
        self.path = path
        self.settings = settings
        self.contracts: dict[str, dict[str, Any]] = {}
        self.wired: list[str] = []
        self.wiring: dict[str, Any] | None = None

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
            for entry in contracts.values():  # each entry's fields, of their types
                str(entry["address"]), int(entry["nonce"]), int(entry["head"])
                if entry["block"] is not None:
                    int(entry["block"])
            wiring = doc.get("wiring")
            if wiring is not None:
                str(wiring["key"]), int(wiring["nonce"])
            confirmed = [n for n, e in contracts.items() if e["block"] is not None]
            addresses = {n: str(contracts[n]["address"]) for n in confirmed}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            print(f"deploy: {path} is not a deploy journal; deploying anew")
            return journal
        if kept != settings:
            changed = sorted(k for k in {*kept, *settings} if kept.get(k) != settings.get(k))
            where = (  # another chain, or this one reset: what it deployed is not on this one
                " It was another chain, or this one reset: its contracts are not on this one."
                if {"chain_id", "genesis"} & set(changed)
                else f" What it deployed stays where it is: {_named(contracts)}"
            )
            print(
                f"deploy: the half-way deployment in {path} was made with other settings"
                f" ({', '.join(changed)}); deploying anew.{where}"
            )
            return journal
        gone = [n for n in confirmed if not has_code(addresses[n])]
        if gone:
            print(
                f"deploy: the chain no longer holds {', '.join(gone)} of the half-way deployment"
                f" in {path} (a reset chain); deploying anew"
            )
            return journal
        journal.contracts, journal.wired, journal.wiring = contracts, wired, wiring
        print(
            f"deploy: resuming the half-way deployment in {path}: {len(contracts)} contract(s)"
            f" sent and {len(wired)} wiring step(s) confirmed before"
        )
        return journal

    def save(self) -> None:
        """Writes the journal atomically (temporary file, fsync, rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "settings": self.settings,
            "contracts": self.contracts,
            "wired": self.wired,
            "wiring": self.wiring,
        }
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

    def wiring_step(self, key: str, nonce: int) -> None:
        """Records wiring step `key` before its transaction is sent at `nonce`."""
        self.wiring = {"key": key, "nonce": nonce}
        self.save()

    def wired_step(self, key: str) -> None:
        self.wired.append(key)
        self.wiring = None
        self.save()

    def in_flight(self) -> list[str]:
        """What was sent and not seen confirmed (it may land yet), in words."""
        said = [
            f"the transaction deploying {name} (nonce {entry['nonce']}, to {entry['address']})"
            for name, entry in self.contracts.items()
            if entry["block"] is None
        ]
        if self.wiring is not None:
            said.append(f"the wiring step `{self.wiring['key']}` (nonce {self.wiring['nonce']})")
        return said

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
        mined = _left_the_pool(deployer, nonce, f"{name}'s earlier transaction")
        if has_code(address):
            return address
        said = "left no code" if mined else "is gone"  # reverted / dropped by the node
        print(f"deploy: {name}'s earlier transaction (nonce {nonce}) {said}; again")
        return None

    def settle_wiring(self, deployer: str) -> None:
        """Waits while the wiring step an earlier run sent is still in the node's pool: sent
        again meanwhile, the second would land after it (the badge's ledger, set once, then
        reverts the whole run)."""
        if self.wiring is not None:
            what = f"the wiring step `{self.wiring['key']}` an earlier run sent"
            _left_the_pool(deployer, int(self.wiring["nonce"]), what)


def _left_the_pool(deployer: str, nonce: int, what: str) -> bool:
    """Waits until the deployer's transaction at `nonce` is mined (True) or no longer in the
    node's pool (False), saying every `POOL_REMINDER_S` what it waits for."""
    next_word = time.monotonic()  # when to say (again) what it waits for
    while True:
        if web3.eth.get_transaction_count(deployer) > nonce:
            return True
        if web3.eth.get_transaction_count(deployer, "pending") <= nonce:
            return False
        if time.monotonic() >= next_word:
            print(
                f"deploy: waiting for {what} (nonce {nonce}), still in the node's pool, to land"
                " (one priced below the base fee waits until the fee drops; the deployer's"
                " wallet can replace it at that nonce)"
            )
            next_word = time.monotonic() + POOL_REMINDER_S
        time.sleep(POOL_POLL_S)


def _named(contracts: dict[str, dict[str, Any]]) -> str:
    return ", ".join(f"{n} at {e['address']}" for n, e in contracts.items()) or "nothing"
