"""Sets the tier thresholds and upgrade gifts on the ledger named by the manifest.

    python tools/brownie_run.py scripts/set_tier_rules.py main \
        TIER SPEND_CENTS ORDERS ENGAGEMENTS GIFT --network NET
    python tools/brownie_run.py scripts/set_tier_rules.py defaults --network NET
    python tools/brownie_run.py scripts/set_tier_rules.py floor USD --network NET

Each tier's thresholds must be at least the lower tier's, so raise them top-down. `floor` sets
the order floor: the least counted spend, in whole USD (0 to 31), of a purchase that counts as
an order toward the tiers (`setOrderFloor`; 0, the default: every purchase).
"""

from __future__ import annotations

from typing import Any

from scripts.deployment import DEFAULT_TIER_RULES, deployer, ledger_container, read_manifest


def _ledger() -> Any:
    return ledger_container().at(read_manifest()["contracts"]["AllianceLedger"]["address"])


def main(tier: str, spend_cents: str, orders: str, engagements: str, gift: str) -> None:
    ledger = _ledger()
    ledger.setTierRule(
        int(tier),
        (int(spend_cents), int(orders), int(engagements)),
        int(gift),
        {"from": deployer()},
    )
    print(
        f"tiers: tier {tier} now needs {spend_cents} cents, {orders} orders, "
        f"{engagements} engagements"
    )


def floor(usd: str) -> None:
    _ledger().setOrderFloor(int(usd), {"from": deployer()})
    print(f"tiers: a purchase counts as an order from {int(usd)} USD of spend")


def defaults() -> None:
    ledger = _ledger()
    for tier in sorted(DEFAULT_TIER_RULES, reverse=True):
        spend, orders, engagements, gift = DEFAULT_TIER_RULES[tier]
        ledger.setTierRule(tier, (spend, orders, engagements), gift, {"from": deployer()})
    print("tiers: default rules set")
