"""Onboards a brand on the ledger named by the manifest.

    python tools/brownie_run.py scripts/onboard_brand.py main NAME SYMBOL SIGNER [VALUE_MICRO_USD] --network NET

The brand's earning rule starts at the reference rule (10 points per USD, 5 per review,
3 per share); the value defaults to the reference 100 points = 1 USD (10,000 micro-USD).
"""

from __future__ import annotations

from brownie import AllianceLedger

from scripts.deployment import REFERENCE_EARN_RULE, REFERENCE_VALUE_MICRO_USD, deployer, read_manifest


def main(name: str, symbol: str, signer: str, value_micro_usd: str = str(REFERENCE_VALUE_MICRO_USD)) -> int:
    ledger = AllianceLedger.at(read_manifest()["contracts"]["AllianceLedger"]["address"])
    tx = ledger.onboardBrand(signer, int(value_micro_usd), REFERENCE_EARN_RULE, name, symbol, {"from": deployer()})
    brand = tx.events["BrandOnboarded"]["brand"]
    print(f"onboard: brand {brand} ({name}) signs with {signer}")
    return int(brand)
