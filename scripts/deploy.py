"""Deploys the alliance contracts and writes the deployment manifest.

    brownie run scripts/deploy.py --network development      # local anvil
    LEDGER_DEPLOYER_KEY=0x... LEDGER_ADMIN=0xMultisig LEDGER_SETTLEMENT_TOKEN=0xUSDC \
        brownie run scripts/deploy.py --network sepolia

Environment: LEDGER_ADMIN (governance address; default the deployer), LEDGER_CHARITY_POOL
(default the admin), LEDGER_SETTLEMENT_TOKEN and LEDGER_SETTLEMENT_UNITS_PER_USD (on a
local chain a TestUSD is deployed when no token is given), LEDGER_MANIFEST (output path),
LEDGER_DEPLOY_IF_MISSING=1 (do nothing when the manifest's ledger already has code).
"""

from __future__ import annotations

import os

from brownie import (
    AllianceBadges,
    AllianceLedger,
    AllianceLedgerLens,
    MembershipBadge,
    SettlementVault,
    TestUSD,
    network,
)

from scripts.deployment import DEFAULT_TIER_RULES, deployer, is_deployed, write_manifest


def main() -> None:
    if os.environ.get("LEDGER_DEPLOY_IF_MISSING") == "1" and is_deployed():
        print("deploy: contracts already deployed; manifest kept")
        return
    sender = deployer()
    tx = {"from": sender}
    admin = os.environ.get("LEDGER_ADMIN", sender.address)
    charity = os.environ.get("LEDGER_CHARITY_POOL", admin)

    badge = MembershipBadge.deploy(sender.address, "0x" + "00" * 20, tx)
    first_block = badge.tx.block_number
    ledger = AllianceLedger.deploy(sender.address, badge.address, charity, tx)
    badge.grantRole(badge.LEDGER_ROLE(), ledger.address, tx)
    badges = AllianceBadges.deploy(ledger.address, admin, tx)
    lens = AllianceLedgerLens.deploy(ledger.address, tx)

    token_address = os.environ.get("LEDGER_SETTLEMENT_TOKEN")
    units = int(os.environ.get("LEDGER_SETTLEMENT_UNITS_PER_USD", "1000000"))
    contracts = {
        "AllianceLedger": ledger,
        "AllianceLedgerLens": lens,
        "MembershipBadge": badge,
        "AllianceBadges": badges,
    }
    if not token_address and network.show_active() in ("development", "anvil"):
        token = TestUSD.deploy(tx)
        token_address = token.address
        contracts["TestUSD"] = token
    if token_address:
        vault = SettlementVault.deploy(admin, ledger.address, token_address, units, tx)
        ledger.grantRole(ledger.SETTLER_ROLE(), vault.address, tx)
        contracts["SettlementVault"] = vault

    for tier, (spend, orders, engagements, gift) in DEFAULT_TIER_RULES.items():
        ledger.setTierRule(tier, (spend, orders, engagements), gift, tx)

    if admin != sender.address:  # hand governance to the admin (a multisig in production)
        for contract in (ledger, badge):
            contract.grantRole(contract.DEFAULT_ADMIN_ROLE(), admin, tx)
            contract.renounceRole(contract.DEFAULT_ADMIN_ROLE(), sender.address, tx)

    path = write_manifest(contracts, admin, first_block)
    print(f"deploy: AllianceLedger at {ledger.address}; manifest written to {path}")
