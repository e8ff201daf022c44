"""Gas breakdown of the earn path: where the gas of `earn_existing_lot` and of one batch of
100 earns goes, by opcode class (cold and warm storage reads, storage writes, logs, the
rest: computation), from the node's opcode trace (`debug_traceTransaction`).

    python tools/brownie_run.py scripts/gas_breakdown.py --network <a development network>

The scenarios are those of `scripts/gas_report.py` (a member who earned every month for over
a year, the brand's live purchases), shortened; the figures it prints back the README's
"Gas: where it goes".
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from brownie import AllianceLedger, AllianceLedgerAdmin, MembershipBadge, accounts, web3

from scripts.deployment import DEFAULT_TIER_RULES, REFERENCE_EARN_RULE
from scripts.gas_report import Ops, _to_next_month
from scripts.ledger_abi import publish_admin_functions

publish_admin_functions(AllianceLedger, AllianceLedgerAdmin)


def breakdown(tx_hash: str) -> dict[str, int]:
    """Gas of the transaction's execution by opcode class (intrinsic gas not included)."""
    trace = web3.provider.make_request(
        "debug_traceTransaction",
        [tx_hash, {"disableStack": True, "disableMemory": True, "disableStorage": True}],
    )
    if "result" not in trace:
        raise RuntimeError(str(trace)[:500])
    trace = trace["result"]
    if not trace.get("structLogs"):
        raise RuntimeError(str(trace)[:500])
    parts: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for step in trace["structLogs"]:
        op, cost = step["op"], step["gasCost"]
        if step["depth"] != 1:
            continue  # a call's cost is charged on its CALL step
        if op == "SLOAD":
            key = "sload_cold" if cost >= 2_100 else "sload_warm"
        elif op == "SSTORE":
            key = "sstore"
        elif op.startswith("LOG"):
            key = "logs"
        elif op in ("CALL", "STATICCALL", "DELEGATECALL"):
            key = "calls"
        else:
            key = "compute"
        parts[key] += cost
        counts[key] += 1
    return {**{k: parts[k] for k in sorted(parts)}, **{f"n_{k}": counts[k] for k in sorted(counts)}}


def _print(title: str, tx: Any, per: int = 1) -> None:
    parts = breakdown(tx.txid)
    execution = sum(v for k, v in parts.items() if not k.startswith("n_"))
    print(f"\n{title}: gas_used {tx.gas_used:,} (per op {tx.gas_used // per:,})")
    print(f"  intrinsic (21,000 + calldata) {tx.gas_used - execution:,}")
    for key, value in parts.items():
        shown = f"{value:,}" if not key.startswith("n_") else str(value)
        print(f"  {key:14} {shown:>10}   per op {value / per:,.0f}")


def main(verbose: str = "") -> None:
    """`verbose` (any text): also brownie's call trace of `earn_existing_lot` (gas per
    internal function)."""
    admin, brand_a_key = accounts[0], accounts[1]
    members = [accounts.add() for _ in range(102)]
    alice, carol = members[100], members[101]
    tx = {"from": admin}
    badge = MembershipBadge.deploy(admin, "0x" + "00" * 20, tx)
    ledger = AllianceLedger.deploy(admin, badge, accounts[3], tx)
    badge.setLedger(ledger, tx)
    for tier, (spend, orders, engagements, gift) in DEFAULT_TIER_RULES.items():
        ledger.setTierRule(tier, (spend, orders, engagements), gift, tx)
    ledger.onboardBrand(brand_a_key, 10_000, REFERENCE_EARN_RULE, "Brand A", "PTA", tx)
    ledger.setReturnWindow(1, 0, tx)
    a = {"from": brand_a_key}
    op = Ops()
    for _ in range(14):
        ledger.earn(op(alice, 1_000), a)
        ledger.earn(op(carol, 1_000), a)
        _to_next_month()
    ledger.earn(op(carol, 1_000), a)
    first = ledger.earn(op(alice, 1_000), a)
    _print("earn_new_month (alice's first lot of the month)", first)
    existing = ledger.earn(op(alice, 1_000), a)
    _print("earn_existing_lot", existing)
    if verbose:
        existing.call_trace(True)
    holders = members[
        :50
    ]  # 50, not the report's 100: a traced 100-op batch outlasts the node's patience
    ledger.earnBatch([op(m, 500) for m in holders], a)
    batch = ledger.earnBatch([op(m, 500) for m in holders], a)
    _print("batch of 50 (members holding a lot this month)", batch, 50)
