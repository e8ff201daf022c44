"""The deployment manifest written by `scripts/deploy.py`: chain, addresses and ABIs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address

from ledger_api.errors import OPERATOR_ACTS_S, IndexNotReady

LEDGER = "AllianceLedger"
MEMBERSHIP_BADGE = "MembershipBadge"
ALLIANCE_BADGES = "AllianceBadges"
SETTLEMENT_VAULT = "SettlementVault"
ALLIANCE_POLLS = "AlliancePolls"
ENTERPRISE_ACCOUNTS = "EnterpriseAccounts"
ALLIANCE_AUCTIONS = "AllianceAuctions"


@dataclass(frozen=True, slots=True)
class DeployedContract:
    name: str
    address: str
    abi: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Manifest:
    chain_id: int
    network: str
    deployed_block: int
    admin: str
    contracts: dict[str, DeployedContract]

    @property
    def ledger(self) -> DeployedContract:
        return self.contracts[LEDGER]

    def get(self, name: str) -> DeployedContract | None:
        return self.contracts.get(name)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        contracts = {
            name: DeployedContract(name, to_checksum_address(entry["address"]), list(entry["abi"]))
            for name, entry in data["contracts"].items()
        }
        if LEDGER not in contracts:
            raise ValueError(f"the manifest has no {LEDGER}")
        return cls(
            chain_id=int(data["chain_id"]),
            network=str(data.get("network", "")),
            deployed_block=int(data.get("deployed_block", 0)),
            admin=to_checksum_address(data["admin"]),
            contracts=contracts,
        )


def load_manifest(path: Path) -> Manifest:
    """Reads the manifest; `IndexNotReady` when the contracts are not deployed yet, or when
    the file is not a manifest (a copy cut short, another file's JSON): it had ended the
    sender's start with a bare `KeyError` while the health said `ok`."""
    try:
        return Manifest.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        raise IndexNotReady(
            f"no deployment manifest at {path}: deploy the contracts first",
            retry_after_s=OPERATOR_ACTS_S,
        ) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IndexNotReady(
            f"the deployment manifest at {path} is not valid ({exc.__class__.__name__}: {exc}"[:300]
            + "): deploy the contracts again",
            retry_after_s=OPERATOR_ACTS_S,
        ) from None
