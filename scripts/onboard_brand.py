"""Onboards a brand on the ledger named by the manifest.

    python tools/brownie_run.py scripts/onboard_brand.py main \
        NAME SYMBOL SIGNER [VALUE_MICRO_USD] [TREASURY] --network NET

The brand's earning rule starts at the reference rule (10 points per USD, 5 per review,
3 per share); the value defaults to the reference 100 points = 1 USD (10,000 micro-USD).
TREASURY (optional) becomes the brand's treasury in the settlement vault, when the manifest
has one: the only key that may withdraw the brand's deposit. It must not be a signing key;
without it nobody can withdraw until the vault's admin sets one (`setTreasury`).
"""

from __future__ import annotations

from brownie import SettlementVault

from scripts.deployment import (
    REFERENCE_EARN_RULE,
    REFERENCE_VALUE_MICRO_USD,
    deployer,
    ledger_container,
    read_manifest,
)


def main(
    name: str,
    symbol: str,
    signer: str,
    value_micro_usd: str = str(REFERENCE_VALUE_MICRO_USD),
    treasury: str = "",
) -> int:
    contracts = read_manifest()["contracts"]
    ledger = ledger_container().at(contracts["AllianceLedger"]["address"])
    sender = {"from": deployer()}
    tx = ledger.onboardBrand(
        signer, int(value_micro_usd), REFERENCE_EARN_RULE, name, symbol, sender
    )
    brand = tx.events["BrandOnboarded"]["brand"]
    print(f"onboard: brand {brand} ({name}) signs with {signer}")
    if treasury:
        if "SettlementVault" not in contracts:
            raise SystemExit("onboard: no SettlementVault in the manifest; treasury not set")
        vault = SettlementVault.at(contracts["SettlementVault"]["address"])
        vault.setTreasury(brand, treasury, sender)
        print(f"onboard: brand {brand} withdraws its vault deposit with {treasury}")
    return int(brand)
